"""analysis.core.memo.array_memo: answers equal the function's own, keyed by value (never stale), bounded."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.core.memo import array_memo
from analysis.stats import dispersion


def counting(fn):
    calls = []

    def inner(*args, **kwargs):
        calls.append(1)
        return fn(*args, **kwargs)

    inner.calls = calls
    return inner


@given(st.lists(st.lists(st.integers(0, 500), min_size=1, max_size=6), min_size=1, max_size=8),
       st.floats(-3, 3, allow_nan=False))
def test_memoised_answers_equal_the_functions_own(arrays, scale):
    raw = counting(lambda x, s=1.0: (float(np.sum(np.asarray(x) * s)), len(x)))
    memo = array_memo(maxsize=4)(raw)
    for a in arrays + arrays[::-1]:  # every array asked twice, some after eviction
        assert memo(np.array(a), s=scale) == raw(np.array(a), s=scale)
    distinct = {tuple(a) for a in arrays}
    info = memo.cache_info()
    assert info["size"] <= 4 and info["misses"] >= len(distinct)
    assert info["hits"] + info["misses"] == 2 * len(arrays)


def test_a_changed_array_is_a_new_question_not_a_stale_answer():
    memo = array_memo()(lambda x: float(np.sum(x)))
    x = np.array([1.0, 2.0, 3.0])
    assert memo(x) == 6.0
    x[0] = 10.0  # the same object, new values
    assert memo(x) == 15.0
    assert memo(np.array([1.0, 2.0, 3.0])) == 6.0  # equal values: the kept answer
    assert memo.cache_info() == {"hits": 1, "misses": 2, "size": 2}
    # Same values, other dtype or shape: other questions.
    assert memo(np.array([1, 2, 3])) == 6.0 and memo(np.array([[1.0, 2.0, 3.0]])) == 6.0
    assert memo.cache_info()["misses"] == 4


def test_least_recently_used_is_dropped_and_clear_empties():
    raw = counting(lambda x: x * 2)
    memo = array_memo(maxsize=2)(raw)
    memo(1), memo(2), memo(1), memo(3)  # 2 is the least recently used when 3 arrives
    assert len(raw.calls) == 3
    memo(1)
    assert len(raw.calls) == 3  # kept
    memo(2)
    assert len(raw.calls) == 4  # dropped, computed again
    memo.cache_clear()
    assert memo.cache_info() == {"hits": 0, "misses": 0, "size": 0}
    with pytest.raises(ValueError, match="maxsize"):
        array_memo(maxsize=0)
    with pytest.raises(TypeError, match="cannot key"):
        memo(np.array([object()], dtype=object))


def test_the_memoised_nb_alpha_fits_equal_fresh_fits():
    """The two α fits the claims audit repeats: memoised answers identical to the undecorated functions'."""
    years = np.arange(2015, 2025, dtype=float)
    X = dispersion.design(years)
    for counts in ([420, 380, 455, 310, 330, 365, 290, 350, 300, 352],  # over-dispersed
                   [100, 101, 99, 100, 102, 98, 100, 101, 99, 100]):   # under-dispersed: α at 0
        c = np.array(counts, float)
        for fn in (dispersion.fit_nb_alpha, dispersion.fit_nb_alpha_moments):
            first, again = fn(c, X), fn(c.copy(), X.copy())
            assert first == again == fn.__wrapped__(c, X)
            assert isinstance(first[0], float) and isinstance(first[1], bool)


def test_the_cached_exact_p_values_equal_statsmodels_fresh():
    from analysis.stats import compare

    for args in ((293, 352, 1.0, "exact-cond"), (293, 352, 1.0, "cond-midp"), (0, 5, 0.5, "exact-cond"),
                 (7, 0, 2.0, "exact-cond")):
        assert compare._sm_pvalue(*args) == compare._sm_pvalue(*args) == compare._sm_pvalue.__wrapped__(*args)
    assert compare.exact_pvalue(293, 352) == compare._sm_pvalue.__wrapped__(293, 352, 1.0, "exact-cond")
