"""Compare two traces layer by layer: time, MAC utilization and DRAM traffic.

Layers are matched by name. "time" is each layer's exclusive share of the run (every
instant belongs to the earliest-started active layer, as in `archsim report`), so the
times of one trace add up to its latency with the gaps. The layers whose time changed the
most are marked with *.

    python examples/compare_layers.py traces/bus.h5 traces/mesh.h5
    python examples/compare_layers.py traces/a.h5 traces/b.h5 --sort change
"""

from __future__ import annotations

import argparse
import sys

import archsim
from archsim.analysis.report import LayerRow, build_report


def layers(path: str) -> tuple[dict[str, LayerRow], int]:
    """Rows of the trace's report by layer name, and the run's latency (ps)."""
    with archsim.open_trace(path) as trace:
        report = build_report(trace)
    return {row.name: row for row in report.layers}, report.latency_ps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="first trace (the reference)")
    parser.add_argument("b", help="second trace")
    parser.add_argument(
        "--sort",
        choices=["order", "change"],
        default="order",
        help="workload order (default) or largest time change first",
    )
    parser.add_argument("--mark", type=int, default=5, help="mark the N largest changes")
    args = parser.parse_args()
    rows_a, latency_a = layers(args.a)
    rows_b, latency_b = layers(args.b)
    names = [name for name in rows_a if name in rows_b]
    change = {name: rows_b[name].time_ps - rows_a[name].time_ps for name in names}
    if args.sort == "change":
        names.sort(key=lambda name: -abs(change[name]))
    marked = set(sorted(names, key=lambda name: -abs(change[name]))[: args.mark])
    print(f"A = {args.a}\nB = {args.b}   (times in µs)")
    header = (
        f"  {'layer':<24} {'A time':>9} {'B time':>9} {'B/A':>6} {'A util%':>8} "
        f"{'B util%':>8} {'A DRAM kB':>10} {'B DRAM kB':>10}"
    )
    print(header)
    for name in names:
        a, b = rows_a[name], rows_b[name]
        ratio = f"{b.time_ps / a.time_ps:6.2f}" if a.time_ps else "     -"
        print(
            f"{'*' if name in marked else ' '} {name:<24} {a.time_ps / 1e6:9.3f} "
            f"{b.time_ps / 1e6:9.3f} {ratio} {100 * a.mac_utilization:8.1f} "
            f"{100 * b.mac_utilization:8.1f} {a.dram_bytes / 1e3:10.1f} {b.dram_bytes / 1e3:10.1f}"
        )
    only = sorted(set(rows_a) ^ set(rows_b))
    if only:
        print(f"layers in only one trace: {', '.join(only)}")
    print(
        f"  {'latency':<24} {latency_a / 1e6:9.3f} {latency_b / 1e6:9.3f} "
        f"{latency_b / latency_a if latency_a else float('nan'):6.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
