"""Build every report: ``python -m analysis.build`` (``make report``; ``FORCE=1`` adds ``--force``).

Runs each notebook in ``notebooks/`` with its default parameters, plus the named parameter variants of
``notebooks/reports.toml``, one kernel per run, in parallel on the available cores, and writes::

    reports/<name>.html                   the report (code hidden, self-contained; analysis.reporting.runner)
    reports/<name>/<table>.csv            its main tables; reports/results/<name>-estimates.csv its estimates
    reports/executed/<name>.ipynb         the executed notebook
    reports/results/<name>.json           parameters, results, verdict (published by the notebook)
    reports/index.html                    one row per question (analysis.reporting.index)
    reports/glossary.html                 the glossary every page links to
    reports/.cache/<name>.json            inputs, status, run time and error of the last run

A report is rebuilt only when something it depends on changed (``analysis.reporting.deps``): its notebook (cell
sources and tags: saving outputs does not count), its parameters, the ``analysis`` source files its notebook and
study import (followed transitively), the data files its registry entry declares, ``requirements.lock``; or when
its last run failed or an output file is missing. ``--force`` rebuilds all. A failed notebook makes the exit status
1 and is named with its failing cell and error; its last good HTML stays in place and the index marks it failed.
Every write is atomic.

Faults: the build holds ``reports/.cache/build.lock`` with a POSIX record lock (``fcntl.lockf``), which its
children never inherit and the kernel releases when the build dies, however it dies; the file names the holder's
pid, so a build that died without finishing is noticed (and its leftovers swept) by the next one. Pool workers,
their kernel zygotes and the kernels die with the build (Linux parent-death signal, ipykernel's parent poller); on
SIGTERM the build stops its workers itself. When a worker dies, the reports that were running beside it are
retried once. Stale private run folders (``reports/.tmp/<name>-*/``) are removed by any later build. An output
folder that cannot be written gives one line naming it.

This module imports only the standard library at start, so a build with nothing to do takes a fraction of a second.
With work to do, the builder loads papermill and nbconvert once before its workers fork (they inherit them); pandas,
the statistics and the notebooks' own imports load only in the kernels.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import re
import signal
import sys
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from analysis.core.paths import DATA_DIR, NOTEBOOKS_DIR, REPORTS_DIR, ROOT, resolve
from analysis.reporting import KERNEL_NAME, deps

BUILD_FORMAT = 2  # bump to invalidate every cache record
CONFIG_NAME = "reports.toml"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_TERMINATED = 128 + signal.SIGTERM
# The report machinery itself: editing it changes every page (template, tables, footer), so every report
# depends on its import closure too.
RENDERER = "analysis.reporting.runner"


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
    """The notebooks to build: every ``*.ipynb`` in ``nb_dir`` except hidden, underscore-prefixed and
    checkpoint copies.

    Parameters
    ----------
    nb_dir : pathlib.Path
        The notebooks folder (not searched recursively).

    Returns
    -------
    list of pathlib.Path
        The notebooks, sorted by path.
    """
    return sorted(
        p for p in nb_dir.glob("*.ipynb") if not p.name.startswith((".", "_")) and "-checkpoint" not in p.name
    )


def load_config(path: Path) -> dict:
    """``{variant name: {"notebook": stem, "title": str, "parameters": dict}}`` from ``reports.toml``.

    Parameters
    ----------
    path : pathlib.Path
        The variants file; a missing file means no variants.

    Returns
    -------
    dict
        One entry per ``[variants.<name>]`` table, in file order.

    Raises
    ------
    ConfigError
        Naming ``reports.toml`` (relative to the project root) and the offending variant and key. Raised for
        TOML that does not parse, an unknown key, a name that is not a safe file name, a missing ``notebook``,
        ``parameters`` or ``title`` of the wrong type, or a ``results_dir`` parameter.
    """
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
    """The build's jobs: one per notebook of ``nb_dir``, then one per variant of the config file.

    Parameters
    ----------
    nb_dir : pathlib.Path
        The notebooks folder.
    config_path : pathlib.Path
        The variants file (``reports.toml``; may be missing).

    Returns
    -------
    list of Job
        The notebooks' jobs (no parameters) then the variants'; a variant naming a notebook that does not
        exist has ``skipped`` set to the reason.

    Raises
    ------
    ConfigError
        Naming ``reports.toml`` (relative to the project root) and the offending variant and key. Raised for
        an invalid config (:func:`load_config`), a variant named like a notebook, or a variant parameter the
        notebook's ``parameters`` cell does not declare.
    """
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
    """Names assigned in the notebook's cell tagged ``parameters`` (read with ``ast``, nothing executed).

    Parameters
    ----------
    path : pathlib.Path
        The notebook.

    Returns
    -------
    list of str
        The names, in order; empty when the notebook cannot be read or has no ``parameters`` cell.

    Raises
    ------
    ConfigError
        Naming the notebook when its ``parameters`` cell is not valid Python.
    """
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


def notebook_sha(path: Path) -> str:
    """Hash of the cells' types, sources and tags: saving a notebook with outputs does not invalidate it.

    Parameters
    ----------
    path : pathlib.Path
        The notebook.

    Returns
    -------
    str
        The hexadecimal digest (:func:`analysis.reporting.deps.notebook_digest`).
    """
    return deps.notebook_digest(path.read_bytes())


def file_digest(path: Path) -> str:
    """SHA-256 of a file (tests replace this to pin the project's own files).

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    str
        The hexadecimal SHA-256 of its bytes.
    """
    return deps.file_digest(path)


class Inputs:
    """Everything a report's cache key hashes, each file hashed once per build (see ``analysis.reporting.deps``).

    ``imports_memo`` is the persistent map from a source file's hash to what it imports, so a build with nothing
    to do parses no source.
    """

    def __init__(self, root: Path | None = None, data_dir: Path | None = None, imports_memo: dict | None = None):
        self.root = ROOT if root is None else root
        self.data_dir = data_dir if data_dir is not None else DATA_DIR if root is None else self.root / "data"
        self._digests: dict[Path, str] = {}
        self.closure = deps.Closure(self.root, imports_memo, self.digest)
        self._registry = None

    def digest(self, path: Path) -> str:
        """The SHA-256 of a file, computed once per build ("missing" when it cannot be read).

        Parameters
        ----------
        path : pathlib.Path
            The file.

        Returns
        -------
        str
            Its hexadecimal digest, or ``"missing"``.
        """
        if path not in self._digests:
            try:
                self._digests[path] = file_digest(path)
            except OSError:
                self._digests[path] = "missing"
        return self._digests[path]

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    @property
    def registry(self):
        if self._registry is None:
            from analysis.studies import registry

            self._registry = registry
        return self._registry

    def entry(self, job: Job):
        """The study registry's entry for the report's notebook.

        Parameters
        ----------
        job : Job
            The report.

        Returns
        -------
        analysis.studies.registry.Entry or None
            The entry, or None for a notebook no study declares.
        """
        return self.registry.for_notebook(job.notebook.stem)

    def sources(self, job: Job) -> list[Path]:
        """The ``analysis`` source files the report's notebook, study and renderer import (transitively).

        Parameters
        ----------
        job : Job
            The report.

        Returns
        -------
        list of pathlib.Path
            The files of the import closure (``analysis.reporting.deps.Closure``).
        """
        modules = deps.notebook_imports(job.notebook)
        entry = self.entry(job)
        if entry is not None:
            modules.append(entry.module)
        return self.closure.files([*modules, RENDERER])

    def data_files(self, job: Job) -> list[Path]:
        """The data files the report's registry entry declares; every data file for a notebook not registered.

        Parameters
        ----------
        job : Job
            The report.

        Returns
        -------
        list of pathlib.Path
            Sorted; a declared file not yet present is listed (and hashed as missing until it appears).
        """
        entry = self.entry(job)
        if entry is None:
            if not self.data_dir.is_dir():
                return []
            return sorted(p for p in self.data_dir.rglob("*") if p.is_file() and not any(
                part.startswith(".") or part == "__pycache__" for part in p.relative_to(self.data_dir).parts))
        files = []
        for stem in entry.data_files:
            found = sorted(p for p in self.data_dir.glob(f"{stem}.*") if p.is_file())
            files += found or [self.data_dir / f"{stem}.csv"]  # hashed as "missing" until it appears
        return sorted(set(files))

    def job_inputs(self, job: Job) -> dict:
        """The report's input record: what its cache key hashes.

        Parameters
        ----------
        job : Job
            The report.

        Returns
        -------
        dict
            Build format, kernel name, digests of the notebook (code cells only) and of the parameters, the title,
            the digest of each source file (:meth:`sources`) and data file (:meth:`data_files`), and of
            ``requirements.lock``.
        """
        lock = self.root / "requirements.lock"
        return {
            "format": BUILD_FORMAT,
            "kernel": KERNEL_NAME,
            "notebook": notebook_sha(job.notebook),
            "parameters": _sha(json.dumps(job.parameters, sort_keys=True, ensure_ascii=False).encode()),
            "title": job.title,
            "sources": {self._rel(p): self.digest(p) for p in self.sources(job)},
            "data": {self._rel(p): self.digest(p) for p in self.data_files(job)},
            "lock": self.digest(lock),
        }


def inputs_key(inputs: dict) -> str:
    """The cache key of a report: a hash of its input record.

    Parameters
    ----------
    inputs : dict
        The input record (:meth:`Inputs.job_inputs`): format, kernel, notebook, parameters, title, source
        and data digests, lock file digest.

    Returns
    -------
    str
        The hexadecimal SHA-256 of the record as JSON with sorted keys.
    """
    return _sha(json.dumps(inputs, sort_keys=True).encode())


def changed_inputs(old: dict | None, new: dict) -> list[str]:
    """What differs between two input records, in words ('analysis/stats/regions.py', 'parameters', ...).

    Parameters
    ----------
    old : dict or None
        The record of the last build (None or empty when never built).
    new : dict
        The record now.

    Returns
    -------
    list of str
        The changed top-level fields ('requirements.lock' for the lock file) and the changed source and data
        files; ``["never built"]`` when ``old`` is empty.
    """
    if not old:
        return ["never built"]
    out = []
    for key in ("format", "kernel", "notebook", "parameters", "title", "lock"):
        if old.get(key) != new.get(key):
            out.append("requirements.lock" if key == "lock" else key)
    for key in ("sources", "data"):
        a, b = old.get(key) or {}, new.get(key) or {}
        if not isinstance(a, dict):
            out.append(key)
            continue
        out += sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return out


# ------------------------------------------------------------------------------------------------ out layout


@dataclasses.dataclass(frozen=True)
class Layout:
    out: Path

    @property
    def cache(self) -> Path:
        return self.out / ".cache"

    @property
    def tmp(self) -> Path:
        return self.out / ".tmp"

    @property
    def index(self) -> Path:
        return self.out / "index.html"

    @property
    def running(self) -> Path:
        return self.cache / "running"

    def html(self, name: str) -> Path:
        """The report's page, ``OUT/NAME.html``.

        Parameters
        ----------
        name : str
            The report's name.

        Returns
        -------
        pathlib.Path
        """
        return self.out / f"{name}.html"

    def results(self, name: str) -> Path:
        """The report's results JSON, ``OUT/results/NAME.json``.

        Parameters
        ----------
        name : str
            The report's name.

        Returns
        -------
        pathlib.Path
        """
        return self.out / "results" / f"{name}.json"

    def estimates(self, name: str) -> Path:
        """The report's estimates table, ``OUT/results/NAME-estimates.csv``.

        Parameters
        ----------
        name : str
            The report's name.

        Returns
        -------
        pathlib.Path
        """
        return self.out / "results" / f"{name}-estimates.csv"

    def tables_dir(self, name: str) -> Path:
        """The folder of the report's full tables (CSV files linked from shortened tables), ``OUT/NAME/``.

        Parameters
        ----------
        name : str
            The report's name.

        Returns
        -------
        pathlib.Path
        """
        return self.out / name

    def executed(self, name: str) -> Path:
        """The report's executed notebook, ``OUT/executed/NAME.ipynb``.

        Parameters
        ----------
        name : str
            The report's name.

        Returns
        -------
        pathlib.Path
        """
        return self.out / "executed" / f"{name}.ipynb"

    def failed_executed(self, name: str) -> Path:
        """The executed notebook of the report's last failed run, ``OUT/executed/NAME.failed.ipynb``.

        Parameters
        ----------
        name : str
            The report's name.

        Returns
        -------
        pathlib.Path
        """
        return self.out / "executed" / f"{name}.failed.ipynb"

    def record(self, name: str) -> Path:
        """The report's cache record (input record, status, output digests), ``OUT/.cache/NAME.json``.

        Parameters
        ----------
        name : str
            The report's name.

        Returns
        -------
        pathlib.Path
        """
        return self.cache / f"{name}.json"

    def outputs(self, name: str) -> list[Path]:
        """The outputs whose digests the cache record keeps: page, results JSON, executed notebook.

        Parameters
        ----------
        name : str
            The report's name.

        Returns
        -------
        list of pathlib.Path
        """
        return [self.html(name), self.results(name), self.executed(name)]

    def writable_dirs(self) -> list[Path]:
        """The folders a build writes into (checked before it starts: :func:`check_writable`).

        Returns
        -------
        list of pathlib.Path
        """
        return [self.out, self.cache, self.out / "results", self.out / "executed"]


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


def _output_digests(layout: Layout, name: str) -> dict[str, str | None]:
    """SHA-256 of each output of a report (None when missing): what the build wrote, so that a file changed by
    anything else (an ad-hoc run, a hand edit) is rebuilt rather than shown in the index."""
    out = {}
    for path in layout.outputs(name):
        try:
            out[_rel(path)] = file_digest(path)
        except OSError:
            out[_rel(path)] = None
    return out


def is_up_to_date(layout: Layout, job: Job, key: str) -> bool:
    """Whether a report needs no rebuild: its last run succeeded with the same cache key and its outputs are
    exactly what that run wrote.

    Parameters
    ----------
    layout : Layout
        The output folder's layout (reports, results, cache).
    job : Job
        The report or variant.
    key : str
        The report's cache key now (:func:`inputs_key`).

    Returns
    -------
    bool
        True when the record says ``ok`` with ``key`` and every output exists with the recorded SHA-256 (a
        file changed by anything else, such as an ad-hoc run or a hand edit, means a rebuild).
    """
    rec = read_json(layout.record(job.name))
    if rec is None or rec.get("status") != "ok" or rec.get("key") != key:
        return False
    now = _output_digests(layout, job.name)
    return None not in now.values() and rec.get("outputs") == now


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
    """Store the outcome of one run in ``.cache/<name>.json`` (run times live here, never in results JSON).

    Parameters
    ----------
    layout : Layout
        The output folder's layout (reports, results, cache).
    job : Job
        The report or variant.
    key : str
        The report's cache key (:func:`inputs_key`).
    inputs : dict
        The input record the key hashes.
    result : object
        The run's outcome (``status``, ``seconds``, ``error``; optional ``notes``, ``thumbnail``,
        ``thumbnail_alt``), as :func:`analysis.reporting.runner.run_notebook` returns.

    Returns
    -------
    dict
        The record written; after a success it holds the outputs' SHA-256 and ``last_ok``, after a failure the
        previous ``last_ok`` and thumbnail are kept.
    """
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
        "notes": list(getattr(result, "notes", ()) or ()),
        "thumbnail": getattr(result, "thumbnail", None) or prev.get("thumbnail"),
        "thumbnail_alt": getattr(result, "thumbnail_alt", None) or prev.get("thumbnail_alt"),
        "last_ok": prev.get("last_ok"),
    }
    if result.status == "ok":
        rec["outputs"] = _output_digests(layout, job.name)
        rec["thumbnail"] = getattr(result, "thumbnail", None)
        rec["thumbnail_alt"] = getattr(result, "thumbnail_alt", None)
        rec["last_ok"] = {"key": key, "finished": rec["finished"], "seconds": result.seconds}
    _write_json(layout.record(job.name), rec)
    return rec


# --------------------------------------------------------------------------------------------------- workers


def _init_worker(log_path: str, zygote: str | None, build_pid: int, running_dir: str) -> None:
    """Set a pool worker up: die with the build, keep noise off the terminal, connect to the kernel zygote.

    The worker asks Linux for SIGTERM when the build dies (``PR_SET_PDEATHSIG``; the zygote and the kernels do the
    same), so killing the build never leaves workers behind. Its fds 1 and 2 go to the build log. With a
    ``zygote`` address, its kernels are forked by the build's zygote (which imported the notebooks' modules once).
    """
    from analysis.reporting.zygote import die_with_parent

    die_with_parent(signal.SIGTERM)
    if os.getppid() != build_pid:  # the build died before the request took effect
        os._exit(1)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    # Ctrl-C is handled by the main process (it cancels the build); a worker finishes or is terminated.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ["KZ_BUILD_RUNNING_DIR"] = running_dir
    if zygote:
        from analysis.reporting.kernels import connect_zygote

        connect_zygote(zygote)


def warm_renderer() -> None:
    """Import papermill and the HTML exporter and compile its template once, in the builder, just before the
    workers fork: they inherit it instead of each paying for it (about 0.8 s of CPU per worker). Only when there
    is work to do; never pandas or the statistics (the notebooks import those in their kernels)."""
    import nbformat
    import papermill  # noqa: F401 - imported for the workers

    from analysis.reporting.runner import render_html

    render_html(nbformat.v4.new_notebook(), "warm-up")


def _run_job(notebook: str, parameters: dict, name: str, out_dir: str, title: str, cell_timeout: float | None,
             provenance: dict | None = None):
    from analysis.reporting.runner import run_notebook

    marker = Path(os.environ.get("KZ_BUILD_RUNNING_DIR", out_dir)) / f"{name}.pid"
    with contextlib.suppress(OSError):
        marker.write_text(str(os.getpid()), encoding="ascii")  # which worker runs which report (for tests, ps)
    try:
        return run_notebook(notebook, parameters, name, out_dir, cell_timeout=cell_timeout, title=title,
                            provenance=provenance, index_href="index.html")
    finally:
        with contextlib.suppress(OSError):
            marker.unlink()


@dataclasses.dataclass
class _Crash:
    """Stands in for a RunResult when the worker itself failed (crash, import error)."""

    name: str
    error: str
    seconds: float
    status: str = "failed"
    verdict: str | None = None
    notes: tuple = ()


class Terminated(BaseException):
    """The build received SIGTERM: stop the workers, keep the last good reports, exit 143."""


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
        """Print that a report started.

        Parameters
        ----------
        name : str
            The report's name.
        """
        self.running[name] = time.perf_counter()
        self._write_line(f"[{self.done}/{self.total}] start   {name}")

    def end(self, name: str, ok: bool, detail: str = "") -> float:
        """Print that a report ended, ok or failed, with its run time and an optional detail.

        Parameters
        ----------
        name : str
            The report's name.
        ok : bool
            Whether it built.
        detail : str, default ""
            Appended to the line (the failure, in one line).

        Returns
        -------
        float
            Seconds since its start (or since the build started, for a report never started).
        """
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

    def retry(self, name: str, why: str) -> None:
        """Print that a report is run again, and why.

        Parameters
        ----------
        name : str
            The report's name.
        why : str
            The reason (e.g. its build worker died).
        """
        self.running[name] = time.perf_counter()
        self._write_line(f"[{self.done}/{self.total}] retry   {name}  ({why})")

    def tick(self) -> None:
        """Redraw the live bar (TTY only; does nothing on a pipe or file)."""
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
        """Erase the live bar, if one is shown, leaving the printed lines."""
        if self.tty and self._bar_shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._bar_shown = False


# ------------------------------------------------------------------------------------------- lock and sweep


class OutputError(Exception):
    """The output folder cannot be written (read-only, permissions, not a folder): one line for the user."""


def _describe_os_error(exc: OSError, fallback: Path) -> str:
    path = exc.filename or fallback
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EROFS,):
        reason = "read-only file system"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        reason = f"not writable ({exc.strerror})"
    return f"cannot write to {_rel(Path(path))}: {reason}"


def check_writable(layout: Layout) -> None:
    """Create the output folders and write a probe file in each; ``OutputError`` naming the first that fails.

    Parameters
    ----------
    layout : Layout
        The output folder's layout (reports, results, cache).

    Raises
    ------
    OutputError
        Naming the folder (and the reason, e.g. permission denied or a read-only file system) that cannot be
        created or written.
    """
    import tempfile

    for d in layout.writable_dirs():
        try:
            d.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".probe.", suffix=".tmp", dir=d)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise OutputError(_describe_os_error(exc, d)) from None


def _pid_alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie, dead but not yet reaped by its new parent, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): the signal test is all we have
    return state not in ("Z", "X")


def _lock_holder(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 4096).decode("utf-8", "replace")
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        out[key] = value.strip()
    return out


@contextlib.contextmanager
def build_lock(layout: Layout, say: Callable[[str], None]):
    """Hold ``.cache/build.lock`` for the build: a POSIX record lock (``fcntl.lockf``), released by the kernel
    when this process ends, never inherited by its children (so a killed build's workers cannot keep it).

    The file records ``pid``, ``started`` and, at a clean end, ``finished``. A build finding a record without
    ``finished`` whose pid is gone says that it takes over from a build that died.

    Parameters
    ----------
    layout : Layout
        The output folder's layout (reports, results, cache).
    say : callable
        Prints one line of progress (used while waiting for another build and when taking over a lock).

    Yields
    ------
    None
        While the lock is held.

    Raises
    ------
    OutputError
        Naming the lock file when it cannot be opened.
    """
    import fcntl

    path = layout.cache / "build.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise OutputError(_describe_os_error(exc, path)) from None
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            holder = _lock_holder(fd)
            who = f" (pid {holder['pid']}, started {holder.get('started', '?')})" if holder.get("pid") else ""
            say(f"waiting for another build into {_rel(layout.out)}{who} ...")
            fcntl.lockf(fd, fcntl.LOCK_EX)
        prev = _lock_holder(fd)
        if prev.get("pid", "").isdigit() and "finished" not in prev and int(prev["pid"]) != os.getpid():
            alive = _pid_alive(int(prev["pid"]))
            state = "did not finish" if alive else "died"
            say(f"note: the previous build (pid {prev['pid']}, started {prev.get('started', '?')}) {state}; "
                "taking over its lock and removing what it left behind")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\nstarted {_now()}\n".encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"pid {os.getpid()}\nfinished {_now()}\n".encode(), 0)
            fcntl.lockf(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def sweep_temporaries(layout: Layout) -> list[Path]:
    """Remove what an interrupted (killed) build or run left: private run folders whose owner is gone,
    unrenamed temp files, stale running markers. Returns what was removed.

    Parameters
    ----------
    layout : Layout
        The output folder's layout (reports, results, cache).

    Returns
    -------
    list of pathlib.Path
        The run folders and temporary files removed (stale running markers are removed but not listed).
    """
    import shutil

    from analysis.reporting import OWNER_FILE

    removed = []
    if layout.tmp.is_dir():
        for d in layout.tmp.iterdir():
            owner = d / OWNER_FILE
            try:
                pid = int(owner.read_text(encoding="ascii").strip())
            except (OSError, ValueError):
                pid = None
            # No owner file: an interrupted run's (the runner writes it right after creating the folder; only the
            # build, under its lock, runs reports into this folder).
            if pid is None or not _pid_alive(pid) or not d.is_dir():
                if d.is_dir():
                    shutil.rmtree(d, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        d.unlink()
                removed.append(d)
        with contextlib.suppress(OSError):
            layout.tmp.rmdir()  # only when empty
    for d in (layout.out, layout.out / "results", layout.out / "executed", layout.cache):
        if d.is_dir():  # unrenamed temp files of atomic writes (only the build writes here, under its lock)
            for p in d.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    p.unlink()
                    removed.append(p)
    if layout.running.is_dir():
        for marker in layout.running.glob("*.pid"):
            with contextlib.suppress(OSError, ValueError):
                if not _pid_alive(int(marker.read_text().strip())):
                    marker.unlink()
    return removed


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


def stop_workers(pool, timeout: float = 5.0) -> None:
    """Shut ``pool`` down now and end its worker processes (public APIs only: the pool's workers are this
    process's multiprocessing children, ``multiprocessing.active_children()``). SIGTERM first; the zygotes and
    kernels follow through their parent-death signal.

    Parameters
    ----------
    pool : concurrent.futures.ProcessPoolExecutor
        The pool; its pending futures are cancelled.
    timeout : float, default 5.0
        Seconds to wait, in all, for the workers to end after SIGTERM before they are killed (SIGKILL).
    """
    import multiprocessing

    with contextlib.suppress(Exception):
        pool.shutdown(wait=False, cancel_futures=True)
    children = multiprocessing.active_children()
    for p in children:
        with contextlib.suppress(Exception):
            p.terminate()
    deadline = time.monotonic() + timeout
    for p in children:
        with contextlib.suppress(Exception):
            p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            with contextlib.suppress(Exception):
                p.kill()


def run_jobs(
    todo,
    layout: Layout,
    progress: Progress,
    workers: int,
    cell_timeout: float | None,
    on_result,
    preload=True,
    provenance: dict | None = None,
):
    """Run ``todo`` [(job, key, inputs)] on a process pool, ``workers`` at a time, longest (last run) first.

    With ``preload``, the workers' kernels are forked from one process that has already imported what the
    notebooks import (analysis.reporting.kernels): one kernel per notebook still, without 2-4 s of imports
    each. When a worker dies (killed, out of memory), every report running at that moment fails with
    ``BrokenProcessPool``; each is retried once on a fresh pool, so the innocent ones still build.

    Parameters
    ----------
    todo : iterable of tuple
        ``(job, key, inputs)`` for each report to run: the :class:`Job`, its cache key and its input record.
    layout : Layout
        The output folder's layout (the build log goes to ``.cache/build.log``).
    progress : Progress
        Reports each start, end and retry.
    workers : int
        Reports run at once.
    cell_timeout : float or None
        Seconds allowed per cell; None for no limit.
    on_result : callable
        Called in this process as ``on_result(job, key, inputs, result)`` once per report, as each finishes (a
        crashed worker's report gets a failed result).
    preload : bool, default True
        Fork the kernels from a zygote that imported the notebooks' modules once.
    provenance : dict, optional
        The build's provenance, for each page's footer.

    Raises
    ------
    BaseException
        Whatever interrupts the build (``KeyboardInterrupt``, :class:`Terminated`) is re-raised after the
        pool's workers are stopped.
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
    layout.running.mkdir(parents=True, exist_ok=True)

    zygote = own_zygote = None
    if preload:  # first, so that its imports overlap the warm-up and the workers' start
        from analysis.reporting import kernels

        modules = deps.imported_modules(sorted({str(job.notebook) for job, _, _ in todo}))
        zygote = kernels.shared()  # one opened for several builds in this process (kernels.shared_zygote)
        if zygote is None:
            zygote = own_zygote = kernels.start_zygote(modules, log_path)
        else:
            zygote.preload(modules)

    warm_renderer()

    def new_pool():
        return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(log_path, zygote and zygote.address, os.getpid(), str(layout.running)))

    pool = new_pool()
    in_flight = {}
    retried: set[str] = set()
    try:
        while pending or in_flight:
            while pending and len(in_flight) < workers:
                job, key, inputs = pending.pop(0)
                args = (str(job.notebook), job.parameters, job.name, str(layout.out), job.title, cell_timeout,
                        provenance)
                try:
                    fut = pool.submit(_run_job, *args)
                except (BrokenProcessPool, RuntimeError):  # broken, or shut down after breaking
                    stop_workers(pool)
                    pool = new_pool()
                    fut = pool.submit(_run_job, *args)
                if job.name not in retried:
                    progress.start(job.name)
                in_flight[fut] = (job, key, inputs, time.perf_counter())
            done, _ = wait(list(in_flight), timeout=0.25, return_when=FIRST_COMPLETED)
            progress.tick()
            for fut in done:
                job, key, inputs, t0 = in_flight.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    if job.name not in retried:
                        retried.add(job.name)
                        progress.retry(job.name, "a build worker died while it ran; retrying once")
                        pending.insert(0, (job, key, inputs))
                        continue
                    result = _Crash(job.name, "its build worker died twice (killed by a signal or out of memory)",
                                    time.perf_counter() - t0)
                except BaseException as exc:  # noqa: BLE001 - a crashed worker is a failed report, not a crash
                    result = _Crash(
                        job.name, f"worker failed: {type(exc).__name__}: {exc}", time.perf_counter() - t0
                    )
                on_result(job, key, inputs, result)
    except BaseException:
        for fut in in_flight:
            fut.cancel()
        stop_workers(pool)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        if own_zygote is not None:
            own_zygote.stop()


# ----------------------------------------------------------------------------------------------------- index


def index_items(layout: Layout, jobs: list[Job]) -> list[dict]:
    """What the index shows: one item per configured report (status from the cache record) and per claim.

    Parameters
    ----------
    layout : Layout
        The output folder's layout (reports, results, cache).
    jobs : list of Job
        The configured reports and variants.

    Returns
    -------
    list of dict
        One item per job (name, kind, status, record, results payload, output paths ...), then the claims'
        items (:func:`analysis.reporting.index.claim_items`).
    """
    from analysis.reporting import index

    items = []
    for job in jobs:
        rec = read_json(layout.record(job.name)) or {}
        status = "skipped" if job.skipped else rec.get("status", "not built")
        items.append({
            "name": job.name, "kind": "variant" if job.variant else "report", "status": status,
            "record": rec, "payload": read_json(layout.results(job.name)) or {}, "skipped": job.skipped,
            "title": job.title, "parameters": job.parameters, "notebook": job.notebook.stem,
            "html": layout.html(job.name), "json": layout.results(job.name),
            "estimates": layout.estimates(job.name), "tables_dir": layout.tables_dir(job.name),
            "executed": layout.executed(job.name), "failed_executed": layout.failed_executed(job.name),
        })
    return items + index.claim_items(layout.out)


def index_key(layout: Layout, items: list[dict], inputs: Inputs) -> str:
    """Changes whenever anything the index shows changes (records, results, files present, the page's code).

    Parameters
    ----------
    layout : Layout
        The output folder's layout (reports, results, cache).
    items : list of dict
        The index's items (:func:`index_items`).
    inputs : Inputs
        The build's inputs (hashes the index module's source files).

    Returns
    -------
    str
        A hexadecimal SHA-256.
    """
    h = hashlib.sha256(f"{BUILD_FORMAT}".encode())
    for p in inputs.closure.files(["analysis.reporting.index"]):
        h.update(f"{inputs._rel(p)}:{inputs.digest(p)}\n".encode())
    for item in items:
        state = {k: item.get(k) for k in ("name", "kind", "status", "skipped", "title", "parameters")}
        for k in ("record", "json", "html", "estimates", "executed", "failed_executed"):
            path = layout.record(item["name"]) if k == "record" and item["kind"] != "claim" else item.get(k)
            if isinstance(path, Path):
                with contextlib.suppress(OSError):
                    st = path.stat()
                    state[k] = [st.st_size, st.st_mtime_ns]
        tables_dir = item.get("tables_dir")
        if isinstance(tables_dir, Path) and tables_dir.is_dir():
            state["tables"] = sorted(p.name for p in tables_dir.glob("*.csv"))
        h.update(json.dumps(state, sort_keys=True, default=str).encode() + b"\n")
    return h.hexdigest()


def write_index(layout: Layout, jobs: list[Job], inputs: Inputs) -> bool:
    """Render ``index.html`` and ``glossary.html`` when anything they show changed; True if the index changed.

    Parameters
    ----------
    layout : Layout
        The output folder's layout (reports, results, cache).
    jobs : list of Job
        The configured reports and variants.
    inputs : Inputs
        The build's inputs.

    Returns
    -------
    bool
        True when ``index.html`` was rewritten with different content.
    """
    items = index_items(layout, jobs)
    key = index_key(layout, items, inputs)
    key_file = layout.cache / "index.key"
    glossary = layout.out / "glossary.html"
    try:
        same = key_file.read_text(encoding="ascii") == key
    except OSError:
        same = False
    if same and layout.index.exists() and glossary.exists():
        return False
    from analysis.reporting import index
    from analysis.reporting.provenance import collect

    changed = _write_text_if_changed(layout.index, index.render(layout.out, items, inputs.registry, collect()))
    index.write_glossary(layout.out)
    from analysis.core.io import atomic_write_text

    atomic_write_text(key_file, key)
    return changed


# ------------------------------------------------------------------------------------------------------ build


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
    """Build the reports; returns the exit status (0 ok, 1 a report failed, 2 usage/config/output error,
    130 interrupted, 143 terminated).

    Parameters
    ----------
    notebooks_dir : pathlib.Path, default NOTEBOOKS_DIR
        The notebooks folder (relative paths from the project root).
    out_dir : pathlib.Path, default REPORTS_DIR
        The output folder.
    config : pathlib.Path, optional
        The variants file; default ``<notebooks_dir>/reports.toml``.
    force : bool, default False
        Rebuild even when nothing changed.
    only : list of str, optional
        Build only these reports or variants (by name).
    jobs_n : int, optional
        Parallel kernels; default the available cores (never more than the reports to build).
    cell_timeout : float or None, default 600
        Seconds allowed per cell; None for no limit.
    strict : bool, default False
        A variant naming a missing notebook is an error rather than a warning.
    dry_run : bool, default False
        Say what would be built and why; build nothing.
    preload : bool, default True
        Fork the kernels from a process that imported the notebooks' modules once.
    stream : file-like, optional
        Where progress goes (default standard output; errors go to standard error unless ``stream`` is given).
    tty : bool, optional
        Whether ``stream`` is a terminal (a progress bar); default ``stream.isatty()``.

    Returns
    -------
    int
        The exit status: ``EXIT_OK`` (0), ``EXIT_FAILED`` (1), ``EXIT_USAGE`` (2), ``EXIT_INTERRUPTED`` (130)
        or ``EXIT_TERMINATED`` (143).
    """
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
    memo = read_json(layout.cache / "imports.json") or {}
    inputs = Inputs(imports_memo=dict(memo))

    def plan():
        todo, fresh, unselected = [], [], []
        for job in jobs:
            if job.skipped:
                continue
            if only and job.name not in only:
                unselected.append(job)
                continue
            job_in = inputs.job_inputs(job)
            key = inputs_key(job_in)
            if force or not is_up_to_date(layout, job, key):
                todo.append((job, key, job_in))
            else:
                fresh.append(job)
        return todo, fresh, unselected

    if dry_run:
        todo, fresh, _ = plan()
        for job, _, job_in in todo:
            rec = read_json(layout.record(job.name)) or {}
            why = "forced" if force else ", ".join(changed_inputs(rec.get("inputs"), job_in)[:5]) or "outputs missing or changed since the build wrote them"
            if not force and rec.get("status") == "failed" and rec.get("key") == inputs_key(job_in):
                why = "last run failed"
            say(f"would build  {job.name}  ({_rel(job.notebook)}; {why})")
        say(f"{len(todo)} to build, {len(fresh)} up to date")
        return EXIT_OK

    failures: list[tuple[Job, str]] = []
    notes: list[tuple[str, str]] = []
    built = 0
    previous_term = None
    try:
        check_writable(layout)
        with build_lock(layout, say):
            sweep_temporaries(layout)
            todo, fresh, unselected = plan()  # after the lock: a build we waited for may have done the work
            if todo:
                from analysis.reporting.provenance import collect

                provenance = collect()
                progress = Progress(len(todo), stream, tty)
                workers = _workers(jobs_n, len(todo))

                def on_result(job, key, job_in, result):
                    nonlocal built
                    record_result(layout, job, key, job_in, result)
                    ok = result.status == "ok"
                    if ok:
                        built += 1
                    else:
                        failures.append((job, result.error or "failed"))
                    progress.end(job.name, ok, "" if ok else _short(result.error))
                    notes.extend((job.name, n) for n in (getattr(result, "notes", ()) or ()))

                def on_term(signum, frame):
                    raise Terminated()

                with contextlib.suppress(ValueError):  # not the main thread: no handler, default behaviour
                    previous_term = signal.signal(signal.SIGTERM, on_term)
                try:
                    run_jobs(todo, layout, progress, workers, cell_timeout, on_result, preload, provenance)
                except (KeyboardInterrupt, Terminated) as exc:
                    progress.close()
                    write_index(layout, jobs, inputs)
                    what = "terminated" if isinstance(exc, Terminated) else "interrupted"
                    say(f"{what}: finished reports are in place, the others keep their last good version", err)
                    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
                finally:
                    progress.close()
                    if previous_term is not None:
                        signal.signal(signal.SIGTERM, previous_term)
            # Forget cache records of reports that are no longer configured.
            names = {j.name for j in jobs}
            if layout.cache.is_dir():
                for rec in layout.cache.glob("*.json"):
                    if rec.stem not in names and rec.name != "imports.json":
                        with contextlib.suppress(OSError):
                            rec.unlink()
            index_written = write_index(layout, jobs, inputs)
            used = {k: v for k, v in inputs.closure.memo.items() if k in inputs.closure.used}
            if used != memo:
                _write_json(layout.cache / "imports.json", used)
    except OutputError as exc:
        say(f"error: {exc}", err)
        return EXIT_USAGE
    except OSError as exc:  # a write into the output folder failed half-way (disk full, permissions changed)
        say(f"error: {_describe_os_error(exc, layout.out)}", err)
        return EXIT_USAGE

    elapsed = time.perf_counter() - t_start
    skipped = sum(1 for j in jobs if j.skipped)
    parts = [f"{built} built", f"{len(failures)} failed", f"{len(fresh)} up to date"]
    if skipped:
        parts.append(f"{skipped} skipped")
    if unselected:
        parts.append(f"{len(unselected)} not selected")
    tail = f" -> {_rel(layout.index)}" + ("" if index_written else " (unchanged)")
    say(f"report: {', '.join(parts)} in {elapsed:.1f}s{tail}")
    for name, note in notes:
        say(f"warning: {name}: {note}", err)
    for job, error in failures:
        say(f"FAILED {job.name}: {error}", err)
    return EXIT_FAILED if failures else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point of ``python -m analysis.build``; returns the exit status of :func:`build`.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``); see ``python -m analysis.build --help``.

    Returns
    -------
    int
        The exit status (see :func:`build`); a usage error exits with status 2 through ``argparse``.
    """
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
    ap.add_argument("-n", "--dry-run", action="store_true",
                    help="list what would be built and why, build nothing")
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
