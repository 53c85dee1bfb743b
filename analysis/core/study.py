"""What every study returns: one result with a verdict a reviewer can read in two minutes.

A study's ``run(params)`` returns a :class:`StudyResult` subclass. Its :class:`Verdict` carries

- ``label``: one of :data:`LABELS` (shown as a badge),
- ``headline``: one sentence,
- ``summary``: at most three plain-language sentences for a non-statistician,
- ``technical``: the full technical verdict (models, p-values, intervals, dispersion),
- ``key``: the key estimate with its interval (an :class:`Estimate`),
- ``would_change``: what would change the conclusion.

``StudyResult.to_dict()`` is the report's results JSON: parameters, title, verdict, tidy estimates (in the spirit of
R's ``broom::tidy`` and statsmodels' summary tables), the study's detailed results and its main tables. The report
machinery reads only this dictionary; it never imports a study's statistics.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from analysis.core.fmt import fmt_number, fmt_p
from analysis.core.params import Params
from analysis.core.results import Result, jsonable

#: The fixed set of verdict labels, with the one-line meaning shown in the index legend and the glossary.
LABELS: dict[str, str] = {
    "supported": "the claim holds even under the over-dispersion the data show",
    "fragile": "the claim holds only under a pure Poisson model, or only for one of several defensible choices",
    "not supported": "the data do not show what the claim says",
    "inconsistent": "the published figures contradict each other",
    "descriptive": "the report describes the data; no claim is tested",
}

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def sentences(text: str) -> int:
    """Number of sentences in ``text`` (a full stop followed by a capital starts a new one).

    Parameters
    ----------
    text : str
        Prose; a sentence ends at ``.``, ``!`` or ``?`` followed by white space and a capital letter or a
        digit.

    Returns
    -------
    int
        The number of sentences; 0 for empty or blank text.
    """
    text = text.strip()
    return 0 if not text else len(_SENTENCE_END.split(text))


@dataclasses.dataclass(frozen=True)
class Estimate:
    """One tidy row: a quantity with its estimate, interval, p-value and the model behind them."""

    quantity: str
    estimate: float | None
    lower: float | None = None
    upper: float | None = None
    p_value: float | None = None
    model: str = ""
    note: str = ""
    unit: str = ""
    interval: str = "CI"  # 'CI' (confidence) or 'PI' (prediction)
    level: float = 95  # percent coverage of the interval

    def conf_int(self) -> tuple[float | None, float | None]:
        """The interval of the estimate (a confidence or prediction interval, as ``interval`` says).

        Returns
        -------
        tuple of (float or None, float or None)
            ``(lower, upper)``; None for a limit the row does not have.
        """
        return self.lower, self.upper

    def to_dict(self) -> dict[str, Any]:
        """The row as plain JSON types.

        Returns
        -------
        dict
            Every field by name, converted with :func:`analysis.core.results.jsonable` (NaN becomes None).
        """
        return jsonable(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The conclusion of a study at three depths (label, headline + summary, technical)."""

    label: str
    headline: str
    summary: str
    technical: str
    key: Estimate | None = None
    would_change: str = ""

    def __post_init__(self):
        if self.label not in LABELS:
            raise ValueError(f"verdict label must be one of {list(LABELS)}, got {self.label!r}")
        if not self.headline.strip():
            raise ValueError("a verdict needs a one-sentence headline")
        if sentences(self.summary) > 3:
            raise ValueError(f"the plain-language summary must have at most three sentences: {self.summary!r}")

    def to_dict(self) -> dict[str, Any]:
        """The verdict as plain JSON types.

        Returns
        -------
        dict
            ``label``, ``headline``, ``summary``, ``technical``, ``key`` (the key estimate's
            :meth:`Estimate.to_dict`, or None) and ``would_change``.
        """
        return {"label": self.label, "headline": self.headline, "summary": self.summary,
                "technical": self.technical, "key": None if self.key is None else self.key.to_dict(),
                "would_change": self.would_change}


def table_payload(df) -> dict[str, Any]:
    """A DataFrame as ``{"columns": [...], "rows": [[...], ...]}`` (JSON types, column order kept).

    Parameters
    ----------
    df : pandas.DataFrame
        The table; its index is dropped.

    Returns
    -------
    dict
        ``"columns"``: the column names as strings; ``"rows"``: one list per row, converted with
        :func:`analysis.core.results.jsonable` (NaN becomes ``None``).
    """
    return {"columns": [str(c) for c in df.columns],
            "rows": [jsonable(list(r)) for r in df.itertuples(index=False, name=None)]}


@dataclasses.dataclass(frozen=True, kw_only=True)
class StudyResult(Result):
    """Base of the one result each study's ``run()`` returns (subclasses add their own fields).

    Subclasses set the class attributes ``study`` (registry name) and ``notebook`` (notebook stem), and override
    :meth:`results` (the detailed, study-specific part of the JSON) and :meth:`tables` (the main tables, exported
    as CSV beside the report).
    """

    study: ClassVar[str] = ""
    notebook: ClassVar[str] = ""

    params: Params
    title: str
    question: str
    verdict: Verdict
    estimates: tuple[Estimate, ...] = ()
    claim: str = ""
    caveats: tuple[str, ...] = ()

    def results(self) -> dict[str, Any]:
        """The study-specific results (plain JSON types after ``jsonable``).

        Returns
        -------
        dict
            Empty here; subclasses return their detailed results by name.
        """
        return {}

    def tables(self) -> Mapping[str, Any]:
        """The report's main tables as DataFrames, by file stem (``reports/<name>/<stem>.csv``).

        Returns
        -------
        mapping of str to pandas.DataFrame
            Empty here; subclasses return their tables.
        """
        return {}

    def estimates_frame(self):
        """The tidy estimates as a table.

        Returns
        -------
        pandas.DataFrame
            One row per :class:`Estimate` in ``estimates``, one column per field of :class:`Estimate` (in field
            order, also when there are no estimates).
        """
        import pandas as pd

        cols = [f.name for f in dataclasses.fields(Estimate)]
        return pd.DataFrame([dataclasses.asdict(e) for e in self.estimates], columns=cols)

    def to_dict(self) -> dict[str, Any]:
        """The report's results JSON (the only thing the report machinery reads).

        Returns
        -------
        dict
            ``study``, ``notebook``, ``parameters``, ``title``, ``question``, ``claim``, the verdict's
            ``label``, ``headline``, ``summary``, ``verdict`` (its technical text), ``key_estimate`` and
            ``would_change``, ``caveats``, ``estimates`` (one dict per :class:`Estimate`), ``results`` (from
            :meth:`results`) and ``tables`` (each of :meth:`tables` as :func:`table_payload`); JSON types only.
        """
        v = self.verdict
        return {
            "study": self.study,
            "notebook": self.notebook,
            "parameters": jsonable(self.params.to_dict()),
            "title": self.title,
            "question": self.question,
            "claim": self.claim,
            "label": v.label,
            "headline": v.headline,
            "summary": v.summary,
            "verdict": v.technical,
            "key_estimate": None if v.key is None else v.key.to_dict(),
            "would_change": v.would_change,
            "caveats": list(self.caveats),
            "estimates": [e.to_dict() for e in self.estimates],
            "results": jsonable(self.results()),
            "tables": {name: table_payload(df) for name, df in self.tables().items()},
        }

    def summary(self) -> str:
        """A plain-text summary for printing: title, ``[label] headline``, the plain-language summary, and one
        line per estimate with its interval, p-value and model.

        Returns
        -------
        str
            The lines joined by newlines.
        """
        v = self.verdict
        lines = [self.title, f"  [{v.label}] {v.headline}", f"  {v.summary}"]
        for e in self.estimates:  # the one formatting policy (analysis.core.fmt), as on the pages
            value = "not estimated" if e.estimate is None else fmt_number(e.estimate, 4)
            ci = "" if e.lower is None or e.upper is None else (
                f" ({fmt_number(e.lower, 4)} to {fmt_number(e.upper, 4)})")
            p = "" if e.p_value is None else f", {fmt_p(e.p_value)}"
            lines.append(f"  {e.quantity}: {value}{ci}{p} [{e.model}]")
        return "\n".join(lines)
