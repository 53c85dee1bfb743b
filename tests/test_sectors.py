"""Tests for analysis.sectors against independent references (scipy binomtest, exact decimals, hand algebra)."""

from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.stats import sectors as S

PROP = settings(max_examples=50, deadline=None)


def _json_ok(result):
    d = result.to_dict()
    json.dumps(d, allow_nan=False)
    assert isinstance(d["verdict"], str) and d["verdict"]
    return d


def _published(k: int, total: int, decimals: int, mode=ROUND_HALF_UP) -> Decimal:
    return (Decimal(100 * k) / Decimal(total)).quantize(Decimal(1).scaleb(-decimals), rounding=mode)


# ---------------------------------------------------------------------------------------------- count bounds


def test_q1_2025_mining_share_is_inconsistent_with_293():
    r = S.share_count_bounds(15.3, 293, 1)
    assert not r.consistent and r.counts == () and r.k_min is None
    assert r.nearest_below == (44, 15.0) and r.nearest_above == (45, 15.4)
    assert 294 in r.nearby_totals and 293 not in r.nearby_totals
    assert _published(45, 294, 1) == Decimal("15.3")
    assert "INCONSISTENT" in r.verdict
    _json_ok(r)


def test_q1_2025_construction_share():
    r = S.share_count_bounds(12, 293, 0)
    assert r.consistent and r.counts == (34, 35, 36) and (r.k_min, r.k_max) == (34, 36)
    assert all(_published(k, 293, 0) == 12 for k in r.counts)
    assert _published(33, 293, 0) != 12 and _published(37, 293, 0) != 12
    assert r.nearby_totals == ()
    _json_ok(r)


def test_share_edges_inclusive_for_either_rounding_convention():
    # 1/8 = 12.5%: half-up gives 13, half-even gives 12 -> both 12% and 13% must allow k = 1 of 8
    assert 1 in S.share_count_bounds(12, 8, 0).counts
    assert 1 in S.share_count_bounds(13, 8, 0).counts
    assert S.share_count_bounds("12.50", 8, 2).counts == (1,)
    assert S.share_count_bounds(0, 293, 0).counts == (0, 1)
    assert S.share_count_bounds(100, 293, 0).counts[-1] == 293


@PROP
@given(total=st.integers(1, 5000), data=st.data(), decimals=st.integers(0, 3),
       mode=st.sampled_from([ROUND_HALF_UP, ROUND_HALF_EVEN]))
def test_count_bounds_reproduce_the_rounded_share(total, data, decimals, mode):
    k = data.draw(st.integers(0, total))
    share = _published(k, total, decimals, mode)
    r = S.share_count_bounds(str(share), total, decimals)
    assert r.consistent and k in r.counts
    assert list(r.counts) == list(range(r.k_min, r.k_max + 1))
    for c in r.counts:  # every allowed count publishes as this share under one of the conventions
        assert share in (_published(c, total, decimals, ROUND_HALF_UP), _published(c, total, decimals, ROUND_HALF_EVEN))
    for c in (r.k_min - 1, r.k_max + 1):  # and the neighbours do not under either
        if 0 <= c <= total:
            assert share not in (_published(c, total, decimals, ROUND_HALF_UP),
                                 _published(c, total, decimals, ROUND_HALF_EVEN))
    # the float form gives the same set
    assert S.share_count_bounds(float(share), total, decimals).counts == r.counts


@pytest.mark.parametrize(
    "args, match",
    [
        ((15.3, 293, -1), "decimals"),
        ((15.3, 293, 0), "share_pct"),  # more decimals than declared
        ((15.34, 293, 1), "share_pct"),
        ((101, 293, 0), "share_pct"),
        ((-1, 293, 0), "share_pct"),
        ((float("nan"), 293, 0), "share_pct"),
        (("abc", 293, 0), "share_pct"),
        ((15.3, 0, 1), "total"),
        ((15.3, 293.0, 1), "total"),
        ((15.3, 293, 1.0), "decimals"),
    ],
)
def test_count_bounds_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        S.share_count_bounds(*args)


# ---------------------------------------------------------------------------------------------- relative risk


def test_rr_known_employment_share_against_binomtest():
    r = S.sector_relative_risk(35, 293, 0.095, sector="construction")
    ref = stats.binomtest(35, 293).proportion_ci(0.95, method="exact")
    assert r.estimate == pytest.approx((35 / 293) / 0.095)
    assert r.ci == pytest.approx((ref.low / 0.095, ref.high / 0.095))
    assert r.conf_int() == pytest.approx(r.ci)
    p_gt = sum(stats.binom.pmf(k, 293, 0.095) for k in range(35, 294))
    assert r.p_greater_range == pytest.approx((p_gt, p_gt), rel=1e-9)
    assert r.p_two_sided_range[0] == pytest.approx(stats.binomtest(35, 293, 0.095).pvalue)
    assert r.excess_clear_if_employment_below == pytest.approx(ref.low)
    _json_ok(r)


def test_rr_ranges_over_counts_and_employment_range():
    counts = S.share_count_bounds(12, 293, 0)
    r = S.sector_relative_risk(counts, 293, (0.08, 0.10))
    assert r.counts == (34, 35, 36)
    assert r.rr_range == pytest.approx((34 / 293 / 0.10, 36 / 293 / 0.08))
    lo34 = stats.binomtest(34, 293).proportion_ci(0.95, method="exact").low
    hi36 = stats.binomtest(36, 293).proportion_ci(0.95, method="exact").high
    assert r.ci == pytest.approx((lo34 / 0.10, hi36 / 0.08))
    p = [stats.binomtest(k, 293, e, alternative="greater").pvalue for k in (34, 35, 36) for e in (0.08, 0.10)]
    assert r.p_greater_range == pytest.approx((min(p), max(p)))
    p2 = [stats.binomtest(k, 293, e).pvalue for k in (34, 35, 36) for e in (0.08, 0.10)]
    assert r.p_two_sided_range == pytest.approx((min(p2), max(p2)))  # 11.6-12.3% lie outside 8-10%
    r2 = S.sector_relative_risk(counts, 293, (0.11, 0.13))
    assert r2.p_two_sided_range[1] == 1.0 and r2.ci[0] < 1 < r2.ci[1]


def test_rr_gmk_inconsistent_share_uses_nearest_counts_and_note():
    r = S.sector_relative_risk(S.share_count_bounds(15.3, 293, 1), 293, (0.05, 0.08), sector="GMK",
                               denominator_note=S.GMK_NOTE)
    assert r.counts == (44, 45) and "inconsistent" in r.counts_basis
    assert r.rr_range == pytest.approx((44 / 293 / 0.08, 45 / 293 / 0.05))
    assert r.ci[0] > 1 and "NACE" in r.verdict and "stop being clear" in r.verdict
    _json_ok(r)


def test_rr_mover_reduces_to_known_share():
    l1, u1 = S._cp(35, 293, 0.05)
    lo, hi = S._mover_ratio(35 / 293, l1, u1, 0.095, 0.095, 0.095)
    assert (lo, hi) == pytest.approx((l1 / 0.095, u1 / 0.095))
    known = S.sector_relative_risk(35, 293, 0.095)
    big = S.sector_relative_risk(35, 293, 0.095, employment_n=10**9)
    small = S.sector_relative_risk(35, 293, 0.095, employment_n=500)
    assert big.ci == pytest.approx(known.ci, rel=1e-3)
    assert small.ci[0] < known.ci[0] and small.ci[1] > known.ci[1]
    assert "MOVER" in small.method


def test_mover_limits_solve_the_defining_quadratics():
    # Donner & Zou (2012): L solves (p1 - L p2)^2 = (p1 - l1)^2 + L^2 (u2 - p2)^2, U likewise with (u1, l2)
    r = S.sector_relative_risk(35, 293, 0.095, employment_n=400)
    p1, p2 = 35 / 293, 0.095
    l1, u1 = stats.binomtest(35, 293).proportion_ci(0.95, method="exact")
    l2 = stats.beta.ppf(0.025, p2 * 400, 400 - p2 * 400 + 1)
    u2 = stats.beta.ppf(0.975, p2 * 400 + 1, 400 - p2 * 400)
    lo, hi = r.ci
    assert (p1 - lo * p2) ** 2 == pytest.approx((p1 - l1) ** 2 + lo**2 * (u2 - p2) ** 2, rel=1e-9)
    assert (hi * p2 - p1) ** 2 == pytest.approx((u1 - p1) ** 2 + hi**2 * (p2 - l2) ** 2, rel=1e-9)
    assert lo < p1 / p2 < hi


def test_cp_matches_scipy_for_integer_counts():
    for k, n in ((0, 10), (10, 10), (3, 17), (45, 293)):
        ref = stats.binomtest(k, n).proportion_ci(0.9, method="exact")
        assert S._cp(k, n, 0.1) == pytest.approx((ref.low, ref.high))


@PROP
@given(total=st.integers(20, 2000), data=st.data(), e=st.floats(0.01, 0.9))
def test_rr_interval_contains_estimate(total, data, e):
    k = data.draw(st.integers(1, total - 1))
    r = S.sector_relative_risk(k, total, e)
    assert r.ci[0] <= r.estimate <= r.ci[1]
    assert r.rr_range[0] == pytest.approx(r.estimate) == r.rr_range[1]


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((35, 293, 9.5), {}, "employment_share"),
        ((35, 293, 0.0), {}, "employment_share"),
        ((35, 293, (0.1, 0.05)), {}, "employment_share"),
        ((35, 293, (0.1,)), {}, "employment_share"),
        ((35, 293, 0.1), {"alpha": 0.0}, "alpha"),
        ((35, 293, 0.1), {"employment_n": 0}, "employment_n"),
        ((300, 293, 0.1), {}, "injuries"),
        ((-1, 293, 0.1), {}, "injuries"),
        (([], 293, 0.1), {}, "injuries"),
        ((35.0, 293, 0.1), {}, "injuries"),
        ((35, 0, 0.1), {}, "total"),
    ],
)
def test_rr_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        S.sector_relative_risk(*args, **kwargs)


def test_rr_share_counts_total_mismatch():
    with pytest.raises(ValueError, match="total"):
        S.sector_relative_risk(S.share_count_bounds(12, 293, 0), 300, 0.1)


# ---------------------------------------------------------------------------------------------- history


def test_share_vs_history_hand_computed():
    past_k, past_n = [229, 300, 240], [1800, 1900, 1850]
    r = S.share_vs_history(50, 293, past_k, past_n, sector="construction")
    p0 = sum(past_k) / sum(past_n)
    assert r.pooled_share == pytest.approx(p0)
    assert r.p_binomial == pytest.approx(stats.binomtest(50, 293, p0).pvalue)
    # Pearson chi-square, 2x2 current vs pooled past, by hand
    obs = np.array([[50, 243], [769, 4781]], dtype=float)
    exp = obs.sum(1, keepdims=True) * obs.sum(0, keepdims=True) / obs.sum()
    assert r.p_chi2 == pytest.approx(stats.chi2.sf(((obs - exp) ** 2 / exp).sum(), 1))
    ky, ny = np.array(past_k), np.array(past_n)
    x2 = np.sum((ky - ny * p0) ** 2 / (ny * p0 * (1 - p0)))
    phi = max(1.0, x2 / 2)
    assert r.phi == pytest.approx(phi) and phi > 1
    z = (50 - 293 * p0) / math.sqrt(phi * 293 * p0 * (1 - p0) * (1 + 293 / ny.sum()))
    assert r.z_overdispersed == pytest.approx(z)
    assert r.p_overdispersed == pytest.approx(2 * stats.t.sf(abs(z), 2))
    assert r.p_overdispersed > r.p_binomial  # the over-dispersed test is the more cautious one
    _json_ok(r)


def test_share_vs_history_single_year():
    r = S.share_vs_history(35, 293, [229], [1800])
    assert math.isnan(r.p_overdispersed) and "single past year" in r.verdict
    d = _json_ok(r)
    assert d["p_overdispersed"] is None


@pytest.mark.parametrize(
    "args, match",
    [
        ((35, 293, [], []), "past_counts"),
        ((35, 293, [1, 2], [10]), "equal length"),
        ((35, 293, [11], [10]), "past_counts"),
        ((35, 293, [0, 0], [10, 10]), "pooled"),
        ((35, 293, [1], [0]), "past_totals"),
        ((300, 293, [1], [10]), "count"),
        ((35, 293, "12", [10]), "past_counts"),
    ],
)
def test_share_vs_history_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        S.share_vs_history(*args)


def test_upper_tie_goes_to_the_even_neighbour():
    """337..357 of 2,040 are 16.52%..17.50%: 17.50 publishes as 18 under half-up and half-even, so 357 is not 17%."""
    assert S.share_count_bounds("17", 2040, 0).counts == tuple(range(337, 357))
    assert S.share_count_bounds("18", 2040, 0).counts[0] == 357
    assert 357 in S.share_count_bounds("18", 2040, 0).counts and 357 not in S.share_count_bounds("17", 2040, 0).counts
    assert S.share_count_bounds("12.50", 8, 2).counts == (1,)  # exact share, no tie
