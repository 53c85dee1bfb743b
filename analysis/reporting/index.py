"""``reports/index.html``: one row per question a reviewer can read in two minutes.

Each question of the study registry (``analysis.studies.registry``) gets one group: its default report first (the
verdict label as a badge, the one-sentence headline, the report's first figure as a thumbnail, links to the report
and its CSV/JSON downloads), then its named variants (``notebooks/reports.toml``) and the claims rendered with
``python -m analysis.claims`` (``reports/claims/``), indented under it. The plain-language summary and the technical
verdict are folded away (``<details>``). A legend explains the five labels and links each to the glossary
(``reports/glossary.html``). Everything from data or parameters is escaped; the page has no script and requests
nothing (its Content-Security-Policy allows only inline styles and ``data:`` images).

The build renders the page only when something it shows changed (``page_key``), so a build with nothing to do
imports none of this module's heavier helpers.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from analysis.reporting import CSP

TITLE = "Occupational injuries in Kazakhstan: do the published claims hold up?"

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 2em auto;
       max-width: 1300px; padding: 0 1em; color: #1b1f24; line-height: 1.45; }
h1 { font-size: 1.55em; margin-bottom: .2em; }
p.lead { color: #3b4752; margin-top: 0; max-width: 62em; }
.legend { display: flex; flex-wrap: wrap; gap: .4em 1.4em; margin: .8em 0 1.2em; padding: .6em .9em;
          border: 1px solid #d8dee4; background: #f6f8fa; font-size: 13px; }
.legend div { max-width: 30em; }
.legend a { text-decoration: none; }
p.summary { color: #57606a; font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; table-layout: fixed; }
th, td { border-bottom: 1px solid #d8dee4; padding: .55em .6em; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: #f3f6f9; }
col.c-question { width: 27%; } col.c-verdict { width: 41%; } col.c-figure { width: 196px; } col.c-links { width: 15%; }
tbody.question { border-top: 2px solid #b9c4cf; }
tr.kind-variant td, tr.kind-claim td { background: #fbfcfd; font-size: 13px; }
tr.kind-variant td.question, tr.kind-claim td.question { padding-left: 1.8em; }
td.question .q { font-weight: 600; }
td.question .kind { display: block; color: #57606a; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
td .meta { color: #57606a; font-size: 12px; margin-top: .3em; }
td.verdict .headline { font-weight: 600; }
td.verdict details { margin-top: .35em; font-size: 13px; }
td.verdict summary, td.question summary { cursor: pointer; color: #0b5cad; font-size: 12px; }
td.verdict details p { margin: .3em 0; }
td.figure img { width: 180px; height: auto; border: 1px solid #d8dee4; background: #fff; }
td.links a { display: inline-block; margin: 0 .6em .2em 0; }
td.question code { font-size: 12px; white-space: pre-wrap; }
.status { display: inline-block; padding: .05em .5em; border-radius: .3em; font-size: 12px; font-weight: 700; }
.status-failed .status { background: #ffebe9; color: #a40e26; }
.status-skipped .status, .status-not-built .status { background: #fff8c5; color: #7d4e00; }
tr.status-failed td { background: #fff8f7; }
pre.error { white-space: pre-wrap; font-size: 12px; color: #a40e26; margin: .4em 0 0 0; }
.stale { color: #57606a; font-style: italic; }
footer { margin: 2em 0; color: #57606a; font-size: 12px; }
.kz-badge { font-size: 12px; white-space: nowrap; }
@media (max-width: 900px) { col.c-figure { width: 0; } td.figure img { display: none; } }
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _href(path: Path, base: Path) -> str:
    return quote(os.path.relpath(path, base).replace(os.sep, "/"))


def _fmt_time(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


def read_json(path: Path) -> dict | None:
    """A JSON object from a file, or None when it is missing, unreadable, not JSON or not an object.

    Parameters
    ----------
    path : pathlib.Path
        The JSON file.

    Returns
    -------
    dict or None
        The object.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# ----------------------------------------------------------------------------------------------------- items


def claim_items(out: Path) -> list[dict]:
    """Claims rendered or checked into ``<out>/claims`` (``python -m analysis.claims``): one item per results
    JSON.

    Parameters
    ----------
    out : pathlib.Path
        The reports folder.

    Returns
    -------
    list of dict
        One index item (``kind`` 'claim') per readable results JSON in ``<out>/claims/results``, sorted by
        file name; empty when there is none.
    """
    folder = out / "claims"
    items = []
    for path in sorted((folder / "results").glob("*.json")) if (folder / "results").is_dir() else []:
        payload = read_json(path)
        if payload is None:
            continue
        name = path.stem
        items.append({
            "name": name, "kind": "claim", "status": "ok", "payload": payload,
            "html": folder / f"{name}.html", "json": path, "estimates": folder / "results" / f"{name}-estimates.csv",
            "tables_dir": folder / name, "executed": folder / "executed" / f"{name}.ipynb",
            "study": payload.get("study"), "notebook": payload.get("notebook"), "record": {},
        })
    return items


def _question_of(item: Mapping[str, Any], registry) -> tuple[int, str]:
    """(order, question) of an item: the registry's question for its study or notebook, else its own."""
    entries = list(registry.STUDIES.values())
    entry = None
    if item.get("study") in registry.STUDIES:
        entry = registry.STUDIES[item["study"]]
    elif item.get("notebook"):
        entry = registry.for_notebook(item["notebook"])
    if entry is not None:
        return entries.index(entry), entry.question
    payload = item.get("payload") or {}
    return len(entries), str(payload.get("question") or payload.get("title") or item["name"])


# ------------------------------------------------------------------------------------------------------ cells


def _badge(label: str | None) -> str:
    from analysis.core.study import LABELS
    from analysis.present.report import badge

    return badge(label) if label in LABELS else ""


def _label_href(label: str, glossary: str) -> str:
    from analysis.present.glossary import term_href

    try:
        return term_href(label, page=glossary)
    except KeyError:
        return glossary


def _key_estimate(payload: Mapping[str, Any]) -> str:
    key = payload.get("key_estimate")
    if not isinstance(key, dict) or key.get("estimate") is None:
        return ""
    from analysis.core.fmt import fmt_estimate

    e = SimpleNamespace(**{"lower": None, "upper": None, "p_value": None, "unit": "", **key})
    return f"<p><strong>{_e(str(key.get('quantity', 'estimate')).capitalize())}:</strong> {_e(fmt_estimate(e))}</p>"


def _verdict_cell(item: Mapping[str, Any]) -> str:
    payload = item.get("payload") or {}
    status = item["status"]
    if status == "skipped":
        return f'<span class="status">skipped</span> {_e(item.get("skipped"))}'
    if status == "not built":
        return '<span class="status">not built</span> <span class="stale">not built yet</span>'
    parts = []
    if status == "failed":
        parts.append('<span class="status">failed</span>')
        parts.append(f'<pre class="error">{_e((item.get("record") or {}).get("error"))}</pre>')
        if not payload:
            return "".join(parts)
        parts.append('<div class="stale">last good verdict:</div>')
    headline = payload.get("headline") or payload.get("verdict")
    parts.append(f'<div>{_badge(payload.get("label"))}<span class="headline">{_e(headline)}</span></div>')
    more = []
    summary = payload.get("summary")
    if summary:
        more.append(f"<p>{_e(summary)}</p>")
    more.append(_key_estimate(payload))
    if payload.get("would_change"):
        more.append(f"<p><strong>What would change this:</strong> {_e(payload['would_change'])}</p>")
    technical = payload.get("verdict")
    if technical and technical != headline:
        more.append(f'<p class="technical"><strong>Technical verdict:</strong> {_e(technical)}</p>')
    more = [m for m in more if m]
    if more:
        parts.append(f"<details><summary>Summary and technical verdict</summary>{''.join(more)}</details>")
    return "".join(parts)


def _params_html(parameters: Mapping[str, Any]) -> str:
    """The parameters a variant or claim changed, folded away, in plain words ('current count 180', 'reported
    change -17.6%': :func:`analysis.present.tables.plain_parameter`)."""
    if not parameters:
        return ""
    from analysis.core.fmt import fmt_counted
    from analysis.present.tables import plain_parameter

    lines = "".join(f"{_e(plain_parameter(k, v))}<br>" for k, v in parameters.items())
    return f"<details><summary>{_e(fmt_counted(len(parameters), 'parameter'))} changed</summary>{lines}</details>"


def _question_cell(item: Mapping[str, Any], question: str, out: Path) -> str:
    payload = item.get("payload") or {}
    link = _href(item["html"], out) if item["html"].exists() else None
    kind = item["kind"]
    if kind == "report":
        text = f'<span class="q">{_e(question)}</span>'
        title = payload.get("title") if payload.get("title") not in (None, "", item["name"]) else None
    else:
        label = "variant" if kind == "variant" else "claim checked"
        text = f'<span class="kind">{label}</span>'
        title = item.get("title") or payload.get("title") or item["name"]
    if title:
        text += f"<div>{_e(title)}</div>" if kind == "report" else f'<span class="q">{_e(title)}</span>'
    if link:
        text = f'<a href="{link}">{text}</a>'
    meta = [f"<code>{_e(item['name'])}</code>"]
    record = item.get("record") or {}
    if record.get("seconds") is not None:
        meta.append(f"{float(record['seconds']):.1f} s")
    built = (record.get("last_ok") or {}).get("finished") if item["status"] == "failed" else record.get("finished")
    if built:
        meta.append(_e(_fmt_time(built)) + (" (last good)" if item["status"] == "failed" else ""))
    params = item.get("parameters") or ({} if kind == "report" else payload.get("parameters") or {})
    return text + f'<div class="meta">{" · ".join(meta)}</div>' + (_params_html(params) if kind != "report" else "")


def _figure_cell(item: Mapping[str, Any]) -> str:
    record = item.get("record") or {}
    thumb = record.get("thumbnail")
    if not thumb or item["kind"] != "report":
        return ""
    alt = record.get("thumbnail_alt") or f"First figure of the report {item['name']}"
    return f'<img src="data:image/png;base64,{_e(thumb)}" alt="{_e(alt)}">'


def _links_cell(item: Mapping[str, Any], out: Path) -> str:
    links = []
    if item["html"].exists():
        label = "last good report" if item["status"] == "failed" else "report"
        links.append(f'<a class="report-link" href="{_href(item["html"], out)}">{label}</a>')
    tables_dir = item.get("tables_dir")
    if tables_dir is not None and tables_dir.is_dir():
        for csv in sorted(tables_dir.glob("*.csv")):
            links.append(f'<a class="csv" href="{_href(csv, out)}">{_e(csv.name)}</a>')
    if item["estimates"].exists():
        links.append(f'<a class="csv" href="{_href(item["estimates"], out)}">estimates.csv</a>')
    if item["json"].exists():
        links.append(f'<a href="{_href(item["json"], out)}">results.json</a>')
    if item["executed"].exists():
        links.append(f'<a href="{_href(item["executed"], out)}">notebook</a>')
    failed = item.get("failed_executed")
    if item["status"] == "failed" and failed is not None and failed.exists():
        links.append(f'<a href="{_href(failed, out)}">failed run (notebook)</a>')
    return "".join(links)


def _row(item: Mapping[str, Any], question: str, out: Path) -> str:
    status = item["status"]
    return (
        f'<tr class="report kind-{item["kind"]} status-{_e(status.replace(" ", "-"))}" data-name="{_e(item["name"])}" '
        f'data-status="{_e(status)}" data-kind="{item["kind"]}">'
        f'<td class="question">{_question_cell(item, question, out)}</td>'
        f'<td class="verdict">{_verdict_cell(item)}</td>'
        f'<td class="figure">{_figure_cell(item)}</td>'
        f'<td class="links">{_links_cell(item, out)}</td>'
        "</tr>"
    )


def legend_html(glossary: str = "glossary.html") -> str:
    """The legend of the index: each verdict label's badge, linked to its glossary entry, with its meaning.

    Parameters
    ----------
    glossary : str, default 'glossary.html'
        The glossary page's address relative to the page showing the legend.

    Returns
    -------
    str
        A ``<section class="legend">`` element, every text escaped.
    """
    from analysis.core.study import LABELS

    items = "".join(
        f'<div><a href="{_e(_label_href(label, glossary))}">{_badge(label)}</a>{_e(meaning)}</div>'
        for label, meaning in LABELS.items())
    return (f'<section class="legend" aria-label="What the labels mean">{items}'
            f'<div>Every term is explained in the <a href="{_e(glossary)}">glossary and references</a>.</div>'
            "</section>")


def render(out: Path, items: Iterable[dict], registry, provenance: Mapping[str, Any] | None = None) -> str:
    """The index page for ``items`` (reports, variants and claims, see ``analysis.reporting.build``).

    Parameters
    ----------
    out : pathlib.Path
        The reports folder (links are relative to it).
    items : iterable of dict
        The index's items (``analysis.reporting.build.index_items``).
    registry : object
        The study registry (``analysis.studies.registry``), for each report's question.
    provenance : mapping, optional
        The build's provenance (:func:`analysis.reporting.provenance.collect`), shown in the footer.

    Returns
    -------
    str
        The HTML page, every data-derived text escaped.
    """
    groups: dict[str, list[dict]] = {}
    order: dict[str, int] = {}
    counts: dict[str, int] = {}
    items = list(items)
    for item in items:
        rank, question = _question_of(item, registry)
        groups.setdefault(question, []).append(item)
        order[question] = min(order.get(question, rank), rank)
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    kinds = {"report": 0, "variant": 1, "claim": 2}
    bodies = []
    for question in sorted(groups, key=lambda q: (order[q], q)):
        rows = sorted(groups[question], key=lambda it: (kinds[it["kind"]], it["name"]))
        bodies.append(f'<tbody class="question" data-question="{_e(question)}">'
                      + "".join(_row(it, question, out) for it in rows) + "</tbody>")
    n_reports = sum(1 for it in items if it["kind"] != "claim")
    n_claims = len(items) - n_reports
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing built"
    from analysis.core.fmt import fmt_counted
    from analysis.present.report import STYLE_RULES
    from analysis.reporting.provenance import describe

    foot = " ".join(describe(provenance or {}))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(TITLE)}</title>\n<style>{STYLE_RULES}{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{_e(TITLE)}</h1>\n"
        '<p class="lead">Each row answers one question about what Kazakhstan\'s Ministry of Labour has told the press '
        "about workplace injuries: the verdict as a label, one sentence, the report's first figure and the "
        "downloads. Variants of a report and claims checked with <code>python -m analysis.claims</code> are listed "
        "under their question. Open a report for the data, the method, the caveats and the full verdict.</p>\n"
        + legend_html()
        + f'\n<p class="summary">{_e(fmt_counted(n_reports, "report"))} and '
        f'{_e(fmt_counted(n_claims, "checked claim"))}: {_e(summary)}.</p>\n'
        '<table id="verdicts">\n<colgroup><col class="c-question"><col class="c-verdict"><col class="c-figure">'
        '<col class="c-links"></colgroup>\n'
        "<thead><tr><th>Question</th><th>Verdict</th><th>Figure</th><th>Report and downloads</th></tr></thead>\n"
        + "\n".join(bodies)
        + "\n</table>\n"
        + (f"<footer>{_e(foot)}</footer>\n" if foot else "")
        + "</main>\n</body>\n</html>\n"
    )


def write_glossary(out_dir: Path) -> Path:
    """``<out_dir>/glossary.html`` (``analysis.present.glossary``), rewritten only when its text changed.

    Parameters
    ----------
    out_dir : pathlib.Path
        The reports folder.

    Returns
    -------
    pathlib.Path
        The glossary page's path.
    """
    from analysis.core.io import atomic_write_text
    from analysis.present.glossary import GLOSSARY_PAGE, glossary_html

    path = Path(out_dir) / GLOSSARY_PAGE
    text = glossary_html()
    try:
        if path.read_text(encoding="utf-8") == text:
            return path
    except (OSError, UnicodeDecodeError):
        pass
    return atomic_write_text(path, text)
