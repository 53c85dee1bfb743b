"""Shared fixtures. Hypothesis profile: few examples and no deadline, so the suite stays fast on 2 cores."""

import shutil
from pathlib import Path

import pytest
from hypothesis import settings

import analysis.reporting  # noqa: F401  (first: notebooks are read without jsonschema's slow optional import)

settings.register_profile("project", max_examples=60, deadline=None, derandomize=True)  # reproducible CI
settings.load_profile("project")

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_finish(session):
    """Move everything collection imported (pandas, scipy, statsmodels, the package, the test modules) out of the
    garbage collector's sight: a full collection then scans only what the tests allocate. Measured on six
    statistics test files: full collections took 0.53 s instead of 1.15 s."""
    import gc

    gc.collect()
    gc.freeze()


@pytest.fixture
def data_copy(tmp_path):
    """A writable copy of data/ for corruption tests."""
    dst = tmp_path / "data"
    shutil.copytree(ROOT / "data", dst)
    return dst


class BuiltReports:
    """The project's reports, built once per test session by the report builder (``make report`` did the same,
    so in CI this finds everything up to date). Shared by pytest-xdist workers: each worker runs the builder, whose
    lock serialises them; a builder that waited plans its work after the lock, so it finds the reports the first
    one built up to date and only reads them."""

    def __init__(self, out: Path):
        self.out = out

    def results(self, name: str) -> dict:
        import json

        return json.loads((self.out / "results" / f"{name}.json").read_text(encoding="utf-8"))

    def html(self, name: str) -> str:
        return (self.out / f"{name}.html").read_text(encoding="utf-8")

    def executed(self, name: str) -> dict:
        import json

        return json.loads((self.out / "executed" / f"{name}.ipynb").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def reports() -> BuiltReports:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "analysis.build"], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, f"the report build failed:\n{proc.stdout}\n{proc.stderr}"
    return BuiltReports(ROOT / "reports")


@pytest.fixture(scope="session")
def kernel_zygote():
    """One kernel zygote per test process for the builds the tests run in-process (``build.main``), instead of one
    per build (``analysis.reporting.kernels.shared_zygote``): the tests' small builds would otherwise each wait for
    a zygote's imports. It imports what :func:`write_notebook`'s notebooks and the figure tests use. Builds run as
    subprocesses (tests/test_faults_build.py, the light-builder test) still start their own."""
    from analysis.reporting import kernels

    with kernels.shared_zygote(["analysis.present.report", "matplotlib.pyplot"]) as zygote:
        yield zygote


def write_notebook(path: Path, body: str = "", params: str | None = None, stem: str | None = None) -> Path:
    """A tiny notebook for the builder's tests: a tagged parameters cell, an optional body, and a cell publishing
    its results through the transitional ``write_results`` (label ``descriptive``)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    stem = stem or path.stem
    params = params if params is not None else 'x = 2\nlabel = "plain"\nresults_dir = "reports/results"\n'
    nb = new_notebook()
    pcell = new_code_cell(params)
    pcell.metadata["tags"] = ["parameters"]
    nb.cells = [
        new_markdown_cell(f"# {stem}"),
        pcell,
        new_code_cell(body or "pass"),
        new_code_cell(
            "from analysis.present.report import write_results\n"
            f"write_results(results_dir, {stem!r}, {{'x': x, 'label': label}}, {{'double': 2 * x}},\n"
            "              f'x doubled is {2 * x} for {label}.')\n"
        ),
    ]
    nb.metadata["kernelspec"] = {
        "name": "kz-injuries",
        "display_name": "Python (kz-injuries)",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def execute(notebook: Path, tmp_path: Path, **parameters) -> dict:
    """Run a notebook with papermill (as a user would, outside the build) and return the results it published."""
    import nbformat
    import papermill as pm

    from analysis.reporting.runner import find_results

    out = tmp_path / f"{notebook.stem}.out.ipynb"
    pm.execute_notebook(str(notebook), str(out), parameters=parameters, kernel_name="kz-injuries", progress_bar=False,
                        cwd=str(tmp_path))
    return find_results(nbformat.read(str(out), as_version=4))


def run_claims(*args: str):
    """``python -m analysis.claims ARGS`` in this process (no interpreter start-up): (exit code, stdout, stderr)."""
    import contextlib
    import io

    from analysis.reporting import claims

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = claims.main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def validate_as_notebook(study, **injected):
    """What a study notebook's validation cell does after ``papermill -p`` injected ``injected``: the namespace holds
    the parameters cell's defaults overwritten by the injected values, and IPython's history ``In`` holds papermill's
    injected cell (so names that are not parameters are caught). No kernel: ``tests/test_architecture.py`` checks that
    every study notebook's validation cell is exactly ``Params.from_notebook(globals())``, and ``tests/test_quarterly.py``
    runs one notebook through papermill end to end."""
    injected_cell = "# Parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in injected.items())
    namespace = {**study.Params.defaults(), **injected, "In": ["", study.Params.notebook_cell(), injected_cell]}
    return study.Params.from_notebook(namespace)


def run_declared(study, params=None):
    """``study.run(params)`` (defaults when None), checking that the run read no data file beyond those its registry
    entry declares: the report cache keys hash exactly the declared files, so an undeclared read would leave a
    report stale after that file changed. (A table another test already cached in this process may not show up as
    read; the check can miss a read then, never invent one.)"""
    from analysis import data
    from analysis.studies import registry

    entry = next(e for e in registry.STUDIES.values() if e.module == study.__name__)
    with data.track_reads() as read:
        result = study.run(study.Params() if params is None else params)
    undeclared = sorted(read - set(entry.data_files))
    assert not undeclared, (f"{entry.name} read {undeclared}, which analysis/studies/registry.py does not declare "
                            "in its data_files")
    return result

