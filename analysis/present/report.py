"""The parts every report shares: its header (title, claim, summary box), its verdict, and publishing its results.

A notebook calls, in order::

    header(result)      # title, the claim in words, and the summary box a reviewer reads first
    ...                 # sections: data and sources, method, result, caveats
    verdict(result)     # the verdict section: label, headline, plain summary, technical verdict
    publish(result)     # the results JSON, as an output the report builder reads back (nothing written to disk)

All text from data or parameters is escaped; numbers come formatted from the study.
"""

from __future__ import annotations

import json

from analysis.core.io import dumps
from analysis.core.study import LABELS, StudyResult
from analysis.present.tables import escape

RESULTS_MIME = "application/json"
RESULTS_MARKER = "kz-injuries-results"  # output metadata key that marks the one results output of a notebook
GLOSSARY_HREF = "glossary.html"

BADGE_COLOURS = {  # text and background, readable in print and for colour-blind readers (label text always shown)
    "supported": ("#0b4f1c", "#d6f5dd"),
    "fragile": ("#6b4500", "#fde9c4"),
    "not supported": ("#7a1010", "#fbdcdc"),
    "inconsistent": ("#4a1470", "#ecdcf8"),
    "descriptive": ("#1f3a5f", "#dde8f5"),
}

STYLE_RULES = """
.kz-box { border: 1px solid #b9c4cf; border-left: 6px solid #1f3a5f; background: #f7f9fb; padding: .8em 1.1em;
          margin: .6em 0 1.2em 0; font-size: 15px; line-height: 1.45; max-width: 60em; }
.kz-box p { margin: .35em 0; }
.kz-box .kz-q { color: #3b4752; }
.kz-badge { display: inline-block; padding: .1em .6em; border-radius: .8em; font-weight: 700; font-size: 13px;
            letter-spacing: .02em; margin-right: .5em; vertical-align: middle; }
.kz-key { font-weight: 600; }
.kz-key-model { font-weight: 400; font-size: 0.9em; color: #57606a; }
.kz-small { color: #57606a; font-size: 13px; }
"""  # the summary box and badges (every report page carries them; the box repeats them for JupyterLab)
_CSS = f"<style>{STYLE_RULES}</style>"


def badge(label: str) -> str:
    """An HTML badge for a verdict label (``supported``, ``fragile``, ...).

    Parameters
    ----------
    label : str
        A verdict label, a key of :data:`analysis.core.study.LABELS`; its meaning becomes the badge's tooltip.

    Returns
    -------
    str
        A ``<span class="kz-badge ...">`` element, every text escaped.

    Raises
    ------
    KeyError
        When ``label`` is not a verdict label.
    """
    fg, bg = BADGE_COLOURS[label]
    meaning = escape(LABELS[label])
    return (f'<span class="kz-badge kz-label-{escape(label.replace(" ", "-"))}" title="{meaning}" '
            f'style="color:{fg};background:{bg}">{escape(label)}</span>')


def key_estimate_html(result: StudyResult) -> str:
    """The verdict's key estimate as an HTML paragraph: quantity, estimate, interval and p-value, then its
    model.

    Parameters
    ----------
    result : analysis.core.study.StudyResult
        The study's result.

    Returns
    -------
    str
        A ``<p class="kz-key">`` element (formatted with :func:`analysis.core.fmt.fmt_estimate`, every text
        escaped); the empty string when the verdict has no key estimate.
    """
    e = result.verdict.key
    if e is None:
        return ""
    from analysis.core.fmt import fmt_estimate

    detail = "; ".join(x for x in (getattr(e, "model", ""), getattr(e, "note", "")) if x)
    return (f'<p class="kz-key">{escape(e.quantity[:1].upper() + e.quantity[1:])}: {escape(fmt_estimate(e))}'
            + (f'<br><span class="kz-key-model">{escape(detail)}</span>' if detail else "") + "</p>")


def summary_box_html(result: StudyResult) -> str:
    """The summary box: question, badge, headline, plain summary, key estimate, what would change it.

    Parameters
    ----------
    result : analysis.core.study.StudyResult
        The study's result.

    Returns
    -------
    str
        The box's HTML (with its style rules), every data-derived text escaped.
    """
    v = result.verdict
    parts = [
        _CSS,
        '<div class="kz-box kz-summary" role="note" aria-label="Summary">',
        f'<p class="kz-q"><strong>Question.</strong> {escape(result.question)}</p>',
        f'<p>{badge(v.label)}<strong>{escape(v.headline)}</strong></p>',
        f"<p>{escape(v.summary)}</p>",
        key_estimate_html(result),
    ]
    if v.would_change:
        parts.append(f"<p><strong>What would change this.</strong> {escape(v.would_change)}</p>")
    parts.append(f'<p class="kz-small">Terms such as φ, mid-p or Holm are explained in the '
                 f'<a href="{GLOSSARY_HREF}">glossary</a>.</p>')
    parts.append("</div>")
    return "\n".join(p for p in parts if p)


def header(result: StudyResult) -> None:
    """Display the report's title, the claim in words and the summary box (first output of every report).

    Parameters
    ----------
    result : analysis.core.study.StudyResult
        The study's result.
    """
    from IPython.display import HTML, Markdown, display

    from analysis.present.tables import md_escape

    display(Markdown(f"# {md_escape(result.title)}"))
    if result.claim:
        display(Markdown(result.claim))
    display(HTML(summary_box_html(result)))


def verdict(result: StudyResult) -> None:
    """Display the verdict section's body: badge and headline, plain summary, then the technical verdict.

    Parameters
    ----------
    result : analysis.core.study.StudyResult
        The study's result.
    """
    from IPython.display import HTML, display

    v = result.verdict
    display(HTML(f"<p>{badge(v.label)}<strong>{escape(v.headline)}</strong></p><p>{escape(v.summary)}</p>"
                 f'<p class="kz-technical"><strong>Technical verdict.</strong> {escape(v.technical)}</p>'))


def publish(result: StudyResult) -> None:
    """Publish the results JSON as the notebook's results output.

    The report builder reads it back from the executed notebook and writes ``reports/results/<name>.json``; an
    ad-hoc run (JupyterLab, plain papermill) writes nothing anywhere. In JupyterLab it shows as a collapsible
    JSON tree; it is left out of the HTML report.

    Parameters
    ----------
    result : analysis.core.study.StudyResult
        The study's result. Its ``to_dict()`` is published.
    """
    from IPython.display import display

    payload = json.loads(dumps(result.to_dict()))  # plain JSON types, NaN as null, deterministic
    display({RESULTS_MIME: payload}, raw=True, metadata={RESULTS_MARKER: True, RESULTS_MIME: {"expanded": False}})


def write_results(results_dir, stem: str, parameters: dict, results, verdict: str) -> None:
    """Transitional: publish a notebook that has not been converted to a study yet (``results_dir`` is
    ignored).

    Publishes the same JSON as before (``parameters``, ``results``, ``verdict``) with the label
    ``descriptive``; removed once every notebook narrates a study.

    Parameters
    ----------
    results_dir : str or pathlib.Path
        Ignored (kept for the notebooks' existing calls).
    stem : str
        The notebook's stem, published as ``notebook`` and ``title``.
    parameters : dict
        The notebook's parameters (``results_dir`` left out).
    results : object
        The results, converted with :func:`analysis.core.results.jsonable`.
    verdict : str
        The verdict in words; its first sentence becomes the headline.
    """
    from IPython.display import display

    from analysis.core.results import jsonable

    headline = verdict.split(". ")[0].rstrip(".") + "."
    payload = {"notebook": stem, "parameters": {k: v for k, v in parameters.items() if k != "results_dir"},
               "results": jsonable(results), "verdict": verdict, "label": "descriptive", "headline": headline,
               "title": stem}
    payload = json.loads(dumps(payload))
    display({RESULTS_MIME: payload}, raw=True, metadata={RESULTS_MARKER: True, RESULTS_MIME: {"expanded": False}})
