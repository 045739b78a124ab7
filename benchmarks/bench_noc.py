"""Interconnect comparison on equal raw hardware (a script, not a test: it prints figures).

Part 1, workloads: ResNet-50 224x224 and YOLOv3 608x608 and 1920x1088 (batch 1, INT8,
fusion none and auto) on edge_bus, edge_xbar, edge_mesh and edge_det with both schedule
modes (time_triggered, its DRAM planned exact and average, and per_layer_share): fps, MAC
utilization, interconnect contention, reserved-but-unused link time and late transfers,
plus the deterministic NoC's fps relative to the mesh's and the wall time of the planning
pass (none when the run is its own planning pass: DRAM planned exact).

Part 2, synthetic traffic (the ``archsim noc`` machinery): 8x8 mesh, 4-flit packets,
uniform random and transpose, on edge_mesh and edge_det (both modes): the saturation point,
i.e. the highest accepted throughput over a sweep of offered loads and the first offered
load at which the network saturates.

Part 3 (``--multicast``, instead of parts 1 and 2): ResNet-50 224 and YOLOv3 608 on
edge_bus, edge_mesh and edge_det (both modes) with ``interconnect.multicast`` off and on:
fps, byte-hops, and the check that the multicast run delivers exactly the bytes the
unicast run moves.

    python benchmarks/bench_noc.py              # everything (YOLOv3 1920x1088 takes minutes)
    python benchmarks/bench_noc.py --quick      # ResNet-50 224 and YOLOv3 608, shorter sweeps
    python benchmarks/bench_noc.py --multicast  # multicast off and on (--quick: fusion none)
    python benchmarks/bench_noc.py --workload yolov3-1080 --fusion auto --no-synthetic
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import archsim
from archsim.config import load_arch
from archsim.noc import NetworkSpec, Pattern, RunOptions, Traffic, run_point

REPO = Path(__file__).resolve().parents[1]
SHARE = "interconnect.schedule=per_layer_share"
ARCHES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("bus", "edge_bus", ()),
    ("xbar", "edge_xbar", ()),
    ("mesh", "edge_mesh", ()),
    ("det exact", "edge_det", ("interconnect.plan_dram=exact",)),
    ("det avg", "edge_det", ("interconnect.plan_dram=average",)),
    ("det share", "edge_det", (SHARE,)),
)
WORKLOADS = {
    "resnet50-224": ("ResNet-50 224", "resnet50", 224, 224),
    "yolov3-608": ("YOLOv3 608", "yolov3", 608, 608),
    "yolov3-1080": ("YOLOv3 1920x1088", "yolov3", 1920, 1088),
}
MESH_8X8 = ("interconnect.mesh.cols=8", "interconnect.mesh.rows=8")
SYNTHETIC_ARCHES = (
    ("mesh", "edge_mesh", ()),
    ("det tt", "edge_det", ()),
    ("det share", "edge_det", (SHARE,)),
)
RATES = (0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55)


@dataclass(frozen=True)
class Row:
    """Figures of one simulated workload on one interconnect."""

    label: str
    summary: dict[str, Any]
    planning_wall_s: float


def run_workload(
    arch: str, overrides: tuple[str, ...], workload: str, width: int, height: int, fusion: str
) -> tuple[dict[str, Any], float]:
    """Summary and planning wall time of one run (no trace)."""
    result = archsim.simulate(
        load_arch(REPO / "arch" / f"{arch}.yaml", list(overrides)),
        REPO / "workloads" / f"{workload}.yaml",
        width=width,
        height=height,
        batch=1,
        precision="int8",
        fusion=fusion,
        trace=False,
    )
    return result.summary, result.planning_wall_s


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:5.1f}%"


def print_workload(title: str, rows: list[Row]) -> None:
    """One table: a row per interconnect."""
    mesh_fps = next(row.summary["throughput_fps"] for row in rows if row.label == "mesh")
    print(f"\n{title}")
    print(
        f"  {'interconnect':<10} {'fps':>8} {'vs mesh':>7} {'MAC util':>8} {'contention':>11}"
        f" {'resv unused':>11} {'late':>14} {'wall s':>7} {'plan s':>6}"
    )
    for row in rows:
        s, ic = row.summary, row.summary["interconnect"]
        late = ic.get("late_transfers")
        late_text = "-" if late is None else f"{late:,}/{s['transfers']:,}"
        unused = ic.get("reserved_unused_fraction")
        plan = f"{row.planning_wall_s:6.1f}" if row.planning_wall_s else "     -"
        print(
            f"  {row.label:<10} {s['throughput_fps']:8.2f} {s['throughput_fps'] / mesh_fps:6.2f}x"
            f" {_percent(s['mac_utilization']):>8} {ic['contention_ps'] / 1e6:9.1f}us"
            f" {_percent(unused):>11} {late_text:>14} {s['wall_s']:7.1f} {plan}"
        )


MULTICAST = "interconnect.multicast=true"
MULTICAST_ARCHES = tuple(row for row in ARCHES if row[0] != "xbar")  # a crossbar rejects it


def print_multicast(title: str, pairs: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> None:
    """One table: per interconnect, the run without and with multicast."""
    print(f"\n{title}")
    print(
        f"  {'interconnect':<10} {'fps':>8} {'fps mc':>8} {'gain':>6} {'byte-hops':>14}"
        f" {'byte-hops mc':>14} {'saved':>6} {'multicasts':>10} {'conserved':>9}"
    )
    for label, off, on in pairs:
        ic_off, ic_on = off["interconnect"], on["interconnect"]
        conserved = ic_on["bytes_delivered"] == ic_off["bytes"]
        print(
            f"  {label:<10} {off['throughput_fps']:8.2f} {on['throughput_fps']:8.2f}"
            f" {on['throughput_fps'] / off['throughput_fps']:5.2f}x {ic_off['byte_hops']:14,}"
            f" {ic_on['byte_hops']:14,} {_percent(1 - ic_on['byte_hops'] / ic_off['byte_hops'])}"
            f" {ic_on['multicast_transfers']:10,} {'yes' if conserved else 'NO':>9}"
        )


def compare_multicast(quick: bool) -> None:
    """Part 3: every workload without and with multicast."""
    print("Same raw hardware as parts 1 and 2; byte-hops = bytes x links crossed beyond the")
    print("injection link (a multicast once per link of its tree); conserved = the multicast")
    print("run delivers exactly the bytes the unicast run moves")
    for title, workload, width, height in list(WORKLOADS.values())[:2]:
        for fusion in ("none",) if quick else ("none", "auto"):
            pairs = []
            for label, arch, overrides in MULTICAST_ARCHES:
                off, _ = run_workload(arch, overrides, workload, width, height, fusion)
                on, _ = run_workload(arch, (*overrides, MULTICAST), workload, width, height, fusion)
                pairs.append((label, off, on))
            print_multicast(f"{title}, fusion {fusion}", pairs)


def saturation(
    arch: str, overrides: tuple[str, ...], pattern: Pattern, cycles: int
) -> tuple[float, float | None]:
    """(highest accepted flits/node/cycle, first saturated offered load) on the 8x8 mesh."""
    spec = NetworkSpec.from_arch(load_arch(REPO / "arch" / f"{arch}.yaml", [*MESH_8X8, *overrides]))
    traffic = Traffic(pattern, spec.grid)
    options = RunOptions(cycles=cycles, warmup=min(2000, cycles // 2))
    best, first = 0.0, None
    for rate in RATES:
        point, _ = run_point(spec, traffic, rate, options)
        best = max(best, point.accepted)
        if point.saturated:
            first = rate
            break
    return best, first


def main() -> None:
    """Print the workload tables, then the synthetic saturation points."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="ResNet-50 and YOLOv3 608 only")
    parser.add_argument(
        "--multicast", action="store_true", help="multicast off and on (part 3) instead"
    )
    parser.add_argument(
        "--workload", choices=list(WORKLOADS), action="append", help="only these (repeatable)"
    )
    parser.add_argument("--fusion", choices=("none", "auto"), action="append", help="only these")
    parser.add_argument("--no-synthetic", action="store_true", help="skip the saturation points")
    args = parser.parse_args()
    if args.multicast:
        started = time.perf_counter()
        compare_multicast(args.quick)
        print(f"\n(total wall time {time.perf_counter() - started:.0f} s)")
        return
    names = args.workload or list(WORKLOADS)[: 2 if args.quick else 3]
    workloads = [WORKLOADS[name] for name in names]
    fusions = tuple(args.fusion or (("none",) if args.quick else ("none", "auto")))
    started = time.perf_counter()
    print(
        "Same raw hardware (16 clusters of 32x32, 8 MiB SRAM, LPDDR4x-4266, 64 B links at 1 GHz),"
    )
    print("batch 1, INT8; contention summed over transfers; det exact / det avg = time_triggered")
    print("schedule, DRAM planned exact / average; det share = per_layer_share;")
    print("late = late transfers / all transfers; plan s = separate planning pass (- : none)")
    for title, workload, width, height in workloads:
        for fusion in fusions:
            rows = []
            for label, arch, overrides in ARCHES:
                summary, planning = run_workload(arch, overrides, workload, width, height, fusion)
                rows.append(Row(label, summary, planning))
            print_workload(f"{title}, fusion {fusion}", rows)
    if args.no_synthetic:
        print(f"\n(total wall time {time.perf_counter() - started:.0f} s)")
        return
    cycles = 3000 if args.quick else 10000
    print(
        f"\n8x8 mesh, 4-flit packets, {cycles}-cycle window: saturation points in flits/node/cycle"
    )
    print(f"  {'interconnect':<10} {'pattern':<10} {'max accepted':>12} {'saturates at':>12}")
    for label, arch, overrides in SYNTHETIC_ARCHES:
        for pattern in (Pattern.UNIFORM, Pattern.TRANSPOSE):
            best, first = saturation(arch, overrides, pattern, cycles)
            at = "-" if first is None else f"{first:.2f}"
            print(f"  {label:<10} {pattern.value:<10} {best:12.3f} {at:>12}")
    print(f"\n(total wall time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
