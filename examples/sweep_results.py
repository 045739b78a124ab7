"""Print a sweep's results table sorted by one metric, failed points listed apart.

A sweep writes results.csv: one row per point with the factor values, status, error and
the run's summary metrics (plus timing columns). This reads it with the csv module only.
Factor columns are detected as those between `point` and `status` (the sweep's layout)
or else those before the first summary column (`archsim_version`) or `status`; pass
--factors to choose them yourself.

    python examples/sweep_results.py sweeps/out/results.csv
    python examples/sweep_results.py results.csv --sort throughput_fps --descending --top 5
"""

from __future__ import annotations

import argparse
import csv
import math
import sys


def factor_columns(columns: list[str]) -> list[str]:
    """The factor columns of a results table (see the module docstring)."""
    if "point" in columns and "status" in columns:
        return columns[columns.index("point") + 1 : columns.index("status")]
    stops = [columns.index(name) for name in ("archsim_version", "status") if name in columns]
    return [name for name in columns[: min(stops, default=len(columns))] if name != "point"]


def number(text: str) -> float:
    """A cell as a float; NaN when empty or not a number."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", help="results.csv of a sweep")
    parser.add_argument(
        "--sort", default="latency_ms", help="metric to sort by (default latency_ms)"
    )
    parser.add_argument("--descending", action="store_true", help="largest first")
    parser.add_argument("--top", type=int, help="show only the first N points")
    parser.add_argument("--factors", help="comma-separated factor columns (default: detected)")
    args = parser.parse_args()
    with open(args.csv, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    if args.sort not in columns:
        print(f"error: no column {args.sort!r}; columns: {', '.join(columns)}", file=sys.stderr)
        return 2
    factors = args.factors.split(",") if args.factors else factor_columns(columns)
    ok = [row for row in rows if row.get("status", "ok") == "ok"]
    failed = [row for row in rows if row.get("status", "ok") != "ok"]
    ok.sort(key=lambda row: number(row[args.sort]), reverse=args.descending)
    shown = ok[: args.top] if args.top else ok
    header = [*factors, args.sort, *(["wall_s"] if "wall_s" in columns else [])]
    widths = [max(len(name), *(len(row.get(name, "")) for row in shown)) for name in header]
    print("  ".join(name.rjust(width) for name, width in zip(header, widths, strict=True)))
    for row in shown:
        print(
            "  ".join(
                row.get(name, "").rjust(width) for name, width in zip(header, widths, strict=True)
            )
        )
    order = "descending" if args.descending else "ascending"
    print(f"{len(ok)} ok point(s) sorted by {args.sort} ({order}); {len(failed)} failed")
    for row in failed:
        point = ", ".join(f"{name}={row.get(name, '')}" for name in factors)
        print(f"  {row.get('status')}: {point}: {row.get('error', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
