"""Mapper: workload graph + architecture -> Program.

Layer by layer, in file order. Each layer's output is cut into tiles (see ``tiling``),
walked in the tiling's loop order (channel blocks outermost, so a cluster keeps one block
of weights for many tiles, or spatial blocks outermost, so channel blocks share one
staged copy of a DRAM-resident input); tiles go to clusters in contiguous runs. For every
tile:

1. operand loads into the cluster: input regions from SRAM banks (block-interleaved) or,
   for DRAM-resident tensors, a fetch into the cluster's home bank first; the tile's
   weight block when it changes, after the block's fetch from DRAM;
2. one compute op with the closed-form systolic (or vector-unit) time;
3. result stores: into the banks of the output tensor, or into the home bank and then
   out to DRAM when the tensor spills (or is a network output).

Double buffering: a tile's loads wait for the compute two tiles back on the same cluster
(its buffer half), and its compute waits for the stores two tiles back (its output half).
A layer's barrier completes when all its stores have; consumers' loads wait for it.
Weights are fetched one weighted layer ahead when SRAM allows (see ``residency``). A
layer whose weights exceed half the SRAM streams them: channel blocks outermost, each
block's tiles spread over all clusters, block k fetched once every cluster has loaded
block k - 2, so SRAM holds two blocks of it.

With ``interconnect.multicast`` the tiles of a layer (or band) are emitted step by step
(the j-th tile of every cluster, then the (j+1)-th), and an operand block that several
clusters load at one step is sent once to all of them (see ``multicast``).

Fusion groups (see ``fusion``) run band by band: for each band every member emits the
tiles of its band rows, then a band barrier; the next member's loads wait for that band
barrier instead of a layer barrier, and a producer's band waits for its consumer's band
two back before overwriting line-buffer rows. All transfers of a group share one epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from archsim.collector import collector_paused
from archsim.config import ArchConfig
from archsim.domain import EndpointKind, Precision, TransferKind
from archsim.mapping.fusion import FusionGroup, FusionRequest
from archsim.mapping.multicast import Operand, StepMulticast
from archsim.mapping.placement import bank_shares, home_bank
from archsim.mapping.planner import plan_mapping
from archsim.mapping.program import (
    BarrierOp,
    ComputeOp,
    Endpoint,
    LayerPlan,
    Program,
    TileRecord,
    TransferOp,
)
from archsim.mapping.regions import Region, Span, block_span, input_region, weight_bytes
from archsim.mapping.residency import (
    NETWORK_INPUT,
    dram_inputs,
    network_outputs,
    view_sources,
)
from archsim.mapping.tiling import (
    LoopOrder,
    TileShape,
    Tiling,
    TilingMode,
    executes,
    tile_cycles,
)
from archsim.workload.graph import Layer, TensorShape, WorkloadGraph


class _Tile(NamedTuple):
    """One tile being emitted: its layer, cluster, image, output box and channel block."""

    layer: Layer
    cluster: int
    image: int
    region: Region
    block: int
    gate: int = -1  # an extra op the tile's input loads wait for (fusion: line-buffer reuse)


class _Ports:
    """Endpoints and queue names of one engine, made once (every op refers to them)."""

    def __init__(self, clusters: int, banks: int, channels: int) -> None:
        self.banks = [Endpoint(EndpointKind.BANK, bank) for bank in range(banks)]
        self.clusters = [Endpoint(EndpointKind.CLUSTER, cluster) for cluster in range(clusters)]
        self.homes = [self.banks[home_bank(c, clusters, banks)] for c in range(clusters)]
        self.dram = [Endpoint(EndpointKind.DRAM, channel) for channel in range(channels)]
        self.loads = [f"cluster{cluster}.load" for cluster in range(clusters)]
        self.stores = [f"cluster{cluster}.store" for cluster in range(clusters)]
        self.computes = [f"cluster{cluster}.compute" for cluster in range(clusters)]


@dataclass
class _ClusterCursor:
    """What the builder remembers per cluster while emitting tiles in order."""

    computes: list[int] = field(default_factory=list)
    tile_stores: list[list[int]] = field(default_factory=list)
    weight_block: tuple[int, int] | None = None


class ProgramBuilder:
    """Emits the ops of a program layer by layer (one instance per mapping)."""

    def __init__(
        self,
        graph: WorkloadGraph,
        arch: ArchConfig,
        fusion: FusionRequest | None = None,
        tiling: TilingMode = TilingMode.SEARCH,
    ) -> None:
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
        self.plan = plan_mapping(graph, arch, fusion, tiling)
        self.tilings = self.plan.tilings
        self.residency = self.plan.residency
        self.reads_dram = self.plan.reads_dram
        self.epoch_of = [layer.index for layer in graph.layers]
        for group in self.plan.groups:
            first = graph.layer(group.members[0]).index
            for name in group.members:
                self.epoch_of[graph.layer(name).index] = first
        # a DRAM-resident region's operand key -> (its staging fetch, the bank it is staged in)
        self.staged: dict[tuple[object, ...], tuple[int, Endpoint]] = {}
        self.weight_loads: dict[tuple[int, int], list[int]] = {}  # (layer, block) -> loads
        self.multicast = arch.interconnect.multicast
        self.step: StepMulticast | None = None  # the tile step being emitted (multicast)
        self.ports = _Ports(self.clusters, self.banks, self.channels)
        # memoized per-tile results: tiles of a layer alike in shape or rows share them
        self.sources: dict[tuple[str, Span], list[tuple[str, Span]]] = {}
        self.streams: dict[str, int] = {}
        self.cycles: dict[tuple[int, int, int, int], int] = {}
        self.shares: dict[tuple[str, int, Span, int], list[tuple[int, int]]] = {}
        self.per_block_staging: dict[str, bool] = {}

    def group_of_layer(self, name: str) -> FusionGroup | None:
        """The fusion group the layer belongs to, if any."""
        return self.plan.group_of(name)

    # -- small emitters -------------------------------------------------------------------

    def _dram(self) -> Endpoint:
        """DRAM channels take transfers in turn (channel interleaving at transfer level)."""
        endpoint = self.ports.dram[self.dram_turn % self.channels]
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
        fanout: tuple[Endpoint, ...] = (),
    ) -> int:
        kept = tuple(deps)
        for dep in kept:  # a loop, not min(kept): cheaper for a few deps (once per transfer)
            if dep < 0:  # -1 stands for "no such op" in deps
                kept = tuple([d for d in kept if d >= 0])
                break
        program = self.program
        op = TransferOp(
            len(program.ops),
            layer,
            kind,
            src,
            dst,
            nbytes,
            stream,
            kept,
            self.epoch_of[layer] if epoch is None else epoch,
            0,  # frame
            fanout,
        )
        return program.add(queue, op)

    def _resolve(self, name: str, channels: Span) -> list[tuple[str, Span]]:
        """Physical tensors and channel ranges behind a (possibly view) tensor's channels
        (memoized: many tiles read the same channels)."""
        key = (name, channels)
        parts = self.sources.get(key)
        if parts is None:
            parts = self.sources[key] = view_sources(self.graph, name, channels)
        return parts

    def _shape_of(self, name: str) -> TensorShape:
        if name == NETWORK_INPUT:
            return self.graph.input_shape
        return self.graph.layer(name).output_shape

    def _stream(self, name: str) -> int:
        stream = self.streams.get(name)
        if stream is None:
            stream = self.streams[name] = activation_stream(self.graph, name)
        return stream

    def _bank_shares(self, name: str, image: int, rows: Span, nbytes: int) -> list[tuple[int, int]]:
        """``placement.bank_shares`` of a region of tensor ``name`` (memoized)."""
        key = (name, image, rows, nbytes)
        shares = self.shares.get(key)
        if shares is None:
            shape = self._shape_of(name)
            shares = self.shares[key] = bank_shares(shape, image, rows, nbytes, self.banks)
        return shares

    def _tile_cycles(self, layer: Layer, region: Region) -> int:
        """``tiling.tile_cycles`` of a tile (memoized: it depends on the tile's size only)."""
        rows, cols, channels = region.rows, region.cols, region.channels
        key = (layer.index, rows[1] - rows[0], cols[1] - cols[0], channels[1] - channels[0])
        cycles = self.cycles.get(key)
        if cycles is None:
            cycles = self.cycles[key] = tile_cycles(layer, self.arch, self.precision, region)
        return cycles

    # -- layers ---------------------------------------------------------------------------

    def build(self) -> Program:
        """Emit every layer and return the finished program."""
        with collector_paused():  # the ops are acyclic: reference counting frees them
            self._emit_layers()
        return self._finish()

    def _emit_layers(self) -> None:
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
            group = self.group_of_layer(layer.name)
            if group is None:
                self._emit_layer(layer)
            elif group.members[0] == layer.name:
                self._emit_group(group)

    def _finish(self) -> Program:
        """The program's totals and plan records, once every layer is emitted."""
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
        program.fusion_groups = list(self.plan.groups)
        program.fusion_fallbacks = list(self.plan.fallbacks)
        return program

    def _physical(self, layer: Layer) -> list[str]:
        return [p for name in layer.inputs for p, _ in self._resolve(name, (0, 1 << 62))]

    def _emit_weight_fetches(
        self, layer: Layer, tiling: Tiling, used: int
    ) -> list[tuple[int, int]]:
        """Fetch each weight block of the layer into SRAM; returns (fetch op, bank) per block."""
        gate, epoch = self._weight_gate(layer)
        return [
            self._emit_weight_fetch(layer, tiling, used, block, [gate], epoch)
            for block in range(tiling.channel_blocks)
        ]

    def _weight_gate(self, layer: Layer) -> tuple[int, int]:
        """(op, epoch) of a layer's weight fetches: they wait for the weighted unit two back
        when prefetched (one back otherwise), and run in the epoch before their own then."""
        prefetch = self.residency.prefetch[layer.index]
        back = 2 if prefetch else 1
        unit_epoch = self.epoch_of[layer.index]
        epoch = self.epoch_of[unit_epoch - 1] if prefetch and unit_epoch else unit_epoch
        gate = self.weighted_barriers[-back] if len(self.weighted_barriers) >= back else -1
        return gate, epoch

    def _emit_weight_fetch(
        self, layer: Layer, tiling: Tiling, used: int, block: int, deps: list[int], epoch: int
    ) -> tuple[int, int]:
        """Fetch one weight block into SRAM; returns (fetch op, bank)."""
        if tiling.loop_order is LoopOrder.INPUTS_OUTER:  # every cluster uses every block
            bank = block * self.banks // tiling.channel_blocks
        else:  # the bank of the first cluster that uses the block
            per_block_tiles = tiling.tiles // tiling.channel_blocks
            first_cluster = block * per_block_tiles * used // tiling.tiles
            bank = home_bank(first_cluster, self.clusters, self.banks)
        channels = self._block_channels(layer, tiling, block)
        fetch = self._transfer(
            "dma.weights",
            layer.index,
            TransferKind.WEIGHT_FETCH,
            self._dram(),
            self.ports.banks[bank],
            weight_bytes(layer, channels, self.element_bytes),
            2 * layer.index + 1,
            deps,
            epoch,
        )
        return fetch, bank

    @staticmethod
    def _block_channels(layer: Layer, tiling: Tiling, block: int) -> Span:
        return block_span(block, tiling.shape.channels, layer.output_shape.channels)

    def _emit_layer(self, layer: Layer) -> None:
        tiling = self.tilings[layer.name]
        out = layer.output_shape
        used = min(self.clusters, tiling.tiles)
        streamed = self.residency.streamed[layer.index]
        weight_blocks = (
            self._emit_weight_fetches(layer, tiling, used)
            if layer.weight_elements and not streamed
            else []
        )
        shape = tiling.shape
        self.staged.clear()
        rows = [block_span(i, shape.rows, out.height) for i in range(tiling.row_blocks)]
        cols = [block_span(i, shape.cols, out.width) for i in range(tiling.col_blocks)]
        channels = [self._block_channels(layer, tiling, i) for i in range(tiling.channel_blocks)]
        placed = [
            (block, image, Region(rows[row_block], cols[col_block], channels[block]))
            for block, image, row_block, col_block in self._tile_order(layer, tiling)
        ]
        if streamed:
            stores = self._emit_streamed(layer, tiling, placed)
        else:
            stores = self._emit_tiles(layer, placed, weight_blocks)
        barrier = self.program.add("sync", BarrierOp(self.program.next_id, layer.index, stores))
        self.barrier_of[layer.name] = barrier
        if layer.weight_elements:
            self.weighted_barriers.append(barrier)
        self._record_layer(layer, tiling.shape, tiling.tiles, barrier)

    def _emit_tiles(
        self,
        layer: Layer,
        placed: list[tuple[int, int, Region]],
        weight_blocks: list[tuple[int, int]],
        gate: int = -1,
    ) -> tuple[int, ...]:
        """Emit (channel block, image, output region) tiles in order, in contiguous runs
        over the clusters; returns every final store."""
        output_in_sram = self.residency.in_sram[layer.name]
        output_kind = (
            TransferKind.OUTPUT_WRITE if layer.name in self.outputs else TransferKind.SPILL
        )
        used = min(self.clusters, len(placed))
        tiles: list[tuple[_Tile, tuple[int, int] | None]] = []
        for tile_index, (block, image, region) in enumerate(placed):
            cluster = tile_index * used // len(placed)
            tile = _Tile(layer, cluster, image, region, block, gate)
            tiles.append((tile, weight_blocks[block] if weight_blocks else None))
        stores: list[int] = []
        if not self.multicast:
            for tile, weights in tiles:
                stores.extend(self._emit_tile(tile, weights, output_in_sram, output_kind))
            return tuple(stores)
        runs: list[list[tuple[_Tile, tuple[int, int] | None]]] = [[] for _ in range(used)]
        for tile, weights in tiles:
            runs[tile.cluster].append((tile, weights))
        for step in range(max(len(run) for run in runs)):
            group = [run[step] for run in runs if step < len(run)]
            self.step = StepMulticast(
                {tile.cluster: self._operands(tile, weights) for tile, weights in group},
                {tile.cluster: self._slot(tile.cluster) for tile, _ in group},
            )
            for tile, weights in group:
                stores.extend(self._emit_tile(tile, weights, output_in_sram, output_kind))
        self.step = None
        return tuple(stores)

    def _slot(self, cluster: int) -> int:
        """The op that frees the cluster's next buffer half: its compute two tiles back."""
        computes = self.cursors[cluster].computes
        return computes[-2] if len(computes) >= 2 else -1

    def _emit_streamed(
        self, layer: Layer, tiling: Tiling, placed: list[tuple[int, int, Region]]
    ) -> tuple[int, ...]:
        """Tiles of a layer whose weights stream: channel block by channel block, each
        block's tiles spread over all clusters; block k is fetched once every cluster has
        loaded block k - 2 (SRAM holds two blocks)."""
        gate, epoch = self._weight_gate(layer)
        blocks: list[tuple[int, int]] = []
        stores: list[int] = []
        by_block: list[list[tuple[int, int, Region]]] = [[] for _ in range(tiling.channel_blocks)]
        for tile in placed:
            by_block[tile[0]].append(tile)
        for block in range(tiling.channel_blocks):
            freed = self.weight_loads.get((layer.index, block - 2), [])
            deps = [gate, *freed]
            # a fetch that waits for this layer's own loads runs in this layer's epoch
            when = epoch if block < 2 else self.epoch_of[layer.index]
            blocks.append(self._emit_weight_fetch(layer, tiling, self.clusters, block, deps, when))
            stores.extend(self._emit_tiles(layer, by_block[block], blocks))
        return tuple(stores)

    def _record_layer(self, layer: Layer, shape: TileShape, tiles: int, barrier: int) -> None:
        self.program.layers.append(
            LayerPlan(
                layer.index,
                layer.name,
                layer.op.value,
                layer.macs,
                shape.rows,
                shape.cols,
                shape.channels,
                tiles,
                self.residency.in_sram[layer.name],
                layer.weight_elements * self.element_bytes,
                barrier,
            )
        )

    def _emit_group(self, group: FusionGroup) -> None:
        """Emit a fusion group band by band (see module docstring and ``fusion``)."""
        members = [self.graph.layer(name) for name in group.members]
        weight_blocks = {
            layer.name: self._emit_weight_fetches(
                layer, self.tilings[layer.name], min(self.clusters, self.tilings[layer.name].tiles)
            )
            if layer.weight_elements
            else []
            for layer in members
        }
        band_barriers: list[list[int]] = [[] for _ in members]
        tile_counts = [0] * len(members)
        for image in range(members[-1].output_shape.batch):
            for band in range(group.band_count):
                for position, layer in enumerate(members):
                    if position:  # the consumer reads the producer's rows done so far
                        producer = members[position - 1].name
                        self.barrier_of[producer] = band_barriers[position - 1][-1]
                    later = band_barriers[position + 1] if position + 1 < len(members) else []
                    placed = self._band_tiles(layer, image, group.bands[position][band])
                    tile_counts[position] += len(placed)
                    band_barriers[position].append(
                        self._emit_band(
                            layer,
                            placed,
                            weight_blocks[layer.name],
                            gate=later[-2] if len(later) >= 2 else -1,
                            previous=band_barriers[position][-1:],
                        )
                    )
        for position, layer in enumerate(members):
            last = band_barriers[position][-1]
            self.barrier_of[layer.name] = last
            self._record_layer(layer, self.tilings[layer.name].shape, tile_counts[position], last)
        if any(layer.weight_elements for layer in members):
            self.weighted_barriers.append(band_barriers[-1][-1])

    def _emit_band(
        self,
        layer: Layer,
        placed: list[tuple[int, int, Region]],
        weight_blocks: list[tuple[int, int]],
        gate: int,
        previous: list[int],
    ) -> int:
        """One member's tiles of one band and the band's barrier (which also waits for the
        member's previous band, so it marks every row produced so far); returns the barrier.
        ``gate``: the consumer's band whose completion frees the line-buffer rows."""
        self.staged.clear()
        stores = self._emit_tiles(layer, placed, weight_blocks, gate)
        done = BarrierOp(self.program.next_id, layer.index, (*stores, *previous))
        return self.program.add("sync", done)

    def _band_tiles(self, layer: Layer, image: int, rows: Span) -> list[tuple[int, int, Region]]:
        """(channel block, image, region) tiles covering output ``rows`` of one image,
        channel blocks outermost."""
        tiling = self.tilings[layer.name]
        shape = tiling.shape
        out = layer.output_shape
        return [
            (
                block,
                image,
                Region(
                    (row, min(rows[1], row + shape.rows)),
                    block_span(col_block, shape.cols, out.width),
                    self._block_channels(layer, tiling, block),
                ),
            )
            for block in range(tiling.channel_blocks)
            for row in range(rows[0], rows[1], shape.rows)
            for col_block in range(tiling.col_blocks)
        ]

    def _emit_tile(
        self,
        tile: _Tile,
        weights: tuple[int, int] | None,
        output_in_sram: bool,
        output_kind: TransferKind,
    ) -> list[int]:
        """Emit loads, compute and stores of one tile; returns the tile's final store ops."""
        cursor = self.cursors[tile.cluster]
        slot = self._slot(tile.cluster)
        step = self.step
        operands = (
            step.operands[tile.cluster] if step is not None else self._operands(tile, weights)
        )
        loads: list[int] = []
        for operand in operands:
            fresh = self.program.next_id
            load = self._emit_operand(tile, operand, slot)
            loads.append(load)
            if operand.is_weights:
                if load >= fresh:  # a multicast weight load is listed once
                    self.weight_loads.setdefault((tile.layer.index, tile.block), []).append(load)
                cursor.weight_block = (tile.layer.index, tile.block)
        output_slot = cursor.tile_stores[-2] if len(cursor.tile_stores) >= 2 else []
        layer = tile.layer
        compute = ComputeOp(
            self.program.next_id,
            layer.index,
            tile.cluster,
            tile.region.elements() * (layer.gemm.k if layer.gemm is not None else 0),
            self._tile_cycles(layer, tile.region),
            (*loads, *output_slot),
        )
        self.program.add(self.ports.computes[tile.cluster], compute)
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

        The tiling's loop order decides (see ``tiling``): channel blocks outermost, so a
        cluster keeps one weight block for many tiles, or spatial blocks outermost, so that
        the channel blocks of one spatial block share one staged copy of its DRAM input.
        """
        spatial = [
            (image, row, col)
            for image in range(layer.output_shape.batch)
            for row in range(tiling.row_blocks)
            for col in range(tiling.col_blocks)
        ]
        blocks = range(tiling.channel_blocks)
        if tiling.loop_order is LoopOrder.INPUTS_OUTER:
            return [(block, *where) for where in spatial for block in blocks]
        return [(block, *where) for block in blocks for where in spatial]

    def _operands(self, tile: _Tile, weights: tuple[int, int] | None) -> list[Operand]:
        """The blocks the tile loads, in emit order: every input region (from the SRAM banks
        holding it, or a DRAM-resident region staged into a home bank), then its weight
        block when the cluster's block changes (``weights``: the block's fetch and bank).

        A DRAM-resident region is staged once per layer (or per channel block, channel
        blocks outermost): later tiles needing the same region load that staged copy.
        """
        layer = tile.layer
        in_sram = self.residency.in_sram
        operands: list[Operand] = []
        for index, producer in enumerate(layer.inputs):
            needed = input_region(layer, index, tile.region)
            rows, cols = needed.rows, needed.cols
            height, width = rows[1] - rows[0], cols[1] - cols[0]
            area = height * width * self.element_bytes if height > 0 and width > 0 else 0
            for source, source_channels in self._resolve(producer, needed.channels):
                depth = source_channels[1] - source_channels[0]
                if area == 0 or depth <= 0:  # area x max(0, depth) == 0
                    continue
                nbytes = area * depth
                deps = (self.barrier_of.get(source, -1), tile.gate)
                stream = self._stream(source)
                where = (source, tile.image, rows, cols, source_channels)
                if in_sram[source]:
                    for bank, share in self._bank_shares(source, tile.image, rows, nbytes):
                        operands.append(Operand(("sram", *where, bank), share, stream, bank, deps))
                    continue
                # channel blocks outermost: a staged copy is gone when its block comes back
                scope = tile.block if self._stages_per_block(layer) else -1
                operands.append(Operand(("dram", *where, scope), nbytes, stream, -1, deps))
        cursor = self.cursors[tile.cluster]
        if weights is not None and cursor.weight_block != (layer.index, tile.block):
            fetch, bank = weights
            nbytes = weight_bytes(layer, tile.region.channels, self.element_bytes)
            key = ("weights", layer.index, tile.block)
            operands.append(Operand(key, nbytes, 2 * layer.index + 1, bank, (fetch,)))
        return operands

    def _emit_operand(self, tile: _Tile, operand: Operand, slot: int) -> int:
        """The load of one operand block (after its staging fetch, for a DRAM-resident
        region); with multicast, one load to every cluster of the step that needs the block,
        emitted by the first of them. Returns the load's op id."""
        step = self.step
        clusters = step.destinations(operand.key) if step is not None else None
        shared = step if clusters is not None else None  # the step whose clusters share it
        if shared is not None and operand.key in shared.emitted:
            return shared.emitted[operand.key]
        first, *rest = operand.deps
        deps = [first, slot, *rest]
        if operand.bank >= 0:
            src = self.ports.banks[operand.bank]
        else:
            staged = self.staged.get(operand.key)
            if staged is None:
                home = self.ports.homes[tile.cluster]
                fetch = self._transfer(
                    self.ports.loads[tile.cluster],
                    tile.layer.index,
                    TransferKind.INPUT_FETCH,
                    self._dram(),
                    home,
                    operand.nbytes,
                    operand.stream,
                    deps,
                )
                staged = self.staged[operand.key] = (fetch, home)
            staged_fetch, src = staged
            deps = [staged_fetch, slot]
        fanout: tuple[Endpoint, ...] = ()
        if shared is not None and clusters is not None:  # one load to all of them
            if clusters[0] != tile.cluster:
                raise ValueError("a multicast load must be emitted by its first destination")
            deps = [d for d in deps if d != slot] + shared.slots_of(clusters)
            fanout = tuple(self.ports.clusters[c] for c in clusters[1:])
        load = self._transfer(
            self.ports.loads[tile.cluster],
            tile.layer.index,
            TransferKind.OPERAND_LOAD,
            src,
            self.ports.clusters[tile.cluster],
            operand.nbytes,
            operand.stream,
            deps,
            fanout=fanout,
        )
        if shared is not None:
            shared.emitted[operand.key] = load
        return load

    def _stages_per_block(self, layer: Layer) -> bool:
        """Whether the layer's staged DRAM inputs last one channel block only: channel
        blocks outermost, outside a fusion group (bands stage their own)."""
        per_block = self.per_block_staging.get(layer.name)
        if per_block is None:
            per_block = self.per_block_staging[layer.name] = (
                self.tilings[layer.name].loop_order is LoopOrder.WEIGHTS_OUTER
                and self.group_of_layer(layer.name) is None
            )
        return per_block

    def _emit_stores(
        self, tile: _Tile, compute: int, output_in_sram: bool, output_kind: TransferKind
    ) -> list[int]:
        """Result stores into the output's banks, or via the home bank out to DRAM."""
        layer = tile.layer
        region = tile.region
        nbytes = region.nbytes(self.element_bytes)
        stream = self._stream(layer.name)
        me = self.ports.clusters[tile.cluster]
        queue = self.ports.stores[tile.cluster]
        result = TransferKind.RESULT_STORE
        if output_in_sram:
            banks = self.ports.banks
            shares = self._bank_shares(layer.name, tile.image, region.rows, nbytes)
            return [
                self._transfer(
                    queue, layer.index, result, me, banks[bank], share, stream, [compute]
                )
                for bank, share in shares
            ]
        home = self.ports.homes[tile.cluster]
        staged = self._transfer(queue, layer.index, result, me, home, nbytes, stream, [compute])
        dram = self._dram()
        return [
            self._transfer(queue, layer.index, output_kind, home, dram, nbytes, stream, [staged])
        ]


def activation_stream(graph: WorkloadGraph, name: str) -> int:
    """The stream id of a tensor's transfers (weights of layer i use 2 * i + 1)."""
    return 0 if name == NETWORK_INPUT else 2 * graph.layer(name).index + 2


def map_workload(
    graph: WorkloadGraph,
    arch: ArchConfig,
    fusion: FusionRequest | None = None,
    tiling: TilingMode = TilingMode.SEARCH,
) -> Program:
    """Map a workload graph onto an architecture (see module docstring); ``tiling``
    scalesim maps every layer as one GEMM per cluster."""
    return ProgramBuilder(graph, arch, fusion, tiling).build()
