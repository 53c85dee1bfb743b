"""Which regions really stand out? (notebook ``04_regional_patterns``)

The Ministry's releases name only the regions with the most injured workers. This study asks whether those regions
are above expectation once their size is allowed for, or merely large, and whether the same regions lead every
year. ``run(Params(...))`` returns a :class:`RegionalResult`; the notebook narrates it.

The statistics are in :mod:`analysis.stats.regions` (expected counts, exact tests, funnel limits, EB shrinkage,
rank intervals, censoring bounds); this module prepares their inputs from ``data/`` and words the results.

* A *release* is one period's published Ministry regional counts of injured workers. Only the top 5-7 regions are
  ever published, so a release is usable only if it is consistent with a "top-k" publication (each unpublished
  unit <= the smallest published count, together the national total minus the published sum): checked with
  :func:`analysis.stats.regions.unpublished_bounds`. The 9-month 2020 list fails it (it is a pairwise selection).
* Units: 17 before the 8 June 2022 reform, 20 after. A release whose borders are 'unknown' (the 2022 annual
  release) is taken on the 20 post-reform units, an assumption stated in :func:`release`.
* Exposure bases: (1) resident population (1 Jan 2023 table, the only complete one; Shymkent, missing from it,
  from its nearest date) harmonised to the release's borders; (2) equal shares; (3) LFS employed persons for the
  few regions that have them (rate per 1,000 workers against the national LFS rate), never mixing bases.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import data
from analysis.core import validate
from analysis.core.params import Params as _Params
from analysis.core.params import param
from analysis.core.paths import DATA_DIR
from analysis.core.study import Estimate, StudyResult, Verdict
from analysis.stats import regions
from analysis.stats.rates import fmt_p, poisson_exact_pvalue, rate_ci

NAME = "regional"
NOTEBOOK = "04_regional_patterns"

REFORM = pd.Timestamp("2022-06-08")
BASES = ("population", "equal shares")
PER_POP = 100_000


# ---------------------------------------------------------------- releases
def _period_mid(period: str) -> float:
    y, m0, m1 = data.period_months(period)
    return y + ((m0 + m1) / 2 - 0.5) / 12


def _published(period: str, data_dir=data.DATA_DIR) -> pd.DataFrame:
    r = data.load_regional(data_dir)
    r = r[(r["system"] == "ministry") & (r["measure"] == "injured") & (r["period"] == period)]
    r = r.drop_duplicates("region").rename(columns={"value": "observed"})
    r["observed"] = r["observed"].astype(int)
    return r[["region", "observed", "borders", "region_as_published", "source_id", "note"]].sort_values(
        "observed", ascending=False).reset_index(drop=True)


def borders(period: str, data_dir=data.DATA_DIR) -> str:
    """'pre-2022' or 'post-2022': the release's own label, or for 'unknown' the borders in force at its end."""
    b = set(_published(period, data_dir)["borders"])
    if b == {"pre-2022"}:
        return "pre-2022"
    if b == {"post-2022"}:
        return "post-2022"
    y, _, m1 = data.period_months(period)
    return "post-2022" if pd.Timestamp(year=y, month=m1, day=1) >= REFORM else "pre-2022"


def n_units(period: str, data_dir=data.DATA_DIR) -> int:
    """First-level units the release is drawn from: 17 before the June 2022 reform, 20 after."""
    return regions.KZ_FIRST_LEVEL_UNITS if borders(period, data_dir) == "post-2022" else (
        regions.KZ_FIRST_LEVEL_UNITS - len(data.NEW_REGIONS_2022))


def regional_periods(data_dir=data.DATA_DIR) -> list[str]:
    """Periods with published Ministry regional injured counts (>= 2 regions), a national total, and counts
    consistent with a top-k publication."""
    return list(_regional_periods(str(Path(data_dir).resolve())))


@lru_cache(maxsize=4)
def _regional_periods(data_dir: str) -> tuple[str, ...]:
    r = data.load_regional(data_dir)
    r = r[(r["system"] == "ministry") & (r["measure"] == "injured")]
    out = []
    for period in sorted(r["period"].unique()):
        pub = _published(period, data_dir)
        total = data.national_total(period, data_dir=data_dir)
        if len(pub) < 2 or total is None:
            continue
        b = regions.unpublished_bounds(dict(zip(pub["region"], pub["observed"])), total, n_units(period, data_dir))
        if b.consistent:
            out.append(period)
    return tuple(out)


def check_period(period, data_dir=data.DATA_DIR) -> str:
    return validate.one_of("period", period, regional_periods(data_dir))


def release(period: str, data_dir=data.DATA_DIR) -> dict:
    """The release: published counts, national total, units, borders and the censoring bounds."""
    check_period(period, data_dir)
    pub = _published(period, data_dir)
    total = data.national_total(period, data_dir=data_dir)
    n = n_units(period, data_dir)
    b = borders(period, data_dir)
    assumed = set(pub["borders"]) == {"unknown"}
    return {"period": period, "published": pub, "total": total, "n_units": n, "borders": b,
            "borders_assumed": assumed,
            "unpublished": regions.unpublished_bounds(dict(zip(pub["region"], pub["observed"])), total, n)}


def units(border: str, data_dir=data.DATA_DIR) -> list[str]:
    """The first-level units under ``border`` ('pre-2022': 17, 'post-2022': 20)."""
    all_units = list(data.load_regions(data_dir)["region"])
    if border == "post-2022":
        return all_units
    return [u for u in all_units if u not in data.NEW_REGIONS_2022]


# ---------------------------------------------------------------- exposures
def population_exposure(border: str, data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Resident population per unit: the most complete single date (1 Jan 2023), each unit's row nearest to it
    (non-approximate first), summed into pre-2022 parents when ``border`` is 'pre-2022'."""
    validate.one_of("border", border, ("pre-2022", "post-2022"))
    p = data.load_population(data_dir)
    p = p[p["geography"] != "Kazakhstan"].copy()
    ref = pd.Timestamp(p.groupby("date")["geography"].nunique().idxmax())
    p["distance_days"] = (pd.to_datetime(p["date"]) - ref).abs().dt.days
    p = p.sort_values(["geography", "distance_days", "approximate"]).drop_duplicates("geography")
    p = p.rename(columns={"geography": "region", "value": "population"})[
        ["region", "population", "date", "approximate", "source_id"]]
    p["filled_from_other_date"] = p["date"] != ref.strftime("%Y-%m-%d")
    missing = set(units("post-2022", data_dir)) - set(p["region"])
    if missing:
        raise ValueError(f"population has no row for {sorted(missing)}")
    if border == "pre-2022":
        p["region"] = p["region"].map(data.pre2022_region)
        p = p.groupby("region", as_index=False).agg(
            population=("population", "sum"), date=("date", lambda s: ", ".join(sorted(set(s)))),
            approximate=("approximate", "any"), source_id=("source_id", lambda s: ", ".join(sorted(set(s)))),
            filled_from_other_date=("filled_from_other_date", "any"))
    return p.sort_values("population", ascending=False).reset_index(drop=True)


def _lfs_employed(data_dir=data.DATA_DIR) -> pd.DataFrame:
    w = data.load_workforce(data_dir)
    w = w[(w["measure"] == "employed") & (w["basis"] == "LFS") & w["sector"].isna()].copy()
    w["mid"] = w["period"].map(_period_mid)
    return w


def worker_rates(period: str, alpha: float = 0.05, data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Rate per 1,000 LFS-employed workers for published regions with a regional LFS employment figure, with a
    Garwood interval and an exact Poisson test against the national rate (national count / national LFS
    employed at the nearest date). Regions whose borders changed in 2022 use only employment on the same
    borders as the release. Rates are for the release's period (not annualised)."""
    rel = release(period, data_dir)
    a = validate.alpha("alpha", alpha)
    w = _lfs_employed(data_dir)
    mid = _period_mid(period)
    nat = w[w["geography"] == "Kazakhstan"].assign(gap=lambda d: (d["mid"] - mid).abs()).sort_values("gap").iloc[0]
    nat_rate = rel["total"] / nat["value"] * 1000
    changed = set(data.NEW_REGIONS_2022) | set(data.NEW_REGIONS_2022.values())
    rows = []
    for r in rel["published"].itertuples():
        cand = w[w["geography"] == r.region]
        if r.region in changed:  # employment must be on the release's borders
            wb = "post-2022" if (cand["mid"] >= 2022 + 5 / 12).all() else "pre-2022"
            if wb != rel["borders"]:
                continue
        if cand.empty:
            continue
        c = cand.assign(gap=lambda d: (d["mid"] - mid).abs()).sort_values("gap").iloc[0]
        res = rate_ci(int(r.observed), float(c["value"]), per=1000, alpha=a, null_rate=nat_rate)
        rows.append({"region": r.region, "observed": int(r.observed), "employed": float(c["value"]),
                     "employment_period": c["period"], "employment_approximate": bool(c["approximate"]),
                     "rate_per_1000": res.estimate, "ci_low": res.ci[0], "ci_high": res.ci[1],
                     "national_rate_per_1000": nat_rate, "national_employed": float(nat["value"]),
                     "national_employment_period": nat["period"], "p_value": res.p_value,
                     "years_apart": abs(float(c["mid"]) - mid)})
    cols = ["region", "observed", "employed", "employment_period", "employment_approximate", "rate_per_1000",
            "ci_low", "ci_high", "national_rate_per_1000", "national_employed", "national_employment_period",
            "p_value", "years_apart"]
    return pd.DataFrame(rows, columns=cols)


# ---------------------------------------------------------------- assessments
def assess(period: str, basis: str = "population", alpha: float = 0.05, seed: int = regions.DEFAULT_SEED,
           observed: dict | None = None, data_dir=data.DATA_DIR) -> regions.RegionAssessment:
    """:func:`analysis.regions.assess_regions` on a release with expected counts from ``basis``
    ('population': national count x population share; 'equal shares': national count / units).

    ``observed`` overrides the published counts (used for the alternative reading of an ambiguous name)."""
    validate.one_of("basis", basis, BASES)
    rel = release(period, data_dir)
    obs = observed if observed is not None else dict(zip(rel["published"]["region"], rel["published"]["observed"]))
    if basis == "population":
        pop = population_exposure(rel["borders"], data_dir)
        expo = dict(zip(pop["region"], pop["population"]))
        return regions.assess_regions(obs, expo, rel["total"], alpha, seed, n_regions=rel["n_units"], per=PER_POP)
    return regions.assess_regions(obs, None, rel["total"], alpha, seed, n_regions=rel["n_units"])


def side_by_side(by_basis: dict[str, regions.RegionAssessment]) -> pd.DataFrame:
    """One row per published region, the key columns of each basis next to each other."""
    keep = ["expected", "ratio", "ratio_lower", "ratio_upper", "p_above", "p_above_holm", "p_above_bh",
            "shrunk_ratio", "flag_99.8", "flag_99.8_phi", "rank_lower", "rank_upper"]
    out = None
    for basis, a in by_basis.items():
        t = a.table.set_index("region")
        t = t[["observed"] + [c for c in keep if c in t.columns]]
        t = t.rename(columns={c: f"{c} [{basis}]" for c in keep})
        out = t if out is None else out.join(t.drop(columns="observed"))
    return out.reset_index()


def per_region(a: regions.RegionAssessment) -> pd.DataFrame:
    """The JSON/summary table of one basis: observed, expected, ratio with CI, shrunk ratio/rate, adjusted p, flags."""
    cols = ["region", "observed", "exposure", "expected", "ratio", "ratio_lower", "ratio_upper", "shrunk_ratio",
            "shrunk_lower", "shrunk_upper", "shrunk_rate", "shrunk_rate_lower", "shrunk_rate_upper", "p_above",
            "p_two_sided", "p_above_holm", "p_above_bh", "above_holm", "above_bh", "flag_95", "flag_99.8",
            "flag_95_phi", "flag_99.8_phi", "flag_99.8_tau", "observed_rank", "rank_lower", "rank_upper"]
    t = a.table
    return t[[c for c in cols if c in t.columns]].copy()


def unpublished_vs_expected(period: str, a: regions.RegionAssessment, data_dir=data.DATA_DIR) -> dict:
    """The unpublished units pooled: their total (national minus published) against their expected total on the
    assessment's basis, with an exact two-sided Poisson p-value. Mechanically the mirror of the published excess."""
    rel = release(period, data_dir)
    rest = rel["total"] - int(rel["published"]["observed"].sum())
    exp_rest = rel["total"] - float(a.table["expected"].sum())
    return {"basis": "population" if a.basis == "exposure" else a.basis, "observed": rest, "expected": exp_rest, "ratio": rest / exp_rest,
            "p_value": poisson_exact_pvalue(rest, exp_rest), "n_units": rel["n_units"] - len(rel["published"])}


def unpublished_ceiling(period: str, data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Each unpublished unit's expected count on the population basis and the largest ratio the censoring allows
    (smallest published count / expected)."""
    rel = release(period, data_dir)
    pop = population_exposure(rel["borders"], data_dir)
    pop = pop[~pop["region"].isin(rel["published"]["region"])].copy()
    pop["expected"] = rel["total"] * pop["population"] / population_exposure(rel["borders"], data_dir)[
        "population"].sum()
    pop["max_ratio"] = int(rel["published"]["observed"].min()) / pop["expected"]
    return pop[["region", "population", "expected", "max_ratio"]].reset_index(drop=True)


def ambiguous_reading(period: str, basis: str = "population", alpha: float = 0.05,
                      seed: int = regions.DEFAULT_SEED, data_dir=data.DATA_DIR) -> dict | None:
    """If the release names a region ambiguously ('Almaty': city or region), assess the other reading and
    report whether the Holm/BH flags change. None when nothing is ambiguous."""
    rel = release(period, data_dir)
    pub = rel["published"]
    amb = pub[pub["region_as_published"].str.strip().str.lower() == "almaty"]
    if amb.empty:
        return None
    r = amb.iloc[0]
    other = "Almaty region" if r.region == "Almaty city" else "Almaty city"
    if other in set(pub["region"]):
        return None
    obs = dict(zip(pub["region"], pub["observed"]))
    obs[other] = obs.pop(r.region)
    base = assess(period, basis, alpha, seed, data_dir=data_dir)
    alt = assess(period, basis, alpha, seed, observed=obs, data_dir=data_dir)
    row = alt.table.set_index("region").loc[other]
    return {"published_as": r.region_as_published, "read_as": r.region, "alternative": other, "basis": basis,
            "alternative_expected": float(row["expected"]), "alternative_ratio": float(row["ratio"]),
            "alternative_p_above": float(row["p_above"]),
            "above_holm": list(base.tests.above_holm), "above_holm_alternative": list(alt.tests.above_holm),
            "above_bh": list(base.tests.above_bh), "above_bh_alternative": list(alt.tests.above_bh),
            "flags_change": (set(base.tests.above_holm) - {r.region}) != (set(alt.tests.above_holm) - {other})
            or (set(base.tests.above_bh) - {r.region}) != (set(alt.tests.above_bh) - {other})
            or ((r.region in base.tests.above_bh) != (other in alt.tests.above_bh))}


# ---------------------------------------------------------------- persistence
def persistence_releases(data_dir=data.DATA_DIR) -> list[str]:
    """One release per year: the longest valid period of each year (annual when available)."""
    ps = regional_periods(data_dir)
    best: dict[int, str] = {}
    for p in ps:
        y, m0, m1 = data.period_months(p)
        if y not in best or (m1 - m0) > (data.period_months(best[y])[2] - data.period_months(best[y])[1]):
            best[y] = p
    return [best[y] for y in sorted(best)]


def persistence(data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Long table over :func:`persistence_releases`: each unit's count on the release's own borders and on
    pre-2022 borders, with bounds for units whose parts were not all published (an unpublished part is
    between 0 and the smallest published count). Columns: period, version ('as published' / 'pre-2022
    borders'), region, low, high, published (all parts published), share_low_pct, rank (by low; 1 = most),
    certain_rank_1 (its low >= every other unit's high)."""
    rows = []
    for period in persistence_releases(data_dir):
        rel = release(period, data_dir)
        pub = dict(zip(rel["published"]["region"], rel["published"]["observed"]))
        mn = min(pub.values())
        total = rel["total"]
        versions = [("as published", rel["borders"])]
        if rel["borders"] == "post-2022":
            versions.append(("pre-2022 borders", "pre-2022"))
        for version, border in versions:
            for unit in units(border, data_dir):
                parts = [unit] if border == rel["borders"] else (
                    [unit] + [n for n, p in data.NEW_REGIONS_2022.items() if p == unit])
                lo = sum(pub.get(p, 0) for p in parts)
                hi = sum(pub.get(p, mn) for p in parts)
                rows.append({"period": period, "version": version, "region": unit, "low": lo, "high": hi,
                             "published": all(p in pub for p in parts), "any_published": any(p in pub for p in parts),
                             "total": total, "share_low_pct": 100 * lo / total, "share_high_pct": 100 * hi / total})
    d = pd.DataFrame(rows)
    d["rank"] = d.groupby(["period", "version"])["low"].rank(ascending=False, method="min")
    d["certain_rank_1"] = False
    for _, g in d.groupby(["period", "version"]):
        i = g["low"].idxmax()
        others = g.drop(index=i)
        d.loc[i, "certain_rank_1"] = bool(g.loc[i, "low"] >= others["high"].max())
    return d


def _comparable(pers: pd.DataFrame, version: str) -> pd.DataFrame:
    """Rows of ``version``; for 'pre-2022 borders' releases already on pre-2022 borders use their own rows."""
    if version == "as published":
        return pers[pers["version"] == "as published"]
    harmonised = set(pers.loc[pers["version"] == "pre-2022 borders", "period"])
    return pers[(pers["version"] == "pre-2022 borders") | ((pers["version"] == "as published")
                                                           & ~pers["period"].isin(harmonised))]


def persistence_matrix(pers: pd.DataFrame, version: str = "as published") -> pd.DataFrame:
    """Region x release matrix of the share of the national total (%, lower bound where a part is unpublished),
    NaN where nothing of the unit was published; units never published are dropped; sorted by the last release."""
    validate.one_of("version", version, ("as published", "pre-2022 borders"))
    d = _comparable(pers, version)
    m = d.pivot(index="region", columns="period", values="share_low_pct")
    m = m.where(d.pivot(index="region", columns="period", values="any_published").astype(bool))
    m = m.dropna(how="all")
    return m.sort_values(list(m.columns[::-1]), ascending=False, na_position="last")


def leaders(pers: pd.DataFrame) -> pd.DataFrame:
    """Per release and border version: the unit with the largest (lower-bound) count and whether it is certain."""
    top = pers.loc[pers.groupby(["period", "version"])["low"].idxmax()]
    return top[["period", "version", "region", "low", "high", "certain_rank_1"]].reset_index(drop=True)


def share_stability(pers: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """For units published (all parts) in every release on pre-2022-comparable borders: their share of the
    national total per release and a Pearson chi-square test of a constant share (binomial within release).

    Units whose borders changed in 2022 enter on pre-2022 borders only where every part was published."""
    a = validate.alpha("alpha", alpha)
    comp = _comparable(pers, "pre-2022 borders")
    comp = comp[comp["published"]]
    n_rel = pers["period"].nunique()
    rows = []
    for unit, g in comp.groupby("region"):
        if len(g) < n_rel:
            continue
        t = regions.constant_share_test(g["low"].astype(int).tolist(), g["total"].astype(int).tolist())
        rows.append({"region": unit, "releases": len(g), "share_min_pct": float(g["share_low_pct"].min()),
                     "share_max_pct": float(g["share_low_pct"].max()),
                     "pooled_share_pct": 100 * g["low"].sum() / g["total"].sum(), "chi2": t.chi2, "df": t.df,
                     "p_value": t.p_value, "stable_at_alpha": bool(t.p_value > a)})
    return pd.DataFrame(rows, columns=["region", "releases", "share_min_pct", "share_max_pct", "pooled_share_pct",
                                       "chi2", "df", "p_value", "stable_at_alpha"])


def always_published(pers: pd.DataFrame) -> list[str]:
    """Units (pre-2022 borders, any part published) named in every release."""
    v = _comparable(pers, "pre-2022 borders")
    n = v["period"].nunique()
    c = v[v["any_published"]].groupby("region")["period"].nunique()
    return sorted(c[c == n].index)


# ---------------------------------------------------------------- verdict
def verdict(period: str, by_basis: dict[str, regions.RegionAssessment], workers: pd.DataFrame,
            pers: pd.DataFrame, stability: pd.DataFrame, ambiguity: dict | None, alpha: float = 0.05) -> str:
    """Test, estimates with intervals, and what would change the conclusion."""
    a = validate.alpha("alpha", alpha)
    level = f"{100 * (1 - a):g}%"
    pop = by_basis["population"]
    eq = by_basis["equal shares"]
    t = pop.table.set_index("region")
    top = t["p_above"].idxmin()
    r = t.loc[top]

    def names(x) -> str:
        return ", ".join(x) if len(x) else "none"

    s = (f"Exact Poisson tests of each published region's count against its expected count (analysis.regions; "
         f"{len(t)} of {pop.n_regions} units published for {period}, national total {pop.total}, family of "
         f"{pop.m_tests} for Holm/BH). On population shares the strongest is {top}: {int(r['observed'])} vs "
         f"{r['expected']:.1f} expected, ratio {r['ratio']:.2f} ({level} CI {r['ratio_lower']:.2f} to "
         f"{r['ratio_upper']:.2f}), one-sided {fmt_p(r['p_above'])}; EB-shrunk ratio {r['shrunk_ratio']:.2f}. "
         f"Above expectation after Holm: {names(pop.tests.above_holm)}; after BH: {names(pop.tests.above_bh)}; "
         f"beyond the 99.8% funnel limit with over-dispersion (φ = {pop.funnel.phi:.2f}, fitted to the top-selected "
         "regions and so biased upwards): "
         f"{names(pop.funnel.flagged(0.998, 'phi'))}. On equal shares: Holm {names(eq.tests.above_holm)}, BH "
         f"{names(eq.tests.above_bh)}. ")
    if len(workers):
        s += ("Per LFS worker (the only regions with employment data): " + "; ".join(
            f"{w.region} {w.rate_per_1000:.3f} per 1,000 ({level} CI {w.ci_low:.3f} to {w.ci_high:.3f}; employment "
            f"of {w.employment_period}) vs national {w.national_rate_per_1000:.3f}, {fmt_p(w.p_value)}"
            for w in workers.itertuples()) + ". ")
    else:
        s += "No published region has regional LFS employment, so no rate per worker is possible. "
    if ambiguity is not None:
        s += (f"Reading '{ambiguity['published_as']}' as {ambiguity['alternative']} instead of "
              f"{ambiguity['read_as']} {'changes' if ambiguity['flags_change'] else 'does not change'} the flags. ")
    lead = leaders(pers)
    as_pub = lead[lead["version"] == "as published"]
    s += ("Leaders by release (own borders): " + ", ".join(f"{x.period} {x.region}" for x in as_pub.itertuples()))
    pre = lead[lead["version"] == "pre-2022 borders"]
    if len(pre):
        s += ("; on pre-2022 borders: " + ", ".join(
            f"{x.period} {x.region}{'' if x.certain_rank_1 else ' (not certain)'}" for x in pre.itertuples()))
    always = always_published(pers)
    s += f". Named in every release: {names(always)}"
    if len(stability):
        s += ("; constant share of the national total (χ² test): " + ", ".join(
            f"{x.region} {x.share_min_pct:.1f}–{x.share_max_pct:.1f}% ({fmt_p(x.p_value)})"
            for x in stability.itertuples()))
    s += (". Only the top regions are published, so 'high' partly means 'large': regional employment for every "
          "region (a rate per worker), the unpublished counts, or more releases pooled would change this.")
    return s



# ---------------------------------------------------------------- the study
def _check_period(name: str, value: str) -> str:
    return validate.one_of(name, value, regional_periods())


@dataclasses.dataclass(frozen=True)
class Params(_Params):
    """Parameters of the regional study (the notebook's ``parameters`` cell mirrors this)."""

    period: str = param("2025-Q1", "release to analyse: a period with published Ministry regional counts "
                                   "(e.g. 2025-Q1, 2023-H1, 2021)", check=_check_period)
    alpha: float = param(0.05, "significance level of every test and 1 - coverage of every interval",
                         check=validate.alpha)
    seed: int = param(regions.DEFAULT_SEED, "seed of the random draws behind the rank intervals",
                      check=validate.count)


HEADERS = {  # plain-English column headers for the report's tables and the CSV downloads
    "region": "region", "observed": "injured", "expected": "expected", "ratio": "observed / expected",
    "ratio_lower": "ratio, lower limit", "ratio_upper": "ratio, upper limit", "p_above": "p (above expectation)",
    "p_above_holm": "p after Holm", "p_above_bh": "p after BH", "above_holm": "above after Holm",
    "above_bh": "above after BH", "shrunk_ratio": "EB ratio", "shrunk_lower": "EB lower", "shrunk_upper": "EB upper",
    "shrunk_rate": "EB rate per 100,000", "flag_99.8": "funnel 99.8%", "flag_99.8_phi": "funnel 99.8% with φ",
    "observed_rank": "rank", "rank_lower": "rank, best", "rank_upper": "rank, worst", "population": "population",
    "date": "population date", "approximate": "approximate", "source_id": "source id",
    "filled_from_other_date": "from another date", "region_as_published": "name in the release",
    "borders": "borders", "note": "note", "employed": "employed (LFS)", "employment_period": "employment period",
    "rate_per_1000": "injured per 1,000 workers", "ci_low": "lower limit", "ci_high": "upper limit",
    "national_rate_per_1000": "national rate per 1,000", "p_value": "p-value", "period": "release",
    "version": "borders", "low": "injured, at least", "high": "injured, at most", "certain_rank_1": "certainly first",
    "releases": "releases", "share_min_pct": "lowest share (%)", "share_max_pct": "highest share (%)",
    "pooled_share_pct": "pooled share (%)", "chi2": "χ²", "df": "degrees of freedom",
    "stable_at_alpha": "share constant at α",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegionalResult(StudyResult):
    """Everything notebook 04 shows: the release, the assessments on each basis, persistence across releases."""

    study = NAME
    notebook = NOTEBOOK

    release: dict
    by_basis: dict
    population: pd.DataFrame
    workers: pd.DataFrame
    pooled: dict
    ceiling: pd.DataFrame
    ambiguity: dict | None
    persistence: pd.DataFrame
    leaders: pd.DataFrame
    stability: pd.DataFrame
    always: list

    @property
    def pop(self) -> regions.RegionAssessment:
        return self.by_basis["population"]

    def results(self) -> dict[str, Any]:
        rel, by = self.release, self.by_basis
        pop = self.pop
        return {
            "period": rel["period"], "national_total": rel["total"], "n_units": rel["n_units"],
            "borders": rel["borders"], "published": rel["published"], "unpublished_bounds": rel["unpublished"],
            "regions": {b: per_region(a) for b, a in by.items()},
            "flagged": {b: {"holm": list(a.tests.above_holm), "bh": list(a.tests.above_bh),
                            "funnel_99.8": a.funnel.flagged(0.998),
                            "funnel_99.8_phi": a.funnel.flagged(0.998, "phi")} for b, a in by.items()},
            "funnel": {"phi": pop.funnel.phi, "phi_p": pop.funnel.phi_p, "tau2": pop.funnel.tau2},
            "eb_prior": {"mean": pop.shrinkage.prior_mean, "variance": pop.shrinkage.prior_var},
            "worker_rates": self.workers, "unpublished_pooled": self.pooled, "ambiguous_name": self.ambiguity,
            "persistence": self.persistence, "leaders": self.leaders, "share_stability": self.stability}

    # ---------------------------------------------------------------- figure data
    @property
    def comparison(self) -> pd.DataFrame:
        """Both bases' ratios with exact intervals, long form, in the release's order (figure 1)."""
        order = list(self.release["published"]["region"])
        out = pd.concat([a.table.assign(basis=f"expected from {b}") for b, a in self.by_basis.items()],
                        ignore_index=True)
        out["order"] = out["region"].map({r: i for i, r in enumerate(order)})
        return out.sort_values(["basis", "order"]).reset_index(drop=True)

    @property
    def heatmaps(self) -> dict[str, pd.DataFrame]:
        return {v: persistence_matrix(self.persistence, v) for v in ("as published", "pre-2022 borders")}

    # ---------------------------------------------------------------- text
    @property
    def level(self) -> str:
        return f"{100 * (1 - self.params.alpha):g}%"

    @property
    def release_note(self) -> str:
        rel = self.release
        return (f"National total for {rel['period']}: **{rel['total']:,}** injured; units: **{rel['n_units']}** "
                f"({rel['borders']} borders"
                + (", assumed: the release does not say which borders it uses" if rel["borders_assumed"] else "")
                + ").\n\n" + rel["unpublished"].verdict)

    @property
    def workers_note(self) -> str:
        return "**Rate per worker.** " + (
            "Published regions with a regional LFS employment figure (period of the employment figure shown; rates "
            "are for the release period, not annualised; LFS employment includes the self-employed, whom the "
            "Ministry rarely registers):" if len(self.workers) else
            "No published region has a regional LFS employment figure for this release, so no rate per worker can "
            "be computed; the analysis falls back to population and equal shares.")

    @property
    def tests_note(self) -> str:
        return (f"* Population basis: {self.pop.tests.verdict}\n* Equal shares: "
                f"{self.by_basis['equal shares'].tests.verdict}\n* Unpublished units pooled: " + "; ".join(
                    f"{b}: {r['observed']} observed vs {r['expected']:.1f} expected (ratio {r['ratio']:.2f}, exact "
                    f"p = {r['p_value']:.2g})" for b, r in self.pooled.items())
                + " — the mirror image of the published excess, not independent evidence.")

    @property
    def ambiguity_note(self) -> str:
        a = self.ambiguity
        if a is None:
            return "No region name in this release is ambiguous."
        return (f"The release says '{a['published_as']}', read here as **{a['read_as']}**. Read as "
                f"{a['alternative']} instead, its expected count would be {a['alternative_expected']:.1f} (ratio "
                f"{a['alternative_ratio']:.2f}, one-sided p = {a['alternative_p_above']:.3g}); regions above "
                f"expectation after Holm: {', '.join(a['above_holm_alternative']) or 'none'} (vs "
                f"{', '.join(a['above_holm']) or 'none'}). The reading "
                f"**{'changes' if a['flags_change'] else 'does not change'}** which regions are flagged.")

    @property
    def persistence_note(self) -> str:
        return ("Named in every release (pre-2022 borders): **" + (", ".join(self.always) or "none") + "**."
                + ("" if self.stability.empty else
                   " Units published in every release with unchanged borders, tested for a constant share of the "
                   "national total (Pearson χ²; published *because* they were high, so this is conditional on "
                   "being near the top):"))

    @property
    def comparison_alt(self) -> str:
        t = self.pop.table
        return ("Dot plot of observed over expected injuries with exact intervals for each published region, on "
                "population shares and on equal shares: " + "; ".join(
                    f"{r.region} {r.ratio:.2f}" for r in t.itertuples()) + " (population basis); 1 is the national "
                "level.")

    @property
    def funnel_alt(self) -> str:
        f = self.pop.funnel
        return (f"Funnel plot of observed over expected injuries against the expected count (log scale), with "
                f"exact Poisson 95% and 99.8% limits and the 99.8% limit widened for over-dispersion (φ = "
                f"{f.phi:.2f}); above the exact 99.8% limit: {', '.join(f.flagged(0.998)) or 'none'}; grey "
                "triangles mark the largest ratio each unpublished unit could have.")

    @property
    def ranks_alt(self) -> str:
        rk = self.pop.ranks.table.sort_values("observed_rank")
        return ("Rank intervals among the published regions (1 = highest ratio): " + "; ".join(
            f"{r.region} {r.observed_rank:g} ({r.rank_lower:g} to {r.rank_upper:g})" for r in rk.itertuples()) + ".")

    @property
    def heatmap_alt(self) -> str:
        lead = self.leaders[self.leaders["version"] == "as published"]
        return ("Two heat maps of each published region's share of the national injured count, one release per "
                "year, on the release's own borders and on pre-2022 borders; leaders: " + ", ".join(
                    f"{x.period} {x.region}" for x in lead.itertuples()) + ".")

    def tables(self) -> dict[str, pd.DataFrame]:
        keep = ["region", "observed", "expected", "ratio", "ratio_lower", "ratio_upper", "p_above", "p_above_holm",
                "p_above_bh", "above_holm", "above_bh", "shrunk_ratio", "shrunk_lower", "shrunk_upper",
                "flag_99.8", "flag_99.8_phi", "observed_rank", "rank_lower", "rank_upper"]
        out = {f"regions_{b.replace(' ', '_')}": a.table[[c for c in keep if c in a.table.columns]]
               for b, a in self.by_basis.items()}
        out["persistence_leaders"] = self.leaders
        return {k: v.rename(columns=HEADERS) for k, v in out.items()}


def title(p: Params) -> str:
    return f"Which regions have more workplace injuries than expected? ({p.period} release)"


def claim_text(rel: dict) -> str:
    pub = rel["published"]
    listed = ", ".join(f"{r.region} {r.observed:,}" for r in pub.itertuples())
    return (f"**Claim.** The Ministry of Labour's release for {rel['period']} names the regions with the most "
            f"injured workers: {listed}, of {rel['total']:,} nationally. Are these regions above expectation once "
            "their size is allowed for, or merely large? And do the same regions lead every year?")


def _verdict(p: Params, pop: regions.RegionAssessment, technical: str) -> Verdict:
    t = pop.table.set_index("region")
    top = t["p_above"].idxmin()
    r = t.loc[top]
    key = Estimate(f"observed / expected injuries, {top}", float(r["ratio"]), float(r["ratio_lower"]),
                   float(r["ratio_upper"]), float(r["p_above"]), "exact Poisson (Garwood interval), population basis")
    holm = list(pop.tests.above_holm)
    phi = pop.funnel.flagged(0.998, "phi")
    n = len(holm)
    if n and not phi:
        label = "fragile"
        headline = (f"{n} published region(s) are above expectation under a pure Poisson model, but none stays "
                    "outside the funnel widened for over-dispersion.")
    elif n:
        label = "supported"
        headline = f"{', '.join(phi)} stay above expectation even allowing for over-dispersion."
    else:
        label = "not supported"
        headline = "No published region is above expectation once its population is allowed for."
    summary = ("The named regions are the largest counts, and larger regions have more injuries simply because more "
               "people live and work there. Against their population, "
               + (f"{', '.join(holm)} have more injuries than chance would give, " if n else "none stands out, ")
               + "but the year-to-year variation of injury counts is larger than pure chance, and only the top "
               "regions are published.")
    would = ("Regional employment for every region (a rate per worker), the unpublished counts, or more releases "
             "pooled would change this.")
    return Verdict(label=label, headline=headline, summary=summary, technical=technical, key=key,
                   would_change=would)


def _caveats() -> tuple[str, ...]:
    return (
        "**Population is not employment.** Karaganda, Kostanay, East Kazakhstan and Pavlodar have large industrial "
        "and mining workforces relative to their residents; Almaty city has many residents in low-risk services. "
        "The population basis therefore overstates risk in industrial regions and understates it in cities. Only a "
        "rate per worker for every unit would settle it, and regional employment is published for a handful of "
        "units only (and at other dates).",
        "**Selection.** The published regions are the largest counts; their tests are not pre-specified. Holm/BH "
        "over all units and the EB prior mean fixed at the national level guard against this, but φ and τ² fitted "
        "to the published regions are biased upwards (their funnel is conservative).",
        "Regional counts and national totals are both from news reports of Ministry releases; the 2022 annual "
        "release does not say which borders it uses (taken as post-reform), and some periods were inferred by the "
        "ledger.",
        "Counts of injured workers include deaths; a single mass-casualty accident (Kostenko mine, Karaganda, Oct "
        "2023) can move a region's count.",
    )


def run(params: Params, data_dir=DATA_DIR) -> RegionalResult:
    """Run the regional study.

    Parameters
    ----------
    params : Params
        Validated parameters.
    data_dir : path, optional
        The data folder (a copy in tests).

    Returns
    -------
    RegionalResult
    """
    p = params
    period, alpha, seed = p.period, p.alpha, p.seed
    rel = release(period, data_dir)
    by_basis = {b: assess(period, b, alpha, seed, data_dir=data_dir) for b in BASES}
    workers = worker_rates(period, alpha, data_dir)
    pooled = {b: unpublished_vs_expected(period, a, data_dir) for b, a in by_basis.items()}
    ambiguity = ambiguous_reading(period, "population", alpha, seed, data_dir)
    pers = persistence(data_dir)
    stability = share_stability(pers, alpha)
    technical = verdict(period, by_basis, workers, pers, stability, ambiguity, alpha)
    pop = by_basis["population"]
    t = pop.table.set_index("region")
    estimates = tuple(
        Estimate(f"observed / expected injuries, {r}", float(row["ratio"]), float(row["ratio_lower"]),
                 float(row["ratio_upper"]), float(row["p_above"]),
                 "exact Poisson test and Garwood interval, population basis",
                 note=f"Holm-adjusted p = {row['p_above_holm']:.4g} (family of {pop.m_tests})")
        for r, row in t.iterrows())
    return RegionalResult(
        params=p, title=title(p),
        question=("Are the regions the Ministry names above expectation once their size is allowed for, or merely "
                  "large, and do the same regions lead every year?"),
        claim=claim_text(rel), verdict=_verdict(p, pop, technical), estimates=estimates, caveats=_caveats(),
        release=rel, by_basis=by_basis, population=population_exposure(rel["borders"], data_dir), workers=workers,
        pooled=pooled, ceiling=unpublished_ceiling(period, data_dir), ambiguity=ambiguity, persistence=pers,
        leaders=leaders(pers), stability=stability, always=always_published(pers))


__all__ = ["BASES", "NAME", "NOTEBOOK", "PER_POP", "Params", "RegionalResult", "run", "always_published", "ambiguous_reading", "assess", "borders", "check_period",
           "leaders", "n_units", "per_region", "persistence", "persistence_matrix", "persistence_releases", "population_exposure",
           "regional_periods", "release", "share_stability", "side_by_side", "units", "unpublished_ceiling", "unpublished_vs_expected",
           "verdict", "worker_rates"]
