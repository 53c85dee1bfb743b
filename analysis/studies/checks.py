"""Transitional parameter checks of the notebooks not yet converted to a study ``Params`` (07).
Each raises ``ValueError`` naming the parameter and its value."""

from __future__ import annotations

from analysis.core import validate


def check_ytd(*, year, months, ytd_count, ytd_change_pct, target_months, alpha) -> None:
    """Parameters of 07_year_to_date_projection."""
    validate.positive_int("year", year)
    validate.positive_int("months", months)
    if months > 12:
        raise ValueError(f"months must be between 1 and 12, got {months!r}")
    validate.count("ytd_count", ytd_count)
    validate.pct_change("ytd_change_pct", ytd_change_pct)
    validate.positive_int("target_months", target_months)
    if not months <= target_months <= 12:
        raise ValueError(f"target_months must be between months ({months}) and 12, got {target_months!r}")
    validate.alpha("alpha", alpha)
