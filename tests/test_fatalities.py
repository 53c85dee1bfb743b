"""analysis.fatalities: compound-Poisson inflation, events inside a period, pairs of comparable counts."""

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from analysis.stats.compare import exact_pvalue
from analysis.studies import fatalities


def test_phi_formula_and_simulation():
    # 90 single deaths + one event of 10: (90 + 100) / 100
    assert fatalities._phi(100, [10]) == pytest.approx((1.9, (180 + 100) / 100))
    # compound Poisson with sizes {1 w.p. 0.9, 10 w.p. 0.1}: variance/mean = E[K^2]/E[K]
    rng = np.random.default_rng(1)
    n = rng.poisson(50, size=20000)
    tot = np.array([np.where(rng.random(k) < 0.1, 10, 1).sum() for k in n])
    ek, ek2 = 0.9 + 1.0, 0.9 + 10.0
    assert tot.var() / tot.mean() == pytest.approx(ek2 / ek, rel=0.05)
    with pytest.raises(ValueError, match="fewer than the listed events"):
        fatalities._phi(5, [10])


def test_events_in_period_respects_months():
    jan_oct = fatalities.events_in(2023, "2023-01..10")
    assert set(jan_oct["deaths"]) == {5, 46}  # Kazakhstanskaya (Aug) and Kostenko (28 Oct)
    assert fatalities.events_in(2022, "2022-01..10").empty  # Lenin mine was 3 Nov 2022
    assert list(fatalities.events_in(2022, "2022")["deaths"]) == [5]


def test_cluster_inflation_by_hand():
    c = fatalities.cluster_inflation("ministry", 2024)
    assert c.imputed_years == (2023,)
    published = [180, 208, 200, 203, 202]
    total = sum(published) + np.mean(published)
    sizes = np.array([4, 6, 5, 5, 46, 4, 4, 1, 1])
    assert c.estimate == pytest.approx((total - sizes.sum() + (sizes**2).sum()) / total)
    assert c.largest_deaths == 46 and c.phi_without_largest < 1.2 < c.estimate


def test_changes_and_shares_by_hand():
    ch, loo = fatalities.death_changes(2024)
    r = ch[(ch["system"] == "ministry") & (ch["period"] == "2019")].iloc[0]
    assert (r.x1, r.x0) == (180, 220)
    assert r.p_value == pytest.approx(stats.binomtest(180, 400, 0.5).pvalue)
    assert r.p_without_events == pytest.approx(exact_pvalue(176, 220))
    assert r.events_flip  # 0.051 with the Astana sewer deaths, 0.031 without
    assert not ch["system"].eq("bns").any() or ch.loc[ch["system"] == "bns", "period"].min() == "2014"
    s = fatalities.fatal_shares(2024)
    row = s[(s["system"] == "ministry") & (s["period"] == "2024")].iloc[0]
    lo, hi = proportion_confint(202, 1408, alpha=0.05, method="beta")
    assert (row.ci_low_pct, row.ci_high_pct) == pytest.approx((100 * lo, 100 * hi))
    assert math.isclose(row.share_pct, 100 * 202 / 1408)


def test_end_year_is_validated():
    with pytest.raises(ValueError, match="end_year must be one of"):
        fatalities.deaths_by_year(2031)
