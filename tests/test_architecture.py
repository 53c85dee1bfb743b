"""The layers of ``analysis`` and the contract between a study and its notebook.

Import rules (read from the source with ``ast``, so a lazy import inside a function counts too):

- ``core`` imports nothing else from ``analysis``;
- ``stats``, ``data`` and ``present`` import only ``core`` (and their own layer);
- ``studies`` may import ``core``, ``stats``, ``data`` (and its own layer), never ``present`` or ``reporting``;
- ``reporting`` imports ``core``, ``present`` and the study registry only: never ``stats``, ``data`` or a study;
- a study notebook imports its study and ``analysis.present`` only.
"""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest

from analysis.studies import registry

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "analysis"

ALLOWED = {
    "core": {"core"},
    "stats": {"core", "stats"},
    "data": {"core", "data"},
    "present": {"core", "present"},
    "studies": {"core", "stats", "data", "studies"},
    "reporting": {"core", "present", "reporting", "studies.registry"},
}
ENTRY_POINTS = {"build", "claims", "releases", "__init__"}  # analysis/<x>.py shims for ``python -m analysis.<x>``


def analysis_imports(source: str, module: str, root: Path = PKG) -> set[str]:
    """Dotted names of the ``analysis`` modules a source imports (relative imports resolved against ``module``).

    ``from analysis.studies import registry`` imports the module ``analysis.studies.registry``; ``from analysis.data
    import load_events`` imports ``analysis.data``.
    """

    def is_module(dotted: str) -> bool:
        rel = Path(*dotted.split(".")[1:])
        return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()

    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "analysis"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: -node.level]
                base = ".".join([*parts, base] if base else parts)
            if base.split(".")[0] != "analysis":
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if is_module(sub) else base)
    return out


def layer_of(name: str) -> str | None:
    """'stats' for analysis.stats.rates; 'studies.registry' for the registry; None for the package itself."""
    parts = name.split(".")
    if len(parts) < 2:
        return None
    if parts[1:3] == ["studies", "registry"]:
        return "studies.registry"
    return parts[1]


def violations(root: Path = PKG) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        if len(rel.parts) < 3:
            continue  # analysis/__init__.py and the python -m shims
        module, layer = ".".join(rel.parts), rel.parts[1]
        for name in sorted(analysis_imports(path.read_text(encoding="utf-8"), module, root)):
            target = layer_of(name)
            if target is not None and target not in ALLOWED[layer]:
                bad.append(f"{module} ({layer}) imports {name}")
    return bad


def test_every_module_sits_in_a_layer():
    stray = [p.name for p in PKG.glob("*.py") if p.stem not in ENTRY_POINTS]
    assert not stray, f"modules outside the layers: {stray}"
    assert {p.name for p in PKG.iterdir() if p.is_dir() and not p.name.startswith("__")} == set(ALLOWED)


def test_import_rules_hold():
    assert violations() == []


def test_import_rules_can_fail(tmp_path):
    """The checker catches a statistics module reading data, and the report machinery importing statistics."""
    pkg = tmp_path / "analysis"
    for layer in ALLOWED:
        (pkg / layer).mkdir(parents=True)
        (pkg / layer / "__init__.py").write_text("")
    (pkg / "stats" / "bad.py").write_text("from analysis import data\n")
    (pkg / "reporting" / "worse.py").write_text("def f():\n    from analysis.stats import rates\n")
    (pkg / "studies" / "registry.py").write_text("")
    (pkg / "reporting" / "fine.py").write_text("from analysis.studies import registry\n")
    found = violations(pkg)
    assert any("analysis.stats.bad" in v and "analysis.data" in v for v in found)
    assert any("analysis.reporting.worse" in v and "analysis.stats" in v for v in found)
    assert not any("fine" in v for v in found)


# --------------------------------------------------------------------------------------- studies and notebooks
def _study_entries():
    out = []
    for e in registry.STUDIES.values():
        try:
            importlib.import_module(e.module)
        except ModuleNotFoundError:
            continue  # a question whose study is not written yet (its notebook is checked by test_environment)
        if hasattr(importlib.import_module(e.module), "Params"):
            out.append(e)
    return out


STUDIES = _study_entries()


def _cells(entry):
    nb = json.loads((ROOT / "notebooks" / f"{entry.notebook}.ipynb").read_text(encoding="utf-8"))
    return nb["cells"]


@pytest.mark.parametrize("entry", STUDIES, ids=lambda e: e.name)
def test_parameters_cell_mirrors_the_study_params(entry):
    module = registry.load(entry.name)
    cells = _cells(entry)
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    src = "".join(tagged[0]["source"])
    expected = module.Params.notebook_cell()
    assert src == expected, (f"notebooks/{entry.notebook}.ipynb: the parameters cell differs from "
                             f"{entry.module}.Params; run scripts/sync_parameters.py. Expected:\n{expected}")


@pytest.mark.parametrize("entry", STUDIES, ids=lambda e: e.name)
def test_study_notebook_validates_runs_and_publishes_through_the_study(entry):
    code = [c for c in _cells(entry) if c["cell_type"] == "code"]
    i = next(i for i, c in enumerate(code) if "parameters" in c.get("metadata", {}).get("tags", []))
    validation = "".join(code[i + 1]["source"])
    assert ".Params.from_notebook(globals())" in validation
    src = "\n".join("".join(c["source"]) for c in code)
    assert ".run(p" in src, "the notebook runs its study"
    assert "report.publish(result)" in "".join(code[-1]["source"])
    imported = analysis_imports(src, "notebook")
    allowed = {"analysis.present", "analysis.studies", entry.module} | {
        f"analysis.present.{m.stem}" for m in (PKG / "present").glob("*.py")}
    assert imported <= allowed, f"{entry.notebook} imports {sorted(imported - allowed)} (only its study and present)"
    md = "\n".join("".join(c["source"]) for c in _cells(entry) if c["cell_type"] == "markdown").lower()
    for section in ("data and sources", "method", "caveats", "verdict"):
        assert f"## {section}" in md, f"{entry.notebook}: no '{section}' section"


@pytest.mark.parametrize("entry", STUDIES, ids=lambda e: e.name)
def test_params_declaration_is_complete(entry):
    module = registry.load(entry.name)
    specs = module.Params.specs()
    assert specs, "a study declares its parameters"
    for s in specs:
        assert s.info.help and "=" not in s.info.help
    defaults = module.Params()  # the defaults themselves pass validation
    assert defaults.to_dict() == module.Params.defaults()


def _public_functions_without_docs() -> list[str]:
    """Module-level public functions with no docstring, or (outside the studies) taking arguments without a
    numpydoc ``Parameters`` section."""
    out = []
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        layer = path.relative_to(ROOT / "analysis").parts[0]
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
                doc = ast.get_docstring(node)
                if doc is None or (layer != "studies" and node.args.args and "Parameters" not in doc):
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    return out


def test_public_functions_have_numpydoc_docstrings():
    """Issue 11: docstrings for public functions in numpydoc form, as statsmodels and scipy do."""
    missing = _public_functions_without_docs()
    assert not missing, "public functions without a (numpydoc) docstring:\n" + "\n".join(missing)
