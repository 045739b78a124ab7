"""Where one `simulate` call spends its time and memory (a script, not a test).

Runs one simulation under cProfile and prints the cumulative wall time of each phase of
`archsim.simulate` (loading, graph building, mapping, within it the tiling search and the
unfused DRAM bytes a fused run is measured against, frame planning, the SimPy run, the
summary, trace tables and HDF5 writing), the top functions by own time, and the process's
peak RSS. Optionally writes the raw profile for snakeviz / pstats.

    python benchmarks/profile_phases.py arch/edge_bus.yaml workloads/resnet50.yaml
    python benchmarks/profile_phases.py arch/edge_det.yaml workloads/yolov3.yaml \
        --input 1920x1088 --fusion auto --trace --out /tmp/yolo.prof
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

import archsim

PHASES = (
    ("load configs", "config/yaml_loader.py", "load_yaml", None),
    ("build graph", "workload/build.py", "build_graph", None),
    ("map (plan and build)", "mapping/located.py", "map_run", None),
    ("  of it: plan (tiling search)", "mapping/planner.py", "plan_mapping", None),
    ("  of it: unfused DRAM bytes", "mapping/dram_traffic.py", "unfused_dram_bytes", None),
    ("plan frames", "scenario/frames.py", "plan_frames", None),
    ("NoC schedule", "mapping/noc_schedule.py", "build_noc_schedule", None),
    ("elaborate chip", "hw/chip.py", "__init__", None),
    ("SimPy run", "sim/environment.py", "run_counting", None),
    ("summary", "analysis/summary.py", "build_summary", None),
    ("trace tables", "api.py", "_record_tables", None),
    ("HDF5 write", "trace/writer.py", "write_trace", None),
)
"""(label, file suffix, function, caller or None) of each phase, as cProfile names them.
With a caller, only the time of calls made from that function counts. Indented labels are
parts of the phase above them."""


def phase_seconds(stats: pstats.Stats) -> dict[str, float]:
    """Cumulative seconds per phase label (several calls of one function add up)."""
    table = stats.stats  # type: ignore[attr-defined]
    totals: dict[str, float] = {}
    for label, suffix, name, caller in PHASES:
        seconds = 0.0
        for (file, _, func), (_, _, _, cumulative, callers) in table.items():
            if func != name or not file.endswith(suffix):
                continue
            if caller is None:
                seconds += cumulative
            else:
                seconds += sum(row[3] for key, row in callers.items() if key[2] == caller)
        totals[label] = seconds
    return totals


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Parse the options, profile one run, print the phase table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("arch")
    parser.add_argument("workload")
    parser.add_argument("--input", help="WxH")
    parser.add_argument("--fusion", choices=("none", "auto"))
    parser.add_argument("--trace", action="store_true", help="write (and time) an HDF5 trace")
    parser.add_argument("--out", type=Path, help="write the raw cProfile data here")
    parser.add_argument("--top", type=int, default=15, help="functions listed by own time")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    size = {}
    if args.input:
        width, height = (int(v) for v in args.input.lower().split("x"))
        size = {"width": width, "height": height}
    with tempfile.TemporaryDirectory() as folder:
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        result = archsim.simulate(
            args.arch,
            args.workload,
            fusion=args.fusion,
            trace=args.trace,
            trace_path=Path(folder) / "profile.h5",
            **size,
        )
        profiler.disable()
        wall = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    if args.out:
        stats.dump_stats(args.out)
    phases = phase_seconds(stats)
    report = {
        "arch": result.summary["arch"],
        "workload": result.summary["workload"],
        "input": result.summary["input"],
        "ops": len(result.program.ops),
        "events": result.summary.get("events"),
        "wall_s_profiled": round(wall, 2),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "phases_s": {k: round(v, 3) for k, v in phases.items()},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{report['workload']} on {report['arch']} at {report['input']}: {report['ops']} ops, "
        f"{report['events']} events, {wall:.2f} s profiled, peak RSS {report['peak_rss_mib']} MiB"
    )
    for label, seconds in phases.items():
        print(f"  {label:30s} {seconds:8.3f} s  {100 * seconds / wall:5.1f} %")
    print(f"\ntop {args.top} functions by own time:")
    stats.sort_stats("tottime").print_stats(args.top)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
