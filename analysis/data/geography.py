"""Geography: canonical region names for any spelling, and the June 2022 reform (three new regions)."""

from __future__ import annotations

import pandas as pd

from analysis.core.paths import DATA_DIR
from analysis.data.loaders import _get

NEW_REGIONS_2022 = {"Abai": "East Kazakhstan", "Jetisu": "Almaty region", "Ulytau": "Karaganda"}


def canonical_region(name: str, data_dir=DATA_DIR) -> str:
    """Canonical region name for any known spelling (Qaraganda, Карагандинская область, ...).

    Bare 'Almaty' is refused: it may be the city or the region.

    Parameters
    ----------
    name : str
        A spelling listed in ``region_aliases.csv`` (matched exactly).
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder.

    Returns
    -------
    str
        The canonical name (a ``region`` of ``regions.csv``).

    Raises
    ------
    ValueError
        When ``name`` is bare 'Almaty' (ambiguous) or an unknown spelling.
    DataError
        When a data file read fails validation, naming file, line (header = line 1), column and problem.
    """
    aliases = _get("region_aliases", data_dir)
    found = dict(zip(aliases["alias"], aliases["region"]))
    if isinstance(name, str) and name in found:
        return found[name]
    if isinstance(name, str) and name.strip().lower() == "almaty":
        raise ValueError("region 'Almaty' is ambiguous: say 'Almaty city' or 'Almaty region'")
    raise ValueError(f"unknown region {name!r}")


def pre2022_region(region: str) -> str:
    """The region's unit under pre-June-2022 borders (Abai -> East Kazakhstan, Jetisu -> Almaty region, Ulytau
    -> Karaganda).

    Parameters
    ----------
    region : str
        A canonical region name.

    Returns
    -------
    str
        The parent region for the three regions created in 2022, else ``region`` unchanged.
    """
    return NEW_REGIONS_2022.get(region, region)


def borders_of(period: str, region: str) -> str:
    """Borders a regional figure is on: 'post-2022' for the three new regions and from 2023, 'unknown' in 2022
    (the reform took effect on 8 June 2022 and releases do not say), else 'pre-2022'.

    Parameters
    ----------
    period : str
        The figure's period; its first four characters are the year.
    region : str
        A canonical region name.

    Returns
    -------
    {'post-2022', 'unknown', 'pre-2022'}
        The borders.
    """
    year = int(period[:4])
    if region in NEW_REGIONS_2022 or year >= 2023:
        return "post-2022"
    if year == 2022:
        return "unknown"
    return "pre-2022"


def harmonise_to_pre2022(df: pd.DataFrame, region_col: str = "region", value_col: str = "value") -> pd.DataFrame:
    """Sum rows of the three 2022 regions into their parents so a series keeps pre-2022 borders.

    A parent whose new region is absent from the release is flagged ``incomplete`` (its sum is a lower bound).

    Parameters
    ----------
    df : pandas.DataFrame
        Regional rows; every column other than the region, the value and ``region_pre2022``, ``source_id``,
        ``note``, ``region_as_published``, ``borders`` and ``preferred`` is a grouping key (e.g. period,
        system, measure). Not modified.
    region_col : str, default 'region'
        The column of canonical region names.
    value_col : str, default 'value'
        The column summed.

    Returns
    -------
    pandas.DataFrame
        One row per group key and pre-2022 region: the keys, ``region_col`` (pre-2022 unit), ``value_col``
        (the sum), ``merged_from`` (the regions summed, comma-separated) and ``incomplete``.
    """
    d = df.copy()
    d["region_pre2022"] = d[region_col].map(pre2022_region)
    keys = [c for c in d.columns if c not in (region_col, value_col, "region_pre2022", "source_id", "note",
                                               "region_as_published", "borders", "preferred")]
    grouped = d.groupby(keys + ["region_pre2022"], dropna=False)
    out = grouped[value_col].sum().reset_index()
    parts = grouped[region_col].agg(lambda s: ",".join(sorted(set(s)))).reset_index(drop=True)
    out["merged_from"] = parts.values
    out["incomplete"] = [
        (r in NEW_REGIONS_2022.values()) and not any(n in m for n, p in NEW_REGIONS_2022.items() if p == r)
        for r, m in zip(out["region_pre2022"], out["merged_from"])
    ]
    return out.rename(columns={"region_pre2022": region_col})
