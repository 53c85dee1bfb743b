"""International comparators: ``data/international.csv`` (other countries' registration systems), validated.

One published figure a row, from the ledger ``international_facts.csv`` (``source_id`` ``I<n>`` = its line ``n``,
resolved in ``sources.csv``): counts of fatal and non-fatal injuries, rates per 100,000 (or 1,000) workers,
ratios and readings the sources state themselves (``ratio_statement``), and definitions. Each row carries its
system's definition: minimum absence, self-employed, commuting, coverage, and for a non-fatal count whether the
deaths are inside it (``deaths_in_count``). Nothing in the file is computed; ratios are computed by the study.

A bad file raises :class:`~analysis.data.DataError` naming the file, line (header = line 1), column and problem.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from analysis.core.paths import DATA_DIR
from analysis.data.loaders import DataError, load_sources

FILE = "international"
COUNT_METRICS = ("fatal_injuries", "nonfatal_injuries", "nonfatal_injuries_selfreported",
                 "nonfatal_injuries_and_illnesses", "nonfatal_injuries_days_away")
RATE_METRICS = ("fatal_rate_per_100k", "nonfatal_rate_per_100k", "nonfatal_rate_per_1000")
METRICS = (*COUNT_METRICS, *RATE_METRICS, "ratio_statement", "definition")
DEATHS_IN_COUNT = ("yes", "no", "not stated")
_NUMERIC = ("value", "value_high", "year")


def _row_checks() -> list[pa.Check]:
    def figure_has_value(df):  # every count and rate has a value; statements and definitions may be qualitative
        return ~df["metric"].isin([*COUNT_METRICS, *RATE_METRICS]) | df["value"].notna()

    def count_is_whole(df):
        return ~df["metric"].isin(COUNT_METRICS) | (df["value"] == df["value"].round())

    def range_is_ordered(df):
        return df["value_high"].isna() | (df["value_high"] >= df["value"])

    def deaths_stated_for_counts(df):  # a non-fatal count must say whether the deaths are inside it
        nonfatal = df["metric"].isin(COUNT_METRICS) & (df["metric"] != "fatal_injuries")
        return ~nonfatal | df["deaths_in_count"].notna()

    return [pa.Check(figure_has_value, name="value: a count or rate needs a value"),
            pa.Check(count_is_whole, name="value: counts must be whole numbers"),
            pa.Check(range_is_ordered, name="value_high: the upper end of a range must not be below value"),
            pa.Check(deaths_stated_for_counts, name="deaths_in_count: a non-fatal count must say yes, no or "
                                                    "not stated")]


def schema() -> pa.DataFrameSchema:
    """The rules ``data/international.csv`` obeys."""
    text = pa.Column(str)
    optional = pa.Column(str, nullable=True)
    return pa.DataFrameSchema({
        "comparator": pa.Column(str, pa.Check.str_matches(r"^[a-z_]+$")),
        "register": text, "geography": text, "period": text,
        "year": pa.Column(float, pa.Check.in_range(1900, 2100), nullable=True),
        "metric": pa.Column(str, pa.Check.isin(METRICS)),
        "value": pa.Column(float, pa.Check.ge(0), nullable=True),
        "value_high": pa.Column(float, pa.Check.ge(0), nullable=True),
        "unit": text,
        "deaths_in_count": pa.Column(str, pa.Check.isin(DEATHS_IN_COUNT), nullable=True),
        "absence_threshold": optional, "self_employed": optional, "commuting": optional, "coverage": text,
        "preferred": pa.Column(str, pa.Check.isin(["true", "false"])),
        "definition": optional,
        "source_id": pa.Column(str, pa.Check.str_matches(r"^I\d+$")),
        "note": optional,
    }, checks=_row_checks(), strict=True, coerce=False)


def _label(data_dir: Path) -> str:
    path = Path(data_dir) / f"{FILE}.csv"
    return f"data/{FILE}.csv" if Path(data_dir).resolve() == DATA_DIR.resolve() else str(path)


def _frame(data_dir: Path, label: str) -> pd.DataFrame:
    """The file's rows as text (empty -> missing), numbers parsed; a bad number names its line and column."""
    path = Path(data_dir) / f"{FILE}.csv"
    if not path.exists():
        raise DataError(label, None, None, "file not found")
    try:
        records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline=""), strict=True))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise DataError(label, None, None, f"cannot parse CSV ({exc})") from None
    header, body = records[0], records[1:]
    for i, fields in enumerate(body):
        if len(fields) != len(header):
            raise DataError(label, i + 2, None, f"has {len(fields)} fields, the header has {len(header)}")
    df = pd.DataFrame(body, columns=header).replace("", pd.NA)
    for col in _NUMERIC:
        if col not in df:
            continue
        parsed = pd.to_numeric(df[col], errors="coerce")
        bad = df[col].notna() & parsed.isna()
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise DataError(label, i + 2, col, f"value {df[col].iloc[i]!r} is not a number")
        df[col] = parsed.astype(float)
    return df


def _explain(err: SchemaErrors, label: str) -> DataError:
    cases = err.failure_cases.reset_index(drop=True)
    with_row = cases[cases["index"].notna()]
    c = (with_row if len(with_row) else cases).iloc[0]
    check, column = str(c["check"]), c["column"]
    if check == "column_in_dataframe":
        return DataError(label, 1, str(c["failure_case"]), "required column is missing")
    if check == "column_in_schema":
        return DataError(label, 1, str(c["failure_case"]), "unexpected column")
    named = check.split(": ", 1)[0] if ": " in check else None  # row-wise checks are named '<column>: <rule>'
    column = named or (None if pd.isna(column) else str(column))
    line = None if pd.isna(c["index"]) else int(c["index"]) + 2
    problem = check.split(": ", 1)[1] if named else f"value {c['failure_case']!r} fails check '{check}'"
    if check == "not_nullable":
        problem = "value is missing"
    return DataError(label, line, column, problem)


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
        Naming the file, line, column and problem, e.g. a source id missing from ``sources.csv``.
    """
    label = _label(data_dir)
    df = _frame(data_dir, label)
    try:
        out = schema().validate(df, lazy=True)
    except SchemaErrors as err:
        raise _explain(err, label) from None
    ids = set(load_sources(data_dir)["source_id"])
    missing = ~out["source_id"].isin(ids)
    if missing.any():
        i = int(missing.to_numpy().nonzero()[0][0])
        raise DataError(label, i + 2, "source_id",
                        f"source_id {out['source_id'].iloc[i]!r} does not exist in data/sources.csv")
    out["preferred"] = out["preferred"] == "true"
    key = ["register", "geography", "period", "metric"]
    counts = out[out["metric"].isin(COUNT_METRICS)]
    twice = counts[counts["preferred"]].duplicated(key, keep="first")
    if twice.any():
        i = int(twice[twice].index[0])
        raise DataError(label, i + 2, "preferred", f"a second preferred {out['metric'].iloc[i]} for "
                                                   f"{out['register'].iloc[i]}, {out['period'].iloc[i]}: mark one "
                                                   "row preferred and say why in note")
    out["year"] = out["year"].astype("Int64")
    return out
