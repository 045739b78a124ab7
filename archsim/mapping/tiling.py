"""Tile-shape choice: output row strips x output channel blocks that fit a cluster.

A tile's inputs, weights and outputs must fit half of the cluster's local buffer (the
other half holds the next tile: double buffering). Among the shapes that fit, the mapper
picks the one with the lowest estimated time: the larger of the compute makespan over
the clusters and the SRAM-to-cluster traffic over the SRAM's aggregate port bandwidth.
The estimate ignores the interconnect kind on purpose, so that a bus, a mesh and a
deterministic NoC run the same mapping and can be compared. This is a small search over
power-of-two splits, not an exhaustive one.
"""

from __future__ import annotations

from dataclasses import dataclass

from archsim.config import ArchConfig
from archsim.domain import Precision
from archsim.errors import MappingError
from archsim.hw.systolic import scaled_cycles, systolic_cycles
from archsim.mapping.regions import input_region, region_bytes, weight_bytes
from archsim.units import ceil_div
from archsim.workload.graph import Layer, OpKind


@dataclass(frozen=True)
class TileShape:
    """Output rows and output channels one tile covers (the last tile of a dim may be short)."""

    rows: int
    channels: int


@dataclass(frozen=True)
class Tiling:
    """The chosen tile shape of a layer and the bytes one full tile needs."""

    shape: TileShape
    row_blocks: int
    channel_blocks: int
    tiles: int
    input_bytes: int
    weight_bytes: int
    output_bytes: int

    @property
    def working_set_bytes(self) -> int:
        """Bytes one tile occupies in a cluster's local buffer."""
        return self.input_bytes + self.weight_bytes + self.output_bytes


def tile_cycles(
    layer: Layer, arch: ArchConfig, precision: Precision, rows: int, channels: int
) -> int:
    """Closed-form cluster cycles of a tile of ``rows`` output rows and ``channels`` channels."""
    cfg = arch.mac_clusters
    out = layer.output_shape
    if layer.gemm is None:
        share = rows * out.width * channels
        per_element = layer.vector_ops / max(1, out.elements)
        return ceil_div(round(share * per_element), cfg.vector_lanes)
    m = rows * out.width
    per_group = out.channels // layer.groups
    groups = max(1, channels // per_group) if layer.groups > 1 else 1
    n = min(channels, per_group) if layer.groups > 1 else channels
    cycles = groups * systolic_cycles(cfg.rows, cfg.cols, cfg.dataflow, m, n, layer.gemm.k)
    return scaled_cycles(cycles, cfg.mac_rate[precision])


def tile_bytes(layer: Layer, rows: int, channels: int, element_bytes: int) -> tuple[int, int, int]:
    """(input, weight, output) bytes of an interior tile with the given shape."""
    out = layer.output_shape
    mid = min(out.height - rows, max(0, (out.height - rows) // 2))
    row_span = (mid, mid + rows)
    channel_span = (0, channels)
    inputs = 0
    for index, shape in enumerate(layer.input_shapes):
        in_rows, in_channels = input_region(layer, index, row_span, channel_span)
        inputs += region_bytes(shape.width, in_rows, in_channels, element_bytes)
    weights = weight_bytes(layer, channel_span, element_bytes) if layer.weight_elements else 0
    outputs = region_bytes(out.width, row_span, channel_span, element_bytes)
    return inputs, weights, outputs


def _halvings(size: int) -> list[int]:
    values = []
    value = size
    while True:
        values.append(value)
        if value == 1:
            return values
        value = ceil_div(value, 2)


def _channel_candidates(layer: Layer) -> list[int]:
    channels = layer.output_shape.channels
    if layer.gemm is not None and layer.groups > 1:
        per_group = channels // layer.groups
        whole_groups = [per_group * g for g in _halvings(layer.groups)]
        return whole_groups + [c for c in _halvings(per_group) if c < per_group]
    return _halvings(channels)


def choose_tiling(
    layer: Layer, arch: ArchConfig, precision: Precision, budget: int | None = None
) -> Tiling:
    """The tile shape for a layer, or a MappingError when not even the smallest tile fits.

    ``budget`` caps a tile's working set; by default half the cluster's local buffer.
    """
    element_bytes = precision.bytes
    if budget is None:
        budget = arch.mac_clusters.local_buffer_kib * 1024 // 2
    clusters = arch.mac_clusters.count
    out = layer.output_shape
    sram = arch.sram
    sram_bytes_per_cycle = sram.banks * sram.ports_per_bank * sram.port_bytes_per_cycle
    best: tuple[float, int, Tiling] | None = None
    smallest: int | None = None
    for channels in _channel_candidates(layer):
        for rows in _halvings(out.height):
            inputs, weights, outputs = tile_bytes(layer, rows, channels, element_bytes)
            need = inputs + weights + outputs
            smallest = need if smallest is None else min(smallest, need)
            if need > budget:
                continue
            row_blocks = ceil_div(out.height, rows)
            channel_blocks = ceil_div(out.channels, channels)
            tiles = row_blocks * channel_blocks * out.batch
            makespan = ceil_div(tiles, clusters) * tile_cycles(
                layer, arch, precision, rows, channels
            )
            weight_loads = max(channel_blocks, min(tiles, clusters))
            traffic = tiles * (inputs + outputs) + weight_loads * weights
            transfer = traffic / sram_bytes_per_cycle
            cost = max(float(makespan), transfer)
            tiling = Tiling(
                TileShape(rows, channels),
                row_blocks,
                channel_blocks,
                tiles,
                inputs,
                weights,
                outputs,
            )
            if best is None or (cost, tiles) < (best[0], best[1]):
                best = (cost, tiles, tiling)
    if best is None:
        raise MappingError(
            f"layer {layer.name!r} ({layer.op.value}, output {out}): the smallest tile needs "
            f"{smallest} bytes but half a cluster's local buffer holds {budget} bytes "
            "(mac_clusters.local_buffer_kib); no tiling fits",
            layer=layer.name,
        )
    return best[2]


def is_view(layer: Layer) -> bool:
    """Layers that move no data and do no work (concat: producers write in place)."""
    return layer.is_view or layer.op is OpKind.CONCAT
