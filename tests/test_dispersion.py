"""Over-dispersion of an annual series: quasi-Poisson φ and NB α against independent fits; quarterly carry-over."""

import json

import numpy as np
import pytest
import statsmodels.api as sm
from reference import poisson_loglinear_mle
from scipy import stats

from analysis.stats.dispersion import (
    design,
    estimate_dispersion,
    fit_nb_alpha_moments,
    leave_one_out_dispersion,
    negbin_dispersion,
    quarterly_phi,
)

YEARS = list(range(2000, 2025))


def _nb_series(phi, seed, base=1500.0, slope=-0.03):
    rng = np.random.default_rng(seed)
    y = np.array(YEARS, dtype=float)
    mu = base * np.exp(slope * (y - y[0]))
    if phi == 1:
        return rng.poisson(mu).tolist()
    return rng.negative_binomial(mu / (phi - 1), 1 / phi).tolist()  # mean mu, variance phi * mu


def _independent_pearson_phi(counts, years, exposure=None):
    """Pearson χ²/df by hand around an independent scipy Poisson fit."""
    y = np.asarray(counts, float)
    mu = poisson_loglinear_mle(counts, years, exposure)[2]
    return np.sum((y - mu) ** 2 / mu) / (len(y) - 2)


def test_phi_matches_independent_pearson_computation():
    counts = _nb_series(3.0, seed=11)
    r = estimate_dispersion(counts, YEARS)
    assert r.estimate == pytest.approx(_independent_pearson_phi(counts, YEARS), rel=1e-5)
    assert r.df_resid == len(YEARS) - 2
    x2 = r.estimate * r.df_resid
    assert r.p_value == pytest.approx(stats.chi2.sf(x2, r.df_resid), rel=1e-12)
    assert r.ci == pytest.approx((x2 / stats.chi2.ppf(0.975, 23), x2 / stats.chi2.ppf(0.025, 23)), rel=1e-12)
    assert r.ci[0] < r.estimate < r.ci[1]
    json.dumps(r.to_dict(), allow_nan=False)
    assert "quasi-Poisson" in r.verdict and "NB" in r.verdict


def test_nb_alpha_matches_statsmodels_discrete_negative_binomial():
    counts = _nb_series(4.0, seed=3)
    r = estimate_dispersion(counts, YEARS)
    y = np.array(YEARS, float)
    X = np.column_stack([np.ones_like(y), y - y.mean()])
    ref = sm.NegativeBinomial(np.asarray(counts, float), X, loglike_method="nb2").fit(disp=0, maxiter=500)
    assert r.nb_alpha == pytest.approx(float(ref.params[-1]), rel=1e-4)
    assert r.nb_phi_at_mean == pytest.approx(1 + r.nb_alpha * np.mean(counts), rel=1e-9)
    assert not r.nb_at_boundary


def test_simulated_dispersion_is_recovered_roughly():
    over = estimate_dispersion(_nb_series(4.0, seed=5), YEARS)
    assert over.ci[0] <= 4.0 <= over.ci[1] and over.estimate > 2 and over.p_value < 0.01
    pois = estimate_dispersion(_nb_series(1, seed=5), YEARS)
    assert pois.ci[0] <= 1.0 <= pois.ci[1] and pois.estimate < 2


def test_exposure_offset_is_used():
    # Counts proportional (up to ±2) to a wiggly workforce: constant rate -> tiny dispersion around the rate
    # trend, but huge dispersion around a trend in the raw counts.
    workers = [5e6, 6e6, 5.5e6, 7e6, 6.2e6, 6.8e6, 6.1e6, 7.5e6]
    counts = [int(w / 5000) + k for w, k in zip(workers, [1, -2, 0, 1, -1, 2, 0, -1], strict=True)]
    yrs = list(range(2017, 2025))
    with_off = estimate_dispersion(counts, yrs, exposure=workers)
    without = estimate_dispersion(counts, yrs)
    assert with_off.estimate < 0.05 and without.estimate > 10
    assert with_off.estimate == pytest.approx(_independent_pearson_phi(counts, yrs, workers), rel=1e-4)
    assert without.estimate == pytest.approx(_independent_pearson_phi(counts, yrs), rel=1e-5)
    assert with_off.nb_at_boundary and with_off.nb_alpha == 0.0


def test_missing_counts_are_dropped_with_a_note():
    counts = _nb_series(2.0, seed=9)
    gappy = [float(c) for c in counts]
    gappy[4] = float("nan")
    gappy[10] = None
    r = estimate_dispersion(gappy, YEARS)
    keep = [i for i in range(len(YEARS)) if i not in (4, 10)]
    ref = estimate_dispersion([counts[i] for i in keep], [YEARS[i] for i in keep])
    assert r.estimate == pytest.approx(ref.estimate, rel=1e-12)
    assert r.n_years == len(YEARS) - 2 and 2004.0 not in r.years
    assert any("2004" in n and "2010" in n for n in r.notes)


def test_quarterly_phi_under_both_assumptions():
    q = quarterly_phi(3.0, 1500.0)
    assert q.phi_quasi_poisson == 3.0
    assert q.nb_alpha == pytest.approx(2.0 / 1500)
    assert q.quarterly_mean == 375.0
    assert q.phi_negbin == pytest.approx(1 + 2.0 / 1500 * 375)  # = 1.5
    assert q.phi_negbin < q.phi_quasi_poisson
    assert "proportional" in q.assumptions and "μ + α·μ²" in q.assumptions
    g = quarterly_phi(3.0, 1500.0, quarterly_mean=350.0, nb_alpha=0.001)
    assert g.phi_negbin == pytest.approx(1.35) and g.alpha_source == "given"
    low = quarterly_phi(0.7, 1500.0)
    assert low.nb_alpha == 0.0 and low.phi_negbin == 1.0 and "floored" in low.alpha_source
    # Annual NB with the same alpha reproduces the annual phi at the annual mean
    assert 1 + q.nb_alpha * q.annual_mean == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: estimate_dispersion([], []), "counts"),
        (lambda: estimate_dispersion([1, 2, 3], [2020, 2021]), "years.*length 2"),
        (lambda: estimate_dispersion([1, -2, 3], [2020, 2021, 2022]), r"counts\[1\].*-2"),
        (lambda: estimate_dispersion([1, 2.5, 3], [2020, 2021, 2022]), r"counts\[1\].*2.5"),
        (lambda: estimate_dispersion([1, 2, 3], [2020, 2020, 2022]), "years.*2020"),
        (lambda: estimate_dispersion([1, float("nan"), 3], [2020, 2021, 2022]), "at least 3.*got 2"),
        (lambda: estimate_dispersion([1, 2, 3], [2020, 2021, 2022], exposure=[1, 0, 1]), r"exposure\[1\].*0"),
        (lambda: estimate_dispersion([1, 2, 3], [2020, 2021, 2022], exposure=[1, 1]), "exposure.*length 2"),
        (lambda: estimate_dispersion([1, 2, 3], [2020, 2021, 2022], alpha=0), "alpha.*0"),
        (lambda: quarterly_phi(0, 100), "phi_annual.*0"),
        (lambda: quarterly_phi(2, -100), "annual_mean.*-100"),
        (lambda: quarterly_phi(2, 100, nb_alpha=-0.1), "nb_alpha.*-0.1"),
        (lambda: leave_one_out_dispersion([1, 2, 3], [2020, 2021, 2022]), "at least 4"),
        (lambda: negbin_dispersion([1, -2, 3, 4], [2020, 2021, 2022, 2023]), r"counts\[1\].*-2"),
    ],
)
def test_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# ---------------------------------------------------------------------------------- NB α by moments; one year out
def test_nb_alpha_by_moments_intercept_only_has_a_closed_form():
    """With an intercept only the NB2 fit's mean is ȳ for every α, so Pearson χ²(α) = n - 1 solves to
    α = (s² - ȳ) / ȳ² with s² the sample variance (Breslow's moment estimator)."""
    y = np.array([1723, 1683, 1679, 1568, 1430, 1503, 1465, 1465, 1474, 1408], float)
    a, boundary = fit_nb_alpha_moments(y, np.ones((len(y), 1)))
    s2, m = y.var(ddof=1), y.mean()
    assert not boundary and a == pytest.approx((s2 - m) / m**2, rel=1e-8)
    flat = np.array([100, 101, 99, 100, 100], float)  # under-dispersed: Pearson χ²/df < 1 already at α = 0
    assert fit_nb_alpha_moments(flat, np.ones((5, 1))) == (0.0, True)


def test_nb_alpha_by_moments_sets_the_nb_pearson_statistic_to_its_df():
    counts = _nb_series(3.0, seed=21)
    r = negbin_dispersion(counts, YEARS)
    X = design(np.array(YEARS, float))
    with np.errstate(all="ignore"):
        fit = sm.GLM(np.asarray(counts, float), X, family=sm.families.NegativeBinomial(alpha=r.alpha_moments)).fit()
    assert float(fit.pearson_chi2) / fit.df_resid == pytest.approx(1.0, abs=1e-8)
    assert r.alpha_ml == pytest.approx(estimate_dispersion(counts, YEARS).nb_alpha, rel=1e-12)
    assert r.estimate == r.alpha_moments and r.headline == "moments"
    assert r.phi_at(375) == pytest.approx(1 + r.alpha_moments * 375) and "moment" in r.verdict


def test_nb_moments_on_the_ministry_series_exceed_ml():
    """The project's series: α by moments 5.9e-4 (φ ≈ 1.21 at 352), ML 3.6e-4 (φ ≈ 1.13)."""
    y = [1723, 1683, 1679, 1568, 1430, 1503, 1465, 1465, 1474, 1408]
    r = negbin_dispersion(y, range(2015, 2025))
    assert r.alpha_moments == pytest.approx(5.93e-4, rel=5e-3) and r.alpha_ml == pytest.approx(3.60e-4, rel=5e-3)
    assert r.phi_at(352) == pytest.approx(1.209, abs=1e-3) and r.phi_at(352, "ml") == pytest.approx(1.127, abs=1e-3)


def test_leave_one_year_out_matches_refits_and_finds_2019():
    y = [1723, 1683, 1679, 1568, 1430, 1503, 1465, 1465, 1474, 1408]
    yrs = list(range(2015, 2025))
    loo = leave_one_out_dispersion(y, yrs)
    for i in (0, 4, 9):
        keep = [j for j in range(10) if j != i]
        ref = _independent_pearson_phi([y[j] for j in keep], [yrs[j] for j in keep])
        assert loo.phi_without[i] == pytest.approx(ref, rel=1e-5)
    assert loo.estimate == pytest.approx(estimate_dispersion(y, yrs).estimate, rel=1e-10)
    assert loo.most_influential == 2019 and loo.without(2019) == pytest.approx(0.618, abs=1e-3)
    assert loo.range == pytest.approx((0.618, 2.180), abs=1e-3)
    with pytest.raises(ValueError, match=r"^year must be one of .*got 2014"):
        loo.without(2014)
    assert list(loo.to_frame()["df"].unique()) == [7] and "2019" in loo.verdict
