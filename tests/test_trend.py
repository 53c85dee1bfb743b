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
