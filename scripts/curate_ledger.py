"""Build the project's data/*.csv from the shared ledger of sourced facts (a maintainer's one-off step).

Usage:  python scripts/curate_ledger.py [LEDGER_DIR [OUT_DIR]]
        (defaults: ../shared/data beside the project, and the project's data/)

This is the only code that reads the ledger; nothing in analysis/, notebooks/ or tests/ does, so the
project runs without it. Every published figure becomes one row whose ``source_id`` names its ledger row
(``F213`` = line 213 of kz_injury_facts.csv, ``D12`` = line 12 of kz_denominators.csv). Ledger rows marked
``derived_`` are NOT copied: analysis.data.derived recomputes derived figures from the published ones.
Rows that cannot be placed honestly (uncertain period, multi-year spans, definitions) are listed in
data/curation_log.csv with the reason. Sources added later by ``python -m analysis.releases add`` get ids
``R<n>`` and are kept only if OUT_DIR's sources.csv is merged by hand (this script rebuilds from the ledger).

A figure given by two ledger rows (same key, see analysis.data.schemas.FILES) is kept twice with exactly one
row ``preferred``: the first in ledger order when the values agree, the one chosen in PREFERRED (with the
reason, noted on every row of the figure) when they differ.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

from analysis.data.geography import borders_of
from analysis.data.schemas import FILES, detect_language

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data"

REGIONS = [
    # region, kind, name_ru, name_kk_latin, created, part_of_before_2022_06_08
    ("Abai", "region", "Абайская область", "Abai", "2022-06-08", "East Kazakhstan"),
    ("Akmola", "region", "Акмолинская область", "Aqmola", "", ""),
    ("Aktobe", "region", "Актюбинская область", "Aqtobe", "", ""),
    ("Almaty region", "region", "Алматинская область", "Almaty oblysy", "", ""),
    ("Atyrau", "region", "Атырауская область", "Atyrau", "", ""),
    ("East Kazakhstan", "region", "Восточно-Казахстанская область", "Shygys Qazaqstan", "", ""),
    ("Jetisu", "region", "Жетысуская область", "Jetisu", "2022-06-08", "Almaty region"),
    ("Karaganda", "region", "Карагандинская область", "Qaraganda", "", ""),
    ("Kostanay", "region", "Костанайская область", "Qostanay", "", ""),
    ("Kyzylorda", "region", "Кызылординская область", "Qyzylorda", "", ""),
    ("Mangystau", "region", "Мангистауская область", "Mangystau", "", ""),
    ("North Kazakhstan", "region", "Северо-Казахстанская область", "Soltustik Qazaqstan", "", ""),
    ("Pavlodar", "region", "Павлодарская область", "Pavlodar", "", ""),
    ("Turkistan", "region", "Туркестанская область", "Turkistan", "", ""),
    ("Ulytau", "region", "Улытауская область", "Ulytau", "2022-06-08", "Karaganda"),
    ("West Kazakhstan", "region", "Западно-Казахстанская область", "Batys Qazaqstan", "", ""),
    ("Zhambyl", "region", "Жамбылская область", "Zhambyl", "", ""),
    ("Astana", "city", "Астана", "Astana", "", ""),
    ("Almaty city", "city", "Алматы", "Almaty qalasy", "", ""),
    ("Shymkent", "city", "Шымкент", "Shymkent", "", ""),
]

EXTRA_ALIASES = {
    "Nur-Sultan (Astana) city": "Astana", "Nur-Sultan": "Astana", "Astana city": "Astana",
    "Shymkent city": "Shymkent", "Turkestan region": "Turkistan", "Turkestan": "Turkistan",
    "Jambyl Region": "Zhambyl", "Jambyl": "Zhambyl", "Zhambyl region": "Zhambyl",
    "Aktyubinsk": "Aktobe", "Mangistau": "Mangystau", "Almaty Region": "Almaty region",
    "Karaganda region (incl. later Ulytau)": "Karaganda",
    "East Kazakhstan region (incl. later Abai)": "East Kazakhstan",
    "Karaganda (YDD Corporation ferroalloy plant)": "Karaganda",
    "VKO": "East Kazakhstan", "ВКО": "East Kazakhstan", "SKO": "North Kazakhstan", "ZKO": "West Kazakhstan",
    "Eastern Kazakhstan": "East Kazakhstan", "Qaragandy": "Karaganda", "Karagandy": "Karaganda",
    "Semey region": "Abai", "Zhetysu": "Jetisu", "Zhetisu": "Jetisu",
}


def aliases() -> list[tuple[str, str]]:
    out: dict[str, str] = {}
    for name, kind, ru, kk, _, _ in REGIONS:
        base = name.replace(" region", "").replace(" city", "")
        cands = {name, ru, kk}
        if kind == "region":
            cands |= {f"{base} region", f"{base} Region", f"{kk} region", f"{kk} oblysy"}
        else:
            cands |= {f"{base} city", f"{base} City", f"{kk} city"}
        for c in cands:
            out.setdefault(c, name)
    out.update(EXTRA_ALIASES)
    return sorted(out.items(), key=lambda kv: (kv[1], kv[0]))


ALIAS = dict(aliases())

SECTORS = [
    # sector, system_scope, name, note
    ("gmk", "ministry", "mining and metallurgical complex (GMK)",
     "Ministry grouping across NACE B (mining) and C24 (basic metals); not a NACE section"),
    ("construction", "both", "construction (NACE F)", ""),
    ("manufacturing", "bns", "manufacturing (NACE C)", ""),
    ("mining", "bns", "mining and quarrying (NACE B)", ""),
    ("health", "bns", "human health and social work (NACE Q)", ""),
    ("transport", "bns", "transport and storage (NACE H)", ""),
    ("agriculture", "bns", "agriculture, forestry and fishing (NACE A)", ""),
    ("trade", "bns", "wholesale and retail trade (NACE G)", ""),
    ("education", "bns", "education (NACE P)", ""),
    ("industry", "bns", "industry (NACE B+C+D+E)", "aggregate of mining, manufacturing, utilities"),
    ("coal_mining", "bns", "coal mining (NACE B05)", "subset of mining"),
    ("machine_building", "bns", "machine building (NACE C28-C30)", ""),
    ("fuel_energy", "ministry", "fuel and energy complex", "government grouping spanning B06/B09/C19/D35"),
]
SECTOR_ALIAS = {
    "mining & metallurgical complex (GMK)": "gmk", "Mining & metallurgical complex (B07+C24 approx.)": "gmk",
    "construction": "construction", "F Construction": "construction", "manufacturing": "manufacturing",
    "mining": "mining", "mining and quarrying": "mining", "B Mining and quarrying": "mining",
    "health care": "health", "health and social services": "health", "Q Human health and social work": "health",
    "transport and storage": "transport", "H Transport and storage": "transport",
    "agriculture, forestry, fishing": "agriculture", "agriculture": "agriculture",
    "A Agriculture, forestry and fishing": "agriculture", "G Trade": "trade", "trade": "trade",
    "G Wholesale and retail trade": "trade", "G Wholesale and retail trade; repair of motor vehicles": "trade",
    "P Education": "education", "education": "education", "Industry (B+C+D+E)": "industry", "industry": "industry",
    "B05 Coal mining": "coal_mining", "C28-C30 Machine building": "machine_building",
    "Fuel & energy complex (oil-gas, power, RES)": "fuel_energy",
}

NATIONAL_MEASURES = {
    "min_injured_total": ("ministry", "injured"), "min_fatal": ("ministry", "fatal"),
    "min_injury_rate_per_1000": ("ministry", "rate_per_1000"),
    "min_injured_pct_change_yoy": ("ministry", "injured_pct_change_yoy"),
    "min_fatal_pct_change_yoy": ("ministry", "fatal_pct_change_yoy"),
    "min_accidents": ("ministry", "accidents"),
    "min_injured_pct_change_5y": ("ministry", "injured_pct_change_5y"),
    "min_injured_pct_change_6y": ("ministry", "injured_pct_change_6y"),
    "bns_victims_total": ("bns", "victims"), "bns_fatal": ("bns", "fatal"),
    "bns_fatal_rate_per_100k": ("bns", "fatal_rate_per_100k"),
    "bns_nonfatal_rate_per_100k": ("bns", "nonfatal_rate_per_100k"),
    "bns_victims_pct_change_yoy": ("bns", "victims_pct_change_yoy"),
    "bns_fatal_pct_change_yoy": ("bns", "fatal_pct_change_yoy"),
    "bns_group_accident_victims": ("bns", "group_accident_victims"),
    "bns_occupational_disease_victims": ("bns", "occupational_disease_victims"),
    "bns_victims_large_medium": ("bns", "victims_large_medium"),
    "bns_victims_small": ("bns", "victims_small"),
}

# Published absolute changes hidden in quotes of rows the ledger marks derived ("78 fewer than in 2019").
ABS_CHANGES = {
    244: ("bns", "victims_change_abs_yoy", -78, 2020, 243),
    246: ("bns", "fatal_change_abs_yoy", 13, 2020, 245),
}

# Conflicting figures: per file and key, the preferred value and why (the rest are kept, preferred = False).
PREFERRED = {"national_annual": {
    (2024, "ministry", "injured"): (1408, "Committee's annual release (informburo, qaz365); consistent with the published "
                                          "-4.5% and the 0.20 rate; 1,448 was said orally by the Minister at a government "
                                          "meeting months later, without a breakdown"),
    (2024, "ministry", "fatal"): (202, "Committee's annual release, same source as 1,408; 220 from the Minister's oral statement"),
    (2021, "ministry", "injured"): (1465, "Ministry's January 2022 annual release, consistent with -2.5% vs 1,503; 1,467 is "
                                          "a trade-union citation from 2023 (possible revision)"),
}, "sectoral": {
    ("2024", "ministry", "construction", "share_pct"): (10.1, "Egemen Qazaqstan gives one decimal (10.1%); informburo's "
                                                              "10% is the same share rounded"),
    ("2024", "ministry", "gmk", "share_pct"): (18.3, "Egemen Qazaqstan gives one decimal (18.3%); informburo's 18% is "
                                                     "the same share rounded"),
}, "population": {
    ("2023-01-01", "Abai", "post-2022"): (610205, "BNS estimate with its date stated (citypopulation.de); the GitHub "
                                                  "compilation's 610,189 has an inferred date"),
    ("2025-01-01", "Kazakhstan", "post-2022"): (20283399, "BNS revised start-of-2025 total (Kazinform, August 2025) "
                                                          "supersedes the initial estimate 20,286,084"),
}}

SKIP_METRICS = {
    "bns_definition": "definition text, not a figure", "bns_rate_definition": "definition text, not a figure",
    "ilo_metadata": "metadata, not a figure", "min_typical_annual": "rounded 'typical year' statement, not a count",
    "region_fatal_cumulative": "multi-year cumulative (2000-2022)", "amt_deaths_cumulative": "company, multi-year, '>100'",
    "amt_fatal_incidents_count": "company-level incident count", "hazardous_conditions_workers": "not used",
    "occupational_disability_established": "stock, unclear period", "min_accidents_unionized": "subset of enterprises",
    "fatal_min_running": "running total to a mid-month date ('at least')", "stat_accidents": "attribution unverified (ledger)",
    "stat_injured": "rounded, attribution unverified (ledger)", "region_injured_approx": "approximate, 18-month span",
    "hired_share": "share used only to check hired totals; totals are published directly",
    "employed_change_yoy": "change only; levels are published directly",
}


def period_of(raw: str) -> tuple[str | None, str]:
    """Canonical period ('2024', '2025-Q1', '2021-H1', '2021-01..07') and a note, or (None, reason)."""
    note = ""
    s = raw.strip()
    m = re.fullmatch(r"(\d{4})(?: \((inferred annual|inferred|annual)[^)]*\)| census.*| \(census\))?", s)
    if m:
        if m.group(2) and "inferred" in m.group(2):
            note = "period inferred by the ledger (not stated in the excerpt)"
        return m.group(1), note
    m = re.fullmatch(r"(\d{4})-?Q([1-4])(?: \(inferred\))?", s)
    if m:
        return f"{m.group(1)}-Q{m.group(2)}", ("period inferred by the ledger" if "inferred" in s else "")
    m = re.fullmatch(r"(\d{4})-H1(?: \(as of [^)]*\))?", s)
    if m:
        return f"{m.group(1)}-H1", ""
    m = re.fullmatch(r"(\d{4})-01\.\.(\d{2})(?: \((?:as of [^)]*|year inferred|inferred)\))?", s)
    if m:
        last = int(m.group(2))
        if "inferred" in s:
            note = "year inferred by the ledger from neighbouring releases"
        canon = {3: "Q1", 6: "H1"}.get(last)
        if last == 12:
            return m.group(1), note
        return (f"{m.group(1)}-{canon}" if canon else f"{m.group(1)}-01..{last:02d}"), note
    if s == "2019 YTD (to ~Aug 2019)":
        return "2019-01..07", "approximate: 'since the start of the year' in an August 2019 report; assumed Jan-Jul"
    if s == "5 years to 2024/2025":
        return "2024", "published as 'over the past five years' (April 2025); end year 2024 inferred (2020->2024 matches)"
    if s == "5 years to 2018":
        return "2018", "base year not stated (likely 2013->2018)"
    if s == "2018->2022":
        return "2022", "published as 2018->2022"
    if s == "6 years to ~2023":
        return "2023", "'over the last six years', end year approximate"
    return None, f"period not placeable: {raw!r}"


def date_of(raw: str) -> tuple[str | None, str]:
    s = raw.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return s, ""
    m = re.fullmatch(r"~?(\d{4}-\d{2}-\d{2}) \((inferred|revised)\)", s)
    if m:
        return m.group(1), f"date {m.group(2)} (ledger)"
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})/\d{2}", s)
    if m:
        return m.group(1), f"published as {raw}"
    return None, f"date not placeable: {raw!r}"


def region_of(geo: str) -> str | None:
    if geo in ALIAS:
        return ALIAS[geo]
    head = geo.split(" (")[0]
    return ALIAS.get(head)


def num(v: str) -> str:
    v = v.strip().lstrip("+")
    float(v)
    return v


def main(ledger_dir: Path, out: Path = OUT) -> None:
    facts = list(csv.DictReader(open(ledger_dir / "kz_injury_facts.csv", encoding="utf-8")))
    denoms = list(csv.DictReader(open(ledger_dir / "kz_denominators.csv", encoding="utf-8")))
    rows = [("F", i + 2, r) for i, r in enumerate(facts)] + [("D", i + 2, r) for i, r in enumerate(denoms)]

    sources: dict[str, dict] = {}
    tables: dict[str, list[dict]] = {k: [] for k in
                                      ["national_annual", "national_ytd", "regional", "sectoral", "workforce",
                                       "population", "events"]}
    log: list[dict] = []

    def src(kind: str, line: int, r: dict) -> str:
        sid = f"{kind}{line}"
        sources[sid] = {"source_id": sid, "ledger_file": "kz_injury_facts.csv" if kind == "F" else "kz_denominators.csv",
                        "ledger_line": line, "publisher": r["source_publisher"], "url": r["source_url"],
                        "quote": r["quote"], "language": detect_language(r["quote"]), "ledger_metric": r["metric"],
                        "ledger_period": r["period"], "ledger_notes": r["notes"], "published": ""}
        return sid

    def skip(sid: str, r: dict, why: str) -> None:
        log.append({"ledger_row": sid, "metric": r["metric"], "value": r["value"], "period": r["period"], "reason": why})

    seen_workforce: set = set()
    seen_events: set = set()
    for kind, line, r in rows:
        sid = f"{kind}{line}"
        metric, value, geo, sector = r["metric"], r["value"].strip(), r["geography"].strip(), r["sector"].strip()
        if metric.startswith("derived_"):
            if kind == "F" and line in ABS_CHANGES:
                system, measure, change, year, _ = ABS_CHANGES[line]
                tables["national_annual"].append({"year": year, "system": system, "measure": measure, "value": change,
                                                  "source_id": src(kind, line, r), "preferred": True,
                                                  "note": "absolute change published in the quote; previous year derived in code"})
            else:
                skip(sid, r, "ledger-derived figure: recomputed by analysis/data.py, not copied")
            continue
        if metric in SKIP_METRICS:
            skip(sid, r, SKIP_METRICS[metric])
            continue
        if metric in NATIONAL_MEASURES and geo == "Kazakhstan":
            system, measure = NATIONAL_MEASURES[metric]
            if metric in ("min_injured_total", "min_fatal") and ("partial" in r["period"] or "YTD" in r["period"]):
                skip(sid, r, "year-to-date figure with an unknown end date")
                continue
            period, note = period_of(r["period"])
            if period is None:
                skip(sid, r, note)
                continue
            notes = "; ".join(x for x in [note, r["notes"]] if x)
            if re.fullmatch(r"\d{4}", period):
                tables["national_annual"].append({"year": int(period), "system": system, "measure": measure,
                                                  "value": num(value), "source_id": src(kind, line, r),
                                                  "preferred": None, "note": notes})
            else:
                if measure.endswith(("5y", "6y")):
                    skip(sid, r, "multi-year change not at a year end")
                    continue
                tables["national_ytd"].append({"year": int(period[:4]), "period": period, "system": system,
                                               "measure": measure, "value": num(value),
                                               "source_id": src(kind, line, r), "preferred": None, "note": notes})
            continue
        if metric in ("min_region_injured", "min_region_fatal", "region_accidents", "region_fatal", "region_injured",
                      "bns_region_victims", "bns_region_fatal"):
            period, note = period_of(r["period"])
            region = region_of(geo)
            if period is None or region is None:
                skip(sid, r, note if period is None else f"unknown region {geo!r}")
                continue
            system = "bns" if metric.startswith("bns") else "ministry"
            measure = {"min_region_injured": "injured", "min_region_fatal": "fatal", "region_accidents": "accidents",
                       "region_fatal": "fatal", "region_injured": "injured", "bns_region_victims": "victims",
                       "bns_region_fatal": "fatal"}[metric]
            if metric == "region_fatal" and "fatal accidents" in r["unit"]:
                measure = "fatal_accidents"
            published = geo
            if r["source_url"].startswith("https://en.orda.kz/over-30") and region == "Almaty city":
                published = "Almaty"
                note = "; ".join(x for x in [note, "published as 'Almaty' (city or region not said); "
                                             "read as Almaty city as in the ledger"] if x)
            notes = "; ".join(x for x in [note, r["notes"]] if x)
            tables["regional"].append({"period": period, "system": system, "region": region,
                                       "region_as_published": published, "borders": borders_of(period, region),
                                       "measure": measure, "value": num(value), "source_id": src(kind, line, r),
                                       "note": notes})
            continue
        if metric in ("min_sector_injured", "min_sector_share_injured", "bns_sector_victims", "bns_sector_share_victims",
                      "bns_sector_fatal"):
            if "as printed" in r["period"]:
                skip(sid, r, "suspect period (duplicate of the H1 2021 sector figures, ledger)")
                continue
            period, note = period_of(r["period"])
            if period is None:
                skip(sid, r, note)
                continue
            system = "bns" if metric.startswith("bns") else "ministry"
            measure = {"min_sector_injured": "injured", "min_sector_share_injured": "share_pct",
                       "bns_sector_victims": "victims", "bns_sector_share_victims": "share_pct",
                       "bns_sector_fatal": "fatal"}[metric]
            tables["sectoral"].append({"period": period, "system": system, "sector": SECTOR_ALIAS[sector],
                                       "sector_as_published": sector, "measure": measure, "value": num(value),
                                       "source_id": src(kind, line, r),
                                       "note": "; ".join(x for x in [note, r["notes"]] if x)})
            continue
        if metric.startswith(("employed", "hired", "self_employed")):
            measure = ("employed_share_pct" if metric == "employed_sector_share" else
                       "hired_employees" if metric.startswith("hired") else
                       "self_employed" if metric.startswith("self_employed") else "employed")
            raw_period = r["period"]
            if raw_period in ("2010-12 (estimate)", "2010-12"):
                skip(sid, r, "period '2010-12' ambiguous (December 2010 or 2010-2012)")
                continue
            basis = "LFS"
            low = (r["notes"] + " " + r["unit"]).lower()
            if "enterprise" in metric or "enterprise (1-t)" in low or "enterprise" in low:
                basis = "enterprise"
            if "census" in metric or "census" in raw_period.lower() or "census" in low:
                basis = "census"
            if re.search(r"statement", raw_period):
                basis = "government"
                m = re.match(r"(\d{4})", raw_period)
                period, pnote = (m.group(1), f"published as {raw_period}")
            elif "scrape" in low:
                basis = "LFS (third-party scrape)"
                period, pnote = period_of(raw_period.split(" (")[0])
            else:
                period, pnote = period_of(raw_period)
            if period is None:
                skip(sid, r, pnote)
                continue
            approx = bool(re.search(r"approx|rounded|lower bound|~|almost|'up to'|more than|более", low + value))
            region = "Kazakhstan" if geo == "Kazakhstan" else region_of(geo)
            if region is None:
                skip(sid, r, f"unknown geography {geo!r}")
                continue
            val = value.lstrip("~")
            sec = SECTOR_ALIAS.get(sector, "") if sector else ""
            if sector and not sec:
                skip(sid, r, f"unknown sector {sector!r}")
                continue
            key = (period, region, sec, measure, float(val))
            if key in seen_workforce:
                skip(sid, r, "duplicate of a denominator already taken")
                continue
            seen_workforce.add(key)
            tables["workforce"].append({"period": period, "geography": region, "sector": sec, "measure": measure,
                                        "value": num(val), "basis": basis, "approximate": approx,
                                        "source_id": src(kind, line, r),
                                        "note": "; ".join(x for x in [pnote, r["notes"]] if x)})
            continue
        if metric.startswith("population"):
            date, dnote = date_of(r["period"])
            region = "Kazakhstan" if geo == "Kazakhstan" else region_of(geo)
            if date is None or region is None:
                skip(sid, r, dnote if date is None else f"unknown geography {geo!r}")
                continue
            b = "post-2022" if date >= "2022-06-08" else "pre-2022"
            tables["population"].append({"date": date, "geography": region, "borders": b, "value": num(value),
                                         "approximate": "rounded" in r["notes"], "source_id": src(kind, line, r),
                                         "note": "; ".join(x for x in [dnote, r["notes"]] if x)})
            continue
        if metric in ("event_deaths", "event_injured"):
            region = region_of(geo)
            m = re.search(r"\((.*)\)", geo)
            site = m.group(1) if m else geo
            date, dnote = date_of(r["period"])
            year = int(r["period"][:4])
            key = (r["period"][:10], region)
            if metric == "event_injured":
                for ev in tables["events"]:
                    if ev["date"] == date and ev["region"] == region:
                        ev["injured"] = int(value)
                        ev["note"] = "; ".join(x for x in [ev["note"], f"injured from {sid}"] if x)
                        src(kind, line, r)
                        break
                continue
            if key in seen_events:
                skip(sid, r, "second source for an event already listed")
                continue
            seen_events.add(key)
            tables["events"].append({"year": year, "date": date or "", "site": site, "region": region,
                                     "sector": sector, "deaths": int(value), "injured": "",
                                     "source_id": src(kind, line, r),
                                     "note": "; ".join(x for x in [dnote if date is None and year else "", r["notes"]] if x)})
            continue
        skip(sid, r, "metric not used by the project")

    # Preferred flags: exactly one preferred row per figure (the file's key) where the file allows conflicts.
    for name, rows_ in tables.items():
        spec = FILES[name]
        groups: dict = {}
        for row in rows_:
            groups.setdefault(tuple(str(row[c]) for c in spec.key), []).append(row)
        wanted = {tuple(str(k) for k in key): v for key, v in PREFERRED.get(name, {}).items()}
        for key, grp in groups.items():
            if not spec.conflicts_allowed:
                if len(grp) > 1:
                    raise SystemExit(f"{name}: two ledger rows for {key} ({', '.join(g['source_id'] for g in grp)}) "
                                     "and the file has no 'preferred' column")
                continue
            values = {float(g["value"]) for g in grp}
            want = wanted.get(key)
            if len(values) > 1 and want is None:
                raise SystemExit(f"unresolved conflict in {name} {key}: {sorted(values)}")
            chosen = None
            for g in grp:
                if want is not None and float(g["value"]) == want[0] and chosen is None:
                    chosen = g
            chosen = chosen or grp[0]
            for g in grp:
                g["preferred"] = g is chosen
                if want is not None and len(values) > 1:
                    shown = str(int(want[0])) if float(want[0]).is_integer() else f"{want[0]:g}"
                    tag = f"CONFLICT resolved to {shown}: {want[1]}"
                    g["note"] = "; ".join(x for x in [tag, g["note"]] if x)

    out.mkdir(exist_ok=True)
    order = {
        "national_annual": (["year", "system", "measure", "value", "preferred", "source_id", "note"], ("system", "measure", "year")),
        "national_ytd": (["year", "period", "system", "measure", "value", "preferred", "source_id", "note"], ("system", "year", "period", "measure")),
        "regional": (["period", "system", "region", "region_as_published", "borders", "measure", "value", "preferred", "source_id", "note"], ("system", "period", "measure", "region")),
        "sectoral": (["period", "system", "sector", "sector_as_published", "measure", "value", "preferred", "source_id", "note"], ("system", "period", "sector", "measure")),
        "workforce": (["period", "geography", "sector", "measure", "value", "basis", "approximate", "source_id", "note"], ("geography", "sector", "measure", "period")),
        "population": (["date", "geography", "borders", "value", "preferred", "approximate", "source_id", "note"], ("geography", "date")),
        "events": (["year", "date", "site", "region", "sector", "deaths", "injured", "source_id", "note"], ("year", "date")),
    }
    for name, (cols, sortkey) in order.items():
        data = sorted(tables[name], key=lambda row: tuple(str(row[k]) for k in sortkey))
        write(out / f"{name}.csv", cols, data)
    used = sorted(sources.values(), key=lambda s: (s["ledger_file"] != "kz_injury_facts.csv", s["ledger_line"]))
    write(out / "sources.csv", ["source_id", "publisher", "url", "quote", "language", "ledger_file", "ledger_line",
                                "ledger_metric", "ledger_period", "ledger_notes", "published"], used)
    write(out / "regions.csv", ["region", "kind", "name_ru", "name_kk_latin", "created", "part_of_before_2022"],
          [dict(zip(["region", "kind", "name_ru", "name_kk_latin", "created", "part_of_before_2022"], r)) for r in REGIONS])
    write(out / "region_aliases.csv", ["alias", "region"], [{"alias": a, "region": r} for a, r in aliases()])
    write(out / "sectors.csv", ["sector", "system_scope", "name", "note"],
          [dict(zip(["sector", "system_scope", "name", "note"], s)) for s in SECTORS])
    write(out / "curation_log.csv", ["ledger_row", "metric", "value", "period", "reason"], log)
    print(f"wrote {len(used)} sources; " + ", ".join(f"{k}={len(v)}" for k, v in tables.items()) + f"; skipped {len(log)}")


def write(path: Path, cols: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: ("true" if r.get(c) is True else "false" if r.get(c) is False else r.get(c, "")) for c in cols})


# ------------------------------------------------------------------------------------------------------------------
# International comparators (notebook 09): data/international.csv from the ledger's international_facts.csv.
# Run on its own with:  python -c "import sys; sys.path.insert(0, 'scripts'); import curate_ledger as c; \
#                                   c.curate_international(c.ROOT.parent / 'shared' / 'data')"
# or as the last step of ``python scripts/curate_ledger.py`` (below). Ids: I<n> = line n of international_facts.csv
# (line numbers as for F/D: header = line 1, one line per record).

INTERNATIONAL_COLUMNS = ["comparator", "register", "geography", "period", "year", "metric", "value", "value_high",
                         "unit", "deaths_in_count", "absence_threshold", "self_employed", "commuting", "coverage",
                         "preferred", "definition", "source_id", "note"]

# The ledger's 'system' text -> (display group, register). Register = one registration system; a ratio pairs a
# non-fatal and a fatal count of the same register (or of the registers analysis.studies.completeness names).
INTERNATIONAL_SYSTEMS = {
    "ESAW": ("eu", "ESAW"), "ESAW vs EU-LFS (EUROGIP analysis)": ("eu", "ESAW"),
    "HSE RIDDOR": ("gb", "RIDDOR"), "HSE Labour Force Survey (LFS)": ("gb", "LFS (GB)"),
    "BLS SOII": ("us", "SOII"), "BLS SOII (DAFW)": ("us", "SOII"), "BLS CFOI": ("us", "CFOI"),
    "ILOSTAT SDG 8.8.1 (national administrative sources)": (None, "ILOSTAT"), "ILOSTAT SDG 8.8.1": (None, "ILOSTAT"),
    "Rosstat form 7-travmatizm (enterprise survey)": ("russia", "Rosstat"), "Rosstat vs ILOSTAT": ("russia", "Rosstat"),
    "Rosstat": ("russia", "Rosstat"), "Rosstat vs government estimate": ("russia", "Rosstat"),
    "multiple (Rosstat, Rostrud, FSS)": ("russia", "Rosstat"), "ILO estimation method": ("russia", "ILO method"),
    "ILO global estimates vs national reports": ("cis", "ILO estimate"),
    "Belstat (enterprise reporting)": ("belarus", "Belstat"), "Belstat": ("belarus", "Belstat"),
    "Belstat (Ministry of Statistics and Analysis)": ("belarus", "Belstat"),
    "Ministry of Labour and Social Protection / Dept of State Labour Inspection": ("belarus", "BY labour inspection"),
    "Ministry of Labour and Social Protection": ("belarus", "BY labour inspection"),
    "Service for Control and Supervision of Labour Legislation (Ministry of Labour)": ("kyrgyzstan",
                                                                                       "KG labour inspection"),
    "Labor Law Compliance and Oversight Service (Ministry of Labor, Social Security and Migration)": (
        "kyrgyzstan", "KG labour inspection"),
    "Labor Law Compliance and Oversight Service": ("kyrgyzstan", "KG labour inspection"),
    "official (state bodies + trade unions)": ("kyrgyzstan", "KG labour inspection"),
    "State Labour Inspectorate (Ministry of Employment and Poverty Reduction)": ("uzbekistan", "UZ labour inspection"),
    "State Labour Inspectorate": ("uzbekistan", "UZ labour inspection"),
    "Ministry of Employment and Labour Relations": ("uzbekistan", "UZ labour inspection"),
    "ILO/Tampere global estimates": ("world", "ILO estimate"), "ILO global estimate (Takala)": ("world", "ILO estimate"),
    "national (State Labour Inspectorate reports, as described to ILO)": ("kazakhstan", "KZ labour inspection"),
}
INTERNATIONAL_GEOGRAPHY = {"Russian Federation": "russia", "Belarus": "belarus", "Uzbekistan": "uzbekistan",
                           "Germany": "germany", "France": "france"}

# Each register's definition, read from the ledger's 'definition' column (which summarises the source's own text):
# minimum absence, self-employed, commuting, coverage. 'not stated' where the ledger's sources do not say.
INTERNATIONAL_DEFINITIONS = {
    "ESAW": ("more than 3 calendar days", "not stated", "excluded",
             "declarations to insurers or authorities; fatal = death within one year"),
    "RIDDOR": ("more than 7 days, or a specified injury", "non-fatal: excluded (employees only); fatal: included",
               "not stated", "employer-reported; non-fatal excludes railways and offshore; April-March years"),
    "LFS (GB)": ("none (any injury, regardless of time off)", "not stated", "not stated",
                 "household survey self-reports"),
    "SOII": ("none (recordable cases: treatment beyond first aid, restriction or lost time)", "not stated", "not stated",
             "employer survey (sample estimates), private industry only"),
    "CFOI": ("fatal only", "included", "not stated", "all fatal work injuries, all sectors; excludes illnesses"),
    "ILOSTAT": ("national definitions differ", "national definitions differ", "national definitions differ",
                "SDG 8.8.1 from national administrative sources"),
    "Rosstat": ("at least 1 working day", "excluded (also individual entrepreneurs, civil-law contractors)",
                "not stated", "enterprise survey (form 7-travmatizm)"),
    "Belstat": ("one workday", "not stated", "excluded", "employees of legal entities; micro-organisations excluded"),
    "BY labour inspection": ("not stated", "not stated", "not stated", "accident investigations"),
    "KG labour inspection": ("not stated", "not stated", "not stated", "investigated accidents only"),
    "UZ labour inspection": ("not stated", "not stated", "not stated", "investigated accidents only"),
    "KZ labour inspection": ("one workday", "not stated", "not stated",
                             "enterprise reports to the State Labour Inspectorate; all employed persons (late 1990s)"),
    "ILO method": ("", "", "", "estimation rule"),
    "ILO estimate": ("estimates: more than 3 days' absence", "", "", "model estimates, not registrations"),
}

# Per ledger line: whether a non-fatal ('injured') count includes the deaths (read from the quote; see unit/notes).
INTERNATIONAL_DEATHS_IN_COUNT = {51: "not stated", 53: "not stated", 55: "not stated", 57: "yes", 59: "not stated",
                                 62: "yes", 64: "yes"}
# Conflicting figures: the row kept as preferred (others stay, preferred = false) and why.
INTERNATIONAL_PREFERRED = {
    ("eu", "ESAW", "2022", "ratio_statement"): (
        4, "Eurostat's stated ratio (905 non-fatal per fatal) is the figure; the qualitative remark on "
           "under-reporting from the same page is kept as context"),
    ("belarus", "Belstat", "2022", "fatal_injuries"): (
        50, "Belstat 2022 deaths: 102 (Belstat via Zerkalo, the same report as the 1,671 injured) preferred over 106 "
            "(a think tank's reading of Belstat); the Ministry's 132 is another register"),
}
INTERNATIONAL_SKIP = {
    69: "weak citation: authors and journal not identified in the stored source",
}
# Per ledger line: a threshold narrower than its register's (the SOII days-away subset).
INTERNATIONAL_THRESHOLD = {29: "at least 1 day away from work (beyond the day of injury)"}
INTERNATIONAL_LANGUAGE = {64: "uz", 65: "uz"}
# Per ledger line: the line whose quote (same page) holds the exact figure, when the row's own quote rounds it.
INTERNATIONAL_QUOTE_FROM = {28: 27}  # Uzbek in Latin script (the detector would say 'en')


def _international_period(raw: str) -> tuple[str, str]:
    """(period, year) from the ledger's period text: '2023/24 (Apr 2023-Mar 2024)' -> ('2023/24', '2023')."""
    s = raw.strip()
    m = re.fullmatch(r"(\d{4})/(\d{2})(?: \(.*\))?", s)
    if m:
        return f"{m.group(1)}/{m.group(2)}", m.group(1)
    m = re.fullmatch(r"(\d{4})", s)
    if m:
        return s, s
    return s, ""


def _international_language(line: int, quote: str) -> str:
    if line in INTERNATIONAL_LANGUAGE:
        return INTERNATIONAL_LANGUAGE[line]
    detect = globals().get("language") or globals().get("detect_language")  # the project's language detector
    return detect(quote)


def curate_international(ledger_dir: Path, out: Path = OUT) -> None:
    """Write ``data/international.csv`` from ``international_facts.csv`` and put its sources (``I<n>``) into
    ``data/sources.csv`` (replacing earlier ``I`` rows, keeping every other row and the file's columns).

    Every figure keeps its value, unit, period, geography, definition and source exactly as the ledger has them;
    line breaks inside a quote are joined with a space (data files hold one record per line). Nothing is computed.
    """
    path = ledger_dir / "international_facts.csv"
    facts = list(csv.DictReader(open(path, encoding="utf-8")))
    rows, new_sources, skipped = [], [], []
    for i, r in enumerate(facts):
        line = i + 2
        if line in INTERNATIONAL_SKIP:
            skipped.append((line, INTERNATIONAL_SKIP[line]))
            continue
        group, register = INTERNATIONAL_SYSTEMS[r["system"]]
        group = group or INTERNATIONAL_GEOGRAPHY[r["geography"]]
        threshold, self_employed, commuting, coverage = INTERNATIONAL_DEFINITIONS[register]
        threshold = INTERNATIONAL_THRESHOLD.get(line, threshold)
        value, high = r["value"].strip(), ""
        m = re.fullmatch(r"([\d.]+)-([\d.]+)", value)
        if m:
            value, high = m.group(1), m.group(2)
        if value:
            float(value)
        period, year = _international_period(r["period"])
        metric = r["metric"]
        nonfatal_count = metric.startswith("nonfatal_injuries")
        deaths = INTERNATIONAL_DEATHS_IN_COUNT.get(line, "no" if nonfatal_count else "")
        sid = f"I{line}"
        quote = " ".join(r["quote"].split())
        note = r["notes"]
        if line in INTERNATIONAL_QUOTE_FROM:
            other = INTERNATIONAL_QUOTE_FROM[line]
            quote = " ".join(facts[other - 2]["quote"].split())
            note = "; ".join(x for x in [f"quote from ledger line {other} (the same page's table, which holds the "
                                         f"exact figure); this line's own quote: {r['quote']}", note] if x)
        rows.append({"comparator": group, "register": register, "geography": r["geography"], "period": period,
                     "year": year, "metric": metric, "value": value, "value_high": high, "unit": r["unit"],
                     "deaths_in_count": deaths, "absence_threshold": threshold, "self_employed": self_employed,
                     "commuting": commuting, "coverage": coverage, "preferred": True,
                     "definition": r["definition"], "source_id": sid, "note": note})
        new_sources.append({"source_id": sid, "publisher": r["source_publisher"], "url": r["source_url"],
                            "quote": quote, "language": _international_language(line, quote),
                            "ledger_file": "international_facts.csv", "ledger_line": line, "ledger_metric": metric,
                            "ledger_period": r["period"], "ledger_notes": note})
    for (group, register, period, metric), (keep, why) in INTERNATIONAL_PREFERRED.items():
        same = [x for x in rows if (x["comparator"], x["register"], x["period"], x["metric"]) ==
                (group, register, period, metric)]
        for x in same:
            x["preferred"] = x["source_id"] == f"I{keep}"
            x["note"] = "; ".join(v for v in [f"CONFLICT resolved to I{keep}: {why}", x["note"]] if v)
    write(out / "international.csv", INTERNATIONAL_COLUMNS, rows)

    with open(out / "sources.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = list(reader.fieldnames or [])
        kept = [s for s in reader if not s["source_id"].startswith("I")]
    write(out / "sources.csv", columns, kept + [{c: s.get(c, "") for c in columns} for s in new_sources])
    print(f"international: wrote {len(rows)} rows and {len(new_sources)} sources; skipped "
          + (", ".join(f"I{line} ({why})" for line, why in skipped) or "none"))


if __name__ == "__main__":
    ledger = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    main(ledger, target)
    curate_international(ledger, target)
