"""Base for result objects: frozen dataclasses with ``to_dict()``, ``conf_int()`` and ``summary()``.

In the spirit of statsmodels' results: each carries its estimate, interval, p-value, the model that
produced them (``method``), the assumptions, and a ``verdict`` sentence.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def jsonable(x: Any) -> Any:
    """Convert to plain JSON types: numpy scalars -> Python, tuples -> lists, NaN/inf -> None.

    Parameters
    ----------
    x : object
        A :class:`Result` (converted with its ``to_dict()``), a dataclass instance, a mapping, a list, tuple
        or set (sets are sorted), a numpy array or scalar, a pandas DataFrame (a list of row records), a
        pandas missing value, or a plain JSON value. Anything else becomes its ``str()``.

    Returns
    -------
    object
        ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` or ``None``, nested as in ``x``; mapping
        keys become strings and non-finite floats become ``None``.
    """
    if isinstance(x, Result):
        return x.to_dict()
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: jsonable(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set, frozenset)):
        items = sorted(x) if isinstance(x, (set, frozenset)) else x
        return [jsonable(v) for v in items]
    if isinstance(x, np.ndarray):
        return [jsonable(v) for v in x.tolist()]
    if hasattr(x, "to_dict") and hasattr(x, "columns"):  # pandas DataFrame
        return [jsonable(r) for r in x.to_dict(orient="records")]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    if x is None or isinstance(x, str):
        return x
    try:  # pandas NA / NaT
        import pandas as pd

        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    return str(x)


@dataclasses.dataclass(frozen=True)
class Result:
    """Mixin-style base. Subclasses are frozen dataclasses and define ``verdict`` (a property or field)."""

    def to_dict(self) -> dict:
        """The result as plain JSON types.

        Returns
        -------
        dict
            Each dataclass field by name, converted with :func:`jsonable`, and ``"verdict"`` (the verdict
            sentence) when the class has a ``verdict`` that is not a field.
        """
        d = {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}
        if "verdict" not in d and hasattr(self, "verdict"):
            d["verdict"] = self.verdict
        return d

    def conf_int(self) -> tuple[float, float] | None:
        """The confidence interval of the estimate, as statsmodels' ``conf_int()``.

        Returns
        -------
        tuple of (float, float) or None
            Lower and upper limits from the ``ci`` attribute; None when the result has no ``ci`` or it is None.
        """
        ci = getattr(self, "ci", None)
        return None if ci is None else (float(ci[0]), float(ci[1]))

    def summary(self) -> str:
        """A plain-text summary for printing: the class name, one aligned ``name : value`` line per field of
        :meth:`to_dict`, and the verdict last.

        Returns
        -------
        str
            The lines joined by newlines.
        """
        d = self.to_dict()
        width = max(len(k) for k in d) if d else 0
        lines = [type(self).__name__]
        lines += [f"  {k:<{width}} : {v}" for k, v in d.items() if k != "verdict"]
        if "verdict" in d:
            lines.append(f"  verdict: {d['verdict']}")
        return "\n".join(lines)
