"""Transitional parameter checks of the notebooks not yet converted to a study ``Params`` (03).
Each raises ``ValueError`` naming the parameter and its value."""

from __future__ import annotations

from analysis.core import validate

MEASURES = ("count", "rate")


def check_trend(*, end_year, years, reported_change_pct, measure, alpha, available_years=None) -> None:
    """Parameters of 03_five_year_trend: a window ending in ``end_year`` spanning ``years`` calendar years."""
    validate.positive_int("end_year", end_year)
    validate.positive_int("years", years)
    if years < 2:
        raise ValueError(f"years must be at least 2 (a window needs two endpoints), got {years!r}")
    validate.pct_change("reported_change_pct", reported_change_pct)
    validate.one_of("measure", measure, MEASURES)
    validate.alpha("alpha", alpha)
    if available_years is not None:
        yrs = sorted(int(y) for y in available_years)
        if end_year not in yrs:
            raise ValueError(f"end_year {end_year!r} has no Ministry annual count; available: {yrs}")
        start = end_year - years + 1
        if start not in yrs:
            raise ValueError(f"years={years!r} puts the window start at {start}, which has no Ministry annual count; "
                             f"available: {yrs}")

