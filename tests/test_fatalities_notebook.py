"""The fatalities study (notebook 06): the built report against the study run directly and against independent
computations, another end year in-process, parameter errors, and one papermill run stopping on a bad parameter."""

import json
from pathlib import Path

import pytest
from conftest import run_declared, validate_as_notebook
from scipy import stats

from analysis.core.io import dumps
from analysis.core.params import ParameterError
from analysis.studies import fatalities

papermill = pytest.importorskip("papermill")

ROOT = Path(__file__).resolve().parent.parent
NB06 = ROOT / "notebooks" / "06_fatalities.ipynb"


@pytest.fixture(scope="module")
def f_default(reports):
    return reports.results("06_fatalities")


def test_report_json_equals_the_study_run_directly(f_default):
    direct = json.loads(dumps(run_declared(fatalities).to_dict()))
    assert f_default == direct
    assert f_default["study"] == "fatalities" and f_default["label"] == "descriptive"


def test_report_matches_independent_computations(f_default):
    r = f_default["results"]
    got = {(c["system"], c["period"]): c for c in r["changes"]}
    m19 = got[("ministry", "2019")]
    assert (m19["x1"], m19["x0"]) == (180, 220)
    assert m19["p_value"] == pytest.approx(stats.binomtest(180, 400, 0.5).pvalue, rel=1e-9)
    jan_oct = got[("ministry", "2023-01..10")]
    assert (jan_oct["x1"], jan_oct["x0"], jan_oct["kind"]) == (175, 156, "same months")
    kost = next(x for x in r["leave_one_event_out"] if x["period"] == "2023-01..10" and "Kostenko" in x["event"])
    assert kost["x1"] == 175 - 46
    assert r["clustering"]["ministry"]["largest_deaths"] == 46
    deaths = {(d["system"], d["year"]): d["deaths"] for d in r["deaths"]}
    assert deaths[("ministry", 2022)] == 203 and deaths[("bns", 2022)] == 205
    v = f_default["verdict"]
    assert "poisson.test" in v and "cluster φ" in v and "trend φ" in v and "t(8) reference" in v
    assert "after Holm" in v and "e-0" not in v
    assert set(f_default["tables"]) >= {"changes", "changes_over_dispersed", "leave_one_event_out"}
    assert all("_" not in c for t in f_default["tables"].values() for c in t["columns"])  # plain headers


def test_end_year_2022_in_process():
    res = fatalities.run(fatalities.Params(end_year=2022))
    r = res.results()
    assert res.clustering["ministry"].largest_deaths < 46
    assert all(c[:4] <= "2022" for c in r["changes"]["period"])
    assert res.deaths["year"].max() <= 2022
    assert "2022" in res.title


@pytest.mark.parametrize("params,name", [({"end_year": 2031}, "end_year"), ({"alpha": 1.5}, "alpha"),
                                         ({"end_year": "2024"}, "end_year"), ({"alpah": 0.01}, "alpah")])
def test_bad_parameters_are_named(params, name):
    with pytest.raises(ParameterError) as exc:
        fatalities.Params.from_mapping(params)
    assert exc.value.name == name and name in str(exc.value)


def test_notebook_stops_on_a_bad_end_year_and_names_it():
    from analysis.studies import fatalities as study

    with pytest.raises(ParameterError) as err:
        validate_as_notebook(study, end_year=2031)
    assert "end_year must be one of" in str(err.value) and "2031" in str(err.value)
