"""Power of the exact conditional comparison and minimum detectable change, checked by brute force and simulation."""

import json

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.rates import power_poisson_ratio_2indep

from analysis.stats import power
from analysis.stats.compare import exact_pvalue, score_pvalue
from analysis.stats.power import minimum_detectable_ratio, minlike_pvalues, normal_power, power_ratio


@pytest.mark.parametrize(("n", "p0"), [(1, 0.5), (40, 0.5), (57, 0.3), (200, 800 / 3811)])
def test_minlike_pvalues_match_scipy_binomtest(n, p0):
    mine = minlike_pvalues(n, p0)
    ref = [stats.binomtest(x, n, p0).pvalue for x in range(n + 1)]
    assert mine == pytest.approx(ref, rel=1e-9, abs=1e-15)


def test_exact_power_matches_brute_force_double_sum():
    # Independent: sum over both Poisson counts of P(x0) P(x1) 1[binomtest p <= alpha].
    mu0, ratio, e = 10.0, 0.4, 1.2
    mu1 = ratio * e * mu0
    xs = np.arange(0, 45)
    total = 0.0
    for x0 in xs:
        for x1 in xs:
            if x0 + x1 and stats.binomtest(int(x1), int(x0 + x1), e / (1 + e)).pvalue <= 0.05:
                total += stats.poisson.pmf(x0, mu0) * stats.poisson.pmf(x1, mu1)
    r = power_ratio(ratio, mu0, exposure_ratio=e)
    assert r.estimate == pytest.approx(total, abs=1e-8)
    assert r.method.startswith("exact power")


def test_exact_power_matches_seeded_simulation_at_350():
    # "What can a quarter of ~350 injuries reveal?" A true -16.8% change:
    r = power_ratio(0.832, 350)
    rng = np.random.default_rng(2025)
    x0 = rng.poisson(350, 1500)
    x1 = rng.poisson(350 * 0.832, 1500)
    sim = np.mean([exact_pvalue(int(a), int(b)) <= 0.05 for a, b in zip(x1, x0, strict=True)])
    assert r.estimate == pytest.approx(sim, abs=0.035)
    assert 0.55 < r.estimate < 0.7
    assert r.power_normal == pytest.approx(r.estimate, abs=0.03)
    json.dumps(r.to_dict(), allow_nan=False)
    assert "Under 0.8" in r.verdict


def test_size_at_no_change_is_at_most_alpha():
    for mu in (5.0, 60.0, 350.0):
        assert power_ratio(1.0, mu).estimate <= 0.05


def test_normal_approximation_with_dispersion_matches_simulation_and_statsmodels():
    phi, mu0, ratio = 2.0, 350.0, 0.8
    approx = normal_power(ratio, mu0, phi=phi)
    rng = np.random.default_rng(99)
    # negative binomial with variance phi * mu
    x0 = rng.negative_binomial(mu0 / (phi - 1), 1 / phi, 4000)
    x1 = rng.negative_binomial(mu0 * ratio / (phi - 1), 1 / phi, 4000)
    sim = np.mean([score_pvalue(int(a), int(b), 1.0, phi) <= 0.05 for a, b in zip(x1, x0, strict=True)])
    assert approx == pytest.approx(sim, abs=0.03)
    sm = power_poisson_ratio_2indep(
        ratio, 1.0, mu0, value=1, alpha=0.05, dispersion=phi, alternative="two-sided"
    )
    assert approx == pytest.approx(float(sm.power), abs=0.01)
    r = power_ratio(ratio, mu0, phi=phi)
    assert r.estimate == approx and "normal approximation" in r.method


def test_minimum_detectable_ratio_for_a_quarter_of_350():
    m = minimum_detectable_ratio(350)
    assert 0.75 < m.estimate < 0.85
    assert power_ratio(m.estimate, 350).estimate == pytest.approx(0.8, abs=0.01)
    assert m.pct_change == pytest.approx(100 * (m.estimate - 1))
    # the published -16.8% is smaller than what 80% power needs
    assert m.estimate < 293 / 352
    over = minimum_detectable_ratio(350, phi=2.0)
    assert over.estimate < m.estimate
    assert normal_power(over.estimate, 350, phi=2.0) == pytest.approx(0.8, abs=1e-6)
    bigger = minimum_detectable_ratio(1500)
    assert m.estimate < bigger.estimate < 1
    up = minimum_detectable_ratio(350, direction="increase")
    assert up.estimate > 1 and power_ratio(up.estimate, 350).estimate == pytest.approx(0.8, abs=0.01)
    assert "80% power" in m.verdict


def test_tiny_baseline_cannot_reach_power():
    m = minimum_detectable_ratio(0.5)
    assert m.estimate is None and m.pct_change is None and "no decrease" in m.verdict


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: power_ratio(0, 350), "ratio.*0"),
        (lambda: power_ratio(0.8, -350), "baseline.*-350"),
        (lambda: power_ratio(0.8, 350, exposure_ratio=0), "exposure_ratio.*0"),
        (lambda: power_ratio(0.8, 350, alpha=1), "alpha.*1"),
        (lambda: power_ratio(0.8, 350, phi=0), "phi.*0"),
        (lambda: minimum_detectable_ratio(350, power=1.2), "power.*1.2"),
        (lambda: minimum_detectable_ratio(350, direction="down"), "direction.*down"),
        (lambda: minimum_detectable_ratio(float("nan")), "baseline.*nan"),
        (lambda: minimum_detectable_ratio(350, phi=2.0, df=0), "df.*0"),
        (lambda: normal_power(0.8, 350, phi=2.0, df=1.5), "df.*1.5"),
    ],
)
def test_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_power_curve_equals_pointwise_exact_power():
    from analysis.stats.power import power_curve, power_ratio

    ratios = [0.7, 0.85, 1.0, 1.2]
    curve = power_curve(ratios, 300)
    assert curve == pytest.approx([power_ratio(r, 300).estimate for r in ratios], abs=1e-12)
    with pytest.raises(ValueError, match="ratios"):
        power_curve([], 300)


# ------------------------------------------------------------------------------------------ φ estimated: t power
def test_t_power_tends_to_normal_and_is_lower_for_few_df():
    for ratio in (0.7, 0.8, 0.9, 1.2):
        n = normal_power(ratio, 350, phi=2.0)
        assert normal_power(ratio, 350, phi=2.0, df=10**6) == pytest.approx(n, abs=1e-4)
        assert normal_power(ratio, 350, phi=2.0, df=8) < n
    assert normal_power(1.0, 350, phi=2.0, df=8) == pytest.approx(0.05, abs=1e-12)  # size under H0 (s0 = s1)


def test_t_power_matches_simulation_with_phi_estimated_from_annual_nb_counts():
    """Power with φ̂ from k + 2 = 10 simulated NB annual counts and the t(8) reference, against the noncentral-t
    approximation (simulation SE about 0.8 points at 3,000 replicates; tolerance 3 points)."""
    from test_compare import pearson_phi_batch, simulate_nb1

    rng = np.random.default_rng(8)
    reps, phi, k, mu0, ratio = 3000, 2.0, 8, 350.0, 0.75
    years = np.arange(10, dtype=float)
    phat = pearson_phi_batch(simulate_nb1(rng, 1500 * np.exp(-0.03 * years), phi, (reps, 10)).astype(float), years)
    x0 = simulate_nb1(rng, mu0, phi, reps).astype(float)
    x1 = simulate_nb1(rng, ratio * mu0, phi, reps).astype(float)
    z = (x1 - x0) / np.sqrt(phat * (x1 + x0))
    sim = float(np.mean(2 * stats.t.sf(np.abs(z), k) <= 0.05))
    assert normal_power(ratio, mu0, phi=phi, df=k) == pytest.approx(sim, abs=0.03)
    assert normal_power(ratio, mu0, phi=phi) > sim + 0.02  # the normal formula would overstate the power here


def test_minimum_detectable_change_under_the_estimated_dispersion():
    """The default claim: about 352 earlier events; 80% power needs -20.3% (Poisson), -27.2% (φ = 1.92 known) and
    -30.7% (φ = 1.92 estimated on 8 df)."""
    pois = minimum_detectable_ratio(352)
    known = minimum_detectable_ratio(352, phi=1.9183304903299645)
    est = minimum_detectable_ratio(352, phi=1.9183304903299645, df=8)
    assert pois.pct_change == pytest.approx(-20.27, abs=0.01)
    assert known.pct_change == pytest.approx(-27.19, abs=0.01) and est.pct_change == pytest.approx(-30.74, abs=0.01)
    assert normal_power(est.estimate, 352, phi=1.9183304903299645, df=8) == pytest.approx(0.8, abs=1e-6)
    assert est.df == 8 and "noncentral-t" in est.method and "8 df" in est.verdict
    assert minimum_detectable_ratio(352, df=8).method == est.method  # φ = 1 but estimated: no exact shortcut


def test_large_baselines_use_the_normal_approximation_close_to_exact_power():
    """Above EXACT_MAX_BASELINE the exact sum over n would take seconds to minutes (a claim of 30,000 injuries ran
    for minutes); the normal approximation replaces it there, and at the switch it is within 0.7 points of exact."""
    mu = power.EXACT_MAX_BASELINE
    exact = power._exact_power_fn(mu, 1.0, 0.05)
    worst = max(abs(exact(r) - power.normal_power(r, mu, 1.0, 0.05)) for r in np.linspace(0.85, 0.99, 8))
    assert worst < 0.007
    big = power.minimum_detectable_ratio(300_000)
    assert big.method.startswith(power.NORMAL_POWER) and "2,000" in big.method
    assert big.pct_change == pytest.approx(100 * (power.minimum_detectable_ratio(300_000, phi=1.0 + 1e-12).estimate
                                                  - 1), abs=1e-3)
    assert power.minimum_detectable_ratio(1500).method == power.EXACT_POWER
