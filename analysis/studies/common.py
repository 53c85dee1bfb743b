"""Pieces several studies share: period wording, source lookups, the Ministry's cumulative history."""

from __future__ import annotations

import re

import pandas as pd

from analysis import data
from analysis.core.params import ParameterError
from analysis.core.paths import DATA_DIR
from analysis.stats import consistency, ytd_model

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_QUARTERS = {1: "first", 2: "second", 3: "third", 4: "fourth"}


def check_period(name: str, value: str) -> str:
    """A canonical period ('2024', '2025-Q1', '2021-H1', '2021-01..07'); ``ValueError`` naming ``name`` otherwise."""
    try:
        data.period_months(value)
    except ValueError:
        raise ValueError(f"{name} must be a period such as 2024, 2025-Q1, 2021-H1 or 2021-01..07, "
                         f"got {value!r}") from None
    return value


def check_back_calculable(current: int, pct: float | None, decimals: int, previous: int | None,
                          names: tuple[str, str]) -> None:
    """A published percent change must be on its stated precision, and without an earlier count it must allow one.

    Parameters
    ----------
    current : int
        The published (current) count.
    pct : float or None
        The published percent change (None: not given, nothing to check).
    decimals : int
        Decimals the percent was published with.
    previous : int or None
        The earlier count when published; None means it is back-calculated from ``pct``.
    names : (str, str)
        The parameter names of ``current`` and ``pct``, for the message.

    Raises
    ------
    ParameterError
        Naming the count when it is 0 (a fall to 0 is -100% from any earlier count), or the percent when it has
        more decimals than stated or no whole earlier count fits it.
    """
    if current == 0:
        raise ParameterError(names[0], f"{names[0]} must be at least 1: a fall to 0 is -100% from any earlier count, "
                                       "which leaves nothing to test or project")
    if pct is None:
        return
    try:
        back = consistency.baselines_for_percent(current, pct, decimals)
    except ValueError as exc:
        raise ParameterError(names[1], f"{names[1]}: {exc}") from None
    del back, previous  # a percent that no whole earlier count fits is a finding (inconsistent), not a bad parameter


def period_length(period: str) -> int:
    """Number of months a period covers (12 for a year, 3 for a quarter, 7 for '01..07')."""
    _, first, last = data.period_months(period)
    return last - first + 1


def period_text(period: str) -> str:
    """A period in words: '2019', 'the first quarter of 2025', 'the first half of 2021', 'January–July 2021'."""
    year, first, last = data.period_months(period)
    if first == 1 and last == 12:
        return str(year)
    tail = period[5:]
    if tail.startswith("Q"):
        return f"the {_QUARTERS[int(tail[1])]} quarter of {year}"
    if tail == "H1":
        return f"the first half of {year}"
    return f"{_MONTHS[first - 1]}–{_MONTHS[last - 1]} {year}"


def period_kind(period: str) -> str:
    """'year', 'quarter', 'half-year' or 'period' (for sentences such as 'the same quarter a year earlier')."""
    if len(period) == 4:
        return "year"
    tail = period[5:]
    return "quarter" if tail.startswith("Q") else "half-year" if tail == "H1" else "period"


def national_rows(periods, system: str = "ministry", measures=None, data_dir=DATA_DIR) -> pd.DataFrame:
    """National figures (annual and year-to-date, published and derived) for the given periods, with their sources.

    Columns: period, measure, value, derived, formula, publisher, url, quote.
    """
    ytd = data.load_national_ytd(data_dir)
    annual = data.load_national_annual(data_dir).assign(period=lambda d: d["year"].astype(str))
    rows = pd.concat([ytd, annual], ignore_index=True)
    sel = rows["period"].isin(list(periods)) & (rows["system"] == system)
    if measures is not None:
        sel &= rows["measure"].isin(list(measures))
    rows = rows[sel].copy()
    sources = data.load_sources(data_dir).set_index("source_id")
    for col in ("publisher", "url", "quote"):
        rows[col] = rows["source_id"].map(sources[col])
    return rows[["period", "measure", "value", "preferred", "derived", "formula", "publisher", "url", "quote",
                 "source_id"]].reset_index(drop=True)


_DERIVED_FROM = re.compile(r"derived from the (\S+) release")


def ministry_releases(data_dir=DATA_DIR, first_year: int | None = None,
                      include_derived: bool = True) -> tuple[ytd_model.Release, ...]:
    """The Ministry's cumulative 'injured' counts from January (year-to-date releases and annual totals) as
    :class:`analysis.stats.ytd_model.Release` records, each with the time it became public.

    Parameters
    ----------
    data_dir : path, optional
        The data folder.
    first_year : int, optional
        Keep years from this one on (None: every year).
    include_derived : bool, default True
        Also the counts back-calculated from a later release's percent change (``derived``, with their formula).

    Returns
    -------
    tuple of Release
        A published figure is public at the end of its period (``year + last_month/12``, the model's default); a
        derived one when the release it was computed from appeared: "derived from the 2021-01..04 release" is
        ``2021 + 4/12``, from the annual release of year Y it is ``Y + 1``.
    """
    ytd = data.load_national_ytd(data_dir, include_derived=include_derived)
    ytd = ytd[(ytd["system"] == "ministry") & ytd["preferred"] & (ytd["first_month"] == 1)
              & (ytd["measure"] == "injured")]
    ann = data.load_national_annual(data_dir, include_derived=include_derived)
    ann = ann[(ann["system"] == "ministry") & ann["preferred"] & (ann["measure"] == "injured")]
    rows = [(r.year, r.last_month, r.value, r.derived, r.formula, r.note, "national_ytd", r.period)
            for r in ytd.itertuples()]
    rows += [(r.year, 12, r.value, r.derived, r.formula, r.note, "national_annual", str(r.year))
             for r in ann.itertuples()]
    if first_year is not None:
        rows = [r for r in rows if r[0] >= first_year]
    available = []
    for _, _, _, derived, _, note, table, period in rows:
        if not derived:
            available.append(None)
            continue
        found = _DERIVED_FROM.search(str(note))
        if found is None:
            raise ValueError(f"{table} {period}: a derived figure must name the release it comes from in its note "
                             f"('derived from the <period> release'), got {note!r}")
        src_year, _, src_last = data.period_months(found.group(1))
        available.append(src_year + src_last / 12)
    return ytd_model.make_releases([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                                   derived=[bool(r[3]) for r in rows], available=available,
                                   formula=[None if pd.isna(r[4]) else str(r[4]) for r in rows])
