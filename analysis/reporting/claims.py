"""One-command claim checker: run a claim notebook on a new press-release figure and print the verdict.

    python -m analysis.claims quarterly --current 293 --change-pct -16.8
    python -m analysis.claims quarterly --current 180 --change-pct -17.6 --previous 220 --labels 2019 2018
    python -m analysis.claims trend --end-year 2024 --years 5 --change-pct -6.3 [--measure rate]
    python -m analysis.claims ytd --year 2025 --months 3 --count 293 --change-pct -16.8 --target-months 9

Arguments are validated before any kernel starts; the notebook runs through papermill and is rendered to HTML
(code hidden). Prints the verdict and the paths of the JSON and HTML; exits 2 on bad arguments, 1 on a failed run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.core.paths import NOTEBOOKS_DIR, ROOT
from analysis.studies import checks as params

NOTEBOOKS = {
    "quarterly": "02_quarterly_change.ipynb",
    "trend": "03_five_year_trend.ipynb",
    "ytd": "07_year_to_date_projection.ipynb",
}


OPTIONS = {  # notebook parameter -> command-line option, for error messages
    "current_count": "--current", "reported_change_pct": "--change-pct", "previous_count": "--previous",
    "pct_decimals": "--decimals", "current_label": "--labels", "previous_label": "--labels",
    "exposure_ratio": "--exposure-ratio", "dispersion": "--dispersion", "alpha": "--alpha", "end_year": "--end-year",
    "years": "--years", "measure": "--measure", "year": "--year", "months": "--months", "ytd_count": "--count",
    "ytd_change_pct": "--change-pct", "target_months": "--target-months", "deaths": "--deaths",
    "event_deaths": "--event-deaths", "deaths_reference_year": "--reference-year", "period_months": "--period-months",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analysis.claims", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)

    q = sub.add_parser("quarterly", help="is a reported change between two periods real? (02_quarterly_change)")
    q.add_argument("--current", type=int, required=True, help="count in the current period (e.g. 293)")
    q.add_argument("--change-pct", type=float, required=True, help="published percent change (e.g. -16.8)")
    q.add_argument("--previous", type=int, default=None, help="earlier count, if published (else derived)")
    q.add_argument("--decimals", type=int, default=1, help="decimals the percent was rounded to (default 1)")
    q.add_argument("--labels", nargs=2, metavar=("CURRENT", "PREVIOUS"), default=("2025-Q1", "2024-Q1"),
                   help="period labels (default 2025-Q1 2024-Q1)")
    q.add_argument("--exposure-ratio", type=float, default=1.0, help="workers now / workers then (default 1)")
    q.add_argument("--dispersion", type=float, default=None, help="over-dispersion φ (default: estimated)")
    q.add_argument("--deaths", type=int, default=None, help="deaths in the current period (optional)")
    q.add_argument("--event-deaths", type=int, default=0, help="of which in one mass-casualty event")
    q.add_argument("--reference-year", type=int, default=2024, help="year whose deaths are the reference")
    q.add_argument("--period-months", type=int, default=3, help="length of the current period in months")

    t = sub.add_parser("trend", help="is a multi-year decline real? (03_five_year_trend)")
    t.add_argument("--end-year", type=int, default=2024)
    t.add_argument("--years", type=int, default=5, help="window length in calendar years, endpoints included")
    t.add_argument("--change-pct", type=float, required=True, help="published percent change over the window")
    t.add_argument("--measure", choices=params.MEASURES, default="count")

    y = sub.add_parser("ytd", help="what does a year-to-date change imply for the year? (07_year_to_date_projection)")
    y.add_argument("--year", type=int, required=True)
    y.add_argument("--months", type=int, required=True, help="cumulative months published (e.g. 3)")
    y.add_argument("--count", type=int, required=True, help="year-to-date count")
    y.add_argument("--change-pct", type=float, required=True, help="published year-to-date percent change")
    y.add_argument("--target-months", type=int, default=12)

    for s in (q, t, y):
        s.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
        s.add_argument("--out", default="reports/claims", help="output folder (default reports/claims)")
    return p


def notebook_parameters(args: argparse.Namespace) -> dict:
    """Map CLI arguments to the notebook's parameters and validate them (ValueError names the parameter)."""
    rd = "reports/results"  # replaced by the runner with its own results folder
    if args.mode == "quarterly":
        p = dict(current_count=args.current, reported_change_pct=args.change_pct, previous_count=args.previous,
                 pct_decimals=args.decimals, current_label=args.labels[0], previous_label=args.labels[1],
                 exposure_ratio=args.exposure_ratio, alpha=args.alpha, dispersion=args.dispersion)
        params.check_quarterly(**p, results_dir=rd)
        p.update(deaths=args.deaths, event_deaths=args.event_deaths, deaths_reference_year=args.reference_year,
                 period_months=args.period_months)
        params.check_deaths(**{k: p[k] for k in ("deaths", "event_deaths", "deaths_reference_year", "period_months")})
    elif args.mode == "trend":
        from analysis.data.loaders import national_series

        p = dict(end_year=args.end_year, years=args.years, reported_change_pct=args.change_pct,
                 measure=args.measure, alpha=args.alpha)
        params.check_trend(**p, results_dir=rd, available_years=national_series("ministry", "injured").index)
    else:
        p = dict(year=args.year, months=args.months, ytd_count=args.count, ytd_change_pct=args.change_pct,
                 target_months=args.target_months, alpha=args.alpha)
        params.check_ytd(**p, results_dir=rd)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        nb_params = notebook_parameters(args)
    except ValueError as exc:
        msg = str(exc)
        param = msg.split(" ", 1)[0]
        option = OPTIONS.get(param)
        parser.error(f"{option} ({msg})" if option else msg)  # exits 2 with the usage line and the message
    from analysis.reporting.runner import run_notebook

    notebook = NOTEBOOKS_DIR / NOTEBOOKS[args.mode]
    name = f"claim_{args.mode}"
    print(f"running {notebook.relative_to(ROOT)} with {nb_params} ...", flush=True)
    res = run_notebook(notebook, nb_params, name=name, out_dir=args.out)
    if not res.ok:
        print(f"error: {res.error}", file=sys.stderr)
        return 1
    print(f"verdict: {res.verdict}")
    print(f"json:    {_rel(res.json_path)}")
    print(f"html:    {_rel(res.html_path)}")
    return 0


def _rel(path) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
