"""Speed benchmark of the core simulator (a script, not a test: it prints figures only).

Runs ResNet-50 at batch 1 on the shipped edge architectures and reports, per run, the wall
time, the number of SimPy events the run processed, the event rate, the simulated latency and
throughput, and how much slower per event archsim is than a bare SimPy timeout loop measured
in the same process. A second table shows the cost of writing an HDF5 trace (224x224 runs),
a third the start-up time of the command line (fresh processes: ``archsim --help`` and
``archsim validate`` of a small arch and workload). A size the architecture cannot map (a
MappingError) is reported as such, not timed.

    python benchmarks/bench_core.py             # 224x224 and 1440x1440 (a few minutes)
    python benchmarks/bench_core.py --size 512  # other square input sizes (repeatable)
    python benchmarks/bench_core.py --quick     # 224x224 only (CI smoke)
    python benchmarks/bench_core.py --repeat 3  # best of 3 wall times
    python benchmarks/bench_core.py --json      # one JSON object instead of tables
    python benchmarks/bench_core.py --startup-only  # the command-line start-up table only
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import simpy

import archsim
from archsim.errors import MappingError

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = REPO / "workloads" / "resnet50.yaml"
ARCHS = ("edge_bus", "edge_det", "edge_mesh")
SIZES_FULL = (224, 1440)
SIZES_QUICK = (224,)
BARE_TIMEOUTS = 1_000_000
STARTUP_RUNS = 10
STARTUP_COMMANDS = {
    "archsim --help": ["--help"],
    "archsim validate": [
        "validate",
        str(REPO / "arch" / "edge_bus.yaml"),
        str(REPO / "workloads" / "tiny_cnn.yaml"),
    ],
}
"""The command lines whose start-up is timed, by label (arguments after ``archsim``)."""


def bare_simpy_rate(timeouts: int = BARE_TIMEOUTS, repeat: int = 3) -> dict[str, float]:
    """Events per second of one process doing ``yield env.timeout(1)`` in a loop: the
    fastest of ``repeat`` loops (one loop's rate moved by up to 1.8x between runs on the
    shared development machine, and every 'vs bare' ratio divides by it)."""

    def loop(env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        for _ in range(timeouts):
            yield env.timeout(1)

    walls = []
    for _ in range(repeat):
        env = simpy.Environment()
        env.process(loop(env))
        start = time.perf_counter()
        env.run()
        walls.append(time.perf_counter() - start)
    wall = min(walls)
    return {"timeouts": timeouts, "wall_s": wall, "events_per_s": timeouts / wall}


def run_once(arch: str, size: int, trace_dir: Path | None) -> tuple[float, dict[str, Any]]:
    """One simulate() call; returns (wall seconds of the whole call, summary)."""
    trace_path = None
    if trace_dir is not None:
        trace_path = trace_dir / f"resnet50-{arch}-{size}x{size}.h5"
    start = time.perf_counter()
    result = archsim.simulate(
        REPO / "arch" / f"{arch}.yaml",
        WORKLOAD,
        width=size,
        height=size,
        batch=1,
        trace=trace_dir is not None,
        trace_path=trace_path,
    )
    wall = time.perf_counter() - start
    if trace_path is not None:
        trace_path.unlink(missing_ok=True)
    return wall, result.summary


def best_of(arch: str, size: int, repeat: int, trace_dir: Path | None) -> dict[str, Any]:
    """Best wall time (whole call and engine-only ``wall_s``) over ``repeat`` runs."""
    walls: list[float] = []
    engine_walls: list[float] = []
    summary: dict[str, Any] = {}
    for _ in range(repeat):
        try:
            wall, summary = run_once(arch, size, trace_dir)
        except MappingError as error:
            return {"arch": arch, "input": f"{size}x{size}", "error": str(error)}
        walls.append(wall)
        engine_walls.append(summary["wall_s"])
    engine_wall = min(engine_walls)
    return {
        "arch": arch,
        "input": summary["input"],
        "wall_s": min(walls),
        "engine_wall_s": engine_wall,
        "events": summary["events"],
        "events_per_s": summary["events"] / engine_wall,
        "latency_ms": summary["latency_ms"],
        "fps": summary["throughput_fps"],
        "mac_utilization": summary["mac_utilization"],
    }


def compile_bytecode() -> None:
    """Compile archsim's modules to bytecode, as a regular install leaves them, before
    fresh processes are timed: an editable install run with ``PYTHONDONTWRITEBYTECODE``
    (as on the development machines) would compile every module in every process (about
    0.1 s)."""
    compileall.compile_dir(REPO / "archsim", quiet=1)


def startup_times(runs: int = STARTUP_RUNS) -> list[dict[str, Any]]:
    """Wall seconds of ``python -m archsim ARGS`` in a fresh process, per command line:
    best and median of ``runs`` (after one untimed run that warms the file cache), with
    archsim's bytecode compiled."""
    compile_bytecode()
    figures = []
    for label, args in STARTUP_COMMANDS.items():
        command = [sys.executable, "-m", "archsim", *args]
        walls = []
        for index in range(runs + 1):
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            if index:
                walls.append(time.perf_counter() - start)
        figures.append(
            {
                "command": label,
                "runs": runs,
                "best_s": min(walls),
                "median_s": statistics.median(walls),
            }
        )
    return figures


def print_startup(figures: list[dict[str, Any]]) -> None:
    print("Command-line start-up (fresh python -m archsim processes)")
    header = f"{'command':<18} {'runs':>4} {'best s':>7} {'median s':>8}"
    print(header)
    print("-" * len(header))
    for f in figures:
        print(f"{f['command']:<18} {f['runs']:>4} {f['best_s']:>7.3f} {f['median_s']:>8.3f}")


def machine() -> dict[str, Any]:
    return {
        "date": datetime.date.today().isoformat(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "simpy": simpy.__version__,
        "archsim": archsim.__version__,
    }


def warm_up() -> None:
    """One small untimed run, so imports and first-call caches do not count in the figures."""
    archsim.simulate(
        REPO / "arch" / "edge_bus.yaml", REPO / "workloads" / "tiny_cnn.yaml", trace=False
    )


def measure(sizes: tuple[int, ...], repeat: int) -> dict[str, Any]:
    warm_up()
    bare = bare_simpy_rate()
    runs = [best_of(arch, size, repeat, None) for size in sizes for arch in ARCHS]
    for run in runs:
        if "error" not in run:
            run["slowdown_vs_bare"] = bare["events_per_s"] / run["events_per_s"]
    traced = []
    with tempfile.TemporaryDirectory(prefix="archsim-bench-") as tmp:
        for arch in ARCHS:
            untraced = next(
                (r for r in runs if r["arch"] == arch and r["input"] == "224x224"), None
            )
            if untraced is None or "error" in untraced:
                continue
            run = best_of(arch, 224, repeat, Path(tmp))
            traced.append(
                {
                    "arch": arch,
                    "input": run["input"],
                    "wall_s_no_trace": untraced["wall_s"],
                    "wall_s_trace": run["wall_s"],
                    "trace_cost_ratio": run["wall_s"] / untraced["wall_s"],
                }
            )
    return {
        "machine": machine(),
        "workload": "resnet50",
        "batch": 1,
        "repeat": repeat,
        "bare_simpy": bare,
        "runs": runs,
        "tracing": traced,
        "startup": startup_times(),
    }


def print_tables(figures: dict[str, Any]) -> None:
    m = figures["machine"]
    print(
        f"archsim {m['archsim']} core benchmark, {m['date']}, {m['cpus']} CPUs, "
        f"Python {m['python']}, SimPy {m['simpy']}, best of {figures['repeat']}"
    )
    bare = figures["bare_simpy"]
    print(
        f"bare SimPy timeout loop: {bare['timeouts']:,} events in {bare['wall_s']:.3f} s "
        f"= {bare['events_per_s']:,.0f} events/s"
    )
    print()
    print(f"ResNet-50, batch {figures['batch']}, trace off")
    header = (
        f"{'arch':<10} {'input':>9} {'wall s':>8} {'engine s':>8} {'events':>11} "
        f"{'events/s':>10} {'latency ms':>10} {'fps':>8} {'MAC util':>8} {'vs bare':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in figures["runs"]:
        if "error" in r:
            print(f"{r['arch']:<10} {r['input']:>9}  does not map (MappingError, below)")
            continue
        print(
            f"{r['arch']:<10} {r['input']:>9} {r['wall_s']:>8.2f} {r['engine_wall_s']:>8.2f} "
            f"{r['events']:>11,} {r['events_per_s']:>10,.0f} {r['latency_ms']:>10.3f} "
            f"{r['fps']:>8.2f} {r['mac_utilization']:>8.3f} {r['slowdown_vs_bare']:>7.1f}x"
        )
    print()
    for r in figures["runs"]:
        if "error" in r:
            print(f"{r['arch']} {r['input']}: {r['error']}")
            continue
        print(
            f"{r['arch']} {r['input']}: archsim is {r['slowdown_vs_bare']:.1f}x slower per event "
            f"than a bare SimPy timeout loop"
        )
    print()
    print("Tracing cost (HDF5 trace written to a temporary folder), 224x224")
    header = f"{'arch':<10} {'wall s, no trace':>16} {'wall s, trace':>14} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for t in figures["tracing"]:
        print(
            f"{t['arch']:<10} {t['wall_s_no_trace']:>16.2f} {t['wall_s_trace']:>14.2f} "
            f"{t['trace_cost_ratio']:>5.2f}x"
        )
    print()
    print_startup(figures["startup"])
    print()
    print(
        "wall s = whole simulate() call (mapping, run, summary; trace writing when on); "
        "engine s = summary wall_s (NoC schedule, elaboration, SimPy run); "
        "events/s = events / engine s; vs bare = bare rate / archsim rate."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only 224x224 (CI smoke)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="best of N wall times")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--startup-only", action="store_true", help="only the command-line start-up figures"
    )
    parser.add_argument(
        "--size",
        type=int,
        action="append",
        metavar="N",
        help="square input size to run instead of the defaults (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.size and any(size < 1 for size in args.size):
        parser.error("--size must be positive")
    if args.startup_only:
        startup = startup_times()
        if args.json:
            json.dump({"machine": machine(), "startup": startup}, sys.stdout, indent=2)
            print()
        else:
            print_startup(startup)
        return 0
    sizes = tuple(args.size) if args.size else SIZES_QUICK if args.quick else SIZES_FULL
    figures = measure(sizes, args.repeat)
    if args.json:
        json.dump(figures, sys.stdout, indent=2)
        print()
    else:
        print_tables(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
