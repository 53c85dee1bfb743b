"""Two-period comparison: R poisson.test, scipy binomtest, statsmodels score methods, over-dispersion."""

import json
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats import rates as smr

from analysis.stats.compare import (
    compare_counts,
    compare_overdispersed,
    dispersion_table,
    dispersion_to_flip,
    exact_pvalue,
    exact_ratio_ci,
    percent_change,
    score_pvalue,
    score_ratio_ci,
    score_z,
)


def _cp_ratio_ci(x1, x0, e, alpha=0.05):
    """Independent: scipy's Clopper-Pearson interval on x1 | n mapped to the ratio."""
    ci = stats.binomtest(x1, x1 + x0, e / (1 + e)).proportion_ci(1 - alpha, method="exact")
    hi = math.inf if ci.high >= 1 else ci.high / (1 - ci.high) / e
    return ci.low / (1 - ci.low) / e, hi


def test_headline_293_vs_352():
    r = compare_counts(293, 352)
    assert r.p_value == pytest.approx(stats.binomtest(293, 645, 0.5).pvalue, rel=1e-12)
    assert r.p_value == pytest.approx(0.022313129817613443, rel=1e-9)
    assert r.estimate == pytest.approx(293 / 352, rel=1e-12)
    assert r.ci == pytest.approx(_cp_ratio_ci(293, 352, 1.0), rel=1e-9)
    assert r.pct_change == pytest.approx(-16.761363636, abs=1e-6)
    assert r.pct_ci == pytest.approx((100 * (r.ci[0] - 1), 100 * (r.ci[1] - 1)), rel=1e-12)
    assert r.method == "exact conditional binomial"
    assert r.significant
    v = r.verdict
    assert "p = 0.0223" in v and "0.8324" in v and "φ ≥ 1.4" in v
    json.dumps(r.to_dict(), allow_nan=False)


def test_r_poisson_test_two_sample_example():
    # R: poisson.test(c(11, 6+8+7), c(800, 1083+1050+878)):
    # rate ratio 1.971488, 95% CI 0.8584264 4.2772659, p-value = 0.07967
    r = compare_counts(11, 21, exposure_ratio=800 / (1083 + 1050 + 878))
    assert r.estimate == pytest.approx(1.971488, abs=1e-6)
    assert r.ci == pytest.approx((0.8584264, 4.2772659), abs=1e-6)
    assert r.p_value == pytest.approx(0.07967, abs=5e-6)
    assert not r.significant and "not significant" in r.verdict


def test_midp_and_score_against_independent_formulas():
    x1, x0, e = 293, 352, 1.0
    r = compare_counts(x1, x0, e)
    midp = stats.binomtest(x1, x1 + x0, 0.5).pvalue - 0.5 * stats.binom.pmf(x1, x1 + x0, 0.5)
    assert r.p_midp == pytest.approx(midp, rel=1e-12)
    z = (x1 - x0) / math.sqrt(x1 + x0)
    assert r.p_score == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)
    sm_ci = smr.confint_poisson_2indep(x1, 1.0, x0, 1.0, method="score")
    assert r.ci_score == pytest.approx((float(sm_ci[0]), float(sm_ci[1])), rel=1e-6)


@pytest.mark.parametrize(
    ("x1", "x0", "e"), [(11, 21, 800 / 3011), (1408, 1503, 1.0), (5, 17, 1.3), (40, 12, 0.5)]
)
def test_score_ci_closed_form_matches_statsmodels_inversion(x1, x0, e):
    sm_ci = smr.confint_poisson_2indep(x1, e, x0, 1.0, method="score")
    assert score_ratio_ci(x1, x0, e) == pytest.approx((float(sm_ci[0]), float(sm_ci[1])), rel=1e-6)
    # and the limits are exactly where the score p-value equals alpha
    for bound in score_ratio_ci(x1, x0, e):
        p = smr.test_poisson_2indep(x1, e, x0, 1.0, value=bound, method="score").pvalue
        assert p == pytest.approx(0.05, abs=1e-9)


def test_overdispersed_phi_one_is_poisson_score_and_scaling_counts_is_equivalent():
    x1, x0, e = 293, 352, 1.2
    od = compare_overdispersed(x1, x0, phi=1.0, exposure_ratio=e)
    sm = smr.test_poisson_2indep(x1, e, x0, 1.0, method="score")
    assert od.p_value == pytest.approx(float(sm.pvalue), rel=1e-12)
    assert od.z == pytest.approx(float(sm.statistic), rel=1e-12)
    phi = 2.5
    scaled = smr.test_poisson_2indep(x1 / phi, e, x0 / phi, 1.0, method="score")
    assert score_z(x1, x0, e, phi) == pytest.approx(float(scaled.statistic), rel=1e-12)
    assert compare_overdispersed(x1, x0, phi, e).p_value == pytest.approx(float(scaled.pvalue), rel=1e-12)
    ci = compare_overdispersed(x1, x0, phi, e).ci
    assert ci[0] < od.ci[0] and ci[1] > od.ci[1]


def test_dispersion_to_flip_matches_closed_form_and_crosses_alpha():
    x1, x0 = 293, 352
    f = dispersion_to_flip(x1, x0)
    zc = stats.norm.isf(0.025)
    z = (x1 - x0) / math.sqrt(x1 + x0)
    assert f.phi_flip == pytest.approx((z / zc) ** 2, rel=1e-9)
    assert score_pvalue(x1, x0, 1.0, f.phi_flip) == pytest.approx(0.05, abs=1e-10)
    assert f.phi_flip == pytest.approx(1.4049, abs=1e-4)
    nf = dispersion_to_flip(1408, 1503)  # p = 0.08 already at phi = 1
    assert nf.phi_flip is None and "no φ ≥ 1" in nf.verdict


def test_dispersion_table_is_monotone_and_consistent_with_flip():
    t = dispersion_table(293, 352, phis=(1, 1.2, 1.4, 1.41, 2, 5))
    assert all(b >= a for a, b in zip(t.p_values, t.p_values[1:], strict=False))
    df = t.to_frame()
    assert list(df["significant"]) == [f < t.phi_flip for f in t.phis]
    assert t.p_exact == pytest.approx(0.022313129817613443, rel=1e-9)


def test_x1_thresholds_are_where_exact_test_flips():
    r = compare_counts(293, 352)
    lo, hi = r.x1_thresholds
    assert stats.binomtest(lo, lo + 352, 0.5).pvalue <= 0.05 < stats.binomtest(lo + 1, lo + 353, 0.5).pvalue
    assert stats.binomtest(hi, hi + 352, 0.5).pvalue <= 0.05 < stats.binomtest(hi - 1, hi + 351, 0.5).pvalue


def test_percent_change_exact_and_overdispersed():
    p = percent_change(1408, 1503)
    assert p.estimate == pytest.approx(100 * (1408 / 1503 - 1), rel=1e-12)
    assert round(p.estimate, 1) == -6.3
    lo, hi = _cp_ratio_ci(1408, 1503, 1.0)
    assert p.ci == pytest.approx((100 * (lo - 1), 100 * (hi - 1)), rel=1e-9)
    assert p.p_value == pytest.approx(stats.binomtest(1408, 2911, 0.5).pvalue, rel=1e-12)
    q = percent_change(1408, 1503, phi=2.0)
    assert q.p_value > p.p_value and q.ci[0] < p.ci[0]
    assert q.method.startswith("quasi-Poisson score")


def test_edge_cases_zero_counts():
    r = compare_counts(0, 0)
    assert r.p_value == 1.0 and r.ci == (0.0, math.inf) and math.isnan(r.estimate)
    assert r.to_dict()["estimate"] is None
    r = compare_counts(7, 0)
    assert math.isinf(r.estimate) and math.isinf(r.ci[1]) and r.ci[0] > 0
    assert r.p_value == pytest.approx(stats.binomtest(7, 7, 0.5).pvalue, rel=1e-12)
    r = compare_counts(0, 7)
    assert r.estimate == 0.0 and r.ci[0] == 0.0


counts = st.integers(0, 3000)
ratios = st.floats(0.2, 5.0)


@settings(max_examples=60, deadline=None)
@given(x1=counts, x0=counts, e=ratios, alpha=st.sampled_from([0.01, 0.05, 0.1]))
def test_properties_ci_p_and_swap(x1, x0, e, alpha):
    assume(x1 + x0 > 0)
    ci = exact_ratio_ci(x1, x0, e, alpha)
    est = x1 / x0 / e if x0 else math.inf
    assert ci[0] <= est * (1 + 1e-9) and est <= ci[1] * (1 + 1e-9)
    p = exact_pvalue(x1, x0, e)
    assert 0 <= p <= 1
    assert p == pytest.approx(stats.binomtest(x1, x1 + x0, e / (1 + e)).pvalue, rel=1e-12)
    # swapping the periods inverts the ratio and its interval and keeps the p-value
    sw = exact_ratio_ci(x0, x1, 1 / e, alpha)
    inv = (1 / ci[1] if ci[1] > 0 else math.inf, 1 / ci[0] if ci[0] > 0 else math.inf)
    assert sw == pytest.approx(inv, rel=1e-7)
    assert exact_pvalue(x0, x1, 1 / e) == pytest.approx(p, rel=1e-7)
    assert score_pvalue(x0, x1, 1 / e) == pytest.approx(score_pvalue(x1, x0, e), rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(x1=counts, x0=counts, e=ratios, phis=st.lists(st.floats(0.2, 50.0), min_size=2, max_size=6))
def test_overdispersed_p_monotone_in_phi(x1, x0, e, phis):
    ps = [score_pvalue(x1, x0, e, f) for f in sorted(phis)]
    assert all(0 <= p <= 1 for p in ps)
    assert all(b >= a - 1e-15 for a, b in zip(ps, ps[1:], strict=False))
    t = dispersion_table(x1, x0, e, phis=sorted(phis))
    assert list(t.p_values) == pytest.approx(ps, rel=1e-12)


def test_exact_ratio_ci_coverage_simulation():
    rng = np.random.default_rng(7)
    mu0, ratio, e = 30.0, 0.8, 1.25
    x0 = rng.poisson(mu0, 3000)
    x1 = rng.poisson(mu0 * ratio * e, 3000)
    hits = []
    for a, b in zip(x1, x0, strict=True):
        lo, hi = exact_ratio_ci(int(a), int(b), e)
        hits.append(lo <= ratio <= hi)
    assert np.mean(hits) >= 0.94


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: compare_counts(-1, 5), "x1.*-1"),
        (lambda: compare_counts(3, 2.5), "x0.*2.5"),
        (lambda: compare_counts(3, 5, exposure_ratio=0), "exposure_ratio.*0"),
        (lambda: compare_counts(3, 5, alpha=1.0), "alpha.*1.0"),
        (lambda: compare_overdispersed(3, 5, phi=0), "phi.*0"),
        (lambda: compare_overdispersed(3, 5, phi=-2.0), "phi.*-2.0"),
        (lambda: dispersion_table(3, 5, phis=()), "phis"),
        (lambda: dispersion_table(3, 5, phis=(1, -1)), r"phis\[1\].*-1"),
        (lambda: dispersion_to_flip(3, 5, alpha=0), "alpha.*0"),
        (lambda: percent_change(3, 5, phi=float("inf")), "phi.*inf"),
    ],
)
def test_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
