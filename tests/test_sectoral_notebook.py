"""Notebook 05 (sectoral) execute under papermill with their defaults and one
other parameter set; key JSON values equal what the analysis modules compute directly; a bad parameter stops the
notebook with a message naming it."""

from pathlib import Path

import pytest
from conftest import execute

papermill = pytest.importorskip("papermill")

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
