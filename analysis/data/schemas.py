"""The rules every data file obeys: columns, types, plausible bounds, the key that identifies one figure, and the
files whose contents the rules need. One home for these rules: the loaders and the release tool both use them.

Each data file ``data/<stem>.csv`` has a :class:`FileSpec` in :data:`FILES`. A figure is identified by the file's
``key`` columns; a key may repeat only as a *documented conflict*: in files with a ``preferred`` column, exactly
one row of the group is preferred, and every non-preferred row whose value differs carries a note.

Source ids: ``F<n>`` = line n of the shared ledger ``kz_injury_facts.csv``, ``D<n>`` = line n of
``kz_denominators.csv`` (both copied by ``scripts/curate_ledger.py``); ``R<n>`` = the n-th source added by the
release tool (``python -m analysis.releases add``), with no ledger row but a publication date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd


class _Pandera:
    """``pandera.pandas``, imported on first use: a process that finds every table in the validated cache (see
    :mod:`analysis.data.loaders`) never pays for importing pandera."""

    def __getattr__(self, name):
        import pandera.pandas

        return getattr(pandera.pandas, name)


pa = _Pandera()

SYSTEMS = ("ministry", "bns")
COUNT_MEASURES = {
    "injured", "fatal", "accidents", "fatal_accidents", "victims", "group_accident_victims",
    "occupational_disease_victims", "victims_large_medium", "victims_small",
}
NATIONAL_MEASURES = COUNT_MEASURES | {
    "rate_per_1000", "injured_pct_change_yoy", "fatal_pct_change_yoy", "victims_pct_change_yoy",
    "injured_pct_change_5y", "injured_pct_change_6y", "fatal_rate_per_100k", "nonfatal_rate_per_100k",
    "victims_change_abs_yoy", "fatal_change_abs_yoy",
}
PCT_MEASURES = {"injured_pct_change_yoy", "fatal_pct_change_yoy", "victims_pct_change_yoy"}
MULTI_YEAR_MEASURES = {"injured_pct_change_5y", "injured_pct_change_6y"}
ABS_MEASURES = {"victims_change_abs_yoy": "victims", "fatal_change_abs_yoy": "fatal"}
RATE_SCALE = {"rate_per_1000": 1_000, "fatal_rate_per_100k": 100_000, "nonfatal_rate_per_100k": 100_000}
PERIOD_RE = r"^\d{4}(-(Q[1-4]|H1|01\.\.(0[1-9]|1[01])))?$"
SOURCE_ID_RE = r"^[FDIR]\d+$"
LEDGER_FILES = {"F": "kz_injury_facts.csv", "D": "kz_denominators.csv", "I": "international_facts.csv"}

# Plausibility bounds. Every count is a finite integer in [0, bound]; beyond the bound a figure is a typo, a unit
# error (thousands written out twice) or an injected value, never data. They also keep every later cast and product
# far from float/int64 limits (no OverflowError, no silent wrong integer cast).
MAX_COUNT = 10**7
"""Injured, deaths, accidents, victims: 10 million is more than every employed person in Kazakhstan (9.3 million,
LFS 2024) injured once in a year, so no injury count can exceed it."""
MAX_PEOPLE = 10**8
"""Population and employment: 100 million is five times the population of Kazakhstan (20.3 million, 2025)."""
MAX_PCT_CHANGE = 10**4
"""A percent change above +10,000% (a 101-fold rise) is not a published national change; below -100% is
impossible for a count."""
MAX_LEDGER_LINE = 10**7
"""Ledger line numbers (the ledgers have a few hundred lines)."""


class DataError(ValueError):
    """A data file failed validation; carries file, line (1-based, header = 1), column and problem.

    ``other_line`` is the second line a problem involves (e.g. the first row of a duplicated key), else None.
    """

    def __init__(self, file: str, line: int | None, column: str | None, problem: str, other_line: int | None = None):
        self.file, self.line, self.column, self.problem = file, line, column, problem
        self.other_line = other_line
        where = ", ".join(x for x in [file, f"line {line}" if line else "", f"column '{column}'" if column else ""] if x)
        super().__init__(f"{where}: {problem}")


# ---------------------------------------------------------------- periods
def period_months(period: str) -> tuple[int, int, int]:
    """(year, first_month, last_month) of a canonical period: '2024', '2025-Q1', '2021-H1', '2021-01..07'.

    Quarters other than Q1 are the quarter itself (labour-force survey); Q1, H1 and '01..MM' are cumulative.

    Parameters
    ----------
    period : str
        A canonical period (see :func:`canonical_period`).

    Returns
    -------
    year : int
        The calendar year.
    first_month, last_month : int
        The first and last month covered (1-12).

    Raises
    ------
    ValueError
        When ``period`` is not a canonical period string.
    """
    if not isinstance(period, str) or not re.match(PERIOD_RE, period):
        raise ValueError(f"period must look like 2024, 2025-Q1, 2021-H1 or 2021-01..07, got {period!r}")
    year = int(period[:4])
    if len(period) == 4:
        return year, 1, 12
    tail = period[5:]
    if tail.startswith("Q"):
        q = int(tail[1])
        return year, 3 * q - 2, 3 * q
    if tail == "H1":
        return year, 1, 6
    return year, 1, int(tail[-2:])


def shift_period(period: str, years: int) -> str:
    """The same period ``years`` later (negative: earlier).

    Parameters
    ----------
    period : str
        A canonical period ('2024', '2025-Q1', '2021-H1', '2021-01..07').
    years : int
        Years to add (negative to go back).

    Returns
    -------
    str
        The period with its year shifted ('2025-Q1', -1 -> '2024-Q1').

    Raises
    ------
    ValueError
        When ``period`` is not a canonical period string.
    """
    period_months(period)
    return f"{int(period[:4]) + years}{period[4:]}"


def canonical_period(period) -> str:
    """The canonical spelling of a period: '2025-01..06' -> '2025-H1', '2025-01..03' -> '2025-Q1',
    '2025-01..12' -> '2025'; canonical forms ('2024', '2025-Q1', '2021-H1', '2021-01..07') and an integer year pass.

    Parameters
    ----------
    period : str or int
        A period as a person writes it.

    Returns
    -------
    str
        The form the data files use, so one figure always has one key.
    """
    if isinstance(period, (int, np.integer)) and not isinstance(period, bool):
        period = str(int(period))
    if not isinstance(period, str):
        raise ValueError(f"period must be text like 2025-Q1 or 2025-01..06, got {type(period).__name__} {period!r}")
    text = period.strip()
    m = re.fullmatch(r"(\d{4})-01\.\.(\d{2})", text)
    if m and 1 <= int(m.group(2)) <= 12:
        last = int(m.group(2))
        return {3: f"{m.group(1)}-Q1", 6: f"{m.group(1)}-H1", 12: m.group(1)}.get(last, f"{m.group(1)}-01..{last:02d}")
    period_months(text)
    return text


def _rowwise(s: pd.Series, ok) -> pd.Series:
    """``ok(value)`` for each non-missing value (missing values pass: nullability is checked separately)."""
    return pd.Series([pd.isna(x) or bool(ok(x)) for x in s], index=s.index, dtype=bool)


def _canonical_period_ok(s: pd.Series) -> pd.Series:
    return _rowwise(s, lambda p: re.match(PERIOD_RE, p) is not None and canonical_period(p) == p)


# ---------------------------------------------------------------- numbers
NUMBER_RE = re.compile(r"[+-]?\d+(\.\d+)?")


def parse_number(text) -> float:
    """A plain decimal number ('293', '-16.8', '0.04'); refuses 'inf', 'nan', exponents, thousands separators.

    Raises ``ValueError`` naming the text.

    Parameters
    ----------
    text : str
        The field as written in the file.

    Returns
    -------
    float
        The number.

    Raises
    ------
    ValueError
        Naming ``text`` when it is not a plain decimal number.
    """
    if not isinstance(text, str) or not NUMBER_RE.fullmatch(text.strip()):
        raise ValueError(f"value {text!r} is not a plain decimal number (digits, optional sign and decimals)")
    return float(text)


def _is_int(v: pd.Series) -> pd.Series:
    return np.isfinite(v) & (v == v.round())


def _int_in(lo: float, hi: float, name: str) -> pa.Check:
    return pa.Check(lambda s: _is_int(s) & (s >= lo) & (s <= hi), name=f"{name} must be an integer in [{lo:,}, {hi:,}]")


def _real_date(s: pd.Series) -> pd.Series:
    def ok(x) -> bool:
        try:
            date.fromisoformat(x)
            return True
        except (TypeError, ValueError):
            return False
    return _rowwise(s, ok)


def _date_col(nullable: bool = False) -> pa.Column:
    return pa.Column(str, [pa.Check.str_matches(r"^\d{4}-\d{2}-\d{2}$"),
                           pa.Check(_real_date, name="a real calendar date")], nullable=nullable)


# ---------------------------------------------------------------- measure-wise value checks (long tables)
def _national_checks() -> list[pa.Check]:
    """Value rules by measure kind. Named "<column>: <rule>" so an error names the column (loaders._explain)."""
    def by_measure(select, rule, name):
        return pa.Check(lambda df: ~select(df["measure"]) | rule(df["value"]), name=f"value: {name}")
    is_pct = lambda m: m.str.contains("pct_change", na=False)  # noqa: E731
    return [
        by_measure(lambda m: m.isin(COUNT_MEASURES), lambda v: _is_int(v) & (v >= 0) & (v <= MAX_COUNT),
                   f"counts must be integers in [0, {MAX_COUNT:,}]"),
        by_measure(is_pct, lambda v: (v > -100) & (v <= MAX_PCT_CHANGE),
                   f"percent changes must be > -100 and <= {MAX_PCT_CHANGE:,}"),
        by_measure(lambda m: m.isin(ABS_MEASURES), lambda v: _is_int(v) & (v.abs() <= MAX_COUNT),
                   f"absolute changes must be integers within +-{MAX_COUNT:,}"),
        *[by_measure(lambda m, r=rate: m == r, lambda v, s=scale: (v >= 0) & (v <= s),
                     f"{rate} must be in [0, {scale:,}]") for rate, scale in RATE_SCALE.items()],
    ]


def _share_or_count_checks(share_measure: str, bound: int, what: str) -> list[pa.Check]:
    """Shares of ``share_measure`` in [0, 100]; every other measure an integer count in [0, bound]."""
    def shares(df):
        return (df["measure"] != share_measure) | ((df["value"] >= 0) & (df["value"] <= 100))

    def counts(df):
        v = df["value"]
        return (df["measure"] == share_measure) | (_is_int(v) & (v >= 0) & (v <= bound))

    return [pa.Check(shares, name="value: shares must be in [0, 100]"),
            pa.Check(counts, name=f"value: {what} must be integers in [0, {bound:,}]")]


# ---------------------------------------------------------------- file specifications
@dataclass(frozen=True)
class FileSpec:
    """What one data file holds and the rules it obeys.

    Attributes
    ----------
    name : str
        File stem (``data/<name>.csv``).
    key : tuple of str
        Columns that identify one figure; a repeated key is an error unless it is a documented conflict.
    refs : tuple of str
        Files whose contents this file's rules need (region and sector names, source ids); loading this file
        reads and validates them too.
    numbers : dict
        Numeric columns: 'int' (cast to int64 after the checks), 'Int64' (nullable integer) or 'float'.
        Parsed from their text by :func:`parse_number`, so 'inf', 'nan' and '1e300' never reach a check.
    booleans : tuple of str
        'true'/'false' columns, returned as bool.
    doc : str
        One line on what a row is.
    """

    name: str
    key: tuple[str, ...]
    refs: tuple[str, ...] = ()
    numbers: tuple[tuple[str, str], ...] = ()
    booleans: tuple[str, ...] = ()
    doc: str = ""

    @property
    def conflicts_allowed(self) -> bool:
        """A repeated key is allowed as a documented conflict (the file has a ``preferred`` column)."""
        return "preferred" in self.booleans


FILES: dict[str, FileSpec] = {s.name: s for s in [
    FileSpec("sources", ("source_id",), numbers=(("ledger_line", "Int64"),),
             doc="one source: publisher, URL, exact quote; F/D = ledger line, R = added by the release tool"),
    FileSpec("regions", ("region",), doc="the 20 first-level units after the June 2022 reform"),
    FileSpec("region_aliases", ("alias",), refs=("regions",), doc="a spelling of a region -> its canonical name"),
    FileSpec("sectors", ("sector",), doc="a sector id and its definition"),
    FileSpec("national_annual", ("year", "system", "measure"), refs=("sources",),
             numbers=(("year", "int"), ("value", "float")), booleans=("preferred",),
             doc="one national annual figure of one system"),
    FileSpec("national_ytd", ("period", "system", "measure"), refs=("sources",),
             numbers=(("year", "int"), ("value", "float")), booleans=("preferred",),
             doc="one national year-to-date figure (cumulative from January)"),
    FileSpec("regional", ("period", "system", "region", "measure"), refs=("regions", "sources"),
             numbers=(("value", "float"),), booleans=("preferred",), doc="one regional count of one release"),
    FileSpec("sectoral", ("period", "system", "sector", "measure"), refs=("sectors", "sources"),
             numbers=(("value", "float"),), booleans=("preferred",), doc="one sector count or share of one release"),
    FileSpec("workforce", ("period", "geography", "sector", "measure", "basis"), refs=("regions", "sectors", "sources"),
             numbers=(("value", "float"),), booleans=("approximate",),
             doc="one employment denominator on one basis (LFS, enterprise, census, government)"),
    FileSpec("population", ("date", "geography", "borders"), refs=("regions", "sources"),
             numbers=(("value", "float"),), booleans=("preferred", "approximate"),
             doc="one resident population figure at a date"),
    FileSpec("events", ("year", "date", "site"), refs=("regions", "sources"),
             numbers=(("year", "int"), ("deaths", "int"), ("injured", "float")),
             doc="one mass-casualty accident"),
    FileSpec("international", ("register", "geography", "period", "metric"), refs=("sources",),
             numbers=(("year", "Int64"), ("value", "float"), ("value_high", "float")), booleans=("preferred",),
             doc="one figure of another country's registration system, with its definition (notebook 09)"),
]}
DATA_FILES: tuple[str, ...] = tuple(FILES)
"""Every data file stem the loaders read (``data/<stem>.csv``). ``curation_log.csv`` is documentation of what the
curation left out and is read by nothing."""


def file_dependencies(name: str) -> tuple[str, ...]:
    """The stems loading ``name`` reads: the file itself and, transitively, the files its rules reference.

    Parameters
    ----------
    name : str
        A data file stem (one of :data:`DATA_FILES`).

    Returns
    -------
    tuple of str
        ``name`` first, then its references in a stable order (e.g. regional -> regional, regions, sources).
    """
    if name not in FILES:
        raise ValueError(f"unknown data file {name!r}; data files: {', '.join(DATA_FILES)}")
    out = [name]
    for r in FILES[name].refs:
        out += [x for x in file_dependencies(r) if x not in out]
    return tuple(out)


def _src_col() -> pa.Column:
    return pa.Column(str, pa.Check.str_matches(SOURCE_ID_RE), nullable=False)


def _note() -> pa.Column:
    return pa.Column(str, nullable=True, required=False)


def _bool_col():
    return pa.Column(str, pa.Check.isin(["true", "false"]), nullable=False)


def _period_col():
    return pa.Column(str, [pa.Check.str_matches(PERIOD_RE),
                           pa.Check(_canonical_period_ok, name="canonical period (2025-Q1 not 2025-01..03, "
                                                                 "2025-H1 not 2025-01..06, 2025 not 2025-01..12)")])


def _year_col():
    return pa.Column(float, _int_in(1990, 2100, "year"))


def _ledger_ok(df: pd.DataFrame) -> pd.Series:
    """F<n>/D<n>: ledger_file and ledger_line match the id; R<n>: no ledger fields, a publication date."""
    kind = df["source_id"].str[:1]
    number = pd.to_numeric(df["source_id"].str[1:], errors="coerce")
    ledger = kind.isin(list(LEDGER_FILES))
    ok_ledger = (df["ledger_file"] == kind.map(LEDGER_FILES)) & (df["ledger_line"] == number)
    ok_ledger &= df["ledger_metric"].notna() & df["ledger_period"].notna()
    blank = df[["ledger_file", "ledger_line", "ledger_metric", "ledger_period", "ledger_notes"]].isna().all(axis=1)
    ok_added = (kind == "R") & blank & df["published"].notna()
    return (ledger & ok_ledger.fillna(False).astype(bool)) | ok_added


def _ytd_ok(df: pd.DataFrame) -> pd.Series:
    p = df["period"].astype(str)
    tail = p.str[5:]
    return (df["year"] == pd.to_numeric(p.str[:4], errors="coerce")) & (p.str.len() > 4) & ~tail.isin(
        ["Q2", "Q3", "Q4"]) & ~df["measure"].isin(MULTI_YEAR_MEASURES)


@lru_cache(maxsize=64)
def schema(name: str, regions: frozenset[str] = frozenset(), sectors: frozenset[str] = frozenset()
           ) -> pa.DataFrameSchema:
    """The pandera schema of ``data/<name>.csv``, given the known region and sector names.

    Text columns arrive as strings and numeric columns as floats (parsed by :func:`parse_number`), so nothing
    is coerced: the checks see exactly what the file says.

    Parameters
    ----------
    name : str
        The file stem, a key of :data:`FILES`.
    regions : frozenset of str, optional
        The canonical region names (from ``regions.csv``) that region columns may hold.
    sectors : frozenset of str, optional
        The sector ids (from ``sectors.csv``) that sector columns may hold.

    Returns
    -------
    pandera.DataFrameSchema
        The columns, their types and the row and table checks of the file.

    References
    ----------
    .. [1] pandera, "DataFrameSchema", https://pandera.readthedocs.io/en/stable/dataframe_schemas.html
    """
    region_or_kz = pa.Check.isin(sorted(regions | {"Kazakhstan"}), name="known region")
    common = {"source_id": _src_col(), "note": _note()}
    count = pa.Column(float, _int_in(0, MAX_COUNT, "count"))
    if name == "sources":
        return pa.DataFrameSchema({
            "source_id": pa.Column(str, [pa.Check.str_matches(SOURCE_ID_RE)]),
            "publisher": pa.Column(str), "url": pa.Column(str, pa.Check.str_matches(r"^https?://\S+$")),
            "quote": pa.Column(str), "language": pa.Column(str, pa.Check.str_matches(r"^[a-z]{2}(-[A-Za-z]+)?$")),
            "ledger_file": pa.Column(str, nullable=True),
            "ledger_line": pa.Column(float, _int_in(2, MAX_LEDGER_LINE, "ledger line"), nullable=True),
            "ledger_metric": pa.Column(str, nullable=True), "ledger_period": pa.Column(str, nullable=True),
            "ledger_notes": pa.Column(str, nullable=True), "published": _date_col(nullable=True),
        }, checks=[pa.Check(_ledger_ok, name="source_id: F<n>/D<n> must match ledger_file and ledger_line = n; "
                                            "R<n> (added by the release tool) has no ledger fields and a published date")],
            coerce=False, strict=True)
    if name == "regions":
        return pa.DataFrameSchema({
            "region": pa.Column(str), "kind": pa.Column(str, pa.Check.isin(["region", "city"])),
            "name_ru": pa.Column(str), "name_kk_latin": pa.Column(str),
            "created": _date_col(nullable=True), "part_of_before_2022": pa.Column(str, nullable=True),
        }, coerce=False, strict=True)
    if name == "region_aliases":
        return pa.DataFrameSchema({
            "alias": pa.Column(str), "region": pa.Column(str, pa.Check.isin(sorted(regions), name="known region")),
        }, coerce=False, strict=True)
    if name == "sectors":
        return pa.DataFrameSchema({
            "sector": pa.Column(str, pa.Check.str_matches(r"^[a-z_]+$")),
            "system_scope": pa.Column(str, pa.Check.isin(["ministry", "bns", "both"])),
            "name": pa.Column(str), "note": _note(),
        }, coerce=False, strict=True)
    if name == "national_annual":
        return pa.DataFrameSchema({
            "year": _year_col(), "system": pa.Column(str, pa.Check.isin(SYSTEMS)),
            "measure": pa.Column(str, pa.Check.isin(sorted(NATIONAL_MEASURES))),
            "value": pa.Column(float), "preferred": _bool_col(), **common,
        }, checks=_national_checks(), coerce=False, strict=True)
    if name == "national_ytd":
        return pa.DataFrameSchema({
            "year": _year_col(), "period": _period_col(), "system": pa.Column(str, pa.Check.isin(SYSTEMS)),
            "measure": pa.Column(str, pa.Check.isin(sorted(NATIONAL_MEASURES))),
            "value": pa.Column(float), "preferred": _bool_col(), **common,
        }, checks=_national_checks() + [pa.Check(
            _ytd_ok, name="period: a year-to-date period cumulative from January (2025-Q1, 2025-H1, 2025-01..09; "
                          "not an annual, Q2-Q4 or multi-year figure) whose year matches the 'year' column")],
            coerce=False, strict=True)
    if name == "regional":
        return pa.DataFrameSchema({
            "period": _period_col(), "system": pa.Column(str, pa.Check.isin(SYSTEMS)),
            "region": pa.Column(str, pa.Check.isin(sorted(regions), name="known region")),
            "region_as_published": pa.Column(str),
            "borders": pa.Column(str, pa.Check.isin(["pre-2022", "post-2022", "unknown"])),
            "measure": pa.Column(str, pa.Check.isin(["injured", "fatal", "accidents", "fatal_accidents", "victims"])),
            "value": count, "preferred": _bool_col(), **common,
        }, coerce=False, strict=True)
    if name == "sectoral":
        return pa.DataFrameSchema({
            "period": _period_col(), "system": pa.Column(str, pa.Check.isin(SYSTEMS)),
            "sector": pa.Column(str, pa.Check.isin(sorted(sectors), name="known sector")),
            "sector_as_published": pa.Column(str),
            "measure": pa.Column(str, pa.Check.isin(["injured", "victims", "fatal", "share_pct"])),
            "value": pa.Column(float, pa.Check.ge(0)), "preferred": _bool_col(), **common,
        }, checks=_share_or_count_checks("share_pct", MAX_COUNT, "counts"), coerce=False, strict=True)
    if name == "workforce":
        return pa.DataFrameSchema({
            "period": _period_col(), "geography": pa.Column(str, region_or_kz),
            "sector": pa.Column(str, pa.Check.isin(sorted(sectors), name="known sector"), nullable=True),
            "measure": pa.Column(str, pa.Check.isin(["employed", "hired_employees", "self_employed",
                                                     "employed_share_pct"])),
            "value": pa.Column(float, pa.Check.gt(0)),
            "basis": pa.Column(str, pa.Check.isin(["LFS", "LFS (third-party scrape)", "enterprise", "government",
                                                   "census"])),
            "approximate": _bool_col(), **common,
        }, checks=_share_or_count_checks("employed_share_pct", MAX_PEOPLE, "persons"), coerce=False, strict=True)
    if name == "population":
        return pa.DataFrameSchema({
            "date": _date_col(), "geography": pa.Column(str, region_or_kz),
            "borders": pa.Column(str, pa.Check.isin(["pre-2022", "post-2022"])),
            "value": pa.Column(float, [pa.Check.gt(0), _int_in(1, MAX_PEOPLE, "persons")]),
            "preferred": _bool_col(), "approximate": _bool_col(), **common,
        }, coerce=False, strict=True)
    if name == "events":
        return pa.DataFrameSchema({
            "year": _year_col(), "date": _date_col(nullable=True),
            "site": pa.Column(str), "region": pa.Column(str, pa.Check.isin(sorted(regions), name="known region")),
            "sector": pa.Column(str),
            "deaths": count, "injured": pa.Column(float, _int_in(0, MAX_COUNT, "count"), nullable=True),
            **common,
        }, checks=[pa.Check(lambda df: df["date"].isna() | (df["date"].str[:4] == df["year"].map(
            lambda y: f"{y:.0f}" if np.isfinite(y) else "")), name="date: must fall in the row's year")],
            coerce=False, strict=True)
    if name == "international":
        text, optional = pa.Column(str), pa.Column(str, nullable=True)
        return pa.DataFrameSchema({
            "comparator": pa.Column(str, pa.Check.str_matches(r"^[a-z_]+$")),
            "register": text, "geography": text, "period": text,
            "year": pa.Column(float, pa.Check.in_range(1900, 2100), nullable=True),
            "metric": pa.Column(str, pa.Check.isin(INTERNATIONAL_METRICS)),
            "value": pa.Column(float, [pa.Check.ge(0), pa.Check.le(MAX_PEOPLE * 100)], nullable=True),
            "value_high": pa.Column(float, [pa.Check.ge(0), pa.Check.le(MAX_PEOPLE * 100)], nullable=True),
            "unit": text,
            "deaths_in_count": pa.Column(str, pa.Check.isin(DEATHS_IN_COUNT), nullable=True),
            "absence_threshold": optional, "self_employed": optional, "commuting": optional, "coverage": text,
            "preferred": _bool_col(), "definition": optional,
            "source_id": pa.Column(str, pa.Check.str_matches(r"^I\d+$")), "note": optional,
        }, checks=_international_checks(), strict=True, coerce=False)
    raise ValueError(f"unknown data file {name!r}; data files: {', '.join(DATA_FILES)}")


# ---------------------------------------------------------------- international comparators (notebook 09)
INTERNATIONAL_COUNTS = ("fatal_injuries", "nonfatal_injuries", "nonfatal_injuries_selfreported",
                        "nonfatal_injuries_and_illnesses", "nonfatal_injuries_days_away")
INTERNATIONAL_RATES = ("fatal_rate_per_100k", "nonfatal_rate_per_100k", "nonfatal_rate_per_1000")
INTERNATIONAL_METRICS = (*INTERNATIONAL_COUNTS, *INTERNATIONAL_RATES, "ratio_statement", "definition")
DEATHS_IN_COUNT = ("yes", "no", "not stated")


def _international_checks() -> list[pa.Check]:
    def figure_has_value(df):  # every count and rate has a value; statements and definitions may be qualitative
        return ~df["metric"].isin([*INTERNATIONAL_COUNTS, *INTERNATIONAL_RATES]) | df["value"].notna()

    def count_is_whole(df):
        return ~df["metric"].isin(INTERNATIONAL_COUNTS) | (df["value"] == df["value"].round())

    def range_is_ordered(df):
        return df["value_high"].isna() | (df["value_high"] >= df["value"])

    def deaths_stated_for_counts(df):  # a non-fatal count must say whether the deaths are inside it
        nonfatal = df["metric"].isin(INTERNATIONAL_COUNTS) & (df["metric"] != "fatal_injuries")
        return ~nonfatal | df["deaths_in_count"].notna()

    return [pa.Check(figure_has_value, name="value: a count or rate needs a value"),
            pa.Check(count_is_whole, name="value: counts must be whole numbers"),
            pa.Check(range_is_ordered, name="value_high: the upper end of a range must not be below value"),
            pa.Check(deaths_stated_for_counts, name="deaths_in_count: a non-fatal count must say yes, no or "
                                                    "not stated")]


# ---------------------------------------------------------------- sources
def detect_language(text: str) -> str:
    """Language tag of a quote from its script: 'kk-Arab', 'kk', 'ru', 'kk-Latn' or 'en'.

    Parameters
    ----------
    text : str
        The quote.

    Returns
    -------
    str
        'kk-Arab' for Arabic script, 'kk' for Cyrillic with Kazakh-only letters, 'ru' for other Cyrillic,
        'kk-Latn' for the Kazakh Latin alphabet's accented letters, else 'en'.
    """
    if re.search(r"[\u0600-\u06ff]", text):
        return "kk-Arab"
    if re.search(r"[әғқңөұүһіӘҒҚҢӨҰҮҺІ]", text):
        return "kk"
    if re.search(r"[а-яА-ЯёЁ]", text):
        return "ru"
    if re.search(r"[áúńóıǵ]", text):
        return "kk-Latn"
    return "en"
