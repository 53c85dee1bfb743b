"""The sectoral study (notebook 05): the built report against a direct run and independent computations, other
periods in-process, the parameter declaration, and one papermill run of a bad parameter."""

import json

import papermill as pm
import pytest
from conftest import execute

from analysis.core.params import ParameterError
from analysis.core.paths import NOTEBOOKS_DIR
from analysis.studies import sectoral

NB05 = NOTEBOOKS_DIR / "05_sectoral_patterns.ipynb"


@pytest.fixture(scope="module")
def s_default(reports):
    return reports.results("05_sectoral_patterns")


def test_report_json_equals_the_study_run_directly(s_default):
    direct = json.loads(json.dumps(sectoral.run(sectoral.Params()).to_dict()))
    assert s_default == direct


@pytest.mark.parametrize("period", ["2025-Q1", "2021"])
def test_relative_risks_match_the_data_functions(period):
    out = json.loads(json.dumps(sectoral.run(sectoral.Params(period=period)).to_dict()))
    r = out["results"]
    rr, _ = sectoral.relative_risks(period, 0.05)
    got = {x["sector"]: x for x in r["relative_risk"]}
    for row in rr.itertuples():
        g = got[row.sector]
        assert (g["k_min"], g["k_max"]) == (row.k_min, row.k_max)
        assert (g["ci_low"], g["ci_high"]) == pytest.approx((row.ci_low, row.ci_high), rel=1e-9)
    if period == "2025-Q1":
        assert (got["construction"]["k_min"], got["construction"]["k_max"]) == (34, 36)  # 12% of 293
        assert r["count_bounds"]["gmk"]["consistent"] is False
    else:
        assert (got["construction"]["k_min"], got["gmk"]["k_min"]) == (167, 276)


@pytest.mark.parametrize("params,name", [({"alpha": 1.5}, "alpha"), ({"period": "2031-Q1"}, "period"),
                                         ({"period": "2025-Q5"}, "period"), ({"alpah": 0.01}, "alpah")])
def test_bad_parameters_are_named(params, name):
    with pytest.raises(ParameterError) as exc:
        sectoral.Params.from_mapping(params)
    assert exc.value.name == name and name in str(exc.value)


def test_notebook_stops_on_a_bad_parameter_and_names_it(tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as exc:
        execute(NB05, tmp_path, alpha=1.5)
    assert exc.value.ename == "ParameterError" and "alpha" in str(exc.value.evalue)
    assert not any(tmp_path.rglob("*.json"))  # an ad-hoc run writes no results anywhere
