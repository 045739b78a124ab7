"""Mapper: workload graph + architecture -> Program.

Layer by layer, in file order. Each layer's output is cut into tiles (see ``tiling``);
tiles go to clusters in contiguous runs (channel block outermost, then image, then row
strip), so a cluster keeps one block of weights for many tiles. For every tile:

1. operand loads into the cluster: input regions from SRAM banks (block-interleaved) or,
   for DRAM-resident tensors, a fetch into the cluster's home bank first; the tile's
   weight block when it changes, after the block's fetch from DRAM;
2. one compute op with the closed-form systolic (or vector-unit) time;
3. result stores: into the banks of the output tensor, or into the home bank and then
   out to DRAM when the tensor spills (or is a network output).

Double buffering: a tile's loads wait for the compute two tiles back on the same cluster
(its buffer half), and its compute waits for the stores two tiles back (its output half).
A layer's barrier completes when all its stores have; consumers' loads wait for it.
Weights are fetched one weighted layer ahead when SRAM allows (see ``residency``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archsim.config import ArchConfig
from archsim.domain import EndpointKind, Precision, TransferKind
from archsim.errors import MappingError, SramOverflowError
from archsim.mapping.placement import bank_shares, home_bank
from archsim.mapping.program import (
    BarrierOp,
    ComputeOp,
    Endpoint,
    LayerPlan,
    Program,
    TileRecord,
    TransferOp,
)
from archsim.mapping.regions import Region, Span, input_region, weight_bytes
from archsim.mapping.residency import (
    NETWORK_INPUT,
    ResidencyPlan,
    dram_inputs,
    network_outputs,
    plan_residency,
)
from archsim.mapping.tiling import (
    Tiling,
    choose_tiling,
    default_tile_budget,
    executes,
    is_view,
    tile_cycles,
)
from archsim.workload.graph import Layer, TensorShape, WorkloadGraph

MIN_TILE_BUDGET_BYTES = 1024


def _block(index: int, size: int, total: int) -> Span:
    """The index-th block of ``size`` positions out of ``total`` (the last may be short)."""
    return index * size, min(total, (index + 1) * size)


"""Smallest tile working set the mapper tries before it gives up on fitting SRAM."""


def _bank(number: int) -> Endpoint:
    return Endpoint(EndpointKind.BANK, number)


@dataclass(frozen=True)
class _Tile:
    """One tile being emitted: its layer, cluster, image, output box and channel block."""

    layer: Layer
    cluster: int
    image: int
    region: Region
    block: int

    @property
    def endpoint(self) -> Endpoint:
        """The cluster as a transfer endpoint."""
        return Endpoint(EndpointKind.CLUSTER, self.cluster)

    @property
    def load_queue(self) -> str:
        """Queue of the cluster's load DMA."""
        return f"cluster{self.cluster}.load"

    @property
    def store_queue(self) -> str:
        """Queue of the cluster's store DMA."""
        return f"cluster{self.cluster}.store"


@dataclass
class _ClusterCursor:
    """What the builder remembers per cluster while emitting tiles in order."""

    computes: list[int] = field(default_factory=list)
    tile_stores: list[list[int]] = field(default_factory=list)
    weight_block: tuple[int, int] | None = None


class ProgramBuilder:
    """Emits the ops of a program layer by layer (one instance per mapping)."""

    def __init__(self, graph: WorkloadGraph, arch: ArchConfig) -> None:
        self.graph = graph
        self.arch = arch
        self.precision: Precision = graph.precision
        self.element_bytes = graph.precision.bytes
        self.clusters = arch.mac_clusters.count
        self.banks = arch.sram.banks
        self.channels = arch.dram.channels
        self.program = Program()
        self.cursors = [_ClusterCursor() for _ in range(self.clusters)]
        self.barrier_of: dict[str, int] = {}
        self.weighted_barriers: list[int] = []
        self.dram_turn = 0
        self.outputs = network_outputs(graph)
        self.tilings, self.residency, self.reads_dram = self._plan()
        self.staged: dict[tuple[object, ...], tuple[int, Endpoint]] = {}

    def _plan(self) -> tuple[dict[str, Tiling], ResidencyPlan, set[str]]:
        """Tile every layer and plan SRAM.

        Layers found to read DRAM-resident tensors are re-tiled with that traffic in the
        estimate until the set is stable; when a layer's DRAM staging overflows SRAM, that
        layer's tiles get smaller until it fits (or no smaller tile exists).
        """
        full = default_tile_budget(self.arch)
        budgets: dict[str, int] = {}
        reads_dram: set[str] = set()
        while True:
            tilings = {
                layer.name: choose_tiling(
                    layer,
                    self.arch,
                    self.precision,
                    budgets.get(layer.name, full),
                    layer.name in reads_dram,
                )
                for layer in self.graph.layers
                if executes(layer)
            }
            try:
                residency = plan_residency(
                    self.graph,
                    tilings,
                    self.clusters,
                    self.arch.sram.total_bytes,
                    self.element_bytes,
                )
            except SramOverflowError as error:
                layer = error.layer or ""
                smaller = budgets.get(layer, full) // 2
                if smaller < MIN_TILE_BUDGET_BYTES or not self._fits(layer, smaller):
                    raise
                budgets[layer] = smaller
                continue
            now_reading = self._layers_reading_dram(residency)
            if now_reading <= reads_dram:
                return tilings, residency, now_reading
            reads_dram |= now_reading

    def _fits(self, name: str, budget: int) -> bool:
        """Whether some tile of layer ``name`` fits ``budget`` bytes."""
        try:
            choose_tiling(self.graph.layer(name), self.arch, self.precision, budget)
        except MappingError:
            return False
        return True

    def _layers_reading_dram(self, residency: ResidencyPlan) -> set[str]:
        """Executed layers with at least one input tensor outside SRAM."""
        return {
            layer.name
            for layer in self.graph.layers
            if executes(layer)
            and any(not residency.in_sram[source] for source in self._physical(layer))
        }

    # -- small emitters -------------------------------------------------------------------

    def _dram(self) -> Endpoint:
        """DRAM channels take transfers in turn (channel interleaving at transfer level)."""
        endpoint = Endpoint(EndpointKind.DRAM, self.dram_turn % self.channels)
        self.dram_turn += 1
        return endpoint

    def _transfer(
        self,
        queue: str,
        layer: int,
        kind: TransferKind,
        src: Endpoint,
        dst: Endpoint,
        nbytes: int,
        stream: int,
        deps: list[int],
        epoch: int | None = None,
    ) -> int:
        op = TransferOp(
            self.program.next_id,
            layer,
            kind,
            src,
            dst,
            nbytes,
            stream,
            tuple(d for d in deps if d >= 0),
            layer if epoch is None else epoch,
        )
        return self.program.add(queue, op)

    def _resolve(self, name: str, channels: Span) -> list[tuple[str, Span]]:
        """Physical tensors and channel ranges behind a (possibly view) tensor's channels."""
        if name == NETWORK_INPUT or not is_view(self.graph.layer(name)):
            return [(name, channels)]
        parts: list[tuple[str, Span]] = []
        offset = 0
        layer = self.graph.layer(name)
        for producer, shape in zip(layer.inputs, layer.input_shapes, strict=True):
            lo, hi = max(channels[0], offset), min(channels[1], offset + shape.channels)
            if hi > lo:
                parts.extend(self._resolve(producer, (lo - offset, hi - offset)))
            offset += shape.channels
        return parts

    def _shape_of(self, name: str) -> TensorShape:
        if name == NETWORK_INPUT:
            return self.graph.input_shape
        return self.graph.layer(name).output_shape

    @staticmethod
    def _stream(name: str, graph: WorkloadGraph) -> int:
        return 0 if name == NETWORK_INPUT else 2 * graph.layer(name).index + 2

    # -- layers ---------------------------------------------------------------------------

    def build(self) -> Program:
        """Emit every layer and return the finished program."""
        for layer in self.graph.layers:
            if not executes(layer):  # views and extra inputs: no ops
                self.program.layers.append(
                    LayerPlan(
                        index=layer.index,
                        name=layer.name,
                        op=layer.op.value,
                        macs=0,
                        tile_rows=0,
                        tile_cols=0,
                        tile_channels=0,
                        tiles=0,
                        output_in_sram=all(self.residency.in_sram[s] for s in self._physical(layer))
                        and not layer.is_input,
                        weight_bytes=0,
                        barrier=-1,
                    )
                )
                continue
            self._emit_layer(layer)
        program = self.program
        graph = self.graph
        finals = [graph.layer(name) for name in sorted(self.outputs)]
        program.compulsory_dram_bytes = (
            sum(layer.weight_elements for layer in graph.layers) * self.element_bytes
            + sum(self._shape_of(name).nbytes(self.precision) for name in dram_inputs(graph))
            + sum(layer.output_shape.nbytes(self.precision) for layer in finals)
        )
        program.sram_peak_bytes = self.residency.peak_bytes
        program.sram_usage_bytes = list(self.residency.usage_bytes)
        return program

    def _physical(self, layer: Layer) -> list[str]:
        return [p for name in layer.inputs for p, _ in self._resolve(name, (0, 1 << 62))]

    def _emit_weight_fetches(
        self, layer: Layer, tiling: Tiling, used: int
    ) -> list[tuple[int, int]]:
        """Fetch each weight block of the layer into SRAM; returns (fetch op, bank) per block."""
        gate = -1
        prefetch = self.residency.prefetch[layer.index]
        back = 2 if prefetch else 1
        epoch = layer.index - 1 if prefetch else layer.index
        if len(self.weighted_barriers) >= back:
            gate = self.weighted_barriers[-back]
        blocks = []
        per_block_tiles = tiling.tiles // tiling.channel_blocks
        stream = 2 * layer.index + 1
        for block in range(tiling.channel_blocks):
            channels = self._block_channels(layer, tiling, block)
            if layer.name in self.reads_dram:  # every cluster uses every block: spread them
                bank = block * self.banks // tiling.channel_blocks
            else:  # the bank of the first cluster that uses the block
                first_cluster = block * per_block_tiles * used // tiling.tiles
                bank = home_bank(first_cluster, self.clusters, self.banks)
            nbytes = weight_bytes(layer, channels, self.element_bytes)
            fetch = self._transfer(
                "dma.weights",
                layer.index,
                TransferKind.WEIGHT_FETCH,
                self._dram(),
                Endpoint(EndpointKind.BANK, bank),
                nbytes,
                stream,
                [gate],
                epoch,
            )
            blocks.append((fetch, bank))
        return blocks

    @staticmethod
    def _block_channels(layer: Layer, tiling: Tiling, block: int) -> Span:
        return _block(block, tiling.shape.channels, layer.output_shape.channels)

    def _emit_layer(self, layer: Layer) -> None:
        tiling = self.tilings[layer.name]
        out = layer.output_shape
        used = min(self.clusters, tiling.tiles)
        weight_blocks = (
            self._emit_weight_fetches(layer, tiling, used) if layer.weight_elements else []
        )
        output_in_sram = self.residency.in_sram[layer.name]
        output_kind = (
            TransferKind.OUTPUT_WRITE if layer.name in self.outputs else TransferKind.SPILL
        )
        layer_stores: list[int] = []
        shape = tiling.shape
        self.staged.clear()
        for tile_index, (block, image, row_block, col_block) in enumerate(
            self._tile_order(layer, tiling)
        ):
            region = Region(
                _block(row_block, shape.rows, out.height),
                _block(col_block, shape.cols, out.width),
                self._block_channels(layer, tiling, block),
            )
            cluster = tile_index * used // tiling.tiles
            tile = _Tile(layer, cluster, image, region, block)
            weights = weight_blocks[block] if weight_blocks else None
            layer_stores.extend(self._emit_tile(tile, weights, output_in_sram, output_kind))
        barrier = BarrierOp(self.program.next_id, layer.index, tuple(layer_stores))
        self.program.add("sync", barrier)
        self.barrier_of[layer.name] = barrier.id
        if layer.weight_elements:
            self.weighted_barriers.append(barrier.id)
        self.program.layers.append(
            LayerPlan(
                layer.index,
                layer.name,
                layer.op.value,
                layer.macs,
                tiling.shape.rows,
                tiling.shape.cols,
                tiling.shape.channels,
                tiling.tiles,
                output_in_sram,
                layer.weight_elements * self.element_bytes,
                barrier.id,
            )
        )

    def _emit_tile(
        self,
        tile: _Tile,
        weights: tuple[int, int] | None,
        output_in_sram: bool,
        output_kind: TransferKind,
    ) -> list[int]:
        """Emit loads, compute and stores of one tile; returns the tile's final store ops."""
        cursor = self.cursors[tile.cluster]
        slot = cursor.computes[-2] if len(cursor.computes) >= 2 else -1
        loads = self._emit_input_loads(tile, slot)
        if weights is not None and cursor.weight_block != (tile.layer.index, tile.block):
            fetch, bank = weights
            nbytes = weight_bytes(tile.layer, tile.region.channels, self.element_bytes)
            stream = 2 * tile.layer.index + 1
            loads.append(self._load(tile, _bank(bank), nbytes, stream, [fetch, slot]))
            cursor.weight_block = (tile.layer.index, tile.block)
        output_slot = cursor.tile_stores[-2] if len(cursor.tile_stores) >= 2 else []
        layer = tile.layer
        compute = ComputeOp(
            self.program.next_id,
            layer.index,
            tile.cluster,
            tile.region.elements() * (layer.gemm.k if layer.gemm is not None else 0),
            tile_cycles(layer, self.arch, self.precision, tile.region),
            (*loads, *output_slot),
        )
        self.program.add(f"cluster{tile.cluster}.compute", compute)
        cursor.computes.append(compute.id)
        stores = self._emit_stores(tile, compute.id, output_in_sram, output_kind)
        cursor.tile_stores.append(stores)
        region = tile.region
        self.program.tiles.append(
            TileRecord(
                layer.index, tile.cluster, tile.image, region.rows, region.cols, region.channels
            )
        )
        return stores

    def _tile_order(self, layer: Layer, tiling: Tiling) -> list[tuple[int, int, int, int]]:
        """(channel block, image, row block, column block) of every tile, in emit order.

        Channel blocks outermost, so a cluster keeps one weight block for many tiles; but
        when the layer reads DRAM-resident inputs, spatial blocks outermost, so that the
        channel blocks of one spatial block share one staged copy of its input.
        """
        spatial = [
            (image, row, col)
            for image in range(layer.output_shape.batch)
            for row in range(tiling.row_blocks)
            for col in range(tiling.col_blocks)
        ]
        blocks = range(tiling.channel_blocks)
        if layer.name in self.reads_dram:
            return [(block, *where) for where in spatial for block in blocks]
        return [(block, *where) for block in blocks for where in spatial]

    def _emit_input_loads(self, tile: _Tile, slot: int) -> list[int]:
        """Operand loads of every input region.

        A DRAM-resident region is first fetched into the home bank of the first tile that
        needs it; later tiles of the layer needing the same region load that staged copy.
        """
        layer = tile.layer
        loads: list[int] = []
        for index, producer in enumerate(layer.inputs):
            needed = input_region(layer, index, tile.region)
            for source, source_channels in self._resolve(producer, needed.channels):
                nbytes = needed.with_channels(source_channels).nbytes(self.element_bytes)
                if nbytes == 0:
                    continue
                deps = [self.barrier_of.get(source, -1), slot]
                stream = self._stream(source, self.graph)
                if self.residency.in_sram[source]:
                    shape = self._shape_of(source)
                    for bank, share in bank_shares(
                        shape, tile.image, needed.rows, nbytes, self.banks
                    ):
                        loads.append(self._load(tile, _bank(bank), share, stream, deps))
                else:
                    key = (source, tile.image, needed.rows, needed.cols, source_channels)
                    staged = self.staged.get(key)
                    if staged is None:
                        fetch = self._transfer(
                            tile.load_queue,
                            layer.index,
                            TransferKind.INPUT_FETCH,
                            self._dram(),
                            self._home(tile),
                            nbytes,
                            stream,
                            deps,
                        )
                        staged = self.staged[key] = (fetch, self._home(tile))
                    staged_fetch, staged_bank = staged
                    loads.append(
                        self._load(tile, staged_bank, nbytes, stream, [staged_fetch, slot])
                    )
        return loads

    def _emit_stores(
        self, tile: _Tile, compute: int, output_in_sram: bool, output_kind: TransferKind
    ) -> list[int]:
        """Result stores into the output's banks, or via the home bank out to DRAM."""
        layer = tile.layer
        nbytes = tile.region.nbytes(self.element_bytes)
        stream = self._stream(layer.name, self.graph)
        me = tile.endpoint

        def store(kind: TransferKind, src: Endpoint, dst: Endpoint, size: int, dep: int) -> int:
            return self._transfer(
                tile.store_queue, layer.index, kind, src, dst, size, stream, [dep]
            )

        if output_in_sram:
            shares = bank_shares(
                layer.output_shape, tile.image, tile.region.rows, nbytes, self.banks
            )
            return [
                store(TransferKind.RESULT_STORE, me, _bank(bank), share, compute)
                for bank, share in shares
            ]
        home = self._home(tile)
        staged = store(TransferKind.RESULT_STORE, me, home, nbytes, compute)
        return [store(output_kind, home, self._dram(), nbytes, staged)]

    def _load(self, tile: _Tile, src: Endpoint, nbytes: int, stream: int, deps: list[int]) -> int:
        """An operand load from an SRAM bank into the tile's cluster."""
        return self._transfer(
            tile.load_queue,
            tile.layer.index,
            TransferKind.OPERAND_LOAD,
            src,
            tile.endpoint,
            nbytes,
            stream,
            deps,
        )

    def _home(self, tile: _Tile) -> Endpoint:
        return _bank(home_bank(tile.cluster, self.clusters, self.banks))


def map_workload(graph: WorkloadGraph, arch: ArchConfig) -> Program:
    """Map a workload graph onto an architecture (see module docstring)."""
    return ProgramBuilder(graph, arch).build()
