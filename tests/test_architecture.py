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
import functools
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
    for node in ast.walk(_parse(source)):
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


# ------------------------------------------------------------------------------------------ docstrings (issue 11)
# Public functions and public methods of public classes (names without a leading underscore, at module level in
# ``analysis/**.py``) have a docstring. Outside ``analysis/studies`` it is numpydoc: a ``Parameters`` section listing
# every argument (less ``self``/``cls``; ``x, y : float`` lists both, ``**kwargs`` lists ``kwargs``), and a
# ``Returns`` section when the code has a ``return <expr>`` other than ``return None``.
# Exempt: properties and their setters/deleters (an attribute, documented as one), and the overrides in
# ``_INHERITED_DOCS``.

# Public methods that override a documented method of a third-party base class, where the base's docstring applies
# (as numpydoc and Sphinx's ``autodoc_inherit_docstrings`` treat an override): (file, class, method) -> the base
# method whose documentation applies. An entry that no longer names a public method of a class with a base fails the
# test, so the list cannot go stale.
_KERNELS = "analysis/reporting/kernels.py"
_INHERITED_DOCS = {
    # launch_kernel(cmd, **kwargs): same arguments and return (the connection info) as the base's.
    (_KERNELS, "ForkProvisioner", "launch_kernel"): "jupyter_client LocalProvisioner.launch_kernel",
    # kill(restart=False): its own docstring says what it adds; ``restart`` is the base's argument, passed on.
    (_KERNELS, "ForkProvisioner", "kill"): "jupyter_client LocalProvisioner.kill",
    # start_channels(*args, **kwargs): passes every argument on unchanged; its docstring says what it adds.
    (_KERNELS, "ReadyClient", "start_channels"): "jupyter_client KernelClient.start_channels",
}
_NOT_DOCUMENTED = {"property", "cached_property", "setter", "deleter"}  # attributes, documented as such


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Last dotted component of each decorator (``functools.cached_property`` -> ``cached_property``)."""
    names = set()
    for d in node.decorator_list:
        d = d.func if isinstance(d, ast.Call) else d
        if isinstance(d, ast.Attribute):
            names.add(d.attr)
        elif isinstance(d, ast.Name):
            names.add(d.id)
    return names


def _arguments(node: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> list[str]:
    """Argument names a docstring must list: all of them, less ``self``/``cls`` of a bound or class method."""
    a = node.args
    names = [x.arg for x in (*a.posonlyargs, *a.args)]
    if method and "staticmethod" not in _decorator_names(node):
        names = names[1:]
    names += [x.arg for x in a.kwonlyargs]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return names


def _returns_value(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the function's own body (not a nested function or class) has ``return <expr>`` other than None."""
    stack = list(node.body)
    while stack:
        n = stack.pop()
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(n, ast.Return) and n.value is not None and not (
                isinstance(n.value, ast.Constant) and n.value.value is None):
            return True
        stack.extend(ast.iter_child_nodes(n))
    return False


def _numpydoc_sections(doc: str) -> dict[str, list[str]]:
    """A numpydoc docstring's sections: header (an unindented line underlined with dashes) -> the lines under it."""
    lines = doc.splitlines()
    sections: dict[str, list[str]] = {}
    current = None
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and nxt.strip() and set(nxt.strip()) == {"-"} and not line.startswith(" "):
            current = sections.setdefault(line.strip(), [])
        elif current is not None and not (line.strip() and set(line.strip()) == {"-"}):
            current.append(line)
    return sections


def _documented_parameters(doc: str) -> set[str]:
    """Names a numpydoc ``Parameters`` section lists (``x, y : float`` lists both; ``*args`` lists ``args``)."""
    out = set()
    for line in _numpydoc_sections(doc).get("Parameters", []):
        if line.strip() and not line.startswith(" "):
            out |= {n.strip().lstrip("*") for n in line.split(" : ")[0].split(",")}
    return out


def _docstring_problems(node: ast.FunctionDef | ast.AsyncFunctionDef, layer: str, method: bool) -> list[str]:
    """What the docstring of a public function or method lacks under the rule above (empty when nothing)."""
    doc = ast.get_docstring(node)
    if doc is None:
        return ["no docstring"]
    if layer == "studies":
        return []
    out = []
    missing = [a for a in _arguments(node, method) if a not in _documented_parameters(doc)]
    if missing:
        out.append(f"Parameters section lacks {', '.join(missing)}")
    if _returns_value(node) and "Returns" not in _numpydoc_sections(doc):
        out.append("returns a value but has no Returns section")
    return out


def _modules():
    """(path relative to the repository, layer, parsed module) of every ``analysis/**.py``."""
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        layer = path.relative_to(ROOT / "analysis").parts[0]
        yield path.relative_to(ROOT).as_posix(), layer, _parse(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=512)
def _parse(source: str) -> ast.Module:
    """The parsed source, once per test process (several tests read every module; none changes a tree)."""
    return ast.parse(source)


def test_the_package_adjusts_by_holm_only_through_compare_holm():
    """statsmodels' multipletests(method="holm") runs gc.collect() on every call (0.2 s in a large process: it made
    the regional tests several seconds slower); the package's one Holm is analysis.stats.compare.holm."""
    calls = []
    for rel, _layer, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "multipletests":
                method = next((k.value for k in node.keywords if k.arg == "method"), None)
                if not (isinstance(method, ast.Constant) and method.value != "holm"):
                    calls.append(f"{rel}:{node.lineno}")
    assert not calls, f"multipletests called with Holm (or a method not spelt out) at {calls}; use compare.holm"


def _public_functions_without_docs() -> list[str]:
    """Module-level public functions whose docstring breaks the rule above: ``file:line name: what it lacks``."""
    out = []
    for rel, layer, tree in _modules():
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
                out += [f"{rel}:{node.lineno} {node.name}: {p}" for p in _docstring_problems(node, layer, False)]
    return out


def _public_methods_without_docs() -> list[str]:
    """Public methods of public module-level classes whose docstring breaks the rule above (``file:line
    Class.method: what it lacks``), and stale entries of ``_INHERITED_DOCS``."""
    out, exempt = [], set()
    for rel, layer, tree in _modules():
        for cls in tree.body:
            if not isinstance(cls, ast.ClassDef) or cls.name.startswith("_"):
                continue
            for node in cls.body:
                if (not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name.startswith("_")
                        or _decorator_names(node) & _NOT_DOCUMENTED):
                    continue
                if (rel, cls.name, node.name) in _INHERITED_DOCS and cls.bases:
                    exempt.add((rel, cls.name, node.name))
                    continue
                out += [f"{rel}:{node.lineno} {cls.name}.{node.name}: {p}"
                        for p in _docstring_problems(node, layer, True)]
    out += [f"{f}: _INHERITED_DOCS names {c}.{m}, not a public method of a class with a base there"
            for f, c, m in sorted(_INHERITED_DOCS.keys() - exempt)]
    return out


def test_public_functions_have_numpydoc_docstrings():
    """Issue 11: docstrings for public functions in numpydoc form, as statsmodels and scipy do."""
    missing = _public_functions_without_docs()
    assert not missing, "public functions without a (numpydoc) docstring:\n" + "\n".join(missing)


def test_public_methods_have_numpydoc_docstrings():
    """Issue 11, for the public methods of public classes: the same rule as for functions (see above)."""
    missing = _public_methods_without_docs()
    assert not missing, "public methods without a (numpydoc) docstring:\n" + "\n".join(missing)


def test_docstring_rule_can_fail():
    """The checker reads what it should: an argument left out, a missing Returns, ``x, y : float`` lists both, a
    method's ``self`` and a ``return None`` ask for nothing."""
    src = '''
class C:
    def ok(self, x, y, *args, **kw):
        """Summary.

        Parameters
        ----------
        x, y : float
            Numbers.
        *args, **kw
            Passed on.
        """
        return None

    def bad(self, x):
        """Summary.

        Parameters
        ----------
        y : float
            Not x.
        """
        return x
'''
    ok, bad = ast.parse(src).body[0].body
    assert _docstring_problems(ok, "stats", True) == []
    assert _docstring_problems(bad, "stats", True) == ["Parameters section lacks x",
                                                        "returns a value but has no Returns section"]
    assert _docstring_problems(bad, "studies", True) == []  # studies: a docstring is enough
    assert _docstring_problems(ast.parse("def f(a):\n    return a").body[0], "core", False) == ["no docstring"]
