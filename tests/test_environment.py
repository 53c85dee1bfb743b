"""The environment files agree, and committed notebooks are clean and follow the conventions."""

import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _direct():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {_norm(re.split(r"[<>=!~\[; ]", d)[0]) for d in deps}


def _lock():
    out = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, ver = line.partition("==")
            assert ver, f"requirements.lock: {line!r} is not pinned with =="
            out[_norm(name)] = ver
    return out


def _conda():
    text = (ROOT / "environment.yml").read_text()
    deps = {}
    for m in re.finditer(r"^\s{2}- ([A-Za-z0-9_.\-]+)=([^\s=]+)\s*$", text, re.M):
        deps[_norm(m.group(1))] = m.group(2)
    for m in re.finditer(r"^\s{6}- ([A-Za-z0-9_.\-]+)==([^\s=#]+)", text, re.M):  # pip: entries (not on conda-forge)
        deps[_norm(m.group(1))] = m.group(2)
    return deps


def test_environment_yml_and_lock_name_the_same_direct_dependencies():
    conda = _conda()
    conda.pop("python", None)
    assert set(conda) == _direct()
    lock = _lock()
    for name, ver in conda.items():
        assert lock.get(name) == ver, f"{name}: environment.yml {ver} vs requirements.lock {lock.get(name)}"


def test_every_direct_dependency_is_pinned_in_the_lock():
    assert _direct() <= set(_lock())


def test_environment_yml_targets_python_311_and_installs_project():
    text = (ROOT / "environment.yml").read_text()
    assert "conda-forge" in text and "python=3.11" in text and "-e ." in text


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_without_outputs(nb):
    cells = json.loads(nb.read_text())["cells"]
    dirty = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{nb.name}: cells {dirty} carry outputs or execution counts (run nbstripout)"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_conventions(nb):
    """Shape every notebook shares (study notebooks are checked in detail by tests/test_studies.py)."""
    doc = json.loads(nb.read_text())
    cells = doc["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    params = [i for i, c in enumerate(code) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, f"{nb.name}: needs exactly one cell tagged 'parameters'"
    src = "\n".join("".join(c["source"]) for c in code)
    assert not re.search(r"^\s*(def|class)\s", src, re.M), f"{nb.name}: defines functions/classes (move to analysis/)"
    assert "results_dir" not in src, f"{nb.name}: results travel as a published output, not through results_dir"
    nxt = "".join(code[params[0] + 1]["source"])
    assert re.search(r"validate\.|check_\w+\(|from_notebook\(globals\(\)\)", nxt), \
        f"{nb.name}: the cell after parameters must validate them"
    assert doc["metadata"]["kernelspec"]["name"] == "kz-injuries"
    assert re.search(r"\bpublish\(|write_results\(", "".join(code[-1]["source"])), \
        f"{nb.name}: the last code cell must publish the results"
    md = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown").lower()
    assert "verdict" in md and "caveat" in md


def test_committed_notebook_detector_fails_on_outputs(tmp_path):
    """The cleanliness check itself can fail: a notebook with outputs is caught."""
    nb = {"cells": [{"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [{"output_type": "stream"}],
                     "source": ["1"]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    p = tmp_path / "x.ipynb"
    p.write_text(json.dumps(nb))
    with pytest.raises(AssertionError):
        test_notebook_committed_without_outputs(p)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_papermill_lists_every_parameter(nb):
    """`papermill --help-notebook` must show every parameter with its type and help comment."""
    import ast

    import papermill

    cells = json.loads(nb.read_text())["cells"]
    src = "".join(next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))["source"])
    names = [n.target.id for n in ast.parse(src).body if isinstance(n, ast.AnnAssign)]
    plain = [t.id for n in ast.parse(src).body if isinstance(n, ast.Assign) for t in n.targets]
    assert not plain, f"{nb.name}: parameters without a type annotation: {plain}"
    listed = papermill.inspect_notebook(str(nb))
    missing = [n for n in names if n not in listed]
    assert not missing, f"{nb.name}: papermill cannot parse {missing} (no '=' or '|' in annotations or comments)"
    undocumented = [n for n in names if not listed[n]["help"]]
    assert not undocumented, f"{nb.name}: parameters without a comment: {undocumented}"
