"""Loaders for data/*.csv: typed DataFrames validated by pandera, with clear errors.

Every published figure carries a ``source_id`` that exists in ``sources.csv`` (``F213`` = line 213 of the
shared ledger ``kz_injury_facts.csv``). Derived figures are never stored: they are recomputed here from the
published ones (``derived`` column True, ``formula`` giving the arithmetic). A bad file raises ``DataError``
naming the file, the line, the column and what is wrong.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from analysis.core.paths import DATA_DIR

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
ABS_MEASURES = {"victims_change_abs_yoy": "victims", "fatal_change_abs_yoy": "fatal"}
PERIOD_RE = r"^\d{4}(-(Q[1-4]|H1|01\.\.(0[1-9]|1[01])))?$"
NEW_REGIONS_2022 = {"Abai": "East Kazakhstan", "Jetisu": "Almaty region", "Ulytau": "Karaganda"}


class DataError(ValueError):
    """A data file failed validation; carries file, line (1-based, header = 1), column and problem."""

    def __init__(self, file: str, line: int | None, column: str | None, problem: str):
        self.file, self.line, self.column, self.problem = file, line, column, problem
        where = ", ".join(x for x in [file, f"line {line}" if line else "", f"column '{column}'" if column else ""] if x)
        super().__init__(f"{where}: {problem}")


# ---------------------------------------------------------------- periods
def period_months(period: str) -> tuple[int, int, int]:
    """(year, first_month, last_month) of a canonical period: '2024', '2025-Q1', '2021-H1', '2021-01..07'.

    Quarters other than Q1 are the quarter itself (labour-force survey); Q1, H1 and '01..MM' are cumulative.
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
    """The same period ``years`` later (negative: earlier)."""
    period_months(period)
    return f"{int(period[:4]) + years}{period[4:]}"


# ---------------------------------------------------------------- schemas
def _src_col() -> pa.Column:
    return pa.Column(str, pa.Check.str_matches(r"^[FD]\d+$"), nullable=False)


def _note() -> pa.Column:
    return pa.Column(str, nullable=True, required=False)


_BOOL = pa.Column(str, pa.Check.isin(["true", "false"]), nullable=False)


def _count_rows_ok(df: pd.DataFrame) -> pd.Series:
    is_count = df["measure"].isin(COUNT_MEASURES)
    v = df["value"]
    return ~is_count | ((v >= 0) & (v == v.round()))


def _pct_rows_ok(df: pd.DataFrame) -> pd.Series:
    is_pct = df["measure"].str.contains("pct_change")
    return ~is_pct | (df["value"] > -100)


def _long_checks() -> list[pa.Check]:
    return [
        pa.Check(_count_rows_ok, name="value: counts must be non-negative integers"),
        pa.Check(_pct_rows_ok, name="value: percent changes must be > -100"),
    ]


def _schemas(regions: frozenset[str], sectors: frozenset[str]) -> dict[str, pa.DataFrameSchema]:
    region_or_kz = pa.Check.isin(sorted(regions | {"Kazakhstan"}), name="known region")
    common = {"source_id": _src_col(), "note": _note()}
    return {
        "sources": pa.DataFrameSchema({
            "source_id": pa.Column(str, [pa.Check.str_matches(r"^[FDI]\d+$")], unique=True),
            "publisher": pa.Column(str), "url": pa.Column(str, pa.Check.str_matches(r"^https?://")),
            "quote": pa.Column(str), "language": pa.Column(str),
            "ledger_file": pa.Column(str), "ledger_line": pa.Column(int, pa.Check.ge(2)),
            "ledger_metric": pa.Column(str), "ledger_period": pa.Column(str),
            "ledger_notes": pa.Column(str, nullable=True),
        }, coerce=True, strict=True),
        "regions": pa.DataFrameSchema({
            "region": pa.Column(str, unique=True), "kind": pa.Column(str, pa.Check.isin(["region", "city"])),
            "name_ru": pa.Column(str), "name_kk_latin": pa.Column(str),
            "created": pa.Column(str, nullable=True), "part_of_before_2022": pa.Column(str, nullable=True),
        }, coerce=True, strict=True),
        "region_aliases": pa.DataFrameSchema({
            "alias": pa.Column(str, unique=True), "region": pa.Column(str, pa.Check.isin(sorted(regions))),
        }, coerce=True, strict=True),
        "sectors": pa.DataFrameSchema({
            "sector": pa.Column(str, unique=True), "system_scope": pa.Column(str, pa.Check.isin(["ministry", "bns", "both"])),
            "name": pa.Column(str), "note": _note(),
        }, coerce=True, strict=True),
        "national_annual": pa.DataFrameSchema({
            "year": pa.Column(int, pa.Check.in_range(1990, 2100)),
            "system": pa.Column(str, pa.Check.isin(SYSTEMS)),
            "measure": pa.Column(str, pa.Check.isin(sorted(NATIONAL_MEASURES))),
            "value": pa.Column(float), "preferred": _BOOL, **common,
        }, checks=_long_checks(), coerce=True, strict=True),
        "national_ytd": pa.DataFrameSchema({
            "year": pa.Column(int, pa.Check.in_range(1990, 2100)),
            "period": pa.Column(str, pa.Check.str_matches(PERIOD_RE)),
            "system": pa.Column(str, pa.Check.isin(SYSTEMS)),
            "measure": pa.Column(str, pa.Check.isin(sorted(NATIONAL_MEASURES))),
            "value": pa.Column(float), "preferred": _BOOL, **common,
        }, checks=_long_checks(), coerce=True, strict=True),
        "regional": pa.DataFrameSchema({
            "period": pa.Column(str, pa.Check.str_matches(PERIOD_RE)),
            "system": pa.Column(str, pa.Check.isin(SYSTEMS)),
            "region": pa.Column(str, pa.Check.isin(sorted(regions), name="known region")),
            "region_as_published": pa.Column(str),
            "borders": pa.Column(str, pa.Check.isin(["pre-2022", "post-2022", "unknown"])),
            "measure": pa.Column(str, pa.Check.isin(["injured", "fatal", "accidents", "fatal_accidents", "victims"])),
            "value": pa.Column(float, [pa.Check.ge(0), pa.Check(lambda s: s == s.round(), name="integer count")]),
            **common,
        }, coerce=True, strict=True),
        "sectoral": pa.DataFrameSchema({
            "period": pa.Column(str, pa.Check.str_matches(PERIOD_RE)),
            "system": pa.Column(str, pa.Check.isin(SYSTEMS)),
            "sector": pa.Column(str, pa.Check.isin(sorted(sectors), name="known sector")),
            "sector_as_published": pa.Column(str),
            "measure": pa.Column(str, pa.Check.isin(["injured", "victims", "fatal", "share_pct"])),
            "value": pa.Column(float, pa.Check.ge(0)), **common,
        }, checks=[pa.Check(lambda df: (df["measure"] != "share_pct") | (df["value"] <= 100),
                            name="value: shares must be in [0, 100]"),
                   pa.Check(lambda df: (df["measure"] == "share_pct") | (df["value"] == df["value"].round()),
                            name="value: counts must be integers")],
            coerce=True, strict=True),
        "workforce": pa.DataFrameSchema({
            "period": pa.Column(str, pa.Check.str_matches(PERIOD_RE)),
            "geography": pa.Column(str, region_or_kz),
            "sector": pa.Column(str, pa.Check.isin(sorted(sectors), name="known sector"), nullable=True),
            "measure": pa.Column(str, pa.Check.isin(["employed", "hired_employees", "self_employed", "employed_share_pct"])),
            "value": pa.Column(float, pa.Check.gt(0)),
            "basis": pa.Column(str, pa.Check.isin(["LFS", "LFS (third-party scrape)", "enterprise", "government", "census"])),
            "approximate": _BOOL, **common,
        }, checks=[pa.Check(lambda df: (df["measure"] != "employed_share_pct") | (df["value"] <= 100),
                            name="value: shares must be in [0, 100]")], coerce=True, strict=True),
        "population": pa.DataFrameSchema({
            "date": pa.Column(str, pa.Check.str_matches(r"^\d{4}-\d{2}-\d{2}$")),
            "geography": pa.Column(str, region_or_kz),
            "borders": pa.Column(str, pa.Check.isin(["pre-2022", "post-2022"])),
            "value": pa.Column(float, [pa.Check.gt(0), pa.Check(lambda s: s == s.round(), name="integer count")]),
            "approximate": _BOOL, **common,
        }, coerce=True, strict=True),
        "events": pa.DataFrameSchema({
            "year": pa.Column(int, pa.Check.in_range(1990, 2100)),
            "date": pa.Column(str, pa.Check.str_matches(r"^\d{4}-\d{2}-\d{2}$"), nullable=True),
            "site": pa.Column(str), "region": pa.Column(str, pa.Check.isin(sorted(regions), name="known region")),
            "sector": pa.Column(str),
            "deaths": pa.Column(int, pa.Check.ge(0)), "injured": pa.Column(float, pa.Check.ge(0), nullable=True),
            **common,
        }, coerce=True, strict=True),
    }


# ---------------------------------------------------------------- reading
def _read(name: str, data_dir: Path) -> tuple[pd.DataFrame, str]:
    path = Path(data_dir) / f"{name}.csv"
    label = f"data/{name}.csv" if Path(data_dir) == DATA_DIR else str(path)
    if not path.exists():
        raise DataError(label, None, None, "file not found")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise DataError(label, int(m.group(1)) if m else None, None, f"cannot parse CSV ({exc})") from None
    df = df.replace("", pd.NA)
    return df, label


def _explain(err: SchemaErrors | SchemaError, label: str, df: pd.DataFrame) -> DataError:
    cases = err.failure_cases if isinstance(err, SchemaErrors) else err.failure_cases
    if cases is None or len(cases) == 0:
        return DataError(label, None, None, str(err).splitlines()[0])
    cases = cases.reset_index(drop=True)
    # Prefer a failure that points at a row.
    row = cases[cases["index"].notna()].head(1) if "index" in cases else cases.head(0)
    row = row if len(row) else cases.head(1)
    c = row.iloc[0]
    column = c.get("column")
    check = str(c.get("check"))
    value = c.get("failure_case")
    index = c.get("index")
    line = int(index) + 2 if index is not None and not pd.isna(index) else None
    if check == "column_in_dataframe":
        return DataError(label, 1, str(value), "required column is missing")
    if check == "column_in_schema":
        return DataError(label, 1, str(value), "unexpected column")
    named = re.match(r"^(\w+): ", check)  # DataFrame-wide checks are named "<column>: <rule>"
    if named or column is None or pd.isna(column):
        column = named.group(1) if named else None
        if line is not None and column in df.columns:
            value = df.iloc[line - 2][column]
    if check.startswith("coerce_dtype") or "dtype" in check:
        problem = f"value {value!r} is not of the expected type ({check})"
    elif check == "not_nullable":
        problem = "value is missing"
    else:
        problem = f"value {value!r} fails check '{check}'"
    return DataError(label, line, None if column is None else str(column), problem)


def _validate(name: str, data_dir: Path, schema: pa.DataFrameSchema, sources: set[str] | None) -> pd.DataFrame:
    df, label = _read(name, data_dir)
    try:
        out = schema.validate(df, lazy=True)
    except (SchemaErrors, SchemaError) as err:
        raise _explain(err, label, df) from None
    if sources is not None and "source_id" in out:
        bad = ~out["source_id"].isin(sources)
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise DataError(label, i + 2, "source_id",
                            f"source_id {out['source_id'].iloc[i]!r} does not exist in data/sources.csv")
    for col in ("preferred", "approximate"):
        if col in out:
            out[col] = out[col] == "true"
    return out


@lru_cache(maxsize=8)
def _tables(data_dir: str) -> dict[str, pd.DataFrame]:
    d = Path(data_dir)
    base = _schemas(frozenset(), frozenset())
    regions = _validate("regions", d, base["regions"], None)
    sectors = _validate("sectors", d, base["sectors"], None)
    schemas = _schemas(frozenset(regions["region"]), frozenset(sectors["sector"]))
    sources = _validate("sources", d, schemas["sources"], None)
    ids = set(sources["source_id"])
    out = {"regions": regions, "sectors": sectors, "sources": sources,
           "region_aliases": _validate("region_aliases", d, schemas["region_aliases"], None)}
    for name in ("national_annual", "national_ytd", "regional", "sectoral", "workforce", "population", "events"):
        out[name] = _validate(name, d, schemas[name], ids)
    for name in ("national_annual", "national_ytd"):
        _check_one_preferred(out[name], f"data/{name}.csv", "year" if name == "national_annual" else "period")
    return out


def _check_one_preferred(df: pd.DataFrame, label: str, key: str) -> None:
    counts = df.groupby([key, "system", "measure"])["preferred"].sum()
    bad = counts[counts != 1]
    if len(bad):
        k = bad.index[0]
        i = df.index[(df[key] == k[0]) & (df["system"] == k[1]) & (df["measure"] == k[2])][0]
        raise DataError(label, int(i) + 2, "preferred",
                        f"{k} must have exactly one preferred row, has {int(bad.iloc[0])}")


def load_all(data_dir: str | Path = DATA_DIR) -> dict[str, pd.DataFrame]:
    """Validate every data file (cached per directory); returns copies keyed by file stem."""
    return {k: v.copy() for k, v in _tables(str(Path(data_dir).resolve())).items()}


def _get(name: str, data_dir) -> pd.DataFrame:
    return _tables(str(Path(data_dir).resolve()))[name].copy()


def load_sources(data_dir=DATA_DIR) -> pd.DataFrame:
    """Every figure's provenance: publisher, URL, exact quote, language, ledger row."""
    return _get("sources", data_dir)


def load_regions(data_dir=DATA_DIR) -> pd.DataFrame:
    """The 20 first-level units after the June 2022 reform, with the pre-2022 parent of the three new ones."""
    return _get("regions", data_dir)


def load_region_aliases(data_dir=DATA_DIR) -> pd.DataFrame:
    return _get("region_aliases", data_dir)


def load_sectors(data_dir=DATA_DIR) -> pd.DataFrame:
    return _get("sectors", data_dir)


def load_regional(data_dir=DATA_DIR) -> pd.DataFrame:
    """Regional counts as published (only the top regions of each release)."""
    return _get("regional", data_dir)


def load_sectoral(data_dir=DATA_DIR) -> pd.DataFrame:
    return _get("sectoral", data_dir)


def load_workforce(data_dir=DATA_DIR) -> pd.DataFrame:
    """Employment denominators; ``basis`` says LFS, enterprise survey, census or government figure: never mix."""
    return _get("workforce", data_dir)


def load_population(data_dir=DATA_DIR) -> pd.DataFrame:
    return _get("population", data_dir)


def load_events(data_dir=DATA_DIR) -> pd.DataFrame:
    """Mass-casualty accidents (date, site, region, deaths)."""
    return _get("events", data_dir)


def load_national_annual(data_dir=DATA_DIR, include_derived: bool = True) -> pd.DataFrame:
    """National annual figures, both systems, long format; derived previous-year counts appended when asked."""
    df = _get("national_annual", data_dir)
    df["derived"] = False
    df["formula"] = pd.NA
    if include_derived:
        df = pd.concat([df, _derive_previous(df, "year")], ignore_index=True)
    return df


def load_national_ytd(data_dir=DATA_DIR, include_derived: bool = True) -> pd.DataFrame:
    """Cumulative year-to-date national releases (long format) with first and last month."""
    df = _get("national_ytd", data_dir)
    df["derived"] = False
    df["formula"] = pd.NA
    if include_derived:
        df = pd.concat([df, _derive_previous(df, "period")], ignore_index=True)
    months = df["period"].map(period_months)
    df["first_month"] = months.map(lambda t: t[1])
    df["last_month"] = months.map(lambda t: t[2])
    return df


# ---------------------------------------------------------------- derived figures
def _derive_previous(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """Back-calculate the same period a year earlier from a published count and its published change.

    ``previous = current / (1 + pct/100)`` (rounded to the nearest integer) or ``current - change`` for absolute
    changes; only where the earlier count itself was not published.
    """
    pref = df[df["preferred"]]
    have = {(getattr(r, key), r.system, r.measure) for r in pref.itertuples()}
    rows = []
    for r in pref.itertuples():
        if r.measure in PCT_MEASURES:
            base = r.measure.replace("_pct_change_yoy", "")
            base = "victims" if base == "victims" else base
        elif r.measure in ABS_MEASURES:
            base = ABS_MEASURES[r.measure]
        else:
            continue
        cur = pref[(pref[key] == getattr(r, key)) & (pref["system"] == r.system) & (pref["measure"] == base)]
        if cur.empty:
            continue
        prev_key = getattr(r, key) - 1 if key == "year" else shift_period(getattr(r, key), -1)
        if (prev_key, r.system, base) in have:
            continue
        c = float(cur["value"].iloc[0])
        if r.measure in PCT_MEASURES:
            exact = c / (1 + r.value / 100)
            formula = f"{c:g} / (1 {'+' if r.value >= 0 else '-'} {abs(r.value):g}/100) = {exact:.1f}"
        else:
            exact = c - r.value
            formula = f"{c:g} - ({r.value:+g}) = {exact:g}"
        value = float(round(exact))
        row = {key: prev_key, "system": r.system, "measure": base, "value": value, "preferred": True,
               "source_id": r.source_id, "derived": True,
               "formula": f"{formula} -> {value:g} (derived: not published; inputs {cur['source_id'].iloc[0]}, {r.source_id})",
               "note": f"derived from the {getattr(r, key)} release; the earlier figure itself was not published"}
        if key == "period":
            row["year"] = int(str(prev_key)[:4])
        rows.append(row)
    return pd.DataFrame(rows, columns=list(df.columns))


def national_series(system: str = "ministry", measure: str = "injured", *, include_derived: bool = True,
                    data_dir=DATA_DIR) -> pd.Series:
    """Preferred annual values of one measure, indexed by year (name = measure)."""
    if system not in SYSTEMS:
        raise ValueError(f"system must be one of {SYSTEMS}, got {system!r}")
    df = load_national_annual(data_dir, include_derived)
    sel = df[(df["system"] == system) & (df["measure"] == measure) & df["preferred"]]
    if sel.empty:
        raise ValueError(f"no annual {system} series for measure {measure!r}")
    return sel.set_index("year")["value"].sort_index().rename(measure)


def national_total(period: str, system: str = "ministry", measure: str = "injured", data_dir=DATA_DIR) -> int | None:
    """The preferred national count for a period ('2024' annual, '2025-Q1' year-to-date), published or derived;
    None when there is none."""
    if len(period) == 4:
        df = load_national_annual(data_dir)
        sel = df[df["year"] == int(period)]
    else:
        df = load_national_ytd(data_dir)
        sel = df[df["period"] == period]
    sel = sel[(sel["system"] == system) & (sel["measure"] == measure) & sel["preferred"]]
    return int(sel["value"].iloc[0]) if len(sel) else None


def published_changes(data_dir=DATA_DIR) -> pd.DataFrame:
    """Every published year-on-year percent change whose two counts are both known (published or derived).

    Columns: table, period, previous_period, system, measure, current, previous, previous_derived, pct_published.
    The triples feed the consistency checks (does the percent match the counts?).
    """
    out = []
    for table, key, df in (("national_annual", "year", load_national_annual(data_dir)),
                           ("national_ytd", "period", load_national_ytd(data_dir))):
        pref = df[df["preferred"]]
        for r in pref[pref["measure"].isin(PCT_MEASURES)].itertuples():
            base = r.measure.replace("_pct_change_yoy", "")
            k = getattr(r, key)
            pk = k - 1 if key == "year" else shift_period(k, -1)
            cur = pref[(pref[key] == k) & (pref["system"] == r.system) & (pref["measure"] == base)]
            prev = pref[(pref[key] == pk) & (pref["system"] == r.system) & (pref["measure"] == base)]
            out.append({"table": table, "period": str(k), "previous_period": str(pk), "system": r.system,
                        "measure": base, "current": cur["value"].iloc[0] if len(cur) else None,
                        "previous": prev["value"].iloc[0] if len(prev) else None,
                        "previous_derived": bool(prev["derived"].iloc[0]) if len(prev) else None,
                        "pct_published": r.value, "pct_source_id": r.source_id})
    return pd.DataFrame(out)


# ---------------------------------------------------------------- regions
def canonical_region(name: str, data_dir=DATA_DIR) -> str:
    """Canonical region name for any known spelling (Qaraganda, Карагандинская область, ...).

    Bare 'Almaty' is refused: it may be the city or the region.
    """
    aliases = dict(zip(_get("region_aliases", data_dir)["alias"], _get("region_aliases", data_dir)["region"]))
    if name in aliases:
        return aliases[name]
    if name.strip().lower() == "almaty":
        raise ValueError("region 'Almaty' is ambiguous: say 'Almaty city' or 'Almaty region'")
    raise ValueError(f"unknown region {name!r}")


def pre2022_region(region: str) -> str:
    """The region's unit under pre-June-2022 borders (Abai -> East Kazakhstan, Jetisu -> Almaty region, Ulytau -> Karaganda)."""
    return NEW_REGIONS_2022.get(region, region)


def harmonise_to_pre2022(df: pd.DataFrame, region_col: str = "region", value_col: str = "value") -> pd.DataFrame:
    """Sum rows of the three 2022 regions into their parents so a series keeps pre-2022 borders.

    A parent whose new region is absent from the release is flagged ``incomplete`` (its sum is a lower bound).
    """
    d = df.copy()
    d["region_pre2022"] = d[region_col].map(pre2022_region)
    keys = [c for c in d.columns if c not in (region_col, value_col, "region_pre2022", "source_id", "note",
                                               "region_as_published", "borders")]
    grouped = d.groupby(keys + ["region_pre2022"], dropna=False)
    out = grouped[value_col].sum().reset_index()
    parts = grouped[region_col].agg(lambda s: ",".join(sorted(set(s)))).reset_index(drop=True)
    out["merged_from"] = parts.values
    out["incomplete"] = [
        (r in NEW_REGIONS_2022.values()) and not any(n in m for n, p in NEW_REGIONS_2022.items() if p == r)
        for r, m in zip(out["region_pre2022"], out["merged_from"])
    ]
    return out.rename(columns={"region_pre2022": region_col})


# ---------------------------------------------------------------- denominators
def workforce_value(period: str, measure: str = "hired_employees", geography: str = "Kazakhstan",
                    data_dir=DATA_DIR) -> tuple[float, str]:
    """One labour-force-survey figure (value, source_id); LFS rows only, so enterprise counts never slip in."""
    w = _get("workforce", data_dir)
    sel = w[(w["period"] == period) & (w["measure"] == measure) & (w["geography"] == geography)
            & w["sector"].isna() & (w["basis"] == "LFS")]
    if sel.empty:
        raise ValueError(f"no LFS {measure} figure for {geography} in period {period!r}")
    row = sel.sort_values("approximate").iloc[0]
    return float(row["value"]), str(row["source_id"])


def implied_workers(data_dir=DATA_DIR) -> pd.DataFrame:
    """Workers implied by the Ministry's own rate: injured / (rate per 1,000) x 1,000, per year (derived).

    The rate is published to 2 decimals, so ``low``/``high`` give the range the rounding allows.
    """
    a = load_national_annual(data_dir, include_derived=False)
    a = a[(a["system"] == "ministry") & a["preferred"]]
    inj = a[a["measure"] == "injured"].set_index("year")
    rate = a[a["measure"] == "rate_per_1000"].set_index("year")
    rows = []
    for year in sorted(set(inj.index) & set(rate.index)):
        c, r = float(inj.loc[year, "value"]), float(rate.loc[year, "value"])
        half = 0.005
        rows.append({"year": int(year), "injured": c, "rate_per_1000": r, "workers": c / r * 1000,
                     "low": c / (r + half) * 1000, "high": c / (r - half) * 1000, "derived": True,
                     "formula": f"{c:g} / {r:g} x 1000 = {c / r * 1000:,.0f}",
                     "source_ids": f"{inj.loc[year, 'source_id']}, {rate.loc[year, 'source_id']}"})
    return pd.DataFrame(rows)


def workers_for_years(years, data_dir=DATA_DIR) -> pd.DataFrame:
    """Implied Ministry workers for each year, log-linearly interpolated (and flat-extrapolated) where missing.

    Columns: year, workers, interpolated. All values are derived; interpolated ones doubly so.
    """
    iw = implied_workers(data_dir).set_index("year")["workers"]
    import numpy as np

    known_years = np.array(iw.index, dtype=float)
    logw = np.log(iw.to_numpy(dtype=float))
    out = []
    for y in years:
        y = int(y)
        out.append({"year": y, "workers": float(np.exp(np.interp(y, known_years, logw))),
                    "interpolated": y not in iw.index})
    return pd.DataFrame(out)
