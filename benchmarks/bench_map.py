"""Mapping speed (a script, not a test: it prints figures only).

Times what a run spends mapping (``archsim.mapping.located.map_run``: tiling search,
residency and fusion planning, program building and, for a fused run, counting the
unfused DRAM bytes the saving is measured against) on the workloads that matter at the
edge, with fusion none and auto, and two whole commands in fresh processes: ``archsim map``
of YOLOv3 at 1920x1088 and ``archsim run`` of ResNet-50 at 224 (trace written, as by
default). Wall times are the best of ``--repeat`` runs; the CPU seconds of the same runs
are printed beside them, since a loaded machine stretches wall time but not CPU time.

    python benchmarks/bench_map.py             # every case (about two minutes)
    python benchmarks/bench_map.py --quick     # without the 1920x1088 cases
    python benchmarks/bench_map.py --repeat 5  # best of 5
    python benchmarks/bench_map.py --json      # one JSON object instead of tables
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_core import compile_bytecode

from archsim.config import load_arch, load_workload
from archsim.mapping.located import fusion_request, map_run
from archsim.scenario import engine_arch
from archsim.workload import build_graph

REPO = Path(__file__).resolve().parents[1]
ARCH = REPO / "arch" / "edge_bus.yaml"
MAPPINGS = (
    ("resnet50", 224, 224),
    ("yolov3", 608, 608),
    ("yolov3", 1920, 1088),
)
"""(workload, width, height) of the timed mappings, each with fusion none and auto."""
QUICK_LIMIT_PIXELS = 1_000_000
"""--quick leaves out inputs larger than this."""


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_mapping(
    workload: str, width: int, height: int, fusion: str, repeat: int
) -> dict[str, Any]:
    """Best wall and CPU seconds of mapping one workload on edge_bus for a run."""
    arch = engine_arch(load_arch(ARCH))
    workload_cfg = load_workload(REPO / "workloads" / f"{workload}.yaml")
    graph = build_graph(workload_cfg, width=width, height=height)
    request = fusion_request(workload_cfg, fusion)
    walls, cpus = [], []
    for _ in range(repeat):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        mapped = map_run(graph, arch, workload_cfg, request)
        walls.append(time.perf_counter() - start_wall)
        cpus.append(time.process_time() - start_cpu)
    return {
        "case": f"{workload} {width}x{height}, fusion {fusion}",
        "ops": len(mapped.program.ops),
        "fusion_groups": len(mapped.program.fusion_groups),
        "wall_s": min(walls),
        "cpu_s": min(cpus),
    }


def time_command(label: str, args: list[str], repeat: int) -> dict[str, Any]:
    """Best wall and CPU seconds of ``python -m archsim ARGS`` in a fresh process, with
    archsim's bytecode compiled."""
    compile_bytecode()
    walls, cpus = [], []
    for _ in range(repeat):
        before = _children_cpu_s()
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "archsim", *args], check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu_s() - before)
    return {"case": label, "wall_s": min(walls), "cpu_s": min(cpus)}


def main() -> None:
    """Parse the options, time every case, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--quick", action="store_true", help="leave out 1920x1088")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    mappings = [
        time_mapping(workload, width, height, fusion, args.repeat)
        for workload, width, height in MAPPINGS
        if not args.quick or width * height <= QUICK_LIMIT_PIXELS
        for fusion in ("none", "auto")
    ]
    commands = []
    if not args.quick:
        map_args = ["map", str(ARCH), str(REPO / "workloads" / "yolov3.yaml")]
        commands.append(
            time_command(
                "archsim map edge_bus yolov3 --input 1920x1088",
                [*map_args, "--input", "1920x1088"],
                args.repeat,
            )
        )
    with tempfile.TemporaryDirectory() as folder:
        run_args = ["run", str(ARCH), str(REPO / "workloads" / "resnet50.yaml")]
        commands.append(
            time_command(
                "archsim run edge_bus resnet50 (224x224, trace)",
                [*run_args, "--out", str(Path(folder) / "resnet50.h5")],
                args.repeat,
            )
        )
    report = {
        "repeat": args.repeat,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "mapping": mappings,
        "commands": commands,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"best of {args.repeat}; load average {report['load_average'][0]} before, "
        f"{report['load_average'][1]} after (2 cores: above 2, wall time stretches)"
    )
    print(
        f"\n{'mapping on edge_bus (map_run)':40s} {'ops':>9s} {'groups':>6s} {'wall s':>7s} "
        f"{'cpu s':>7s}"
    )
    for row in mappings:
        print(
            f"{row['case']:40s} {row['ops']:9,d} {row['fusion_groups']:6d} "
            f"{row['wall_s']:7.2f} {row['cpu_s']:7.2f}"
        )
    print(f"\n{'whole command (fresh process)':47s} {'wall s':>7s} {'cpu s':>7s}")
    for row in commands:
        print(f"{row['case']:47s} {row['wall_s']:7.2f} {row['cpu_s']:7.2f}")


if __name__ == "__main__":
    main()
