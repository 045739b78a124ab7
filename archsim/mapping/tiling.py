"""Tile-shape choice: output boxes that fit a cluster's local buffer.

Tiles are output boxes: row strips x column blocks x channel blocks. A tile's inputs,
weights and outputs must fit half of the cluster's local buffer (the
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
from archsim.mapping.regions import Region, Span, input_region, weight_bytes
from archsim.units import KIB, ceil_div
from archsim.workload.graph import Layer, OpKind


@dataclass(frozen=True)
class TileShape:
    """Output rows, columns and channels one tile covers (the last tile of a dim may be short)."""

    rows: int
    cols: int
    channels: int


@dataclass(frozen=True)
class Tiling:
    """The chosen tile shape of a layer and the bytes one full tile needs."""

    shape: TileShape
    row_blocks: int
    col_blocks: int
    channel_blocks: int
    tiles: int
    input_bytes: int
    weight_bytes: int
    output_bytes: int

    @property
    def working_set_bytes(self) -> int:
        """Bytes one tile occupies in a cluster's local buffer."""
        return self.input_bytes + self.weight_bytes + self.output_bytes


def tile_cycles(layer: Layer, arch: ArchConfig, precision: Precision, out: Region) -> int:
    """Closed-form cluster cycles of the output tile ``out``."""
    cfg = arch.mac_clusters
    shape = layer.output_shape
    channels = out.channels[1] - out.channels[0]
    if layer.gemm is None:
        per_element = layer.vector_ops / max(1, shape.elements)
        return ceil_div(round(out.elements() * per_element), cfg.vector_lanes)
    rows, cols = out.rows[1] - out.rows[0], out.cols[1] - out.cols[0]
    if layer.op is OpKind.ATTENTION_SCORES:  # one GEMM per head (row): queries x keys
        cycles = rows * systolic_cycles(
            cfg.rows, cfg.cols, cfg.dataflow, cols, channels, layer.gemm.k
        )
        return scaled_cycles(cycles, cfg.mac_rate[precision])
    m = rows * cols
    per_group = shape.channels // layer.groups
    groups = max(1, channels // per_group) if layer.groups > 1 else 1
    n = min(channels, per_group) if layer.groups > 1 else channels
    cycles = groups * systolic_cycles(cfg.rows, cfg.cols, cfg.dataflow, m, n, layer.gemm.k)
    return scaled_cycles(cycles, cfg.mac_rate[precision])


def _interior(size: int, block: int) -> Span:
    start = max(0, (size - block) // 2)
    return start, start + block


def tile_bytes(layer: Layer, shape: TileShape, element_bytes: int) -> tuple[int, int, int]:
    """(input, weight, output) bytes of an interior tile with the given shape."""
    out_shape = layer.output_shape
    out = Region(
        _interior(out_shape.height, shape.rows),
        _interior(out_shape.width, shape.cols),
        (0, shape.channels),
    )
    inputs = sum(
        input_region(layer, index, out).nbytes(element_bytes)
        for index in range(len(layer.input_shapes))
    )
    weights = weight_bytes(layer, out.channels, element_bytes) if layer.weight_elements else 0
    return inputs, weights, out.nbytes(element_bytes)


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
    grouped_channels = layer.op is not OpKind.ATTENTION_SCORES  # its groups are rows
    if layer.gemm is not None and layer.groups > 1 and grouped_channels:
        per_group = channels // layer.groups
        whole_groups = [per_group * g for g in _halvings(layer.groups)]
        return whole_groups + [c for c in _halvings(per_group) if c < per_group]
    return _halvings(channels)


def default_tile_budget(arch: ArchConfig) -> int:
    """Bytes a tile may occupy: half the cluster's local buffer (the other half holds the
    next tile)."""
    return arch.mac_clusters.local_buffer_kib * KIB // 2


def choose_tiling(
    layer: Layer,
    arch: ArchConfig,
    precision: Precision,
    budget: int | None = None,
    inputs_in_dram: bool = False,
) -> Tiling:
    """The tile shape for a layer, or a MappingError when not even the smallest tile fits.

    ``budget`` caps a tile's working set; by default half the cluster's local buffer.
    With ``inputs_in_dram`` every tile's input is fetched from DRAM, so the estimate also
    counts that traffic over the DRAM bandwidth (re-fetches of overlapping inputs cost).
    Tiles span the full width when any such shape fits; narrower column blocks are
    tried only when none does (wide images at high resolution).
    """
    element_bytes = precision.bytes
    if budget is None:
        budget = default_tile_budget(arch)
    out = layer.output_shape
    smallest: int | None = None
    for cols in _halvings(out.width):
        best: tuple[float, int, Tiling] | None = None
        for channels in _channel_candidates(layer):
            for rows in _halvings(out.height):
                shape = TileShape(rows, cols, channels)
                inputs, weights, outputs = tile_bytes(layer, shape, element_bytes)
                need = inputs + weights + outputs
                smallest = need if smallest is None else min(smallest, need)
                if need > budget:
                    continue
                tiling = Tiling(
                    shape,
                    ceil_div(out.height, rows),
                    ceil_div(out.width, cols),
                    ceil_div(out.channels, channels),
                    ceil_div(out.height, rows)
                    * ceil_div(out.width, cols)
                    * ceil_div(out.channels, channels)
                    * out.batch,
                    inputs,
                    weights,
                    outputs,
                )
                cost = _estimated_cycles(layer, arch, precision, tiling, inputs_in_dram)
                if best is None or (cost, tiling.tiles) < (best[0], best[1]):
                    best = (cost, tiling.tiles, tiling)
        if best is not None:
            return best[2]
    raise MappingError(
        f"layer {layer.name!r} ({layer.op.value}, output {out}): the smallest tile needs "
        f"{smallest} bytes but half a cluster's local buffer holds {budget} bytes "
        "(mac_clusters.local_buffer_kib); no tiling fits",
        layer=layer.name,
    )


def _estimated_cycles(
    layer: Layer, arch: ArchConfig, precision: Precision, tiling: Tiling, inputs_in_dram: bool
) -> float:
    """The largest of the compute makespan over clusters, the SRAM-to-cluster traffic time
    and, for DRAM-resident inputs, the DRAM fetch time (cluster cycles)."""
    clusters = arch.mac_clusters.count
    sram = arch.sram
    sram_bytes_per_cycle = sram.banks * sram.ports_per_bank * sram.port_bytes_per_cycle
    shape = tiling.shape
    out = Region((0, shape.rows), (0, shape.cols), (0, shape.channels))
    makespan = ceil_div(tiling.tiles, clusters) * tile_cycles(layer, arch, precision, out)
    if inputs_in_dram and tiling.channel_blocks > 1:
        weight_loads = tiling.tiles  # spatial blocks outermost: a weight block per tile
    else:
        weight_loads = max(tiling.channel_blocks, min(tiling.tiles, clusters))
    traffic = (
        tiling.tiles * (tiling.input_bytes + tiling.output_bytes)
        + weight_loads * tiling.weight_bytes
    )
    estimate = max(float(makespan), traffic / sram_bytes_per_cycle)
    if inputs_in_dram:
        dram = arch.dram
        dram_bytes_per_cycle = (
            dram.channels * dram.peak_gb_per_s * 1e3 * dram.efficiency / arch.mac_clusters.clock_mhz
        )
        # channel blocks of one spatial block share one staged copy of its input
        fetches = tiling.tiles // tiling.channel_blocks
        estimate = max(estimate, fetches * tiling.input_bytes / dram_bytes_per_cycle)
    return estimate


def is_view(layer: Layer) -> bool:
    """Layers that move no data and do no work (concat: producers write in place)."""
    return layer.is_view or layer.op is OpKind.CONCAT


def executes(layer: Layer) -> bool:
    """Layers that run on the clusters: neither views nor extra input tensors."""
    return not (is_view(layer) or layer.is_input)
