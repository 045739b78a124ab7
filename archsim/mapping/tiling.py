"""Tile-shape and loop-order choice: output boxes that fit a cluster's local buffer.

Tiles are output boxes: row strips x column blocks x channel blocks. A tile's inputs,
weights and outputs must fit half of the cluster's local buffer (the other half holds the
next tile: double buffering). For every shape that fits, both loop orders are estimated:

- ``weights_outer``: channel blocks outermost. A cluster keeps one weight block for many
  tiles, but a DRAM-resident input is staged again for every channel block.
- ``inputs_outer``: spatial blocks outermost. The channel blocks of a spatial block share
  one staged copy of its DRAM-resident input, but every tile reloads its weight block
  from SRAM.

The estimate of a layer's time is the largest of the compute makespan over the clusters,
the SRAM-to-cluster traffic over the SRAM's aggregate port bandwidth and, for layers that
read DRAM-resident inputs, the input staging traffic over the DRAM bandwidth. The
cheapest (shape, order) wins; ties go to fewer DRAM bytes, then fewer tiles, then
``weights_outer``. The estimate ignores the interconnect kind on purpose, so that a bus, a
mesh and a deterministic NoC run the same mapping and can be compared. This is a small
search over power-of-two splits, not an exhaustive one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from archsim.config import ArchConfig
from archsim.domain import Precision
from archsim.errors import ConfigError, MappingError
from archsim.mapping.regions import Region, Span, input_region, input_sides, weight_bytes
from archsim.mapping.systolic import scaled_cycles, systolic_cycles
from archsim.units import KIB, ceil_div
from archsim.workload.graph import Layer, OpKind, TensorShape


class TilingMode(StrEnum):
    """How layers are cut into tiles (``--tiling``)."""

    SEARCH = "search"  # the cheapest tile shape and loop order (choose_tiling)
    SCALESIM = "scalesim"  # each layer one GEMM per cluster, as SCALE-Sim runs a layer


TILING_MODES = tuple(mode.value for mode in TilingMode)
"""Values of ``--tiling``."""


def parse_tiling(tiling: TilingMode | str) -> TilingMode:
    """``tiling`` as a TilingMode; a ConfigError naming the choices for anything else."""
    if isinstance(tiling, TilingMode):
        return tiling
    if tiling not in TILING_MODES:
        raise ConfigError(f"--tiling: expected one of {', '.join(TILING_MODES)}; got {tiling!r}")
    return TilingMode(tiling)


class LoopOrder(StrEnum):
    """Which tile loop is outermost: it decides what a cluster keeps and what is re-read."""

    WEIGHTS_OUTER = "weights_outer"  # channel blocks outermost: weight blocks stay put
    INPUTS_OUTER = "inputs_outer"  # spatial blocks outermost: staged inputs are shared


@dataclass(frozen=True)
class TileShape:
    """Output rows, columns and channels one tile covers (the last tile of a dim may be short)."""

    rows: int
    cols: int
    channels: int


@dataclass(frozen=True)
class TilingEstimate:
    """What the mapper expects a layer's tiling to cost (whole layer, all images).

    ``dram_input_bytes`` counts the staging of DRAM-resident inputs (zero when the layer
    reads only SRAM); ``load_bytes`` the operands moved from SRAM into clusters (inputs and
    weight blocks); ``sram_bytes`` those plus the results stored back.
    """

    cycles: int
    dram_weight_bytes: int
    dram_input_bytes: int
    load_bytes: int
    sram_bytes: int
    reuse: float  # MACs per byte moved into clusters (0 for vector layers)

    @property
    def dram_bytes(self) -> int:
        """DRAM bytes the layer reads: its weights and its input staging."""
        return self.dram_weight_bytes + self.dram_input_bytes


@dataclass(frozen=True)
class Tiling:
    """The chosen tile shape and loop order of a layer, the bytes one full tile needs,
    and the estimate that chose them."""

    shape: TileShape
    row_blocks: int
    col_blocks: int
    channel_blocks: int
    tiles: int
    input_bytes: int
    weight_bytes: int
    output_bytes: int
    loop_order: LoopOrder
    estimate: TilingEstimate

    @property
    def working_set_bytes(self) -> int:
        """Bytes one tile occupies in a cluster's local buffer."""
        return self.input_bytes + self.weight_bytes + self.output_bytes


_ROW_GROUPED = frozenset({OpKind.ATTENTION_SCORES, OpKind.BATCH_MATMUL})
"""MAC layers whose groups are the output's rows (heads), not blocks of channels."""


def tile_cycles(layer: Layer, arch: ArchConfig, precision: Precision, out: Region) -> int:
    """Closed-form cluster cycles of the output tile ``out``."""
    cfg = arch.mac_clusters
    shape = layer.output_shape
    channels = out.channels[1] - out.channels[0]
    if layer.gemm is None:
        per_element = layer.vector_ops / max(1, shape.elements)
        return ceil_div(round(out.elements() * per_element), cfg.vector_lanes)
    rows, cols = out.rows[1] - out.rows[0], out.cols[1] - out.cols[0]
    if layer.op in _ROW_GROUPED:  # one GEMM per group (row): e.g. queries x keys per head
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
    grouped_channels = layer.op not in _ROW_GROUPED
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
    orders: tuple[LoopOrder, ...] | None = None,
    traffic: InputTraffic | None = None,
) -> Tiling:
    """The tile shape and loop order for a layer, or a MappingError when not even the
    smallest tile fits. ``orders`` limits the loop orders tried (default: both);
    ``traffic`` is the layer's InputTraffic when the caller keeps one (its sums are
    memoized, so searches of one layer under other budgets share them).

    ``budget`` caps a tile's working set; by default half the cluster's local buffer.
    With ``inputs_in_dram`` every input of the layer is taken to be DRAM-resident, so the
    estimate also counts its staging over the DRAM bandwidth (re-fetches cost). Tiles
    span the full width when any such shape fits; narrower column blocks are tried only
    when none does (wide images at high resolution).
    """
    if budget is None:
        budget = default_tile_budget(arch)
    out = layer.output_shape
    if traffic is None:
        traffic = InputTraffic(layer)
    search = _Search(layer, arch, precision, traffic, inputs_in_dram, orders or _ORDERS)
    smallest: int | None = None
    for cols in _halvings(out.width):
        best: Tiling | None = None
        for channels in _channel_candidates(layer):
            for rows in _halvings(out.height):
                shape = TileShape(rows, cols, channels)
                need = tile_bytes(layer, shape, precision.bytes)
                working_set = sum(need)
                smallest = working_set if smallest is None else min(smallest, working_set)
                if working_set > budget:
                    continue
                makespan = search.makespan(shape)
                if best is not None and makespan > best.estimate.cycles:
                    continue  # an estimate is never below the makespan
                for tiling in search.both_orders(shape, need, makespan):
                    if best is None or _rank(tiling) < _rank(best):
                        best = tiling
        if best is not None:
            return best
    raise MappingError(
        f"layer {layer.name!r} ({layer.op.value}, output {out}): the smallest tile needs "
        f"{smallest} bytes but half a cluster's local buffer holds {budget} bytes "
        "(mac_clusters.local_buffer_kib); no tiling fits",
        layer=layer.name,
    )


_ORDERS = (LoopOrder.WEIGHTS_OUTER, LoopOrder.INPUTS_OUTER)


def scalesim_tiling(layer: Layer, arch: ArchConfig, precision: Precision) -> Tiling:
    """The whole layer as one GEMM per cluster: every output position of an image, the
    output channels split into one contiguous block per cluster (whole groups for grouped
    convolutions). With one cluster a tile is SCALE-Sim's layer GEMM, so its cycles are
    SCALE-Sim's closed form. A MappingError when the tile does not fit half a local buffer.
    """
    out = layer.output_shape
    channels = ceil_div(out.channels, arch.mac_clusters.count)
    if layer.gemm is not None and layer.groups > 1 and layer.op is not OpKind.ATTENTION_SCORES:
        per_group = out.channels // layer.groups
        channels = ceil_div(channels, per_group) * per_group
    shape = TileShape(out.height, out.width, channels)
    need = tile_bytes(layer, shape, precision.bytes)
    budget = default_tile_budget(arch)
    if sum(need) > budget:
        raise MappingError(
            f"layer {layer.name!r} ({layer.op.value}, output {out}): --tiling scalesim maps "
            f"the whole layer as one tile per cluster, which needs {sum(need)} bytes, but "
            f"half a cluster's local buffer holds {budget} bytes (mac_clusters."
            "local_buffer_kib); add --ideal-memory for buffers that hold whole layers",
            layer=layer.name,
        )
    orders = (LoopOrder.WEIGHTS_OUTER,)
    search = _Search(layer, arch, precision, InputTraffic(layer), False, orders)
    return search.both_orders(shape, need, search.makespan(shape))[0]


def _rank(tiling: Tiling) -> tuple[int, int, int, int]:
    """Cheapest first; then fewer DRAM bytes, fewer tiles, weights outermost."""
    estimate = tiling.estimate
    order = _ORDERS.index(tiling.loop_order)
    return estimate.cycles, estimate.dram_bytes, tiling.tiles, order


@dataclass(frozen=True)
class _Search:
    """What the estimate of one layer's candidate tilings needs."""

    layer: Layer
    arch: ArchConfig
    precision: Precision
    traffic: InputTraffic
    inputs_in_dram: bool
    orders: tuple[LoopOrder, ...]

    def makespan(self, shape: TileShape) -> int:
        """Cluster cycles of the busiest cluster: ceil(tiles / clusters) full tiles."""
        out = self.layer.output_shape
        tiles = _tiles(out, shape)
        full = Region((0, shape.rows), (0, shape.cols), (0, shape.channels))
        cycles = tile_cycles(self.layer, self.arch, self.precision, full)
        return ceil_div(tiles, self.arch.mac_clusters.count) * cycles

    def both_orders(
        self, shape: TileShape, need: tuple[int, int, int], makespan: int
    ) -> list[Tiling]:
        """The tiling of ``shape`` (a tile needs ``need`` input, weight and output bytes)
        under each loop order, with its estimate."""
        layer, element_bytes = self.layer, self.precision.bytes
        out = layer.output_shape
        blocks = (
            ceil_div(out.height, shape.rows),
            ceil_div(out.width, shape.cols),
            ceil_div(out.channels, shape.channels),
        )
        tiles = _tiles(out, shape)
        every, once = self.traffic.bytes(shape, element_bytes)
        clusters = self.arch.mac_clusters.count
        tilings = []
        for order in self.orders:
            shared = order is LoopOrder.INPUTS_OUTER or blocks[2] == 1
            dram_inputs = (once if shared else every) if self.inputs_in_dram else 0
            loads = every + weight_load_bytes(layer, shape, tiles, order, clusters, element_bytes)
            sram = loads + out.nbytes(self.precision)
            estimate = TilingEstimate(
                cycles=_estimated_cycles(self.arch, makespan, sram, dram_inputs),
                dram_weight_bytes=layer.weight_elements * element_bytes,
                dram_input_bytes=dram_inputs,
                load_bytes=loads,
                sram_bytes=sram,
                reuse=layer.macs / loads if loads else 0.0,
            )
            tilings.append(Tiling(shape, *blocks, tiles, *need, order, estimate))
        return tilings


def _tiles(out: TensorShape, shape: TileShape) -> int:
    return (
        ceil_div(out.height, shape.rows)
        * ceil_div(out.width, shape.cols)
        * ceil_div(out.channels, shape.channels)
        * out.batch
    )


class InputTraffic:
    """Input elements a layer's tiles read, summed over the tiles of a tile shape.

    Every op's input box has each side set by at most one side of the output box, so a
    tile's input elements factor as f(row block) x g(column block) x h(channel block).
    Each factor's sum is taken once per block size, varying that block over the whole
    output with the other two spanning it (``reference`` elements), and memoized: the
    search tries many shapes that share a block size.
    """

    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        out = layer.output_shape
        self.full = Region((0, out.height), (0, out.width), (0, out.channels))
        self.sums: dict[tuple[int, int, int], tuple[int, int]] = {}

    def bytes(self, shape: TileShape, element_bytes: int) -> tuple[int, int]:
        """(every tile's input bytes, each spatial block's distinct input bytes once), all
        images.

        The first is what all tiles load into clusters, and what staging reads from DRAM
        when every tile fetches its own copy; the second what staging reads when the
        channel blocks of a spatial block share staged copies (less only where input
        channels follow output channels, as in grouped convolutions).
        """
        every = once = 0
        for index in range(len(self.layer.input_shapes)):
            reference = input_region(self.layer, index, self.full).elements()
            if not reference:
                continue  # the output reads nothing of this input
            rows, _ = self._sum(index, 0, shape.rows)
            cols, _ = self._sum(index, 1, shape.cols)
            channels, distinct = self._sum(index, 2, shape.channels)
            every += rows * cols * channels // reference**2
            once += rows * cols * distinct // reference**2
        batch_bytes = self.layer.output_shape.batch * element_bytes
        return every * batch_bytes, once * batch_bytes

    def _sum(self, index: int, dim: int, block: int) -> tuple[int, int]:
        """Sum over the blocks of one output dimension of the input elements (and over
        blocks with distinct input regions), the other dimensions spanning the output."""
        key = (index, dim, block)
        if key not in self.sums:
            size = (self.full.rows, self.full.cols, self.full.channels)[dim][1]
            starts = np.arange(0, size, block, dtype=np.int64)
            ends = np.minimum(starts + block, size)
            sides = input_sides(self.layer, index, dim, starts, ends)
            if sides is None:
                spans = [(start, min(size, start + block)) for start in range(0, size, block)]
                self.sums[key] = self._sum_regions(index, dim, spans)
            else:
                self.sums[key] = self._sum_sides(index, dim, *sides)
        return self.sums[key]

    def _sum_sides(
        self, index: int, dim: int, first: np.ndarray, last: np.ndarray
    ) -> tuple[int, int]:
        """``_sum`` from the input spans along ``dim`` (``regions.input_sides``): every
        other side is that of the whole output's input box."""
        whole = input_region(self.layer, index, self.full)
        sides = (whole.rows, whole.cols, whole.channels)
        other = math.prod(max(0, hi - lo) for k, (lo, hi) in enumerate(sides) if k != dim)
        lengths = np.maximum(last - first, 0)
        _, distinct = np.unique(first * (int(last.max()) + 1) + last, return_index=True)
        return int(lengths.sum()) * other, int(lengths[distinct].sum()) * other

    def _sum_regions(self, index: int, dim: int, spans: list[Span]) -> tuple[int, int]:
        """``_sum`` region by region, for operators without ``regions.input_sides``."""
        full = self.full
        if dim == 0:
            boxes = [Region(span, full.cols, full.channels) for span in spans]
        elif dim == 1:
            boxes = [Region(full.rows, span, full.channels) for span in spans]
        else:
            boxes = [full.with_channels(span) for span in spans]
        every = 0
        distinct: dict[Region, int] = {}
        for box in boxes:
            region = input_region(self.layer, index, box)
            distinct[region] = elements = region.elements()
            every += elements
        return every, sum(distinct.values())


def weight_load_bytes(
    layer: Layer,
    shape: TileShape,
    tiles: int,
    order: LoopOrder,
    clusters: int,
    element_bytes: int,
) -> int:
    """Weight bytes moved from SRAM into clusters over the layer.

    Tile i of T runs on cluster ``i x used // T`` (contiguous runs), and a cluster loads a
    weight block whenever its block changes. Spatial blocks outermost, consecutive tiles of
    a cluster differ in block, so every tile loads one (a single block: once per cluster).
    Channel blocks outermost, a load happens per run of a cluster within a block.
    """
    if not layer.weight_elements:
        return 0
    channels = layer.output_shape.channels
    channel_blocks = ceil_div(channels, shape.channels)
    total = layer.weight_elements * element_bytes
    used = min(clusters, tiles)
    spatial_blocks = tiles // channel_blocks
    if channel_blocks == 1:
        return used * total
    if order is LoopOrder.INPUTS_OUTER:
        return spatial_blocks * total
    starts = {ceil_div(j * tiles, used) for j in range(used)}
    starts |= {block * spatial_blocks for block in range(channel_blocks)}
    loads = 0
    for block in (start // spatial_blocks for start in sorted(starts)):
        span = (block * shape.channels, min(channels, (block + 1) * shape.channels))
        loads += weight_bytes(layer, span, element_bytes)
    return loads


def _estimated_cycles(
    arch: ArchConfig, makespan: int, sram_bytes: int, dram_input_bytes: int
) -> int:
    """The largest of the compute makespan, the SRAM traffic time and the DRAM input
    staging time (cluster cycles, rounded up)."""
    sram = arch.sram
    sram_bytes_per_cycle = sram.banks * sram.ports_per_bank * sram.port_bytes_per_cycle
    dram = arch.dram
    dram_bytes_per_cycle = (
        dram.channels
        * dram.peak_gb_per_s
        * 1e3
        * dram.streaming_efficiency
        / arch.mac_clusters.clock_mhz
    )
    return max(
        makespan,
        math.ceil(sram_bytes / sram_bytes_per_cycle),
        math.ceil(dram_input_bytes / dram_bytes_per_cycle),
    )


def is_view(layer: Layer) -> bool:
    """Layers that move no data and do no work (a channel concat: producers write in place;
    a channel slice: consumers read in place)."""
    return layer.is_view


def executes(layer: Layer) -> bool:
    """Layers that run on the clusters: neither views nor extra input tensors."""
    return not (is_view(layer) or layer.is_input)
