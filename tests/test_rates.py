"""Garwood intervals for counts and rates: chi-square identities, published tables, R poisson.test, coverage."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.rates import confint_poisson

from analysis.stats.rates import count_ci, garwood_interval, poisson_exact_pvalue, rate_ci


def test_garwood_table_values():
    # Published Garwood / exact Poisson table (95%): 0 -> (0, 3.689); 10 -> (4.795, 18.39)
    lo, hi = garwood_interval(0)
    assert lo == 0.0 and hi == pytest.approx(3.689, abs=5e-4)
    lo, hi = garwood_interval(10)
    assert lo == pytest.approx(4.795, abs=5e-4) and hi == pytest.approx(18.39, abs=5e-3)


@pytest.mark.parametrize("x", [0, 1, 2, 5, 10, 37, 293, 1503])
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_garwood_matches_chi2_and_tail_definition(x, alpha):
    lo, hi = garwood_interval(x, alpha)
    assert hi == pytest.approx(stats.chi2.ppf(1 - alpha / 2, 2 * x + 2) / 2, rel=1e-12)
    # Definition: the upper limit is the mean at which P(X <= x) = alpha/2; the lower one P(X >= x) = alpha/2.
    assert stats.poisson.cdf(x, hi) == pytest.approx(alpha / 2, rel=1e-6)
    if x > 0:
        assert lo == pytest.approx(stats.chi2.ppf(alpha / 2, 2 * x) / 2, rel=1e-12)
        assert stats.poisson.sf(x - 1, lo) == pytest.approx(alpha / 2, rel=1e-6)
    sm_lo, sm_hi = confint_poisson(x, 1.0, method="exact-c", alpha=alpha)
    assert (lo, hi) == pytest.approx((float(sm_lo), float(sm_hi)), rel=1e-9, abs=1e-12)


def test_r_poisson_test_one_sample_example():
    # R: poisson.test(137, 24.19893) -> p-value < 2.2e-16, 95% CI 4.753125 6.692709
    r = rate_ci(137, 24.19893, null_rate=1)
    assert r.ci == pytest.approx((4.753125, 6.692709), abs=1e-6)
    assert r.estimate == pytest.approx(137 / 24.19893, rel=1e-12)
    assert r.p_value < 2.2e-16
    assert "Poisson exact (Garwood)" in r.verdict and "4.753" in r.verdict


def _brute_minlike(x, m):
    k = np.arange(0, int(m + 60 * math.sqrt(m) + 200))
    pmf = stats.poisson.pmf(k, m)
    return min(1.0, pmf[pmf <= stats.poisson.pmf(x, m) * (1 + 1e-7)].sum())


@pytest.mark.parametrize(
    ("x", "m"), [(3, 10.0), (17, 10.0), (10, 10.0), (0, 2.5), (293, 352.0), (400, 352.0)]
)
def test_one_sample_exact_pvalue_matches_brute_force(x, m):
    assert poisson_exact_pvalue(x, m) == pytest.approx(_brute_minlike(x, m), rel=1e-9, abs=1e-15)


def test_rate_per_unit_scales_the_count_interval():
    r = rate_ci(293, 7_000_000, per=1000)
    lo, hi = garwood_interval(293)
    assert r.ci == pytest.approx((lo / 7000, hi / 7000), rel=1e-12)
    assert r.estimate == pytest.approx(293 / 7000, rel=1e-12)
    assert r.p_value is None


def test_count_result_to_dict_is_plain_json():
    d = count_ci(10).to_dict()
    json.dumps(d, allow_nan=False)
    assert d["method"] == "Poisson exact (Garwood)"
    assert d["ci"] == pytest.approx([4.7953887, 18.3903560], abs=1e-6)
    assert "4.795" in d["verdict"] and "18.39" in d["verdict"]


@settings(max_examples=80, deadline=None)
@given(
    x=st.integers(0, 5000),
    alpha=st.floats(0.001, 0.5),
    t=st.floats(0.01, 1e7),
    per=st.sampled_from([1, 1000, 1e5]),
)
def test_interval_contains_estimate_and_is_ordered(x, alpha, t, per):
    c = count_ci(x, alpha)
    assert c.ci[0] <= c.estimate <= c.ci[1] and c.ci[0] < c.ci[1]
    r = rate_ci(x, t, per=per, alpha=alpha)
    assert r.ci[0] <= r.estimate * (1 + 1e-12) and r.estimate <= r.ci[1] * (1 + 1e-12)
    wider = count_ci(x, alpha / 2)
    assert wider.ci[0] <= c.ci[0] and wider.ci[1] >= c.ci[1]


@pytest.mark.parametrize("mu", [1.5, 6.0, 40.0, 350.0])
def test_coverage_simulation_at_least_94_percent(mu):
    rng = np.random.default_rng(20250401)
    draws = rng.poisson(mu, size=4000)
    ci = {x: garwood_interval(int(x)) for x in np.unique(draws)}
    covered = np.mean([ci[x][0] <= mu <= ci[x][1] for x in draws])
    assert covered >= 0.94


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"count": -1}, "count.*-1"),
        ({"count": 2.5}, "count.*2.5"),
        ({"count": True}, "count.*True"),
        ({"count": 3, "alpha": 0}, "alpha.*0"),
        ({"count": 3, "alpha": 1.5}, "alpha.*1.5"),
    ],
)
def test_count_ci_bad_input(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        count_ci(**kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "pattern"),
    [
        ((5, 0), {}, "exposure.*0"),
        ((5, -3.0), {}, "exposure.*-3.0"),
        ((5, float("nan")), {}, "exposure.*nan"),
        ((5, 10), {"per": 0}, "per.*0"),
        ((5, 10), {"null_rate": 0}, "null_rate.*0"),
        ((-5, 10), {}, "count.*-5"),
    ],
)
def test_rate_ci_bad_input(args, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        rate_ci(*args, **kwargs)
