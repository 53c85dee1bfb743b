"""Build every report: ``python -m analysis.build`` (``make report``; ``FORCE=1`` adds ``--force``).

Runs each notebook in ``notebooks/`` with its default parameters, plus the named parameter variants of
``notebooks/reports.toml``, one kernel per run, in parallel on the available cores, and writes::

    reports/<name>.html              the report (code hidden, self-contained; analysis.reporting.runner)
    reports/executed/<name>.ipynb    the executed notebook
    reports/results/<name>.json      parameters, results, verdict (written by the notebook)
    reports/index.html               one row per report: parameters, status, run time, verdict, link
    reports/.cache/<name>.json       input hashes, status, run time and error of the last run

A report is rebuilt only when its notebook (cell sources and tags: saving outputs does not count), its parameters,
``analysis/*.py``, ``data/*`` or ``requirements.lock`` changed, when its last run failed, or when an output file is
missing. ``--force`` rebuilds all. A failed notebook makes the exit status 1 and is named with its failing cell and
error; its last good HTML stays in place and the index marks it failed. Every write is atomic.

This module imports only the standard library at start, so a build with nothing to do takes a fraction of a second;
papermill and nbconvert are loaded in the worker processes.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import html
import json
import os
import re
import sys
import time
import tomllib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from analysis.core.paths import NOTEBOOKS_DIR, REPORTS_DIR, ROOT, resolve
from analysis.reporting import CSP, KERNEL_NAME

BUILD_FORMAT = 1  # bump to invalidate every cache record
CONFIG_NAME = "reports.toml"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class ConfigError(Exception):
    pass


# ------------------------------------------------------------------------------------------------------ jobs


@dataclasses.dataclass(frozen=True)
class Job:
    name: str
    notebook: Path
    parameters: dict
    title: str
    variant: bool = False
    skipped: str | None = None  # why it cannot run (variant naming a missing notebook)


def discover_notebooks(nb_dir: Path) -> list[Path]:
    return sorted(
        p for p in nb_dir.glob("*.ipynb") if not p.name.startswith((".", "_")) and "-checkpoint" not in p.name
    )


def load_config(path: Path) -> dict:
    """``{variant name: {"notebook": stem, "title": str, "parameters": dict}}`` from ``reports.toml``."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{_rel(path)}: {exc}") from exc
    unknown = set(data) - {"variants"}
    if unknown:
        raise ConfigError(
            f"{_rel(path)}: unknown top-level key(s) {sorted(unknown)}; expected [variants.<name>]"
        )
    variants = data.get("variants", {})
    if not isinstance(variants, dict):
        raise ConfigError(f"{_rel(path)}: 'variants' must be a table of [variants.<name>] tables")
    out = {}
    for name, spec in variants.items():
        where = f"{_rel(path)}: [variants.{name}]"
        if not NAME_RE.match(name):
            raise ConfigError(f"{where}: name must match {NAME_RE.pattern} (it becomes a file name)")
        if not isinstance(spec, dict):
            raise ConfigError(f"{where} must be a table")
        bad = set(spec) - {"notebook", "title", "parameters"}
        if bad:
            raise ConfigError(f"{where}: unknown key(s) {sorted(bad)}; allowed: notebook, title, parameters")
        notebook = spec.get("notebook")
        if not isinstance(notebook, str) or not notebook.strip():
            raise ConfigError(f"{where}: 'notebook' (the notebook's file name or stem) is required")
        params = spec.get("parameters", {})
        if not isinstance(params, dict):
            raise ConfigError(f"{where}: 'parameters' must be a table")
        if "results_dir" in params:
            raise ConfigError(f"{where}: 'results_dir' is set by the builder, not by a variant")
        title = spec.get("title", "")
        if not isinstance(title, str):
            raise ConfigError(f"{where}: 'title' must be a string")
        out[name] = {
            "notebook": notebook.strip().removesuffix(".ipynb"),
            "title": title,
            "parameters": params,
        }
    return out


def make_jobs(nb_dir: Path, config_path: Path) -> list[Job]:
    notebooks = discover_notebooks(nb_dir)
    jobs = [Job(name=p.stem, notebook=p, parameters={}, title="") for p in notebooks]
    stems = {p.stem for p in notebooks}
    for name, spec in load_config(config_path).items():
        if name in stems:
            raise ConfigError(f"{_rel(config_path)}: variant name {name!r} is also a notebook's name")
        nb = nb_dir / f"{spec['notebook']}.ipynb"
        skipped = None
        if not nb.is_file():
            skipped = f"variant {name!r} names notebook {_rel(nb)}, which does not exist (yet): skipped"
        else:
            declared = notebook_parameters(nb)
            unknown = sorted(set(spec["parameters"]) - set(declared))
            if unknown:
                raise ConfigError(f"{_rel(config_path)}: [variants.{name}]: {unknown[0]!r} is not a parameter of "
                                  f"{nb.name} (parameters: {', '.join(declared)})")
        jobs.append(Job(name, nb, spec["parameters"], spec["title"], variant=True, skipped=skipped))
    return jobs


def notebook_parameters(path: Path) -> list[str]:
    """Names assigned in the notebook's cell tagged ``parameters`` (read with ``ast``, nothing executed)."""
    import ast

    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    for cell in nb.get("cells", []):
        if "parameters" in ((cell.get("metadata") or {}).get("tags") or []):
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            try:
                tree = ast.parse(src)
            except SyntaxError as exc:
                raise ConfigError(f"{_rel(path)}: the parameters cell does not parse: {exc}") from None
            names = []
            for node in tree.body:
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    names.append(node.target.id)
                elif isinstance(node, ast.Assign):
                    names += [t.id for t in node.targets if isinstance(t, ast.Name)]
            return names
    return []


# ---------------------------------------------------------------------------------------------------- hashes


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _tree_sha(paths: Iterable[Path], base: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.relative_to(base).as_posix().encode() + b"\0" + _file_sha(p).encode() + b"\n")
    return h.hexdigest()


def global_inputs() -> dict:
    """Hashes of what every report depends on: the analysis package, the data files and the lock file."""
    data_dir = ROOT / "data"
    data_files = [
        p
        for p in (data_dir.rglob("*") if data_dir.is_dir() else [])
        if p.is_file()
        and not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(data_dir).parts)
    ]
    lock = ROOT / "requirements.lock"
    return {
        "analysis": _tree_sha((ROOT / "analysis").rglob("*.py"), ROOT),
        "data": _tree_sha(data_files, ROOT),
        "lock": _file_sha(lock) if lock.exists() else "",
        "kernel": KERNEL_NAME,
        "format": BUILD_FORMAT,
    }


def notebook_sha(path: Path) -> str:
    """Hash of the cells' types, sources and tags: saving a notebook with outputs does not invalidate it."""
    raw = path.read_bytes()
    try:
        nb = json.loads(raw)
        cells = [
            [
                c.get("cell_type"),
                "".join(c["source"]) if isinstance(c.get("source"), list) else c.get("source", ""),
                sorted((c.get("metadata") or {}).get("tags") or []),
            ]
            for c in nb["cells"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        return _sha(raw)
    return _sha(json.dumps(cells, sort_keys=True, ensure_ascii=False).encode())


def job_inputs(job: Job, glob_inputs: dict) -> dict:
    return {
        **glob_inputs,
        "notebook": notebook_sha(job.notebook),
        "parameters": _sha(json.dumps(job.parameters, sort_keys=True, ensure_ascii=False).encode()),
        "title": job.title,
    }


def inputs_key(inputs: dict) -> str:
    return _sha(json.dumps(inputs, sort_keys=True).encode())


# ------------------------------------------------------------------------------------------------ out layout


@dataclasses.dataclass(frozen=True)
class Layout:
    out: Path

    @property
    def cache(self) -> Path:
        return self.out / ".cache"

    @property
    def index(self) -> Path:
        return self.out / "index.html"

    def html(self, name: str) -> Path:
        return self.out / f"{name}.html"

    def results(self, name: str) -> Path:
        return self.out / "results" / f"{name}.json"

    def executed(self, name: str) -> Path:
        return self.out / "executed" / f"{name}.ipynb"

    def failed_executed(self, name: str) -> Path:
        return self.out / "executed" / f"{name}.failed.ipynb"

    def record(self, name: str) -> Path:
        return self.cache / f"{name}.json"

    def outputs(self, name: str) -> list[Path]:
        return [self.html(name), self.results(name), self.executed(name)]


def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_up_to_date(layout: Layout, job: Job, key: str) -> bool:
    rec = read_json(layout.record(job.name))
    return (
        rec is not None
        and rec.get("status") == "ok"
        and rec.get("key") == key
        and all(p.exists() for p in layout.outputs(job.name))
    )


def _write_json(path: Path, obj) -> None:
    from analysis.core.io import write_json  # imports numpy: only when something is written

    write_json(path, obj)


def _write_text_if_changed(path: Path, text: str) -> bool:
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    from analysis.core.io import atomic_write_text

    atomic_write_text(path, text)
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def record_result(layout: Layout, job: Job, key: str, inputs: dict, result) -> dict:
    """Store the outcome of one run in ``.cache/<name>.json`` (run times live here, never in results JSON)."""
    prev = read_json(layout.record(job.name)) or {}
    rec = {
        "name": job.name,
        "notebook": _rel(job.notebook),
        "parameters": job.parameters,
        "title": job.title,
        "key": key,
        "inputs": inputs,
        "status": result.status,
        "seconds": result.seconds,
        "finished": _now(),
        "error": result.error,
        "last_ok": prev.get("last_ok"),
    }
    if result.status == "ok":
        rec["last_ok"] = {"key": key, "finished": rec["finished"], "seconds": result.seconds}
    _write_json(layout.record(job.name), rec)
    return rec


# --------------------------------------------------------------------------------------------------- workers


def _init_worker(log_path: str, preload: list[str]) -> None:
    """Keep kernel, papermill and nbconvert noise off the terminal (the worker's fds 1 and 2 go to a log file)
    and, with ``preload``, start a kernel zygote that imports those modules once for all this worker's kernels."""
    import signal

    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    # Ctrl-C is handled by the main process (it cancels the build); a worker finishes or is terminated.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # jsonschema (via nbformat) imports rfc3987_syntax when installed, which compiles a lark grammar at import:
    # 1.5-5 s of CPU per worker, for IRI format checks nbformat never uses. Make that optional import fail.
    sys.modules.setdefault("rfc3987_syntax", None)
    if preload:
        from analysis.reporting.kernels import start_zygote

        start_zygote(preload)


def _run_job(
    notebook: str, parameters: dict, name: str, out_dir: str, title: str, cell_timeout: float | None
):
    from analysis.reporting.runner import run_notebook

    return run_notebook(notebook, parameters, name, out_dir, cell_timeout=cell_timeout, title=title)


@dataclasses.dataclass
class _Crash:
    """Stands in for a RunResult when the worker itself failed (crash, import error)."""

    name: str
    error: str
    seconds: float
    status: str = "failed"
    verdict: str | None = None


# -------------------------------------------------------------------------------------------------- progress


class Progress:
    """One line per report as it starts and ends; on a TTY also a live bar on the last line."""

    def __init__(self, total: int, stream=None, tty: bool | None = None):
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.total = total
        self.done = 0
        self.running: dict[str, float] = {}
        self.t0 = time.perf_counter()
        self._bar_shown = False

    def _write_line(self, text: str) -> None:
        if self.tty and self._bar_shown:
            self.stream.write("\r\x1b[K")
            self._bar_shown = False
        self.stream.write(text + "\n")
        self.stream.flush()
        self.tick()

    def start(self, name: str) -> None:
        self.running[name] = time.perf_counter()
        self._write_line(f"[{self.done}/{self.total}] start   {name}")

    def end(self, name: str, ok: bool, detail: str = "") -> float:
        elapsed = time.perf_counter() - self.running.pop(name, self.t0)
        self.done += 1
        word = "ok     " if ok else "FAILED "
        if self.tty and not ok:
            word = "\x1b[1;31mFAILED\x1b[0m "
        line = f"[{self.done}/{self.total}] {word} {name}  {elapsed:.1f}s"
        if detail:
            line += f"  {detail}"
        self._write_line(line)
        return elapsed

    def tick(self) -> None:
        if not self.tty or self.total == 0:
            return
        width = 24
        filled = int(width * self.done / self.total)
        running = ", ".join(self.running) or "-"
        if len(running) > 50:
            running = running[:49] + "…"
        bar = (
            f"[{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.total}"
            f"  {time.perf_counter() - self.t0:5.1f}s  running: {running}"
        )
        self.stream.write("\r\x1b[K" + bar)
        self.stream.flush()
        self._bar_shown = True

    def close(self) -> None:
        if self.tty and self._bar_shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._bar_shown = False


# ----------------------------------------------------------------------------------------------------- index

_INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 2em auto;
       max-width: 1400px; padding: 0 1em; color: #1b1f24; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
p.summary { color: #444; margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { border-bottom: 1px solid #d8dee4; padding: .55em .6em; text-align: left; vertical-align: top; }
th { background: #f3f6f9; }
td.name { width: 22%; }
td.name .title { margin: .2em 0; }
td.name .meta, td.status .meta { color: #57606a; font-size: 12px; margin-top: .25em; }
td.status { white-space: nowrap; width: 7em; }
td.verdict { line-height: 1.4; }
td.params { width: 20%; }
td.params code { display: block; white-space: pre-wrap; font-size: 12px; }
td.params code.override { font-weight: bold; }
td.params summary { cursor: pointer; color: #57606a; font-size: 12px; }
.status-label { font-weight: 700; }
.status-ok .status-label { color: #116329; }
.status-failed .status-label { color: #b3261e; }
.status-skipped .status-label, .status-not-built .status-label { color: #7d5a00; }
tr.status-failed { background: #fff5f4; }
pre.error { white-space: pre-wrap; font-size: 12px; color: #b3261e; margin: .4em 0 0 0; }
.stale { color: #57606a; font-style: italic; }
.links a { margin-right: .7em; }
"""


def _e(x) -> str:
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


def _param_lines(params: dict, css: str) -> str:
    return "".join(
        f'<code class="{css}">{_e(k)} = {_e(json.dumps(v, ensure_ascii=False))}</code>'
        for k, v in params.items()
    )


def index_row(layout: Layout, job: Job) -> tuple[str, str]:
    """(status, <tr> HTML) for one report. Every piece of text is escaped."""
    name = job.name
    rec = read_json(layout.record(name)) or {}
    results = read_json(layout.results(name)) or {}
    html_exists = layout.html(name).exists()
    status = "skipped" if job.skipped else rec.get("status", "not built")
    status_cls = status.replace(" ", "-")

    # Parameters: the variant's overrides in bold, then (folded) the values the notebook recorded.
    recorded = results.get("parameters") if isinstance(results.get("parameters"), dict) else {}
    others = {k: v for k, v in sorted(recorded.items()) if k != "results_dir" and k not in job.parameters}
    params_html = _param_lines(job.parameters, "override") if job.parameters else ""
    if others:
        label = "other parameters" if job.parameters else "defaults"
        params_html += (
            f"<details><summary>{label} ({len(others)})</summary>{_param_lines(others, 'default')}</details>"
        )
    elif not job.parameters:
        params_html = '<span class="stale">defaults</span>'

    verdict = results.get("verdict")
    if job.skipped:
        verdict_html = _e(job.skipped)
    elif status == "failed":
        verdict_html = f'<pre class="error">{_e(rec.get("error"))}</pre>'
        if verdict is not None and html_exists:
            verdict_html = f'<div class="stale">last good verdict: {_e(verdict)}</div>' + verdict_html
    elif status == "not built":
        verdict_html = '<span class="stale">not built yet</span>'
    else:
        verdict_html = _e(verdict) if verdict is not None else '<span class="stale">(no verdict)</span>'

    links = []
    if html_exists:
        label = "last good report" if status == "failed" else "report"
        links.append(f'<a class="report-link" href="{_href(layout.html(name), layout.out)}">{label}</a>')
    if layout.results(name).exists():
        links.append(f'<a href="{_href(layout.results(name), layout.out)}">json</a>')
    if layout.executed(name).exists():
        links.append(f'<a href="{_href(layout.executed(name), layout.out)}">ipynb</a>')
    if status == "failed" and layout.failed_executed(name).exists():
        links.append(f'<a href="{_href(layout.failed_executed(name), layout.out)}">failed run (ipynb)</a>')

    title = f'<a href="{_href(layout.html(name), layout.out)}">{_e(name)}</a>' if html_exists else _e(name)
    if job.title and job.title != name:
        title += f'<div class="title">{_e(job.title)}</div>'
    title += f'<div class="meta">notebook <code>{_e(job.notebook.name)}</code></div>'
    seconds = rec.get("seconds")
    built = (rec.get("last_ok") or {}).get("finished") if status == "failed" else rec.get("finished")
    timing = "" if seconds is None else f"{float(seconds):.1f} s"
    if built:
        timing += f"<br>{_e(_fmt_time(built))}" + (" (last good)" if status == "failed" else "")
    row = (
        f'<tr class="report status-{_e(status_cls)}" data-name="{_e(name)}" data-status="{_e(status)}">'
        f'<td class="name">{title}<div class="links">{"".join(links)}</div></td>'
        f'<td class="status"><span class="status-label">{_e(status)}</span><div class="meta">{timing}</div></td>'
        f'<td class="verdict">{verdict_html}</td>'
        f'<td class="params">{params_html}</td>'
        "</tr>"
    )
    return status, row


def render_index(layout: Layout, jobs: list[Job]) -> str:
    rows, counts = [], {}
    for job in jobs:
        status, row = index_row(layout, job)
        counts[status] = counts.get(status, 0) + 1
        rows.append(row)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no reports"
    csp = CSP
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>Reports: occupational injuries in Kazakhstan</title>\n"
        f"<style>{_INDEX_CSS}</style>\n</head>\n<body>\n"
        "<h1>Reports: occupational injuries in Kazakhstan</h1>\n"
        f'<p class="summary">{len(jobs)} report(s): {_e(summary)}. Each row links the rendered report, '
        "its results JSON and the executed notebook.</p>\n"
        '<table id="verdicts">\n<thead><tr><th>Report</th><th>Status, run time</th><th>Verdict</th>'
        "<th>Parameters</th></tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n"
        "</body>\n</html>\n"
    )


# ------------------------------------------------------------------------------------------------------ build


@contextlib.contextmanager
def _build_lock(layout: Layout, say: Callable[[str], None]):
    import fcntl

    layout.cache.mkdir(parents=True, exist_ok=True)
    with open(layout.cache / "build.lock", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another build into {_rel(layout.out)} ...")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _sweep_temporaries(layout: Layout) -> None:
    """Remove what an interrupted (killed) build may have left: private run folders and unrenamed temp files."""
    import shutil

    shutil.rmtree(layout.out / ".tmp", ignore_errors=True)
    for d in (layout.out, layout.out / "results", layout.out / "executed", layout.cache):
        if d.is_dir():
            for p in d.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    p.unlink()


def _workers(requested: int | None, n_jobs: int) -> int:
    if requested:
        return max(1, min(requested, n_jobs))
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, n_jobs))


def _short(text: str | None, width: int = 160) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[: width - 1] + "…"


def run_jobs(
    todo,
    layout: Layout,
    progress: Progress,
    workers: int,
    cell_timeout: float | None,
    on_result,
    preload=True,
):
    """Run ``todo`` [(job, key, inputs)] on a process pool, ``workers`` at a time, longest (last run) first.

    With ``preload``, each worker's kernels are forked from a process that has already imported what the
    notebooks import (analysis.reporting.kernels): one kernel per notebook still, without 2-4 s of imports each.
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    def last_seconds(item):
        rec = read_json(layout.record(item[0].name)) or {}
        return -(rec.get("seconds") or 1e9)

    pending = sorted(todo, key=lambda it: (last_seconds(it), it[0].name))
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    log_path = str(layout.cache / "build.log")
    with open(log_path, "w"):
        pass  # a fresh log for this build's kernel and library noise

    modules = []
    if preload and hasattr(os, "fork"):
        from analysis.reporting.runner import imported_modules

        modules = imported_modules(sorted({str(job.notebook) for job, _, _ in todo}))

    def new_pool():
        return ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(log_path, modules)
        )

    pool = new_pool()
    in_flight = {}
    try:
        while pending or in_flight:
            while pending and len(in_flight) < workers:
                job, key, inputs = pending.pop(0)
                args = (str(job.notebook), job.parameters, job.name, str(layout.out), job.title, cell_timeout)
                try:
                    fut = pool.submit(_run_job, *args)
                except BrokenProcessPool:
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = new_pool()
                    fut = pool.submit(_run_job, *args)
                progress.start(job.name)
                in_flight[fut] = (job, key, inputs, time.perf_counter())
            done, _ = wait(list(in_flight), timeout=0.25, return_when=FIRST_COMPLETED)
            progress.tick()
            for fut in done:
                job, key, inputs, t0 = in_flight.pop(fut)
                try:
                    result = fut.result()
                except BaseException as exc:  # noqa: BLE001 - a crashed worker is a failed report, not a crash
                    result = _Crash(
                        job.name, f"worker failed: {type(exc).__name__}: {exc}", time.perf_counter() - t0
                    )
                on_result(job, key, inputs, result)
    except BaseException:
        for fut in in_flight:
            fut.cancel()
        procs = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:  # SIGTERM: papermill's kernels die with their parent (ipykernel's parent poller)
            with contextlib.suppress(Exception):
                p.terminate()
        raise
    else:
        pool.shutdown(wait=True)


def build(
    notebooks_dir: Path = NOTEBOOKS_DIR,
    out_dir: Path = REPORTS_DIR,
    *,
    config: Path | None = None,
    force: bool = False,
    only: list[str] | None = None,
    jobs_n: int | None = None,
    cell_timeout: float | None = 600,
    strict: bool = False,
    dry_run: bool = False,
    preload: bool = True,
    stream=None,
    tty: bool | None = None,
) -> int:
    """Build the reports; returns the exit status (0 ok, 1 a report failed, 2 usage/config error)."""
    t_start = time.perf_counter()
    stream = stream or sys.stdout
    err = sys.stderr if stream is sys.stdout else stream

    def say(msg: str, to=None) -> None:
        print(msg, file=to or stream, flush=True)

    notebooks_dir, out_dir = resolve(notebooks_dir), resolve(out_dir)
    config = resolve(config) if config else notebooks_dir / CONFIG_NAME
    if not notebooks_dir.is_dir():
        say(f"error: notebooks folder {_rel(notebooks_dir)} does not exist", err)
        return EXIT_USAGE
    try:
        jobs = make_jobs(notebooks_dir, config)
    except ConfigError as exc:
        say(f"error: {exc}", err)
        return EXIT_USAGE
    if only:
        unknown = sorted(set(only) - {j.name for j in jobs})
        if unknown:
            say(
                f"error: no report named {', '.join(unknown)} (known: {', '.join(j.name for j in jobs)})", err
            )
            return EXIT_USAGE
    for job in jobs:
        if job.skipped:
            say(f"{'error' if strict else 'warning'}: {job.skipped}", err)
    if strict and any(j.skipped for j in jobs):
        return EXIT_USAGE

    layout = Layout(out_dir)
    glob_inputs = global_inputs()
    todo, fresh, unselected = [], [], []
    for job in jobs:
        if job.skipped:
            continue
        if only and job.name not in only:
            unselected.append(job)
            continue
        inputs = job_inputs(job, glob_inputs)
        key = inputs_key(inputs)
        if force or not is_up_to_date(layout, job, key):
            todo.append((job, key, inputs))
        else:
            fresh.append(job)

    if dry_run:
        for job, _, _ in todo:
            say(f"would build  {job.name}  ({_rel(job.notebook)})")
        say(f"{len(todo)} to build, {len(fresh)} up to date")
        return EXIT_OK

    failures: list[tuple[Job, str]] = []
    built = 0
    with _build_lock(layout, say):
        if todo:
            _sweep_temporaries(layout)
            progress = Progress(len(todo), stream, tty)
            workers = _workers(jobs_n, len(todo))

            def on_result(job, key, inputs, result):
                nonlocal built
                record_result(layout, job, key, inputs, result)
                ok = result.status == "ok"
                if ok:
                    built += 1
                else:
                    failures.append((job, result.error or "failed"))
                progress.end(job.name, ok, "" if ok else _short(result.error))

            try:
                run_jobs(todo, layout, progress, workers, cell_timeout, on_result, preload)
            except KeyboardInterrupt:
                progress.close()
                _write_text_if_changed(layout.index, render_index(layout, jobs))
                say(
                    "interrupted: finished reports are in place, the others keep their last good version", err
                )
                return EXIT_INTERRUPTED
            finally:
                progress.close()
        # Forget cache records of reports that are no longer configured.
        names = {j.name for j in jobs}
        if layout.cache.is_dir():
            for rec in layout.cache.glob("*.json"):
                if rec.stem not in names:
                    with contextlib.suppress(OSError):
                        rec.unlink()
        index_written = _write_text_if_changed(layout.index, render_index(layout, jobs))

    elapsed = time.perf_counter() - t_start
    skipped = sum(1 for j in jobs if j.skipped)
    parts = [f"{built} built", f"{len(failures)} failed", f"{len(fresh)} up to date"]
    if skipped:
        parts.append(f"{skipped} skipped")
    if unselected:
        parts.append(f"{len(unselected)} not selected")
    tail = f" -> {_rel(layout.index)}" + ("" if index_written else " (unchanged)")
    say(f"report: {', '.join(parts)} in {elapsed:.1f}s{tail}")
    for job, error in failures:
        say(f"FAILED {job.name}: {error}", err)
    return EXIT_FAILED if failures else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.build", description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="build only these reports (default: all that are out of date)")
    ap.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    ap.add_argument("--out", type=Path, default=REPORTS_DIR, help="output folder (default: reports/)")
    ap.add_argument(
        "--notebooks", type=Path, default=NOTEBOOKS_DIR, help="notebooks folder (default: notebooks/)"
    )
    ap.add_argument("--config", type=Path, help=f"variants file (default: <notebooks>/{CONFIG_NAME})")
    ap.add_argument("-j", "--jobs", type=int, help="parallel kernels (default: available cores)")
    ap.add_argument(
        "--timeout", type=float, default=600, help="seconds allowed per cell (default: 600; 0 = none)"
    )
    ap.add_argument("--strict", action="store_true", help="a variant naming a missing notebook is an error")
    ap.add_argument("-n", "--dry-run", action="store_true", help="list what would be built, build nothing")
    ap.add_argument(
        "--no-preload",
        action="store_true",
        help="start every kernel from scratch instead of forking it from a process that did the imports once",
    )
    args = ap.parse_args(argv)
    return build(
        args.notebooks,
        args.out,
        config=args.config,
        force=args.force,
        only=args.names or None,
        jobs_n=args.jobs,
        cell_timeout=args.timeout or None,
        strict=args.strict,
        dry_run=args.dry_run,
        preload=not args.no_preload,
    )


if __name__ == "__main__":
    sys.exit(main())
