"""Energy, power, area and a die-cost proxy of a finished run.

Dynamic energy counts actions the run performed: MACs at the precision's energy, vector
operations, bytes through SRAM bank ports, bytes to and from DRAM, and byte-hops on the
interconnect. Static energy is each component's static power over the run's latency.
Area adds processing elements, SRAM (banks and local buffers), DRAM PHYs and routers.
"""

from __future__ import annotations

from typing import Any

from archsim.config import ArchConfig
from archsim.sim.engine import RunOutcome
from archsim.units import PS_PER_S
from archsim.workload.graph import WorkloadGraph

PJ = 1e-12


def routers(arch: ArchConfig) -> int:
    """Routers of the interconnect (a bus or a crossbar counts one per endpoint)."""
    mesh = arch.interconnect.mesh
    if mesh is not None:  # the config allows a mesh block exactly for the mesh kinds
        return mesh.cols * mesh.rows
    return arch.mac_clusters.count + arch.sram.banks + arch.dram.channels


def area_mm2(arch: ArchConfig) -> float:
    """Silicon area of the architecture."""
    area, clusters = arch.area, arch.mac_clusters
    sram_kib = arch.sram.banks * arch.sram.bank_kib + clusters.count * clusters.local_buffer_kib
    return (
        clusters.count * clusters.rows * clusters.cols * area.mm2_per_mac
        + sram_kib * area.mm2_per_sram_kib
        + arch.dram.channels * area.mm2_per_dram_phy
        + routers(arch) * area.mm2_per_router
    )


def static_power_w(arch: ArchConfig) -> float:
    """Static power of all clusters, SRAM banks and DRAM channels, in W."""
    energy = arch.energy
    return 1e-3 * (
        arch.mac_clusters.count * energy.cluster_static_mw
        + arch.sram.banks * energy.sram_bank_static_mw
        + arch.dram.channels * energy.dram_channel_static_mw
    )


def cost_summary(outcome: RunOutcome, graph: WorkloadGraph, arch: ArchConfig) -> dict[str, Any]:
    """Energy per inference, average power, efficiency, area and cost keys of the summary."""
    energy, chip = arch.energy, outcome.chip
    counters = chip.counters
    latency_s = outcome.latency_ps / PS_PER_S
    mac_pj = energy.mac_pj.get(graph.precision, 0.0)
    dynamic_j = {
        "mac": sum(c.macs for c in chip.clusters) * mac_pj * PJ,
        "vector": sum(layer.vector_ops for layer in graph.layers) * energy.vector_op_pj * PJ,
        "sram": sum(b.bytes_read + b.bytes_written for b in chip.banks)
        * energy.sram_pj_per_byte
        * PJ,
        "dram": (counters.dram_bytes_read + counters.dram_bytes_written)
        * energy.dram_pj_per_byte
        * PJ,
        "interconnect": chip.interconnect.byte_hops * energy.interconnect_pj_per_byte_hop * PJ,
    }
    static_w = static_power_w(arch)
    breakdown_j = dynamic_j | {"static": static_w * latency_s}
    total_j = sum(breakdown_j.values())
    batch = graph.input_shape.batch
    area = area_mm2(arch)
    fps = batch / latency_s if latency_s else 0.0
    return {
        "energy_mj_per_inference": total_j / batch * 1e3,
        "energy_breakdown_mj": {key: value / batch * 1e3 for key, value in breakdown_j.items()},
        "average_power_w": total_j / latency_s if latency_s else 0.0,
        "inferences_per_s_per_w": batch / total_j if total_j else 0.0,
        "area_mm2": area,
        "inferences_per_s_per_mm2": fps / area if area else 0.0,
        "die_cost": area * arch.area.cost_per_mm2,
    }
