"""Deaths that come in clusters: compound-Poisson variance inflation, and the homogeneity of a fatal share.

If accidents arrive as a Poisson process and accident *k* kills K_k people (i.i.d. sizes), the count of deaths in a
period is compound Poisson with variance / mean

    φ = E[K²] / E[K],

whatever the period's length (the ratio is a property of the cluster sizes, not of the period). With the listed
mass-casualty events (sizes k_j) and D deaths in all, treating the D - Σk_j deaths outside listed events as
accidents of size s (1: single deaths, a lower bound; 2: pairs, a sensitivity for unlisted small clusters),

    φ̂ = (s·(D - Σk_j) + Σk_j²) / D.

A fatal share (deaths / injured) is binomial given the injured count; its homogeneity across years is Pearson's χ²
test of the deaths × non-fatal table (scipy ``chi2_contingency``), and clustering divides χ² by φ (a Rao-Scott-type
first-order correction).

Numbers in, results out: this module reads no data; the study (``analysis.studies.fatalities``) supplies totals and
event sizes.

References
----------
Feller, W. (1968). An Introduction to Probability Theory and Its Applications, vol. 1, 3rd ed., §XII.2 (compound
Poisson distributions).
Rao, J. N. K. and Scott, A. J. (1981). The analysis of categorical data from complex sample surveys. JASA 76, 221-230.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.core import validate
from analysis.core.fmt import fmt_count, fmt_number, fmt_percent, fmt_pvalue
from analysis.core.results import Result

COMPOUND = "compound-Poisson variance inflation φ = E[K²]/E[K] of deaths per accident"
HOMOGENEITY = "Pearson chi-square test of homogeneity (deaths vs non-fatal injuries by year)"


def _ptext(p: float) -> str:
    v = fmt_pvalue(p)
    return f"p {v}" if v.startswith("<") else f"p = {v}"


def compound_poisson_phi(total, sizes, unlisted_size: int = 1) -> float:
    """Variance / mean of a compound-Poisson death count: (s·(total - Σk) + Σk²) / total.

    Parameters
    ----------
    total : float
        All deaths in the window (> 0).
    sizes : sequence of int
        Deaths in each listed multi-death event (each >= 1).
    unlisted_size : int
        Size s of the accidents behind the deaths outside listed events (1 = single deaths, the lower bound).

    Returns
    -------
    float
    """
    d = validate.positive("total", total)
    s = validate.positive_int("unlisted_size", unlisted_size)
    k = np.asarray([validate.positive_int(f"sizes[{i}]", int(v)) for i, v in enumerate(sizes)], float)
    rest = d - k.sum()
    if rest < -1e-9:
        raise ValueError(f"total deaths {d:g} are fewer than the listed events' deaths {k.sum():g}")
    return float((s * max(rest, 0.0) + (k**2).sum()) / d)


@dataclass(frozen=True)
class ClusterInflation(Result):
    """Compound-Poisson variance inflation of annual deaths from the listed mass-casualty events."""

    system: str
    start: int
    end: int
    years: tuple[int, ...]
    imputed_years: tuple[int, ...]
    total_deaths: float
    n_events: int
    event_deaths: int
    sum_k2: float
    largest_event: str
    largest_deaths: int
    estimate: float
    phi_without_largest: float
    phi_unlisted_pairs: float
    per_year: tuple[tuple[int, float], ...]
    label: str = ""
    method: str = COMPOUND
    assumptions: str = (
        "accidents arrive as a Poisson process with i.i.d. death counts K; deaths not in a listed event are "
        "single-death accidents (so φ is a lower bound); years without a published total are imputed by the "
        "mean of the published years in the window"
    )

    @property
    def name(self) -> str:
        return self.label or self.system

    @property
    def range(self) -> tuple[float, float]:
        """(φ without the largest event, φ with unlisted deaths in pairs): the sensitivity range around φ."""
        return self.phi_without_largest, self.phi_unlisted_pairs

    def to_frame(self) -> pd.DataFrame:
        """Per-year φ as a table: system, year, phi_year, imputed_total.

        Returns
        -------
        pandas.DataFrame
            One row per year of ``per_year``: ``system``, ``year``, ``phi_year`` (that year's compound-Poisson
            φ) and ``imputed_total`` (True when the year's total deaths were imputed).
        """
        return pd.DataFrame([{"system": self.system, "year": y, "phi_year": f, "imputed_total": y in self.imputed_years}
                             for y, f in self.per_year])

    @property
    def source(self) -> str:
        """Where φ comes from, in a few words (for verdicts that use it)."""
        return (f"compound-Poisson φ of deaths from {self.n_events} listed mass-casualty events, {self.name} "
                f"{self.start}–{self.end}")

    @property
    def verdict(self) -> str:
        imp = f" ({', '.join(map(str, self.imputed_years))} imputed)" if self.imputed_years else ""
        return (
            f"{self.method}, {self.name} {self.start}–{self.end}{imp}: {self.n_events} listed events "
            f"with {fmt_count(self.event_deaths)} of about {fmt_count(self.total_deaths)} deaths give φ = "
            f"{fmt_number(self.estimate)}; without the largest ({self.largest_event}, {self.largest_deaths} dead) φ = "
            f"{fmt_number(self.phi_without_largest)}; if all other deaths came in pairs φ = "
            f"{fmt_number(self.phi_unlisted_pairs)}. Poisson variances of deaths should be multiplied by about this "
            "much, for a period of any length; one more event of the largest size would raise it further."
        )


def cluster_inflation(totals: Mapping[int, float | None], event_years: Sequence[int], event_deaths: Sequence[int],
                      event_labels: Sequence[str] | None = None, system: str = "", label: str = "") -> ClusterInflation:
    """φ = E[K²]/E[K] of deaths over a window of years from its annual totals and its listed events.

    Parameters
    ----------
    totals : mapping year -> deaths or None
        Every year of the window; None (or NaN) where no total is published: imputed by the mean of the published
        years (stated in the result).
    event_years, event_deaths : sequences
        Year and deaths of each listed multi-death event in the window.
    event_labels : sequence of str, optional
        A name per event (the largest is named in the verdict).
    system, label : str
        Identifier and display name of the series (e.g. ``"ministry"``, ``"Ministry"``).

    Returns
    -------
    ClusterInflation
    """
    if not totals:
        raise ValueError("totals must hold at least one year")
    years = sorted(int(y) for y in totals)
    published = {y: validate.positive(f"totals[{y}]", float(totals[y])) for y in years
                 if totals[y] is not None and not (isinstance(totals[y], float) and np.isnan(totals[y]))}
    if not published:
        raise ValueError(f"totals must hold at least one published year, got none in {years[0]}–{years[-1]}")
    fill = float(np.mean(list(published.values())))
    full = {y: published.get(y, fill) for y in years}
    ey = [int(v) for v in event_years]
    ek = [validate.positive_int(f"event_deaths[{i}]", int(v)) for i, v in enumerate(event_deaths)]
    if len(ey) != len(ek):
        raise ValueError(f"event_years and event_deaths must have the same length, got {len(ey)} and {len(ek)}")
    labels = list(event_labels) if event_labels is not None else [f"event of {y}" for y in ey]
    if len(labels) != len(ek):
        raise ValueError(f"event_labels must have one label per event ({len(ek)}), got {len(labels)}")
    outside = sorted({y for y in ey if y not in full})
    if outside:
        raise ValueError(f"event_years must lie inside the window {years[0]}–{years[-1]}, got {outside}")
    sizes = np.asarray(ek, float)
    total = float(sum(full.values()))
    phi = compound_poisson_phi(total, ek)
    phi_pairs = compound_poisson_phi(total, ek, unlisted_size=2)
    if len(ek):
        i = int(np.argmax(sizes))
        largest, kmax = labels[i], ek[i]
        phi_wo = compound_poisson_phi(total - kmax, ek[:i] + ek[i + 1:])
    else:
        largest, kmax, phi_wo = "none", 0, phi
    per_year = tuple((y, compound_poisson_phi(full[y], [k for yy, k in zip(ey, ek) if yy == y])) for y in years)
    return ClusterInflation(system=system, label=label, start=years[0], end=years[-1], years=tuple(years),
                            imputed_years=tuple(y for y in years if y not in published), total_deaths=total,
                            n_events=len(ek), event_deaths=int(sizes.sum()), sum_k2=float((sizes**2).sum()),
                            largest_event=largest, largest_deaths=kmax, estimate=phi, phi_without_largest=phi_wo,
                            phi_unlisted_pairs=phi_pairs, per_year=per_year)


@dataclass(frozen=True)
class ShareHomogeneity(Result):
    """Chi-square test that the fatal share is the same in every year of one series (and with clustering)."""

    system: str
    years: tuple[int, ...]
    chi2: float
    df: int
    p_value: float
    pooled_share_pct: float
    min_share_pct: float
    max_share_pct: float
    alpha: float
    phi: float
    p_value_at_phi: float
    label: str = ""
    method: str = HOMOGENEITY
    assumptions: str = "each year's deaths binomial given its injured count; years independent"

    @property
    def verdict(self) -> str:
        same = self.p_value > self.alpha
        share = lambda v: fmt_percent(v, 1, signed=False)  # noqa: E731
        return (
            f"{self.method}, {self.label or self.system} {self.years[0]}–{self.years[-1]} ({len(self.years)} years): "
            f"χ² = {self.chi2:.2f} on {self.df} df, {_ptext(self.p_value)}; shares {share(self.min_share_pct)} to "
            f"{share(self.max_share_pct)} (pooled {share(self.pooled_share_pct)}): "
            + ("no evidence that the fatal share differs between years" if same
               else "the fatal share differs between years by more than binomial noise")
            + (f"; with deaths clustered (χ²/φ, φ = {fmt_number(self.phi)}) {_ptext(self.p_value_at_phi)}."
               if self.phi != 1 else ".")
        )


def share_homogeneity(years, deaths, denominators, alpha: float = 0.05, phi: float = 1.0, system: str = "",
                      label: str = "") -> ShareHomogeneity:
    """Test equal fatal shares deaths/denominators across years; ``phi`` > 1 divides χ² by φ (clustered deaths).

    Parameters
    ----------
    years, deaths, denominators : sequences of equal length (at least 2)
        Deaths are part of the denominator (deaths <= denominator).
    alpha : float
        Significance level.
    phi : float
        Variance inflation of the deaths (compound-Poisson φ); 1 for none.
    system, label : str
        Identifier and display name of the series.

    Returns
    -------
    ShareHomogeneity
    """
    a = validate.alpha("alpha", alpha)
    f = validate.positive("phi", phi)
    ys, k, n = list(years), list(deaths), list(denominators)
    if not len(ys) == len(k) == len(n):
        raise ValueError(f"years, deaths and denominators must have the same length, got {len(ys)}, {len(k)}, "
                         f"{len(n)}")
    if len(ys) < 2:
        raise ValueError(f"years must hold at least 2 years, got {len(ys)}")
    k = np.array([validate.count(f"deaths[{i}]", int(v)) for i, v in enumerate(k)])
    n = np.array([validate.positive_int(f"denominators[{i}]", int(v)) for i, v in enumerate(n)])
    if (k > n).any():
        raise ValueError(f"deaths must not exceed denominators, got {k.tolist()} of {n.tolist()}")
    chi2, p, df, _ = stats.chi2_contingency(np.column_stack([k, n - k]), correction=False)
    share = 100 * k / n
    return ShareHomogeneity(system=system, label=label, years=tuple(int(y) for y in ys), chi2=float(chi2),
                            df=int(df), p_value=float(p), pooled_share_pct=100 * k.sum() / n.sum(),
                            min_share_pct=float(share.min()), max_share_pct=float(share.max()), alpha=a, phi=f,
                            p_value_at_phi=float(stats.chi2.sf(chi2 / f, df)))
