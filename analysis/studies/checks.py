"""Parameter checks for the claim notebooks, shared with the claim checker so bad input is refused
before any kernel starts. Each raises ``ValueError`` naming the parameter and its value."""

from __future__ import annotations

from analysis.core import validate

MEASURES = ("count", "rate")


def _label(name: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty label such as '2025-Q1', got {value!r}")
    return value


def check_quarterly(*, current_count, reported_change_pct, previous_count, pct_decimals, current_label,
                    previous_label, exposure_ratio, alpha, dispersion, results_dir) -> None:
    """Parameters of 02_quarterly_change: a count, its published percent change, optional stated baseline."""
    validate.count("current_count", current_count)
    validate.pct_change("reported_change_pct", reported_change_pct)
    if previous_count is not None:
        validate.count("previous_count", previous_count)
    if isinstance(pct_decimals, bool) or not isinstance(pct_decimals, int) or not 0 <= pct_decimals <= 3:
        raise ValueError(f"pct_decimals must be an integer from 0 to 3, got {pct_decimals!r}")
    _label("current_label", current_label)
    _label("previous_label", previous_label)
    validate.positive("exposure_ratio", exposure_ratio)
    validate.alpha("alpha", alpha)
    if dispersion is not None:
        validate.positive("dispersion", dispersion)
        if dispersion < 1:
            raise ValueError(f"dispersion must be >= 1 (1 = Poisson; under-dispersion is not modelled), got {dispersion!r}")
    validate.path_like("results_dir", results_dir)


def check_deaths(*, deaths, event_deaths, deaths_reference_year, period_months) -> None:
    """The optional deaths section of 02_quarterly_change."""
    if deaths is not None:
        validate.count("deaths", deaths)
        validate.count("event_deaths", event_deaths)
        if event_deaths > deaths:
            raise ValueError(f"event_deaths must not exceed deaths ({deaths}), got {event_deaths!r}")
    validate.positive_int("deaths_reference_year", deaths_reference_year)
    validate.positive_int("period_months", period_months)
    if period_months > 12:
        raise ValueError(f"period_months must be between 1 and 12, got {period_months!r}")


def check_trend(*, end_year, years, reported_change_pct, measure, alpha, results_dir,
                available_years=None) -> None:
    """Parameters of 03_five_year_trend: a window ending in ``end_year`` spanning ``years`` calendar years."""
    validate.positive_int("end_year", end_year)
    validate.positive_int("years", years)
    if years < 2:
        raise ValueError(f"years must be at least 2 (a window needs two endpoints), got {years!r}")
    validate.pct_change("reported_change_pct", reported_change_pct)
    validate.one_of("measure", measure, MEASURES)
    validate.alpha("alpha", alpha)
    validate.path_like("results_dir", results_dir)
    if available_years is not None:
        yrs = sorted(int(y) for y in available_years)
        if end_year not in yrs:
            raise ValueError(f"end_year {end_year!r} has no Ministry annual count; available: {yrs}")
        start = end_year - years + 1
        if start not in yrs:
            raise ValueError(f"years={years!r} puts the window start at {start}, which has no Ministry annual count; "
                             f"available: {yrs}")


def check_ytd(*, year, months, ytd_count, ytd_change_pct, target_months, alpha, results_dir) -> None:
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
    validate.path_like("results_dir", results_dir)
