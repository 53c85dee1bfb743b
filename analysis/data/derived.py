"""Derived figures: computed from the published ones, never stored (``derived`` True, ``formula`` giving the
arithmetic), and the national series, totals and denominators the studies use."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core.paths import DATA_DIR
from analysis.data.loaders import _entry, _get, check_across
from analysis.data.schemas import (
    ABS_MEASURES,
    PCT_MEASURES,
    SYSTEMS,
    canonical_period,
    period_months,
    shift_period,
)

_DERIVED_CACHE: dict[tuple, pd.DataFrame] = {}  # (file, include_derived, validated version) -> frame


def _national(name: str, key: str, data_dir, include_derived: bool) -> pd.DataFrame:
    """The national table with its derived rows; computed once per validated version of the file (a changed file
    gets a new version from the loader's cache, so nothing stale is served), returned as a copy."""
    version = _entry(name, data_dir).version
    check_across(data_dir)  # also when the frame below is served from this cache (a partner file may have changed)
    cache_key = (name, include_derived, version)
    if cache_key not in _DERIVED_CACHE:
        df = _get(name, data_dir)
        df["derived"] = False
        df["formula"] = pd.NA
        if include_derived:
            df = pd.concat([df, _derive_previous(df, key)], ignore_index=True)
        if len(_DERIVED_CACHE) > 32:
            _DERIVED_CACHE.clear()
        _DERIVED_CACHE[cache_key] = df
    return _DERIVED_CACHE[cache_key].copy()


def load_national_annual(data_dir=DATA_DIR, include_derived: bool = True) -> pd.DataFrame:
    """National annual figures, both systems, long format; derived previous-year counts appended when asked.

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder.
    include_derived : bool, default True
        Append the previous-year counts back-calculated from a published count and its published change
        (``derived`` True, the arithmetic in ``formula``), only where the earlier count itself was not
        published.

    Returns
    -------
    pandas.DataFrame
        One row per year, system and measure (published rows, then derived ones), with ``derived`` and
        ``formula`` columns.

    Raises
    ------
    DataError
        When a data file read fails validation or a figure breaks a rule across files
        (:func:`analysis.data.loaders.check_across`), naming file, line (header = line 1), column and problem.
    """
    return _national("national_annual", "year", data_dir, include_derived)


def load_national_ytd(data_dir=DATA_DIR, include_derived: bool = True) -> pd.DataFrame:
    """Cumulative year-to-date national releases (long format) with first and last month.

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder.
    include_derived : bool, default True
        Append the counts for the same period a year earlier back-calculated from a published count and its
        published change, only where the earlier count itself was not published.

    Returns
    -------
    pandas.DataFrame
        One row per period, system and measure, with ``derived``, ``formula``, ``first_month`` and
        ``last_month`` (1-12) columns.

    Raises
    ------
    DataError
        When a data file read fails validation or a figure breaks a rule across files
        (:func:`analysis.data.loaders.check_across`), naming file, line (header = line 1), column and problem.
    """
    df = _national("national_ytd", "period", data_dir, include_derived)
    months = df["period"].map(period_months)
    df["first_month"] = months.map(lambda t: t[1])
    df["last_month"] = months.map(lambda t: t[2])
    return df


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
    """Preferred annual values of one measure, indexed by year (name = measure).

    Parameters
    ----------
    system : {'ministry', 'bns'}, default 'ministry'
        The statistical system: the Ministry of Labour's register or the Bureau of National Statistics.
    measure : str, default 'injured'
        The measure (``injured``, ``fatal``, ``rate_per_1000``, ...).
    include_derived : bool, default True
        Include previous-year counts back-calculated from a published change (keyword only).
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder. Keyword only.

    Returns
    -------
    pandas.Series
        The preferred value for each year, sorted by year, named ``measure``.

    Raises
    ------
    ValueError
        When ``system`` is not a known system, or when the data hold no preferred value of ``measure`` for it.
    DataError
        When a data file read fails validation, naming file, line (header = line 1), column and problem.
    """
    if system not in SYSTEMS:
        raise ValueError(f"system must be one of {SYSTEMS}, got {system!r}")
    df = load_national_annual(data_dir, include_derived)
    sel = df[(df["system"] == system) & (df["measure"] == measure) & df["preferred"]]
    if sel.empty:
        raise ValueError(f"no annual {system} series for measure {measure!r}")
    return sel.set_index("year")["value"].sort_index().rename(measure)


def national_total(period: str, system: str = "ministry", measure: str = "injured", data_dir=DATA_DIR) -> int | None:
    """The preferred national count for a period ('2024' annual, '2025-Q1' year-to-date), published or
    derived; None when there is none.

    Parameters
    ----------
    period : str
        A year ('2024') or a year-to-date period ('2025-Q1', '2025-H1', '2025-01..06'; canonicalised with
        :func:`analysis.data.schemas.canonical_period`).
    system : {'ministry', 'bns'}, default 'ministry'
        The statistical system.
    measure : str, default 'injured'
        The measure.
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder.

    Returns
    -------
    int or None
        The preferred count (derived counts included); None when the data hold none.

    Raises
    ------
    ValueError
        When ``period`` is not a valid period.
    DataError
        When a data file read fails validation, naming file, line (header = line 1), column and problem.
    """
    period = canonical_period(period)
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

    Columns: table, period, previous_period, system, measure, current, previous, previous_derived,
    pct_published. The triples feed the consistency checks (does the percent match the counts?).

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder.

    Returns
    -------
    pandas.DataFrame
        One row per preferred published percent change (annual and year-to-date), with the columns above and
        ``pct_source_id``; ``current``, ``previous`` and ``previous_derived`` are None where a count is
        unknown.

    Raises
    ------
    DataError
        When a data file read fails validation, naming file, line (header = line 1), column and problem.
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


# ---------------------------------------------------------------- denominators
def workforce_value(period: str, measure: str = "hired_employees", geography: str = "Kazakhstan",
                    data_dir=DATA_DIR) -> tuple[float, str]:
    """One labour-force-survey figure (value, source_id); LFS rows only, so enterprise counts never slip in.

    Parameters
    ----------
    period : str
        The period of the figure as written in ``workforce.csv`` (e.g. '2024').
    measure : str, default 'hired_employees'
        The workforce measure.
    geography : str, default 'Kazakhstan'
        'Kazakhstan' or a canonical region name.
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder.

    Returns
    -------
    value : float
        The figure (an exact one preferred to an approximate one).
    source_id : str
        Its source in ``sources.csv``.

    Raises
    ------
    ValueError
        When the data hold no all-sector LFS figure for ``measure``, ``geography`` and ``period``.
    DataError
        When a data file read fails validation, naming file, line (header = line 1), column and problem.
    """
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

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder.

    Returns
    -------
    pandas.DataFrame
        One row per year with both a published count and a published rate: ``year``, ``injured``,
        ``rate_per_1000``, ``workers``, ``low``, ``high``, ``derived`` (True), ``formula`` and ``source_ids``.

    Raises
    ------
    DataError
        When a data file read fails validation, naming file, line (header = line 1), column and problem.
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
    """Implied Ministry workers for each year, log-linearly interpolated (and flat-extrapolated) where
    missing.

    Columns: year, workers, interpolated. All values are derived; interpolated ones doubly so.

    Parameters
    ----------
    years : iterable of int
        The years wanted, in the order wanted.
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder.

    Returns
    -------
    pandas.DataFrame
        One row per year of ``years``; ``interpolated`` is True where :func:`implied_workers` has no value for
        the year.

    Raises
    ------
    DataError
        When a data file read fails validation, naming file, line (header = line 1), column and problem.
    """
    iw = implied_workers(data_dir).set_index("year")["workers"]
    known_years = np.array(iw.index, dtype=float)
    logw = np.log(iw.to_numpy(dtype=float))
    out = []
    for y in years:
        y = int(y)
        out.append({"year": y, "workers": float(np.exp(np.interp(y, known_years, logw))),
                    "interpolated": y not in iw.index})
    return pd.DataFrame(out)
