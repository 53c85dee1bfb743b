"""Tables that describe what the data hold: coverage, the two systems side by side, derived figures, conflicts,
provenance. Used by the data-overview notebook."""

from __future__ import annotations

import pandas as pd

from analysis import data


def coverage(data_dir=data.DATA_DIR) -> pd.DataFrame:
    """One row per data file: rows, distinct sources, first and last period."""
    t = data.load_all(data_dir)
    rows = []
    for name in ("national_annual", "national_ytd", "regional", "sectoral", "workforce", "population", "events"):
        df = t[name]
        key = "year" if name in ("national_annual", "events") else "date" if name == "population" else "period"
        vals = sorted(df[key].astype(str))
        rows.append({"file": f"data/{name}.csv", "rows": len(df), "sources": df["source_id"].nunique(),
                     "first": vals[0], "last": vals[-1]})
    return pd.DataFrame(rows)


def systems_side_by_side(data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Ministry injured/fatal beside BNS victims/fatal by year, with the non-fatal gap in percent.

    Non-fatal = all minus fatal in each system; gap = BNS non-fatal / Ministry non-fatal - 1.
    """
    a = data.load_national_annual(data_dir)
    a = a[a["preferred"]]
    wide = a.pivot_table(index="year", columns=["system", "measure"], values="value", aggfunc="first")
    out = pd.DataFrame(index=wide.index)
    for (sys, meas), col in (("ministry", "injured"), "ministry_injured"), (("ministry", "fatal"), "ministry_fatal"), \
            (("bns", "victims"), "bns_victims"), (("bns", "fatal"), "bns_fatal"):
        out[col] = wide[(sys, meas)] if (sys, meas) in wide.columns else float("nan")
    derived = a[a["derived"]].set_index(["year", "system", "measure"]).index
    out["derived"] = [", ".join(f"{s} {m}" for (y, s, m) in derived if y == yr) for yr in out.index]
    m_nonfatal = out["ministry_injured"] - out["ministry_fatal"]
    b_nonfatal = out["bns_victims"] - out["bns_fatal"]
    out["nonfatal_gap_pct"] = 100 * (b_nonfatal / m_nonfatal - 1)
    out["fatal_gap_pct"] = 100 * (out["bns_fatal"] / out["ministry_fatal"] - 1)
    out["victims_over_injured_pct"] = 100 * (out["bns_victims"] / out["ministry_injured"] - 1)
    both = out[["ministry_injured", "bns_victims"]].notna().all(axis=1)
    return out[both | out[["ministry_fatal", "bns_fatal"]].notna().all(axis=1)].reset_index()


def derived_figures(data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Every figure computed rather than published, with its arithmetic."""
    a = data.load_national_annual(data_dir)
    y = data.load_national_ytd(data_dir)
    a = a[a["derived"]].assign(period=lambda d: d["year"].astype(str))
    y = y[y["derived"]]
    cols = ["period", "system", "measure", "value", "formula"]
    return pd.concat([a[cols], y[cols]], ignore_index=True).sort_values(["system", "period"]).reset_index(drop=True)


def conflicts(data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Periods where two sources publish different values for the same figure, and the preferred one."""
    a = data.load_national_annual(data_dir, include_derived=False)
    g = a.groupby(["year", "system", "measure"])["value"].nunique()
    keys = g[g > 1].index
    rows = []
    for year, sys, meas in keys:
        sel = a[(a["year"] == year) & (a["system"] == sys) & (a["measure"] == meas)]
        rows.append({"period": str(year), "system": sys, "measure": meas,
                     "values": ", ".join(f"{v:g}" for v in sorted(sel["value"].unique())),
                     "preferred": f"{sel.loc[sel['preferred'], 'value'].iloc[0]:g}",
                     "sources": ", ".join(sel["source_id"]), "why": sel.loc[sel["preferred"], "note"].iloc[0]})
    return pd.DataFrame(rows)


def _decimals(x: float) -> int:
    text = f"{x:g}"
    return len(text.split(".")[1]) if "." in text else 0


def change_checks(data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Published year-on-year percentages beside the percent their own (published) counts give.

    ``matches_when_rounded``: the count-based percent rounds to the published one at the published precision.
    Rows whose earlier count is derived are left out (they match by construction).
    """
    ch = data.published_changes(data_dir).dropna(subset=["current", "previous"])
    ch = ch[ch["previous_derived"] == False].copy()  # noqa: E712
    exact = 100 * (ch["current"] / ch["previous"] - 1)
    ch["pct_from_counts"] = exact.round(2)
    ch["matches_when_rounded"] = [abs(e - p) <= 0.5 * 10 ** -_decimals(p) + 1e-9
                                  for e, p in zip(exact, ch["pct_published"])]
    return ch.drop(columns=["previous_derived"]).reset_index(drop=True)


def same_value_years(series: pd.Series) -> list[tuple[int, int, float]]:
    """Consecutive years with identical published values (e.g. 2021 and 2022 both 1,465): worth a second look."""
    s = series.dropna().sort_index()
    return [(int(a), int(b), float(v)) for (a, v), (b, w) in zip(s.items(), list(s.items())[1:]) if v == w and b == a + 1]


def provenance(data_dir=data.DATA_DIR, max_quote_chars: int = 160) -> pd.DataFrame:
    """Figure -> publisher -> link -> quote, for every published national and regional figure."""
    src = data.load_sources(data_dir).set_index("source_id")
    parts = []
    t = data.load_all(data_dir)
    for name, key in (("national_annual", "year"), ("national_ytd", "period"), ("regional", "period"),
                      ("sectoral", "period")):
        df = t[name]
        label = df["measure"] + (" " + df["region"] if "region" in df else "") + (" " + df["sector"] if "sector" in df else "")
        parts.append(pd.DataFrame({"file": name, "period": df[key].astype(str), "system": df["system"],
                                   "figure": label.str.strip(), "value": df["value"], "source_id": df["source_id"]}))
    out = pd.concat(parts, ignore_index=True)
    out["publisher"] = out["source_id"].map(src["publisher"])
    out["url"] = out["source_id"].map(src["url"])
    q = out["source_id"].map(src["quote"]).fillna("")
    out["quote"] = [s if len(s) <= max_quote_chars else s[: max_quote_chars - 1] + "…" for s in q]
    return out
