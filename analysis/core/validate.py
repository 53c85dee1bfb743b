"""Argument and parameter checks shared by the statistics and the notebooks.

Each raises ``ValueError`` naming the argument (or notebook parameter) and the bad value. No silent coercion.
"""

from __future__ import annotations

import math
import numbers


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def count(name: str, value) -> int:
    """A non-negative integer count.

    Parameters
    ----------
    name : str
        The argument or notebook parameter name, quoted in the error message.
    value : object
        The value to check.

    Returns
    -------
    int
        ``value`` as a Python ``int``.

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not an integer (``bool`` and floats such as ``3.0`` are refused) or
        is negative.
    """
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer count, got {value!r}")
    return int(value)


#: The largest count of people a parameter may hold. Kazakhstan registers about 1,500 injured workers a year and
#: has about 9 million employed; no count of injured or killed workers (or of any population subgroup the project
#: compares) comes near 10 million, so a larger value is a typo, a unit error or an overflow.
MAX_PEOPLE = 10_000_000


def people(name: str, value) -> int:
    """A count of people: a non-negative integer no larger than :data:`MAX_PEOPLE`.

    Parameters
    ----------
    name : str
        The argument or notebook parameter name, quoted in the error message.
    value : object
        The value to check.

    Returns
    -------
    int
        ``value`` as a Python ``int``.

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not a non-negative integer or exceeds :data:`MAX_PEOPLE`.
    """
    v = count(name, value)
    if v > MAX_PEOPLE:
        raise ValueError(f"{name} must be at most {MAX_PEOPLE:,} people (larger is a typo or a unit error), "
                         f"got {value!r}")
    return v


def seed(name: str, value) -> int:
    """A random seed: a non-negative integer below 2**32.

    Parameters
    ----------
    name : str
        The argument or notebook parameter name, quoted in the error message.
    value : object
        The value to check.

    Returns
    -------
    int
        ``value`` as a Python ``int``, usable by ``numpy.random.default_rng``.

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not an integer from 0 to 2**32 - 1.
    """
    if not _is_int(value) or not 0 <= value < 2**32:
        raise ValueError(f"{name} must be an integer seed from 0 to 2**32 - 1, got {value!r}")
    return int(value)


def positive_int(name: str, value) -> int:
    """A positive integer (a number of replicates, years, months ...).

    Parameters
    ----------
    name : str
        The argument or notebook parameter name, quoted in the error message.
    value : object
        The value to check.

    Returns
    -------
    int
        ``value`` as a Python ``int``.

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not an integer (``bool`` refused) or is zero or negative.
    """
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def positive(name: str, value) -> float:
    """A finite number > 0 (exposures, ratios, dispersions).

    Parameters
    ----------
    name : str
        The argument or notebook parameter name, quoted in the error message.
    value : object
        The value to check.

    Returns
    -------
    float
        ``value`` as a Python ``float``.

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not a real number (``bool`` refused), is NaN or infinite, or is not
        > 0.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def finite(name: str, value) -> float:
    """A finite real number.

    Parameters
    ----------
    name : str
        The argument or notebook parameter name, quoted in the error message.
    value : object
        The value to check.

    Returns
    -------
    float
        ``value`` as a Python ``float``.

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not a real number (``bool`` refused) or is NaN or infinite.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def alpha(name: str, value) -> float:
    """A significance level strictly between 0 and 1.

    Parameters
    ----------
    name : str
        The argument or notebook parameter name, quoted in the error message.
    value : object
        The value to check.

    Returns
    -------
    float
        ``value`` as a Python ``float``.

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not a finite number or lies outside (0, 1).
    """
    v = finite(name, value)
    if not 0 < v < 1:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")
    return v


def pct_change(name: str, value) -> float:
    """A percent change: finite and greater than -100.

    Parameters
    ----------
    name : str
        The argument or notebook parameter name, quoted in the error message.
    value : object
        The value to check.

    Returns
    -------
    float
        ``value`` as a Python ``float``.

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not a finite number or is -100 or less (a count cannot fall by 100%
        or more).
    """
    v = finite(name, value)
    if v <= -100:
        raise ValueError(f"{name} must be greater than -100 (a count cannot fall by 100% or more), got {value!r}")
    return v


def share_pct(name: str, value) -> float:
    """A share in percent: a finite number from 0 to 100.

    Parameters
    ----------
    name : str
        The argument or notebook parameter name, quoted in the error message.
    value : object
        The value to check.

    Returns
    -------
    float
        ``value`` as a Python ``float``.

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not a finite number or lies outside [0, 100].
    """
    v = finite(name, value)
    if not 0 <= v <= 100:
        raise ValueError(f"{name} must be a percentage in [0, 100], got {value!r}")
    return v


def one_of(name: str, value, allowed) -> object:
    """A value from a fixed set of choices (a period, a measure, a model name ...).

    Parameters
    ----------
    name : str
        The argument or notebook parameter name, quoted in the error message.
    value : object
        The value to check.
    allowed : collection
        The permitted values (anything supporting ``in``; listed, sorted as strings, in the error message).

    Returns
    -------
    object
        ``value`` unchanged.

    Raises
    ------
    ValueError
        Naming ``name`` and the allowed values when ``value`` is not in ``allowed``.
    """
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(map(str, allowed))}, got {value!r}")
    return value


def path_like(name: str, value) -> str:
    """A path given as a non-empty string (not checked for existence).

    Parameters
    ----------
    name : str
        The argument or notebook parameter name, quoted in the error message.
    value : object
        The value to check.

    Returns
    -------
    str
        ``value`` unchanged.

    Raises
    ------
    ValueError
        Naming ``name`` when ``value`` is not a string or is empty or blank.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty path string, got {value!r}")
    return value
