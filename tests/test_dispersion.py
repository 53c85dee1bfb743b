"""Over-dispersion of an annual series: quasi-Poisson φ and NB α against independent fits; quarterly carry-over."""

import json

import numpy as np
import pytest
import statsmodels.api as sm
from reference import poisson_loglinear_mle
from scipy import stats

from analysis.stats.dispersion import estimate_dispersion, quarterly_phi

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
    ],
)
def test_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
