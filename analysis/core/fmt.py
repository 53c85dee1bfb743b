"""One formatting policy for every number a reader sees: p-values, counts, percents, intervals.

Every verdict sentence, table and figure label formats numbers through these functions, so a p-value never reads
``0`` or ``5.25938e-06`` in one place and ``< 0.001`` in another.
"""

from __future__ import annotations

import math


def fmt_p(p: float | None) -> str:
    """A p-value in a sentence, by the one policy of :func:`fmt_pvalue`: 'p = 0.022', 'p = 0.0016', 'p < 0.001'.

    Parameters
    ----------
    p : float or None
        The p-value.

    Returns
    -------
    str
        ``"p = ..."`` or ``"p < 0.001"``; ``"p not defined"`` for None or a non-finite value. Never scientific
        notation.
    """
    v = fmt_pvalue(p)
    if not v:
        return "p not defined"
    return f"p {v}" if v.startswith("<") else f"p = {v}"


def fmt_num(x: float | None, digits: int = 4) -> str:
    """Format a number for verdicts with ``digits`` significant figures; inf and None spelled out.

    Parameters
    ----------
    x : float or None
        The number.
    digits : int, default 4
        Significant figures (``"g"`` format, so scientific notation for very large or small values).

    Returns
    -------
    str
        The number; "undefined" for None or NaN; "infinity" or "-infinity" for infinite values.
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "undefined"
    if math.isinf(x):
        return "infinity" if x > 0 else "-infinity"
    return f"{x:.{digits}g}"


def fmt_pct(x: float | None) -> str:
    """Format a percent change with sign and one decimal ("-16.8%"); inf and None spelled out.

    Parameters
    ----------
    x : float or None
        The percent change (-16.8 means a fall of 16.8%).

    Returns
    -------
    str
        The signed percent with one decimal; "undefined" for None or NaN; "infinity%" or "-infinity%" for
        infinite values.
    """
    if x is None or not math.isfinite(x):
        return fmt_num(x) + ("%" if x is not None and math.isinf(x) else "")
    return f"{x:+.1f}%"


# ------------------------------------------------------------------------------------------------------------------
# The reader-facing policy (tables, summary boxes, headlines): no scientific notation, no fractional people,
# p-values as 0.022 or < 0.001 (never 0), percents signed with the published precision.
def decimals_of(x: float) -> int:
    """Decimals a published number was given to, from its shortest text: -16.8 -> 1, 12 -> 0, 0.04 -> 2.

    Parameters
    ----------
    x : float
        The published number.

    Returns
    -------
    int
        The number of digits after the decimal point in ``f"{x:g}"``; 0 when that text uses scientific
        notation.
    """
    text = f"{x:g}"
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


def _finite(x) -> bool:
    return x is not None and not (isinstance(x, float) and not math.isfinite(x))


def fmt_count(x) -> str:
    """A count of people or events: an integer with thousands separators ('1,408'); '' for missing.

    Parameters
    ----------
    x : int, float or None
        The count; a non-integer is rounded to the nearest integer.

    Returns
    -------
    str
        The rounded count with thousands separators; the empty string for None, NaN or infinite values.
    """
    if not _finite(x):
        return ""
    return f"{round(float(x)):,}"


def fmt_number(x, sig: int = 3) -> str:
    """A number with ``sig`` significant figures, thousands separators and never scientific notation.

    Parameters
    ----------
    x : float or None
        The number.
    sig : int, default 3
        Significant figures; whole-number digits are always kept (12345 with ``sig=3`` reads '12,345').

    Returns
    -------
    str
        The formatted number; '0' for zero or a value that rounds to zero; '' for None or NaN; '∞' or '−∞' for
        infinite values.
    """
    if not _finite(x):
        return "" if x is None or (isinstance(x, float) and math.isnan(x)) else ("∞" if x > 0 else "−∞")
    v = float(x)
    if v == 0:
        return "0"
    decimals = max(0, sig - 1 - math.floor(math.log10(abs(v))))
    text = f"{v:,.{decimals}f}"
    return "0" if float(text.replace(",", "")) == 0 else text


def fmt_pvalue(p) -> str:
    """A p-value for readers: '0.022', '0.13', '< 0.001'; never '0' and never scientific notation.

    Parameters
    ----------
    p : float or None
        The p-value.

    Returns
    -------
    str
        '< 0.001' below 0.001; two significant figures (trailing zero kept) below 0.1; two decimals otherwise
        ('1.00' from 0.995); '' for None or a non-finite value.
    """
    if not _finite(p):
        return ""
    p = float(p)
    if p < 0.001:
        return "< 0.001"
    if p >= 0.995:
        return "1.00"
    return f"{p:#.2g}" if p < 0.1 else f"{p:.2f}"  # "#": 0.020, not 0.02


def fmt_percent(x, decimals: int = 1, signed: bool = True) -> str:
    """A percent with the given precision: '-16.8%' (signed) or '22.2%'.

    Parameters
    ----------
    x : float or None
        The value in percent.
    decimals : int, default 1
        Decimals shown.
    signed : bool, default True
        Whether to show the sign of positive values ('+3.0%').

    Returns
    -------
    str
        The formatted percent; '' for None or a non-finite value.
    """
    if not _finite(x):
        return ""
    return f"{float(x):+.{decimals}f}%" if signed else f"{float(x):.{decimals}f}%"


def fmt_interval(lower, upper, unit: str = "", level: float = 95, kind: str = "CI") -> str:
    """'95% CI 0.710 to 0.975' in the unit's format ('%' for percents, 'count' for counts, else 3 figures);
    ``kind`` 'PI' for a prediction interval.

    Parameters
    ----------
    lower, upper : float or None
        The interval's bounds; a missing bound formats as the empty string.
    unit : str, default ''
        '%' (bounds as signed percents, :func:`fmt_percent`), 'count' (:func:`fmt_count`) or anything else
        (:func:`fmt_number`, three significant figures).
    level : float, default 95
        Coverage in percent.
    kind : str, default 'CI'
        'CI' (confidence interval) or 'PI' (prediction interval); printed as given.

    Returns
    -------
    str
        The interval in words; '' when both bounds are None.
    """
    def one(v):
        if unit == "%":
            return fmt_percent(v)
        if unit == "count":
            return fmt_count(v)
        return fmt_number(v)

    if lower is None and upper is None:
        return ""
    return f"{level:g}% {kind} {one(lower)} to {one(upper)}"


def fmt_value(x, sig: int = 3) -> str:
    """A measured number in a table cell: whole numbers as integers with thousands separators ('40', '1,408'),
    others with ``sig`` significant figures and no trailing zeros ('0.832', '16.8', '0.04') below 1,000 and as
    whole numbers from 1,000 up ('1,320', never '1319.51'); never scientific notation.

    Parameters
    ----------
    x : float or None
        The number.
    sig : int, default 3
        Significant figures for non-integers below 1,000.

    Returns
    -------
    str
        The formatted value; missing and infinite values as in :func:`fmt_number`.
    """
    if not _finite(x):
        return fmt_number(x)
    v = float(x)
    if v.is_integer() or abs(v) >= 1000:
        return fmt_count(v)
    text = fmt_number(v, sig)
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_decimal(x, decimals: int) -> str:
    """A number with a fixed number of decimals and thousands separators ('2.20', '16.8', '9,283,500'): one
    column
    of a table reads alike; never scientific notation.

    Parameters
    ----------
    x : float or None
        The number.
    decimals : int
        Decimals shown (negative values are treated as 0).

    Returns
    -------
    str
        The formatted number ('0', not '-0', for a whole number rounding to zero); missing and infinite values
        as in :func:`fmt_number`.
    """
    if not _finite(x):
        return fmt_number(x)
    text = f"{float(x):,.{max(0, int(decimals))}f}"
    return "0" if float(text.replace(",", "")) == 0 and decimals == 0 else text


def column_decimals(values, sig: int = 3, most: int = 4) -> int | None:
    """Decimals that give a typical value of a column (its lower median magnitude) ``sig`` significant
    figures,
    between 0 and ``most``; None when the values span more than two orders of magnitude (a column mixing
    measures, better formatted value by value with :func:`fmt_value`).

    Parameters
    ----------
    values : iterable of float
        The column's values; missing, non-finite and zero values are ignored.
    sig : int, default 3
        Significant figures wanted for the typical value.
    most : int, default 4
        The largest number of decimals returned.

    Returns
    -------
    int or None
        Decimals for :func:`fmt_decimal`; 0 when no value is usable; None for a column spanning more than a
        factor of 100.
    """
    mags = sorted(abs(float(v)) for v in values if _finite(v) and float(v) != 0)
    if not mags:
        return 0
    if mags[-1] / mags[0] > 100:
        return None
    typical = mags[(len(mags) - 1) // 2]
    return max(0, min(most, sig - 1 - math.floor(math.log10(typical))))


def fmt_bool(x) -> str:
    """A yes/no value for readers: 'yes', 'no'; '' for missing.

    Parameters
    ----------
    x : object
        The value, judged by its truth value; None and NaN are missing.

    Returns
    -------
    str
        'yes', 'no' or ''.
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return "yes" if bool(x) else "no"


def fmt_estimate(e) -> str:
    """An estimate with its interval and p-value, e.g. '-16.8% (95% CI -29.0% to -2.5%), p = 0.022'.

    Parameters
    ----------
    e : analysis.core.study.Estimate
        Or any object with ``estimate``, ``lower``, ``upper`` and ``p_value`` attributes; ``unit``, ``level``
        and ``interval`` are used when present (defaults '', 95 and 'CI').

    Returns
    -------
    str
        The estimate in its unit's format, followed by its interval in parentheses (when it has one) and its
        p-value (when not None), as formatted by :func:`fmt_interval` and :func:`fmt_pvalue`.
    """
    unit = getattr(e, "unit", "")
    main = fmt_percent(e.estimate) if unit == "%" else fmt_count(e.estimate) if unit == "count" else \
        fmt_number(e.estimate)
    ci = fmt_interval(e.lower, e.upper, unit, level=getattr(e, "level", 95), kind=getattr(e, "interval", "CI"))
    text = main + (f" ({ci})" if ci else "")
    if e.p_value is not None:
        p = fmt_pvalue(e.p_value)
        text += f", p {p}" if p.startswith("<") else f", p = {p}"
    return text


def fmt_counted(n, singular: str, plural: str | None = None) -> str:
    """A count with its noun in the right number, never 'report(s)': '1 report', '0 reports', '1,408 people'
    (``plural`` defaults to ``singular`` + 's').

    Parameters
    ----------
    n : int
        The count (formatted with :func:`fmt_count`).
    singular : str
        The noun for exactly one.
    plural : str, optional
        The noun for any other count; default ``singular + "s"``.

    Returns
    -------
    str
        The count and the noun, separated by a space.
    """
    word = singular if n == 1 else (plural if plural is not None else singular + "s")
    return f"{fmt_count(n)} {word}"
