"""What a report depends on, read from the source with ``ast`` (nothing imported, nothing executed).

A report's cache key (``analysis.reporting.build``) hashes exactly these inputs:

- its notebook (cell types, sources and tags) and its parameters;
- the source files of the ``analysis`` modules its notebook and its study import, followed transitively
  (:func:`import_closure`): a lazy import inside a function counts, the ``__init__.py`` of every package on the way
  counts (importing ``analysis.stats.rates`` runs ``analysis/stats/__init__.py``);
- the data files its registry entry declares (``analysis.studies.registry.Entry.data_files``);
- ``requirements.lock`` (every installed package).

So editing ``analysis/stats/regions.py`` rebuilds only the reports whose closure contains it. Imports only the
standard library and the (standard-library-only) study registry.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

from analysis.core.paths import ROOT

PACKAGE = "analysis"


def _cell_sources(notebook: Path) -> list[str]:
    try:
        cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return []
    out = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            src = cell.get("source", "")
            out.append(src if isinstance(src, str) else "".join(src))
    return out


def notebook_digest(raw: bytes) -> str:
    """SHA-256 of a notebook's cell types, sources and tags (outputs, execution counts and other metadata left
    out: saving a notebook with outputs changes nothing a report depends on); of the raw bytes if it is not a
    notebook.

    Parameters
    ----------
    raw : bytes
        The notebook file's content.

    Returns
    -------
    str
        The hexadecimal digest.
    """
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
        return hashlib.sha256(raw).hexdigest()
    return hashlib.sha256(json.dumps(cells, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


_MAGIC = re.compile(r"^\s*[%!]")


def _parse(source: str) -> ast.AST | None:
    """``ast`` of a cell or module; IPython magics and shell lines are blanked (they import nothing we track)."""
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    try:
        return ast.parse("\n".join("" if _MAGIC.match(line) else line for line in source.splitlines()))
    except SyntaxError:
        return None


def _imports(tree: ast.AST | None, module: str = "", is_package: bool = False) -> list[tuple[str, tuple[str, ...]]]:
    """``[(base module, names imported from it)]`` of every import statement, relative ones resolved."""
    found = []
    if tree is None:
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, ()) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".") if is_package else module.split(".")[:-1]
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join([*parts, base] if base else parts)
            if base != "__future__":
                found.append((base, tuple(a.name for a in node.names)))
    return found


def notebook_imports(notebook: Path) -> list[str]:
    """Modules the notebook's code cells import, in order (``from pkg import mod`` gives ``pkg`` and
    ``pkg.mod``; the second may name an attribute rather than a module, which is harmless).

    Parameters
    ----------
    notebook : pathlib.Path
        The notebook (IPython magics and shell lines are ignored).

    Returns
    -------
    list of str
        Module names, first-seen order, no repeats.
    """
    found: dict[str, None] = {}
    for src in _cell_sources(notebook):
        for base, names in _imports(_parse(src)):
            found[base] = None
            for name in names:
                if name != "*":
                    found[f"{base}.{name}"] = None
    return list(found)


def module_file(name: str, root: Path = ROOT) -> Path | None:
    """The source file of module ``name`` when it belongs to the ``analysis`` package under ``root``.

    Parameters
    ----------
    name : str
        A dotted module name.
    root : pathlib.Path, default ROOT
        The project root holding the ``analysis`` package.

    Returns
    -------
    pathlib.Path or None
        ``<name>.py`` or ``<name>/__init__.py``; None outside the package or when no such file exists.
    """
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (hex).

    Parameters
    ----------
    path : pathlib.Path
        The file (read in 1 MiB chunks).

    Returns
    -------
    str
        The hexadecimal digest.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Every file parsed in this process, by "<path>:<sha256>" (content-keyed, so never stale): a process that builds
# several times (the tests, an editor integration) parses each version of a file once.
_PARSED: dict[str, list[str]] = {}


class Closure:
    """Import closures within the ``analysis`` package under ``root``, each source file parsed once.

    ``memo`` maps ``"<path>:<sha256>"`` to the modules that file imports; the build keeps it between runs
    (``reports/.cache/imports.json``), so a build with nothing to do parses nothing. ``digest`` hashes a file
    (shared with the cache keys, so each file is read once per build).
    """

    def __init__(self, root: Path = ROOT, memo: dict[str, list[str]] | None = None, digest=file_digest):
        self.root = root
        self.memo = {} if memo is None else memo
        self.digest = digest
        self._direct: dict[str, set[str]] = {}
        self.used: set[str] = set()  # memo keys this closure needed (the build keeps only those)

    def _module_name(self, path: Path) -> str:
        rel = path.relative_to(self.root).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)

    def direct(self, path: Path) -> set[str]:
        """``analysis`` modules imported anywhere in ``path`` (functions included).

        Parsed once per file content (from ``memo`` or this process's earlier parses when the file's digest is
        known there); an unreadable file counts as importing nothing.

        Parameters
        ----------
        path : pathlib.Path
            A Python source file under ``root``.

        Returns
        -------
        set of str
            Dotted names of the ``analysis`` modules it imports, with ``from <package> import <module>`` naming the
            submodule too.
        """
        key = str(path)
        if key not in self._direct:
            try:
                memo_key = f"{path.relative_to(self.root).as_posix()}:{self.digest(path)}"
            except (OSError, ValueError):
                memo_key = None
            if memo_key is not None:
                self.used.add(memo_key)
            known = self.memo.get(memo_key, _PARSED.get(memo_key))
            if known is not None:
                self.memo[memo_key] = list(known)
                self._direct[key] = set(known)
                return self._direct[key]
            try:
                source = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                source = ""
            name = self._module_name(path)
            mods = set()
            for base, names in _imports(_parse(source), name, path.name == "__init__.py"):
                if base.split(".")[0] != PACKAGE:
                    continue
                mods.add(base)
                for n in names:
                    if module_file(f"{base}.{n}", self.root) is not None:
                        mods.add(f"{base}.{n}")
            self._direct[key] = mods
            if memo_key is not None:
                self.memo[memo_key] = _PARSED[memo_key] = sorted(mods)
        return self._direct[key]

    def files(self, modules: Iterable[str]) -> list[Path]:
        """Sorted source files of ``modules`` and of everything they import within ``analysis``, with the
        ``__init__.py`` of every package on the way.

        Parameters
        ----------
        modules : iterable of str
            Dotted module names; those outside ``analysis`` are ignored.

        Returns
        -------
        list of pathlib.Path
            The files of the import closure under ``root``, sorted; modules without a file are left out.
        """
        seen: set[Path] = set()
        todo = [m for m in modules if m.split(".")[0] == PACKAGE]
        while todo:
            name = todo.pop()
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # the packages on the way run their __init__
                path = module_file(".".join(parts[:i]), self.root)
                if path is None or path in seen:
                    continue
                seen.add(path)
                todo.extend(self.direct(path))
        return sorted(seen)


def imported_modules(notebooks: Iterable[str | Path]) -> list[str]:
    """Modules the notebooks import (union, first-seen order): what a kernel zygote imports ahead of time.

    Parameters
    ----------
    notebooks : iterable of str or pathlib.Path
        The notebooks.

    Returns
    -------
    list of str
        Module names, no repeats (:func:`notebook_imports`).
    """
    found: dict[str, None] = {}
    for nb in notebooks:
        for m in notebook_imports(Path(nb)):
            found[m] = None
    return list(found)
