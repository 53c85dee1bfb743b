"""Log-linear trends (APC) against independent fits, missing years, offsets and endpoint comparisons."""

import json
import math

import numpy as np
import pytest
import statsmodels.api as sm
from reference import poisson_loglinear_mle
from scipy import stats

from analysis.stats.compare import compare_counts, score_pvalue
from analysis.stats.trend import endpoint_change, fit_trend, trend_models

YEARS = list(range(2010, 2025))
COUNTS = [1996, 1894, 1826, 1691, 1689, 1717, 1586, 1463, 1483, 1410, 1293, 1281, 1162, 1182, 1141]


def test_poisson_apc_matches_independent_mle():
    r = fit_trend(COUNTS, YEARS, model="poisson")
    beta, se, mu = poisson_loglinear_mle(COUNTS, YEARS)
    assert r.beta == pytest.approx(beta, rel=1e-6)
    assert r.se == pytest.approx(se, rel=1e-5)
    z = stats.norm.isf(0.025)
    assert r.estimate == pytest.approx(100 * (math.exp(beta) - 1), rel=1e-6)
    assert r.ci == pytest.approx((100 * math.expm1(beta - z * se), 100 * math.expm1(beta + z * se)), rel=1e-5)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(abs(beta / se)), rel=1e-3, abs=1e-300)
    assert r.fitted == pytest.approx(tuple(mu), rel=1e-6)
    assert sum(r.fitted) == pytest.approx(sum(COUNTS), rel=1e-9)  # Poisson GLM with intercept
    assert r.ci[0] < r.estimate < r.ci[1]
    json.dumps(r.to_dict(), allow_nan=False)


def test_quasi_poisson_scales_se_by_sqrt_phi_and_uses_t():
    p = fit_trend(COUNTS, YEARS, model="poisson")
    q = fit_trend(COUNTS, YEARS, model="quasi-poisson")
    _, _, mu = poisson_loglinear_mle(COUNTS, YEARS)
    phi = np.sum((np.asarray(COUNTS) - mu) ** 2 / mu) / (len(COUNTS) - 2)
    assert q.scale == pytest.approx(phi, rel=1e-5)
    assert q.beta == pytest.approx(p.beta, rel=1e-9)
    assert q.se == pytest.approx(p.se * math.sqrt(phi), rel=1e-5)
    tcrit = stats.t.isf(0.025, len(COUNTS) - 2)
    assert q.ci == pytest.approx(
        (100 * math.expm1(q.beta - tcrit * q.se), 100 * math.expm1(q.beta + tcrit * q.se)), rel=1e-9
    )
    assert q.p_value == pytest.approx(2 * stats.t.sf(abs(q.beta / q.se), len(COUNTS) - 2), rel=1e-9)
    assert "quasi-Poisson" in q.method


def test_negbin_matches_discrete_nb2():
    rng = np.random.default_rng(2)
    mu = 1500 * np.exp(-0.04 * np.arange(20))
    counts = rng.negative_binomial(mu / 3, 1 / 4).tolist()  # phi = 4
    years = list(range(2005, 2025))
    r = fit_trend(counts, years, model="negbin")
    y = np.asarray(years, float)
    X = np.column_stack([np.ones_like(y), y - y.mean()])
    ref = sm.NegativeBinomial(np.asarray(counts, float), X, loglike_method="nb2").fit(disp=0, maxiter=500)
    assert r.beta == pytest.approx(float(ref.params[1]), rel=1e-4)
    assert r.nb_alpha == pytest.approx(float(ref.params[2]), rel=1e-4)
    assert r.se == pytest.approx(float(ref.bse[1]), rel=2e-2)
    assert "negative binomial GLM" in r.method


def test_exact_geometric_series_gives_its_apc():
    counts = [round(1000 * 0.95**k) for k in range(10)]
    r = fit_trend(counts, list(range(2015, 2025)))
    assert r.estimate == pytest.approx(-5.0, abs=0.05)


def test_offset_makes_it_a_rate_trend():
    workers = [6e6 * 1.02**k for k in range(10)]
    counts = [round(w * 2e-4) for w in workers]  # constant rate, growing workforce
    yrs = list(range(2015, 2025))
    rate = fit_trend(counts, yrs, workers=workers)
    raw = fit_trend(counts, yrs)
    assert rate.estimate == pytest.approx(0.0, abs=0.05) and rate.with_offset
    assert raw.estimate == pytest.approx(2.0, abs=0.05)
    assert "rate" in rate.verdict


def test_missing_years_dropped_with_note():
    c = [float(v) for v in COUNTS]
    c[2] = float("nan")
    r = fit_trend(c, YEARS, model="quasi-poisson")
    keep = [i for i in range(len(YEARS)) if i != 2]
    ref = fit_trend([COUNTS[i] for i in keep], [YEARS[i] for i in keep], model="quasi-poisson")
    assert r.estimate == pytest.approx(ref.estimate, rel=1e-12) and r.ci == pytest.approx(ref.ci, rel=1e-12)
    assert 2012.0 not in r.years and len(r.fitted) == len(YEARS) - 1
    assert any("2012" in n for n in r.notes) and "2012" in r.verdict
    # gaps in the years themselves (no row) are simply fitted on what is there
    gap = fit_trend(COUNTS[:5] + COUNTS[8:], YEARS[:5] + YEARS[8:])
    assert gap.df_resid == len(YEARS) - 3 - 2


def test_trend_models_side_by_side():
    m = trend_models(COUNTS, YEARS)
    assert [f.model for f in m.fits] == ["poisson", "quasi-poisson", "negbin"]
    assert m.fits[1].ci[1] - m.fits[1].ci[0] >= m.fits[0].ci[1] - m.fits[0].ci[0]
    assert "APC by model" in m.verdict
    json.dumps(m.to_dict(), allow_nan=False)


def test_endpoint_2020_2024():
    yrs = [2020, 2021, 2022, 2023, 2024]
    cts = [1503, 1460, 1430, 1390, 1408]
    e = endpoint_change(cts, yrs, 2020, 2024, phi=2.0)
    assert e.estimate == pytest.approx(100 * (1408 / 1503 - 1), rel=1e-12)
    assert round(e.estimate, 1) == -6.3
    assert e.p_value == pytest.approx(stats.binomtest(1408, 2911, 0.5).pvalue, rel=1e-12)
    assert e.p_value == pytest.approx(compare_counts(1408, 1503).p_value, rel=1e-12)
    assert e.p_overdispersed == pytest.approx(score_pvalue(1408, 1503, 1.0, 2.0), rel=1e-12)
    assert e.p_overdispersed > e.p_value
    assert "Not significant" in e.verdict and "-6.3%" in e.verdict
    est = endpoint_change(cts, yrs, 2020, 2024)
    assert est.phi >= 1.0 and "estimated from 5 years" in est.phi_source
    w = endpoint_change(cts, yrs, 2020, 2024, workers=[6.0e6, 6.1e6, 6.2e6, 6.3e6, 6.6e6], phi=1.0)
    assert w.exposure_ratio == pytest.approx(1.1)
    assert w.estimate == pytest.approx(100 * (1408 / 1503 / 1.1 - 1), rel=1e-12)


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: fit_trend(COUNTS, YEARS, model="ols"), "model.*ols"),
        (lambda: fit_trend(COUNTS, YEARS[:-1]), "years.*length 14"),
        (lambda: fit_trend([5, 6], [2020, 2021]), "at least 3"),
        (lambda: fit_trend(COUNTS, YEARS, alpha=2), "alpha.*2"),
        (lambda: fit_trend(COUNTS, YEARS, workers=[0] * 15), r"workers\[0\].*0"),
        (lambda: endpoint_change(COUNTS, YEARS, 2010, 2024, workers=[1e6] * 3), "workers.*length 3"),
        (lambda: fit_trend([1, -1, 3], [2020, 2021, 2022]), r"counts\[1\].*-1"),
        (lambda: endpoint_change(COUNTS, YEARS, 2005, 2024), "start.*2005"),
        (lambda: endpoint_change(COUNTS, YEARS, 2010, 2030), "end.*2030"),
        (lambda: endpoint_change(COUNTS, YEARS, 2010, 2024, phi=0), "phi.*0"),
    ],
)
def test_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# ---- the claim's window: assess_window (moved from assess) ----------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from analysis.stats import joinpoint as jp  # noqa: E402
from analysis.stats import window  # noqa: E402

JP_YEARS = list(range(2015, 2025))
# declining to 2019, then nearly flat (the shape of the Ministry's series); mean ≈ 1,550
JP_COUNTS = [1723, 1683, 1679, 1568, 1430, 1503, 1465, 1465, 1474, 1408]


def test_assess_window_counts_against_independent_pieces():
    a = window.assess_window(JP_YEARS, JP_COUNTS, 2024, 5, -6.3, rates={2020: 0.23, 2024: 0.20})
    assert (a.start_year, a.end_year, a.start_value, a.end_value) == (2020, 2024, 1503, 1408)
    assert a.consistent and a.rate_consistent is False
    assert a.p_value_endpoint_exact == pytest.approx(stats.binomtest(1408, 2911, 0.5).pvalue, rel=1e-12)
    X = sm.add_constant(np.asarray(JP_YEARS, float))
    fit = sm.GLM(np.asarray(JP_COUNTS, float), X, family=sm.families.Poisson()).fit(scale="X2")
    assert a.dispersion == pytest.approx(max(1.0, fit.scale), rel=1e-7)
    # φ is estimated on 8 residual df, so the endpoint test uses t(8); the normal plug-in is kept beside it
    p_normal = score_pvalue(1408, 1503, 1.0, fit.scale)
    assert a.p_value_endpoint_overdispersed_normal == pytest.approx(p_normal, rel=1e-9)
    z = stats.norm.isf(p_normal / 2)
    assert a.endpoint_reference == "t(8)"
    assert a.p_value_endpoint_overdispersed == pytest.approx(2 * stats.t.sf(z, 8), rel=1e-7)
    assert a.apc == pytest.approx(100 * math.expm1(fit.params[1]), rel=1e-7)
    assert a.rate_change_range == pytest.approx((100 * (0.195 / 0.235 - 1), 100 * (0.205 / 0.225 - 1)), rel=1e-9)
    assert "matches the counts 1,503 → 1,408" in a.verdict and "p = 0.081" in a.verdict


def test_assess_window_rate_uses_the_exposure_ratio():
    w = [6e6 * 1.03**k for k in range(10)]
    a = window.assess_window(JP_YEARS, JP_COUNTS, 2024, 5, -6.3, measure="rate", workers=w)
    assert a.exposure_ratio == pytest.approx(w[9] / w[5])
    assert a.change_pct == pytest.approx(100 * ((1408 / w[9]) / (1503 / w[5]) - 1), rel=1e-12)
    assert a.consistent is False
    with pytest.raises(ValueError, match="measure='rate' needs workers"):
        window.assess_window(JP_YEARS, JP_COUNTS, 2024, 5, -6.3, measure="rate")
    with pytest.raises(ValueError, match="end_year 2030"):
        window.assess_window(JP_YEARS, JP_COUNTS, 2030, 5, -6.3)


# ---- joinpoint_power ------------------------------------------------------------------------------------------------


def test_power_under_a_straight_line_is_the_level():
    # 400 series without a break (−2.2%/yr, φ = 2): the share rejected is the test's level. With B = 39,
    # α(B + 1) = 2, so an exchangeable test has level exactly 0.05; ±0.035 is 3.2 binomial SEs (0.011).
    mu = 1700 * np.exp(-0.022 * np.arange(10))
    r = window.joinpoint_power(mu, JP_YEARS, dispersion=2.0, n_series=400, seed=3)
    assert abs(r.estimate - 0.05) <= 0.035, r.estimate
    lo, hi = stats.binomtest(r.rejections, 400).proportion_ci(0.95, method="exact")
    assert r.ci == pytest.approx((lo, hi)) and r.ci[0] <= r.estimate <= r.ci[1]
    assert "Power of the 0-vs-1 joinpoint test" in r.verdict


def test_power_agrees_with_the_public_test_run_series_by_series():
    # the vectorised simulation against joinpoint_test called on each series (independent RNG streams): the two
    # estimates of the same power differ by Monte Carlo error only (SE of the difference ≈ 0.058 at 150 series
    # each; tolerance 0.17 ≈ 3 SEs), and both sit near the ≈ 0.5 the joinpoint module documents at this scale
    t = np.arange(10.0)
    mu = 1700 * np.exp(np.where(t <= 4, -0.04 * t, -0.16))
    vec = window.joinpoint_power(mu, JP_YEARS, dispersion=1.5, n_series=150, seed=11).estimate
    rng = np.random.default_rng(12)
    sims = rng.negative_binomial(mu / 0.5, 1 / 1.5, size=(150, 10))
    loop = np.mean([jp.joinpoint_test(c, JP_YEARS, n_permutations=39, seed=i).rejected for i, c in enumerate(sims)])
    assert abs(vec - loop) <= 0.17, (vec, loop)
    assert 0.25 <= vec <= 0.8


def test_power_grows_with_the_size_of_the_counts_and_poisson_when_phi_is_one():
    t = np.arange(10.0)
    shape = np.exp(np.where(t <= 4, -0.04 * t, -0.16))
    # 150 series: SE ≤ 0.041; at 8,000 the power is ≈ 0.99, so 0.9 leaves a wide margin
    small = window.joinpoint_power(1700 * shape, JP_YEARS, 1.5, n_series=150, seed=1).estimate
    big = window.joinpoint_power(8000 * shape, JP_YEARS, 1.5, n_series=150, seed=1).estimate
    assert big >= 0.9 and small < big
    pois = window.joinpoint_power(8000 * shape, JP_YEARS, 1.0, n_series=60, seed=1)
    assert pois.dispersion == 1.0 and "Poisson" in pois.method and pois.estimate >= 0.9


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"years": JP_YEARS[:-1]}, "years must have the length of mean"),
    ({"dispersion": 0}, "dispersion"),
    ({"n_series": 0}, "n_series"),
    ({"seed": -1}, "seed"),
    ({"mean": [0.0] * 10}, r"mean\[0\]"),
])
def test_power_bad_arguments_name_themselves(kwargs, match):
    args = {"mean": [1500.0] * 10, "years": JP_YEARS, **kwargs}
    with pytest.raises(ValueError, match=match):
        window.joinpoint_power(**args)


# ---- window_trend --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wt():
    return window.window_trend(JP_COUNTS, JP_YEARS, 2020, 2024, n_permutations=999, n_boot=199, seed=5,
                               power_series=100)


def test_window_trend_pieces_equal_the_joinpoint_module_and_statsmodels(wt):
    sel = jp.select_joinpoints(JP_COUNTS, JP_YEARS, max_joinpoints=1, n_permutations=999, seed=5)
    assert wt.test.p_value == sel.tests[0].p_value and wt.selection.n_joinpoints == sel.n_joinpoints
    boot = jp.joinpoint_test(JP_COUNTS, JP_YEARS, n_permutations=999, seed=5, test="bootstrap")
    assert wt.bootstrap_test.p_value == boot.p_value
    one = jp.fit_joinpoint(JP_COUNTS, JP_YEARS, n_joinpoints=1).aapc(2020, 2024, n_boot=199, seed=5)
    assert wt.aapc_broken.estimate == pytest.approx(one.estimate) and wt.aapc_broken.ci_boot == one.ci_boot
    # the straight line's window AAPC is the quasi-Poisson APC (statsmodels, via fit_trend)
    q = fit_trend(JP_COUNTS, JP_YEARS, model="quasi-poisson")
    assert wt.aapc_straight.estimate == pytest.approx(q.estimate, rel=1e-7)
    assert wt.aapc_straight.ci == pytest.approx(q.ci, rel=1e-6)
    # the window 2020-2024 lies after the joinpoint (2019): its AAPC is the second segment's APC
    assert wt.broken.joinpoints == (2019.0,)
    assert wt.aapc_broken.estimate == pytest.approx(wt.broken.segments[1].estimate, rel=1e-9)
    assert wt.estimate == wt.aapc_broken.estimate and wt.ci == wt.aapc_broken.ci_boot
    json.dumps(wt.to_dict(), allow_nan=False)


def test_window_trend_verdict_on_a_slowing_decline(wt):
    # straight line kept (p ≈ 0.1), power well below 80%: both models stand; only the straight line is clear
    assert not wt.break_selected and wt.defensible == ("straight", "joinpoint")
    assert wt.clear_straight and not wt.clear_broken and wt.support == "some"
    assert "straight line only" in wt.verdict and "weak evidence" in wt.verdict
    frame = wt.segments_frame()
    assert list(frame["model"]) == ["straight line", "one joinpoint", "one joinpoint"]


def test_window_trend_selects_a_planted_break_and_judges_by_it():
    counts = _noiseless_break(8000, -0.06, 0.0, 2019)
    w = window.window_trend(counts, JP_YEARS, 2020, 2024, n_permutations=199, n_boot=0, power_series=0)
    assert w.break_selected and w.defensible == ("joinpoint",)
    assert w.broken.joinpoints == (2019.0,) and w.support == "none"
    assert w.ci == w.aapc_broken.ci  # no bootstrap: the delta-method interval


def test_window_trend_on_a_steady_decline_is_clear_under_every_model():
    rng = np.random.default_rng(2)
    counts = rng.poisson(5000 * np.exp(-0.05 * np.arange(10)))
    w = window.window_trend(counts, JP_YEARS, 2020, 2024, n_permutations=199, n_boot=99, power_series=0)
    assert not w.break_selected and w.support == "all"
    rise = window.window_trend(counts, JP_YEARS, 2020, 2024, direction=1, n_permutations=199, n_boot=0,
                               power_series=0)
    assert rise.support == "none"


def test_window_trend_with_too_few_years_keeps_the_straight_line():
    w = window.window_trend(JP_COUNTS[:6], JP_YEARS[:6], 2016, 2020, n_permutations=99)
    assert w.test is None and w.broken is None and w.defensible == ("straight",)
    assert w.estimate == w.aapc_straight.estimate and "Too few years" in w.verdict
    with pytest.raises(ValueError, match="direction"):
        window.window_trend(JP_COUNTS, JP_YEARS, 2020, 2024, direction=0)


def _noiseless_break(base, s0, s1, tau):
    y = np.asarray(JP_YEARS, float)
    eta = math.log(base) + s0 * (y - y[0]) + (s1 - s0) * np.clip(y - tau, 0, None)
    return np.round(np.exp(eta)).astype(int).tolist()


@settings(max_examples=15)
@given(st.lists(st.integers(200, 3000), min_size=8, max_size=10), st.sampled_from([-1, 1]), st.integers(0, 3))
def test_window_trend_properties(counts, direction, lag):
    years = list(range(2015, 2015 + len(counts)))
    end = years[-1]
    start = end - 1 - lag
    w = window.window_trend(counts, years, start, end, direction=direction, n_permutations=39, n_boot=0,
                            power_series=0)
    assert w.support in ("all", "some", "none")
    for a in (w.aapc_straight, w.aapc_broken):
        assert a.ci[0] <= a.estimate <= a.ci[1]
    assert w.clear_straight == window.clear(*w.aapc_straight.ci, direction)
    assert 0 < w.test.p_value <= 1
