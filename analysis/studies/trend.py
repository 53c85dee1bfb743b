"""Is a reported multi-year decline real? (notebook ``03_five_year_trend``)

A Ministry release says "over the past five years the injury rate fell 6.3%". This study

- finds which quantity the percent describes: the count of people injured, or the Ministry's own rate per 1,000
  workers (published to two decimals);
- tests the change between the window's two end years, exactly and with the over-dispersion the series shows;
- fits the whole series with a straight log-linear trend and with Joinpoint's one-change-of-slope model, selects
  between them by permutation test, and reports what the claim's own window shows under each (average annual
  percent change, with an interval that re-estimates the joinpoint), with the test's power against the fitted break;
- compares the workforce the Ministry's rates imply with the labour-force survey, so a denominator artefact cannot
  carry the verdict;
- shows how each data choice (a conflicting value, a derived year, the first year, counts or rates) moves the answer.

``run(Params(...))`` returns a :class:`TrendResult`; the notebook narrates it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from analysis import data
from analysis.core import validate
from analysis.core.fmt import decimals_of, fmt_count, fmt_number, fmt_percent, fmt_pvalue
from analysis.core.params import ParameterError, param
from analysis.core.params import Params as _Params
from analysis.core.paths import DATA_DIR
from analysis.core.study import Estimate, StudyResult, Verdict
from analysis.stats import joinpoint, window
from analysis.stats.trend import p_text

NAME = "trend"
NOTEBOOK = "03_five_year_trend"
MEASURES = ("count", "rate")
TREND_START = 2015  # the Ministry's annual series has no gaps from 2015 on (2017 and 2023 derived)
AS_ABOVE = "as above (preferred values)"
MINISTER_2024 = 1448  # the 2024 count the Minister said at a government meeting (data/national_annual.csv, F93)
_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}
_VIEWS = {"count": "people injured (count)", "rate_lfs": "rate per 1,000 hired employees (labour-force survey)",
          "rate_ministry": "rate per 1,000 workers implied by the Ministry's rates"}


@dataclasses.dataclass(frozen=True)
class Params(_Params):
    """Parameters of the five-year-trend study (the notebook's ``parameters`` cell mirrors this)."""

    end_year: int = param(2024, "last year of the claim's window", check=validate.positive_int,
                          cli_required=True)  # the claim checker names the window; no silent 2020-2024
    years: int = param(5, "window length in calendar years, endpoints included (2020 to 2024 for the default)",
                       check=validate.positive_int)
    reported_change_pct: float = param(-6.3, "the published change over the window, in percent",
                                       check=validate.pct_change, cli=("--change-pct",))
    measure: str = param("count", "what the claim is tested on: count (people injured) or rate (its percent against "
                                  "the Ministry's rates; trends per labour-force-survey employee)", choices=MEASURES)
    alpha: float = param(0.05, "significance level of every test", check=validate.alpha)
    trend_start: int = param(TREND_START, "first year of the whole-series trend fit (2015 to 2024 has no gaps; "
                                          "earlier years are sparse)", check=validate.positive_int)
    seed: int = param(0, "seed of every Monte Carlo step (permutation test, bootstraps, power simulation)",
                      check=validate.seed)
    n_permutations: int = param(4499, "permutations of the joinpoint test (Joinpoint's default 4499)",
                                check=validate.positive_int)
    n_boot: int = param(999, "bootstrap replicates of the window's average change with the joinpoint re-estimated "
                             "(0 skips them)", check=validate.count)
    n_power: int = param(400, "simulated series for the power of the joinpoint test (0 skips it)",
                         check=validate.count)

    def check(self) -> None:
        """Rules across parameters: a window of at least 2 years that starts at or after ``trend_start``.

        Raises
        ------
        ParameterError
            Naming ``years`` when it is below 2; naming ``trend_start`` (when changed from its default) or else
            ``end_year`` when the window starts before ``trend_start``.
        """
        if self.years < 2:
            raise ParameterError("years", f"years must be at least 2 (a window needs two endpoints), "
                                          f"got {self.years!r}")
        start = self.window_start
        if self.trend_start > start:
            # blame the parameter the user moved: a changed trend_start, otherwise the window
            name = "trend_start" if self.trend_start != TREND_START else "end_year"
            raise ParameterError(name, f"{name}: the window {start}–{self.end_year} ({self.years} years ending in "
                                       f"end_year {self.end_year}) must start at or after trend_start "
                                       f"{self.trend_start}, the first year of the trend fit; got {name} = "
                                       f"{getattr(self, name)!r}")

    @property
    def window_start(self) -> int:
        """First year of the claim's window (end_year − years + 1)."""
        return self.end_year - self.years + 1

    @property
    def direction(self) -> int:
        """The claimed direction: −1 for a fall (or no change), 1 for a rise."""
        return 1 if self.reported_change_pct > 0 else -1

    @property
    def headline_view(self) -> str:
        """The series the trend verdict rests on: the counts, or the rate per labour-force-survey employee."""
        return "count" if self.measure == "count" else "rate_lfs"


# ---------------------------------------------------------------------------------------------- formatting helpers
def formatted(df: pd.DataFrame, spec: dict[str, Callable[[Any], str]]) -> pd.DataFrame:
    """A copy of ``df`` with the columns in ``spec`` turned into text by their formatter (for display)."""
    out = df.copy()
    for col, f in spec.items():
        out[col] = [f(v) for v in out[col]]
    return out


def _pct(v) -> str:
    return fmt_percent(v)


def _yes(v) -> str:
    return "yes" if bool(v) else "no"


def _millions(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v / 1e6:.2f}"


def _years_text(n: int) -> str:
    return _WORDS.get(n, str(n))


def _span(fit) -> str:
    return f"{int(fit.years[0])}–{int(fit.years[-1])}"


def _moved(apc: float, only: str = "") -> str:
    """'fell about 2.2%', 'rose only about 0.4%' (a yearly percent change in words)."""
    return f"{'fell' if apc < 0 else 'rose'} {only}about {fmt_percent(abs(apc), signed=False)}"


def _ci(lo, hi) -> str:
    return f"{fmt_percent(lo)} to {fmt_percent(hi)}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrendResult(StudyResult):
    """Everything notebook 03 shows: consistency, endpoints, straight and joinpoint trends, the claim's window under
    each model, the denominators, the data choices, and the data of its figures."""

    study = NAME
    notebook = NOTEBOOK

    count_view: window.WindowAssessment
    rate_view: window.WindowAssessment  # the rate per Ministry-implied worker (a denominator artefact, see below)
    rate_lfs_view: window.WindowAssessment  # the rate per LFS hired employee (interpolated between survey years)
    trends: dict[str, window.WindowTrend]  # 'count', 'rate_lfs', 'rate_ministry'
    series: pd.Series  # the Ministry's injured counts used (trend_start .. end_year)
    sources: pd.DataFrame
    workers: pd.DataFrame  # Ministry-implied workers (derived, interpolated between published rates)
    denominators: pd.DataFrame
    published_rates: dict[int, float]
    injuries_figure: pd.DataFrame
    conflicting_values: pd.DataFrame
    scenarios: pd.DataFrame

    # ---------------------------------------------------------------- the views the verdict rests on
    @property
    def assessment(self) -> window.WindowAssessment:
        """The view the claim's percent is checked on (``params.measure``): counts, or the Ministry's rates."""
        return self.count_view if self.params.measure == "count" else self.rate_view

    @property
    def trend_view(self) -> window.WindowAssessment:
        """The endpoint and straight-trend view of the headline series (counts, or the rate per LFS employee)."""
        return self.count_view if self.params.measure == "count" else self.rate_lfs_view

    @property
    def window(self) -> window.WindowTrend:
        """The joinpoint view of the headline series."""
        return self.trends[self.params.headline_view]

    def results(self) -> dict[str, Any]:
        """The study's detailed results for the results JSON.

        Returns
        -------
        dict
            The assessment's ``to_dict()``, plus ``count_view``, ``rate_view``, ``rate_lfs_view``, ``joinpoint`` (a summary
            per series), ``joinpoint_headline``, ``window_trend``, ``denominators``, ``denominator_check`` and
            ``scenarios``.
        """
        out = self.assessment.to_dict()
        out["count_view"] = self.count_view.to_dict()
        out["rate_view"] = self.rate_view.to_dict()
        out["rate_lfs_view"] = self.rate_lfs_view.to_dict()
        out["joinpoint"] = {k: _trend_summary(v) for k, v in self.trends.items()}
        out["joinpoint_headline"] = self.params.headline_view
        out["window_trend"] = self.window.to_dict()
        out["denominators"] = self.denominators
        out["denominator_check"] = self.denominator_check
        out["scenarios"] = self.scenarios
        return out

    # ---------------------------------------------------------------- text the notebook shows
    @property
    def quantity_note(self) -> str:
        c, r, p = self.count_view, self.rate_view, self.params
        said = fmt_percent(p.reported_change_pct, decimals_of(p.reported_change_pct))
        lines = [
            f"* **Counts** of people injured: {fmt_count(c.start_value)} in {c.start_year} → "
            f"{fmt_count(c.end_value)} in {c.end_year} = **{fmt_percent(c.change_pct)}** (claim {said}: "
            f"{'matches' if c.consistent else 'does not match'}).",
            f"* **The Ministry's rate** per 1,000 workers: {fmt_number(r.start_value, 2)} → "
            f"{fmt_number(r.end_value, 2)} = **{fmt_percent(r.change_pct)}** "
            f"({'matches' if r.consistent else 'does not match'}).",
        ]
        if c.rate_change_range:
            lo, hi = c.rate_change_range
            lines.append(f"* Published to two decimals, the rates allow a change from {fmt_percent(lo)} to "
                         f"{fmt_percent(hi)}: {'the claim is within' if c.rate_consistent else 'the claim is outside'}"
                         " that range.")
        if c.consistent and not r.consistent:
            lines.append(f"\nSo the release's \"injury rate\" is, arithmetically, the **count** of people injured: "
                         f"{said} is the count's change, not the rate's.")
        return "\n".join(lines)

    @property
    def endpoint_note(self) -> str:
        a, p = self.trend_view, self.params
        lv = f"{round(100 * (1 - p.alpha), 6):g}%"
        what = "count" if p.measure == "count" else "rate per labour-force-survey employee"
        return (f"Between the two end years the {what} changed **{fmt_percent(a.change_pct)}** ({lv} CI "
                f"{_ci(*a.change_pct_ci)}, exact test {p_text(a.p_value_endpoint_exact)}). Allowing for the "
                f"year-to-year scatter of the whole series (over-dispersion φ = {fmt_number(a.dispersion, 3)}), the "
                f"interval is {_ci(*a.change_pct_ci_overdispersed)} ({p_text(a.p_value_endpoint_overdispersed)}, "
                f"{a.endpoint_reference} reference because φ is estimated from the series). "
                "Two years alone are a weak test: the sections below use every year.")

    @property
    def joinpoint_note(self) -> str:
        w = self.window
        t = w.test
        if t is None:
            return (f"With {len(w.straight.years)} years Joinpoint considers no change of slope: only the straight "
                    "line is fitted.")
        jp_year = ", ".join(f"{v:g}" for v in w.broken.joinpoints)
        seg = w.broken.segments
        s = (f"The best model with one change of slope puts it at **{jp_year}**: "
             + "; ".join(f"{x.start:g}–{x.end:g} **{fmt_percent(x.estimate)} a year** ({_ci(*x.ci)})" for x in seg)
             + f". Is that change real? The permutation test (Kim et al. 2000; {t.n_permutations:,} permutations, "
             f"seed {t.seed}) gives {p_text(t.p_value)} (Monte Carlo error ± {fmt_number(t.mc_se, 2)}; the "
             f"negative-binomial bootstrap version gives {p_text(w.bootstrap_test.p_value)}). ")
        s += ("Joinpoint's rule therefore **selects one joinpoint**." if w.break_selected else
              "Joinpoint's rule therefore **keeps the straight line**.")
        if w.power is not None:
            pw = w.power
            s += (f" But the test is weak at this size: if the pace really changed as the fitted model says, it "
                  f"would notice only about **{fmt_percent(100 * pw.estimate, 0, signed=False)}** of the time "
                  f"(simulation, {pw.n_series} series, Monte Carlo 95% CI "
                  f"{fmt_percent(100 * pw.ci[0], 0, signed=False)} to {fmt_percent(100 * pw.ci[1], 0, signed=False)})"
                  + (", so keeping the straight line does not show that the pace stayed the same."
                     if pw.estimate < 0.8 else "."))
        return s

    @property
    def window_note(self) -> str:
        w, p = self.window, self.params
        yrs = f"{p.window_start}–{p.end_year}"
        s = (f"Over the claim's own years {yrs}, the straight line gives **{fmt_percent(w.aapc_straight.estimate)} a "
             f"year** ({_ci(*w.aapc_straight.ci)}): but that is the whole decade's slope, borrowed by the window.")
        if w.aapc_broken is not None:
            b = w.aapc_broken
            s += (f" Letting the pace change once gives **{fmt_percent(b.estimate)} a year** ({_ci(*b.ci)} with the "
                  f"joinpoint held at {', '.join(f'{v:g}' for v in b.joinpoints)}"
                  + (f"; {_ci(*b.ci_boot)} when the bootstrap re-estimates it" if b.ci_boot is not None else "")
                  + f"), or {fmt_percent(b.cumulative)} over the window.")
        shows = {"all": "a clear", "some": "a clear", "none": "no clear"}[w.support]
        change = "decline" if p.direction < 0 else "rise"
        s += (f"\n\n**What the window shows:** {shows} {change} under "
              + {"all": "every model the data leave standing.",
                 "some": "the straight line only; with a change of pace, which the test cannot rule out, the "
                         "window's own slope is compatible with no change.",
                 "none": "any model the data leave standing."}[w.support])
        return s

    @property
    def denominator_check(self) -> dict[str, Any]:
        """The largest step between two published Ministry rates, against the survey's hired employees."""
        d = self.denominators.dropna(subset=["workers implied by the Ministry's rate"])
        if len(d) < 2:
            return {}
        rows = []
        for (_, a), (_, b) in zip(d.iloc[:-1].iterrows(), d.iloc[1:].iterrows(), strict=True):
            implied = b["workers implied by the Ministry's rate"] / a["workers implied by the Ministry's rate"] - 1
            lfs = b["hired employees (LFS)"] / a["hired employees (LFS)"] - 1
            rows.append((abs(implied - lfs), int(a["year"]), int(b["year"]), a, b, implied, lfs))
        _, y0, y1, a, b, implied, lfs = max(rows, key=lambda r: r[0])
        ratio = d["workers implied by the Ministry's rate"] / d["hired employees (LFS)"]
        return {"from_year": y0, "to_year": y1,
                "implied_from": float(a["workers implied by the Ministry's rate"]),
                "implied_to": float(b["workers implied by the Ministry's rate"]),
                "implied_growth_pct": 100 * implied,
                "lfs_from": float(a["hired employees (LFS)"]), "lfs_to": float(b["hired employees (LFS)"]),
                "lfs_growth_pct": 100 * lfs, "lfs_interpolated": bool(a["LFS value interpolated"]
                                                                     or b["LFS value interpolated"]),
                "ratio_min": float(ratio.min()), "ratio_max": float(ratio.max()),
                "ratio_min_year": int(d.loc[ratio.idxmin(), "year"]),
                "ratio_max_year": int(d.loc[ratio.idxmax(), "year"])}

    @property
    def denominator_note(self) -> str:
        c = self.denominator_check
        if not c:
            return "Fewer than two published Ministry rates in these years: no denominator comparison."
        t = self.trends
        s = (f"The workers implied by the Ministry's rounded rates jump from **{_millions(c['implied_from'])} million "
             f"in {c['from_year']} to {_millions(c['implied_to'])} million in {c['to_year']}** "
             f"({fmt_percent(c['implied_growth_pct'])}), while the labour-force survey's hired employees go from "
             f"{_millions(c['lfs_from'])} to {_millions(c['lfs_to'])} million ({fmt_percent(c['lfs_growth_pct'])}"
             + (", interpolated between survey years" if c["lfs_interpolated"] else "") + "). The implied workforce "
             f"is {fmt_number(100 * c['ratio_min'], 2)}% of the survey's hired employees in {c['ratio_min_year']} "
             f"and {fmt_number(100 * c['ratio_max'], 3)}% in {c['ratio_max_year']}: it does not fit the survey, so part "
             "of the fall in the Ministry's rate comes from its denominator, not from fewer injuries per worker.")
        m, lfs = t["rate_ministry"], t["rate_lfs"]
        s += (f"\n\nOn the Ministry's implied workforce the rate falls "
              f"{fmt_percent(abs(m.straight.segments[0].estimate), signed=False)} a year")
        if m.test is not None:
            s += f" and the change of slope looks significant ({p_text(m.test.p_value)})"
        s += (f"; per survey employee it falls {fmt_percent(abs(lfs.straight.segments[0].estimate), signed=False)} a "
              "year")
        if lfs.test is not None:
            s += (f", with a change of slope test {p_text(lfs.test.p_value)}: the survey's workforce, interpolated "
                  "between a few rounded survey years, grows faster before 2017 than after, which adds to the "
                  "counts' own slowdown")
        s += (". The verdict therefore never rests on the Ministry's implied workforce: it uses the counts"
              + ("" if self.params.measure == "count" else " and the rate per survey employee") + ".")
        return s

    @property
    def revision_note(self) -> str:
        """How this edition's reading differs from the first (endpoints and the straight decade trend only)."""
        w, p = self.window, self.params
        s = (f"*Change from the first edition.* The first edition judged the claim by the two end years and one "
             f"straight trend ({fmt_percent(w.aapc_straight.estimate)} a year over "
             f"{int(w.straight.years[0])}–{int(w.straight.years[-1])}) and read the {_years_text(p.years)}-year "
             "figure as consistent with the decade's decline.")
        if w.aapc_broken is not None:
            b = w.aapc_broken
            lo, hi = b.ci_boot if b.ci_boot is not None else b.ci
            s += (f" This edition adds the joinpoint view of the claim's own years: the key estimate moves from the "
                  f"decade's {fmt_percent(w.aapc_straight.estimate)} a year to {fmt_percent(b.estimate)} a year "
                  f"({_ci(lo, hi)}) over {p.window_start}–{p.end_year}, and the label is *{self.verdict.label}*.")
        return s

    # ---------------------------------------------------------------- tables (numbers; plain-English headers)
    @property
    def selection_table(self) -> pd.DataFrame:
        rows = []
        for key, w in self.trends.items():
            t = w.test
            rows.append({"series": _VIEWS[key],
                         "best joinpoint": None if w.broken is None else w.broken.joinpoints[0],
                         "F statistic": None if t is None else t.statistic,
                         "permutation p-value": None if t is None else t.p_value,
                         "Monte Carlo error": None if t is None else t.mc_se,
                         "bootstrap p-value": None if w.bootstrap_test is None else w.bootstrap_test.p_value,
                         "selected model": "one joinpoint" if w.break_selected else "straight line",
                         "power against the fitted break": None if w.power is None else w.power.estimate})
        return pd.DataFrame(rows)

    @property
    def segments_table(self) -> pd.DataFrame:
        f = self.window.segments_frame()
        return f.rename(columns={"model": "model", "start": "from", "end": "to", "apc": "yearly change (%)",
                                 "ci_low": "95% CI low (%)", "ci_high": "95% CI high (%)", "p_value": "p-value"})

    @property
    def window_table(self) -> pd.DataFrame:
        w, p = self.window, self.params
        rows = [("straight line", "delta method", w.aapc_straight.estimate, *w.aapc_straight.ci,
                 w.aapc_straight.cumulative, *w.aapc_straight.cumulative_ci)]
        if w.aapc_broken is not None:
            b = w.aapc_broken
            rows.append(("one joinpoint", "delta method, joinpoint held fixed", b.estimate, *b.ci, b.cumulative,
                         *b.cumulative_ci))
            if b.ci_boot is not None:
                rows.append(("one joinpoint", f"bootstrap, joinpoint re-estimated ({b.n_boot:,} replicates)",
                             b.estimate, *b.ci_boot, b.cumulative, *b.cumulative_ci_boot))
        a = self.trend_view
        rows.append(("none (the two end years only)", "exact test of the two counts", None, None, None,
                     a.change_pct, *a.change_pct_ci))
        return pd.DataFrame(rows, columns=[
            "trend model", "interval", f"yearly change {p.window_start}–{p.end_year} (%)", "95% CI low (%)",
            "95% CI high (%)", "change over the window (%)", "window 95% CI low (%)", "window 95% CI high (%)"])

    @property
    def models_table(self) -> pd.DataFrame:
        names = {"poisson": "Poisson", "quasi-poisson": "quasi-Poisson (headline)", "negbin": "negative binomial"}
        return pd.DataFrame([{"model": names[m], "yearly change (%)": v["apc"], "95% CI low (%)": v["ci"][0],
                              "95% CI high (%)": v["ci"][1], "p-value": v["p_value"]}
                             for m, v in self.trend_view.apc_by_model.items()])

    def display(self, name: str) -> pd.DataFrame:
        """A table as the report shows it: numbers formatted by ``analysis.core.fmt``."""
        pct = _pct
        spec = {
            "sources": {"value": lambda v: fmt_number(v, 2) if v < 10 else fmt_count(v), "preferred value": _yes,
                        "derived": _yes},
            "selection": {"best joinpoint": lambda v: "" if v is None or pd.isna(v) else f"{v:g}",
                          "F statistic": lambda v: fmt_number(v, 3), "permutation p-value": fmt_pvalue,
                          "Monte Carlo error": lambda v: fmt_number(v, 2), "bootstrap p-value": fmt_pvalue,
                          "power against the fitted break": lambda v: "" if v is None or pd.isna(v) else
                          fmt_percent(100 * v, 0, signed=False)},
            "segments": {"from": lambda v: f"{v:g}", "to": lambda v: f"{v:g}", "yearly change (%)": pct,
                         "95% CI low (%)": pct, "95% CI high (%)": pct, "p-value": fmt_pvalue},
            "window": {c: pct for c in self.window_table.columns[2:]},
            "models": {"yearly change (%)": pct, "95% CI low (%)": pct, "95% CI high (%)": pct,
                       "p-value": fmt_pvalue},
            "denominators": {"people injured": fmt_count,
                             "Ministry rate per 1,000": lambda v: "" if pd.isna(v) else fmt_number(v, 2),
                             "workers implied by the Ministry's rate": _millions,
                             "implied, lowest the rounding allows": _millions,
                             "implied, highest the rounding allows": _millions,
                             "hired employees (LFS)": _millions, "LFS value interpolated": _yes,
                             "employed (LFS)": _millions,
                             "implied ÷ LFS hired employees": lambda v: "" if pd.isna(v) else fmt_number(v, 3)},
            "scenarios": {"change over the window (%)": pct, "end-year test p (Poisson)": fmt_pvalue,
                          "end-year test p (over-dispersed)": fmt_pvalue, "dispersion φ": lambda v: fmt_number(v, 3),
                          "straight trend (% a year)": pct, "95% CI low (%)": pct, "95% CI high (%)": pct,
                          "straight trend p": fmt_pvalue,
                          "joinpoint at": lambda v: "" if v is None or pd.isna(v) else f"{v:g}",
                          "window, one joinpoint (% a year)": lambda v: "" if v is None or pd.isna(v) else pct(v)},
        }[name]
        df = self.tables()[name]
        if name == "denominators":
            df = df.drop(columns=["source ids"])
        out = formatted(df, spec)
        if name == "denominators":
            out = out.rename(columns={c: c + " (millions)" for c in (
                "workers implied by the Ministry's rate", "implied, lowest the rounding allows",
                "implied, highest the rounding allows", "hired employees (LFS)", "employed (LFS)")})
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """The study's tables (numbers, not text), exported as CSV beside the report.

        Returns
        -------
        dict of str to pandas.DataFrame
            ``sources``, ``selection``, ``segments``, ``window``, ``models``, ``denominators`` and ``scenarios``, by file
            stem; :meth:`display` formats them for the page.
        """
        return {"sources": self.sources, "selection": self.selection_table, "segments": self.segments_table,
                "window": self.window_table, "models": self.models_table, "denominators": self.denominators,
                "scenarios": self.scenarios}

    # ---------------------------------------------------------------- figure data and alternative text
    @property
    def trend_figure(self) -> pd.DataFrame:
        """Observed values with the straight and one-joinpoint fits (counts, or rates per 1,000 survey employees)."""
        w = self.window
        years = np.asarray(w.straight.years, dtype=float)
        scale = 1.0 if w.straight.exposure is None else 1000 / np.asarray(w.straight.exposure)
        out = pd.DataFrame({"year": years.astype(int), "observed": np.asarray(w.straight.counts) * scale,
                            "straight line": np.asarray(w.straight.fitted) * scale})
        if w.broken is not None:
            out["one joinpoint"] = np.asarray(w.broken.fitted) * scale
        return out

    @property
    def trend_ylabel(self) -> str:
        return ("People injured at work (count)" if self.params.measure == "count" else
                "Injured per 1,000 hired employees (LFS)")

    @property
    def injuries_alt(self) -> str:
        f = self.injuries_figure
        first, last = f.iloc[0], f.iloc[-1]
        derived = ", ".join(str(y) for y in f.loc[f["status"] != "published", "year"]) or "none"
        alt = (f"Dot-and-line chart of the Ministry's count of people injured at work per year, {first['year']}–"
               f"{last['year']}: {fmt_count(first['injured'])} in {first['year']}, {fmt_count(last['injured'])} in "
               f"{last['year']}. Derived (not published) years: {derived}.")
        if len(self.conflicting_values):
            alt += " Conflicting published values not used: " + ", ".join(
                f"{fmt_count(v)} in {y}" for y, v in zip(self.conflicting_values["year"],
                                                          self.conflicting_values["value"], strict=True)) + "."
        return alt

    @property
    def trend_alt(self) -> str:
        w, p = self.window, self.params
        s = (f"Chart of the {'counts' if p.measure == 'count' else 'rates'} {int(w.straight.years[0])}–"
             f"{int(w.straight.years[-1])} with the straight trend ({fmt_percent(w.straight.segments[0].estimate)} a "
             "year)")
        if w.broken is not None:
            seg = w.broken.segments
            s += (f" and the one-joinpoint trend ({fmt_percent(seg[0].estimate)} a year to {seg[0].end:g}, then "
                  f"{fmt_percent(seg[1].estimate)} a year)")
        return s + f"; the claim's window {p.window_start}–{p.end_year} is shaded."

    @property
    def denominators_figure(self) -> pd.DataFrame:
        """Workforce series in millions, long format: year, series, millions, low, high (rounding range of the
        implied workers), published (False for interpolated survey years)."""
        d = self.denominators
        parts = []
        imp = d.dropna(subset=["workers implied by the Ministry's rate"])
        parts.append(pd.DataFrame({"year": imp["year"], "series": "workers implied by the Ministry's rate",
                                   "millions": imp["workers implied by the Ministry's rate"] / 1e6,
                                   "low": imp["implied, lowest the rounding allows"] / 1e6,
                                   "high": imp["implied, highest the rounding allows"] / 1e6, "published": True}))
        parts.append(pd.DataFrame({"year": d["year"], "series": "hired employees (labour-force survey)",
                                   "millions": d["hired employees (LFS)"] / 1e6, "low": np.nan, "high": np.nan,
                                   "published": ~d["LFS value interpolated"].astype(bool)}))
        emp = d.dropna(subset=["employed (LFS)"])
        parts.append(pd.DataFrame({"year": emp["year"], "series": "employed persons (labour-force survey)",
                                   "millions": emp["employed (LFS)"] / 1e6, "low": np.nan, "high": np.nan,
                                   "published": True}))
        return pd.concat(parts, ignore_index=True)

    @property
    def denominators_alt(self) -> str:
        c = self.denominator_check
        if not c:
            return "Chart of the labour-force survey's hired employees and employed persons, in millions."
        return (f"Chart of workforce figures in millions: workers implied by the Ministry's rates jump from "
                f"{_millions(c['implied_from'])} ({c['from_year']}) to {_millions(c['implied_to'])} "
                f"({c['to_year']}); the survey's hired employees rise only from {_millions(c['lfs_from'])} to "
                f"{_millions(c['lfs_to'])}; employed persons stay near 9 million.")


def _trend_summary(w: window.WindowTrend) -> dict[str, Any]:
    """The headline numbers of one series' joinpoint view (the full object is in ``window_trend``)."""
    t = w.test
    b = w.aapc_broken
    return {"straight_apc": w.straight.segments[0].estimate, "straight_apc_ci": list(w.straight.segments[0].ci),
            "dispersion": w.straight.scale,
            "joinpoint": None if w.broken is None else list(w.broken.joinpoints),
            "segment_apcs": None if w.broken is None else [s.estimate for s in w.broken.segments],
            "segment_apc_cis": None if w.broken is None else [list(s.ci) for s in w.broken.segments],
            "p_value_permutation": None if t is None else t.p_value, "mc_se": None if t is None else t.mc_se,
            "p_value_bootstrap": None if w.bootstrap_test is None else w.bootstrap_test.p_value,
            "selected_joinpoints": w.selection.n_joinpoints,
            "aapc_window_straight": w.aapc_straight.estimate, "aapc_window_straight_ci": list(w.aapc_straight.ci),
            "aapc_window_joinpoint": None if b is None else b.estimate,
            "aapc_window_joinpoint_ci": None if b is None else list(b.ci),
            "aapc_window_joinpoint_ci_boot": None if b is None or b.ci_boot is None else list(b.ci_boot),
            "cumulative_window_joinpoint": None if b is None else b.cumulative,
            "cumulative_window_joinpoint_ci": None if b is None else list(b.cumulative_ci),
            "power": None if w.power is None else w.power.estimate,
            "power_ci": None if w.power is None else list(w.power.ci),
            "support": w.support, "defensible": list(w.defensible)}


# ---------------------------------------------------------------------------------------------------------- data
def ministry_series(p: Params, data_dir=DATA_DIR) -> pd.Series:
    """The Ministry's annual injured counts from ``trend_start`` to ``end_year`` (2017 and 2023 derived)."""
    s = data.national_series("ministry", "injured", data_dir=data_dir)
    years = [int(y) for y in s.index]
    for name, y in (("end_year", p.end_year), ("years", p.window_start)):
        if y not in years:
            what = "end_year" if name == "end_year" else f"years = {p.years} puts the window start at"
            raise ParameterError(name, f"{what} {y} has no Ministry annual count; available: {years}")
    return s[(s.index >= p.trend_start) & (s.index <= p.end_year)]


def lfs_workforce(years, data_dir=DATA_DIR) -> pd.DataFrame:
    """Labour-force-survey hired employees and employed persons (Kazakhstan, annual) for each year.

    A year without an annual survey figure gets the log-linear interpolation between the nearest survey years (flat
    beyond them), flagged. Columns: year, hired employees (LFS), LFS value interpolated, employed (LFS), source ids.
    """
    periods = sorted({str(v) for v in data.load_workforce(data_dir)["period"] if len(str(v)) == 4})

    def published(measure):  # annual survey figures, through the loader's one LFS filter
        out = {}
        for period in periods:
            try:
                out[int(period)] = data.workforce_value(period, measure, data_dir=data_dir)
            except ValueError:
                continue
        return out

    hired, employed = published("hired_employees"), published("employed")
    if not hired:
        raise ValueError("data/workforce.csv has no annual LFS hired_employees figure for Kazakhstan")

    def interp(table, y):
        ys = np.array(sorted(table), dtype=float)
        return float(np.exp(np.interp(y, ys, np.log([table[int(k)][0] for k in ys]))))

    rows = []
    for y in (int(v) for v in years):
        rows.append({"year": y, "hired employees (LFS)": hired[y][0] if y in hired else interp(hired, y),
                     "LFS value interpolated": y not in hired,
                     "employed (LFS)": employed[y][0] if y in employed else np.nan,
                     "source ids": ", ".join(t[y][1] for t in (hired, employed) if y in t)})
    return pd.DataFrame(rows)


def denominator_table(series: pd.Series, rates: dict[int, float], lfs: pd.DataFrame) -> pd.DataFrame:
    """Workers implied by each published Ministry rate (injured / rate × 1,000, with the range its two-decimal
    rounding allows) beside the survey's hired employees and employed persons."""
    rows = []
    for y, c in series.items():
        y = int(y)
        r = rates.get(y)
        implied = np.nan if r is None else float(c) / r * 1000
        lo = np.nan if r is None else float(c) / (r + 0.005) * 1000
        hi = np.nan if r is None else float(c) / (r - 0.005) * 1000
        rows.append({"year": y, "people injured": int(c), "Ministry rate per 1,000": np.nan if r is None else r,
                     "workers implied by the Ministry's rate": implied, "implied, lowest the rounding allows": lo,
                     "implied, highest the rounding allows": hi})
    out = pd.DataFrame(rows).merge(lfs, on="year", how="left")
    out["implied ÷ LFS hired employees"] = out["workers implied by the Ministry's rate"] / out["hired employees (LFS)"]
    return out


def _scenarios(p: Params, series: pd.Series, rate_map: dict, lfs_hired: pd.Series, implied, views: dict,
               data_dir) -> pd.DataFrame:
    """One row per data choice; ``views`` holds the assessments already computed (by label)."""
    variants = [(AS_ABOVE, series, "count", None)]
    if p.end_year == 2024 and 2024 in series.index:
        s1448 = series.copy()
        s1448[2024] = MINISTER_2024
        variants.append((f"2024 = {MINISTER_2024:,} (Minister)", s1448, "count", None))
    if 2023 in series.index and p.window_start != 2023 and p.end_year != 2023:
        variants.append(("without derived 2023", series.drop(2023), "count", None))
    full = data.national_series("ministry", "injured", data_dir=data_dir)
    full = full[full.index <= p.end_year]
    variants.append((f"all years {int(full.index.min())}–{p.end_year}", full, "count", None))
    variants.append(("rates per 1,000 hired employees (LFS)", series, "rate",
                     lfs_hired.reindex(series.index).to_numpy()))
    variants.append(("rates per 1,000 workers implied by the Ministry", series, "rate", implied))
    rows = []
    for label, s, meas, w in variants:
        v = views.get(label) or window.assess_window(s.index, s.values, p.end_year, p.years, p.reported_change_pct,
                                                     meas, workers=w, rates=rate_map, alpha=p.alpha)
        jp_at = aapc = None
        try:
            fit = joinpoint.fit_joinpoint(s.to_numpy(), s.index.to_numpy(), exposure=w, n_joinpoints=1,
                                          alpha=p.alpha)
            jp_at, aapc = fit.joinpoints[0], fit.aapc(p.window_start, p.end_year).estimate
        except ValueError:
            pass  # too few years for a joinpoint
        rows.append({"data choice": label, "change over the window (%)": v.change_pct,
                     "end-year test p (Poisson)": v.p_value_endpoint_exact,
                     "end-year test p (over-dispersed)": v.p_value_endpoint_overdispersed,
                     "dispersion φ": v.dispersion, "straight trend (% a year)": v.apc, "95% CI low (%)": v.apc_ci[0],
                     "95% CI high (%)": v.apc_ci[1], "straight trend p": v.p_value_trend, "joinpoint at": jp_at,
                     "window, one joinpoint (% a year)": aapc})
    return pd.DataFrame(rows)


def _sources(p: Params, data_dir) -> pd.DataFrame:
    a = data.load_national_annual(data_dir)
    rows = a[(a["system"] == "ministry") & a["measure"].isin(["injured", "rate_per_1000"])
             & (a["year"] >= p.trend_start) & (a["year"] <= p.end_year)].copy()
    src = data.load_sources(data_dir).set_index("source_id")
    rows["publisher"] = rows["source_id"].map(src["publisher"])
    rows["url"] = rows["source_id"].map(src["url"])
    rows["measure"] = rows["measure"].map({"injured": "people injured", "rate_per_1000": "rate per 1,000 workers"})
    rows = rows.sort_values(["measure", "year"])[
        ["year", "measure", "value", "preferred", "derived", "formula", "publisher", "url"]].reset_index(drop=True)
    return rows.rename(columns={"preferred": "preferred value", "derived": "derived", "formula": "arithmetic",
                                "url": "link"})


def _figure_data(p: Params, series: pd.Series, data_dir):
    """The counts with their status, judged on the Ministry's own preferred row of each year (a derived row of the
    other system in the same year does not make a published count derived), and the conflicting values."""
    a = data.load_national_annual(data_dir)
    own = a[(a["system"] == "ministry") & (a["measure"] == "injured") & a["preferred"]].set_index("year")
    status = ["derived from a published percent" if bool(own.loc[y, "derived"]) else "published"
              for y in series.index]
    fig = pd.DataFrame({"year": series.index.astype(int), "injured": series.values, "status": status})
    alt = a[(a["system"] == "ministry") & (a["measure"] == "injured") & ~a["preferred"]
            & (a["year"] <= p.end_year) & (a["year"] >= p.trend_start)]
    alt = alt[~alt["value"].isin(series.values)][["year", "value"]].reset_index(drop=True)
    return fig, alt


# ---------------------------------------------------------------------------------------------------------- words
def title(p: Params) -> str:
    """The report's title, a question naming the claim tested.

    Parameters
    ----------
    p : Params
        The trend study's parameters.

    Returns
    -------
    str
        The title.
    """
    direction = "fall" if p.reported_change_pct < 0 else "rise"
    return (f"Did the injury rate really {direction} {abs(p.reported_change_pct):g}% over "
            f"{_years_text(p.years)} years?")


def claim_text(p: Params, data_dir=DATA_DIR) -> str:
    """The claim in words, quoting the release when the data hold it."""
    a = data.load_national_annual(data_dir, include_derived=False)
    rows = a[(a["measure"] == f"injured_pct_change_{p.years}y") & (a["year"] == p.end_year)
             & (a["value"] == p.reported_change_pct)]
    verb = "fell" if p.reported_change_pct < 0 else "rose"
    said = (f"the injury rate {verb} "
            f"{fmt_percent(abs(p.reported_change_pct), decimals_of(p.reported_change_pct), signed=False)} over "
            f"{_years_text(p.years)} years ({p.window_start}–{p.end_year})")
    if len(rows):
        src = data.load_sources(data_dir).set_index("source_id").loc[rows["source_id"].iloc[0]]
        return f"**Claim.** {src['publisher']} reported that {said}: “{src['quote']}”."
    return f"**Claim (as given in the parameters).** {said[0].upper() + said[1:]}."


def _verdict(p: Params, r: TrendResult) -> Verdict:
    a, c, w = r.assessment, r.count_view, r.window
    yrs = f"{p.window_start}–{p.end_year}"
    said = fmt_percent(p.reported_change_pct, decimals_of(p.reported_change_pct))
    change = "decline" if p.direction < 0 else "rise"
    quantity = "count of people injured" if p.measure == "count" else "Ministry's injury rate"
    b = w.aapc_broken
    key_aapc = b if b is not None else w.aapc_straight
    lo, hi = key_aapc.ci_boot if key_aapc.ci_boot is not None else key_aapc.ci
    key = Estimate(f"average yearly change {yrs}, trend allowed to change pace", key_aapc.estimate, lo, hi, None,
                   ("one-joinpoint quasi-Poisson model, average annual percent change (Clegg et al. 2009), "
                    + ("joinpoint re-estimated by residual bootstrap" if key_aapc.ci_boot is not None else
                       "delta-method interval")) if b is not None else "straight log-linear quasi-Poisson trend",
                   note=("Joinpoint's selection keeps the straight line, which gives "
                         f"{fmt_percent(w.aapc_straight.estimate)} a year" if b is not None and not w.break_selected
                         else ""), unit="%")
    tech = [a.verdict]
    if p.measure == "rate":
        tech.append(f"Trends are of the rate per labour-force-survey employee: {r.rate_lfs_view.verdict}")
    tech.append(w.verdict)
    tech.append(r.denominator_note.replace("**", "").replace("\n\n", " "))

    if not a.consistent:
        label = "inconsistent"
        headline = (f"The published {said} does not match the {quantity} {yrs} ({fmt_percent(a.change_pct)})"
                    + ("; it matches the count of people injured." if p.measure == "rate" and c.consistent else "."))
    else:
        label = {"all": "supported", "some": "fragile", "none": "not supported"}[w.support]
        headline = {
            "supported": f"The {said} matches the {quantity}, and the {change} over {yrs} is clear whether or not "
                         "the trend changed pace.",
            "fragile": f"The {said} matches the {quantity} and the longer {change} is real, but the years {yrs} show "
                       f"no clear {change} of their own.",
            "not supported": f"The {said} matches the {quantity}, but the years {yrs} show no clear {change}.",
        }[label]
        if label == "fragile" and not w.clear_straight:
            headline = (f"The {said} matches the {quantity}, but the {change} over {yrs} is clear only if the trend "
                        "changed pace.")
    # the plain summary: at most three sentences, no statistical jargon
    counts_text = f"{fmt_count(c.start_value)} in {p.window_start}, {fmt_count(c.end_value)} in {p.end_year}"
    rates_text = (f"{fmt_number(r.rate_view.start_value, 2)} in {p.window_start}, "
                  f"{fmt_number(r.rate_view.end_value, 2)} in {p.end_year}")
    if p.measure == "count" and c.consistent:
        first = (f"The published {said} matches the number of people injured ({counts_text})"
                 + (", not the Ministry's own injury rate per 1,000 workers." if not r.rate_view.consistent else "."))
    elif p.measure == "count":
        first = (f"The published {said} does not match the number of people injured ({counts_text}, a change of "
                 f"{fmt_percent(c.change_pct)}).")
    elif a.consistent:
        first = f"The published {said} matches the Ministry's own injury rate per 1,000 workers ({rates_text})."
    else:
        first = (f"The published {said} does not match the Ministry's own injury rate per 1,000 workers "
                 f"({rates_text}), " + ("but it matches the number of people injured." if c.consistent else
                                        f"nor the number of people injured ({counts_text})."))
    st = w.straight.segments[0]
    noun = "count" if p.measure == "count" else "rate per survey employee"
    if b is not None:
        s0, s1 = w.broken.segments
        later_clear = window.clear(*s1.ci, p.direction)
        second = (f"Over {_span(w.straight)} the {noun} {_moved(st.estimate)} a year"
                  + (f", but most of that came in {s0.start:g}–{s0.end:g} (about "
                     f"{fmt_percent(abs(s0.estimate), signed=False)} a year); from "
                     f"{s1.start:g} it {_moved(s1.estimate, 'only ')} a year, which chance alone could produce."
                     if not later_clear else
                     f", and after {s1.start:g} it still {_moved(s1.estimate)} a year."))
    else:
        second = f"Over {_span(w.straight)} the {noun} {_moved(st.estimate)} a year."
    third = {"supported": f"So the {change} over {yrs} holds.",
             "fragile": f"{_years_text(len(r.series)).capitalize()} yearly counts cannot tell whether the {change} "
                        f"went on or levelled off, so the {_years_text(p.years)}-year {change} is not clearly "
                        "established on its own.",
             "not supported": f"So the data do not show a clear {change} over {yrs}.",
             "inconsistent": "At least one of the published figures, or the claim's wording, is wrong."}[label]
    if label == "inconsistent":
        would = (f"Only figures that reproduce the published {said}: the counts give {fmt_percent(c.change_pct)} and "
                 f"the Ministry's rates {fmt_percent(r.rate_view.change_pct)} over {yrs}; another window, end year or "
                 "quantity would have to be meant.")
    else:
        would = (f"More years of counts after {p.end_year} would tell whether the {change} went on or levelled off")
        if w.power is not None:
            would += (f"; today's test notices a change of pace of the fitted size only about "
                      f"{fmt_percent(100 * w.power.estimate, 0, signed=False)} of the time")
        if p.end_year == 2024 and p.measure == "count":
            alt = 100 * (MINISTER_2024 / c.start_value - 1)
            would += (f". With the Minister's {fmt_count(MINISTER_2024)} for 2024 instead of "
                      f"{fmt_count(c.end_value)}, the window's change would be {fmt_percent(alt)}"
                      + (" and no longer match" if round(alt, decimals_of(p.reported_change_pct))
                         != p.reported_change_pct else ""))
        would += "."
    return Verdict(label=label, headline=headline, summary=" ".join([first, second, third]),
                   technical=" ".join(tech), key=key, would_change=would)


def _caveats(p: Params, r: TrendResult) -> tuple[str, ...]:
    n = len(r.series)
    out = [f"{_years_text(n).capitalize() if n <= 10 else n} annual counts are few: the dispersion estimate, the "
           "joinpoint's location and every interval are uncertain, and the test of a change of pace is weak "
           "(see its power above).",
           "Years are assumed independent around the trend; 2020 (the pandemic year) and the 2022 administrative "
           "reform are not modelled separately.",
           "Workforce figures are approximate: the survey's hired employees are published for a few years and "
           "interpolated in between; the Ministry's implied workforce is derived from rates rounded to two decimals "
           "and does not fit the survey."]
    derived = r.injuries_figure.loc[r.injuries_figure["status"] != "published", "year"].tolist()
    if derived:
        out.append(f"Derived counts ({', '.join(str(y) for y in derived)}) were not published: they are "
                   "back-calculated from a later release's percent change (see the sources).")
    return tuple(out)


# ---------------------------------------------------------------------------------------------------------- run
def run(params: Params, data_dir=DATA_DIR) -> TrendResult:
    """Run the study.

    Parameters
    ----------
    params : Params
        Validated parameters.
    data_dir : path, optional
        The data folder (a copy in tests).

    Returns
    -------
    TrendResult
    """
    p = params
    series = ministry_series(p, data_dir)
    rates_pub = data.national_series("ministry", "rate_per_1000", data_dir=data_dir)
    rate_map = {int(k): float(v) for k, v in rates_pub.items()}
    workers = data.workers_for_years(series.index, data_dir)
    lfs = lfs_workforce(series.index, data_dir)
    lfs_hired = lfs.set_index("year")["hired employees (LFS)"]
    implied = workers["workers"].to_numpy()

    def view(measure, w):
        return window.assess_window(series.index, series.values, p.end_year, p.years, p.reported_change_pct,
                                    measure, workers=w, rates=rate_map, alpha=p.alpha)

    count_view, rate_view = view("count", None), view("rate", implied)
    rate_lfs_view = view("rate", lfs_hired.to_numpy())
    counts, years = series.to_numpy(), series.index.to_numpy()
    trends = {}
    for key, exposure in (("count", None), ("rate_lfs", lfs_hired.to_numpy()), ("rate_ministry", implied)):
        headline = key == p.headline_view
        trends[key] = window.window_trend(counts, years, p.window_start, p.end_year, exposure, p.direction,
                                          n_permutations=p.n_permutations, n_boot=p.n_boot if headline else 0,
                                          seed=p.seed, alpha=p.alpha, power_series=p.n_power if headline else 0,
                                          bootstrap_test=headline)
    fig, alt = _figure_data(p, series, data_dir)
    r = TrendResult(
        params=p, title=title(p), question=(
            f"Which quantity does the published {fmt_percent(p.reported_change_pct, decimals_of(p.reported_change_pct))}"
            f" describe, and do the years {p.window_start}–{p.end_year} show a clear "
            f"{'decline' if p.direction < 0 else 'rise'} of their own, or only the longer trend?"),
        claim=claim_text(p, data_dir),
        verdict=Verdict(label="descriptive", headline="(set below)", summary="", technical=""),
        count_view=count_view, rate_view=rate_view, rate_lfs_view=rate_lfs_view, trends=trends, series=series,
        sources=_sources(p, data_dir), workers=workers, denominators=denominator_table(series, rate_map, lfs),
        published_rates=rate_map, injuries_figure=fig, conflicting_values=alt,
        scenarios=_scenarios(p, series, rate_map, lfs_hired, implied, {
            AS_ABOVE: count_view, "rates per 1,000 hired employees (LFS)": rate_lfs_view,
            "rates per 1,000 workers implied by the Ministry": rate_view}, data_dir))
    return dataclasses.replace(r, verdict=_verdict(p, r), estimates=_estimates(r), caveats=_caveats(p, r))


def _estimates(r: TrendResult) -> tuple[Estimate, ...]:
    a, w, p = r.trend_view, r.window, r.params
    yrs = f"{a.start_year}–{a.end_year}"
    out = [
        Estimate(f"change {yrs}", a.change_pct, *a.change_pct_ci, a.p_value_endpoint_exact,
                 "exact conditional binomial (Poisson), end years only", unit="%"),
        Estimate(f"change {yrs}", a.change_pct, *a.change_pct_ci_overdispersed, a.p_value_endpoint_overdispersed,
                 f"quasi-Poisson score, φ = {fmt_number(a.dispersion, 3)}, {a.endpoint_reference} reference, "
                 "end years only", unit="%"),
    ]
    for s in w.straight.segments:
        out.append(Estimate(f"yearly change {s.start:g}–{s.end:g}", s.estimate, *s.ci, s.p_value,
                            "straight log-linear quasi-Poisson trend", unit="%"))
    if w.broken is not None:
        for s in w.broken.segments:
            out.append(Estimate(f"yearly change {s.start:g}–{s.end:g}", s.estimate, *s.ci, s.p_value,
                                "one-joinpoint quasi-Poisson model (joinpoint held fixed)", unit="%"))
    out.append(Estimate(f"average yearly change {p.window_start}–{p.end_year}", w.aapc_straight.estimate,
                        *w.aapc_straight.ci, w.aapc_straight.p_value, "straight log-linear quasi-Poisson trend",
                        unit="%"))
    if w.aapc_broken is not None:
        b = w.aapc_broken
        out.append(Estimate(f"average yearly change {p.window_start}–{p.end_year}", b.estimate, *b.ci, b.p_value,
                            "one-joinpoint model, delta method (joinpoint held fixed)", unit="%"))
        if b.ci_boot is not None:
            out.append(Estimate(f"average yearly change {p.window_start}–{p.end_year}", b.estimate, *b.ci_boot,
                                None, f"one-joinpoint model, residual bootstrap re-estimating the joinpoint "
                                      f"({b.n_boot} replicates, seed {b.seed})", unit="%"))
    if w.test is not None:
        t = w.test
        out.append(Estimate("p-value of the change-of-slope test (0 vs 1 joinpoint)", t.p_value, *t.ci, t.p_value,
                            f"permutation test (Kim et al. 2000), {t.n_permutations} permutations, seed {t.seed}",
                            note=f"F = {fmt_number(t.statistic, 3)}; interval: Monte Carlo 95% CI of the p-value"))
    if w.power is not None:
        out.append(Estimate("power of the joinpoint test against the fitted break", w.power.estimate, *w.power.ci,
                            None, w.power.method, note=f"{w.power.n_series} simulated series"))
    for key in ("rate_lfs", "rate_ministry"):
        s = r.trends[key].straight.segments[0]
        out.append(Estimate(f"yearly change of the {_VIEWS[key]}", s.estimate, *s.ci, s.p_value,
                            "straight log-linear quasi-Poisson trend with a log(workers) offset", unit="%"))
    return tuple(out)

