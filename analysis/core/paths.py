"""Project paths, resolved from this package's location (never from the current directory)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "data"
NOTEBOOKS_DIR = ROOT / "notebooks"
REPORTS_DIR = ROOT / "reports"
RESULTS_DIR = REPORTS_DIR / "results"


def resolve(path: str | Path) -> Path:
    """Absolute path for ``path``; relative paths are taken from the project root.

    Parameters
    ----------
    path : str or pathlib.Path
        A path, absolute or relative to the project root (not to the current directory).

    Returns
    -------
    pathlib.Path
        ``path`` itself when absolute, else ``ROOT / path``.
    """
    p = Path(path)
    return p if p.is_absolute() else ROOT / p
