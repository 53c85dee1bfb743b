"""Notebook 04 (regional) execute under papermill with their defaults and one
other parameter set; key JSON values equal what the analysis modules compute directly; a bad parameter stops the
notebook with a message naming it."""

from pathlib import Path

import pytest
from conftest import execute

papermill = pytest.importorskip("papermill")

from analysis.studies import regional as regional_patterns  # noqa: E402

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


