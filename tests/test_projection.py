"""Seasonal shares from past cumulative releases (analysis.stats.projection), used by the quarterly-change study's
seasonal view: recovery of a known pattern, the pooled SD and the interpolation against direct computations, bad
input. (The year-to-date projection itself is tests/test_ytd.py and tests/test_ytd_model.py.)"""

import numpy as np
import pytest

from analysis.stats import projection as P
from analysis.studies.common import ministry_history

# A known seasonal pattern: injuries rise through the year.
WEIGHTS = np.array([0.8, 0.85, 0.9, 0.95, 1.0, 1.0, 1.05, 1.05, 1.1, 1.1, 1.05, 1.15])
WEIGHTS = WEIGHTS / WEIGHTS.sum()


def _history(rng, n_years=10, release_months=(4, 6, 7, 9), phi=2.0) -> P.History:
    """Past years with two random releases each plus the annual total (monthly counts with variance phi·mean)."""
    counts = {}
    for y in range(2000, 2000 + n_years):
        mu = 1500.0 * WEIGHTS
        cum = np.cumsum(rng.poisson(rng.gamma(mu / (phi - 1), phi - 1)))
        pick = rng.choice(release_months, size=2, replace=False)
        counts[y] = {int(m): float(cum[m - 1]) for m in pick} | {12: float(cum[11])}
    return P.make_history(counts)


# A small fixed history in the shape of the Ministry's.
SMALL = P.make_history(
    {2018: {7: 842, 12: 1568}, 2019: {7: 749, 12: 1430}, 2020: {4: 416, 6: 672, 7: 798, 9: 1023, 12: 1503},
     2021: {4: 462, 6: 691, 7: 817, 9: 1062, 12: 1465}, 2022: {6: 667, 9: 999, 12: 1465},
     2023: {2: 187, 6: 640, 12: 1474}, 2024: {3: 352, 12: 1408}},
    derived={(2020, 4), (2020, 6), (2022, 6), (2023, 12), (2024, 3)},
    pct_changes={2021: {3: -9.1}})


def test_shares_recover_the_known_seasonal_pattern():
    h = _history(np.random.default_rng(7), n_years=30)
    curve = P.seasonal_shares(h)
    for m in (4, 6, 7, 9):
        assert curve.get(m).mean == pytest.approx(WEIGHTS[:m].sum(), abs=0.01)
    assert curve.get(6).n_years >= 2 and not curve.get(6).few


def test_pooled_sd_and_observed_share_equal_a_direct_computation():
    curve = P.seasonal_shares(SMALL)
    groups = {}
    for months in SMALL.counts.values():
        for m, c in months.items():
            if m < 12:
                groups.setdefault(m, []).append(c / months[12])
    used = [np.array(v) for v in groups.values() if len(v) > 1]
    ss = sum(((g - g.mean()) ** 2).sum() for g in used)
    df = sum(len(g) - 1 for g in used)
    assert curve.pooled_df == df and curve.pooled_sd == pytest.approx(np.sqrt(ss / df))
    s6 = P.share_at(curve, 6)
    assert s6.source == "observed" and s6.mean == pytest.approx(np.mean(groups[6]))
    assert s6.se == pytest.approx(curve.pooled_sd / np.sqrt(len(groups[6])))
    assert set(curve.get(6).derived_years) == {2020, 2022, 2023}  # 2023's annual total is derived


def test_month_without_history_is_interpolated_with_an_extra_sd_or_refused():
    curve = P.seasonal_shares(SMALL)
    with pytest.raises(ValueError, match=r"months=3 .*allow_interpolation"):
        P.share_at(curve, 3, allow_interpolation=False)
    s = P.share_at(curve, 3)
    m4 = curve.get(4)
    # linear between the anchor (0, 0) and month 4, the nearest month with history
    assert s.source == "interpolated" and s.mean == pytest.approx(0.75 * m4.mean)
    se4 = curve.pooled_sd / np.sqrt(m4.n_years)
    assert s.se == pytest.approx(np.sqrt((0.75 * se4) ** 2 + curve.pooled_sd ** 2))
    assert P.share_at(curve, 12).mean == 1.0 and P.share_at(curve, 12).se == 0.0


def test_ministry_history_feeds_the_quarterly_seasonal_view():
    h = ministry_history()
    curve = P.seasonal_shares(h)
    assert h.count(2024, 12) == 1408 and h.is_derived(2024, 3)
    assert 0.4 < P.share_at(curve, 6).mean < 0.5


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"counts\[2020\]\[6\]"):
        P.make_history({2020: {6: -3, 12: 100}})
    with pytest.raises(ValueError, match="month"):
        P.make_history({2020: {13: 3}})
    with pytest.raises(ValueError, match="pct_changes"):
        P.make_history({2020: {12: 100}}, pct_changes={2020: {3: -100}})
    with pytest.raises(ValueError, match="months"):
        P.share_at(P.seasonal_shares(SMALL), 0)
    with pytest.raises(ValueError, match="min_years"):
        P.seasonal_shares(SMALL, min_years=0)
