"""The regional study (notebook 04): the built report against independent computations and against the study run
directly, other parameter sets in-process, parameters refused by name, and one papermill run of the notebook."""

import json
from pathlib import Path

import pytest
from conftest import execute
from scipy import stats

from analysis.core.params import ParameterError
from analysis.studies import regional

ROOT = Path(__file__).resolve().parent.parent
NB04 = ROOT / "notebooks" / "04_regional_patterns.ipynb"


@pytest.fixture(scope="module")
def built(reports):
    return reports.results("04_regional_patterns")


def test_report_json_equals_the_study_run_directly(built):
    direct = json.loads(json.dumps(regional.run(regional.Params()).to_dict()))
    assert built == direct


def test_report_matches_independent_computations(built):
    r = built["results"]
    assert (r["national_total"], r["n_units"]) == (293, 20)
    got = {x["region"]: x for x in r["regions"]["population"]}
    assert {k: v["observed"] for k, v in got.items()} == {
        "Karaganda": 31, "Kostanay": 27, "East Kazakhstan": 24, "Aktobe": 22, "Atyrau": 22, "Almaty city": 19}
    pop = regional.population_exposure("post-2022").set_index("region")["population"]
    for name, row in got.items():
        e = 293 * pop[name] / pop.sum()
        assert row["expected"] == pytest.approx(e, rel=1e-12)
        assert row["p_above"] == pytest.approx(stats.poisson.sf(row["observed"] - 1, e), rel=1e-10)
    assert r["unpublished_bounds"]["remainder"] == 293 - 145
    assert r["ambiguous_name"]["alternative"] == "Almaty region"
    lead = {(x["period"], x["version"]): x["region"] for x in r["leaders"]}
    assert lead[("2024", "pre-2022 borders")] == "East Kazakhstan"  # Abai 101 + East Kazakhstan 124
    assert lead[("2024", "as published")] == "Karaganda"
    assert built["label"] in {"supported", "fragile", "not supported"}


def test_other_release_in_process():
    res = regional.run(regional.Params(period="2023-H1"))
    d = json.loads(json.dumps(res.to_dict()))
    assert d["results"]["national_total"] == 640 and d["results"]["n_units"] == 20
    assert "2023-H1" in d["title"]
    assert {x["region"] for x in d["results"]["published"]} >= {"Karaganda", "Abai"}


@pytest.mark.parametrize("params,name", [({"period": "2031-Q1"}, "period"), ({"alpha": 1.5}, "alpha"),
                                         ({"seed": -1}, "seed"), ({"alpah": 0.01}, "alpah"),
                                         ({"period": "2020-01..09"}, "period")])
def test_bad_parameters_are_named(params, name):
    with pytest.raises(ParameterError) as exc:
        regional.Params.from_mapping(params)
    assert exc.value.name == name and name in str(exc.value)


@pytest.mark.notebook
def test_notebook_stops_on_a_bad_period_and_names_it(tmp_path):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError) as exc:
        execute(NB04, tmp_path, period="2031-Q1")
    assert exc.value.ename == "ParameterError" and "period must be one of" in exc.value.evalue
    assert "2031-Q1" in exc.value.evalue
