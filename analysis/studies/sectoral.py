"""Which sectors really stand out? (notebook ``05_sectoral_patterns``)

The Ministry names the sectors with the most injured workers (the mining and metallurgical complex, GMK, and
construction) by their share of the period's injured. This study

* finds the counts those rounded shares allow under the two rounding rules the Ministry appears to use (rounding to
  the nearest value and truncation), tests which rule each release's figures support and carries both where the
  release cannot tell them apart;
* sets each sector's injury share against its share of employees (relative risk): hired employees rather than all
  employed, because the labour inspection rarely registers the self-employed; GMK, a grouping of mining and
  metallurgy that is not a NACE section, at every sourced workforce figure up to all of industry (the only sourced
  bound that includes metallurgy);
* gives every relative risk an exact binomial interval and an interval that carries the between-year over-dispersion
  φ of the sector's share (Korn-Graubard effective sample, t reference), and says "the excess holds" only where it
  survives φ across the honest range of denominators;
* tests the period's shares against the other years' (binomial, χ², quasi-binomial with φ) and shows the BNS NACE
  shares as context only (another statistical system).

``run(Params(...))`` returns a :class:`SectoralResult`; the notebook narrates it. Pure statistics live in
:mod:`analysis.stats.sectors`.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import data
from analysis.core import validate
from analysis.core.fmt import fmt_count, fmt_number, fmt_percent, fmt_pvalue
from analysis.core.params import Params as _Params
from analysis.core.params import param
from analysis.core.paths import DATA_DIR
from analysis.core.study import Estimate, StudyResult, Verdict
from analysis.stats import sectors
from analysis.studies import common

NAME = "sectoral"
NOTEBOOK = "05_sectoral_patterns"
SECTORS = ("gmk", "construction")
LABEL = {"gmk": "mining and metallurgical complex (GMK)", "construction": "construction"}
SHORT = {"gmk": "mining-metallurgy (GMK)", "construction": "construction"}
#: BNS NACE sections in words (figure legends), after the Ministry's two groupings: one fixed order and colour each
BNS_NAMES = {"construction": "construction", "mining": "mining and quarrying (B)", "manufacturing": "manufacturing (C)",
             "health": "health and social work (Q)", "transport": "transport and storage (H)",
             "agriculture": "agriculture (A)"}
FIGURE_SECTORS = (SHORT["gmk"], *BNS_NAMES.values())
ROUNDING = ("auto", "both", "round-half", "truncate")
RULE_WORDS = {"round-half": "rounded to nearest", "truncate": "truncated"}
#: the labels a sector (and the study) can get; 'inconsistent' when a share fits no whole count under either rule
SECTOR_LABELS = ("supported", "fragile", "not supported", "inconsistent")


def _yes(x) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else ("yes" if x else "no")


def _p_text(p) -> str:
    text = fmt_pvalue(p)
    return text if text.startswith("<") else f"= {text}"


def _k_text(k_min, k_max) -> str:
    return fmt_count(k_min) if k_min == k_max else f"{fmt_count(k_min)}–{fmt_count(k_max)}"


def _about(x: float, sig: int = 2) -> str:
    """A large number to ``sig`` significant figures ('510,000'), where more digits would mislead."""
    return fmt_count(float(f"{x:.{sig}g}"))


def _pct(x, decimals: int = 1) -> str:
    return fmt_percent(x, decimals, signed=False)


def _pct_range(lo, hi, decimals: int = 1) -> str:
    a, b = _pct(lo, decimals), _pct(hi, decimals)
    return a if a == b else f"{a}–{b}"


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
def _totals(data_dir: str) -> dict[str, int]:
    """The Ministry's national injured total of every period with sector figures (periods without one left out)."""
    s = _ministry_rows(data_dir)
    totals = {p: data.national_total(p, data_dir=data_dir) for p in sorted(s["period"].unique())}
    return {p: int(t) for p, t in totals.items() if t is not None}


def _total(period: str, data_dir) -> int:
    return _totals(str(Path(data_dir).resolve()))[period]


@lru_cache(maxsize=4)
def _sector_periods(data_dir: str) -> tuple[str, ...]:
    return tuple(_totals(data_dir))


def sector_periods(data_dir=DATA_DIR) -> list[str]:
    """Ministry periods with a national injured total and at least one sector count or share."""
    return list(_sector_periods(str(Path(data_dir).resolve())))


def check_period(period, data_dir=DATA_DIR) -> str:
    """Check a period parameter: a Ministry period that ``data/`` holds figures for.

    Parameters
    ----------
    period : str
        The period ('2024', '2025-Q1', ...).
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder.

    Returns
    -------
    str
        ``period`` unchanged.

    Raises
    ------
    ValueError
        Naming ``period`` and listing the allowed periods (:func:`sector_periods`) when it is not one of them.
    """
    return validate.one_of("period", period, sector_periods(data_dir))


def _check_period(name: str, value: str) -> str:
    """Parameter check: a Ministry period with a national total and sector figures in ``data/``."""
    return validate.one_of(name, value, sector_periods())


def _period_groups(period: str, data_dir=DATA_DIR):
    """(sector, its rows, published count or None, its share rows most precise first) for each Ministry sector of
    the period, and the national total."""
    check_period(period, data_dir)
    total = _total(period, data_dir)
    s = _ministry_rows(data_dir)
    s = s[s["period"] == period]
    groups = []
    for sector in [x for x in SECTORS if x in set(s["sector"])]:
        g = s[s["sector"] == sector]
        cnt = g[g["measure"] == "injured"]["value"]
        groups.append((sector, g, int(cnt.iloc[0]) if len(cnt) else None,
                       g[g["measure"] == "share_pct"].sort_values("decimals", ascending=False)))
    return groups, int(total)


def release_figures(period: str, data_dir=DATA_DIR) -> list[sectors.PublishedShare]:
    """Every published sector share of a Ministry period (with the count published beside it, if any)."""
    groups, total = _period_groups(period, data_dir)
    return [sectors.PublishedShare(SHORT[sector], float(r.value), int(r.decimals), total, count)
            for sector, _, count, sh in groups for r in sh.itertuples()]


def rule_test(period: str, data_dir=DATA_DIR) -> sectors.RoundingRuleTest:
    """Which rounding rules reproduce every published share of the period (analysis.stats.sectors)."""
    return _rule_test(period, str(Path(data_dir).resolve()))


@lru_cache(maxsize=64)
def _rule_test(period: str, data_dir: str) -> sectors.RoundingRuleTest:
    return sectors.rounding_rule_test(release_figures(period, data_dir))


def rules_carried(test: sectors.RoundingRuleTest, rounding: str = "auto") -> tuple[str, ...]:
    """The rules whose counts are carried: the release's supported rules ('auto'; both when it supports neither),
    both rules ('both'), or the one rule named."""
    validate.one_of("rounding", rounding, ROUNDING)
    if rounding == "auto":
        return test.supported or sectors.ROUNDING_RULES
    if rounding == "both":
        return sectors.ROUNDING_RULES
    return (rounding,)


def period_sectors(period: str, rounding: str = "auto", data_dir=DATA_DIR) -> pd.DataFrame:
    """Per Ministry sector of ``period``: published count and/or share (the most precise share if several), the
    counts the share allows under each rounding rule, the rules carried, and the counts used.

    Columns: sector, total, count_published, share_published, decimals, other_shares, allowed_round_half,
    allowed_truncate, rules, k_min, k_max, count_basis, status ('published count', 'allowed by the share',
    'inconsistent'), share_consistent (the share fits a whole count under a carried rule), count_matches_share,
    source_ids.
    """
    return _period_sectors(period, rounding, str(Path(data_dir).resolve())).copy()


@lru_cache(maxsize=64)
def _period_sectors(period: str, rounding: str, data_dir: str) -> pd.DataFrame:
    groups, total = _period_groups(period, data_dir)
    carried = rules_carried(rule_test(period, data_dir), rounding)
    rows = []
    for sector, g, count, sh in groups:
        share = float(sh["value"].iloc[0]) if len(sh) else None
        dec = int(sh["decimals"].iloc[0]) if len(sh) else None
        bounds = ({r: sectors.share_count_bounds(share, total, dec, r) for r in sectors.ROUNDING_RULES}
                  if share is not None else {})
        allowed = sorted({k for r in carried if r in bounds for k in bounds[r].counts})
        rules = carried
        if count is not None:
            k_min = k_max = count
            basis, status = "published count", "published count"
        elif allowed:
            k_min, k_max = allowed[0], allowed[-1]
            basis = f"allowed by {share:g}% ({' or '.join(RULE_WORDS[r] for r in carried)})"
            status = "allowed by the share"
        elif rounding in sectors.ROUNDING_RULES:  # a rule named by the user: its nearest counts, flagged
            b = bounds[rounding]
            near = [c[0] for c in (b.nearest_below, b.nearest_above) if c]
            k_min, k_max = min(near), max(near)
            basis = f"nearest counts ({share:g}% fits no whole count of {total} when {RULE_WORDS[rounding]})"
            status = "inconsistent"
        else:
            others = sorted({k for b in bounds.values() for k in b.counts})
            if others:  # the release's rule does not fit this share, the other rule does
                rules = tuple(r for r in sectors.ROUNDING_RULES if bounds[r].consistent)
                k_min, k_max = others[0], others[-1]
                basis = f"allowed by {share:g}% only if {' or '.join(RULE_WORDS[r] for r in rules)}"
                status = "allowed by the share"
            else:
                near = [c[0] for b in bounds.values() for c in (b.nearest_below, b.nearest_above) if c]
                k_min, k_max = min(near), max(near)
                basis = f"nearest counts ({share:g}% fits no whole count of {total} under either rule)"
                status, rules = "inconsistent", sectors.ROUNDING_RULES
        matches = None
        if count is not None and bounds:
            matches = any(count in bounds[r].counts for r in carried)
        rows.append({"sector": sector, "total": total, "count_published": count, "share_published": share,
                     "decimals": dec, "other_shares": ", ".join(f"{v:g}" for v in sh["value"].iloc[1:]),
                     "allowed_round_half": _allowed_text(bounds.get("round-half")),
                     "allowed_truncate": _allowed_text(bounds.get("truncate")),
                     "rules": ", ".join(rules), "k_min": k_min, "k_max": k_max, "count_basis": basis,
                     "status": status,
                     "share_consistent": None if not bounds else any(bounds[r].consistent for r in rules),
                     "count_matches_share": matches,
                     "source_ids": ", ".join(sorted(set(g["source_id"])))})
    return pd.DataFrame(rows)


def _allowed_text(b: sectors.ShareCounts | None) -> str:
    if b is None:
        return ""
    return _k_text(b.k_min, b.k_max) if b.consistent else "none"


def count_bounds(period: str, data_dir=DATA_DIR) -> dict[str, dict[str, sectors.ShareCounts]]:
    """``share_count_bounds`` of every sector's most precise published share under each rounding rule."""
    ps = period_sectors(period, data_dir=data_dir)
    return {r.sector: {rule: sectors.share_count_bounds(r.share_published, int(r.total), int(r.decimals), rule)
                       for rule in sectors.ROUNDING_RULES}
            for r in ps.itertuples() if r.share_published is not None and not pd.isna(r.share_published)}


def rule_evidence(data_dir=DATA_DIR) -> pd.DataFrame:
    """For every Ministry sector release: its figures, whether each rounding rule fits them all, and the rule(s)
    it supports. Columns: period, total, figures, round_half_fits, truncate_fits, decision, discriminating,
    verdict."""
    rows = []
    for period in sector_periods(data_dir):
        t = rule_test(period, data_dir)
        by: dict[str, list[str]] = {}
        for f in t.figures:
            by.setdefault(f.name, []).append(f"{f.share_pct:g}%" + (f" ({f.count})" if f.count is not None else ""))
        figs = "; ".join(f"{name} {', '.join(v)}" for name, v in by.items())
        rows.append({"period": period, "total": _total(period, data_dir),
                     "figures": figs or "counts only", "round_half_fits": t.fits["round-half"] if t.figures else None,
                     "truncate_fits": t.fits["truncate"] if t.figures else None,
                     "decision": t.decision if t.figures else "no share published",
                     "discriminating": ", ".join(t.discriminating), "verdict": t.verdict})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- employment denominators
def _lfs_national(data_dir=DATA_DIR) -> pd.DataFrame:
    w = data.load_workforce(data_dir)
    return w[(w["geography"] == "Kazakhstan") & w["sector"].isna() & (w["basis"] == "LFS")
             & w["period"].str[:4].isin(["2024", "2025"])]


def denominator_totals(data_dir=DATA_DIR) -> dict:
    """National LFS totals of 2024-2025: employed and hired-employee ranges, and the hired fraction of the employed
    (from the periods where both are published exactly)."""
    w = _lfs_national(data_dir)
    emp = w[w["measure"] == "employed"]
    hired = w[w["measure"] == "hired_employees"]
    exact = (emp[~emp["approximate"]].set_index("period")["value"].to_frame("employed")
             .join(hired[~hired["approximate"]].set_index("period")["value"].rename("hired"), how="inner"))
    frac = exact["hired"] / exact["employed"]
    return {"employed": (float(emp["value"].min()), float(emp["value"].max())),
            "employed_periods": ", ".join(sorted(emp["period"])),
            "hired": (float(hired["value"].min()), float(hired["value"].max())),
            "hired_periods": ", ".join(sorted(hired["period"])),
            "hired_fraction": (float(frac.min()), float(frac.max())),
            "hired_fraction_periods": ", ".join(sorted(exact.index)),
            "source_ids": sorted(set(emp["source_id"]) | set(hired["source_id"]))}


def employment_shares(data_dir=DATA_DIR) -> pd.DataFrame:
    """The sectors' shares of hired employees (proportions), one row per denominator.

    * GMK (no NACE section matches it), at every sourced workforce: the government's "up to 110 thousand", all of
      LFS mining (NACE B, which includes oil and gas but not metallurgy) and all of LFS industry (B+C+D+E, the only
      sourced figure that includes metallurgy, a ceiling). GMK workers are taken to be employees (large
      enterprises), over the range of national hired employees of 2024-2025.
    * Construction: from its LFS share of the employed (as if its workers were self-employed as often as all
      workers) to its LFS employed count over hired employees (as if none were self-employed: an upper bound).

    Columns: row, sector, denominator, low, high, workers_low, workers_high, basis, source_ids.
    """
    w = data.load_workforce(data_dir)
    nat = w[w["geography"] == "Kazakhstan"]
    t = denominator_totals(data_dir)
    (e_lo, e_hi), (h_lo, h_hi) = t["employed"], t["hired"]
    lfs_sh = nat[(nat["measure"] == "employed_share_pct") & (nat["basis"] == "LFS")]
    con = lfs_sh[lfs_sh["sector"] == "construction"]
    ind = lfs_sh[lfs_sh["sector"] == "industry"]
    gov = nat[(nat["sector"] == "gmk") & (nat["basis"] == "government")].iloc[0]
    mining = nat[(nat["sector"] == "mining") & (nat["measure"] == "employed") & (nat["basis"] == "LFS")]
    mining = mining.sort_values("period").iloc[-1]
    ind_share = float(ind["value"].max()) / 100
    hired_txt = f"hired employees {fmt_count(h_lo)}–{fmt_count(h_hi)} (LFS {t['hired_periods']})"
    rows = []

    def gmk_row(key, name, lo_workers, hi_workers, basis, ids):
        rows.append({"row": key, "sector": "gmk", "denominator": name, "low": lo_workers / h_hi,
                     "high": hi_workers / h_lo, "workers_low": lo_workers, "workers_high": hi_workers,
                     "basis": f"{basis}, over {hired_txt}", "source_ids": ", ".join(sorted(set(ids)))})

    gmk_row("gmk_government", f"government figure ({fmt_count(gov['value'])})", float(gov["value"]),
            float(gov["value"]), f"government 'up to' {fmt_count(gov['value'])} GMK workers ({gov['period']})",
            [gov["source_id"]])
    gmk_row("gmk_mining", f"all of mining ({fmt_count(mining['value'])}, no metallurgy)", float(mining["value"]),
            float(mining["value"]),
            f"LFS mining and quarrying (NACE B) {fmt_count(mining['value'])} ({mining['period']}): includes oil and "
            "gas, excludes metallurgy (C24)", [mining["source_id"]])
    gmk_row("gmk_industry", "all of industry (ceiling incl. metallurgy)", ind_share * e_lo, ind_share * e_hi,
            f"LFS industry (B+C+D+E) {_pct(100 * ind_share)} of the employed ({fmt_count(e_lo)}–{fmt_count(e_hi)}, "
            f"LFS {t['employed_periods']}): the only sourced figure that contains metallurgy",
            list(ind["source_id"]))
    f_lo, _ = t["hired_fraction"]
    c_lo, c_hi = float(con["value"].min()) / 100, float(con["value"].max()) / 100
    rows.append({"row": "construction", "sector": "construction",
                 "denominator": "share of employees (self-employment unknown)", "low": c_lo, "high": c_hi / f_lo,
                 "workers_low": np.nan, "workers_high": np.nan,
                 "basis": (f"from the LFS share of the employed ({', '.join(f'{r.period} {r.value:g}%' for r in con.itertuples())}; "
                           f"as if as many of its workers were self-employed as of all workers) to "
                           f"{_pct(100 * c_hi)} / {fmt_number(f_lo)} hired fraction (LFS {t['hired_fraction_periods']}; "
                           "as if none were)"),
                 "source_ids": ", ".join(sorted(set(con["source_id"])))})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- history
def ministry_history(rounding: str = "auto", data_dir=DATA_DIR) -> pd.DataFrame:
    """Ministry sector shares, one period per year (annual when available, else the longest), for every sector
    period: count (published, else the middle of the counts the carried rules allow), its bounds, total, share."""
    best: dict[int, str] = {}
    for p in sector_periods(data_dir):
        y, m0, m1 = data.period_months(p)
        if y not in best or (m1 - m0) > (data.period_months(best[y])[2] - data.period_months(best[y])[1]):
            best[y] = p
    rows = []
    for y in sorted(best):
        for r in period_sectors(best[y], rounding, data_dir).itertuples():
            mid = (r.k_min + r.k_max) / 2
            rows.append({"period": best[y], "year": y, "sector": r.sector, "total": int(r.total),
                         "count": int(round(mid)), "k_min": int(r.k_min), "k_max": int(r.k_max),
                         "share_pct": 100 * mid / r.total, "share_low_pct": 100 * r.k_min / r.total,
                         "share_high_pct": 100 * r.k_max / r.total, "rules": r.rules, "count_basis": r.count_basis})
    return pd.DataFrame(rows)


def history_tests(period: str, alpha: float = 0.05, rounding: str = "auto", data_dir=DATA_DIR,
                  hist: pd.DataFrame | None = None) -> pd.DataFrame:
    """The period's share of each sector against the other years' shares (``share_vs_history`` with every other
    year of :func:`ministry_history`, earlier and later, as the reference), evaluated at the smallest and largest
    count the period allows. Columns include the between-year φ (and its df), p_binomial, p_chi2 and the
    over-dispersed p as ranges."""
    a = validate.alpha("alpha", alpha)
    check_period(period, data_dir)
    hist = ministry_history(rounding, data_dir) if hist is None else hist
    y = data.period_months(period)[0]
    ps = period_sectors(period, rounding, data_dir).set_index("sector")
    rows = []
    for sector in ps.index:
        past = hist[(hist["sector"] == sector) & (hist["year"] != y)]
        if past.empty:
            continue
        r = ps.loc[sector]
        res = [sectors.share_vs_history(k, int(r["total"]), past["count"].tolist(), past["total"].tolist(),
                                        alpha=a, sector=LABEL[sector])
               for k in sorted({int(r["k_min"]), int(r["k_max"])})]
        rows.append({"sector": sector, "period": period, "share_pct": 100 * (r["k_min"] + r["k_max"]) / 2 / r["total"],
                     "other_periods": ", ".join(past["period"]), "pooled_other_share_pct": 100 * res[0].pooled_share,
                     "other_share_min_pct": past["share_pct"].min(), "other_share_max_pct": past["share_pct"].max(),
                     "mean_other_total": float(past["total"].mean()),
                     "phi_between_years": res[0].phi, "phi_df": res[0].n_years - 1,
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


# ---------------------------------------------------------------- relative risks
def relative_risks(period: str, alpha: float = 0.05, rounding: str = "auto", data_dir=DATA_DIR,
                   tests: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict[str, sectors.SectorRelativeRisk]]:
    """Relative risk (injury share / share of employees) for every denominator row of :func:`employment_shares`,
    over the sector's allowed counts, with the binomial interval and the interval under the sector's between-year
    φ (from :func:`history_tests`). Returns (table, results by row)."""
    a = validate.alpha("alpha", alpha)
    ps = period_sectors(period, rounding, data_dir).set_index("sector")
    emp = employment_shares(data_dir)
    tests = history_tests(period, a, rounding, data_dir) if tests is None else tests
    phi = tests.set_index("sector") if len(tests) else pd.DataFrame()
    out, res = [], {}
    for e in emp.itertuples():
        if e.sector not in ps.index:
            continue
        r = ps.loc[e.sector]
        counts = list(range(int(r["k_min"]), int(r["k_max"]) + 1))
        disp = df = None
        if e.sector in phi.index and np.isfinite(phi.loc[e.sector, "phi_between_years"]):
            disp, df = float(phi.loc[e.sector, "phi_between_years"]), int(phi.loc[e.sector, "phi_df"])
        rr = sectors.sector_relative_risk(counts, int(r["total"]), (float(e.low), float(e.high)), alpha=a,
                                          sector=LABEL[e.sector], denominator_note=f"Denominator: {e.basis}.",
                                          dispersion=disp, dispersion_df=df)
        res[e.row] = rr
        out.append({"row": e.row, "sector": e.sector, "denominator": e.denominator, "total": int(r["total"]),
                    "k_min": counts[0], "k_max": counts[-1],
                    "injury_share_low_pct": 100 * counts[0] / int(r["total"]),
                    "injury_share_high_pct": 100 * counts[-1] / int(r["total"]),
                    "employment_share_low_pct": 100 * e.low, "employment_share_high_pct": 100 * e.high,
                    "rr": rr.estimate, "rr_low": rr.rr_range[0], "rr_high": rr.rr_range[1], "ci_low": rr.ci[0],
                    "ci_high": rr.ci[1], "p_greater_min": rr.p_greater_range[0], "p_greater_max": rr.p_greater_range[1],
                    "phi": np.nan if disp is None else disp, "phi_df": df,
                    "ci_low_phi": np.nan if disp is None else rr.ci_overdispersed[0],
                    "ci_high_phi": np.nan if disp is None else rr.ci_overdispersed[1],
                    "p_greater_phi_max": np.nan if disp is None else rr.p_greater_overdispersed_range[1],
                    "excess_holds": rr.excess_holds, "excess_holds_phi": rr.excess_holds_overdispersed,
                    "excess_clear_below_pct": 100 * rr.excess_clear_if_employment_below,
                    "excess_clear_below_phi_pct": (np.nan if disp is None
                                                   else 100 * rr.excess_clear_if_employment_below_overdispersed),
                    "employment_basis": e.basis})
    return pd.DataFrame(out), res


def gmk_rr_curve(period: str, alpha: float = 0.05, rounding: str = "auto", workers=None, data_dir=DATA_DIR,
                 tests: pd.DataFrame | None = None) -> pd.DataFrame:
    """GMK relative risk and its binomial and over-dispersed interval envelopes as a function of the GMK workforce
    (employees, over the middle of the national hired-employee range): shows where the excess would vanish.
    ``workers`` defaults to 50 thousand to 1.3 million."""
    a = validate.alpha("alpha", alpha)
    ps = period_sectors(period, rounding, data_dir).set_index("sector")
    cols = ["workers", "employment_share_pct", "rr", "ci_low", "ci_high", "ci_low_phi", "ci_high_phi"]
    if "gmk" not in ps.index:
        return pd.DataFrame(columns=cols)
    tests = history_tests(period, a, rounding, data_dir) if tests is None else tests
    t = tests.set_index("sector")
    disp = df = None
    if "gmk" in t.index and np.isfinite(t.loc["gmk", "phi_between_years"]):
        disp, df = float(t.loc["gmk", "phi_between_years"]), int(t.loc["gmk", "phi_df"])
    r = ps.loc["gmk"]
    h_lo, h_hi = denominator_totals(data_dir)["hired"]
    hired = (h_lo + h_hi) / 2
    grid = np.geomspace(5e4, 1.3e6, 60) if workers is None else np.asarray(workers, float)
    counts = list(range(int(r["k_min"]), int(r["k_max"]) + 1))
    rows = []
    for wk in grid:
        rr = sectors.sector_relative_risk(counts, int(r["total"]), float(wk / hired), alpha=a, dispersion=disp,
                                          dispersion_df=df)
        od = rr.ci_overdispersed or (np.nan, np.nan)
        rows.append({"workers": float(wk), "employment_share_pct": 100 * wk / hired, "rr": rr.estimate,
                     "ci_low": rr.ci[0], "ci_high": rr.ci[1], "ci_low_phi": od[0], "ci_high_phi": od[1]})
    return pd.DataFrame(rows, columns=cols)


# ---------------------------------------------------------------- per-sector judgement
def sector_judgement(rr: pd.DataFrame, ps: pd.DataFrame) -> pd.DataFrame:
    """One row per sector: its label and the thresholds it rests on.

    Over the sector's whole range of denominators [smallest low, largest high] (GMK: government figure to all of
    industry; construction: employed share to the no-self-employed bound):

    * ``inconsistent``: its published share fits no whole count of the total under either rounding rule;
    * ``supported``: the excess is clear with the between-year φ at every allowed count and denominator;
    * ``fragile``: clear with φ only for part of the range, or only under the binomial model;
    * ``not supported``: not clear even under the binomial model at the smallest denominator.

    "Clear at share e" means e is below the lower interval limit of the injury share at the smallest allowed count
    (``excess_clear_below_*``), which is how the interval envelope is built.
    """
    out = []
    status = ps.set_index("sector")["status"]
    for sector, g in rr.groupby("sector", sort=False):
        lo, hi = g["employment_share_low_pct"].min(), g["employment_share_high_pct"].max()
        thr = float(g["excess_clear_below_pct"].iloc[0])
        thr_phi = g["excess_clear_below_phi_pct"].iloc[0]
        thr_phi = None if thr_phi is None or pd.isna(thr_phi) else float(thr_phi)
        cautious = thr if thr_phi is None else thr_phi
        if status.get(sector) == "inconsistent":
            label = "inconsistent"
        elif hi < cautious:
            label = "supported"
        elif lo < thr:
            label = "fragile"
        else:
            label = "not supported"
        out.append({"sector": sector, "label": label, "employment_share_low_pct": lo,
                    "employment_share_high_pct": hi, "excess_clear_below_pct": thr,
                    "excess_clear_below_phi_pct": thr_phi, "holds_phi_everywhere": hi < cautious,
                    "holds_phi_somewhere": lo < cautious, "holds_binomial_somewhere": lo < thr})
    return pd.DataFrame(out)


def overall_label(labels) -> str:
    """The study's label from the sectors' labels."""
    labels = list(labels)
    if "inconsistent" in labels:
        return "inconsistent"
    if labels and all(x == "supported" for x in labels):
        return "supported"
    if labels and all(x == "not supported" for x in labels):
        return "not supported"
    return "fragile"


# ---------------------------------------------------------------- the study
@dataclasses.dataclass(frozen=True)
class Params(_Params):
    """Parameters of the sectoral study (the notebook's ``parameters`` cell mirrors this)."""

    period: str = param("2025-Q1", "Ministry period with a national total and sector figures (e.g. 2025-Q1, 2021, 2019)",
                        check=_check_period, cli_required=True)
    alpha: float = param(0.05, "significance level of every test and 1 - coverage of every interval",
                         check=validate.alpha)
    rounding: str = param("auto", "rounding rule of published shares: auto (what each release supports; both if "
                                  "undecided), both, round-half or truncate", choices=ROUNDING)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SectoralResult(StudyResult):
    """Everything notebook 05 shows: the period's sector figures and the counts they allow under each rounding rule,
    the rule each release supports, the employment denominators, relative risks with binomial and over-dispersed
    intervals, the GMK workforce curve, the history and its tests, and the BNS context."""

    study = NAME
    notebook = NOTEBOOK

    sectors: pd.DataFrame
    rule: sectors.RoundingRuleTest
    rules_used: tuple[str, ...]
    rule_evidence: pd.DataFrame
    count_bounds: dict
    denominators: dict
    employment_shares: pd.DataFrame
    relative_risk: pd.DataFrame
    relative_risk_detail: dict
    judgement: pd.DataFrame
    gmk_rr_curve: pd.DataFrame
    gmk_break_even_workers: float | None
    ministry_history: pd.DataFrame
    history_tests: pd.DataFrame
    bns_shares: pd.DataFrame
    shift_view: dict

    def results(self) -> dict:
        """The study's detailed results for the results JSON.

        Returns
        -------
        dict
            ``period``, the rounding rule (``rounding_rule``, ``rules_used``, ``rule_evidence``), ``sectors``,
            ``count_bounds``, ``denominators``, ``employment_shares``, ``relative_risk`` and its detail,
            ``sector_labels``, the GMK break-even and RR curve, ``ministry_history``, ``history_tests``,
            ``phi_as_share_shifts`` and ``bns_shares``.
        """
        return {"period": self.params.period, "rounding_rule": self.rule, "rules_used": list(self.rules_used),
                "rule_evidence": self.rule_evidence, "sectors": self.sectors, "count_bounds": self.count_bounds,
                "denominators": self.denominators, "employment_shares": self.employment_shares,
                "relative_risk": self.relative_risk, "relative_risk_detail": self.relative_risk_detail,
                "sector_labels": self.judgement, "gmk_break_even_workers": self.gmk_break_even_workers,
                "gmk_rr_curve": self.gmk_rr_curve, "ministry_history": self.ministry_history,
                "history_tests": self.history_tests, "phi_as_share_shifts": self.shift_view,
                "bns_shares": self.bns_shares}

    # ------------------------------------------------------------ tables (plain-English headers)
    @property
    def sectors_table(self) -> pd.DataFrame:
        rows = []
        for r in self.sectors.itertuples():
            pub = []
            if r.share_published is not None and not pd.isna(r.share_published):
                pub.append(f"{r.share_published:g}%" + (f" (also {r.other_shares}%)" if r.other_shares else ""))
            if r.count_published is not None and not pd.isna(r.count_published):
                pub.append(f"{fmt_count(r.count_published)} people")
            rows.append({"Sector": SHORT[r.sector], "Published": ", ".join(pub),
                         "Counts if rounded to nearest": r.allowed_round_half or "—",
                         "Counts if truncated": r.allowed_truncate or "—",
                         "Counts used": _k_text(r.k_min, r.k_max), "Of all injured": fmt_count(r.total),
                         "Basis": r.count_basis, "Sources": r.source_ids})
        return pd.DataFrame(rows)

    @property
    def rule_table(self) -> pd.DataFrame:
        words = {"round-half": "rounded to nearest", "truncate": "truncated", "either": "either (both carried)",
                 "neither": "neither", "no share published": "no share published"}
        return pd.DataFrame([{"Release": r.period, "All injured": fmt_count(r.total), "Published figures": r.figures,
                              "Fits rounding to nearest": _yes(r.round_half_fits), "Fits truncation": _yes(r.truncate_fits),
                              "Rule supported": words[r.decision]} for r in self.rule_evidence.itertuples()])

    @property
    def denominators_table(self) -> pd.DataFrame:
        rows = []
        for e in self.employment_shares.itertuples():
            workers = ("" if pd.isna(e.workers_low) else
                       fmt_count(e.workers_low) if e.workers_low == e.workers_high else
                       f"{fmt_count(e.workers_low)}–{fmt_count(e.workers_high)}")
            rows.append({"Sector": SHORT[e.sector], "Denominator": e.denominator, "Workers": workers,
                         "Share of employees": _pct_range(100 * e.low, 100 * e.high, 2), "Sources": e.source_ids})
        return pd.DataFrame(rows)

    @property
    def denominators_note(self) -> str:
        ids = ", ".join(self.denominators["source_ids"])
        return "\n".join([*(f"* **{_sentence(SHORT[e.sector])[:-1]}, {e.denominator}**: {e.basis}."
                             for e in self.employment_shares.itertuples()),
                           f"* National LFS totals (employed and hired employees): sources {ids}."])

    @property
    def break_even_label(self) -> str:
        be = self.gmk_break_even_workers
        return "" if be is None else f"excess no longer clear beyond about {_about(be)}"

    @property
    def rr_table(self) -> pd.DataFrame:
        lvl = f"{100 * (1 - self.params.alpha):g}%"
        rows = []
        for r in self.relative_risk.itertuples():
            phi = "" if r.phi is None or pd.isna(r.phi) else (
                f"{fmt_number(r.ci_low_phi)} to {fmt_number(r.ci_high_phi)}")
            rows.append({"Sector and denominator": f"{SHORT[r.sector]}: {r.denominator}",
                         "Injured": _k_text(r.k_min, r.k_max),
                         "Share of injured": _pct_range(r.injury_share_low_pct, r.injury_share_high_pct),
                         "Share of employees": _pct_range(r.employment_share_low_pct, r.employment_share_high_pct),
                         "Relative risk": (fmt_number(r.rr_low) if fmt_number(r.rr_low) == fmt_number(r.rr_high)
                                           else f"{fmt_number(r.rr_low)}–{fmt_number(r.rr_high)}"),
                         f"{lvl} interval, chance only": f"{fmt_number(r.ci_low)} to {fmt_number(r.ci_high)}",
                         f"{lvl} interval with year-to-year variation": phi,
                         "Excess clear, chance only": _yes(r.excess_holds),
                         "Excess clear with year-to-year variation": _yes(r.excess_holds_phi)})
        return pd.DataFrame(rows)

    @property
    def judgement_table(self) -> pd.DataFrame:
        rows = []
        for j in self.judgement.itertuples():
            rows.append({"Sector": SHORT[j.sector], "Verdict": j.label,
                         "Range of employee shares": _pct_range(j.employment_share_low_pct,
                                                                j.employment_share_high_pct, 2),
                         "Excess clear below this share, chance only": _pct(j.excess_clear_below_pct, 2),
                         "Excess clear below this share, with year-to-year variation":
                             "" if j.excess_clear_below_phi_pct is None or pd.isna(j.excess_clear_below_phi_pct)
                             else _pct(j.excess_clear_below_phi_pct, 2)})
        return pd.DataFrame(rows)

    @property
    def history_table(self) -> pd.DataFrame:
        h = self.ministry_history
        return pd.DataFrame([{"Period": r.period, "Sector": SHORT[r.sector], "Injured in sector": _k_text(r.k_min, r.k_max),
                              "All injured": fmt_count(r.total),
                              "Share": _pct_range(r.share_low_pct, r.share_high_pct), "Basis": r.count_basis}
                             for r in h.itertuples()])

    @property
    def history_tests_table(self) -> pd.DataFrame:
        rows = []
        for r in self.history_tests.itertuples():
            rows.append({"Sector": SHORT[r.sector], "Share this period": _pct(r.share_pct),
                         "Other years": f"{_pct(r.other_share_min_pct)}–{_pct(r.other_share_max_pct)}",
                         "Other years pooled": _pct(r.pooled_other_share_pct),
                         "Year-to-year variation φ": fmt_number(r.phi_between_years),
                         "p-value, chance only": _p_range(r.p_binomial_min, r.p_binomial_max),
                         "p-value with year-to-year variation": _p_range(r.p_overdispersed_min, r.p_overdispersed_max),
                         "Unusual": _yes(r.unusual)})
        return pd.DataFrame(rows)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The study's tables, exported as CSV beside the report.

        Returns
        -------
        dict of str to pandas.DataFrame
            ``sector_counts``, ``rounding_rules``, ``denominators``, ``relative_risk``, ``sector_verdicts``, ``history``
            and ``history_tests``, by file stem.
        """
        return {"sector_counts": self.sectors_table, "rounding_rules": self.rule_table,
                "denominators": self.denominators_table, "relative_risk": self.rr_table,
                "sector_verdicts": self.judgement_table, "history": self.history_table,
                "history_tests": self.history_tests_table}

    # ------------------------------------------------------------ notes and figure data
    @property
    def rule_note(self) -> str:
        p = self.params
        used = " and ".join(RULE_WORDS[r] for r in self.rules_used)
        how = {"auto": "the rules this release supports", "both": "both rules (parameter)",
               "round-half": "rounding to nearest (parameter)", "truncate": "truncation (parameter)"}[p.rounding]
        return (f"{self.rule.verdict} Counts used for {p.period}: {used}, {how}.\n\n"
                f"Across releases: {_evidence_sentence(self.rule_evidence)}")

    @property
    def rr_note(self) -> str:
        return "\n".join(f"* {r.verdict}" for r in self.relative_risk_detail.values())

    @property
    def history_note(self) -> str:
        return "\n".join(f"* {v}" for v in self.history_tests["verdict"])

    @property
    def history_figure_data(self) -> pd.DataFrame:
        h = self.ministry_history
        return h.assign(Sector=h["sector"].map(SHORT), err_low=h["share_pct"] - h["share_low_pct"],
                        err_high=h["share_high_pct"] - h["share_pct"])

    @property
    def bns_figure_data(self) -> pd.DataFrame:
        return self.bns_shares.assign(Sector=self.bns_shares["sector"].map(lambda x: BNS_NAMES.get(x, x)))

    @property
    def figure_sectors(self) -> list[str]:
        """Every sector name the history figure can show, in one fixed order (one colour and marker each)."""
        extra = sorted(set(self.bns_figure_data["Sector"]) - set(FIGURE_SECTORS))
        return [*FIGURE_SECTORS, *extra]

    @property
    def gmk_markers(self) -> pd.DataFrame:
        """The sourced GMK workforce figures drawn on the curve (workers, label)."""
        e = self.employment_shares
        g = e[e["sector"] == "gmk"]
        short = {"gmk_government": "government GMK figure", "gmk_mining": "all of mining (no metallurgy)",
                 "gmk_industry": "all of industry"}
        return pd.DataFrame({"workers": g["workers_high"].to_numpy(),
                             "label": [f"{short[k]}, {_about(w, 3) if k == 'gmk_industry' else fmt_count(w)}"
                                       for k, w in zip(g["row"], g["workers_high"])]})

    @property
    def rr_alt(self) -> str:
        parts = []
        for r in self.relative_risk.itertuples():
            phi = ("" if r.ci_low_phi is None or pd.isna(r.ci_low_phi) else
                   f", with year-to-year variation {fmt_number(r.ci_low_phi)} to {fmt_number(r.ci_high_phi)}")
            parts.append(f"{SHORT[r.sector]} at {r.denominator}: relative risk {fmt_number(r.rr_low)} to "
                         f"{fmt_number(r.rr_high)}, interval chance only {fmt_number(r.ci_low)} to "
                         f"{fmt_number(r.ci_high)}{phi}")
        return ("Horizontal interval chart of relative risk on a log scale, with a line at 1 (injured in proportion "
                "to employees). " + "; ".join(parts) + ".")

    @property
    def curve_alt(self) -> str:
        be = self.gmk_break_even_workers
        where = ("" if be is None else f" The lower limit with year-to-year variation crosses 1 at about "
                                       f"{_about(be)} workers.")
        return ("Line chart of the GMK relative risk against the GMK workforce assumed, both on log scales, with "
                "shaded intervals (chance only, and wider with year-to-year variation) and vertical lines at the "
                "sourced workforce figures: " + "; ".join(self.gmk_markers["label"]) + "." + where)

    @property
    def history_alt(self) -> str:
        h = self.ministry_history
        parts = [f"{SHORT[s]} {', '.join(f'{r.period} {_pct(r.share_pct)}' for r in g.itertuples())}"
                 for s, g in h.groupby("sector", sort=False)]
        b = self.bns_shares
        bparts = [f"{BNS_NAMES.get(s, s)} {_pct_range(g['share_pct'].min(), g['share_pct'].max())}"
                  for s, g in b.groupby("sector")]
        return ("Two line charts of sector shares by year. Left, the Ministry's share of injured: " + "; ".join(parts)
                + f"; {self.params.period} circled. Right, the BNS share of victims by NACE section (context only): "
                + "; ".join(bparts) + ".")


def _p_range(lo, hi) -> str:
    a, b = fmt_pvalue(lo), fmt_pvalue(hi)
    return a if a == b else f"{a}–{b}"


def _evidence_sentence(ev: pd.DataFrame) -> str:
    named = ev[ev["decision"] != "no share published"]
    groups = {d: ", ".join(named[named["decision"] == d]["period"]) for d in ("round-half", "truncate", "either",
                                                                               "neither")}
    parts = []
    if groups["truncate"]:
        parts.append(f"only truncation fits {groups['truncate']}")
    if groups["round-half"]:
        parts.append(f"only rounding to nearest fits {groups['round-half']}")
    if groups["either"]:
        parts.append(f"both fit {groups['either']}")
    if groups["neither"]:
        parts.append(f"neither fits {groups['neither']}")
    return "; ".join(parts) + ". The Ministry does not follow one rule throughout, so the rule is decided release by release."


def title(p: Params) -> str:
    """The report's title, a question naming the claim tested.

    Parameters
    ----------
    p : Params
        The sectoral study's parameters.

    Returns
    -------
    str
        The title.
    """
    return (f"Are mining-metallurgy and construction over-represented among workers injured in "
            f"{common.period_text(p.period)}?")


def claim_text(p: Params, data_dir=DATA_DIR) -> str:
    """The release's own words (the longest quote among the period's sector sources)."""
    s = _ministry_rows(data_dir)
    ids = sorted(set(s[s["period"] == p.period]["source_id"]))
    src = data.load_sources(data_dir).set_index("source_id").loc[ids]
    best = src.loc[src["quote"].str.len().idxmax()]
    return (f"**Claim.** {best['publisher']} reported, for {common.period_text(p.period)}: “{best['quote']}” "
            "The release names the sectors with the most injured workers by their share of all injured; it does not "
            "say whether those sectors are riskier than their size.")


def _technical(p: Params, res: SectoralResult) -> str:
    lvl = f"{100 * (1 - p.alpha):g}%"
    total = int(res.sectors["total"].iloc[0])
    used = " and ".join(RULE_WORDS[r] for r in res.rules_used)
    s = [f"{p.period}, Ministry total {fmt_count(total)}. Rounding: {res.rule.verdict} Counts carried: {used}."]
    for r in res.sectors.itertuples():
        s.append(f"{_sentence(LABEL[r.sector])[:-1]}: {_k_text(r.k_min, r.k_max)} injured ({r.count_basis}).")
    for r in res.relative_risk.itertuples():
        phi = ("" if r.phi is None or pd.isna(r.phi) else
               f"; with the between-year φ = {fmt_number(r.phi)} (Korn-Graubard effective sample, t on {r.phi_df} df) "
               f"{fmt_number(r.ci_low_phi)} to {fmt_number(r.ci_high_phi)}, one-sided p {_p_text(r.p_greater_phi_max)} "
               "at worst")
        s.append(f"RR {SHORT[r.sector]} vs share of employees at {r.denominator} "
                 f"({_pct_range(r.employment_share_low_pct, r.employment_share_high_pct, 2)}): "
                 f"{fmt_number(r.rr_low)}-{fmt_number(r.rr_high)}; {lvl} Clopper-Pearson envelope "
                 f"{fmt_number(r.ci_low)} to {fmt_number(r.ci_high)}, one-sided exact binomial p "
                 f"{_p_text(r.p_greater_max)} at worst{phi}.")
    for j in res.judgement.itertuples():
        thr = j.excess_clear_below_pct if pd.isna(j.excess_clear_below_phi_pct) else j.excess_clear_below_phi_pct
        s.append(f"{_sentence(SHORT[j.sector])[:-1]}: {j.label} (excess clear with φ for a share of employees below {_pct(thr, 2)}, "
                 f"chance only below {_pct(j.excess_clear_below_pct, 2)}; honest range "
                 f"{_pct_range(j.employment_share_low_pct, j.employment_share_high_pct, 2)}).")
    if res.gmk_break_even_workers is not None:
        s.append(f"The GMK excess stays clear with φ up to about {_about(res.gmk_break_even_workers)} GMK "
                 "employees; metallurgy's workforce is not in the data.")
    for r in res.history_tests.itertuples():
        s.append(f"Against {r.other_periods} ({_pct(r.other_share_min_pct)}-{_pct(r.other_share_max_pct)}), "
                 f"{SHORT[r.sector]}'s {_pct(r.share_pct)} is {'unusual' if r.unusual else 'not unusual'} "
                 f"(quasi-binomial, φ = {fmt_number(r.phi_between_years)}: p {_p_range(r.p_overdispersed_min, r.p_overdispersed_max)}; "
                 f"binomial p {_p_range(r.p_binomial_min, r.p_binomial_max)}).")
    return " ".join(s)


def _verdict(p: Params, res: SectoralResult) -> Verdict:
    j = res.judgement.set_index("sector")
    label = overall_label(j["label"])
    per = {s: j.loc[s, "label"] for s in j.index}
    rr = res.relative_risk.set_index("row")
    be = res.gmk_break_even_workers
    names = " and ".join(SHORT[s] for s in j.index)
    if label == "inconsistent":
        bad = [SHORT[s] for s, x in per.items() if x == "inconsistent"]
        how = (f"when {RULE_WORDS[p.rounding]} (the rule chosen)" if p.rounding in sectors.ROUNDING_RULES
               else "whether rounded or truncated")
        headline = (f"The published share of {', '.join(bad)} for {p.period} fits no whole count of the "
                    f"{fmt_count(res.sectors['total'].iloc[0])} injured, {how}.")
    elif label == "supported":
        headline = f"Both {names} have more injured workers than their share of employees, even allowing for year-to-year swings."
    elif label == "not supported":
        headline = f"Neither {names} clearly has more injured workers than its share of employees."
    else:
        held = [SHORT[s] for s, x in per.items() if x == "supported"]
        why = []  # what keeps each other sector's excess from being established
        for s_, x in per.items():
            if x == "supported":
                continue
            if s_ == "gmk" and be is not None:
                why.append(f"mining-metallurgy's excess is clear only if it employs fewer than about {_about(be)} "
                           "people, which no published workforce figure settles")
            else:
                why.append(f"{SHORT[s_]}'s excess is not clearly more than the year-to-year swings in sector shares")
        lead = (f"Only {', '.join(held)} clearly exceeds its share of employees" if held else
                "Neither sector's excess over its share of employees is established")
        headline = lead + (": " + "; ".join(why) if why else "") + "."
    sents = []
    ps = res.sectors.set_index("sector")
    if "gmk" in ps.index and "gmk_mining" in rr.index:
        g = rr.loc["gmk_mining"]
        sents.append(f"Mining-metallurgy had {_k_text(ps.loc['gmk', 'k_min'], ps.loc['gmk', 'k_max'])} of the "
                     f"{fmt_count(ps.loc['gmk', 'total'])} injured, about {fmt_number(g['rr'], 2)} times its share of "
                     "employees if it is as large as all of mining, "
                     + (f"but that excess is clear only if it employs fewer than about {_about(be)} people, and no "
                        "published figure counts its metallurgy workers." if be is not None and
                        per.get("gmk") != "supported" else "and the excess holds across every sourced workforce figure."))
    if "construction" in ps.index:
        c = rr.loc["construction"]
        sents.append(f"Construction had {_k_text(c['k_min'], c['k_max'])}, "
                     f"{fmt_number(c['rr_low'], 2)} to {fmt_number(c['rr_high'], 2)} times its share of employees, "
                     + ("an excess that survives the usual year-to-year swings." if per.get("construction") == "supported"
                        else "but sector shares swing so much from year to year that this is not clearly more than chance."))
    if res.rule.decision == "truncate":
        sents.append("The published percentages match whole counts only if the Ministry cut off their extra digits "
                     "instead of rounding them.")
    summary = " ".join(sents[:3])
    if be is not None and "gmk" in j.index:
        key = Estimate("largest mining-metallurgy workforce at which its excess injury risk is still clear",
                       float(f"{be:.2g}"),
                       model=(f"lower {100 * (1 - p.alpha):g}% limit of the injury share with the between-year φ "
                              "(Korn-Graubard effective sample), over hired employees"),
                       note=("rounded to two significant figures; mining alone employed 281,200 (LFS 2021-Q2); "
                             "metallurgy is not in the data"), unit="count")
    else:
        r0 = res.relative_risk.iloc[0]
        key = Estimate(f"relative risk, {SHORT[r0['sector']]}", float(r0["rr"]), float(r0["ci_low"]),
                       float(r0["ci_high"]), float(r0["p_greater_max"]), "Clopper-Pearson envelope")
    would = []
    if be is not None and per.get("gmk") != "supported":
        would.append(f"a published GMK workforce (metallurgy included) below about {_about(be)} would make "
                     "the GMK excess clear; one above it would remove it")
    would.append("exact sector counts instead of rounded shares, sector employee counts from the labour-force "
                 "survey, and sector shares of the same months in earlier years (construction is seasonal) would "
                 "narrow every range")
    return Verdict(label=label, headline=headline, summary=summary, technical=_technical(p, res),
                   key=key, would_change=_sentence("; ".join(would)))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _caveats(p: Params, res: SectoralResult) -> tuple[str, ...]:
    out = []
    if common.period_length(p.period) < 12:
        out.append(f"**Seasonality.** {p.period} is part of a year; the history is mostly annual (2023: first half) "
                   "and construction is low in winter, so the period's share is not strictly comparable with annual "
                   "shares. No earlier sector split of the same months was found.")
    sv = res.shift_view
    if sv:
        out.append(f"**How the year-to-year variation is carried.** φ is estimated from the other years' shares "
                   f"(mostly whole years of about {fmt_count(sv['mean_other_total'])} injured) and applied to "
                   f"{fmt_count(sv['total'])} injured as a variance proportional to the count (quasi-binomial, the "
                   "cautious reading). If the variation were year-wide shifts of the sector's share (beta-binomial), "
                   f"φ for this period would be smaller ({sv['text']}).")
    out.append("**Denominators are not from the same source or year** as the injuries: LFS totals of 2024–2025, LFS "
               "sector shares of 2023–2025, LFS mining of 2021 and a government GMK figure of unclear definition. "
               "No employee count by sector and no metallurgy (C24) employment are in the data.")
    out.append(f"**Rounding.** {_sentence(_evidence_sentence(res.rule_evidence))} A share that no whole count produces under "
               "either rule would mark the release as inconsistent.")
    out.append("BNS and Ministry sectors are different systems with different definitions (GMK vs NACE B mining); "
               "they are never combined, only shown side by side.")
    return tuple(out)


def _shift_view(p: Params, ps: pd.DataFrame, tests: pd.DataFrame, emp: pd.DataFrame) -> dict:
    """φ carried as year-wide shifts of the share (beta-binomial): φ_T = 1 + (T - 1)(φ - 1)/(n̄ - 1)."""
    if not len(tests):
        return {}
    out = {"total": int(ps["total"].iloc[0]), "mean_other_total": float(tests["mean_other_total"].iloc[0]),
           "sectors": {}}
    parts = []
    for t in tests.itertuples():
        if not np.isfinite(t.phi_between_years):
            continue
        n_bar, total = t.mean_other_total, out["total"]
        phi_t = 1 + (total - 1) * (t.phi_between_years - 1) / (n_bar - 1)
        r = ps.set_index("sector").loc[t.sector]
        e = emp[emp["sector"] == t.sector]
        rr = sectors.sector_relative_risk(list(range(int(r["k_min"]), int(r["k_max"]) + 1)), total,
                                          (float(e["low"].min()), float(e["high"].max())), alpha=p.alpha,
                                          dispersion=max(1.0, phi_t), dispersion_df=int(t.phi_df))
        thr = 100 * rr.excess_clear_if_employment_below_overdispersed
        out["sectors"][t.sector] = {"phi": max(1.0, phi_t), "excess_clear_below_pct": thr}
        parts.append(f"{SHORT[t.sector]} φ ≈ {fmt_number(max(1.0, phi_t))}, excess clear below "
                     f"{_pct(thr, 2)} of employees")
    out["text"] = "; ".join(parts)
    return out if parts else {}


def run(params: Params, data_dir=DATA_DIR) -> SectoralResult:
    """Answer "which sectors really stand out?" for one Ministry period.

    Parameters
    ----------
    params : Params
        Validated parameters (period, alpha, rounding rule).
    data_dir : path, optional
        The data folder (a copy in tests).

    Returns
    -------
    SectoralResult
        Tables, figure data, the per-sector and overall verdicts.
    """
    p = params
    check_period(p.period, data_dir)
    test = rule_test(p.period, data_dir)
    ps = period_sectors(p.period, p.rounding, data_dir)
    hist = ministry_history(p.rounding, data_dir)
    tests = history_tests(p.period, p.alpha, p.rounding, data_dir, hist=hist)
    emp = employment_shares(data_dir)
    rr, rr_results = relative_risks(p.period, p.alpha, p.rounding, data_dir, tests=tests)
    judgement = sector_judgement(rr, ps)
    h_lo, h_hi = denominator_totals(data_dir)["hired"]
    gj = judgement.set_index("sector")
    be = None
    if "gmk" in gj.index:
        thr = gj.loc["gmk", "excess_clear_below_phi_pct"]
        thr = gj.loc["gmk", "excess_clear_below_pct"] if thr is None or pd.isna(thr) else thr
        be = float(thr) / 100 * (h_lo + h_hi) / 2
    estimates = []
    for r in rr.itertuples():
        q = f"relative risk, {SHORT[r.sector]} at {r.denominator}"
        estimates.append(Estimate(q, float(r.rr), float(r.ci_low), float(r.ci_high), float(r.p_greater_max),
                                  "Clopper-Pearson injury share / share of employees (envelope over counts and range)"))
        if r.phi is not None and not pd.isna(r.phi):
            estimates.append(Estimate(q, float(r.rr), float(r.ci_low_phi), float(r.ci_high_phi),
                                      float(r.p_greater_phi_max),
                                      f"Korn-Graubard with between-year φ = {fmt_number(r.phi)} (t on {r.phi_df} df)"))
    if be is not None:
        estimates.append(Estimate("GMK workforce up to which the excess stays clear", be,
                                  model="lower limit with between-year φ, over hired employees", unit="count"))
    res = SectoralResult(
        params=p, title=title(p),
        question=(f"Do the sectors the Ministry names for {common.period_text(p.period)} have more injured workers "
                  "than their share of employees implies, and is the period's sector mix unusual against other "
                  "years?"),
        claim=claim_text(p, data_dir),
        verdict=Verdict(label="descriptive", headline="(set below)", summary="", technical=""),
        estimates=tuple(estimates), caveats=(),
        sectors=ps, rule=test, rules_used=rules_carried(test, p.rounding), rule_evidence=rule_evidence(data_dir),
        count_bounds=count_bounds(p.period, data_dir), denominators=denominator_totals(data_dir),
        employment_shares=emp, relative_risk=rr, relative_risk_detail=rr_results, judgement=judgement,
        gmk_rr_curve=gmk_rr_curve(p.period, p.alpha, p.rounding, data_dir=data_dir, tests=tests),
        gmk_break_even_workers=be, ministry_history=hist, history_tests=tests,
        bns_shares=bns_shares(data_dir), shift_view=_shift_view(p, ps, tests, emp))
    return dataclasses.replace(res, verdict=_verdict(p, res), caveats=_caveats(p, res))


__all__ = ["LABEL", "NAME", "NOTEBOOK", "Params", "SECTORS", "SectoralResult", "bns_shares", "check_period",
           "count_bounds", "denominator_totals", "employment_shares", "gmk_rr_curve", "history_tests",
           "ministry_history", "overall_label", "period_sectors", "relative_risks", "release_figures", "rule_evidence",
           "rule_test", "rules_carried", "run", "sector_judgement", "sector_periods"]
