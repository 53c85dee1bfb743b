"""Glossary of the terms the verdicts and reports use, with the methods' references, as one self-contained page.

``TERMS`` is the curated list: each :class:`Term` has a display name, an anchor id, a plain-English definition a
non-statistician can read (one to three sentences), an optional technical note for statisticians, and the keys of
its :data:`REFERENCES`. ``VERDICT_LABELS`` are the five labels a study's verdict can carry; each is a term.

``glossary_html()`` renders the whole glossary (table of contents, one anchor per term, references) as a
complete HTML page with no script and no external request (its Content-Security-Policy forbids both);
``term_href("mid-p")`` gives the link a report puts next to a term (``glossary.html#mid-p``). The reporting layer
writes the page next to the reports (``reports/glossary.html``), so a relative link from a report resolves.

Imports only the standard library and ``analysis.core``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from analysis.core.study import LABELS
from analysis.core.web import CSP

__all__ = [
    "GLOSSARY_PAGE",
    "REFERENCES",
    "SECTIONS",
    "TERMS",
    "VERDICT_LABELS",
    "Reference",
    "Term",
    "glossary_html",
    "lookup",
    "term_href",
]

GLOSSARY_PAGE = "glossary.html"
_ANCHOR = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class Reference:
    """One publication the methods rest on. ``citation`` is the full reference as plain text."""

    key: str
    short: str  # "Garwood (1936)": the text of a link from a term
    citation: str
    doi: str | None = None

    @property
    def anchor(self) -> str:
        return f"ref-{self.key}"

    @property
    def url(self) -> str | None:
        return f"https://doi.org/{self.doi}" if self.doi else None


@dataclass(frozen=True)
class Term:
    """One glossary entry. ``definition`` is plain English (1-3 sentences); ``technical`` is optional detail."""

    name: str
    anchor: str
    section: str
    definition: str
    technical: str = ""
    refs: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    see_also: tuple[str, ...] = ()  # anchors of related terms

    @property
    def href(self) -> str:
        return f"{GLOSSARY_PAGE}#{self.anchor}"


# ------------------------------------------------------------------------------------------------- references

REFERENCES: tuple[Reference, ...] = (
    Reference("garwood1936", "Garwood (1936)",
              "Garwood, F. (1936). Fiducial limits for the Poisson distribution. Biometrika, 28(3/4), 437–442.",
              "10.1093/biomet/28.3-4.437"),
    Reference("clopper1934", "Clopper & Pearson (1934)",
              "Clopper, C. J., & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in the "
              "case of the binomial. Biometrika, 26(4), 404–413.",
              "10.1093/biomet/26.4.404"),
    Reference("lancaster1961", "Lancaster (1961)",
              "Lancaster, H. O. (1961). Significance tests in discrete distributions. Journal of the American "
              "Statistical Association, 56(294), 223–234.",
              "10.1080/01621459.1961.10482105"),
    Reference("gu2008", "Gu et al. (2008)",
              "Gu, K., Ng, H. K. T., Tang, M. L., & Schucany, W. R. (2008). Testing the ratio of two Poisson rates. "
              "Biometrical Journal, 50(2), 283–298.",
              "10.1002/bimj.200710403"),
    Reference("wasserstein2016", "Wasserstein & Lazar (2016)",
              "Wasserstein, R. L., & Lazar, N. A. (2016). The ASA's statement on p-values: context, process, and "
              "purpose. The American Statistician, 70(2), 129–133.",
              "10.1080/00031305.2016.1154108"),
    Reference("mccullagh1989", "McCullagh & Nelder (1989)",
              "McCullagh, P., & Nelder, J. A. (1989). Generalized Linear Models (2nd ed.). London: Chapman and "
              "Hall."),
    Reference("cameron2013", "Cameron & Trivedi (2013)",
              "Cameron, A. C., & Trivedi, P. K. (2013). Regression Analysis of Count Data (2nd ed.). Cambridge: "
              "Cambridge University Press."),
    Reference("holm1979", "Holm (1979)",
              "Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian Journal of "
              "Statistics, 6(2), 65–70."),
    Reference("benjamini1995", "Benjamini & Hochberg (1995)",
              "Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate: a practical and powerful "
              "approach to multiple testing. Journal of the Royal Statistical Society, Series B, 57(1), 289–300.",
              "10.1111/j.2517-6161.1995.tb02031.x"),
    Reference("spiegelhalter2005", "Spiegelhalter (2005)",
              "Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance. Statistics in "
              "Medicine, 24(8), 1185–1202.",
              "10.1002/sim.1970"),
    Reference("dersimonian1986", "DerSimonian & Laird (1986)",
              "DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials. Controlled Clinical Trials, "
              "7(3), 177–188.",
              "10.1016/0197-2456(86)90046-2"),
    Reference("clayton1987", "Clayton & Kaldor (1987)",
              "Clayton, D., & Kaldor, J. (1987). Empirical Bayes estimates of age-standardized relative risks for "
              "use in disease mapping. Biometrics, 43(3), 671–681.",
              "10.2307/2532003"),
    Reference("marshall1991", "Marshall (1991)",
              "Marshall, R. J. (1991). Mapping disease and mortality rates using empirical Bayes estimators. "
              "Journal of the Royal Statistical Society, Series C (Applied Statistics), 40(2), 283–294."),
    Reference("goldstein1996", "Goldstein & Spiegelhalter (1996)",
              "Goldstein, H., & Spiegelhalter, D. J. (1996). League tables and their limitations: statistical "
              "issues in comparisons of institutional performance. Journal of the Royal Statistical Society, "
              "Series A, 159(3), 385–409.",
              "10.2307/2983325"),
    Reference("hall2009", "Hall & Miller (2009)",
              "Hall, P., & Miller, H. (2009). Using the bootstrap to quantify the authority of an empirical "
              "ranking. The Annals of Statistics, 37(6B), 3929–3959.",
              "10.1214/09-AOS699"),
    Reference("kim2000", "Kim et al. (2000)",
              "Kim, H.-J., Fay, M. P., Feuer, E. J., & Midthune, D. N. (2000). Permutation tests for joinpoint "
              "regression with applications to cancer rates. Statistics in Medicine, 19(3), 335–351 "
              "(correction: 2001, 20, 655).",
              "10.1002/(SICI)1097-0258(20000215)19:3<335::AID-SIM336>3.0.CO;2-Z"),
    Reference("clegg2009", "Clegg et al. (2009)",
              "Clegg, L. X., Hankey, B. F., Tiwari, R., Feuer, E. J., & Edwards, B. K. (2009). Estimating average "
              "annual per cent change in trend analysis. Statistics in Medicine, 28(29), 3670–3682.",
              "10.1002/sim.3733"),
    Reference("tashman2000", "Tashman (2000)",
              "Tashman, L. J. (2000). Out-of-sample tests of forecasting accuracy: an analysis and review. "
              "International Journal of Forecasting, 16(4), 437–450.",
              "10.1016/S0169-2070(00)00065-0"),
    Reference("korn1998", "Korn & Graubard (1998)",
              "Korn, E. L., & Graubard, B. I. (1998). Confidence intervals for proportions with small expected number "
              "of positive counts estimated from survey data. Survey Methodology, 24(2), 193–201.", None),
    Reference("gneiting2007", "Gneiting & Raftery (2007)",
              "Gneiting, T., & Raftery, A. E. (2007). Strictly proper scoring rules, prediction, and estimation. "
              "Journal of the American Statistical Association, 102(477), 359–378.",
              "10.1198/016214506000001437"),
)

# ------------------------------------------------------------------------------------------------------ terms

SECTIONS: tuple[tuple[str, str], ...] = (
    ("verdicts", "Verdict labels"),
    ("evidence", "Tests, p-values and intervals"),
    ("dispersion", "Counts that vary more than chance"),
    ("many", "Many regions or sectors at once"),
    ("trends", "Trends over the years"),
    ("forecasts", "Projections and how they are checked"),
    ("data", "The data and how they were published"),
)

VERDICT_LABELS: tuple[str, ...] = tuple(LABELS)  # one home: analysis.core.study.LABELS

TERMS: tuple[Term, ...] = (
    # --- verdict labels -----------------------------------------------------------------------------------
    Term("supported", "supported", "verdicts",
         "The claim holds even when the data are allowed to vary as much from year to year as they actually do "
         "(the over-dispersion the data show), not only under the simplest model of pure chance.",
         see_also=("over-dispersion", "fragile")),
    Term("fragile", "fragile", "verdicts",
         "The claim holds only under a pure-chance (Poisson) model, or only for one of several reasonable choices "
         "the report states, such as the baseline, the denominator or the rounding rule. Allow for the "
         "variability the data actually show, or make the other choice, and it no longer holds.",
         see_also=("over-dispersion", "supported")),
    Term("not supported", "not-supported", "verdicts",
         "The data do not show what the claim says: the change or difference is within what chance alone "
         "produces. This is not proof of the opposite; often the data are simply too few to tell.",
         see_also=("power",)),
    Term("inconsistent", "inconsistent", "verdicts",
         "The published figures contradict each other, for example a percentage change that no pair of whole "
         "counts can produce, or two releases giving different totals for the same period. No statistical test "
         "can rescue a claim whose own numbers disagree.",
         see_also=("rounding-rules", "derived-baseline")),
    Term("descriptive", "descriptive", "verdicts",
         "The report describes the data (what was published, by whom, and how it varies) and tests no claim, "
         "so there is nothing to support or reject.",
         see_also=("two-systems",)),
    # --- tests, p-values and intervals --------------------------------------------------------------------
    Term("p-value", "p-value", "evidence",
         "The probability, if nothing had really changed and the stated model holds, of seeing a difference at "
         "least as large as the one observed. A small p-value (by convention below 0.05) means the data would "
         "be surprising if nothing had changed; it is not the probability that the claim is true, and every "
         "p-value in these reports names the model it assumes.",
         refs=("wasserstein2016",), aliases=("p value", "pvalue", "significance"),
         see_also=("multiple-comparisons",)),
    Term("Confidence interval vs prediction interval", "confidence-vs-prediction-interval", "evidence",
         "A confidence interval is a range for a fixed but unknown quantity, such as the true injury rate: a 95% "
         "interval comes from a method that captures the true value in 95% of repeated samples. A prediction "
         "interval is a range for a future observation, such as next year's count, and is wider because it adds "
         "that observation's own randomness to the uncertainty of the estimate.",
         aliases=("confidence interval", "prediction interval", "CI", "PI", "confidence vs prediction interval"),
         see_also=("coverage",)),
    Term("Exact conditional test", "exact-conditional-test", "evidence",
         "A test of whether two counts, say injuries in Q1 2024 and in Q1 2025, differ by more than chance. If the "
         "underlying rate did not change, the split of the combined total between the two periods behaves like "
         "tossing a coin, so the p-value can be computed exactly instead of approximately; it assumes pure chance "
         "(Poisson) variation, as R's poisson.test does.",
         technical="Given n = x₁ + x₀, x₁ ~ Binomial(n, e·R/(1 + e·R)) with exposure ratio e and rate ratio R; "
                   "two-sided p-value by the minimum-likelihood rule, interval by Clopper–Pearson on x₁/n mapped "
                   "to the ratio.",
         refs=("gu2008", "clopper1934"), aliases=("exact test", "conditional test", "poisson.test"),
         see_also=("mid-p", "score-test")),
    Term("Mid-p", "mid-p", "evidence",
         "A version of the exact p-value that counts only half the probability of the observed result itself, "
         "which makes exact tests on counts less conservative. Lancaster's mid-p doubles the one-sided tail "
         "computed that way; statsmodels' 'cond-midp' instead subtracts half the probability of the observed "
         "count from the two-sided exact p-value, so the two differ slightly (0.0202 and 0.0213 for 293 against "
         "352, where the exact test gives 0.0223).",
         technical="Lancaster: p = 2·min{P(X < x) + ½·P(X = x), P(X > x) + ½·P(X = x)}; statsmodels "
                   "test_poisson_2indep(method='cond-midp'): p = p_exact − ½·P(X = x), X the conditional binomial.",
         refs=("lancaster1961", "gu2008"), aliases=("mid p", "midp", "cond-midp", "mid-p value"),
         see_also=("exact-conditional-test",)),
    Term("Score test", "score-test", "evidence",
         "An approximate test that measures how far the later count is from what it would be if nothing had "
         "changed, in units of the spread expected under no change, and reads the p-value from the normal "
         "distribution. The reports use it because it extends simply to counts that vary more than chance: "
         "divide the statistic by the square root of φ.",
         technical="z = (x₁ − e·x₀) / √(φ·e·(x₁ + x₀)); at φ = 1 this is statsmodels' "
                   "test_poisson_2indep(method='score').",
         refs=("gu2008",), see_also=("over-dispersion", "quasi-poisson")),
    Term("Garwood interval", "garwood-interval", "evidence",
         "The exact confidence interval for a count of events, or for a rate built from one, computed from the "
         "chi-square distribution. It is conservative: a 95% Garwood interval covers the true value at least 95% "
         "of the time, whatever that value is.",
         technical="For x events: [χ²(α/2; 2x)/2, χ²(1 − α/2; 2x + 2)/2] (lower limit 0 when x = 0).",
         refs=("garwood1936",), aliases=("exact Poisson interval", "Garwood"),
         see_also=("clopper-pearson-interval",)),
    Term("Clopper–Pearson interval", "clopper-pearson-interval", "evidence",
         "The exact confidence interval for a proportion, such as the share of injuries that were fatal, "
         "computed from the binomial distribution. Like the Garwood interval it is conservative: it covers the "
         "true proportion at least as often as its stated level.",
         refs=("clopper1934",), aliases=("Clopper Pearson", "exact binomial interval"),
         see_also=("garwood-interval",)),
    Term("Rate ratio", "rate-ratio", "evidence",
         "The rate in one period or group divided by the rate in another, where a rate is a count divided by its "
         "exposure (workers, population or months). A rate ratio of 0.83 means a 17% lower rate; 1 means no "
         "difference.",
         aliases=("RR", "ratio of rates"), see_also=("relative-risk", "exact-conditional-test")),
    Term("Relative risk", "relative-risk", "evidence",
         "How many times more likely something is in one group than in a reference group; in the sector reports, "
         "a sector's share of injuries divided by its share of employment. A relative risk of 1.6 means the "
         "sector has 60% more injuries than the size of its workforce alone would predict.",
         aliases=("risk ratio",), see_also=("rate-ratio",)),
    Term("Power and minimum detectable change", "power", "evidence",
         "Power is the chance that a test detects a change of a given size if that change is real; with a few "
         "hundred injuries a quarter, even a real 10% fall is often missed. The minimum detectable change is the "
         "smallest change the test would detect with a stated power, usually 80%.",
         aliases=("statistical power", "minimum detectable change", "MDC", "minimum detectable ratio"),
         see_also=("not-supported",)),
    # --- counts that vary more than chance ----------------------------------------------------------------
    Term("Over-dispersion (φ)", "over-dispersion", "dispersion",
         "Injury counts vary from year to year more than pure chance would make them, for example because of "
         "mass-casualty accidents or changes in reporting. φ (phi) measures how much more: φ = 1 is pure chance, "
         "φ = 2 means twice the variance that chance alone gives, and each verdict states the φ at which its "
         "conclusion would flip.",
         technical="φ = Pearson χ² / residual degrees of freedom of a log-linear Poisson GLM fitted to the "
                   "Ministry's annual series; variance φ·μ.",
         refs=("mccullagh1989",), aliases=("overdispersion", "phi", "φ", "dispersion", "over-dispersion φ"),
         see_also=("quasi-poisson", "negative-binomial", "supported", "fragile")),
    Term("Quasi-Poisson model", "quasi-poisson", "dispersion",
         "A model for counts that keeps the Poisson model's average but lets the variance be φ times larger than "
         "the average. Its standard errors are the Poisson ones multiplied by the square root of φ, so its "
         "intervals are wider and its p-values larger when the data vary more than chance.",
         technical="Var(Y) = φ·μ with φ estimated by Pearson χ²/df; trend intervals use Student t on the residual "
                   "degrees of freedom.",
         refs=("mccullagh1989",), aliases=("quasi-Poisson", "quasipoisson", "quasi-likelihood"),
         see_also=("over-dispersion",)),
    Term("Negative binomial (α)", "negative-binomial", "dispersion",
         "Another model for counts that vary more than chance, in which the extra variance grows with the square "
         "of the average, so large counts get proportionally more of it. α (alpha) = 0 is the pure-chance "
         "Poisson model; the reports use it as a second view of over-dispersion next to φ.",
         technical="NB2: Var(Y) = μ + α·μ²; α by moments (the headline: the same Pearson principle as φ, and "
                   "with ten annual points the maximum-likelihood α is biased towards 0) and by maximum likelihood "
                   "(statsmodels), both shown.",
         refs=("cameron2013",), aliases=("negative binomial", "negative binomial α", "NB", "NB2", "NB α"),
         see_also=("over-dispersion",)),
    Term("t reference (estimated φ)", "t-reference", "dispersion",
         "When φ is itself estimated from a handful of annual counts, it is uncertain, and a test that treats it as "
         "known is too confident. The reports then judge the test statistic against a Student t distribution with "
         "as many degrees of freedom as the estimate rests on, which makes p-values larger and intervals wider; "
         "the 'normal plug-in' that treats φ as known is shown beside it.",
         technical="z = (x₁ − e·x₀)/√(φ̂·e·(x₁ + x₀)) referred to t_k (equivalently F(1, k)), k the residual df "
                   "of the GLM φ̂ comes from.",
         refs=("mccullagh1989",), aliases=("t reference", "Student t reference", "normal plug-in", "F reference"),
         see_also=("over-dispersion", "quasi-poisson")),
    Term("Cluster φ and trend φ", "cluster-phi", "dispersion",
         "Deaths vary more than chance for a reason of their own: one mine collapse can kill several people at "
         "once. The cluster φ measures that from the list of mass-casualty accidents (deaths counted in events of "
         "several); the trend φ measures how much annual deaths scatter around their trend. Each deaths verdict "
         "names which one it uses.",
         technical="Compound Poisson: φ = E[K²]/E[K] over the sizes K of the death clusters (unlisted deaths as "
                   "clusters of one).",
         aliases=("cluster phi", "trend phi", "compound Poisson", "clustering"),
         see_also=("over-dispersion",)),
    Term("Year-to-year variation interval", "year-to-year-variation-interval", "dispersion",
         "An interval for a sector's share of the injured that allows for how much that share moved between "
         "years, not only for chance within one year: the share's interval as if the injured were fewer by a "
         "factor φ, with a t adjustment for the few years φ rests on.",
         technical="Clopper–Pearson on the effective sample n/φ with Korn–Graubard's t correction.",
         refs=("korn1998", "clopper1934"), aliases=("effective sample", "Korn-Graubard interval"),
         see_also=("clopper-pearson-interval", "over-dispersion", "relative-risk")),
    # --- many regions or sectors at once ------------------------------------------------------------------
    Term("Multiple comparisons", "multiple-comparisons", "many",
         "When many comparisons are made at once, such as 20 regions each against the national rate, some will "
         "look significant by chance alone: at the 5% level, about one in twenty even if nothing is going on. "
         "Corrections such as Holm or Benjamini–Hochberg adjust the p-values for the number of comparisons made.",
         refs=("holm1979", "benjamini1995"), aliases=("multiple testing", "multiplicity"),
         see_also=("holm", "benjamini-hochberg")),
    Term("Holm correction", "holm", "many",
         "A correction for multiple comparisons that keeps the chance of even one false alarm among all the "
         "comparisons below the stated level (the family-wise error rate). It is a step-by-step refinement of the "
         "Bonferroni correction and never less powerful than it.",
         refs=("holm1979",), aliases=("Holm", "Holm–Bonferroni", "Holm-Bonferroni", "family-wise error rate"),
         see_also=("multiple-comparisons", "benjamini-hochberg")),
    Term("Benjamini–Hochberg correction", "benjamini-hochberg", "many",
         "A correction for multiple comparisons that controls the false discovery rate: the expected share of "
         "false alarms among the comparisons declared significant. It is less strict than Holm and suits "
         "screening, such as flagging regions worth a closer look.",
         refs=("benjamini1995",), aliases=("Benjamini–Hochberg", "BH", "false discovery rate", "FDR"),
         see_also=("multiple-comparisons", "holm")),
    Term("Funnel plot", "funnel-plot", "many",
         "A chart of each region's or sector's ratio of observed to expected injuries against the size of its "
         "expected count, with control limits that narrow as the expected count grows, giving a funnel shape. "
         "Points outside the limits differ from the national level by more than chance allows, and small regions "
         "are not mistaken for outliers just because their ratios are noisy.",
         technical="Exact Poisson limits with Spiegelhalter's interpolation at 95% and 99.8%; over-dispersed "
                   "versions widen them by √φ (multiplicative) or by τ² (additive).",
         refs=("spiegelhalter2005",), aliases=("funnel", "control limits"),
         see_also=("tau2", "over-dispersion")),
    Term("τ² (additive random effect)", "tau2", "many",
         "The variance of genuine differences between regions beyond counting noise, measured on the scale of "
         "the observed-to-expected ratio. When τ² is above zero, every region's funnel limits are widened by the "
         "same extra variance, whereas φ widens them in proportion to the counting noise.",
         technical="DerSimonian–Laird moment estimator on the ratio scale with weights E_i; limits "
                   "1 ± z·√(1/E + τ²).",
         refs=("spiegelhalter2005", "dersimonian1986"),
         aliases=("τ²", "tau²", "tau squared", "additive random effect", "random effect"),
         see_also=("funnel-plot", "over-dispersion")),
    Term("Empirical-Bayes shrinkage", "empirical-bayes", "many",
         "Small regions' observed rates are noisy, so empirical-Bayes estimates pull each region's ratio towards "
         "the overall average, more strongly the smaller its expected count. How strongly is estimated from the "
         "spread of all regions' data (a Poisson–gamma model), not chosen by hand.",
         technical="θ_i ~ Gamma(a, b); posterior mean (a + O_i)/(b + E_i); prior by method of moments (Marshall) "
                   "or marginal maximum likelihood.",
         refs=("clayton1987", "marshall1991"),
         aliases=("EB", "empirical Bayes", "shrinkage", "EB shrinkage", "Poisson–gamma"),
         see_also=("rank-interval",)),
    Term("Rank interval", "rank-interval", "many",
         "A range of plausible positions for a region in a league table (1 = highest rate), found by redrawing "
         "every region's count many times within its counting noise and ranking each draw. Wide rank intervals "
         "mean a published ranking is mostly noise.",
         technical="Seeded parametric bootstrap, Poisson(O_i)/E_i (or the empirical-Bayes posterior); the "
                   "interval is the 2.5% and 97.5% quantiles of each region's simulated ranks.",
         refs=("goldstein1996", "hall2009"), aliases=("rank intervals", "ranking", "league table"),
         see_also=("empirical-bayes", "funnel-plot")),
    # --- trends ---------------------------------------------------------------------------------------------
    Term("Annual percent change (APC)", "apc", "trends",
         "The average yearly change of a trend fitted to a series on the log scale, so that it is a constant "
         "percentage per year. An APC of −2.2% means the series falls by about 2.2% a year over the years fitted.",
         technical="APC = 100·(exp(β) − 1), β the year slope of log E[count] (or of the log rate with an offset); "
                   "interval 100·(exp(β ± crit·se) − 1), as in Joinpoint.",
         refs=("kim2000", "clegg2009"), aliases=("APC", "annual percent change", "annual percentage change"),
         see_also=("aapc", "joinpoint")),
    Term("Average annual percent change (AAPC)", "aapc", "trends",
         "One yearly percentage that summarises a chosen span of years when the trend changed direction inside "
         "it: the segments' slopes averaged, each weighted by the number of years it covers in the span. When "
         "the trend has no break it equals the APC.",
         technical="AAPC = 100·(exp(Σ w_i β_i / Σ w_i) − 1), w_i the years of segment i within the span.",
         refs=("clegg2009",), aliases=("AAPC", "average annual percent change"),
         see_also=("apc", "joinpoint")),
    Term("Joinpoint regression", "joinpoint", "trends",
         "A trend model made of straight segments on the log scale that meet at 'joinpoints', the years where the "
         "trend changes; how many joinpoints there are and where they fall is chosen from the data. It shows "
         "whether a decline started, stopped or reversed within the period, which a single APC would hide.",
         refs=("kim2000",), aliases=("joinpoint", "joinpoints", "segmented regression", "trend break"),
         see_also=("apc", "aapc")),
    # --- projections and their checks ---------------------------------------------------------------------
    Term("Seasonal share", "seasonal-share", "forecasts",
         "The fraction of a year's injuries recorded by a given month, a little over a fifth by the end of March. "
         "The year-to-date model learns it from every cumulative release at once (a smooth curve over the "
         "months, fitted together with each year's level), and the projection carries its uncertainty.",
         technical="S(m) = Σ_{k≤m} λ_k / Σ_{k≤12} λ_k with log λ a low-order harmonic series in the month; fitted by "
                   "maximum quasi-likelihood with the year levels (Poisson–gamma across years, φ within years).",
         aliases=("seasonal shares", "year-to-date share", "seasonal curve", "S(m)"),
         see_also=("confidence-vs-prediction-interval", "rolling-origin-backtest")),
    Term("Rolling-origin backtest", "rolling-origin-backtest", "forecasts",
         "A check of a forecasting method on the past: stand at an earlier date (the origin), forecast with only "
         "the data available then, compare with what happened, and repeat as the origin moves forward. Unlike "
         "leaving one year out at a time, it never lets later years help forecast earlier ones, so it shows how "
         "the method would have done in real use.",
         refs=("tashman2000",), aliases=("backtest", "rolling origin", "out-of-sample test"),
         see_also=("coverage", "interval-score")),
    Term("Coverage", "coverage", "forecasts",
         "The share of intervals that actually contain the true value, or for forecasts the value later observed. "
         "A 95% interval method should cover about 95% of the time; clearly lower coverage in a backtest means "
         "the intervals are too narrow.",
         refs=("gneiting2007",), aliases=("empirical coverage", "calibration"),
         see_also=("interval-score", "rolling-origin-backtest")),
    Term("Interval score", "interval-score", "forecasts",
         "A single number that rates a prediction interval by its width plus a penalty whenever the outcome falls "
         "outside it, the penalty growing with the miss; lower is better. It rewards intervals that are as narrow "
         "as possible while still honest, so an interval made too narrow or too wide scores worse.",
         technical="For a central (1 − α) interval [l, u] and outcome y: (u − l) + (2/α)(l − y)·1{y < l} "
                   "+ (2/α)(y − u)·1{y > u}.",
         refs=("gneiting2007",), aliases=("Winkler score",),
         see_also=("coverage",)),
    # --- the data -------------------------------------------------------------------------------------------
    Term("The two statistical systems (Ministry and BNS)", "two-systems", "data",
         "Kazakhstan counts workplace injuries twice. The Ministry of Labour's labour inspection registers "
         "injured workers, the dead included, and publishes running year-to-date totals several times a year; "
         "the Bureau of National Statistics (BNS) counts, once a year, victims who lost at least one working day. "
         "Their non-fatal counts differ by 40% or more while their death counts agree closely, so the reports "
         "never mix the two in one series.",
         aliases=("two statistical systems", "statistical systems", "Ministry", "BNS", "labour inspection",
                  "Bureau of National Statistics"),
         see_also=("descriptive",)),
    Term("Back-calculated (derived) baseline", "derived-baseline", "data",
         "A figure that was never published but is implied by published ones: the Q1 2024 count follows from the "
         "Q1 2025 count (293) and the published change (−16.8%), since 293 / (1 − 0.168) ≈ 352. Because the "
         "percentage is rounded, several baselines could fit (here only 352 does), so the reports mark such "
         "figures as derived and show the arithmetic.",
         aliases=("derived baseline", "back-calculated baseline", "derived figure", "derived"),
         see_also=("rounding-rules", "inconsistent")),
    Term("Rounding rules (round-half vs truncation)", "rounding-rules", "data",
         "A published percentage stands for a range of true values, and which range depends on how the "
         "publisher rounded: to the nearest value (a tie at exactly half going up, or to the even digit) or by "
         "cutting off the extra digits (truncation). 15.3% of 293 injured matches no whole count when rounded "
         "to the nearest tenth (44 gives 15.0%, 45 gives 15.4%), but 45 fits if the publisher truncated "
         "15.36% to 15.3%.",
         aliases=("rounding", "rounding rule", "rounding rules", "truncation", "round-half", "round half up", "round half even"),
         see_also=("derived-baseline", "inconsistent")),
    Term("Completion (of a top-k release)", "completion", "data",
         "A release that names only its top regions leaves the others unknown, but not free: each is at most the "
         "smallest published count, together they make up the national total, and a region with recorded deaths "
         "had at least that many injured. A completion is one way of filling in the unknown counts within those "
         "bounds; ranks and flags are reported as ranges over every completion.",
         technical="Exact ranges by optimisation over all integer completions (scipy milp where a shortcut does "
                   "not settle it); nothing is sampled.",
         aliases=("completions", "censored release"), see_also=("censoring", "rank-interval")),
    Term("Censoring and truncated publication", "censoring", "data",
         "Ministry releases name only the top five to seven regions; the rest are censored: each had no more "
         "injuries than the smallest published count, and together they hold the remainder of the national "
         "total. The reports work with these bounds instead of guessing the hidden counts, and say when a "
         "conclusion could change within them.",
         aliases=("censored", "truncated publication", "top-k release", "censoring/truncated publication"),
         see_also=("rank-interval", "funnel-plot")),
)

_REF_BY_KEY = {r.key: r for r in REFERENCES}
_SECTION_TITLES = dict(SECTIONS)


def _norm(text: str) -> str:
    """Lookup key: case-folded, dashes unified, spaces collapsed (``Clopper–Pearson`` == ``clopper-pearson``)."""
    s = str(text).casefold().replace("\u2013", "-").replace("\u2014", "-").replace("\u2212", "-")
    return " ".join(s.split())


def _index() -> dict[str, Term]:
    out: dict[str, Term] = {}
    for t in TERMS:
        for key in {t.anchor, t.name, *t.aliases}:
            k = _norm(key)
            if k in out and out[k] is not t:
                raise ValueError(f"glossary: {key!r} names both {out[k].anchor!r} and {t.anchor!r}")
            out[k] = t
    return out


_BY_NAME = _index()


def lookup(term: str) -> Term:
    """The glossary entry for ``term`` (its name, anchor or an alias; case and dash style do not matter).

    Parameters
    ----------
    term : str
        A term's name, anchor or alias.

    Returns
    -------
    Term
        The entry.

    Raises
    ------
    KeyError
        If no entry has that name, anchor or alias.
    """
    try:
        return _BY_NAME[_norm(term)]
    except KeyError:
        raise KeyError(f"{term!r} is not in the glossary (analysis.present.glossary.TERMS)") from None


def term_href(term: str, *, page: str = GLOSSARY_PAGE) -> str:
    """Link to ``term`` in the glossary page, e.g. ``term_href("mid-p") == "glossary.html#mid-p"``.

    Parameters
    ----------
    term : str
        A term's name, anchor or alias (see :func:`lookup`).
    page : str
        Path of the glossary page relative to the linking page (``"../glossary.html"`` one folder down).

    Returns
    -------
    str
        ``page#anchor``.

    Raises
    ------
    KeyError
        If the term is not in the glossary.
    """
    return f"{page}#{lookup(term).anchor}"


# ------------------------------------------------------------------------------------------------------- html

_CSS = """
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0b5cad; --mark: #fff8c5; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
       font: 16px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Helvetica Neue", sans-serif; }
main { max-width: 46rem; margin: 0 auto; padding: 2rem 1.25rem 4rem; }
h1 { font-size: 1.8rem; line-height: 1.25; margin: 0 0 .5rem; }
h2 { font-size: 1.3rem; margin: 2.5rem 0 .5rem; padding-bottom: .25rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 0 0 .2rem; }
p { margin: .3rem 0; }
a { color: var(--accent); }
.lead { color: var(--muted); }
nav ol { padding-left: 1.2rem; }
nav ol ol { columns: 2 14rem; column-gap: 2rem; margin: .2rem 0 .6rem; }
nav li { break-inside: avoid; }
.term { margin: 0 -.6rem; padding: .7rem .6rem; border-radius: 6px; scroll-margin-top: 1rem; }
.term:target, .reference:target { background: var(--mark); }
.technical, .refs, .see { font-size: .9rem; color: var(--muted); }
.technical { font-style: italic; }
.anchor { text-decoration: none; color: var(--line); margin-left: .3rem; font-weight: normal; }
.anchor:hover { color: var(--accent); }
.top { font-size: .85rem; }
.badge { display: inline-block; padding: 0 .6rem; border-radius: 999px; border: 1px solid;
         font-size: .95rem; font-weight: 600; line-height: 1.6; }
.badge-supported { background: #dafbe1; color: #116329; border-color: #4ac26b; }
.badge-fragile { background: #fff8c5; color: #7d4e00; border-color: #d4a72c; }
.badge-not-supported { background: #ffebe9; color: #a40e26; border-color: #ff8182; }
.badge-inconsistent { background: #fbefff; color: #6e40c9; border-color: #c297ff; }
.badge-descriptive { background: #eaeef2; color: #424a53; border-color: #afb8c1; }
ol.references { padding-left: 1.4rem; }
ol.references li { margin: .45rem 0; overflow-wrap: anywhere; scroll-margin-top: 1rem; }
@media print { .anchor, .top { display: none; } a { color: inherit; } }
"""


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _term_html(t: Term) -> str:
    if t.section == "verdicts":
        heading = f'<span class="badge badge-{_e(t.anchor)}">{_e(t.name)}</span>'
    else:
        heading = _e(t.name)
    parts = [
        f'<section class="term" id="{_e(t.anchor)}">',
        f'<h3>{heading}<a class="anchor" href="#{_e(t.anchor)}" aria-label="Link to {_e(t.name)}">#</a></h3>',
        f"<p>{_e(t.definition)}</p>",
    ]
    if t.technical:
        parts.append(f'<p class="technical">{_e(t.technical)}</p>')
    if t.refs:
        links = "; ".join(f'<a href="#{_e(_REF_BY_KEY[k].anchor)}">{_e(_REF_BY_KEY[k].short)}</a>' for k in t.refs)
        parts.append(f'<p class="refs">References: {links}</p>')
    if t.see_also:
        names = {x.anchor: x.name for x in TERMS}
        links = ", ".join(f'<a href="#{_e(a)}">{_e(names[a])}</a>' for a in t.see_also)
        parts.append(f'<p class="see">See also: {links}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _reference_html(r: Reference) -> str:
    link = ""
    if r.url:
        link = (f' <a href="{_e(r.url)}" rel="noopener noreferrer">doi:{_e(r.doi)}</a>')
    return f'<li class="reference" id="{_e(r.anchor)}">{_e(r.citation)}{link}</li>'


def glossary_html(title: str = "Glossary and references") -> str:
    """The glossary as a complete, self-contained HTML page.

    Every text is HTML-escaped; each term has an anchor (``id``) and a self-link; a table of contents lists the
    sections and terms; the references close the page. A Content-Security-Policy (``default-src 'none';
    style-src 'unsafe-inline'``) forbids scripts and every external request; the page contains no script.

    Parameters
    ----------
    title : str
        Page title and main heading.

    Returns
    -------
    str
        The HTML document.
    """
    toc, body = [], []
    for key, heading in SECTIONS:
        terms = [t for t in TERMS if t.section == key]
        items = "".join(f'<li><a href="#{_e(t.anchor)}">{_e(t.name)}</a></li>' for t in terms)
        toc.append(f'<li><a href="#section-{_e(key)}">{_e(heading)}</a><ol>{items}</ol></li>')
        body.append(f'<h2 id="section-{_e(key)}">{_e(heading)}</h2>')
        if key == "verdicts":
            body.append("<p>Every report's verdict carries one of these five labels.</p>")
        body.extend(_term_html(t) for t in terms)
        body.append('<p class="top"><a href="#contents">Back to contents</a></p>')
    toc.append('<li><a href="#references">References</a></li>')
    refs = "\n".join(_reference_html(r) for r in REFERENCES)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{_e(title)}</h1>\n"
        '<p class="lead">What the words in the verdicts and reports mean, in plain English, with the '
        "publications each method comes from. Every p-value in the reports names the model it assumes; the "
        "terms below say what those models are.</p>\n"
        f'<nav id="contents" aria-label="Contents">\n<h2>Contents</h2>\n<ol>{"".join(toc)}</ol>\n</nav>\n'
        + "\n".join(body)
        + f'\n<h2 id="references">References</h2>\n<ol class="references">\n{refs}\n</ol>\n'
        "</main>\n</body>\n</html>\n"
    )
