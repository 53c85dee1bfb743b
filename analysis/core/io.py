"""Atomic file writes: a reader never sees a half-written report, JSON or index."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from analysis.core.results import jsonable


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename over ``path``.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to write; missing parent folders are created. The file ends with mode 0644.
    data : bytes
        The complete new content of the file.

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    OSError
        When the file cannot be written or renamed; the temporary file is removed and ``path`` is left
        untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; reports are meant to be read by others (web server, reviewers)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically (see :func:`atomic_write_bytes`).

    Parameters
    ----------
    path : str or pathlib.Path
        The file to write; missing parent folders are created.
    text : str
        The complete new content of the file.

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`~pathlib.Path`.
    """
    return atomic_write_bytes(path, text.encode("utf-8"))


def dumps(obj: Any) -> str:
    """Deterministic JSON: plain types only (numpy scalars converted, NaN/inf -> null), sorted keys.

    Parameters
    ----------
    obj : object
        Anything :func:`analysis.core.results.jsonable` converts (results, dataclasses, mappings, sequences,
        numpy and pandas values).

    Returns
    -------
    str
        The JSON text, indented by two spaces, with sorted keys, non-ASCII characters kept and a final
        newline.
    """
    return json.dumps(jsonable(obj), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as deterministic JSON (see :func:`dumps`) to ``path`` atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        The JSON file to write; missing parent folders are created.
    obj : object
        The value to serialise (converted with :func:`analysis.core.results.jsonable`).

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`~pathlib.Path`.
    """
    return atomic_write_text(path, dumps(obj))
