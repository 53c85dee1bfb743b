"""Which sectors really stand out? (notebook ``05_sectoral_patterns``)

The Ministry names the sectors with the most injured workers (the mining and metallurgical complex, GMK, and
construction) by their share of the period's injured. This study finds the counts those rounded shares allow, sets
each sector's injury share against its employment share (relative risk, GMK handled as a range), and tests the
period's shares against the other years'. ``run(Params(...))`` returns a :class:`SectoralResult`; the notebook
narrates it.

The statistics are in :mod:`analysis.stats.sectors` (count bounds, relative risk with Clopper-Pearson/MOVER intervals,
share-vs-history tests); this module prepares their inputs from ``data/`` and keeps the two statistical systems
apart: Ministry groupings (GMK, construction) are tested only against Ministry history; BNS NACE sections are shown
as context.

* Published share decimals are read from the CSV text ("12" has 0 decimals, "15.3" has 1), because the count
  bounds depend on them.
* Employment shares (LFS, employed persons): construction uses the range of its published LFS shares; GMK, a
  Ministry grouping that is not a NACE section, uses a range from the government's "up to 110 thousand" to LFS
  mining employment (281.2 thousand, 2021-Q2), divided by the national LFS employed range of 2024-2025; LFS
  'industry' (B+C+D+E) is the outer ceiling, since GMK is part of it.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import data
from analysis.core import validate
from analysis.core.params import Params as _Params
from analysis.core.params import param
from analysis.core.paths import DATA_DIR
from analysis.core.study import Estimate, StudyResult, Verdict
from analysis.stats import sectors
from analysis.stats.rates import fmt_p

NAME = "sectoral"
NOTEBOOK = "05_sectoral_patterns"

SECTORS = ("gmk", "construction")
LABEL = {"gmk": "mining and metallurgical complex (GMK)", "construction": "construction"}


# ---------------------------------------------------------------- periods and published figures
@lru_cache(maxsize=4)
def _decimals(data_dir: str) -> dict[tuple, int]:
    raw = pd.read_csv(Path(data_dir) / "sectoral.csv", dtype=str, keep_default_na=False)
    return {(r.period, r.system, r.sector, r.measure, r.source_id): (len(r.value.split(".")[1]) if "." in r.value
                                                                   else 0) for r in raw.itertuples()}


def _ministry_rows(data_dir=DATA_DIR) -> pd.DataFrame:
    s = data.load_sectoral(data_dir)
    s = s[s["system"] == "ministry"].copy()
    dec = _decimals(str(Path(data_dir).resolve()))
    s["decimals"] = [dec.get((r.period, r.system, r.sector, r.measure, r.source_id), 1) for r in s.itertuples()]
    return s


@lru_cache(maxsize=4)
def _sector_periods(data_dir: str) -> tuple[str, ...]:
    s = _ministry_rows(data_dir)
    return tuple(p for p in sorted(s["period"].unique()) if data.national_total(p, data_dir=data_dir) is not None)


def sector_periods(data_dir=DATA_DIR) -> list[str]:
    """Ministry periods with a national injured total and at least one sector count or share."""
    return list(_sector_periods(str(Path(data_dir).resolve())))


def check_period(period, data_dir=DATA_DIR) -> str:
    return validate.one_of("period", period, sector_periods(data_dir))


def _check_period(name: str, value: str) -> str:
    """Parameter check: a Ministry period with a national total and sector figures in ``data/``."""
    return validate.one_of(name, value, sector_periods())


def period_sectors(period: str, data_dir=DATA_DIR) -> pd.DataFrame:
    """Per Ministry sector of ``period``: published count and/or share (the most precise share if several), the
    counts the share allows of the national total, and whether a published count agrees with the share.

    Columns: sector, total, count_published, share_published, decimals, other_shares, k_min, k_max, count_basis,
    share_consistent, count_matches_share, source_ids."""
    check_period(period, data_dir)
    total = data.national_total(period, data_dir=data_dir)
    s = _ministry_rows(data_dir)
    s = s[s["period"] == period]
    rows = []
    for sector in [x for x in SECTORS if x in set(s["sector"])]:
        g = s[s["sector"] == sector]
        cnt = g[g["measure"] == "injured"]["value"]
        sh = g[g["measure"] == "share_pct"].sort_values("decimals", ascending=False)
        count = int(cnt.iloc[0]) if len(cnt) else None
        share = float(sh["value"].iloc[0]) if len(sh) else None
        dec = int(sh["decimals"].iloc[0]) if len(sh) else None
        bounds = sectors.share_count_bounds(share, total, dec) if share is not None else None
        if count is not None:
            k_min = k_max = count
            basis = "published count"
        elif bounds.consistent:
            k_min, k_max, basis = bounds.k_min, bounds.k_max, f"allowed by {share:g}% ({dec} decimals)"
        else:
            k_min = bounds.nearest_below[0] if bounds.nearest_below else bounds.nearest_above[0]
            k_max = bounds.nearest_above[0] if bounds.nearest_above else k_min
            basis = f"nearest counts ({share:g}% is impossible for {total})"
        rows.append({"sector": sector, "total": total, "count_published": count, "share_published": share,
                     "decimals": dec, "other_shares": ", ".join(f"{v:g}" for v in sh["value"].iloc[1:]),
                     "k_min": k_min, "k_max": k_max, "count_basis": basis,
                     "share_consistent": None if bounds is None else bounds.consistent,
                     "count_matches_share": None if (bounds is None or count is None) else count in bounds.counts,
                     "allowed_by_share": "" if bounds is None else (
                         f"{bounds.k_min}-{bounds.k_max}" if bounds.consistent else "none"),
                     "source_ids": ", ".join(sorted(set(g["source_id"])))})
    return pd.DataFrame(rows)


def count_bounds(period: str, data_dir=DATA_DIR) -> dict[str, sectors.ShareCounts]:
    """analysis.sectors.share_count_bounds for every published share of the period."""
    ps = period_sectors(period, data_dir)
    return {r.sector: sectors.share_count_bounds(r.share_published, int(r.total), int(r.decimals))
            for r in ps.itertuples() if r.share_published is not None and not pd.isna(r.share_published)}


# ---------------------------------------------------------------- employment shares
def _lfs_total_range(data_dir=DATA_DIR) -> tuple[float, float, str]:
    w = data.load_workforce(data_dir)
    w = w[(w["geography"] == "Kazakhstan") & w["sector"].isna() & (w["measure"] == "employed") & (w["basis"] == "LFS")
          & w["period"].str[:4].isin(["2024", "2025"])]
    return float(w["value"].min()), float(w["value"].max()), f"LFS employed {', '.join(sorted(w['period']))}"


def employment_shares(data_dir=DATA_DIR) -> pd.DataFrame:
    """Employment share ranges (proportions) per Ministry sector, with their basis. Rows: construction (LFS range),
    gmk (110k government to LFS mining 281.2k over the LFS total range) and gmk_ceiling (LFS industry B+C+D+E)."""
    w = data.load_workforce(data_dir)
    nat = w[w["geography"] == "Kazakhstan"]
    lfs_sh = nat[(nat["measure"] == "employed_share_pct") & (nat["basis"] == "LFS")]
    c = lfs_sh[lfs_sh["sector"] == "construction"]
    ind = lfs_sh[lfs_sh["sector"] == "industry"]
    tot_lo, tot_hi, tot_txt = _lfs_total_range(data_dir)
    gov = nat[(nat["sector"] == "gmk") & (nat["basis"] == "government")]
    mining = nat[(nat["sector"] == "mining") & (nat["measure"] == "employed") & (nat["basis"] == "LFS")]
    mining = mining.sort_values("period").iloc[-1]
    g_lo, g_hi = float(gov["value"].iloc[0]), float(mining["value"])
    rows = [
        {"sector": "construction", "low": c["value"].min() / 100, "high": c["value"].max() / 100,
         "basis": "LFS share of employed, " + ", ".join(f"{r.period} {r.value:g}%" for r in c.itertuples())},
        {"sector": "gmk", "low": g_lo / tot_hi, "high": g_hi / tot_lo,
         "basis": (f"government 'up to' {g_lo:,.0f} workers (GMK definition) to LFS mining (NACE B) {g_hi:,.0f} "
                   f"({mining['period']}; metallurgy C24 not included), over {tot_txt} "
                   f"({tot_lo:,.0f}-{tot_hi:,.0f})")},
        {"sector": "gmk_ceiling", "low": ind["value"].max() / 100, "high": ind["value"].max() / 100,
         "basis": "LFS industry (B+C+D+E), of which GMK is part: " + ", ".join(
             f"{r.period} {r.value:g}%" for r in ind.itertuples()) + " (largest used)"},
    ]
    return pd.DataFrame(rows)


def relative_risks(period: str, alpha: float = 0.05, data_dir=DATA_DIR
                   ) -> tuple[pd.DataFrame, dict[str, sectors.SectorRelativeRisk]]:
    """Relative risk (injury share / employment share) per sector over its allowed counts and employment range,
    plus the GMK ceiling (employment share = all of industry). Returns (table, results by row name)."""
    a = validate.alpha("alpha", alpha)
    ps = period_sectors(period, data_dir).set_index("sector")
    emp = employment_shares(data_dir).set_index("sector")
    out, res = [], {}
    for name in [s for s in ("gmk", "gmk_ceiling", "construction") if s.replace("_ceiling", "") in ps.index]:
        sector = name.replace("_ceiling", "")
        r = ps.loc[sector]
        counts = list(range(int(r["k_min"]), int(r["k_max"]) + 1))
        e = emp.loc[name]
        rr = sectors.sector_relative_risk(counts, int(r["total"]), (float(e["low"]), float(e["high"])), alpha=a,
                                          sector=LABEL[sector], denominator_note=e["basis"])
        res[name] = rr
        out.append({"sector": name, "total": int(r["total"]), "k_min": counts[0], "k_max": counts[-1],
                    "injury_share_pct": 100 * (counts[0] + counts[-1]) / 2 / int(r["total"]),
                    "employment_share_low_pct": 100 * e["low"], "employment_share_high_pct": 100 * e["high"],
                    "rr": rr.estimate, "rr_low": rr.rr_range[0], "rr_high": rr.rr_range[1], "ci_low": rr.ci[0],
                    "ci_high": rr.ci[1], "p_greater_min": rr.p_greater_range[0],
                    "p_greater_max": rr.p_greater_range[1],
                    "excess_clear_if_employment_share_below_pct": 100 * rr.excess_clear_if_employment_below,
                    "employment_basis": e["basis"]})
    return pd.DataFrame(out), res


def gmk_rr_curve(period: str, alpha: float = 0.05, workers=None, data_dir=DATA_DIR) -> pd.DataFrame:
    """RR of GMK and its CI envelope as a function of GMK employment (workers, over the mid LFS total): shows
    where the excess would vanish. ``workers`` defaults to 50k-1.3M."""
    a = validate.alpha("alpha", alpha)
    ps = period_sectors(period, data_dir).set_index("sector")
    if "gmk" not in ps.index:
        return pd.DataFrame(columns=["workers", "employment_share_pct", "rr", "ci_low", "ci_high"])
    r = ps.loc["gmk"]
    lo, hi, _ = _lfs_total_range(data_dir)
    tot = (lo + hi) / 2
    grid = np.geomspace(5e4, 1.3e6, 60) if workers is None else np.asarray(workers, float)
    counts = list(range(int(r["k_min"]), int(r["k_max"]) + 1))
    rows = []
    for wk in grid:
        rr = sectors.sector_relative_risk(counts, int(r["total"]), float(wk / tot), alpha=a)
        rows.append({"workers": float(wk), "employment_share_pct": 100 * wk / tot, "rr": rr.estimate,
                     "ci_low": rr.ci[0], "ci_high": rr.ci[1]})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- history
def ministry_history(data_dir=DATA_DIR) -> pd.DataFrame:
    """Ministry sector shares, one period per year (annual when available, else the longest), for every sector
    period: count (published, else the middle of the counts the rounded share allows), its bounds, total, share."""
    best: dict[int, str] = {}
    for p in sector_periods(data_dir):
        y, m0, m1 = data.period_months(p)
        if y not in best or (m1 - m0) > (data.period_months(best[y])[2] - data.period_months(best[y])[1]):
            best[y] = p
    rows = []
    for y in sorted(best):
        for r in period_sectors(best[y], data_dir).itertuples():
            mid = (r.k_min + r.k_max) / 2
            rows.append({"period": best[y], "year": y, "sector": r.sector, "total": int(r.total),
                         "count": int(round(mid)), "k_min": int(r.k_min), "k_max": int(r.k_max),
                         "share_pct": 100 * mid / r.total, "count_basis": r.count_basis})
    return pd.DataFrame(rows)


def history_tests(period: str, alpha: float = 0.05, data_dir=DATA_DIR) -> pd.DataFrame:
    """The period's share of each sector against the other years' shares (analysis.sectors.share_vs_history, with
    every other year of :func:`ministry_history` - earlier and later - as the reference), evaluated at the smallest and largest count the period allows. Columns include p_binomial, p_chi2 and the
    over-dispersed p (between-year φ) as ranges."""
    a = validate.alpha("alpha", alpha)
    check_period(period, data_dir)
    hist = ministry_history(data_dir)
    y = data.period_months(period)[0]
    ps = period_sectors(period, data_dir).set_index("sector")
    rows = []
    for sector in ps.index:
        past = hist[(hist["sector"] == sector) & (hist["year"] != y)]
        if past.empty:
            continue
        r = ps.loc[sector]
        res = [sectors.share_vs_history(k, int(r["total"]), past["count"].tolist(), past["total"].tolist(),
                                        alpha=a, sector=LABEL[sector]) for k in sorted({int(r["k_min"]),
                                                                                          int(r["k_max"])})]
        rows.append({"sector": sector, "period": period, "share_pct": 100 * (r["k_min"] + r["k_max"]) / 2 / r["total"],
                     "other_periods": ", ".join(past["period"]), "pooled_other_share_pct": 100 * res[0].pooled_share,
                     "other_share_min_pct": past["share_pct"].min(), "other_share_max_pct": past["share_pct"].max(),
                     "phi_between_years": res[0].phi,
                     "p_binomial_min": min(x.p_binomial for x in res), "p_binomial_max": max(x.p_binomial for x in res),
                     "p_chi2_min": min(x.p_chi2 for x in res), "p_chi2_max": max(x.p_chi2 for x in res),
                     "p_overdispersed_min": min(x.p_overdispersed for x in res),
                     "p_overdispersed_max": max(x.p_overdispersed for x in res),
                     "unusual": bool(max(x.p_overdispersed if np.isfinite(x.p_overdispersed) else x.p_binomial
                                         for x in res) <= a),
                     "verdict": res[-1].verdict})
    return pd.DataFrame(rows)


def bns_shares(data_dir=DATA_DIR) -> pd.DataFrame:
    """BNS NACE-section shares of victims per year (published share, else count / BNS victims total)."""
    s = data.load_sectoral(data_dir)
    s = s[s["system"] == "bns"]
    tot = data.national_series("bns", "victims", data_dir=data_dir)
    rows = []
    for (p, sector), g in s.groupby(["period", "sector"]):
        sh = g[g["measure"] == "share_pct"]["value"]
        v = g[g["measure"] == "victims"]["value"]
        year = int(p[:4])
        if len(sh):
            share, how = float(sh.iloc[0]), "published share"
        elif len(v) and year in tot.index:
            share, how = 100 * float(v.iloc[0]) / float(tot.loc[year]), "victims / BNS total"
        else:
            continue
        rows.append({"year": year, "sector": sector, "share_pct": share, "how": how,
                     "victims": float(v.iloc[0]) if len(v) else np.nan})
    return pd.DataFrame(rows).sort_values(["sector", "year"]).reset_index(drop=True)


# ---------------------------------------------------------------- verdict
def verdict(period: str, ps: pd.DataFrame, rr: pd.DataFrame, hist: pd.DataFrame, alpha: float = 0.05) -> str:
    a = validate.alpha("alpha", alpha)
    level = f"{100 * (1 - a):g}%"
    total = int(ps["total"].iloc[0])
    parts = []
    for r in ps.itertuples():
        k = f"{r.k_min}" if r.k_min == r.k_max else f"{r.k_min}-{r.k_max}"
        src = (f"{r.share_published:g}% of {total}" + ("" if r.share_consistent else
                                                         ", a share no whole count can give; nearest counts used")
               if r.count_published is None or pd.isna(r.count_published)
               else f"published count{'' if r.count_matches_share in (None, True) else ' (its published share ' + format(r.share_published, 'g') + '% does not match it)'}")
        parts.append(f"{LABEL[r.sector]} {k} injuries ({src})")
    s = f"{period}, Ministry total {total}: " + "; ".join(parts) + ". "
    for r in rr.itertuples():
        if r.sector == "gmk_ceiling":
            s += (f"Even if GMK employed all of industry ({r.employment_share_low_pct:.1f}% of the employed, an "
                  f"impossible ceiling), its RR would be {r.rr_low:.2f}-{r.rr_high:.2f} ({level} CI envelope "
                  f"{r.ci_low:.2f} to {r.ci_high:.2f}, one-sided {fmt_p(r.p_greater_max)} at worst). ")
            continue
        s += (f"Relative risk vs employment share (exact Clopper-Pearson, analysis.sectors) for {LABEL[r.sector]}: "
              f"{r.rr_low:.2f}-{r.rr_high:.2f} across the allowed counts and employment shares "
              f"{r.employment_share_low_pct:.1f}-{r.employment_share_high_pct:.1f}% ({level} CI envelope "
              f"{r.ci_low:.2f} to {r.ci_high:.2f}; one-sided exact binomial {fmt_p(r.p_greater_max)} at worst); "
              f"the excess would stop being clear only at an employment share of "
              f"{r.excess_clear_if_employment_share_below_pct:.1f}% or more. ")
    for r in hist.itertuples():
        s += (f"Against {r.other_periods} ({r.other_share_min_pct:.1f}-{r.other_share_max_pct:.1f}%), {LABEL[r.sector]}'s "
              f"{r.share_pct:.1f}% is {'unusual' if r.unusual else 'not unusual'} (quasi-binomial with between-year "
              f"φ = {r.phi_between_years:.2f}: p {r.p_overdispersed_min:.3g}-{r.p_overdispersed_max:.3g}; plain "
              f"binomial p {r.p_binomial_min:.3g}-{r.p_binomial_max:.3g}). ")
    s += ("What would change this: an official GMK employment figure on the LFS basis (or metallurgy added to "
          "mining), a sector breakdown of the same months in earlier years (seasonality: construction is low in "
          "winter), or exact counts instead of rounded shares.")
    return s


# ---------------------------------------------------------------- the study
@dataclasses.dataclass(frozen=True)
class Params(_Params):
    """Parameters of the sectoral study (the notebook's ``parameters`` cell mirrors this)."""

    period: str = param("2025-Q1", "Ministry period with a national total and sector figures (e.g. 2025-Q1, 2021, 2019)",
                        check=_check_period, cli_required=True)
    alpha: float = param(0.05, "significance level of every test and 1 - coverage of every interval",
                         check=validate.alpha)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SectoralResult(StudyResult):
    """Everything notebook 05 shows: the period's sector figures, count bounds, employment shares, relative risks,
    the GMK curve, the history and its tests, and the BNS context."""

    study = NAME
    notebook = NOTEBOOK

    sectors: pd.DataFrame
    count_bounds: dict
    employment_shares: pd.DataFrame
    relative_risk: pd.DataFrame
    relative_risk_detail: dict
    gmk_rr_curve: pd.DataFrame
    ministry_history: pd.DataFrame
    history_tests: pd.DataFrame
    bns_shares: pd.DataFrame

    def results(self) -> dict:
        return {"period": self.params.period, "sectors": self.sectors, "count_bounds": self.count_bounds,
                "employment_shares": self.employment_shares, "relative_risk": self.relative_risk,
                "relative_risk_detail": self.relative_risk_detail, "gmk_rr_curve": self.gmk_rr_curve,
                "ministry_history": self.ministry_history, "history_tests": self.history_tests,
                "bns_shares": self.bns_shares}

    # ------------------------------------------------------------ what the notebook shows
    @property
    def bounds_note(self) -> str:
        return "\n".join(f"* **{LABEL[s]}**: {b.verdict}" for s, b in self.count_bounds.items())

    @property
    def employment_table(self) -> pd.DataFrame:
        e = self.employment_shares
        return e.assign(low_pct=100 * e["low"], high_pct=100 * e["high"]).drop(columns=["low", "high"]).round(3)

    @property
    def rr_note(self) -> str:
        return "\n".join(f"* {r.verdict}" for r in self.relative_risk_detail.values())

    @property
    def history_figure_data(self) -> pd.DataFrame:
        return self.ministry_history.assign(partial=self.ministry_history["period"].str.len() > 4)

    @property
    def history_note(self) -> str:
        return "\n".join(f"* {v}" for v in self.history_tests["verdict"])

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"sectors": self.sectors, "relative_risk": self.relative_risk, "history_tests": self.history_tests}


def title(p: Params) -> str:
    return f"Are mining-metallurgy and construction over-represented among injured workers in {p.period}?"


def _verdict(p: Params, ps: pd.DataFrame, rr: pd.DataFrame, tests: pd.DataFrame, technical: str) -> Verdict:
    main = rr[rr["sector"] != "gmk_ceiling"]
    clear = [r.sector for r in main.itertuples() if r.ci_low > 1]
    inconsistent = [r.sector for r in ps.itertuples() if r.share_consistent is False]
    key_row = main.iloc[0]
    key = Estimate(f"relative risk, {LABEL[key_row['sector']]}", float(key_row["rr"]), float(key_row["ci_low"]),
                   float(key_row["ci_high"]), float(key_row["p_greater_max"]),
                   "Clopper-Pearson injury share / employment share range (envelope)")
    if inconsistent:
        label = "inconsistent"
        headline = (f"A published sector share for {p.period} fits no whole count of the national total "
                    f"({', '.join(LABEL[s] for s in inconsistent)}).")
    elif len(clear) == len(main):
        label = "fragile"
        headline = "Both sectors exceed their employment share under a binomial model; the year-to-year variation is not carried."
    else:
        label = "not supported"
        headline = "Not every named sector clearly exceeds its employment share."
    summary = ("The sectors' shares of injured workers are compared with their shares of employment. "
               "The comparison depends on rounded published shares and on employment figures that do not match "
               "the Ministry's sector definitions.")
    return Verdict(label=label, headline=headline, summary=summary, technical=technical, key=key,
                   would_change="An official GMK employment figure, exact counts instead of rounded shares, or "
                                "earlier sector breakdowns of the same months.")


def run(params: Params, data_dir=DATA_DIR) -> SectoralResult:
    """Run the study.

    Parameters
    ----------
    params : Params
        Validated parameters.
    data_dir : path, optional
        The data folder (a copy in tests).

    Returns
    -------
    SectoralResult
    """
    p = params
    check_period(p.period, data_dir)
    ps = period_sectors(p.period, data_dir)
    bounds = count_bounds(p.period, data_dir)
    emp = employment_shares(data_dir)
    rr, rr_results = relative_risks(p.period, p.alpha, data_dir)
    curve = gmk_rr_curve(p.period, p.alpha, data_dir=data_dir)
    hist = ministry_history(data_dir)
    tests = history_tests(p.period, p.alpha, data_dir)
    bns = bns_shares(data_dir)
    technical = verdict(p.period, ps, rr, tests, p.alpha)
    v = _verdict(p, ps, rr, tests, technical)
    estimates = tuple(Estimate(f"relative risk, {r.sector}", float(r.rr), float(r.ci_low), float(r.ci_high),
                               float(r.p_greater_max), "Clopper-Pearson injury share / employment share (envelope)")
                      for r in rr.itertuples())
    return SectoralResult(
        params=p, title=title(p),
        question=("Are these sectors riskier than their share of employment implies, and is this period's sector mix "
                  "unusual against earlier years?"),
        claim="", verdict=v, estimates=estimates, caveats=(),
        sectors=ps, count_bounds=bounds, employment_shares=emp, relative_risk=rr, relative_risk_detail=rr_results,
        gmk_rr_curve=curve, ministry_history=hist, history_tests=tests, bns_shares=bns)


__all__ = ["LABEL", "SECTORS", "bns_shares", "check_period", "count_bounds", "employment_shares", "gmk_rr_curve",
           "history_tests", "ministry_history", "period_sectors", "relative_risks", "sector_periods", "verdict", "Params", "SectoralResult", "run"]
