"""Speed benchmark of sweeps (a script, not a test: it prints figures only).

Runs one 64-point ResNet-50 sweep at 224x224 (bus and mesh x 4 cluster counts x 4 SRAM
bank counts x 2 seeds, summaries only) three ways: in-process (--serial), on a LocalCluster
of 1 worker and of 2 workers. Reports points per minute, the 2-vs-1 worker scaling, and the
Dask overhead per point: (wall time on 1 worker - serial wall time) / points, which includes
starting the cluster and each worker importing archsim. Takes ~3-4 minutes on 2 cores.

    python benchmarks/bench_sweep.py               # 64 points
    python benchmarks/bench_sweep.py --points 16   # a quicker subset (first N points)
    python benchmarks/bench_sweep.py --json        # one JSON object instead of a table
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from archsim.sweep import SweepResult, sweep

REPO = Path(__file__).resolve().parents[1]
SPEC = """\
name: bench
arch: {repo}/arch/edge_mesh.yaml
workload: {repo}/workloads/resnet50.yaml
set:
  arch.interconnect.attach: null
  run.input: 224x224
factors:
  arch.interconnect.kind: [bus, mesh]
  arch.interconnect.mesh: [null, {{cols: 4, rows: 4}}]
  arch.mac_clusters.count: [4, 8, 12, 16]
  arch.sram.banks: [8, 16, 24, 32]
  run.seed: [0, 1]
design:
  zip: [[arch.interconnect.kind, arch.interconnect.mesh]]
"""


def write_spec(folder: Path, points: int) -> Path:
    """The benchmark sweep: 64 points, or fewer seeds, banks and cluster counts for less."""
    text = SPEC.format(repo=REPO)
    for old, new, size in (
        ("run.seed: [0, 1]", "run.seed: [0]", 32),
        ("arch.sram.banks: [8, 16, 24, 32]", "arch.sram.banks: [8, 16]", 16),
        ("arch.mac_clusters.count: [4, 8, 12, 16]", "arch.mac_clusters.count: [4, 8]", 8),
    ):
        if points <= size:
            text = text.replace(old, new)
    path = folder / "bench.yaml"
    path.write_text(text)
    return path


def run(spec: Path, out: Path, **how: Any) -> SweepResult:
    """Run the sweep into a fresh folder; fail loudly if a point failed."""
    result = sweep(spec, traces=False, out=out, **how)
    if result.counts.get("ok") != len(result.records):
        raise SystemExit(f"benchmark sweep had failures: {result.counts}")
    return result


def _busy(result: SweepResult) -> float:
    """Seconds the workers spent inside points (simulation and record)."""
    return sum(record.wall_s for record in result.records)


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=64, help="8, 16, 32 or 64 (default)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        spec = write_spec(base, args.points)
        serial = run(spec, base / "serial", serial=True)
        one = run(spec, base / "one", workers=1)
        two = run(spec, base / "two", workers=2)
    points = len(serial.records)
    in_point = sum(record.wall_s for record in serial.records) / points
    figures: dict[str, Any] = {
        "points": points,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "serial_wall_s": serial.wall_s,
        "serial_s_per_point": serial.wall_s / points,
        "simulate_s_per_point": in_point,
        "dask1_wall_s": one.wall_s,
        "dask2_wall_s": two.wall_s,
        "serial_points_per_min": 60 * points / serial.wall_s,
        "dask1_points_per_min": 60 * points / one.wall_s,
        "dask2_points_per_min": 60 * points / two.wall_s,
        "scaling_2_vs_1": one.wall_s / two.wall_s,
        "dask_overhead_s_per_point": (one.wall_s - serial.wall_s) / points,
        "dask1_busy_s_per_point": _busy(one) / points,
        "dask1_idle_s_per_point": (one.wall_s - _busy(one)) / points,
    }
    if args.json:
        json.dump(figures, sys.stdout, indent=2)
        print()
        return
    print(
        textwrap.dedent(
            f"""\
            sweep benchmark: {points} ResNet-50 224x224 points, --no-traces, {os.cpu_count()} cores
              serial (in-process)  {figures["serial_wall_s"]:7.1f} s  {figures["serial_points_per_min"]:6.1f} points/min  ({figures["serial_s_per_point"]:.2f} s/point, {in_point:.2f} s simulating)
              Dask, 1 worker       {figures["dask1_wall_s"]:7.1f} s  {figures["dask1_points_per_min"]:6.1f} points/min
              Dask, 2 workers      {figures["dask2_wall_s"]:7.1f} s  {figures["dask2_points_per_min"]:6.1f} points/min
              scaling 2 vs 1 worker: {figures["scaling_2_vs_1"]:.2f}x
              Dask overhead per point (1 worker - serial, incl. cluster start): {figures["dask_overhead_s_per_point"] * 1000:.0f} ms
              1 worker: {figures["dask1_busy_s_per_point"]:.2f} s/point running points, {figures["dask1_idle_s_per_point"] * 1000:.0f} ms/point not (scheduling, start, planning)"""  # noqa: E501
        )
    )


if __name__ == "__main__":
    main()
