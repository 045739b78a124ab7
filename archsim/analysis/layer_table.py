"""Per-layer results of a run: timing, MACs, bytes, utilization and stalls by cause."""

from __future__ import annotations

from dataclasses import dataclass

from archsim.analysis.roofline import peak_macs_per_s
from archsim.config import ArchConfig
from archsim.domain import StallCause
from archsim.sim.engine import RunOutcome
from archsim.units import PS_PER_S
from archsim.workload.graph import WorkloadGraph

STALL_CAUSES = (
    StallCause.DRAM,
    StallCause.INTERCONNECT,
    StallCause.SRAM,
    StallCause.DEPENDENCY,
    StallCause.BACKPRESSURE,
)


@dataclass(frozen=True)
class LayerResult:
    """One row of the per-layer table (views such as concat have no row)."""

    index: int
    name: str
    op: str
    t_start_ps: int
    t_end_ps: int
    macs: int
    tiles: int
    dram_bytes_read: int
    dram_bytes_written: int
    sram_bytes: int
    interconnect_bytes: int
    mac_utilization: float
    stall_ps: dict[StallCause, int]


def layer_results(outcome: RunOutcome, graph: WorkloadGraph, arch: ArchConfig) -> list[LayerResult]:
    """Rows for every executed layer: from its first tile's start (over every frame) to its
    barrier (in the last frame), from the totals the clusters kept during the run."""
    program = outcome.program
    rt = outcome.runtime
    first_start: dict[int, int] = {}
    macs: dict[int, int] = {}
    for cluster in outcome.chip.clusters:
        for layer, start in cluster.layer_first_start_ps.items():
            first_start[layer] = min(first_start.get(layer, start), start)
        for layer, layer_macs in cluster.layer_macs.items():
            macs[layer] = macs.get(layer, 0) + layer_macs
    stalls: dict[int, dict[StallCause, int]] = {}
    for cluster in outcome.chip.clusters:
        for (layer, cause), ps in cluster.layer_stall_ps.items():
            per_layer = stalls.setdefault(layer, {c: 0 for c in STALL_CAUSES})
            if cause in per_layer:
                per_layer[cause] += ps
    peak = peak_macs_per_s(arch, graph.precision)
    rows = []
    for plan in program.layers:
        if plan.barrier < 0:
            continue
        t_end = rt.t_done[plan.barrier]
        t_start = first_start.get(plan.index, t_end)
        traffic = outcome.chip.counters.layers.get(plan.index)
        duration_s = (t_end - t_start) / PS_PER_S
        layer_macs = macs.get(plan.index, 0)
        rows.append(
            LayerResult(
                index=plan.index,
                name=plan.name,
                op=plan.op,
                t_start_ps=t_start,
                t_end_ps=t_end,
                macs=layer_macs,
                tiles=plan.tiles,
                dram_bytes_read=traffic.dram_read if traffic else 0,
                dram_bytes_written=traffic.dram_written if traffic else 0,
                sram_bytes=traffic.sram if traffic else 0,
                interconnect_bytes=traffic.interconnect if traffic else 0,
                mac_utilization=layer_macs / (peak * duration_s) if duration_s > 0 else 0.0,
                stall_ps=stalls.get(plan.index, {c: 0 for c in STALL_CAUSES}),
            )
        )
    return rows
