"""Deaths at work: both statistical systems side by side, fatal share of injuries, year-on-year changes, and what
mass-casualty events (clusters of deaths) do to Poisson inference.

* Deaths are never merged across systems: the Ministry of Labour (labour inspection) and the Bureau of National
  Statistics (BNS) are analysed separately, each within itself.
* Fatal share = deaths / injured (Ministry; injured include fatal) or deaths / victims (BNS), with Clopper-Pearson
  ("beta") intervals from statsmodels' ``proportion_confint``.
* Year-on-year changes use :func:`analysis.stats.compare.compare_counts` (exact conditional binomial test, as R
  ``poisson.test``; Lancaster's mid-p beside it). Where a system's annual count is missing (Ministry 2023), the
  longest same-months year-to-date pair is compared instead (2023-01..10 vs 2022-01..10).
* Clustering (:mod:`analysis.stats.clustering`): if accidents arrive as a Poisson process and accident *k* kills K_k
  people (i.i.d. sizes), the death count is compound Poisson with variance/mean φ = E[K²]/E[K]. The plug-in estimate
  treats every death not in a listed event (data/events.csv) as a single-death accident, so it is a lower bound; the
  "pairs" variant treats all those deaths as two-death accidents (an upper sensitivity for unlisted small clusters).
* Every change is re-tested under two dispersions and each p-value names its own: the cluster φ (a plug-in from
  event sizes, normal reference) and the trend φ (Pearson χ²/df of annual deaths around a log-linear trend, Student t
  on its residual df, the normal plug-in beside it); Holm adjustment within system under each.

This module holds the data access and the narrative; the statistics are in :mod:`analysis.stats`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from analysis import data
from analysis.core import validate
from analysis.core.fmt import fmt_count, fmt_number, fmt_percent, fmt_pvalue
from analysis.core.params import Params as _Params
from analysis.core.params import param
from analysis.core.study import Estimate, StudyResult, Verdict
from analysis.stats import clustering
from analysis.stats.compare import (
    compare_counts,
    compare_quasi,
    dispersion_to_flip,
    exact_pvalue,
    holm,
    lancaster_midp,
    ptext,
)
from analysis.stats.compare import reference_name as compare_reference
from analysis.stats.dispersion import estimate_dispersion
from analysis.stats.rates import garwood_interval
from analysis.studies import common

DENOMINATOR = {"ministry": "injured", "bns": "victims"}
SYSTEM_LABEL = {"ministry": "Ministry", "bns": "BNS"}
CLOPPER_PEARSON = "Clopper-Pearson exact binomial interval (statsmodels proportion_confint, method='beta')"
COMPOUND = clustering.COMPOUND


# ---------------------------------------------------------------- inputs
# The data layer validates each folder once (cached per directory) but derives the back-calculated figures on every
# call; the study selects its series once per folder, with the same per-directory caching (copies handed out).
def _key(data_dir) -> str:
    return str(Path(data_dir).resolve())


@functools.lru_cache(maxsize=16)
def _national(kind: str, folder: str) -> pd.DataFrame:
    return data.load_national_annual(folder) if kind == "annual" else data.load_national_ytd(folder)


@functools.lru_cache(maxsize=16)
def _events(folder: str) -> pd.DataFrame:
    return data.load_events(folder)


def load_events(data_dir=data.DATA_DIR) -> pd.DataFrame:
    """The listed mass-casualty events (data/events.csv), a copy."""
    return _events(_key(data_dir)).copy()


def _annual(system: str, measure: str, data_dir) -> pd.DataFrame:
    df = _national("annual", _key(data_dir))
    sel = df[(df["system"] == system) & (df["measure"] == measure) & df["preferred"]]
    return sel[["year", "value", "derived", "source_id"]].sort_values("year").reset_index(drop=True)


def _ytd(system: str, measure: str, data_dir) -> pd.DataFrame:
    df = _national("ytd", _key(data_dir))
    sel = df[(df["system"] == system) & (df["measure"] == measure) & df["preferred"]]
    return sel[["year", "period", "last_month", "value", "derived", "source_id"]].reset_index(drop=True)


def valid_end_years(data_dir=data.DATA_DIR) -> list[int]:
    """Years that can end the analysis: from the first year with a year-on-year change of deaths in either system
    to the last year with any published death count (annual or year-to-date)."""
    return list(_valid_end_years(_key(data_dir)))


@functools.lru_cache(maxsize=16)
def _valid_end_years(data_dir: str) -> tuple[int, ...]:
    years = []
    for system in data.SYSTEMS:
        y = sorted(_annual(system, "fatal", data_dir)["year"])
        years += [b for a, b in zip(y, y[1:]) if b == a + 1]
    last = max(int(_annual(s, "fatal", data_dir)["year"].max()) for s in data.SYSTEMS)
    last = max(last, int(_ytd("ministry", "fatal", data_dir)["year"].max()))
    return tuple(range(min(years), last + 1))


def _check_end_year(end_year, data_dir) -> int:
    validate.one_of("end_year", end_year, valid_end_years(data_dir))
    return int(end_year)


def events_in(year: int, period: str, data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Listed mass-casualty events whose date falls inside ``period`` of ``year`` (annual: any date in the year;
    an event without a date counts only for the whole year)."""
    ev = load_events(data_dir)
    ev = ev[ev["year"] == year].copy()
    _, m0, m1 = data.period_months(period)
    month = pd.to_numeric(ev["date"].str[5:7], errors="coerce")
    whole_year = m0 == 1 and m1 == 12
    keep = (month.between(m0, m1)) | (month.isna() & whole_year)
    return ev[keep].reset_index(drop=True)


# ---------------------------------------------------------------- deaths by system
def deaths_by_year(end_year: int, alpha: float = 0.05, data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Annual deaths of each system up to ``end_year`` with Garwood intervals (long: one row per system-year),
    plus the listed events' deaths in that year."""
    end_year = _check_end_year(end_year, data_dir)
    a = validate.alpha("alpha", alpha)
    rows = []
    for system in data.SYSTEMS:
        for r in _annual(system, "fatal", data_dir).itertuples():
            if r.year > end_year:
                continue
            lo, hi = garwood_interval(int(r.value), a)
            ev = events_in(int(r.year), str(r.year), data_dir)
            rows.append({"system": system, "year": int(r.year), "deaths": int(r.value), "derived": bool(r.derived),
                         "ci_low": lo, "ci_high": hi, "listed_event_deaths": int(ev["deaths"].sum()),
                         "source_id": r.source_id})
    return pd.DataFrame(rows).sort_values(["year", "system"]).reset_index(drop=True)


def deaths_wide(end_year: int, data_dir=data.DATA_DIR) -> pd.DataFrame:
    """The two systems' annual deaths side by side (year, ministry, bns, gap_pct = bns/ministry - 1)."""
    d = deaths_by_year(end_year, data_dir=data_dir)
    w = d.pivot(index="year", columns="system", values="deaths").reindex(columns=list(data.SYSTEMS))
    w["gap_pct"] = 100 * (w["bns"] / w["ministry"] - 1)
    return w.reset_index().rename_axis(columns=None)


def partial_deaths(end_year: int, data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Ministry year-to-date death counts for years up to ``end_year`` whose full-year count is not published."""
    end_year = _check_end_year(end_year, data_dir)
    have = set(_annual("ministry", "fatal", data_dir)["year"])
    y = _ytd("ministry", "fatal", data_dir)
    y = y[(y["year"] <= end_year) & ~y["year"].isin(have)]
    return y.sort_values(["year", "last_month"]).reset_index(drop=True)


# ---------------------------------------------------------------- fatal share
def fatal_shares(end_year: int, alpha: float = 0.05, data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Fatal share of injuries per year and system, each within its own system, with Clopper-Pearson intervals.

    Annual rows where both counts exist; for a year without an annual pair the longest year-to-date period with
    both (flagged ``partial``). Columns: system, period, year, partial, deaths, denominator, share_pct, ci_low_pct,
    ci_high_pct, derived (either input derived)."""
    end_year = _check_end_year(end_year, data_dir)
    a = validate.alpha("alpha", alpha)
    rows = []
    for system, den in DENOMINATOR.items():
        f = _annual(system, "fatal", data_dir).set_index("year")
        n = _annual(system, den, data_dir).set_index("year")
        annual_years = sorted(set(f.index) & set(n.index))
        for y in annual_years:
            rows.append((system, str(y), int(y), False, f.loc[y], n.loc[y]))
        fy, ny = _ytd(system, "fatal", data_dir), _ytd(system, den, data_dir)
        both = fy.merge(ny, on=["year", "period", "last_month"], suffixes=("_f", "_n"))
        both = both[~both["year"].isin(annual_years)].sort_values("last_month").groupby("year").tail(1)
        for r in both.itertuples():
            rows.append((system, r.period, int(r.year), True,
                         pd.Series({"value": r.value_f, "derived": r.derived_f}),
                         pd.Series({"value": r.value_n, "derived": r.derived_n})))
    out = []
    for system, period, year, partial, fr, nr in rows:
        if year > end_year:
            continue
        k, n = int(fr["value"]), int(nr["value"])
        lo, hi = proportion_confint(k, n, alpha=a, method="beta")
        out.append({"system": system, "period": period, "year": year, "partial": partial, "deaths": k,
                    "denominator": n, "denominator_measure": DENOMINATOR[system], "share_pct": 100 * k / n,
                    "ci_low_pct": 100 * float(lo), "ci_high_pct": 100 * float(hi),
                    "derived": bool(fr["derived"]) or bool(nr["derived"])})
    return pd.DataFrame(out).sort_values(["system", "year"]).reset_index(drop=True)


def share_homogeneity(shares: pd.DataFrame, system: str = "ministry", alpha: float = 0.05,
                      phi: float = 1.0) -> clustering.ShareHomogeneity:
    """Test equal fatal shares across the annual rows of ``shares`` (from :func:`fatal_shares`) for one system
    (:func:`analysis.stats.clustering.share_homogeneity`; ``phi`` > 1 divides χ² by φ for clustered deaths)."""
    validate.one_of("system", system, data.SYSTEMS)
    s = shares[(shares["system"] == system) & ~shares["partial"]]
    if len(s) < 2:
        raise ValueError(f"shares must hold at least 2 annual years for system {system!r}, got {len(s)}")
    return clustering.share_homogeneity(s["year"], s["deaths"], s["denominator"], alpha, phi, system=system,
                                        label=SYSTEM_LABEL[system])


# ---------------------------------------------------------------- clustering
def events_first_year(data_dir=data.DATA_DIR) -> int:
    """First year from which data/events.csv lists dated events (earlier years are not covered)."""
    ev = load_events(data_dir)
    return int(ev.loc[ev["date"].notna(), "year"].min())


def cluster_inflation(system: str, end_year: int, data_dir=data.DATA_DIR) -> clustering.ClusterInflation:
    """φ = E[K²]/E[K] over the years the events file covers (its first dated year) up to ``end_year``
    (:func:`analysis.stats.clustering.cluster_inflation`; unpublished years imputed by the window's mean).

    For an ``end_year`` before that coverage the window is the first covered year alone: the cluster-size
    distribution is then borrowed from later years (stated in the result's ``start``/``end``)."""
    validate.one_of("system", system, data.SYSTEMS)
    return _cluster(system, max(_check_end_year(end_year, data_dir), events_first_year(data_dir)), data_dir)


def _cluster(system: str, end_year: int, data_dir) -> clustering.ClusterInflation:
    start = events_first_year(data_dir)
    f = _annual(system, "fatal", data_dir).set_index("year")["value"]
    years = list(range(start, end_year + 1))
    if not any(y in f.index for y in years):
        raise ValueError(f"no published {system} deaths in {start}–{end_year}")
    ev = load_events(data_dir)
    ev = ev[ev["year"].between(start, end_year)]
    return clustering.cluster_inflation({y: float(f.loc[y]) if y in f.index else None for y in years}, ev["year"],
                                        ev["deaths"], [f"{r.site} {r.year}" for r in ev.itertuples()],
                                        system=system, label=SYSTEM_LABEL[system])


def trend_dispersion(system: str, end_year: int, alpha: float = 0.05, data_dir=data.DATA_DIR):
    """Quasi-Poisson φ of the system's published annual deaths around a log-linear trend (analysis.dispersion);
    None when the system has fewer than 4 annual counts up to ``end_year`` (no residual df worth the name)."""
    d = deaths_by_year(end_year, alpha, data_dir)
    d = d[d["system"] == system]
    if len(d) < 4:
        return None
    return estimate_dispersion(d["deaths"].tolist(), d["year"].tolist(), alpha=alpha)


def dispersions(end_year: int, alpha: float = 0.05, data_dir=data.DATA_DIR) -> dict[str, dict[str, float | None]]:
    """The two over-dispersion views per system used to re-test changes: {'cluster': {system: φ}, 'trend': ...,
    'trend_df': {system: residual df or None}}.

    'cluster' is the compound-Poisson φ of :func:`cluster_inflation` (a plug-in from event sizes: normal reference);
    'trend' the quasi-Poisson φ around a log-linear trend, floored at 1 (an estimate at or below 1 is read as no
    over-dispersion), None if not estimable; 'trend_df' its residual df (t reference; None when floored)."""
    out: dict[str, dict[str, float | None]] = {"cluster": {}, "trend": {}, "trend_df": {}}
    for system in data.SYSTEMS:
        out["cluster"][system] = cluster_inflation(system, end_year, data_dir).estimate
        t = trend_dispersion(system, end_year, alpha, data_dir)
        out["trend"][system] = None if t is None else max(1.0, t.estimate)
        out["trend_df"][system] = t.df_resid if t is not None and t.estimate > 1 else None
    return out


# ---------------------------------------------------------------- changes
def comparable_pairs(end_year: int, data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Consecutive-year pairs of death counts within each system up to ``end_year``.

    Annual pairs where both years are published (or derived); for a Ministry year without an annual count, the
    longest same-months year-to-date pair with the year before (kind 'same months')."""
    end_year = _check_end_year(end_year, data_dir)
    rows = []
    for system in data.SYSTEMS:
        f = _annual(system, "fatal", data_dir).set_index("year")
        for y in f.index:
            if y - 1 in f.index and y <= end_year:
                rows.append({"system": system, "kind": "annual", "period": str(y), "previous_period": str(y - 1),
                             "year": int(y), "x1": int(f.loc[y, "value"]), "x0": int(f.loc[y - 1, "value"]),
                             "x1_derived": bool(f.loc[y, "derived"]), "x0_derived": bool(f.loc[y - 1, "derived"])})
        yt = _ytd(system, "fatal", data_dir)
        for y in sorted(set(yt["year"]) - set(f.index)):
            if y > end_year:
                continue
            cur = yt[yt["year"] == y].merge(yt[yt["year"] == y - 1], on="last_month", suffixes=("", "_0"))
            cur = cur[cur["period"].str[4:] == cur["period_0"].str[4:]]
            if cur.empty:
                continue
            r = cur.sort_values("last_month").iloc[-1]
            rows.append({"system": system, "kind": "same months", "period": r["period"],
                         "previous_period": r["period_0"], "year": int(y), "x1": int(r["value"]),
                         "x0": int(r["value_0"]), "x1_derived": bool(r["derived"]), "x0_derived": bool(r["derived_0"])})
    return pd.DataFrame(rows).sort_values(["system", "year"]).reset_index(drop=True)


def _event_label(r) -> str:
    return f"{r.site} ({r.date if isinstance(r.date, str) else r.year}, {r.deaths} dead)"


def leave_one_event_out(system: str, period: str, previous_period: str, x1: int, x0: int, alpha: float = 0.05,
                        data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Re-test x1 vs x0 with each listed event's deaths subtracted from the period it fell in, then with all of
    them subtracted ('all listed events'). Columns: event, in_period, deaths, x1, x0, rate_ratio, p_value,
    significant."""
    a = validate.alpha("alpha", alpha)
    rows = []
    e1 = events_in(int(period[:4]), period, data_dir).assign(side="x1")
    e0 = events_in(int(previous_period[:4]), previous_period, data_dir).assign(side="x0")
    def test(n1: int, n0: int) -> dict:
        n1, n0 = max(n1, 0), max(n0, 0)
        p = exact_pvalue(n1, n0)
        return {"x1": n1, "x0": n0, "rate_ratio": n1 / n0 if n0 else math.inf, "p_value": p, "significant": p <= a}

    for r in pd.concat([e1, e0], ignore_index=True).itertuples():
        n1 = x1 - r.deaths if r.side == "x1" else x1
        n0 = x0 - r.deaths if r.side == "x0" else x0
        rows.append({"system": system, "period": period, "event": _event_label(r),
                     "in_period": period if r.side == "x1" else previous_period, "deaths": int(r.deaths),
                     **test(n1, n0)})
    if len(e1) + len(e0) > 1:
        rows.append({"system": system, "period": period, "event": "all listed events", "in_period": "both",
                     "deaths": int(e1["deaths"].sum() + e0["deaths"].sum()),
                     **test(x1 - int(e1["deaths"].sum()), x0 - int(e0["deaths"].sum()))})
    cols = ["system", "period", "event", "in_period", "deaths", "x1", "x0", "rate_ratio", "p_value", "significant"]
    return pd.DataFrame(rows, columns=cols)


def death_changes(end_year: int, alpha: float = 0.05, data_dir=data.DATA_DIR) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Year-on-year changes of deaths within each system: exact conditional test (compare_counts) with both mid-p
    definitions, Holm adjustment within system, leave-one-event-out sensitivity, the dispersion φ that would flip the
    result, and quasi-Poisson score p-values at the system's cluster φ (normal reference) and trend φ (t reference
    on its residual df, the normal plug-in beside it), each Holm-adjusted within system (:func:`dispersions`).

    Returns (changes, leave_one_out): one row per change, and one row per (change, event)."""
    a = validate.alpha("alpha", alpha)
    phi = dispersions(end_year, a, data_dir)
    pairs = comparable_pairs(end_year, data_dir)
    rows, loo_all = [], []
    for r in pairs.itertuples():
        c = compare_counts(r.x1, r.x0, alpha=a)
        loo = leave_one_event_out(r.system, r.period, r.previous_period, r.x1, r.x0, a, data_dir)
        single = loo[loo["event"] != "all listed events"]
        allrow = loo[loo["event"] == "all listed events"]
        p_all = (allrow["p_value"].iloc[0] if len(allrow) else single["p_value"].iloc[0] if len(single)
                 else c.p_value)
        row = {"system": r.system, "kind": r.kind, "period": r.period, "previous_period": r.previous_period,
               "x1": r.x1, "x0": r.x0, "x1_derived": r.x1_derived, "x0_derived": r.x0_derived,
               "rate_ratio": c.estimate, "ci_low": c.ci[0], "ci_high": c.ci[1], "pct_change": c.pct_change,
               "p_value": c.p_value, "p_midp": c.p_midp, "p_midp_lancaster": lancaster_midp(r.x1, r.x0),
               "significant": c.significant,
               "events": "; ".join(single["event"]), "n_events": len(single),
               "p_without_events": float(p_all),
               "p_loo_min": float(single["p_value"].min()) if len(single) else math.nan,
               "p_loo_max": float(single["p_value"].max()) if len(single) else math.nan,
               "events_flip": bool(len(loo) and (loo["significant"] != c.significant).any()),
               "phi_flip": dispersion_to_flip(r.x1, r.x0, alpha=a).phi_flip}
        f_c = phi["cluster"][r.system]
        row["phi_cluster"] = f_c
        row["p_quasi_cluster"] = compare_quasi(r.x1, r.x0, f_c, alpha=a).p_value
        f_t, df_t = phi["trend"][r.system], phi["trend_df"][r.system]
        row["phi_trend"], row["df_trend"] = f_t, df_t
        if f_t is None:
            row["p_quasi_trend"] = row["p_quasi_trend_normal"] = row["phi_flip_trend"] = math.nan
        else:
            q = compare_quasi(r.x1, r.x0, f_t, alpha=a, df=df_t)
            row["p_quasi_trend"], row["p_quasi_trend_normal"] = q.p_value, q.p_value_normal
            row["phi_flip_trend"] = math.nan if q.phi_flip is None else q.phi_flip
        rows.append(row)
        loo_all.append(loo)
    out = pd.DataFrame(rows)
    for col, src in (("p_holm", "p_value"), ("p_holm_cluster", "p_quasi_cluster"), ("p_holm_trend", "p_quasi_trend")):
        out[col] = np.nan
        for _system, idx in out.groupby("system").groups.items():
            vals = out.loc[idx, src]
            ok = vals.notna()
            if ok.any():
                out.loc[vals[ok].index, col] = holm(vals[ok])
    out["survives"] = [_survives(r, a) for r in out.itertuples()]
    loo = pd.concat(loo_all, ignore_index=True) if loo_all else pd.DataFrame()
    return out, loo


def _survives(r, a: float) -> str:
    """Which of the three tests keep the change significant after Holm adjustment ('none' if none does)."""
    kept = [name for name, p in (("Poisson", r.p_holm), ("cluster φ", r.p_holm_cluster), ("trend φ", r.p_holm_trend))
            if p == p and p <= a]
    return ", ".join(kept) if kept else "none"


# ---------------------------------------------------------------- verdict
def _change_text(r, level: str) -> str:
    return (f"{SYSTEM_LABEL[r.system]} {r.period} vs {r.previous_period}, {fmt_count(r.x1)} vs {fmt_count(r.x0)}, "
            f"rate ratio {fmt_number(r.rate_ratio)} ({level}% CI {fmt_number(r.ci_low)} to {fmt_number(r.ci_high)}), "
            f"{ptext(r.p_value)}")


def _smallest(changes: pd.DataFrame, col: str) -> str:
    d = changes.dropna(subset=[col])
    if d.empty:
        return "not estimable"
    r = d.loc[d[col].idxmin()]
    return f"{fmt_pvalue(r[col])} ({SYSTEM_LABEL[r['system']]} {r['period']} vs {r['previous_period']})"


def dispersion_text(clusters: dict, trends: dict) -> str:
    """The two dispersions of deaths, named with their reference distributions (each p-value names one of them)."""
    cl = "; ".join(f"{c.name} {fmt_number(c.estimate)} over {_years(c.start, c.end)} "
                   + (f"({fmt_number(c.phi_without_largest)} without {c.largest_event}, {c.largest_deaths} dead)"
                      if c.n_events else "(no listed event)") for c in clusters.values())
    tr = "; ".join(f"{SYSTEM_LABEL[s]} {fmt_number(t.estimate)} on {t.df_resid} df"
                   + (f", {compare_reference(t.df_resid)} reference" if t.estimate > 1 else ", read as 1 (Poisson)")
                   for s, t in trends.items() if t is not None)
    return (f"the cluster φ (compound-Poisson from the listed mass-casualty events, treated as known: normal "
            f"reference): {cl}; and "
            + (f"the trend φ (Pearson χ²/df of annual deaths around a log-linear trend, estimated: t reference on its "
               f"residual df): {tr}" if tr else "no trend φ (fewer than 4 annual counts in either system)"))


def _years(start: int, end: int) -> str:
    return str(start) if start == end else f"{start}–{end}"


def verdict(changes: pd.DataFrame, shares: pd.DataFrame, homogeneity: clustering.ShareHomogeneity,
            clusters: dict, trends: dict, alpha: float = 0.05) -> str:
    """The technical verdict: the tests, the dispersion behind each p-value, what survives Holm under each, the fatal
    share, and what would change the conclusion.

    ``clusters`` and ``trends`` map each system to its :func:`cluster_inflation` and :func:`trend_dispersion`."""
    a = validate.alpha("alpha", alpha)
    level = f"{100 * (1 - a):g}"
    n_sys = changes.groupby("system").size()
    counts = ", ".join(f"{n} {SYSTEM_LABEL[s]}" for s, n in n_sys.items())
    sig = changes[changes["significant"]]
    s = (f"Exact conditional tests (Poisson, φ = 1; as R poisson.test) of {len(changes)} year-on-year changes in "
         f"deaths, each within one system ({counts}): ")
    if len(sig):
        s += (f"{len(sig)} significant at {a:g} (" + "; ".join(_change_text(r, level) for r in sig.itertuples())
              + ")")
        n_holm = int((changes["p_holm"] <= a).sum())
        s += f", {'none' if n_holm == 0 else n_holm} after Holm adjustment within system. "
    else:
        big = changes.loc[changes["p_value"].idxmin()]
        s += f"none significant at {a:g}; the smallest p is {_change_text(big, level)}. "
    flips = changes[changes["events_flip"]]
    if len(flips):
        s += ("Leaving one listed event out changes the Poisson conclusion for " + "; ".join(
            f"{SYSTEM_LABEL[r.system]} {r.period} vs {r.previous_period} ({ptext(r.p_value)} with the events, "
            + (f"{fmt_pvalue(r.p_loo_min)} without {r.events}" if r.n_events == 1
               else f"{fmt_pvalue(r.p_loo_min)} to {fmt_pvalue(r.p_loo_max)} without one of them")
            + ")" for r in flips.itertuples()) + ". ")
    else:
        s += "Leaving any listed mass-casualty event out changes no conclusion. "
    s += (f"Deaths come in clusters, so every change is re-tested under two dispersions: {dispersion_text(clusters, trends)}. "
          f"At the cluster φ the smallest p is {_smallest(changes, 'p_quasi_cluster')}; at the trend φ "
          f"{_smallest(changes, 'p_quasi_trend')}. ")
    holm = {name: changes.loc[changes[col] <= a] for name, col in (
        ("Poisson", "p_holm"), ("the cluster φ", "p_holm_cluster"), ("the trend φ", "p_holm_trend"))}
    s += "Changes that stay significant after Holm adjustment within system: " + "; ".join(
        f"{name}: " + (", ".join(f"{SYSTEM_LABEL[r.system]} {r.period}" for r in d.itertuples()) if len(d)
                       else "none") for name, d in holm.items()) + ". "
    if len(sig):
        flip = sig["phi_flip"].dropna()
        if len(flip):
            top = flip.max()
            est = [(f"the cluster φ ({c.name})", c.estimate) for c in clusters.values()] + [
                (f"the trend φ ({SYSTEM_LABEL[k]})", t.estimate) for k, t in trends.items() if t is not None]
            above = [n for n, v in est if v >= top]
            below = [n for n, v in est if v < top]
            s += (f"The changes significant under Poisson stay so only while a known φ < {fmt_number(top)}: "
                  + (f"{', '.join(above)} {'is' if len(above) == 1 else 'are'} larger" if above else "")
                  + ("; " if above and below else "")
                  + (f"{', '.join(below)} {'is' if len(below) == 1 else 'are'} smaller" if below else "") + ". ")
    ms = shares[(shares["system"] == homogeneity.system) & ~shares["partial"]].iloc[-1]
    pc = lambda v: fmt_percent(v, 1, signed=False)  # noqa: E731
    s += (f"The {SYSTEM_LABEL[homogeneity.system]} fatal share of injuries was {pc(ms.share_pct)} in {ms.period} "
          f"({level}% Clopper-Pearson CI {pc(ms.ci_low_pct)} to {pc(ms.ci_high_pct)}), between "
          f"{pc(homogeneity.min_share_pct)} and {pc(homogeneity.max_share_pct)} over {homogeneity.years[0]}–"
          f"{homogeneity.years[-1]} (χ² homogeneity {ptext(homogeneity.p_value)}; "
          f"{ptext(homogeneity.p_value_at_phi)} allowing for clustering at the cluster φ). ")
    sm = changes[changes["kind"] == "same months"]
    for r in sm.itertuples():
        s += (f"{r.period[:4]} has no full-year {SYSTEM_LABEL[r.system]} count: {fmt_count(r.x1)} deaths in "
              f"{common.period_text(r.period)} vs {fmt_count(r.x0)} a year earlier, {ptext(r.p_value)} "
              f"({ptext(r.p_without_events)} without the listed events). ")
    s += ("What would change this: "
          + "".join(f"a published full-year {r.period[:4]} {SYSTEM_LABEL[r.system]} count, " for r in sm.itertuples())
          + "a complete register of multi-death accidents (a larger cluster φ), or a dispersion below the flip values "
          "above.")
    return s


# ---------------------------------------------------------------------------------------------- the study contract
NAME = "fatalities"
NOTEBOOK = "06_fatalities"


def _check_end_year_param(name: str, value: int) -> int:
    validate.one_of(name, value, valid_end_years())
    return int(value)


@dataclasses.dataclass(frozen=True)
class Params(_Params):
    """Parameters of the fatalities study (the notebook's ``parameters`` cell mirrors this)."""

    end_year: int = param(2024, "last year included (annual counts, year-to-date counts and events up to this year)",
                          check=_check_end_year_param)
    alpha: float = param(0.05, "significance level of every test and 1 - coverage of every interval",
                         check=validate.alpha)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FatalitiesResult(StudyResult):
    """Everything notebook 06 shows: deaths by system, fatal shares, changes, events and clustering."""

    study = NAME
    notebook = NOTEBOOK

    deaths: pd.DataFrame
    deaths_side_by_side: pd.DataFrame
    partial_year_deaths: pd.DataFrame
    fatal_share: pd.DataFrame
    homogeneity: dict
    changes: pd.DataFrame
    leave_one_event_out: pd.DataFrame
    clustering: dict
    trend_dispersion: dict
    events: pd.DataFrame
    sources: pd.DataFrame

    def results(self) -> dict[str, Any]:
        """The study's detailed results for the results JSON.

        Returns
        -------
        dict
            ``deaths``, ``deaths_side_by_side``, ``partial_year_deaths``, ``fatal_share``, ``share_homogeneity``,
            ``changes``, ``leave_one_event_out``, ``clustering`` and ``trend_dispersion``.
        """
        return {"deaths": self.deaths, "deaths_side_by_side": self.deaths_side_by_side,
                "partial_year_deaths": self.partial_year_deaths, "fatal_share": self.fatal_share,
                "share_homogeneity": self.homogeneity, "changes": self.changes,
                "leave_one_event_out": self.leave_one_event_out, "clustering": self.clustering,
                "trend_dispersion": self.trend_dispersion}

    @property
    def level(self) -> str:
        return f"{100 * (1 - self.params.alpha):g}"

    systems = tuple(SYSTEM_LABEL.values())

    # ------------------------------------------------------------------ tables and figure data the notebook shows
    @property
    def sources_table(self) -> pd.DataFrame:
        """Where each annual death count comes from (publisher, link)."""
        src = self.sources
        d = self.deaths
        out = d.assign(system=d["system"].map(SYSTEM_LABEL)).merge(src, on="source_id", how="left")
        return pd.DataFrame({"system": out["system"], "year": out["year"], "deaths": out["deaths"].map(fmt_count),
                             "derived": out["derived"].map({True: "derived", False: ""}),
                             "publisher": out["publisher"], "url": out["url"]})

    @property
    def deaths_table(self) -> pd.DataFrame:
        d = self.deaths
        return pd.DataFrame({
            "system": d["system"].map(SYSTEM_LABEL), "year": d["year"], "deaths": d["deaths"].map(fmt_count),
            "published or derived": d["derived"].map({True: "derived", False: "published"}),
            f"{self.level}% interval (Garwood)": [f"{fmt_count(lo)} to {fmt_count(hi)}"
                                                 for lo, hi in zip(d["ci_low"], d["ci_high"])],
            "deaths in listed events": d["listed_event_deaths"].map(fmt_count)})

    @property
    def side_by_side_table(self) -> pd.DataFrame:
        w = self.deaths_side_by_side
        return pd.DataFrame({"year": w["year"], "Ministry deaths": w["ministry"].map(fmt_count),
                             "BNS deaths": w["bns"].map(fmt_count),
                             "BNS against Ministry": w["gap_pct"].map(fmt_percent)})

    @property
    def deaths_plot(self) -> pd.DataFrame:
        d = self.deaths
        return d.assign(system=d["system"].map(SYSTEM_LABEL),
                        figure=d["derived"].map({False: "published", True: "derived"}))

    @property
    def partial_plot(self) -> pd.DataFrame:
        return self.partial_year_deaths.sort_values("last_month").groupby("year").tail(1)

    @property
    def share_table(self) -> pd.DataFrame:
        s = self.fatal_share
        return pd.DataFrame({
            "system": s["system"].map(SYSTEM_LABEL), "period": s["period"], "deaths": s["deaths"].map(fmt_count),
            "of": [f"{fmt_count(n)} {m}" for n, m in zip(s["denominator"], s["denominator_measure"])],
            "fatal share": [fmt_percent(v, 1, signed=False) for v in s["share_pct"]],
            f"{self.level}% interval (Clopper–Pearson)": [
                f"{fmt_percent(lo, 1, signed=False)} to {fmt_percent(hi, 1, signed=False)}"
                for lo, hi in zip(s["ci_low_pct"], s["ci_high_pct"])],
            "year-to-date": s["partial"].map({True: "yes", False: "no"}),
            "uses a derived count": s["derived"].map({True: "yes", False: "no"})})

    @property
    def share_plot(self) -> pd.DataFrame:
        s = self.fatal_share
        return s.assign(system=s["system"].map(SYSTEM_LABEL),
                        period=s["partial"].map({False: "full year", True: "year-to-date"}))

    @property
    def changes_table(self) -> pd.DataFrame:
        """The year-on-year changes under Poisson (exact test), with the events' influence."""
        c = self.changes
        return pd.DataFrame({
            "system": c["system"].map(SYSTEM_LABEL), "period": c["period"], "against": c["previous_period"],
            "deaths": c["x1"].map(fmt_count), "earlier": c["x0"].map(fmt_count),
            "change": c["pct_change"].map(fmt_percent),
            "rate ratio (exact CI)": [f"{fmt_number(r)} ({fmt_number(lo)} to {fmt_number(hi)})"
                                      for r, lo, hi in zip(c["rate_ratio"], c["ci_low"], c["ci_high"])],
            "exact p": c["p_value"].map(fmt_pvalue), "mid-p (Lancaster)": c["p_midp_lancaster"].map(fmt_pvalue),
            "Holm p": c["p_holm"].map(fmt_pvalue),
            "p without listed events": c["p_without_events"].map(fmt_pvalue),
            "significant while φ below": c["phi_flip"].map(lambda v: fmt_number(v) if pd.notna(v) else "never")})

    @property
    def dispersion_table(self) -> pd.DataFrame:
        """The same changes under the two dispersions of deaths, each with its reference and Holm adjustment."""
        c = self.changes
        ref = [f"t({int(d)})" if pd.notna(d) else "normal" for d in c["df_trend"]]
        return pd.DataFrame({
            "system": c["system"].map(SYSTEM_LABEL), "period": c["period"], "against": c["previous_period"],
            "cluster φ": c["phi_cluster"].map(fmt_number), "p (normal)": c["p_quasi_cluster"].map(fmt_pvalue),
            "Holm p, cluster φ": c["p_holm_cluster"].map(fmt_pvalue),
            "trend φ": c["phi_trend"].map(fmt_number), "reference": ref,
            "p": c["p_quasi_trend"].map(fmt_pvalue), "p, φ as known": c["p_quasi_trend_normal"].map(fmt_pvalue),
            "Holm p, trend φ": c["p_holm_trend"].map(fmt_pvalue),
            "significant after Holm under": c["survives"]})

    @property
    def loo_table(self) -> pd.DataFrame:
        lo = self.leave_one_event_out
        return pd.DataFrame({
            "system": lo["system"].map(SYSTEM_LABEL), "change": lo["period"], "event left out": lo["event"],
            "in period": lo["in_period"], "its deaths": lo["deaths"].map(fmt_count),
            "deaths then": lo["x1"].map(fmt_count), "earlier": lo["x0"].map(fmt_count),
            "exact p": lo["p_value"].map(fmt_pvalue),
            "significant": lo["significant"].map({True: "yes", False: "no"})})

    @property
    def cluster_table(self) -> pd.DataFrame:
        y = self.cluster_years
        return pd.DataFrame({"system": y["system"], "year": y["year"], "φ": y["φ"].map(fmt_number),
                             "total imputed": y["imputed_total"].map({True: "yes", False: "no"})})

    @property
    def gap_note(self) -> str:
        both = self.deaths_side_by_side.dropna(subset=["ministry", "bns"])
        p = self.partial_year_deaths
        return (f"In the {len(both)} years with both systems, BNS deaths differ from the Ministry's by "
                f"**{fmt_percent(both['gap_pct'].min(), 0)} to {fmt_percent(both['gap_pct'].max(), 0)}**. "
                + ("" if p.empty else "Years without a full-year Ministry count: " + ", ".join(
                    f"{common.period_text(r.period)}: {fmt_count(r.value)}" for r in p.itertuples())
                   + " (year-to-date only)."))

    @property
    def homogeneity_note(self) -> str:
        h = self.homogeneity
        return (f"* {h['ministry'].verdict}\n" + ("" if h["bns"] is None else f"* {h['bns'].verdict}\n")
                + "* The BNS share is lower because the BNS counts more non-fatal victims; the two shares are not "
                  "comparable with each other, only within a system.")

    @property
    def clustering_note(self) -> str:
        return ("\n".join(f"* {c.verdict}" for c in self.clustering.values()) + "\n"
                + "\n".join(f"* {SYSTEM_LABEL[s]} annual deaths around their trend (the trend φ): {t.verdict}"
                            for s, t in self.trend_dispersion.items() if t is not None)
                + "\n* Which dispersion applies: the cluster φ measures how far deaths bunch in accidents (it holds for "
                  "a period of any length and is a plug-in from the event sizes, so its tests use the normal "
                  "reference); the trend φ measures how far annual totals scatter around their trend for any reason "
                  "(estimated from few years, so its tests use Student's t on the residual degrees of freedom).")

    @property
    def cluster_years(self) -> pd.DataFrame:
        """Per-year compound-Poisson φ of both systems (the figure's data)."""
        y = pd.concat([c.to_frame() for c in self.clustering.values()], ignore_index=True)
        return y.assign(system=y["system"].map(SYSTEM_LABEL)).rename(columns={"phi_year": "φ"})

    @property
    def pvalues_long(self) -> pd.DataFrame:
        """The changes' p-values under each test, one row per (change, test) (the figure's data)."""
        ch = self.changes
        plot = ch.assign(change=ch["system"].map(SYSTEM_LABEL) + " " + ch["period"] + " vs " + ch["previous_period"])
        long = plot.melt(id_vars="change", value_vars=["p_value", "p_without_events", "p_quasi_trend",
                                                       "p_quasi_cluster"], var_name="test", value_name="p").dropna()
        long["test"] = long["test"].map({"p_value": "exact (Poisson)", "p_without_events": "exact, listed events removed",
                                         "p_quasi_trend": "quasi-Poisson, trend φ (t reference)",
                                         "p_quasi_cluster": "quasi-Poisson, cluster φ (normal reference)"})
        return long.reset_index(drop=True)

    @property
    def deaths_alt(self) -> str:
        d = self.deaths
        big = self.events.sort_values("deaths").iloc[-1] if len(self.events) else None
        return (f"Line chart of annual deaths by system, {d['year'].min()}–{d['year'].max()}, with exact intervals; "
                "below, a dot per listed mass-casualty event sized by its deaths"
                + ("" if big is None else f", the largest {big['site']} ({big['deaths']} dead, {big['year']})") + ".")

    @property
    def share_alt(self) -> str:
        s = self.fatal_share
        return ("Dot chart of deaths as a percentage of injured (Ministry) or victims (BNS) by year, with exact "
                "intervals: " + ", ".join(f"{SYSTEM_LABEL[k]} {fmt_percent(g['share_pct'].min(), 1, False)} to "
                            f"{fmt_percent(g['share_pct'].max(), 1, False)}" for k, g in s.groupby("system")) + ".")

    @property
    def pvalues_alt(self) -> str:
        return (f"Dot chart of the p-values of {len(self.changes)} year-on-year changes in deaths under four tests, on "
                f"a log scale, with the significance level {self.params.alpha:g} marked.")

    @property
    def cluster_alt(self) -> str:
        c = self.clustering["ministry"]
        top = max(c.per_year, key=lambda t: t[1])
        return (f"Bar chart of the compound-Poisson variance inflation φ by year and system; 1 is Poisson; the "
                f"highest is {top[0]} at {fmt_number(top[1])} for the Ministry.")

    def tables(self) -> dict[str, pd.DataFrame]:
        """The study's tables, exported as CSV beside the report.

        Returns
        -------
        dict of str to pandas.DataFrame
            ``deaths``, ``fatal_share``, ``changes``, ``changes_over_dispersed``, ``leave_one_event_out`` and
            ``clustering_by_year``, by file stem.
        """
        return {"deaths": self.deaths_table, "fatal_share": self.share_table, "changes": self.changes_table,
                "changes_over_dispersed": self.dispersion_table, "leave_one_event_out": self.loo_table,
                "clustering_by_year": self.cluster_table}


def title(p: Params) -> str:
    """The report's title, a question naming the claim tested.

    Parameters
    ----------
    p : Params
        The fatalities study's parameters.

    Returns
    -------
    str
        The title.
    """
    return f"Deaths at work up to {p.end_year}: changes, lethality and mass-casualty events"


def _headline(changes: pd.DataFrame, alpha: float) -> tuple[str, str]:
    sig = changes[changes["p_value"] <= alpha]
    n_holm = int((changes["p_holm"] <= alpha).sum())
    n_disp = int(((changes["p_holm_cluster"] <= alpha) | (changes["p_holm_trend"] <= alpha)).sum())
    if len(sig) == 0:
        head = "No year-on-year change in deaths is beyond chance, even under a pure Poisson model."
    elif n_holm == 0:
        head = (f"{len(sig)} of {len(changes)} year-on-year changes in deaths {'looks' if len(sig) == 1 else 'look'} "
                f"significant alone, none after "
                "allowing for the number of comparisons, and none once deaths coming in clusters are allowed for.")
    elif n_disp == 0:
        head = (f"{n_holm} of {len(changes)} year-on-year changes in deaths remain significant after Holm adjustment "
                "under Poisson, none once deaths coming in clusters are allowed for.")
    else:
        head = (f"{n_disp} of {len(changes)} year-on-year changes in deaths remain significant after Holm adjustment "
                "even allowing for deaths coming in clusters.")
    summary = ("Deaths at work are few and come partly in mass-casualty accidents, so single years swing widely. "
               "The two statistical systems nearly agree on deaths, but a change from one year to the next is rarely "
               "larger than such swings.")
    return head, summary


def _would_change(changes: pd.DataFrame, clusters: dict, trends: dict, alpha: float) -> str:
    sig = changes[changes["p_value"] <= alpha]
    s = []
    if len(sig):
        r = sig.loc[sig["phi_flip"].idxmax()] if sig["phi_flip"].notna().any() else sig.iloc[0]
        lowest = min([clusters[r["system"]].phi_without_largest]
                     + ([trends[r["system"]].estimate] if trends.get(r["system"]) is not None else []))
        s.append(f"A dispersion of deaths below {fmt_number(r['phi_flip'])} would keep {SYSTEM_LABEL[r['system']]} "
                 f"{r['period']} vs {r['previous_period']} significant before Holm adjustment; the lowest estimate here is "
                 f"{fmt_number(lowest)} (the cluster φ without the largest event).")
    for r in changes[changes["kind"] == "same months"].itertuples():
        s.append(f"A published full-year {r.period[:4]} {SYSTEM_LABEL[r.system]} count would replace the same-months "
                 "comparison with a real annual one.")
    s.append("A complete register of multi-death accidents would raise the cluster φ and widen every interval.")
    return " ".join(s)


def _caveats(p: Params, partial: pd.DataFrame) -> tuple[str, ...]:
    out = []
    if len(partial):
        last = partial.sort_values("last_month").groupby("year").tail(1)
        out.append("**No full-year Ministry count** for " + ", ".join(str(y) for y in last["year"]) + ": only "
                   + ", ".join(f"{fmt_count(r.value)} deaths in {common.period_text(r.period)}"
                                for r in last.itertuples())
                   + ". A same-months comparison stands in for the annual one."
                   + (" The Kostenko fire (28 October 2023, 46 dead) may or may not be inside the 2023 year-to-date "
                      "count; the leave-one-event-out rows show both readings." if 2023 in set(last["year"]) else ""))
    out.append("**The events list is incomplete**: it holds accidents reported in the news, dated from 2019. Accidents "
               "with 2–3 deaths are mostly missing, which is why the clustering φ is a lower bound (the 'pairs' "
               "variant shows how far it could rise). The undated 2006 ArcelorMittal event (41 dead) is a reminder that "
               "Kostenko-sized events recur: a window without one understates the tail.")
    out.append("**The clustering φ is itself very uncertain**: one event dominates it, so it can jump by a factor of "
               "2–3 when a single event enters or leaves the window.")
    out.append("Derived counts (back-calculated from rounded published percentages) can be off by a death or two; "
               "their tests re-test the publisher's own percentage.")
    if p.end_year >= 2024:
        out.append("Ministry 2024 has a conflicting value (220, a minister's oral statement) besides the Committee's "
                   "202; 202 is used.")
    out.append("The χ² homogeneity test 'allowing for clustering' divides χ² by φ: approximate, and only as good as φ.")
    return tuple(out)


def run(params: Params, data_dir=data.DATA_DIR) -> FatalitiesResult:
    """Run the study.

    Parameters
    ----------
    params : Params
        Validated parameters.
    data_dir : path, optional
        The data folder (a copy in tests).

    Returns
    -------
    FatalitiesResult
    """
    p = params
    end_year, alpha = p.end_year, p.alpha
    deaths = deaths_by_year(end_year, alpha, data_dir)
    wide = deaths_wide(end_year, data_dir)
    partial = partial_deaths(end_year, data_dir)
    shares = fatal_shares(end_year, alpha, data_dir)
    clusters = {s: cluster_inflation(s, end_year, data_dir) for s in data.SYSTEMS}
    trends = {s: trend_dispersion(s, end_year, alpha, data_dir) for s in data.SYSTEMS}
    homog = share_homogeneity(shares, "ministry", alpha, phi=clusters["ministry"].estimate)
    homog_bns = (share_homogeneity(shares, "bns", alpha, phi=clusters["bns"].estimate)
                 if ((shares["system"] == "bns") & ~shares["partial"]).sum() >= 2 else None)
    changes, loo = death_changes(end_year, alpha, data_dir)
    events = load_events(data_dir)
    events = events[events["year"] <= end_year].reset_index(drop=True)
    technical = verdict(changes, shares, homog, clusters, trends, alpha)
    head, summary = _headline(changes, alpha)
    best = changes.loc[changes["p_value"].idxmin()]
    key = Estimate(f"rate ratio, {SYSTEM_LABEL[best.system]} deaths {best.period} vs {best.previous_period}",
                   float(best.rate_ratio), float(best.ci_low), float(best.ci_high), float(best.p_value),
                   "exact conditional binomial (Poisson)", note="the change with the smallest p-value")
    estimates = (key,
                 *(Estimate(f"cluster φ ({c.name})", c.estimate, c.phi_without_largest, c.phi_unlisted_pairs,
                            model=COMPOUND, note=f"{c.start}–{c.end}, listed events; bounds: without the largest "
                                                 "event, unlisted deaths in pairs") for c in clusters.values()),
                 *(Estimate(f"trend φ ({SYSTEM_LABEL[k]})", t.estimate, *t.ci, t.p_value, model=t.method,
                            note=f"{t.n_years} annual counts, {t.df_resid} residual df; p tests φ = 1")
                   for k, t in trends.items() if t is not None))
    return FatalitiesResult(
        params=p, title=title(p),
        question=(f"Did the number of people killed at work change from one year to the next by more than chance up "
                  f"to {end_year}, is the share of injuries that end in death changing, and how much do "
                  "mass-casualty accidents distort tests that assume deaths occur independently?"),
        verdict=Verdict(label="descriptive", headline=head, summary=summary, technical=technical, key=key,
                        would_change=_would_change(changes, clusters, trends, alpha)),
        estimates=estimates, caveats=_caveats(p, partial), deaths=deaths, deaths_side_by_side=wide, partial_year_deaths=partial,
        fatal_share=shares, homogeneity={"ministry": homog, "bns": homog_bns}, changes=changes,
        leave_one_event_out=loo, clustering=clusters, trend_dispersion=trends, events=events,
        sources=data.load_sources(data_dir)[["source_id", "publisher", "url"]])


def deaths_dispersion(system: str = "ministry", data_dir=data.DATA_DIR) -> clustering.ClusterInflation:
    """Compound-Poisson φ of the system's deaths over everything the events file covers: from its first dated year
    to the last year with a published annual death count (used by other studies for a dispersion of deaths)."""
    validate.one_of("system", system, data.SYSTEMS)
    last = int(_annual(system, "fatal", data_dir)["year"].max())
    return _cluster(system, max(last, events_first_year(data_dir)), data_dir)
