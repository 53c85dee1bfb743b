"""Pattern notebooks (04 regional, 05 sectoral, 06 fatalities) execute under papermill with their defaults and one
other parameter set; key JSON values equal what the analysis modules compute directly; a bad parameter stops the
notebook with a message naming it."""

from pathlib import Path

import pytest
from conftest import execute

papermill = pytest.importorskip("papermill")

from analysis.studies import fatalities  # noqa: E402
from analysis.studies import regional as regional_patterns  # noqa: E402
from analysis.studies import sectoral as sector_patterns  # noqa: E402

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


# ------------------------------------------------------------------------------------------- 04 regional patterns
@pytest.fixture(scope="module", params=[{}, {"period": "2023-H1"}], ids=["defaults", "2023-H1"])
def regional_run(request, tmp_path_factory):
    return request.param, _run("04_regional_patterns", tmp_path_factory.mktemp("nb04"), **request.param)


def test_regional_json_matches_analysis(regional_run):
    params, out = regional_run
    period, alpha, seed = params.get("period", "2025-Q1"), 0.05, 2025
    r = out["results"]
    rel = regional_patterns.release(period)
    assert (r["national_total"], r["n_units"]) == (rel["total"], rel["n_units"])
    for basis in regional_patterns.BASES:
        a = regional_patterns.assess(period, basis, alpha, seed)
        got = {x["region"]: x for x in r["regions"][basis]}
        assert set(got) == set(a.table["region"])
        for row in a.table.itertuples():
            g = got[row.region]
            assert g["observed"] == row.observed
            assert g["expected"] == pytest.approx(row.expected, rel=1e-12)
            assert (g["ratio_lower"], g["ratio_upper"]) == pytest.approx((row.ratio_lower, row.ratio_upper), rel=1e-9)
            assert g["p_above_holm"] == pytest.approx(row.p_above_holm, rel=1e-9)
            assert g["p_above_bh"] == pytest.approx(row.p_above_bh, rel=1e-9)
            assert g["shrunk_ratio"] == pytest.approx(row.shrunk_ratio, rel=1e-9)
            assert (g["rank_lower"], g["rank_upper"]) == (row.rank_lower, row.rank_upper)  # seeded
        assert r["flagged"][basis]["holm"] == list(a.tests.above_holm)
    if period == "2025-Q1":
        assert {x["region"]: x["observed"] for x in r["regions"]["population"]} == {
            "Karaganda": 31, "Kostanay": 27, "East Kazakhstan": 24, "Aktobe": 22, "Atyrau": 22, "Almaty city": 19}
        assert r["unpublished_bounds"]["remainder"] == 293 - 145
        assert r["ambiguous_name"]["alternative"] == "Almaty region"
    lead = {(x["period"], x["version"]): x["region"] for x in r["leaders"]}
    assert lead[("2024", "pre-2022 borders")] == "East Kazakhstan"  # Abai 101 + East Kazakhstan 124
    assert lead[("2024", "as published")] == "Karaganda"
    assert "Holm" in out["verdict"] and "population" in out["verdict"]


def test_regional_bad_period_names_parameter(tmp_path):
    msg = _fails("04_regional_patterns", tmp_path, period="2031-Q1")
    assert "period must be one of" in msg and "2031-Q1" in msg


# ------------------------------------------------------------------------------------------- 05 sectoral patterns
@pytest.fixture(scope="module", params=[{}, {"period": "2021"}], ids=["defaults", "2021"])
def sector_run(request, tmp_path_factory):
    return request.param, _run("05_sectoral_patterns", tmp_path_factory.mktemp("nb05"), **request.param)


def test_sectoral_json_matches_analysis(sector_run):
    params, out = sector_run
    period, alpha = params.get("period", "2025-Q1"), 0.05
    r = out["results"]
    rr, _ = sector_patterns.relative_risks(period, alpha)
    got = {x["sector"]: x for x in r["relative_risk"]}
    for row in rr.itertuples():
        g = got[row.sector]
        assert (g["k_min"], g["k_max"]) == (row.k_min, row.k_max)
        assert (g["ci_low"], g["ci_high"]) == pytest.approx((row.ci_low, row.ci_high), rel=1e-9)
        assert g["p_greater_max"] == pytest.approx(row.p_greater_max, rel=1e-9, abs=1e-300)
    h = sector_patterns.history_tests(period, alpha)
    for row, g in zip(h.itertuples(), r["history_tests"], strict=True):
        assert g["p_overdispersed_max"] == pytest.approx(row.p_overdispersed_max, rel=1e-9)
    if period == "2025-Q1":
        assert (got["construction"]["k_min"], got["construction"]["k_max"]) == (34, 36)  # 12% of 293
        assert (got["gmk"]["k_min"], got["gmk"]["k_max"]) == (44, 45)  # 15.3% of 293 fits no whole count
        assert r["count_bounds"]["gmk"]["consistent"] is False
        assert got["gmk"]["employment_share_low_pct"] == pytest.approx(100 * 110_000 / 9_330_100)
    else:
        assert (got["construction"]["k_min"], got["gmk"]["k_min"]) == (167, 276)
    assert "Relative risk" in out["verdict"]


def test_sectoral_bad_alpha_names_parameter(tmp_path):
    msg = _fails("05_sectoral_patterns", tmp_path, alpha=1.5)
    assert "alpha must be strictly between 0 and 1" in msg and "1.5" in msg
