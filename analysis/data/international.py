"""International comparators: ``data/international.csv`` (other countries' registration systems).

One published figure a row, from the ledger ``international_facts.csv`` (``source_id`` ``I<n>`` = its line ``n``,
resolved in ``sources.csv``): counts of fatal and non-fatal injuries, rates per 100,000 (or 1,000) workers,
ratios and readings the sources state themselves (``ratio_statement``), and definitions. Each row carries its
system's definition: minimum absence, self-employed, commuting, coverage, and for a non-fatal count whether the
deaths are inside it (``deaths_in_count``). Nothing in the file is computed; ratios are computed by the study.

The file's rules live with every other file's in :mod:`analysis.data.schemas`; it is loaded, cached and tracked like
the others. A bad file raises :class:`~analysis.data.DataError` naming the file, line, column and problem.
"""

from __future__ import annotations

import pandas as pd  # noqa: F401 - the return type

from analysis.core.paths import DATA_DIR
from analysis.data.loaders import table_lines
from analysis.data.schemas import INTERNATIONAL_COUNTS as COUNT_METRICS  # noqa: F401 - the study's names
from analysis.data.schemas import INTERNATIONAL_METRICS as METRICS  # noqa: F401
from analysis.data.schemas import INTERNATIONAL_RATES as RATE_METRICS  # noqa: F401

FILE = "international"


def load_international(data_dir=DATA_DIR) -> pd.DataFrame:
    """International comparator figures, validated; ``preferred`` as bool, ``year`` as nullable int.

    Parameters
    ----------
    data_dir : path, optional
        The data folder (a copy in tests).

    Returns
    -------
    pandas.DataFrame
        One row per published figure, with the columns of ``data/international.csv``.

    Raises
    ------
    DataError
        Naming the file, line, column and problem, e.g. two preferred rows of one figure.
    """
    return table_lines(FILE, data_dir)[0]
