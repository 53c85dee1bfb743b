"""Notebook 06 (fatalities) execute under papermill with their defaults and one
other parameter set; key JSON values equal what the analysis modules compute directly; a bad parameter stops the
notebook with a message naming it."""

from pathlib import Path

import pytest
from conftest import execute

papermill = pytest.importorskip("papermill")

from analysis.studies import fatalities  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NB = ROOT / "notebooks"
pytestmark = pytest.mark.notebook


def _run(nb: str, out_dir: Path, **params) -> dict:
    """Execute notebooks/<nb>.ipynb with ``params`` and return the results it published."""
    return execute(NB / f"{nb}.ipynb", out_dir, **params)


def _fails(nb: str, out_dir: Path, **params) -> str:
    with pytest.raises(papermill.PapermillExecutionError) as err:
        _run(nb, out_dir, **params)
    return str(err.value)


# ------------------------------------------------------------------------------------------------- 06 fatalities
@pytest.fixture(scope="module", params=[{}, {"end_year": 2022}], ids=["defaults", "end_year_2022"])
def fatal_run(request, tmp_path_factory):
    return request.param, _run("06_fatalities", tmp_path_factory.mktemp("nb06"), **request.param)


def test_fatalities_json_matches_analysis(fatal_run):
    params, out = fatal_run
    end_year, alpha = params.get("end_year", 2024), 0.05
    assert out["parameters"]["end_year"] == end_year
    r = out["results"]
    changes, loo = fatalities.death_changes(end_year, alpha)
    got = {(c["system"], c["period"]): c for c in r["changes"]}
    assert len(got) == len(changes)
    for row in changes.itertuples():
        c = got[(row.system, row.period)]
        assert (c["x1"], c["x0"]) == (row.x1, row.x0)
        assert c["p_value"] == pytest.approx(row.p_value, rel=1e-9)
        assert c["p_without_events"] == pytest.approx(row.p_without_events, rel=1e-9)
        assert c["p_quasi_cluster"] == pytest.approx(row.p_quasi_cluster, rel=1e-9)
    shares = fatalities.fatal_shares(end_year, alpha)
    s = {(x["system"], x["period"]): x for x in r["fatal_share"]}
    for row in shares.itertuples():
        assert s[(row.system, row.period)]["ci_low_pct"] == pytest.approx(row.ci_low_pct, rel=1e-9)
        assert s[(row.system, row.period)]["ci_high_pct"] == pytest.approx(row.ci_high_pct, rel=1e-9)
    cl = fatalities.cluster_inflation("ministry", end_year)
    assert r["clustering"]["ministry"]["estimate"] == pytest.approx(cl.estimate, rel=1e-12)
    deaths = {(d["system"], d["year"]): d["deaths"] for d in r["deaths"]}
    assert max(y for _, y in deaths) <= end_year
    assert deaths[("ministry", 2022)] == 203 and deaths[("bns", 2022)] == 205
    assert len(r["leave_one_event_out"]) == len(loo)
    assert "compare_counts" in out["verdict"] and "φ =" in out["verdict"]


def test_fatalities_defaults_see_kostenko_and_2023_gap(fatal_run):
    params, out = fatal_run
    r = out["results"]
    if params:  # end_year 2022: the window has no Kostenko and no 2023 pair
        assert r["clustering"]["ministry"]["largest_deaths"] < 46
        assert all(c["period"][:4] <= "2022" for c in r["changes"])
        return
    assert r["clustering"]["ministry"]["largest_deaths"] == 46
    jan_oct = next(c for c in r["changes"] if c["period"] == "2023-01..10")
    assert (jan_oct["x1"], jan_oct["x0"], jan_oct["kind"]) == (175, 156, "same months")
    kost = next(x for x in r["leave_one_event_out"] if x["period"] == "2023-01..10" and "Kostenko" in x["event"])
    assert kost["x1"] == 175 - 46


def test_fatalities_bad_end_year_names_parameter(tmp_path):
    msg = _fails("06_fatalities", tmp_path, end_year=2031)
    assert "end_year must be one of" in msg and "2031" in msg


