"""Ideal memory: an arch whose memories and interconnect never hold the MAC clusters back.

``ideal_memory_arch`` keeps the MAC clusters (count, array, dataflow, clock, MAC rates)
and the energy and area parameters, and replaces everything that moves data:

- DRAM: 1e9 GB/s per channel, every timing (tCL, tRCD, tRP, tRAS, tRRD, tFAW) zero and
  refresh off, so a burst takes 1 ps;
- SRAM: banks that hold every tensor and weight of the workload twice over, ports of
  2^40 bytes per cycle at a 1 ps clock, no read-modify-write;
- interconnect: a crossbar of 2^40-byte ports at a 1 ps clock, no hop latency, one packet
  per transfer;
- local buffers: twice the largest whole-layer working set (inputs, weights and outputs of
  one image's layer), so any tile, even a whole layer, fits half of one.

Time is in integer picoseconds, so a transfer or an SRAM access still takes 1 ps: the run
is compute-bound up to a few picoseconds per tile.
"""

from __future__ import annotations

from archsim.config import ArchConfig
from archsim.domain import Arbitration, InterconnectKind
from archsim.mapping.tiling import TileShape, executes, tile_bytes
from archsim.units import KIB, ceil_div
from archsim.workload.graph import TensorShape, WorkloadGraph

IDEAL_GB_PER_S = 1e9
"""Per-channel DRAM bandwidth of ideal memory (1e18 bytes/s: a 64-byte burst in 1 ps)."""
IDEAL_BYTES_PER_CYCLE = 2**40
"""Width of ideal SRAM ports and interconnect ports, bytes per cycle."""
IDEAL_CLOCK_MHZ = 1_000_000.0
"""Clock of ideal SRAM and interconnect: a 1 ps cycle."""


def whole_layer_bytes(graph: WorkloadGraph) -> int:
    """The largest working set of one image's whole layer (inputs + weights + outputs)."""
    element_bytes = graph.precision.bytes
    sizes = [
        sum(tile_bytes(layer, _whole(layer.output_shape), element_bytes))
        for layer in graph.layers
        if executes(layer)
    ]
    return max(sizes, default=0)


def _whole(shape: TensorShape) -> TileShape:
    return TileShape(shape.height, shape.width, shape.channels)


def workload_bytes(graph: WorkloadGraph) -> int:
    """Bytes of every weight and every tensor of the workload (all images)."""
    precision = graph.precision
    tensors = sum(layer.output_shape.nbytes(precision) for layer in graph.layers)
    weights = graph.total_weight_elements * precision.bytes
    return weights + graph.input_shape.nbytes(precision) + tensors


def ideal_memory_arch(arch: ArchConfig, graph: WorkloadGraph) -> ArchConfig:
    """``arch`` with ideal DRAM, SRAM, interconnect and local buffers (module docstring)."""
    clusters = arch.mac_clusters.model_copy(
        update={
            "local_buffer_kib": max(
                arch.mac_clusters.local_buffer_kib, ceil_div(2 * whole_layer_bytes(graph), KIB)
            )
        }
    )
    sram = arch.sram.model_copy(
        update={
            "bank_kib": max(
                arch.sram.bank_kib, ceil_div(2 * workload_bytes(graph), arch.sram.banks * KIB)
            ),
            "port_bytes_per_cycle": IDEAL_BYTES_PER_CYCLE,
            "clock_mhz": IDEAL_CLOCK_MHZ,
            "write_granule_bytes": 0,
        }
    )
    dram = arch.dram.model_copy(
        update={
            "peak_gb_per_s": IDEAL_GB_PER_S,
            "efficiency": 1.0,
            **dict.fromkeys(
                ("tcl_ns", "trcd_ns", "trp_ns", "tras_ns", "trrd_ns", "tfaw_ns", "trfc_ns"), 0.0
            ),
        }
    )
    interconnect = arch.interconnect.model_copy(
        update={
            "kind": InterconnectKind.CROSSBAR,
            "arbitration": Arbitration.FIFO,
            "link_bytes_per_cycle": IDEAL_BYTES_PER_CYCLE,
            "clock_mhz": IDEAL_CLOCK_MHZ,
            "hop_latency_cycles": 0,
            "max_packet_bytes": IDEAL_BYTES_PER_CYCLE,
            "mesh": None,
            "attach": None,
        }
    )
    return arch.model_copy(
        update={"mac_clusters": clusters, "sram": sram, "dram": dram, "interconnect": interconnect}
    )
