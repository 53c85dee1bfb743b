"""Which inputs produced a report: the footer every page carries.

``collect()`` returns the git commit (or that this is not a git checkout), whether tracked files differ from it, a
hash of ``data/``, the versions of the main packages and the build date; ``describe()`` turns that into the
footer's sentences. The build collects it once and hands it to every report it renders. Standard library only
(package versions come from their installed metadata, nothing is imported).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.core.paths import DATA_DIR, ROOT
from analysis.reporting import deps

PACKAGES = ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn", "pandera", "papermill", "nbconvert")


def _git(*args: str, root: Path) -> str | None:
    try:
        res = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def data_digest(data_dir: Path = DATA_DIR) -> str:
    """SHA-256 over every file under ``data_dir`` (relative path and content; hidden files skipped).

    Parameters
    ----------
    data_dir : pathlib.Path, default DATA_DIR
        The data folder (searched recursively; a missing folder hashes as empty).

    Returns
    -------
    str
        The hexadecimal digest.
    """
    h = hashlib.sha256()
    files = sorted(p for p in data_dir.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(data_dir).parts)) \
        if data_dir.is_dir() else []
    for p in files:
        h.update(p.relative_to(data_dir).as_posix().encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed versions of the packages a report's numbers depend on.

    Parameters
    ----------
    names : tuple of str, default PACKAGES
        Distribution names.

    Returns
    -------
    dict of str to str
        Name to version (``importlib.metadata``), in the order of ``names``; packages not installed are left
        out.
    """
    from importlib import metadata

    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _tracked_changed(root: Path, folders: tuple[str, ...] = ("analysis", "notebooks", "data")) -> bool:
    """Whether a file that the commit tracks under ``folders`` differs from it; a notebook counts as changed only
    when its cells do (saved outputs are not a change).

    Compared here, file by file against git's blob ids, rather than by ``git status``: that refreshes the whole
    index and so runs the notebooks' nbstripout clean filter (a Python process per notebook, about 1.5 s each)
    whenever the index cannot vouch for a file, as after a fresh clone, and fails outright where the filter is
    missing.
    """
    listing = _git("ls-tree", "-r", "HEAD", "--", *folders, root=root)
    if listing is None:
        return False
    differing: dict[str, Path] = {}
    for line in listing.splitlines():
        meta, _, rel = line.partition("\t")
        sha = meta.split()[-1]
        path = root / rel
        try:
            raw = path.read_bytes()
        except OSError:
            return True  # deleted
        if hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest() == sha:  # git's blob id: the same bytes
            continue
        if not rel.endswith(".ipynb"):
            return True
        differing[sha] = path
    if not differing:
        return False
    try:
        res = subprocess.run(["git", "cat-file", "--batch"], cwd=root,
                             input="".join(f"{s}\n" for s in differing).encode(),
                             capture_output=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return True
    out, pos = res.stdout, 0
    for path in differing.values():
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        committed = out[header_end + 1:header_end + 1 + size]
        pos = header_end + 1 + size + 1
        if deps.notebook_digest(committed) != deps.notebook_digest(path.read_bytes()):
            return True
    return False


def collect(root: Path = ROOT, data_dir: Path = DATA_DIR) -> dict[str, Any]:
    """Commit, working-tree state, data hash, package versions and date of this build.

    Parameters
    ----------
    root : pathlib.Path, default ROOT
        The project's git checkout.
    data_dir : pathlib.Path, default DATA_DIR
        The data folder hashed (:func:`data_digest`).

    Returns
    -------
    dict
        ``commit`` (None outside git), ``dirty`` (whether tracked code, notebooks or data differ from the
        commit; None outside git), ``data_sha256``, ``python``, ``packages`` and ``built`` (UTC, ISO 8601).
    """
    commit = _git("rev-parse", "HEAD", root=root)
    dirty = None
    if commit:
        dirty = _tracked_changed(root)
    return {
        "commit": commit,
        "dirty": dirty,
        "data_sha256": data_digest(data_dir),
        "python": ".".join(map(str, sys.version_info[:3])),
        "packages": package_versions(),
        "built": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def describe(p: Mapping[str, Any]) -> list[str]:
    """The footer's sentences for a provenance record from :func:`collect` (empty record: nothing).

    Parameters
    ----------
    p : mapping
        The record.

    Returns
    -------
    list of str
        One sentence each for the code, the data, the software and the build date (those the record holds).
    """
    if not p:
        return []
    if p.get("commit"):
        code = f"Code: commit {p['commit'][:12]}" + (" with uncommitted changes" if p.get("dirty") else "") + "."
    else:
        code = "Code: not a git checkout."
    lines = [code]
    if p.get("data_sha256"):
        lines.append(f"Data: data/ SHA-256 {p['data_sha256'][:16]}.")
    pkgs = ", ".join(f"{k} {v}" for k, v in (p.get("packages") or {}).items())
    lines.append(f"Software: Python {p.get('python', '?')}" + (f", {pkgs}." if pkgs else "."))
    if p.get("built"):
        try:
            when = datetime.fromisoformat(p["built"]).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            when = str(p["built"])
        lines.append(f"Built: {when}.")
    return lines
