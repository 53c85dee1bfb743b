"""Deaths: the pure clustering statistics (analysis.stats.clustering) against hand computations and simulation, and the
fatalities study's data pieces (events inside a period, pairs of comparable counts, the dispersions behind each p)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from analysis.stats import clustering
from analysis.stats.compare import exact_pvalue, lancaster_midp, score_pvalue
from analysis.studies import fatalities


# ------------------------------------------------------------------------------------------- analysis.stats.clustering
def test_compound_poisson_phi_formula_and_simulation():
    # 90 single deaths + one event of 10: (90 + 100) / 100; pairs: (2·90 + 100) / 100
    assert clustering.compound_poisson_phi(100, [10]) == pytest.approx(1.9)
    assert clustering.compound_poisson_phi(100, [10], unlisted_size=2) == pytest.approx(2.8)
    # compound Poisson with sizes {1 w.p. 0.9, 10 w.p. 0.1}: variance/mean = E[K^2]/E[K]
    rng = np.random.default_rng(1)
    n = rng.poisson(50, size=20000)
    tot = np.array([np.where(rng.random(k) < 0.1, 10, 1).sum() for k in n])
    ek, ek2 = 0.9 + 1.0, 0.9 + 10.0
    assert tot.var() / tot.mean() == pytest.approx(ek2 / ek, rel=0.05)
    with pytest.raises(ValueError, match="fewer than the listed events"):
        clustering.compound_poisson_phi(5, [10])


@given(sizes=st.lists(st.integers(1, 60), max_size=8), rest=st.integers(0, 500))
def test_compound_poisson_phi_properties(sizes, rest):
    total = sum(sizes) + rest
    if total == 0:
        return
    phi = clustering.compound_poisson_phi(total, sizes)
    assert phi >= 1 - 1e-12  # clustering never reduces the variance below Poisson
    assert phi <= max(sizes + [1]) + 1e-12  # E[K²]/E[K] <= max K
    assert clustering.compound_poisson_phi(total, sizes, unlisted_size=2) >= phi - 1e-12


def test_cluster_inflation_imputes_and_names_the_largest():
    c = clustering.cluster_inflation({2019: 180, 2020: 208, 2021: None}, [2019, 2021, 2021], [4, 6, 46],
                                     ["sewer", "mine A", "mine B"], system="ministry", label="Ministry")
    total = 180 + 208 + (180 + 208) / 2
    assert c.imputed_years == (2021,) and c.total_deaths == pytest.approx(total)
    assert c.estimate == pytest.approx((total - 56 + 16 + 36 + 2116) / total)
    assert c.largest_event == "mine B" and c.largest_deaths == 46
    assert c.phi_without_largest == pytest.approx((total - 46 - 10 + 16 + 36) / (total - 46))
    assert dict(c.per_year)[2019] == pytest.approx((176 + 16) / 180)
    assert "Ministry" in c.verdict and c.range == (c.phi_without_largest, c.phi_unlisted_pairs)
    with pytest.raises(ValueError, match="event_years must lie inside"):
        clustering.cluster_inflation({2019: 180}, [2018], [4])
    with pytest.raises(ValueError, match="at least one published"):
        clustering.cluster_inflation({2019: None}, [], [])


def test_share_homogeneity_against_scipy_and_chi2_over_phi():
    years, deaths, injured = [2019, 2020, 2021], [180, 208, 200], [1430, 1503, 1465]
    h = clustering.share_homogeneity(years, deaths, injured, phi=2.0, label="Ministry")
    table = np.column_stack([deaths, np.array(injured) - np.array(deaths)])
    chi2, p, df, _ = stats.chi2_contingency(table, correction=False)
    assert (h.chi2, h.p_value, h.df) == pytest.approx((chi2, p, df))
    assert h.p_value_at_phi == pytest.approx(stats.chi2.sf(chi2 / 2, df))
    assert h.pooled_share_pct == pytest.approx(100 * 588 / 4398)
    with pytest.raises(ValueError, match="deaths must not exceed"):
        clustering.share_homogeneity([1, 2], [5, 9], [4, 10])
    with pytest.raises(ValueError, match="at least 2"):
        clustering.share_homogeneity([1], [5], [10])


# --------------------------------------------------------------------------------------------- the fatalities study
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
    assert fatalities.deaths_dispersion("ministry").estimate == pytest.approx(c.estimate)


def test_changes_and_shares_by_hand():
    ch, loo = fatalities.death_changes(2024)
    r = ch[(ch["system"] == "ministry") & (ch["period"] == "2019")].iloc[0]
    assert (r.x1, r.x0) == (180, 220)
    assert r.p_value == pytest.approx(stats.binomtest(180, 400, 0.5).pvalue)
    assert r.p_midp_lancaster == pytest.approx(lancaster_midp(180, 220))
    assert r.p_without_events == pytest.approx(exact_pvalue(176, 220))
    assert r.events_flip  # 0.051 with the Astana sewer deaths, 0.031 without
    assert not ch["system"].eq("bns").any() or ch.loc[ch["system"] == "bns", "period"].min() == "2014"
    s = fatalities.fatal_shares(2024)
    row = s[(s["system"] == "ministry") & (s["period"] == "2024")].iloc[0]
    lo, hi = proportion_confint(202, 1408, alpha=0.05, method="beta")
    assert (row.ci_low_pct, row.ci_high_pct) == pytest.approx((100 * lo, 100 * hi))
    assert math.isclose(row.share_pct, 100 * 202 / 1408)


def test_each_p_value_uses_its_own_dispersion_and_reference():
    """Cluster φ: normal reference; trend φ: Student t on the trend's residual df; Holm within system for each."""
    ch, _ = fatalities.death_changes(2024)
    trend = fatalities.trend_dispersion("ministry", 2024)
    cl = fatalities.cluster_inflation("ministry", 2024)
    m = ch[ch["system"] == "ministry"]
    r = m[m["period"] == "2009"].iloc[0]
    z = (r.x1 - r.x0) / math.sqrt(r.x1 + r.x0)
    assert r.phi_trend == pytest.approx(trend.estimate) and r.df_trend == trend.df_resid == 8
    assert r.p_quasi_trend == pytest.approx(2 * stats.t.sf(abs(z) / math.sqrt(trend.estimate), 8), rel=1e-10)
    assert r.p_quasi_trend_normal == pytest.approx(score_pvalue(r.x1, r.x0, 1.0, trend.estimate), rel=1e-12)
    assert r.p_quasi_cluster == pytest.approx(2 * stats.norm.sf(abs(z) / math.sqrt(cl.estimate)), rel=1e-10)
    assert list(m["p_holm_trend"]) == pytest.approx(list(multipletests(m["p_quasi_trend"], method="holm")[1]))
    assert list(m["p_holm_cluster"]) == pytest.approx(list(multipletests(m["p_quasi_cluster"], method="holm")[1]))
    assert set(ch["survives"]) == {"none"}


def test_end_year_is_validated():
    with pytest.raises(ValueError, match="end_year must be one of"):
        fatalities.deaths_by_year(2031)
