"""Tests of analysis.stats.ytd_model: the cumulative-release model, its projection, shrinkage and backtest.

References are independent of the module: scipy's negative binomial and multinomial pmfs maximised by scipy,
statsmodels' NegativeBinomial and Poisson GLM, brute-force numerical integration of the posterior, exact sums for
the log pmf, and seeded simulations from the generative model written out here (not the module's sampler).
"""

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, optimize, stats
from statsmodels.tools.numdiff import approx_fprime

from analysis.stats import ytd_model as ym

DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], float)


# ---------------------------------------------------------------- independent simulation of the model
def true_curve(coef):
    """S(0..12) written out independently: daily intensity exp(Σ a_j cos(2πj u) + b_j sin(2πj u)) at mid-month."""
    u = (np.arange(12) + 0.5) / 12
    log_w = np.zeros(12)
    for j in range(len(coef) // 2):
        log_w += coef[2 * j] * np.cos(2 * np.pi * (j + 1) * u) + coef[2 * j + 1] * np.sin(2 * np.pi * (j + 1) * u)
    w = DAYS * np.exp(log_w)
    return np.concatenate([[0.0], np.cumsum(w) / w.sum()])


def year_path(rng, level, coef, phi):
    """Cumulative monthly counts of one year: monthly counts gamma–Poisson with mean level·ΔS, variance φ·mean."""
    mean = level * np.diff(true_curve(coef))
    lam = rng.gamma(mean / (phi - 1), phi - 1) if phi > 1 else mean
    return np.cumsum(rng.poisson(lam))


def simulate(rng, years, *, mu0=1500.0, trend=-0.02, tau=0.03, phi=2.0, coef=(0.1, -0.1), max_partial=3,
             derived_every=0):
    """Releases: each year's annual total and 0..max_partial random partial months, published at the end of the
    period; with ``derived_every`` > 0, every such year also gets last year's count at one of its months,
    derived from (and published with) this year's release."""
    ref = float(np.mean(years))
    rel, paths = [], {}
    for y in years:
        level = mu0 * math.exp(trend * (y - ref)) * (rng.gamma(1 / tau ** 2, tau ** 2) if tau > 0 else 1.0)
        cum = year_path(rng, level, coef, phi)
        paths[int(y)] = cum
        months = set(rng.choice(np.arange(1, 12), size=rng.integers(0, max_partial + 1), replace=False).tolist())
        for m in sorted(months | {12}):
            rel.append(ym.Release(int(y), int(m), int(cum[m - 1])))
    if derived_every:
        have = {(r.year, r.last_month) for r in rel}
        for y in list(paths)[1::derived_every]:
            own = sorted(r.last_month for r in rel if r.year == y and r.last_month < 12)
            if own and (y - 1, own[0]) not in have:
                m = own[0]
                rel.append(ym.Release(y - 1, m, int(paths[y - 1][m - 1]), True, y + m / 12, "from a % change"))
    return tuple(rel), paths


@pytest.fixture(scope="module")
def sim_fit():
    """A fit to 12 simulated years with clear between-year variation (interior τ) and φ = 2."""
    rng = np.random.default_rng(11)
    rel, _ = simulate(rng, np.arange(2010, 2022), tau=0.06, phi=2.0)
    return ym.fit_ytd_model(rel, harmonics=1, select_harmonics=False)


# ---------------------------------------------------------------- inputs
def test_make_releases_validates_and_names_the_position():
    ok = ym.make_releases([2020, 2020.0], [3, 12], [300, 1500.0])
    assert [(r.year, r.last_month, r.count) for r in ok] == [(2020, 3, 300), (2020, 12, 1500)]
    assert ok[0].published_at == pytest.approx(2020.25) and ok[1].published_at == pytest.approx(2021.0)
    cases = [
        (([2020], [13], [1]), {}, r"last_month\[0\]"),
        (([2020, 2021], [3, 3], [5, -1]), {}, r"count\[1\]"),
        (([2020], [3], [5.5]), {}, r"count\[0\]"),
        (([2020, 2020], [3, 3], [5, 6]), {}, "two counts for year 2020 month 3"),
        (([2020, 2020], [3, 6], [500, 400]), {}, "falls from 500"),
        (([2020], [3], [5]), {"first_month": [4]}, r"first_month\[0\]"),
        (([2020], [3], [5]), {"derived": ["yes"]}, r"derived\[0\]"),
        (([2020, 2021], [3], [5, 6]), {}, "last_month must have the same length"),
        (([2020], [3], [5]), {"available": [float("inf")]}, r"available\[0\]"),
    ]
    for args, kw, msg in cases:
        with pytest.raises(ValueError, match=msg):
            ym.make_releases(*args, **kw)


def test_derived_from_change_matches_the_arithmetic():
    p = ym.derived_from_change(293, -16.8)
    assert p.count == 352 and p.derived and p.formula == "293 / (1 - 16.8/100) = 352.2 -> 352"
    assert ym.derived_from_change(584, -16.6).count == 700
    assert ym.derived_from_change(462, 11).count == 416
    with pytest.raises(ValueError, match="pct_change"):
        ym.derived_from_change(10, -100)


# ---------------------------------------------------------------- seasonal curve
@given(st.lists(st.floats(-2, 2), min_size=0, max_size=3).map(lambda v: v * 2))
def test_cumulative_share_is_a_monotone_curve_from_0_to_1(coef):
    s = ym.cumulative_share(coef)
    assert s[0] == 0 and s[12] == pytest.approx(1.0)
    assert np.all(np.diff(s) > 0)
    np.testing.assert_allclose(s, true_curve(coef), rtol=1e-12, atol=1e-15)


def test_uniform_curve_is_the_share_of_days():
    np.testing.assert_allclose(ym.cumulative_share([]), np.concatenate([[0], np.cumsum(DAYS) / 365]), atol=1e-15)


# ---------------------------------------------------------------- the negative binomial log pmf
def _nb_exact(c: int, m: float, a: float) -> float:
    """log NB2 for integer c from the exact product Γ(c + r)/Γ(r) = Π (r + k), summed without cancellation."""
    r = 1 / a
    s = math.fsum(math.log1p((k - m) / (r + m)) for k in range(c))
    return s - r * math.log1p(m / r) + c * math.log(m) - math.lgamma(c + 1)


@pytest.mark.parametrize("a", [1.0, 0.05, 1e-3, 2e-4, 9e-5, 1e-6, 1e-8, 1.5e-9, 5e-10, 1e-12, 1e-15])
def test_nb_loglik_is_exact_for_every_dispersion(a):
    c = np.array([0, 1, 7, 150, 1423, 1723])
    m = np.array([0.5, 3.0, 9.0, 140.0, 1400.0, 1650.0])
    ll, _, _ = ym._nb_loglik(c.astype(float), m, a)
    ref = [_nb_exact(int(ci), mi, a) for ci, mi in zip(c, m)]
    np.testing.assert_allclose(ll, ref, rtol=0, atol=1e-9)
    if a >= 1e-4:
        np.testing.assert_allclose(ll, stats.nbinom.logpmf(c, 1 / a, 1 / (1 + a * m)), atol=1e-9)


def test_nb_loglik_at_zero_dispersion_is_poisson():
    c, m = np.array([0.0, 3.0, 1500.0]), np.array([1.0, 2.5, 1480.0])
    np.testing.assert_allclose(ym._nb_loglik(c, m, 0.0)[0], stats.poisson.logpmf(c, m), atol=1e-12)


@pytest.mark.parametrize("a", [0.3, 1e-3, 5e-5, 1e-7, 3e-10])
def test_nb_loglik_derivatives_match_finite_differences(a):
    c, m = np.array([3.0, 150.4, 1723.0]), np.array([5.0, 140.0, 1650.0])
    _, dlogm, da = ym._nb_loglik(c, m, a)
    h = a * 1e-3
    num_a = (ym._nb_loglik(c, m, a + h)[0] - ym._nb_loglik(c, m, a - h)[0]) / (2 * h)
    np.testing.assert_allclose(da, num_a, rtol=1e-4)
    e = 1e-6
    num_m = (ym._nb_loglik(c, m * math.exp(e), a)[0] - ym._nb_loglik(c, m * math.exp(-e), a)[0]) / (2 * e)
    np.testing.assert_allclose(dlogm, num_m, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("cox_reid", [False, True])
def test_analytic_gradient_matches_numerical(cox_reid):
    rel, _ = simulate(np.random.default_rng(3), np.arange(2012, 2022), tau=0.05, coef=(0.1, -0.1, 0.05, 0.02))
    data = ym._layout(ym.check_releases(rel))
    model = ym._Model(data, 1, 2, float(np.mean(data.years)), cox_reid=cox_reid)
    for theta in ([7.3, -0.02, 0.05, 0.1, -0.1, 0.0, 0.1], [7.2, 0.01, 1e-6, -0.2, 0.1, 0.1, 0.0]):
        th = np.array(theta)
        g = model.loglik(th, 1.7, grad=True)[1]
        num = approx_fprime(th, lambda t: model.loglik(t, 1.7), centered=True)
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-4)


# ---------------------------------------------------------------- the fit against independent references
def _cols(rel):
    by = {}
    for r in rel:
        by.setdefault(r.year, []).append(r)
    return {y: sorted(v, key=lambda r: r.last_month) for y, v in sorted(by.items())}


def test_full_fit_equals_an_independent_maximum_likelihood():
    """φ fixed at 1: the module's MLE equals scipy's NB × multinomial likelihood maximised by Nelder–Mead."""
    rel, _ = simulate(np.random.default_rng(5), np.arange(2014, 2024), tau=0.08, phi=1.0)
    fit = ym.fit_ytd_model(rel, harmonics=1, select_harmonics=False, within_dispersion=1.0, between_method="ml")
    by = _cols(rel)
    ref_year = np.mean(list(by))

    def nll(p):
        b0, b1, log_a, ca, sb = p
        a = math.exp(log_a)
        s = true_curve([ca, sb])
        total = 0.0
        for y, rs in by.items():
            mu = math.exp(b0 + b1 * (y - ref_year)) * s[rs[-1].last_month]
            total += stats.nbinom.logpmf(rs[-1].count, 1 / a, 1 / (1 + a * mu))
            months = [0] + [r.last_month for r in rs]
            counts = [0] + [r.count for r in rs]
            if len(rs) > 1:
                p_inc = np.diff(s[months]) / s[months[-1]]
                total += stats.multinomial.logpmf(np.diff(counts), counts[-1], p_inc)
        return -total

    start = [math.log(1500), 0.0, math.log(0.01), 0.0, 0.0]
    res = optimize.minimize(nll, start, method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 40000, "maxfev": 40000})
    b0, b1, log_a, ca, sb = res.x
    p = fit.params
    np.testing.assert_allclose([p[0], p[1], p[3], p[4]], [b0, b1, ca, sb], atol=2e-5)
    assert fit.nb_alpha == pytest.approx(math.exp(log_a), rel=2e-3)
    assert fit.llf == pytest.approx(-res.fun, abs=1e-6)


def test_year_level_part_equals_statsmodels_negative_binomial():
    """Seasonal curve fixed (uniform per day), φ = 1, plain ML: β and α are statsmodels' NB2 MLE."""
    rel, _ = simulate(np.random.default_rng(8), np.arange(2010, 2024), tau=0.08, phi=1.0)
    fit = ym.fit_ytd_model(rel, harmonics=0, within_dispersion=1.0, between_method="ml")
    by = _cols(rel)
    years = np.array(list(by), float)
    last = np.array([rs[-1].count for rs in by.values()])
    s = true_curve([])[[rs[-1].last_month for rs in by.values()]]
    X = np.column_stack([np.ones_like(years), years - years.mean()])
    ref = sm.NegativeBinomial(last, X, loglike_method="nb2", offset=np.log(s)).fit(disp=0, maxiter=500)
    np.testing.assert_allclose(fit.params[:2], ref.params[:2], rtol=1e-6)
    assert fit.nb_alpha == pytest.approx(ref.params[2], rel=1e-4)
    np.testing.assert_allclose(fit.bse[:2], ref.bse[:2], rtol=1e-3)
    assert fit.trend_pct == pytest.approx(100 * math.expm1(ref.params[1]), rel=1e-6)


def test_year_level_part_at_the_fitted_curve_equals_statsmodels():
    """With two harmonics: at the fitted curve the trend and α maximise statsmodels' NB2 likelihood alone."""
    rel, _ = simulate(np.random.default_rng(9), np.arange(2010, 2024), tau=0.07, phi=1.0,
                      coef=(0.1, -0.1, 0.05, -0.1))
    fit = ym.fit_ytd_model(rel, harmonics=2, select_harmonics=False, within_dispersion=1.0, between_method="ml")
    by = _cols(rel)
    years = np.array(list(by), float)
    last = np.array([rs[-1].count for rs in by.values()])
    s = fit.curve()[[rs[-1].last_month for rs in by.values()]]
    X = np.column_stack([np.ones_like(years), years - years.mean()])
    ref = sm.NegativeBinomial(last, X, loglike_method="nb2", offset=np.log(s)).fit(disp=0, maxiter=500)
    np.testing.assert_allclose(fit.params[:2], ref.params[:2], rtol=1e-6)
    assert fit.nb_alpha == pytest.approx(ref.params[2], rel=1e-4)


def test_cox_reid_estimate_equals_an_independent_adjusted_likelihood():
    """Cox–Reid: maximise scipy's NB2 log-likelihood − ½ log det(X'WX), W = μ/(1 + αμ), by Nelder–Mead."""
    rel, _ = simulate(np.random.default_rng(8), np.arange(2010, 2024), tau=0.08, phi=1.0)
    fit = ym.fit_ytd_model(rel, harmonics=0, within_dispersion=1.0, between_method="cox-reid")
    ml = ym.fit_ytd_model(rel, harmonics=0, within_dispersion=1.0, between_method="ml")
    by = _cols(rel)
    years = np.array(list(by), float)
    last = np.array([rs[-1].count for rs in by.values()])
    off = np.log(true_curve([])[[rs[-1].last_month for rs in by.values()]])
    X = np.column_stack([np.ones_like(years), years - years.mean()])

    def neg(p):
        b, a = p[:2], math.exp(p[2])
        mu = np.exp(X @ b + off)
        w = mu / (1 + a * mu)
        ll = stats.nbinom.logpmf(last, 1 / a, 1 / (1 + a * mu)).sum()
        return -(ll - 0.5 * np.linalg.slogdet(X.T @ (w[:, None] * X))[1])

    res = optimize.minimize(neg, [ml.params[0], ml.params[1], math.log(ml.nb_alpha)], method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    assert fit.nb_alpha == pytest.approx(math.exp(res.x[2]), rel=1e-3)
    assert fit.nb_alpha > ml.nb_alpha  # the adjustment corrects ML's downward bias


def test_within_year_dispersion_is_the_pearson_statistic_of_a_poisson_glm():
    """φ = Pearson χ²/df of the splits = that of a Poisson GLM with a level per year and offset log ΔS."""
    rel, _ = simulate(np.random.default_rng(4), np.arange(2010, 2022), tau=0.03, phi=2.5, max_partial=4)
    fit = ym.fit_ytd_model(rel, harmonics=1, select_harmonics=False)
    s = fit.curve()
    rows = []
    for y, rs in _cols(rel).items():
        prev_m, prev_c = 0, 0
        for r in rs:
            rows.append({"year": y, "d": r.count - prev_c, "p": s[r.last_month] - s[prev_m]})
            prev_m, prev_c = r.last_month, r.count
    df = pd.DataFrame(rows)
    X = pd.get_dummies(df["year"].astype(str), dtype=float)
    glm = sm.GLM(df["d"], X, family=sm.families.Poisson(), offset=np.log(df["p"])).fit()
    assert fit.phi_chi2 == pytest.approx(glm.pearson_chi2, rel=1e-9)
    assert fit.phi_df == glm.df_resid - 2  # two seasonal coefficients
    assert fit.phi == pytest.approx(max(1.0, glm.pearson_chi2 / (glm.df_resid - 2)), rel=1e-6)
    assert fit.phi_pvalue == pytest.approx(stats.chi2.sf(glm.pearson_chi2, glm.df_resid - 2))


def test_harmonics_are_chosen_by_quasi_aic():
    rng = np.random.default_rng(21)
    flat, _ = simulate(rng, np.arange(2005, 2025), coef=(), phi=1.5, max_partial=5)
    wiggly, _ = simulate(rng, np.arange(2005, 2025), coef=(0.2, -0.2, 0.25, 0.2), phi=1.5, max_partial=5)
    f0 = ym.fit_ytd_model(flat, harmonics=2)
    f2 = ym.fit_ytd_model(wiggly, harmonics=2)
    assert f0.harmonics_used == 0 and f2.harmonics_used == 2
    assert [k for k, _ in f2.harmonics_qaic] == [0, 1, 2]
    assert min(f2.harmonics_qaic, key=lambda kv: kv[1])[0] == 2


def test_sparse_splits_reduce_the_harmonics_and_too_few_years_raise():
    rel = ym.make_releases([2018, 2018, 2019, 2019, 2020], [6, 12, 6, 12, 12], [800, 1600, 780, 1580, 1550])
    fit = ym.fit_ytd_model(rel, harmonics=2)
    assert fit.harmonics_used == 0 and "at most 0 harmonic" in fit.notes[0]
    with pytest.raises(ValueError, match="cannot identify a degree-1 trend"):
        ym.fit_ytd_model(rel[:4])
    with pytest.raises(ValueError, match="min_within_df"):
        ym.fit_ytd_model(rel, min_within_df=5)


# ---------------------------------------------------------------- posterior, projection, shrinkage
def brute_force_posterior(a, mu, s, phi, c):
    """Mean and 2.5% quantile of the level's posterior by numerical integration: gamma prior (mean μ, CV √a)
    times the over-dispersed Poisson likelihood of c/φ with mean λ·s/φ."""

    def log_kernel(lam):
        return stats.gamma.logpdf(lam, 1 / a, scale=a * mu) + (c / phi) * np.log(lam * s / phi) - lam * s / phi

    mode = optimize.minimize_scalar(lambda x: -log_kernel(x), bounds=(1, 10 * mu), method="bounded").x
    top = log_kernel(mode)
    lo, hi = 0.3 * mode, 3 * mode

    def dens(x):
        return np.exp(log_kernel(x) - top)

    z = integrate.quad(dens, lo, hi, points=[mode], limit=200)[0]
    mean = integrate.quad(lambda x: x * dens(x), lo, hi, points=[mode], limit=200)[0] / z
    q025 = optimize.brentq(lambda q: integrate.quad(dens, lo, q, limit=200)[0] / z - 0.025, lo, hi)
    return mean, q025


def test_level_posterior_equals_brute_force_integration(sim_fit):
    fit = sim_fit
    assert fit.estimate > 0.01  # interior between-year variance
    a, mu, phi = fit.nb_alpha, fit.level(2022), fit.phi
    for months, c in [(3, 300), (6, 800), (9, 1000)]:
        post = ym.level_posterior(fit, 2022, months, c)
        s = fit.curve()[months]
        mean, q025 = brute_force_posterior(a, mu, s, phi, c)
        assert post.estimate == pytest.approx(mean, rel=1e-6)
        assert post.ci[0] == pytest.approx(q025, rel=1e-5)
        assert 0 < post.weight < 1
        # the posterior mean is the credibility-weighted average of the year's own rate and the trend
        assert post.estimate == pytest.approx(post.weight * c / s + (1 - post.weight) * mu, rel=1e-10)


def test_predictive_draws_equal_the_closed_form_negative_binomial():
    """No parameter uncertainty and φ = 1: the remaining count is NB(1/α + c, rate/(rate + ΔS))."""
    rel, _ = simulate(np.random.default_rng(12), np.arange(2010, 2022), tau=0.06, phi=1.0)
    fit = ym.fit_ytd_model(rel, harmonics=1, select_harmonics=False, within_dispersion=1.0)
    fixed = dataclasses.replace(fit, cov=tuple(tuple(0.0 for _ in row) for row in fit.cov))
    c, m = 350, 3
    pi = ym.predictive_intervals(fixed, 2022, m, [c], 12, n_draws=200_000, seed=3).iloc[0]
    s, a, mu = fit.curve(), fit.nb_alpha, fit.level(2022)
    shape, rate = 1 / a + c, 1 / (a * mu) + s[m]
    ref = stats.nbinom(shape, rate / (rate + s[12] - s[m]))
    assert pi["point"] == pytest.approx(c + ref.mean(), rel=1e-10)
    assert pi["lower"] == pytest.approx(c + ref.ppf(0.025), abs=3)
    assert pi["upper"] == pytest.approx(c + ref.ppf(0.975), abs=3)
    assert pi["median"] == pytest.approx(c + ref.median(), abs=2)


@given(st.integers(1, 11), st.integers(0, 11), st.floats(-0.3, 0.3))
def test_shrinkage_is_between_zero_and_one_and_is_what_the_projection_does(sim_fit, months, extra, dev):
    fit = sim_fit
    t = min(12, months + extra)
    s, mu = fit.curve(), fit.level(2022)
    c = max(0, round(mu * s[months] * (1 + dev)))
    sh = ym.early_change_shrinkage(fit, 2022, months, t, ytd_count=c, n_draws=2000)
    assert 0 <= sh.weight < 1
    if t > months:
        assert 0 < sh.estimate < 1
    else:
        assert sh.estimate == pytest.approx(1.0)
    assert sh.ci[0] <= sh.estimate <= sh.ci[1] and sh.weight_ci[0] <= sh.weight <= sh.weight_ci[1]
    # κ·δ is exactly the relative deviation of the projected mean from the trend expectation at t
    point = ym._point(fit, 2022, months, t, c)
    assert point / (mu * s[t]) - 1 == pytest.approx(sh.estimate * (c / (mu * s[months]) - 1), abs=1e-12)


@given(st.integers(1, 10), st.floats(-0.25, 0.25))
def test_interval_contains_the_point_and_narrows_with_more_months(sim_fit, months, dev):
    fit = sim_fit
    s, mu = fit.curve(), fit.level(2022)
    widths = []
    for m in (months, months + 1):
        pi = ym.predictive_intervals(fit, 2022, m, [round(mu * s[m] * (1 + dev))], 12, n_draws=4000, seed=5).iloc[0]
        assert pi["lower"] <= pi["point"] <= pi["upper"]
        widths.append(pi["upper"] - pi["lower"])
    assert widths[1] < widths[0]


def test_projection_result_and_previous_year_sources(sim_fit):
    # the last year with a partial count is the "previous year"; later years are dropped
    last = max(r.year for r in sim_fit.releases if r.last_month < 12)
    fit = ym.fit_ytd_model([r for r in sim_fit.releases if r.year <= last], harmonics=1, select_harmonics=False)
    own = fit.counts_of(last)
    # a given previous count, derived from a published percent
    prev = ym.derived_from_change(1400, 5.0)
    p = ym.project_ytd(fit, last + 1, 3, 300, 12, previous_count=prev, ytd_change_pct=-10.0, n_draws=5000)
    assert p.change.previous_source == "given" and p.change.previous_derived
    assert p.change.previous_formula == prev.formula
    assert p.change.previous_ytd_count == 333 and p.change.ytd_change_pct == pytest.approx(100 * (300 / 333 - 1))
    assert p.ci[0] <= p.estimate <= p.ci[1] and p.change.ci[0] <= p.change.estimate <= p.change.ci[1]
    assert p.change.estimate == pytest.approx(100 * (p.estimate / prev.count - 1))
    assert p.remaining == pytest.approx(p.estimate - 300)
    # the previous year's annual count from the releases
    p12 = ym.project_ytd(fit, last + 1, 3, 300, 12, n_draws=5000)
    assert p12.change.previous_source == "count in the releases" and p12.change.previous_count == own[12].count
    # a previous-year month that was never published is bridged by the model, and its spread widens the interval
    gap = next(m for m in range(1, 12) if m not in own and any(k < m for k in own))
    pg = ym.project_ytd(fit, last + 1, 1, 100, gap, n_draws=5000)
    assert pg.change.previous_source.startswith("model estimate (bridged between month")
    lo_m = max(k for k in own if k < gap)
    assert own[lo_m].count < pg.change.previous_count < own[min(k for k in own if k > gap)].count
    same = ym.project_ytd(fit, last + 1, 1, 100, gap, previous_count=pg.change.previous_count, n_draws=5000)
    assert np.diff(pg.change.ci)[0] > np.diff(same.change.ci)[0]
    # a fit that already holds this year's later counts is refused
    with pytest.raises(ValueError, match="refit without them"):
        ym.project_ytd(fit, last, 3, 300)
    with pytest.raises(ValueError, match="target_months must be >= months"):
        ym.project_ytd(fit, last + 1, 6, 300, 3)
    json.dumps(p.to_dict())
    assert "YtdProjection" in p.summary() and p.conf_int() == p.ci
    assert "project to" in p.verdict and "survives" in p.shrinkage.verdict and p.share_months.month == 3


def test_seasonal_share_interval_and_years(sim_fit):
    sh = sim_fit.share(6)
    assert sh.ci[0] < sh.estimate < sh.ci[1]
    assert set(sh.years_at_month) == {r.year for r in sim_fit.releases if r.last_month == 6}
    assert sh.split_years == sim_fit.split_years
    assert sim_fit.share(12).ci == (1.0, 1.0)
    tab = sim_fit.shares(n_draws=2000, seed=3)
    assert list(tab["month"]) == list(range(13)) and np.all(np.diff(tab["share"]) > 0)
    for m in (2, 6, 11):  # one set of draws for the table gives each month's own interval
        one = sim_fit.share(m, n_draws=2000, seed=3)
        assert tab.loc[m, ["share", "lower", "upper"]].tolist() == [one.estimate, *one.ci]
        assert tab.loc[m, "n_years_at_month"] == len(one.years_at_month)


# ---------------------------------------------------------------- scoring
def test_interval_score_formula_and_propriety():
    assert ym.interval_score(10, 20, 15, 0.1) == pytest.approx(10)
    assert ym.interval_score(10, 20, 5, 0.1) == pytest.approx(10 + 20 * 5)
    assert ym.interval_score(10, 20, 25, 0.1) == pytest.approx(10 + 20 * 5)
    # proper: the expected score over a normal outcome is smallest at its 5% and 95% quantiles
    x = stats.norm.ppf((np.arange(20000) + 0.5) / 20000)
    hs = np.linspace(1.2, 2.2, 101)
    best = hs[np.argmin([ym.interval_score(-h, h, x, 0.1).mean() for h in hs])]
    assert best == pytest.approx(stats.norm.ppf(0.95), abs=0.011)
    with pytest.raises(ValueError, match="upper must be >= lower"):
        ym.interval_score(2, 1, 1, 0.1)


def test_years_coverage_counts_one_trial_per_year():
    rows = pd.DataFrame({"year": [2001, 2001, 2002, 2003, 2003, 2004], "origin": [2, 1, 3, 5, 4, 6],
                         "covered": [True, False, True, True, True, False]})
    k, n, ci = ym.years_coverage(rows)
    assert (k, n) == (2, 4)  # 2001's earliest origin missed, 2002 and 2003 covered, 2004 missed
    ref = stats.binomtest(2, 4).proportion_ci(0.95, method="exact")
    assert ci == pytest.approx((ref.low, ref.high))
    assert ym.years_coverage(rows, rule="all")[:2] == (2, 4)


# ---------------------------------------------------------------- backtest
@pytest.fixture(scope="module")
def bt_releases():
    rel, _ = simulate(np.random.default_rng(17), np.arange(2008, 2022), tau=0.04, phi=2.0, max_partial=3,
                      derived_every=2)
    return rel


@pytest.fixture(scope="module")
def backtest(bt_releases):
    return ym.backtest_ytd(bt_releases, harmonics=1, select_harmonics=False, n_draws=2000)


def test_backtest_is_rolling_origin_without_leaks(bt_releases, backtest):
    rows = backtest.rows.set_index(["year", "months"])
    assert not rows.index.duplicated().any()
    expected = {(r.year, r.last_month) for r in bt_releases if r.last_month < 12
                and any(q.year == r.year and q.last_month == 12 for q in bt_releases)}
    assert set(rows.index) == expected
    # every fit used only what was public before its origin: fewer releases at earlier origins
    fitted = backtest.rows[backtest.rows["status"] == "ok"].sort_values("origin")
    for r in fitted.itertuples():
        assert r.n_fit_releases == sum(q.published_at < r.origin - 1e-9 for q in bt_releases)
    # changing the last annual count (public only at the very end) leaves every earlier row unchanged
    last = max(bt_releases, key=lambda r: r.published_at)
    bumped = tuple(dataclasses.replace(r, count=r.count + 400) if r is last else r for r in bt_releases)
    other = ym.backtest_ytd(bumped, harmonics=1, select_harmonics=False, n_draws=2000).rows
    before = backtest.rows["origin"] < last.published_at
    cols = ["point", "lower", "upper", "carried_point", "uniform_point"]
    pd.testing.assert_frame_equal(backtest.rows.loc[before, cols].reset_index(drop=True),
                                  other.loc[before.to_numpy(), cols].reset_index(drop=True))
    # a derived count is never in a fit before the release it was derived from
    derived = [r for r in bt_releases if r.derived]
    assert derived
    for d in derived:
        origin = d.year + d.last_month / 12
        assert d.published_at > origin and sum(q.published_at < origin for q in bt_releases) < len(bt_releases)


def test_backtest_scores_and_coverage_are_consistent(backtest):
    rows = backtest.rows
    ok = rows[rows["status"] == "ok"]
    assert backtest.n_rows == len(ok) and backtest.rows_covered == int(ok["covered"].astype(bool).sum())
    k, n, ci = ym.years_coverage(ok.assign(covered=ok["covered"].astype(bool)))
    assert (backtest.covered_years, backtest.n_years, backtest.ci) == (k, n, ci)
    np.testing.assert_allclose(ok["score"], ym.interval_score(ok["lower"], ok["upper"], ok["actual"], 0.05))
    for kind in ("carried", "uniform"):
        has = rows[f"{kind}_lower"].notna()
        assert (rows.loc[has, f"{kind}_k"] >= 2).all()
        assert (rows.loc[has, f"{kind}_lower"] <= rows.loc[has, f"{kind}_point"]).all()
    uni = rows["uniform_point"].notna()
    np.testing.assert_allclose(rows.loc[uni, "uniform_point"], rows.loc[uni, "ytd_count"] * 12 / rows.loc[uni, "months"])
    common = rows[rows[["score", "carried_score", "uniform_score"]].notna().all(axis=1)]
    sc = backtest.scores.set_index("method")
    assert sc.loc["model", "common_rows"] == len(common) == backtest.n_common
    assert sc.loc["model", "mean_score_by_year"] == pytest.approx(common.groupby("year")["score"].mean().mean())
    json.dumps(backtest.to_dict())
    assert "Clopper–Pearson" in backtest.verdict


def test_backtest_needs_publication_times_and_can_skip_derived_origins(bt_releases):
    no_time = tuple(dataclasses.replace(r, available=None) if r.derived else r for r in bt_releases)
    with pytest.raises(ValueError, match="no 'available' time"):
        ym.backtest_ytd(no_time)
    pub = ym.backtest_ytd(bt_releases, harmonics=1, select_harmonics=False, n_draws=500, derived_origins=False)
    assert not pub.rows["ytd_derived"].any()
    none = ym.backtest_ytd(ym.make_releases([2020, 2020, 2021], [3, 12, 12], [300, 1500, 1400]))
    assert (none.n_rows, none.n_skipped) == (0, 1) and none.verdict == "No release could be backtested."


# ---------------------------------------------------------------- calibration
def test_projection_intervals_are_calibrated():
    """Seeded simulation from the generative model (NB between years, NB1 within, known one-harmonic curve):
    95% projection intervals of a new year's annual count from its count at month 2, 3, 6 or 9 cover 93–97%.

    100 data sets of 12 years, 12 new years each (1,200 intervals; a vectorised projection per origin month).
    Under exact calibration the binomial SE is 0.63%; rows sharing a fit are mildly correlated (offline with 400
    data sets: clustered SE 1.2× the binomial one, coverage 95.7%), so 93–97% is about ±2.6 SE: a real miss of
    3 points fails, chance does not. About 2 s."""
    rng = np.random.default_rng(20250401)
    years = np.arange(2013, 2025)
    hits = []
    for rep in range(100):
        rel, _ = simulate(rng, years, tau=0.03, phi=2.5)
        fit = ym.fit_ytd_model(rel, harmonics=1, select_harmonics=False)
        ref = float(np.mean(years))
        new = [year_path(rng, 1500 * math.exp(-0.02 * (2025 - ref)) * rng.gamma(1 / 0.03 ** 2, 0.03 ** 2),
                         (0.1, -0.1), 2.5) for _ in range(12)]
        for j, m in enumerate((2, 3, 6, 9)):
            group = new[j::4]
            pi = ym.predictive_intervals(fit, 2025, m, [int(p[m - 1]) for p in group], 12, n_draws=2000,
                                         seed=rep * 10 + j)
            hits += [lo <= p[11] <= hi for lo, hi, p in zip(pi["lower"], pi["upper"], group)]
    coverage = float(np.mean(hits))
    assert 0.93 <= coverage <= 0.97, coverage


def test_fit_result_serialises_and_reads(sim_fit):
    d = sim_fit.to_dict()
    json.dumps(d)
    assert d["param_names"][:3] == ["log_level", "trend_1", "tau"]
    assert sim_fit.conf_int() == sim_fit.ci and sim_fit.p_value == sim_fit.phi_pvalue
    assert "between-year CV" in sim_fit.verdict and "S(3) =" in sim_fit.verdict
    cov = np.array(sim_fit.cov)
    assert np.allclose(cov, cov.T) and np.all(np.linalg.eigvalsh(cov) > 0)
    np.testing.assert_allclose(sim_fit.bse, np.sqrt(np.diag(cov)))
