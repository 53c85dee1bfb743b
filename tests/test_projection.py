"""Year-to-date projection: synthetic coverage, edge cases, bad input, determinism, and the notebook end to end."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import execute

from analysis.core.params import ParameterError
from analysis.stats import projection as P
from analysis.studies import ytd
from analysis.studies.common import ministry_history

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "07_year_to_date_projection.ipynb"
STEM = "07_year_to_date_projection"

# A known seasonal pattern: injuries rise through the year.
WEIGHTS = np.array([0.8, 0.85, 0.9, 0.95, 1.0, 1.0, 1.05, 1.05, 1.1, 1.1, 1.05, 1.15])
WEIGHTS = WEIGHTS / WEIGHTS.sum()


def _year(rng, level=1500.0, phi=2.0) -> np.ndarray:
    """Cumulative monthly counts of one synthetic year with variance phi·mean."""
    mu = level * WEIGHTS
    lam = rng.gamma(mu / (phi - 1), phi - 1) if phi > 1 else mu
    return np.cumsum(rng.poisson(lam))


def _history(rng, n_years=10, release_months=(4, 6, 7, 9), phi=2.0) -> P.History:
    """Past years with two random releases each plus the annual total."""
    counts = {}
    for y in range(2000, 2000 + n_years):
        cum = _year(rng, phi=phi)
        pick = rng.choice(release_months, size=2, replace=False)
        counts[y] = {int(m): float(cum[m - 1]) for m in pick} | {12: float(cum[11])}
    return P.make_history(counts)


def _coverage(months, reps=150, phi=2.0, alpha=0.1) -> float:
    rng = np.random.default_rng(12345)
    hits = []
    for r in range(reps):
        h = _history(rng, phi=phi)
        curve = P.seasonal_shares(h)
        f, df = P.quasi_poisson_phi(h.annual(), None)
        new = _year(rng, phi=phi)
        p = P.project(int(new[months - 1]), months, curve, f, phi_df=df, alpha=alpha, seed=r, n_draws=3000)
        hits.append(p.ci[0] <= new[11] <= p.ci[1])
    return float(np.mean(hits))


# A small fixed history in the shape of the Ministry's.
SMALL = P.make_history(
    {2018: {7: 842, 12: 1568}, 2019: {7: 749, 12: 1430}, 2020: {4: 416, 6: 672, 7: 798, 9: 1023, 12: 1503},
     2021: {4: 462, 6: 691, 7: 817, 9: 1062, 12: 1465}, 2022: {6: 667, 9: 999, 12: 1465},
     2023: {2: 187, 6: 640, 12: 1474}, 2024: {3: 352, 12: 1408}},
    derived={(2020, 4), (2020, 6), (2022, 6), (2023, 12), (2024, 3)},
    pct_changes={2021: {3: -9.1}})


# ---------------------------------------------------------------- statistical behaviour
def test_intervals_cover_at_about_nominal_rate_with_observed_share():
    cov = _coverage(6)
    assert 0.82 <= cov <= 0.98, cov


def test_interpolated_share_is_no_less_cautious():
    """Month 3 has no history in the synthetic releases: interpolation must not under-cover."""
    assert _coverage(3) >= 0.85


def test_shares_recover_the_known_seasonal_pattern():
    h = _history(np.random.default_rng(7), n_years=30)
    curve = P.seasonal_shares(h)
    for m in (4, 6, 7, 9):
        assert curve.get(m).mean == pytest.approx(WEIGHTS[:m].sum(), abs=0.01)
    assert curve.get(6).n_years >= 2 and not curve.get(6).few


def test_point_is_ytd_over_share():
    curve = P.seasonal_shares(SMALL)
    p = P.project(600, 6, curve, 2.0, phi_df=8, seed=1, n_draws=2000)
    assert p.estimate == pytest.approx(600 / curve.get(6).mean)
    assert p.ci[0] < p.estimate < p.ci[1]
    t9 = P.project(600, 6, curve, 2.0, target_months=9, seed=1, n_draws=2000)
    assert t9.estimate == pytest.approx(600 * curve.get(9).mean / curve.get(6).mean)


def test_more_dispersion_gives_wider_intervals():
    curve = P.seasonal_shares(SMALL)
    w = [np.diff(P.project(600, 6, curve, f, seed=3, n_draws=4000).ci)[0] for f in (1.0, 3.0, 9.0)]
    assert w[0] < w[1] < w[2]


def test_quasi_poisson_phi_matches_dispersion_module():
    dispersion = pytest.importorskip("analysis.stats.dispersion")
    annual = ministry_history().annual()
    for first in (None, 2015):
        ys = sorted(y for y in annual if first is None or y >= first)
        ref = dispersion.estimate_dispersion([int(annual[y]) for y in ys], ys)
        phi, df = P.quasi_poisson_phi(annual, first)
        assert phi == pytest.approx(ref.estimate) and df == ref.df_resid


def test_shrinkage_recovers_a_known_slope():
    # Annual change is exactly half the 6-month change in every year.
    counts, level6, level12 = {}, 600.0, 1300.0
    for y, g in zip(range(2010, 2016), (0.1, -0.05, 0.08, -0.12, 0.04, 0.0), strict=True):
        level6, level12 = level6 * (1 + g), level12 * (1 + g / 2)
        counts[y] = {6: level6, 12: level12}
    h = P.History({y: {m: float(v) for m, v in d.items()} for y, d in counts.items()})
    s = P.shrinkage(h, 6, ytd_change_pct=-20.0)
    assert s.estimate == pytest.approx(0.5, abs=1e-3)
    assert s.predicted_change_pct == pytest.approx(-10.0, abs=0.05)
    assert s.n == 5 and s.months_used == (6,)


def test_shrinkage_pools_nearest_months_and_says_so():
    s = P.shrinkage(SMALL, 3, ytd_change_pct=-16.8)
    assert 3 in s.months_used and len(s.months_used) > 1
    assert "nearest months" in s.note and s.n >= 3
    assert len(set(s.points["year"])) == s.n  # one point per year


def test_backtest_leaves_each_year_out():
    bt = P.backtest(SMALL, None, alpha=0.05, seed=2, n_draws=2000)
    assert bt.n == len(bt.rows) > 5
    assert set(bt.rows["year"]) <= set(SMALL.counts)
    assert 0 <= bt.coverage <= 1 and bt.n_covered == int(bt.rows["covered"].sum())
    # the 2024 row uses a derived count and the interpolated month-3 share
    r24 = bt.rows[bt.rows["year"] == 2024].iloc[0]
    assert bool(r24["ytd_derived"]) and r24["share_source"] == "interpolated"


def test_synthetic_backtest_coverage_is_reasonable():
    h = _history(np.random.default_rng(99), n_years=12)
    bt = P.backtest(h, None, alpha=0.1, seed=0, n_draws=2000, phi_first_year=None)
    assert bt.n == 24 and bt.coverage >= 0.7


# ---------------------------------------------------------------- edge cases
def test_target_month_projects_itself_with_zero_width():
    curve = P.seasonal_shares(SMALL)
    for m in (6, 12):
        p = P.project(500, m, curve, 2.0, target_months=m)
        assert p.estimate == 500 and p.ci == (500.0, 500.0)
        ch = P.projected_change(p, previous_count=400)
        assert ch.estimate == pytest.approx(25.0) and ch.ci == (25.0, 25.0)


def test_month_without_history_needs_interpolation():
    curve = P.seasonal_shares(SMALL)
    with pytest.raises(ValueError, match=r"months=3 .*allow_interpolation"):
        P.share_at(curve, 3, allow_interpolation=False)
    with pytest.raises(ValueError, match="allow_interpolation"):
        P.project(293, 3, curve, 2.0, allow_interpolation=False)
    s = P.share_at(curve, 3)
    assert s.source == "interpolated" and 0 < s.mean < curve.get(4).mean
    assert s.se > P.share_at(curve, 4).se  # the assumption costs precision


def test_zero_count_still_has_an_upper_bound():
    p = P.project(0, 6, P.seasonal_shares(SMALL), 2.0, seed=1, n_draws=2000)
    assert p.estimate == 0 and p.ci[1] > 0


def test_change_against_estimated_previous_period():
    curve = P.seasonal_shares(SMALL)
    p = P.project(300, 3, curve, 2.0, target_months=6, seed=4, n_draws=2000)
    ch = P.projected_change(p, previous_annual=1400)
    assert ch.previous_source == "estimated"
    assert ch.previous_count == pytest.approx(1400 * p.share_target.mean)
    assert ch.ci[0] < ch.estimate < ch.ci[1]


def test_project_year_on_real_data():
    h = ministry_history()
    r = P.project_year(h, 2025, 3, 293, -16.8, seed=1, n_draws=4000, decisive_months=(6,))
    assert r.share.source == "interpolated"
    assert r.previous_count == 1408 and r.previous_source == "published"
    assert r.previous_ytd_count == 352 and r.previous_ytd_source == "derived"
    assert r.prediction_interval[0] < r.projected_count < r.prediction_interval[1]
    assert r.projected_count == pytest.approx(293 / r.share.mean)
    assert 2025 not in set(r.backtest["year"])
    d = r.to_dict()
    for k in ("projected_count", "prediction_interval", "projected_change_pct", "projected_change_interval",
              "shrinkage_factor", "backtest", "coverage", "verdict"):
        assert k in d
    assert "derived" in r.verdict and "interval" in r.verdict
    json.dumps(d, allow_nan=False)


def test_past_year_is_left_out_and_actual_reported():
    r = P.project_year(ministry_history(), 2021, 7, 817, 2.4, seed=1, n_draws=3000, decisive_months=())
    assert r.actual == 1465 and r.previous_count == 1503
    assert 2021 not in set(r.backtest["year"])


# ---------------------------------------------------------------- bad input and determinism
@pytest.mark.parametrize("kwargs, name", [
    ({"ytd_count": -5}, "ytd_count"),
    ({"months": 0}, "months"),
    ({"months": 13}, "months"),
    ({"target_months": 2}, "target_months"),
    ({"ytd_change_pct": -100}, "ytd_change_pct"),
    ({"ytd_change_pct": -150.0}, "ytd_change_pct"),
    ({"alpha": 0}, "alpha"),
    ({"alpha": 1.0}, "alpha"),
    ({"seed": -1}, "seed"),
])
def test_bad_parameters_name_the_argument(kwargs, name):
    args = {"year": 2025, "months": 3, "ytd_count": 293, "ytd_change_pct": -16.8, "target_months": 12,
            "alpha": 0.05, "seed": 1} | kwargs
    with pytest.raises(ValueError, match=name):
        P.check_parameters(**args)
    with pytest.raises(ValueError, match=name):
        P.project_year(SMALL, **args)


def test_bad_inputs_to_building_blocks():
    curve = P.seasonal_shares(SMALL)
    with pytest.raises(ValueError, match="ytd_count"):
        P.project(-1, 6, curve, 2.0)
    with pytest.raises(ValueError, match="phi"):
        P.project(100, 6, curve, 0.0)
    with pytest.raises(ValueError, match="target_months"):
        P.shrinkage(SMALL, 9, target_months=6)
    with pytest.raises(ValueError, match=r"counts\[2020\]\[6\]"):
        P.make_history({2020: {6: -3, 12: 100}})
    with pytest.raises(ValueError, match="month"):
        P.make_history({2020: {13: 3}})
    with pytest.raises(ValueError, match="pct_changes"):
        P.make_history({2020: {12: 100}}, pct_changes={2020: {3: -100}})


def test_same_seed_same_numbers():
    curve = P.seasonal_shares(SMALL)
    a = P.project(293, 3, curve, 2.0, phi_df=8, seed=11, n_draws=5000)
    b = P.project(293, 3, curve, 2.0, phi_df=8, seed=11, n_draws=5000)
    c = P.project(293, 3, curve, 2.0, phi_df=8, seed=12, n_draws=5000)
    assert a.to_dict() == b.to_dict() and a.ci != c.ci
    r1 = P.project_year(SMALL, 2024, 3, 352, seed=5, n_draws=2000, decisive_months=())
    r2 = P.project_year(SMALL, 2024, 3, 352, seed=5, n_draws=2000, decisive_months=())
    assert r1.to_dict() == r2.to_dict()


# ---------------------------------------------------------------- the study and its notebook
@pytest.fixture(scope="module")
def built(reports):
    return reports.results(STEM)


def _check_against_analysis(got, year, months, ytd_count, pct, seed):
    r = P.project_year(ministry_history(), year, months, ytd_count, pct, 12, alpha=0.05, seed=seed)
    assert got["projected_count"] == pytest.approx(r.projected_count)
    assert got["prediction_interval"] == pytest.approx(list(r.prediction_interval))
    assert got["projected_change_pct"] == pytest.approx(r.projected_change_pct)
    assert got["projected_change_interval"] == pytest.approx(list(r.projected_change_interval))
    assert got["shrinkage_factor"] == pytest.approx(r.shrinkage_factor)
    assert got["coverage"] == pytest.approx(r.coverage)
    assert [b["covered"] for b in got["backtest"]] == list(r.backtest["covered"])
    assert [b["upper"] for b in got["backtest"]] == pytest.approx(list(r.backtest["upper"]))
    assert got["verdict"] == r.verdict


def test_report_defaults_match_the_analysis_and_the_direct_run(built):
    assert built["parameters"]["year"] == 2025 and built["parameters"]["ytd_count"] == 293
    _check_against_analysis(built["results"], 2025, 3, 293, -16.8, 20250401)
    assert set(built["results"]["by_target"]) == {"6", "9", "12"}
    assert built["verdict"] == built["results"]["verdict"]
    assert built == json.loads(json.dumps(ytd.run(ytd.Params()).to_dict()))


def test_study_past_year():
    res = ytd.run(ytd.Params(year=2021, months=7, ytd_count=817, ytd_change_pct=2.4)).to_dict()
    _check_against_analysis(res["results"], 2021, 7, 817, 2.4, 20250401)
    assert set(res["results"]["by_target"]) == {"9", "12"}
    assert res["results"]["details"]["actual"] == 1465


@pytest.mark.parametrize("values, name", [({"ytd_count": -5}, "ytd_count"), ({"months": 13}, "months"),
                                          ({"months": 6, "target_months": 3}, "target_months"),
                                          ({"ytd_change_pct": -100}, "ytd_change_pct"), ({"alpha": 0}, "alpha"),
                                          ({"seed": -1}, "seed"), ({"yaer": 2024}, "yaer")])
def test_study_parameters_are_named(values, name):
    with pytest.raises(ParameterError) as exc:
        ytd.Params.from_mapping(values)
    assert exc.value.name == name and name in str(exc.value)


@pytest.mark.notebook
def test_notebook_bad_parameter_names_it(tmp_path):
    pm = pytest.importorskip("papermill")
    with pytest.raises(pm.PapermillExecutionError) as err:
        execute(NOTEBOOK, tmp_path, ytd_count=-5)
    assert "ytd_count" in str(err.value) and "-5" in str(err.value)
