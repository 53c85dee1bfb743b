"""Which regions really stand out? (notebook ``04_regional_patterns``)

The Ministry's releases name only the regions with the most injured workers. This study ranks and flags ALL the
country's first-level units, the unpublished ones included, and asks which stand out once their size is allowed
for, under pure Poisson variation and under the over-dispersion the data show; then whether the same regions lead
every year. ``run(Params(...))`` returns a :class:`RegionalResult`; the notebook narrates it.

* A *release* is one period's published Ministry regional counts of injured workers. Only the top 5-7 units are
  ever published, so a release is usable only if it is consistent with a "top-k" publication (each unpublished
  unit <= the smallest published count, together the national total minus the published sum): checked with
  :func:`analysis.stats.regions.unpublished_bounds`. The 9-month 2020 list fails it (it is a pairwise selection).
* Unpublished units are *censored*, not missing: every statistic is reported as its exact range over all the
  completions the release allows (:mod:`analysis.stats.censoring`), with deaths recorded in ``data/events.csv``
  for the unit and period as lower bounds (Ulytau, 2025-Q1: at least 8, the Zhomart mine included).
* Units: 17 before the 8 June 2022 reform, 20 after. A release whose borders are 'unknown' (the 2022 annual
  release) is taken on the 20 post-reform units, an assumption stated in :func:`release`.
* Expected counts: (1) resident population (1 Jan 2023 table, the only complete one; Shymkent, missing from it,
  from its nearest date) harmonised to the release's borders; (2) equal shares. LFS employed persons exist for a
  few regions only: a rate per 1,000 workers against the national LFS rate, never mixing bases.
* Over-dispersion: quasi-Poisson tests with the national φ (Pearson χ²/df of the Ministry's annual counts from
  2015 around a log-linear trend, carried unchanged to the period), with φ as known (normal) and estimated on its
  degrees of freedom (t); and Spiegelhalter's additive between-region τ² (DerSimonian-Laird over the completions).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import data
from analysis.core import validate
from analysis.core.fmt import fmt_count, fmt_number, fmt_percent, fmt_pvalue
from analysis.core.params import Params as _Params
from analysis.core.params import param
from analysis.core.paths import DATA_DIR
from analysis.core.study import Estimate, StudyResult, Verdict
from analysis.stats import censoring, dispersion, regions
from analysis.stats.rates import garwood_interval, poisson_exact_pvalue, rate_ci

NAME = "regional"
NOTEBOOK = "04_regional_patterns"
REFORM = pd.Timestamp("2022-06-08")
BASES = ("population", "equal shares")
DISPERSION_FIRST_YEAR = 2015  # the Ministry's annual series has no gaps from 2015 on (as in the quarterly study)
FUNNEL_LEVEL = 0.998


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
        Naming ``period`` and listing the allowed periods (:func:`regional_periods`) when it is not one of
        them.
    """
    return validate.one_of("period", period, regional_periods(data_dir))


def release(period: str, data_dir=data.DATA_DIR) -> dict:
    """The release: published counts, national total, units, borders and the censoring bounds (a fresh dict; the
    published table is a copy)."""
    check_period(period, data_dir)
    rel = _release(period, str(Path(data_dir).resolve()))
    return {**rel, "published": rel["published"].copy()}


@lru_cache(maxsize=16)
def _release(period: str, data_dir: str) -> dict:
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


# ---------------------------------------------------------------- censoring, expected counts, dispersion
def expected_counts(period: str, basis: str = "population", data_dir=data.DATA_DIR) -> pd.Series:
    """Expected count of every unit of the release's borders: national count x population share, or national
    count / units ('equal shares'). Sums to the national count, so the national level is a ratio of 1."""
    validate.one_of("basis", basis, BASES)
    rel = release(period, data_dir)
    names = units(rel["borders"], data_dir)
    if basis == "equal shares":
        return pd.Series(rel["total"] / len(names), index=names, name="expected")
    pop = population_exposure(rel["borders"], data_dir).set_index("region")["population"].reindex(names)
    return (rel["total"] * pop / pop.sum()).rename("expected")


def death_floors(period: str, data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Deaths recorded in ``data/events.csv`` in each unit during the release's period, on the release's borders:
    lower bounds of the unit's injured count (the Ministry's injured include deaths). An event with only a year
    counts for an annual release only. Columns: region, deaths, events, source_id."""
    rel = release(period, data_dir)
    year, m0, m1 = data.period_months(period)
    ev = data.load_events(data_dir)
    ev = ev[ev["year"] == year].copy()
    dates = pd.to_datetime(ev["date"], errors="coerce")
    inside = dates.dt.month.between(m0, m1) if (m0, m1) != (1, 12) else pd.Series(True, index=ev.index)
    ev = ev[inside.fillna(False).astype(bool) & ev["deaths"].notna() & (ev["deaths"] > 0)]
    if rel["borders"] == "pre-2022":
        ev = ev.assign(region=ev["region"].map(data.pre2022_region))
    out = ev.groupby("region").agg(deaths=("deaths", "sum"), events=("site", lambda s: "; ".join(s)),
                                   source_id=("source_id", lambda s: ", ".join(s))).reset_index()
    out["deaths"] = out["deaths"].astype(int)
    return out[["region", "deaths", "events", "source_id"]]


def named_ratios(published: pd.DataFrame, expected: pd.Series, alpha: float = 0.05) -> pd.DataFrame:
    """The named units' observed / expected with exact (Garwood) intervals and one-sided exact Poisson p-values
    (unadjusted). Columns: region, observed, expected, ratio, ratio_lower, ratio_upper, p_above."""
    o = published["observed"].astype(int).to_numpy()
    e = expected[published["region"]].to_numpy(dtype=float)
    ci = np.array([garwood_interval(int(x), alpha) for x in o]).reshape(-1, 2)
    return pd.DataFrame({"region": published["region"].to_numpy(), "observed": o, "expected": e, "ratio": o / e,
                         "ratio_lower": ci[:, 0] / e, "ratio_upper": ci[:, 1] / e,
                         "p_above": regions.pvalues_above(o, e)})


def national_dispersion(data_dir=data.DATA_DIR) -> dispersion.DispersionEstimate:
    """Quasi-Poisson φ of the Ministry's annual injured counts from 2015 (Pearson χ²/df around a log-linear trend),
    the same estimate the quarterly-change study uses."""
    s = data.national_series("ministry", "injured", data_dir=data_dir)
    s = s[s.index >= DISPERSION_FIRST_YEAR]
    return dispersion.estimate_dispersion(s.to_numpy(), s.index.to_numpy())


def unpublished_vs_expected(period: str, expected: pd.Series, basis: str, data_dir=data.DATA_DIR) -> dict:
    """The unpublished units pooled: their total (national minus published) against their expected total, with an
    exact two-sided Poisson p-value. Mechanically the mirror of the published excess."""
    rel = release(period, data_dir)
    pub = set(rel["published"]["region"])
    rest = rel["total"] - int(rel["published"]["observed"].sum())
    exp_rest = float(expected[[u for u in expected.index if u not in pub]].sum())
    return {"basis": basis, "observed": rest, "expected": exp_rest, "ratio": rest / exp_rest,
            "p_value": poisson_exact_pvalue(rest, exp_rest), "n_units": rel["n_units"] - len(pub)}


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




# ---------------------------------------------------------------- the study
def _check_period(name: str, value: str) -> str:
    return validate.one_of(name, value, regional_periods())


def _check_dispersion(name: str, value: float) -> float:
    v = validate.positive(name, value)
    if v < 1:
        raise ValueError(f"{name} must be >= 1 (1 = Poisson; under-dispersion is not modelled), got {value!r}")
    return v


@dataclasses.dataclass(frozen=True)
class Params(_Params):
    """Parameters of the regional study (the notebook's ``parameters`` cell mirrors this)."""

    period: str = param("2025-Q1", "release to analyse: a period with published Ministry regional counts "
                                   "(e.g. 2025-Q1, 2023-H1, 2021)", check=_check_period)
    alpha: float = param(0.05, "significance level of every test (Holm and BH over all units) and 1 - coverage",
                         check=validate.alpha)
    dispersion: float | None = param(None, "over-dispersion φ of the quasi-Poisson tests; None estimates it from "
                                           "the Ministry's annual series since 2015", check=_check_dispersion)
    death_floors: bool = param(True, "use deaths recorded in data/events.csv as lower bounds of unpublished units")


MODEL_WORDS = {  # how the report names each model (column headers and sentences)
    "poisson": "Poisson",
    "quasi": "φ as known",
    "quasi_t": "φ with its uncertainty",
    "tau2": "between-region τ²",
}
MODEL_PHRASES = {  # the same, inside a sentence
    "poisson": "pure chance (Poisson)",
    "quasi": "the national φ taken as known",
    "quasi_t": "the national φ with its uncertainty",
    "tau2": "the between-region τ²",
}
STATUS_WORDS = {"always": "yes", "depends": "depends", "never": "no"}
LABEL_ORDER = {"supported": 0, "fragile": 1, "not flagged": 2}


def _range(lo, hi, f=fmt_number) -> str:
    """'a' when the two ends agree (as formatted), else 'a–b'."""
    a, b = f(lo), f(hi)
    return a if a == b else f"{a}–{b}"


def _names(x) -> str:
    x = list(x)
    if not x:
        return "none"
    return x[0] if len(x) == 1 else ", ".join(x[:-1]) + " and " + x[-1]


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegionalResult(StudyResult):
    """Everything notebook 04 shows: the release, every unit ranked and flagged as a range over the completions,
    under Poisson and over-dispersion, on two bases, and the leaders across releases."""

    study = NAME
    notebook = NOTEBOOK

    release: dict
    floors: pd.DataFrame
    completions: censoring.Completions
    expected: dict  # basis -> Series of expected counts
    assessments: dict  # basis -> CompletionAssessment
    published_tests: dict  # basis -> DataFrame of the named units: ratio, Garwood interval, exact p (unadjusted)
    dispersion: dispersion.DispersionEstimate
    phi: float
    phi_df: int | None
    labels: pd.DataFrame  # unit, label, reason (population basis)
    population: pd.DataFrame
    workers: pd.DataFrame
    pooled: dict
    ambiguity: dict | None
    persistence: pd.DataFrame
    leaders: pd.DataFrame
    stability: pd.DataFrame
    always: list

    # ---------------------------------------------------------------- conveniences
    @property
    def pop(self) -> censoring.CompletionAssessment:
        return self.assessments["population"]

    @property
    def quasi_key(self) -> str:
        """The quasi-Poisson view that counts for the labels: φ with its uncertainty when φ was estimated."""
        return "quasi_t" if "quasi_t" in self.pop.models else "quasi"

    @property
    def level(self) -> str:
        return f"{100 * (1 - self.params.alpha):g}%"

    def _labelled(self, label: str) -> list[str]:
        return list(self.labels.loc[self.labels["label"] == label, "unit"])

    @property
    def supported(self) -> list[str]:
        return self._labelled("supported")

    @property
    def fragile(self) -> list[str]:
        return self._labelled("fragile")

    def survivors(self, model: str, status: str = "always", basis: str = "population") -> list[str]:
        """Units flagged above expectation by Holm's procedure under ``model``, with a given status.

        Parameters
        ----------
        model : str
            A model key of the assessment (``"poisson"``, ``"quasi"``, ``"quasi_t"``, ``"tau2"``).
        status : {"always", "depends", "never"}, default "always"
            Flagged in every completion of the release, in some, or in none.
        basis : {"population", "equal shares"}, default "population"
            The basis of the expected counts.

        Returns
        -------
        list of str
            The units, as :meth:`analysis.stats.censoring.CompletionAssessment.flagged`.
        """
        return self.assessments[basis].flagged(model, "holm", status)

    @property
    def standout_floors(self) -> pd.DataFrame:
        """Unpublished units whose known deaths alone give them a higher ratio than every published unit."""
        t = self.pop.table.set_index("unit")
        top = t.loc[t["published"], "ratio_low"].max()
        f = self.floors.set_index("region")
        rows = [u for u in f.index if u in t.index and not t.loc[u, "published"] and t.loc[u, "ratio_low"] > top]
        return f.loc[rows].reset_index()

    # ---------------------------------------------------------------- JSON
    def results(self) -> dict[str, Any]:
        """The study's detailed results for the results JSON.

        Returns
        -------
        dict
            The release (``period``, ``national_total``, ``n_units``, ``borders``, ``published``, ``unpublished_bounds``),
            ``completions``, ``dispersion``, ``models``; per basis ``units``, ``spread`` and ``flags`` (Holm, BH and
            funnel, "always" and "depends"); then ``labels``, ``supported``, ``fragile``, ``worker_rates``,
            ``unpublished_pooled``, ``ambiguous_name``, ``persistence``, ``leaders`` and ``share_stability``.
        """
        rel, comp = self.release, self.completions
        out = {
            "period": rel["period"], "national_total": rel["total"], "n_units": rel["n_units"],
            "borders": rel["borders"], "borders_assumed": rel["borders_assumed"], "published": rel["published"],
            "unpublished_bounds": rel["unpublished"],
            "completions": {"remainder": comp.remainder, "cap": comp.cap, "n_completions": comp.n_completions,
                            "floors": self.floors, "method": self.pop.method},
            "dispersion": {"phi": self.phi, "df": self.phi_df,
                           "source": "parameter" if self.params.dispersion is not None else
                           f"Ministry annual injured {DISPERSION_FIRST_YEAR}-{int(max(self.dispersion.years))}",
                           "estimate": self.dispersion.estimate, "ci": self.dispersion.ci,
                           "df_resid": self.dispersion.df_resid, "nb_alpha": self.dispersion.nb_alpha,
                           "nb_phi_largest_unit": self.nb_phi_largest_unit},
            "models": self.pop.models,
        }
        for basis, a in self.assessments.items():
            sp = a.spread
            out.setdefault("units", {})[basis] = a.table
            out.setdefault("spread", {})[basis] = {
                "tau2": [sp.tau2_min, sp.tau2_max], "eb_prior_mean": sp.prior_mean,
                "eb_prior_variance": [sp.prior_var_min, sp.prior_var_max]}
            out.setdefault("flags", {})[basis] = {
                model: {proc: {st: a.flagged(model, proc, st) for st in ("always", "depends")}
                        for proc in ("holm", "bh", "funnel") if f"{proc}_{model}" in a.table.columns}
                for model in a.models}
        out.update({
            "labels": dict(zip(self.labels["unit"], self.labels["label"])), "supported": self.supported,
            "fragile": self.fragile, "worker_rates": self.workers, "unpublished_pooled": self.pooled,
            "ambiguous_name": self.ambiguity, "persistence": self.persistence, "leaders": self.leaders,
            "share_stability": self.stability})
        return out

    @property
    def nb_phi_largest_unit(self) -> float:
        """φ of the largest unit's count if the national extra variation were a year-wide rate shock (NB)."""
        return 1 + self.dispersion.nb_alpha * float(self.expected["population"].max())

    # ---------------------------------------------------------------- tables the report shows
    def units_table(self, basis: str = "population") -> pd.DataFrame:
        """Every unit: injured (a range if unpublished), expected, ratio, rank, EB estimate, label (text)."""
        t = self.assessments[basis].table.merge(self.labels, on="unit")
        t = t.assign(order=t["label"].map(LABEL_ORDER)).sort_values(["order", "rank_best", "rank_worst", "unit"])
        return pd.DataFrame({
            "region": t["unit"],
            "in the release": np.where(t["published"], "named", "not named"),
            "injured": [_range(a, b, fmt_count) for a, b in zip(t["low"], t["high"])],
            "expected": [fmt_number(x) for x in t["expected"]],
            "observed / expected": [_range(a, b) for a, b in zip(t["ratio_low"], t["ratio_high"])],
            "rank (1 = highest)": [_range(a, b, fmt_count) for a, b in zip(t["rank_best"], t["rank_worst"])],
            "EB estimate": [_range(a, b) for a, b in zip(t["eb_low"], t["eb_high"])],
            "stands out?": t["label"],
        })

    def _flag_rows(self, prefixes=("holm_", "bh_", "funnel_"), basis: str = "population") -> pd.DataFrame:
        """Units with some flag (in some completion) among the columns starting with ``prefixes``."""
        t = self.assessments[basis].table.merge(self.labels, on="unit")
        cols = [c for c in t.columns if c.startswith(prefixes)]
        keep = (t[cols] != "never").any(axis=1)
        t = t[keep].assign(order=t["label"].map(LABEL_ORDER)).sort_values(["order", "rank_best", "unit"])
        return t

    def holm_table(self) -> pd.DataFrame:
        """Units flagged by Holm under some model, and under which (yes / depends / no), with the label."""
        t = self._flag_rows(("holm_",))
        out = {"region": t["unit"]}
        for key in self.pop.models:
            out[MODEL_WORDS[key]] = t[f"holm_{key}"].map(STATUS_WORDS)
        eq = self.assessments["equal shares"].table.set_index("unit")
        out["Poisson, equal shares"] = t["unit"].map(eq["holm_poisson"]).map(STATUS_WORDS)
        out["stands out?"] = t["label"]
        return pd.DataFrame(out)

    def other_flags_table(self) -> pd.DataFrame:
        """The same units under Benjamini-Hochberg and beyond the 99.8% funnel limit."""
        t = self._flag_rows()
        out = {"region": t["unit"]}
        for key in self.pop.models:
            out[f"BH, {MODEL_WORDS[key]}"] = t[f"bh_{key}"].map(STATUS_WORDS)
        for key in ("poisson", "quasi", "tau2"):
            out[f"funnel, {MODEL_WORDS[key]}"] = t[f"funnel_{key}"].map(STATUS_WORDS)
        return pd.DataFrame(out)

    def release_table(self) -> pd.DataFrame:
        """The units the release names, with their counts and sources (text, as the report shows it).

        Returns
        -------
        pandas.DataFrame
            Columns ``region``, ``name in the release``, ``injured``, ``source`` and ``note``.
        """
        pub = self.release["published"]
        return pd.DataFrame({"region": pub["region"], "name in the release": pub["region_as_published"],
                             "injured": [fmt_count(x) for x in pub["observed"]], "source": pub["source_id"],
                             "note": pub["note"].fillna("")})

    def floors_table(self) -> pd.DataFrame:
        """The lower bounds of unnamed units from recorded deaths (text, as the report shows it).

        Returns
        -------
        pandas.DataFrame
            Columns ``region``, ``deaths recorded``, ``events`` and ``source``.
        """
        f = self.floors
        return pd.DataFrame({"region": f["region"], "deaths recorded": [fmt_count(x) for x in f["deaths"]],
                             "events": f["events"], "source": f["source_id"]})

    def population_table(self) -> pd.DataFrame:
        """The population denominators and the expected counts on the population basis (text).

        Returns
        -------
        pandas.DataFrame
            Columns ``region``, ``population``, ``date``, ``expected injured`` and ``note`` (a population taken from its
            nearest date).
        """
        p = self.population
        e = self.expected["population"]
        return pd.DataFrame({"region": p["region"], "population": [fmt_count(x) for x in p["population"]],
                             "date": p["date"], "expected injured": [fmt_number(e.get(r)) for r in p["region"]],
                             "note": np.where(p["filled_from_other_date"], "from its nearest date", "")})

    def workers_table(self) -> pd.DataFrame:
        """Injury rates per 1,000 employed (LFS) of the named units, with Garwood intervals and exact tests (text).

        Returns
        -------
        pandas.DataFrame
            Columns ``region``, ``injured``, ``employed (LFS)``, ``employment period``, ``per 1,000 workers``, the interval,
            ``national per 1,000`` and ``p-value (exact)``.
        """
        w = self.workers
        return pd.DataFrame({
            "region": w["region"], "injured": [fmt_count(x) for x in w["observed"]],
            "employed (LFS)": [fmt_count(x) for x in w["employed"]], "employment period": w["employment_period"],
            "per 1,000 workers": [fmt_number(x) for x in w["rate_per_1000"]],
            f"{self.level} interval (Garwood)": [_range(a, b) for a, b in zip(w["ci_low"], w["ci_high"])],
            "national per 1,000": [fmt_number(x) for x in w["national_rate_per_1000"]],
            "p-value (exact)": [fmt_pvalue(x) for x in w["p_value"]]})

    def leaders_table(self) -> pd.DataFrame:
        """The leading unit of each release and whether it is certainly first (text).

        Returns
        -------
        pandas.DataFrame
            Columns ``release``, ``borders``, ``leader``, ``injured`` (a range where unpublished) and ``certainly first``.
        """
        d = self.leaders
        return pd.DataFrame({"release": d["period"], "borders": d["version"], "leader": d["region"],
                             "injured": [_range(a, b, fmt_count) for a, b in zip(d["low"], d["high"])],
                             "certainly first": np.where(d["certain_rank_1"], "yes", "no")})

    def stability_table(self) -> pd.DataFrame:
        """Each unit's share of the national injured across releases, with a χ² test of a constant share (text).

        Returns
        -------
        pandas.DataFrame
            Columns ``region``, ``releases``, ``share of national injured`` (lowest–highest), ``pooled share`` and
            ``p-value (χ², constant share)``.
        """
        s = self.stability
        return pd.DataFrame({
            "region": s["region"], "releases": [fmt_count(x) for x in s["releases"]],
            "share of national injured": [f"{fmt_percent(a, signed=False)}–{fmt_percent(b, signed=False)}"
                                          for a, b in zip(s["share_min_pct"], s["share_max_pct"])],
            "pooled share": [fmt_percent(x, signed=False) for x in s["pooled_share_pct"]],
            "p-value (χ², constant share)": [fmt_pvalue(x) for x in s["p_value"]]})

    def tables(self) -> dict[str, pd.DataFrame]:
        """The main tables as numbers with plain-English headers (the CSV downloads)."""
        out = {}
        for basis, a in self.assessments.items():
            t = a.table.merge(self.labels, on="unit") if basis == "population" else a.table
            ren = {"unit": "region", "published": "named in the release", "low": "injured, at least",
                   "high": "injured, at most", "expected": "expected", "ratio_low": "observed / expected, lowest",
                   "ratio_high": "observed / expected, highest", "rank_best": "best rank",
                   "rank_worst": "worst rank", "eb_low": "EB estimate, lowest", "eb_high": "EB estimate, highest",
                   "label": "stands out?", "reason": "why"}
            for key in a.models:
                for proc, word in (("holm", "Holm"), ("bh", "BH"), ("funnel", "funnel 99.8%")):
                    ren[f"{proc}_{key}"] = f"{word}, {MODEL_WORDS[key]}"
            out[f"units_{basis.replace(' ', '_')}"] = t.rename(columns=ren)
        out["leaders"] = self.leaders_table()
        return out

    # ---------------------------------------------------------------- figure data
    @property
    def figure_units(self) -> pd.DataFrame:
        """Population basis, every unit: ratio range, rank range, label; published ones with Garwood limits."""
        t = self.pop.table.merge(self.labels, on="unit")
        g = self.published_tests["population"].set_index("region")
        t["ci_low"] = t["unit"].map(g["ratio_lower"])
        t["ci_high"] = t["unit"].map(g["ratio_upper"])
        t["what"] = np.where(t["published"], "named in the release", "not named: possible range")
        return t.sort_values("rank_best").reset_index(drop=True)

    @property
    def heatmaps(self) -> dict[str, pd.DataFrame]:
        """Region x release share of the national injured (%), on the releases' own and on pre-2022 borders."""
        return {v: persistence_matrix(self.persistence, v) for v in ("as published", "pre-2022 borders")}

    def _funnel_grid(self) -> np.ndarray:
        e = self.expected["population"]
        return np.geomspace(max(float(e.min()) / 1.5, 0.5), float(e.max()) * 1.5, 200)

    @property
    def funnel_lines(self) -> pd.DataFrame:
        """Upper funnel limits over a grid of expected counts: exact Poisson 95% and 99.8%, and 99.8% with φ."""
        e = self._funnel_grid()
        rows = [pd.DataFrame({"expected": e, "upper": regions.upper_limit(e, lv, model, phi=self.phi), "limit": name})
                for name, lv, model in (("exact Poisson, 95%", 0.95, "poisson"),
                                        ("exact Poisson, 99.8%", FUNNEL_LEVEL, "poisson"),
                                        (f"φ = {fmt_number(self.phi)}, 99.8%", FUNNEL_LEVEL, "quasi-poisson"))]
        return pd.concat(rows, ignore_index=True)

    @property
    def funnel_band(self) -> pd.DataFrame:
        """The 99.8% upper limit with τ² at its smallest and at its largest value over the completions."""
        e = self._funnel_grid()
        sp = self.pop.spread
        return pd.DataFrame({"expected": e,
                             "low": regions.upper_limit(e, FUNNEL_LEVEL, "additive", tau2=sp.tau2_min),
                             "high": regions.upper_limit(e, FUNNEL_LEVEL, "additive", tau2=sp.tau2_max)})

    # ---------------------------------------------------------------- text
    @property
    def release_note(self) -> str:
        rel, comp = self.release, self.completions
        s = (f"National total for {rel['period']}: **{fmt_count(rel['total'])}** injured; units: "
             f"**{rel['n_units']}** ({rel['borders']} borders"
             + (", assumed: the release does not say which borders it uses" if rel["borders_assumed"] else "")
             + f"). The {len(comp.unpublished)} units not named hold {fmt_count(comp.total)} − "
             f"{fmt_count(comp.total - comp.remainder)} = **{fmt_count(comp.remainder)}** injured between them, each "
             f"at most **{fmt_count(comp.cap)}** (the smallest named count; a larger one would have been named).")
        return s

    @property
    def floors_note(self) -> str:
        if not self.params.death_floors:
            return "Recorded deaths are not used as lower bounds (parameter `death_floors` is off)."
        if self.floors.empty:
            return "No deaths are recorded in `data/events.csv` for this period, so every unnamed unit may hold 0."
        parts = [f"{r.region} at least {fmt_count(r.deaths)}" for r in self.floors.itertuples()]
        return ("Deaths recorded in `data/events.csv` for the period bound the injured count from below (the "
                "Ministry's injured include deaths): " + "; ".join(parts) + ".")

    @property
    def completions_note(self) -> str:
        comp = self.completions
        magnitude = int(np.floor(np.log10(comp.n_completions))) if comp.n_completions >= 10 else 0
        power = str(magnitude).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
        return (f"The counts the release allows for the unnamed units (each between its lower bound and "
                f"{fmt_count(comp.cap)}, summing to {fmt_count(comp.remainder)}) number about 10{power}: far too "
                "many to list. Every range below is nevertheless **exact**: it is found by optimising over all of "
                "them (dynamic programming, and an integer-programming feasibility check for the Holm and BH flags), "
                "not by sampling.")

    @property
    def dispersion_note(self) -> str:
        d = self.dispersion
        if self.params.dispersion is not None:
            src = f"φ = {fmt_number(self.phi)} as given in the parameters (treated as known)"
        else:
            src = (f"φ = **{fmt_number(self.phi)}** (95% CI {fmt_number(d.ci[0])} to {fmt_number(d.ci[1])}, "
                   f"{d.df_resid} degrees of freedom): the Pearson χ²/df of the Ministry's annual injured counts "
                   f"{DISPERSION_FIRST_YEAR}–{int(max(d.years))} around a log-linear trend, carried unchanged to "
                   "the period and the unit (quasi-Poisson: extra variance proportional to the mean)")
        sp = self.pop.spread
        return (f"* **National over-dispersion**: {src}. If the national extra variation were instead a year-wide "
                f"rate shock (negative binomial), a unit of this size would have φ of only about "
                f"{fmt_number(self.nb_phi_largest_unit)}: the quasi-Poisson view is the cautious one.\n"
                f"* **Between-region variation** (Spiegelhalter's additive τ², DerSimonian–Laird on all "
                f"{self.completions.n_units} units, z-scores not winsorised: with every unit included there is no "
                "top selection to guard against, and the larger τ² is the cautious choice): τ² lies between "
                f"**{fmt_number(sp.tau2_min)}** and **{fmt_number(sp.tau2_max)}** over the completions. A flag counts "
                "as surviving it only if it holds at the largest value.")

    @property
    def flags_note(self) -> str:
        a = self.pop
        lines = []
        for key, desc in a.models.items():
            always, depends = a.flagged(key), a.flagged(key, status="depends")
            text = f"in every completion: **{_names(always)}**"
            if depends:
                text += f"; only in some: {_names(depends)}"
            lines.append(f"* **{MODEL_WORDS[key]}** ({desc}): {text}.")
        eq = self.assessments["equal shares"]
        lines.append(f"* Equal shares instead of population, Poisson: in every completion "
                     f"{_names(eq.flagged('poisson'))}; with φ and its uncertainty: "
                     f"{_names(eq.flagged(self.quasi_key))}.")
        return "Above expectation after Holm over all " + str(self.completions.n_units) + " units:\n\n" + "\n".join(lines)

    @property
    def labels_note(self) -> str:
        lines = [f"* **{r.unit}** ({r.label}): {r.reason}" for r in self.labels.itertuples() if r.label != "not flagged"]
        others = len(self.labels) - len(lines)
        lines.append(f"* The other {others} units are not above expectation after Holm under any model, whatever the "
                     "unnamed counts (some are under the more lenient BH; see the second table).")
        return "\n".join(lines)

    @property
    def eb_note(self) -> str:
        sp = self.pop.spread
        return (f"With all {self.completions.n_units} units the EB prior (method of moments, Marshall 1991) has mean "
                f"{fmt_number(sp.prior_mean)} (the national level) and variance between "
                f"{fmt_number(sp.prior_var_min)} and {fmt_number(sp.prior_var_max)} over the completions; each "
                "unit's EB estimate of observed / expected is shown as its range over the completions (table above).")

    @property
    def pooled_note(self) -> str:
        return ("Unnamed units pooled: " + "; ".join(
            f"{b}: {fmt_count(r['observed'])} injured against {fmt_number(r['expected'])} expected (ratio "
            f"{fmt_number(r['ratio'])}, exact p {self._p(r['p_value'])})" for b, r in self.pooled.items())
                + ". This is the mirror image of the named units' excess, not independent evidence.")

    @staticmethod
    def _p(p) -> str:
        s = fmt_pvalue(p)
        return s if s.startswith("<") else f"= {s}"

    @property
    def workers_note(self) -> str:
        if not len(self.workers):
            return ("No named region has a regional LFS employment figure for this release, so no rate per worker "
                    "can be computed; the analysis rests on population and equal shares.")
        return ("**Rate per worker.** Named regions with a regional LFS employment figure (its period shown; rates "
                "are for the release period, not annualised; LFS employment includes the self-employed, whom the "
                "Ministry rarely registers):")

    @property
    def ambiguity_note(self) -> str:
        a = self.ambiguity
        if a is None:
            return "No region name in this release is ambiguous."
        changed = a["labels_changed"]
        return (f"The release says '{a['published_as']}', read here as **{a['read_as']}**. Read as "
                f"{a['alternative']} instead (expected {fmt_number(a['alternative_expected'])}, ratio "
                f"{fmt_number(a['alternative_ratio'])}, with {a['read_as']} then among the unnamed units), the "
                "labels " + ("**change** for " + _names(changed) if changed else "**do not change**") + ".")

    @property
    def persistence_note(self) -> str:
        return ("Named in every release (pre-2022 borders): **" + (", ".join(self.always) or "none") + "**."
                + ("" if self.stability.empty else
                   " Units named in every release with unchanged borders, tested for a constant share of the "
                   "national total (Pearson χ²; named *because* they were high, so this is conditional on being "
                   "near the top):"))

    @property
    def units_alt(self) -> str:
        t = self.figure_units
        pub = t[t["published"]]
        un = t[~t["published"]].sort_values("ratio_high", ascending=False).head(3)
        return ("Dot and range chart of observed over expected injuries for all "
                f"{len(t)} units on the population basis: named regions " + "; ".join(
                    f"{r.unit} {fmt_number(r.ratio_low)}" for r in pub.itertuples())
                + "; unnamed units as ranges, the widest " + "; ".join(
                    f"{r.unit} {fmt_number(r.ratio_low)} to {fmt_number(r.ratio_high)}" for r in un.itertuples())
                + ". 1 is the national level.")

    @property
    def funnel_alt(self) -> str:
        sp = self.pop.spread
        return (f"Funnel plot of observed over expected injuries against the expected count (log scale) for all "
                f"{self.completions.n_units} units. Above the exact Poisson 99.8% limit: "
                f"{_names(self.pop.flagged('poisson', 'funnel'))}; possibly, depending on unnamed counts: "
                f"{_names(self.pop.flagged('poisson', 'funnel', 'depends'))}. The limits widened for φ = "
                f"{fmt_number(self.phi)} and for τ² from {fmt_number(sp.tau2_min)} to {fmt_number(sp.tau2_max)} "
                f"leave {_names(self.pop.flagged('tau2', 'funnel', 'always'))} above in every completion.")

    @property
    def ranks_alt(self) -> str:
        t = self.figure_units.head(8)
        return ("Range chart of each unit's possible rank by observed over expected injuries (1 = highest) over "
                "the completions: " + "; ".join(
                    f"{r.unit} {_range(r.rank_best, r.rank_worst, fmt_count)}" for r in t.itertuples())
                + "; unnamed units can fall to the last rank.")

    @property
    def heatmap_alt(self) -> str:
        lead = self.leaders[self.leaders["version"] == "as published"]
        return ("Two heat maps of each named region's share of the national injured count, one release per "
                "year, on the release's own borders and on pre-2022 borders; leaders: " + ", ".join(
                    f"{x.period} {x.region}" for x in lead.itertuples()) + ".")


# ---------------------------------------------------------------- labels and verdict
def _labels(a: censoring.CompletionAssessment, quasi_key: str) -> pd.DataFrame:
    """Per unit (Holm flags): supported (every completion, under Poisson, the national φ and τ²), fragile (flagged
    under Poisson in some completion, but not supported), or not flagged."""
    rows = []
    views = [k for k in a.models if k != "poisson"]
    for r in a.table.itertuples():
        st = {k: getattr(r, f"holm_{k}") for k in a.models}
        if st["poisson"] == "never":
            rows.append((r.unit, "not flagged", "not above expectation after Holm even under pure chance (Poisson), "
                                                "whatever the unnamed counts."))
            continue
        if st["poisson"] == "always" and st[quasi_key] == "always" and st["tau2"] == "always":
            rows.append((r.unit, "supported", "above expectation after Holm in every completion, under Poisson, "
                                              "the national φ and the between-region τ²."))
            continue
        holds = [MODEL_PHRASES[k] for k in views if st[k] == "always"]
        some = [MODEL_PHRASES[k] for k in views if st[k] == "depends"]
        lost = [MODEL_PHRASES[k] for k in views if st[k] == "never"]
        if st["poisson"] == "always":
            why = "above expectation under pure chance (Poisson) whatever the unnamed counts"
        else:
            why = "above expectation under pure chance (Poisson) only if the unnamed counts allow it"
        if holds:
            why += f"; still with {_names(holds)}"
        if some:
            why += f"; with {_names(some)} only for some unnamed counts"
        if lost:
            why += f"; not with {_names(lost)}"
        rows.append((r.unit, "fragile", why + "."))
    return pd.DataFrame(rows, columns=["unit", "label", "reason"])


def _technical(r: RegionalResult) -> str:
    a, eq, comp = r.pop, r.assessments["equal shares"], r.completions
    sp = a.spread
    level = r.level
    s = [f"All {comp.n_units} units of the {r.release['period']} release ranked and flagged over every completion of "
         f"the {comp.n_units - len(comp.unpublished)} named counts ({fmt_count(comp.remainder)} injured among "
         f"{len(comp.unpublished)} unnamed units, each at most {fmt_count(comp.cap)}"
         + ("; lower bounds from recorded deaths: " + ", ".join(
             f"{x.region} {fmt_count(x.deaths)}" for x in r.floors.itertuples()) if len(r.floors) else "")
         + "; exact ranges, no sampling)."]
    for key, desc in a.models.items():
        s.append(f"Holm at alpha {r.params.alpha:g}, {desc}: in every completion {_names(a.flagged(key))}; in some "
                 f"{_names(a.flagged(key, status='depends'))}; BH in every completion {_names(a.flagged(key, 'bh'))}.")
    s.append(f"Funnel 99.8% (exact Poisson) in every completion: {_names(a.flagged('poisson', 'funnel'))}; with φ: "
             f"{_names(a.flagged('quasi', 'funnel'))}; with τ² ({fmt_number(sp.tau2_min)} to {fmt_number(sp.tau2_max)}): "
             f"{_names(a.flagged('tau2', 'funnel'))}.")
    s.append(f"Equal shares: Holm under Poisson {_names(eq.flagged('poisson'))}, with φ {_names(eq.flagged(r.quasi_key))}.")
    t = a.table.set_index("unit")
    if r.supported or r.fragile:
        s.append("EB estimates of observed / expected (MM prior variance "
                 f"{fmt_number(sp.prior_var_min)} to {fmt_number(sp.prior_var_max)}): " + "; ".join(
                     f"{u} {_range(t.loc[u, 'eb_low'], t.loc[u, 'eb_high'])}, rank "
                     f"{_range(t.loc[u, 'rank_best'], t.loc[u, 'rank_worst'], fmt_count)}"
                     for u in r.supported + r.fragile) + ".")
    s.append(f"Supported (Holm, every completion, Poisson and {MODEL_WORDS[r.quasi_key]} and τ²): "
             f"{_names(r.supported)}; fragile: {_names(r.fragile)}.")
    if len(r.workers):
        s.append("Per LFS worker: " + "; ".join(
            f"{w.region} {fmt_number(w.rate_per_1000)} per 1,000 ({level} CI {fmt_number(w.ci_low)} to "
            f"{fmt_number(w.ci_high)}; employment of {w.employment_period}) vs national "
            f"{fmt_number(w.national_rate_per_1000)}, p {r._p(w.p_value)}" for w in r.workers.itertuples()) + ".")
    if r.ambiguity is not None:
        s.append(f"Reading '{r.ambiguity['published_as']}' as {r.ambiguity['alternative']} "
                 + ("changes the labels of " + _names(r.ambiguity["labels_changed"])
                    if r.ambiguity["labels_changed"] else "does not change the labels") + ".")
    lead = r.leaders[r.leaders["version"] == "as published"]
    s.append("Leaders by release (own borders): " + ", ".join(f"{x.period} {x.region}" for x in lead.itertuples())
             + f"; named in every release: {_names(r.always)}.")
    return " ".join(s)


def _verdict(r: RegionalResult) -> Verdict:
    a = r.pop
    sup, fra = r.supported, r.fragile
    by_model = [u for u in fra if a.statuses("poisson")[u] == "always"]
    by_completion = [u for u in fra if u not in by_model]
    if sup:
        label = "supported"
        headline = (f"{_names(sup)} {'stands' if len(sup) == 1 else 'stand'} out even allowing for the extra "
                    "variation of injury counts and for every possible count of the unnamed regions.")
    elif fra:
        label = "fragile"
        who = _names(by_completion) if len(by_completion) <= 3 else f"{len(by_completion)} unnamed regions"
        known = [u for u in by_model if "quasi" in a.models and r.quasi_key != "quasi"
                 and a.statuses("quasi")[u] == "always"]
        chance_only = [u for u in by_model if u not in known]
        said = "; ".join(x for x in (
            f"{_names(chance_only)} {'does' if len(chance_only) == 1 else 'do'} only under a pure-chance model"
            if chance_only else "",
            f"{_names(known)} {'does' if len(known) == 1 else 'do'} also with the national φ taken as known, but not "
            "once its uncertainty is allowed for" if known else "") if x)
        headline = ("No region clearly stands out once the extra variation of injury counts is allowed for"
                    + (f": {said}" if by_model else "")
                    + (f"{', and' if by_model else ':'} {who} only if "
                       f"{'its unpublished count was' if len(by_completion) == 1 else 'their unpublished counts were'} "
                       "high" if by_completion else "") + ".")
    else:
        label = "not supported"
        headline = "No region stands out once its population is allowed for, even under a pure-chance model."
    named = [u for u in by_model]
    first = (f"Against their population, {_names(named)} had more injured workers than the national rate would "
             "give, but injury counts swing more from year to year than pure chance, and with that allowed for "
             + ("they still stand out." if sup else "none of them is clearly above the rest.")
             if named else "Against their population, no named region is clearly above the national rate.")
    parts = [first]
    so = r.standout_floors
    if len(so):
        x = so.iloc[0]
        e = float(r.expected["population"][x["region"]])
        parts.append(f"{x['region']}, which the release does not name, had at least {fmt_count(x['deaths'])} injured "
                     f"(deaths recorded in the period) where about {fmt_number(e, 2)} would be expected: a higher "
                     "rate than any named region, whatever the unnamed counts.")
    parts.append("Population is only a rough stand-in for the number of workers, so industrial and mining regions "
                 "look worse than they may be.")
    t = r.published_tests["population"].set_index("region")
    top = t["p_above"].idxmin()
    o, e = int(t.loc[top, "observed"]), float(t.loc[top, "expected"])
    lo, hi = regions.ratio_ci_quasi(o, e, r.phi, r.phi_df, r.params.alpha)
    p_q = float(regions.pvalues_above([o], [e], "quasi-poisson", phi=r.phi, df=r.phi_df)[0])
    key = Estimate(f"{top}: observed / expected injuries", o / e, lo, hi, p_q,
                   f"quasi-Poisson score test and interval, {MODEL_WORDS[r.quasi_key]} (φ = {fmt_number(r.phi)})",
                   note=f"one-sided, before the Holm adjustment over {r.completions.n_units} units; population basis")
    would = ("Regional employment for every region (a rate per worker instead of per resident), the unnamed "
             "counts themselves, or evidence that injury counts vary no more than chance (φ near 1 and little "
             "variation between regions) would change this.")
    return Verdict(label=label, headline=headline, summary=" ".join(parts), technical=_technical(r), key=key,
                   would_change=would)


def _caveats(p: Params) -> tuple[str, ...]:
    out = [
        "**Population is not employment.** Karaganda, Kostanay, East Kazakhstan and Pavlodar have large industrial "
        "and mining workforces relative to their residents; Almaty city has many residents in low-risk services. "
        "The population basis therefore overstates risk in industrial regions and understates it in cities. Only a "
        "rate per worker for every unit would settle it, and regional employment is published for a handful of "
        "units only (and at other dates).",
        "**Censoring, not selection.** The unnamed units are bounded, not ignored: every rank, estimate and flag is "
        "an exact range over all the counts the release allows. The ranges assume the release lists the top units "
        "(each unnamed unit at most the smallest named count) and that the national total covers the same people.",
        ("**Over-dispersion is national.** φ comes from ten annual national counts (its 95% interval is wide) and "
         "is carried unchanged to a region and a period: an assumption. τ² measures the spread between regions in "
         "this release itself." if p.dispersion is None else
         "**Over-dispersion is given.** φ is a parameter here, treated as known."),
        "Regional counts and national totals are both from news reports of Ministry releases; the 2022 annual "
        "release does not say which borders it uses (taken as post-reform), and some periods were inferred by the "
        "ledger.",
        "Counts of injured workers include deaths; a single mass-casualty accident (Zhomart mine, Ulytau, February "
        "2025; Kostenko mine, Karaganda, October 2023) can move a region's count. Only listed events bound a count "
        "from below; people injured but not killed in them are not added.",
    ]
    return tuple(out)


# ---------------------------------------------------------------- run
def _ambiguity(rel: dict, comp_floors: dict, alt_expected: pd.Series, labels: pd.DataFrame, alpha: float,
               phi: float, phi_df: int | None) -> dict | None:
    """If the release names a region ambiguously ('Almaty': city or region), the labels under the other reading."""
    pub = rel["published"]
    amb = pub[pub["region_as_published"].str.strip().str.lower() == "almaty"]
    if amb.empty:
        return None
    r = amb.iloc[0]
    other = "Almaty region" if r.region == "Almaty city" else "Almaty city"
    if other in set(pub["region"]):
        return None
    obs = dict(zip(pub["region"], pub["observed"].astype(int)))
    obs[other] = obs.pop(r.region)
    floors = {k: v for k, v in comp_floors.items() if k != other or v <= obs[other]}
    comp = censoring.completions(obs, rel["total"], list(alt_expected.index), floors)
    a = censoring.assess_completions(comp, alt_expected, alpha=alpha, phi=phi, phi_df=phi_df)
    alt = _labels(a, "quasi_t" if "quasi_t" in a.models else "quasi")
    base = dict(zip(labels["unit"], labels["label"]))
    new = dict(zip(alt["unit"], alt["label"]))
    changed = [u for u in base if base[u] != new[u]]
    e = float(alt_expected[other])
    return {"published_as": r.region_as_published, "read_as": r.region, "alternative": other,
            "alternative_expected": e, "alternative_ratio": obs[other] / e, "labels_alternative": new,
            "labels_changed": changed}


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

    Raises
    ------
    ValueError
        When the release and the recorded deaths contradict each other (an unnamed unit with more deaths than the
        smallest named count), naming the unit.
    """
    p = params
    rel = release(p.period, data_dir)
    pub = rel["published"]
    floors = death_floors(p.period, data_dir) if p.death_floors else pd.DataFrame(
        columns=["region", "deaths", "events", "source_id"])
    floor_map = dict(zip(floors["region"], floors["deaths"].astype(int)))
    names = units(rel["borders"], data_dir)
    try:
        comp = censoring.completions(dict(zip(pub["region"], pub["observed"].astype(int))), rel["total"], names,
                                     floor_map)
    except ValueError as exc:
        raise ValueError(f"{p.period} release and data/events.csv: {exc}") from None
    disp = national_dispersion(data_dir)
    phi = p.dispersion if p.dispersion is not None else float(disp.estimate)
    phi_df = None if p.dispersion is not None else int(disp.df_resid)
    expected = {b: expected_counts(p.period, b, data_dir) for b in BASES}
    assessments = {b: censoring.assess_completions(comp, expected[b], alpha=p.alpha, phi=phi, phi_df=phi_df)
                   for b in BASES}
    quasi_key = "quasi_t" if phi_df is not None else "quasi"
    labels = _labels(assessments["population"], quasi_key)
    published_tests = {b: named_ratios(pub, expected[b], p.alpha) for b in BASES}
    pers = persistence(data_dir)
    stability = share_stability(pers, p.alpha)
    result = RegionalResult(
        params=p, title=title(p),
        question=("Which regions have more injured workers than their size explains, counting the regions the "
                  "release does not name, and do the same regions lead every year?"),
        claim=claim_text(rel), verdict=Verdict("descriptive", "pending", "", ""), caveats=_caveats(p),
        release=rel, floors=floors, completions=comp, expected=expected, assessments=assessments,
        published_tests=published_tests, dispersion=disp, phi=phi, phi_df=phi_df, labels=labels,
        population=population_exposure(rel["borders"], data_dir), workers=worker_rates(p.period, p.alpha, data_dir),
        pooled={b: unpublished_vs_expected(p.period, expected[b], b, data_dir) for b in BASES},
        ambiguity=_ambiguity(rel, floor_map, expected["population"], labels, p.alpha, phi, phi_df),
        persistence=pers, leaders=leaders(pers), stability=stability, always=always_published(pers))
    result = dataclasses.replace(result, verdict=_verdict(result))
    return dataclasses.replace(result, estimates=_estimates(result))


def _estimates(r: RegionalResult) -> tuple[Estimate, ...]:
    """Tidy rows: the key estimate, each named unit's ratio (exact), the national φ. Ranges over the completions
    (EB estimates, ranks, τ²) are in the tables and the results, as they have no single estimate."""
    out = [r.verdict.key]
    for row in r.published_tests["population"].itertuples():
        out.append(Estimate(f"{row.region}: observed / expected injuries", row.ratio, row.ratio_lower,
                            row.ratio_upper, row.p_above, "exact Poisson test and Garwood interval, population basis",
                            note=f"one-sided, before the Holm adjustment over {r.completions.n_units} units"))
    if r.phi_df is not None:
        d = r.dispersion
        out.append(Estimate("national over-dispersion φ", d.estimate, d.ci[0], d.ci[1], d.p_value,
                            model=d.method, note=f"{d.df_resid} df; test of φ = 1"))
    return tuple(out)


def title(p: Params) -> str:
    """The report's title, a question naming the claim tested.

    Parameters
    ----------
    p : Params
        The regional study's parameters.

    Returns
    -------
    str
        The title.
    """
    return f"Which regions have more workplace injuries than expected? (release for {p.period})"


def claim_text(rel: dict) -> str:
    """The claim in words: the regions the release names with their counts, and the questions the report asks.

    Parameters
    ----------
    rel : dict
        The release, as returned by :func:`release` (``period``, ``published``, ``total``, ...).

    Returns
    -------
    str
        Markdown text starting with "**Claim.**".
    """
    pub = rel["published"]
    listed = ", ".join(f"{r.region} {fmt_count(r.observed)}" for r in pub.itertuples())
    return (f"**Claim.** The Ministry of Labour's release for {rel['period']} names the regions with the most "
            f"injured workers: {listed}, of {fmt_count(rel['total'])} nationally. Are these regions above "
            "expectation once their size is allowed for, or merely large? What about the regions it does not name? "
            "And do the same regions lead every year?")


__all__ = ["BASES", "NAME", "NOTEBOOK", "Params", "RegionalResult", "always_published", "borders",
           "check_period", "death_floors", "expected_counts", "leaders", "n_units", "named_ratios",
           "national_dispersion",
           "persistence", "persistence_matrix", "persistence_releases", "population_exposure", "regional_periods",
           "release", "run", "share_stability", "units", "unpublished_vs_expected", "worker_rates"]
