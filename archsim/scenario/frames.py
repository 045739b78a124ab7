"""A multi-frame program: the frames of a scenario over one shared mapped program.

Frames differ from the mapped program (never modified) only in their frame id, arrival and
engine, so they share it: ``FramedProgram`` makes a frame's op when it is read, from the
mapped op and a few numbers of the frame, and keeps only the ops made lately. Op ids are
laid out frame by frame (stride: the mapped program's ops + 3): frame f's ArrivalOp (queue
``arrivals``), start gate (queue ``frames``), its *body* (the mapped ops, ids and deps
moved up by the frame's offset) and its end barrier (queue ``frame_ends``). The body's
clusters, banks and queues are moved to the frame's engine (``EngineLayout``, endpoints
cached per engine). Every body op without deps waits for the start gate; at run time
every op of the frame waits for it (``OpRuntime.open_gate``). The run keeps op state per
frame in flight too (``archsim.sim.runtime``), so memory does not grow with the frames of
a run beyond their trace rows.

The in-order queues then run frames first in, first out, and consecutive frames on one
engine overlap by themselves: a cluster done with frame k takes up frame k+1's tiles while
others finish frame k. Rules that keep this honest, the only deps that cross frames (a
small table per frame):

- **Buffers**: a frame's first two tiles on a cluster wait for the buffer halves of the
  last two tiles of the frame before on that cluster, as tiles within a frame do (loads
  after the compute two back, a compute after the stores two back). A multicast load
  (queued on its first destination) waits for the buffer half of every destination.
- **SRAM**: frame k+1 may start before frame k ends only if the SRAM planned for frame
  k's last layer step plus frame k+1's first step fits the engine's SRAM. Then its gate
  waits for every layer barrier of frame k but the last (frame k is in its last layer);
  otherwise for frame k's end.
- **Deterministic NoC epochs** are unique per frame and engine:
  ``((slot x (layers + 1)) + epoch + 1) x engines + engine``, with ``slot`` the frame's
  position on its engine; each engine's epochs form a lane (``noc_schedule``), so frames of
  one engine run their epochs one after another and cannot overlap on that NoC.
- **single-stream**: frame k+1 arrives when frame k has ended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar, overload

from archsim.mapping.fusion import Fallback, FusionGroup
from archsim.mapping.program import (
    ArrivalOp,
    BarrierOp,
    ComputeOp,
    Endpoint,
    LayerPlan,
    Op,
    Program,
    TileRecord,
    TransferOp,
)
from archsim.scenario.arrivals import Arrivals
from archsim.scenario.engines import EngineLayout
from archsim.sim.frames import FrameOps
from archsim.sim.runtime import FrameLayout

ARRIVALS = "arrivals"
GATES = "frames"
ENDS = "frame_ends"
BODY_START = 2
"""Position of a frame's body (its mapped ops) in its ids, after its arrival and gate."""
RECENT_OPS = 4096
"""Ops made lately that a FramedProgram keeps (in two generations of up to this many): an
op is read again soon after it ran (stall attribution of the tile that waited for it)."""


@dataclass(frozen=True)
class _Buffers:
    """Per cluster of the one-frame program: ops that touch the buffer halves across frames."""

    first: list[tuple[int, list[int]]]  # first two tiles: (compute, its loads)
    last: list[tuple[int, list[int]]]  # last two tiles: (compute, its stores)


@dataclass(frozen=True)
class _Shape:
    """What replication needs to know about the one-frame program."""

    barriers: list[int]  # executed layers' barriers, in layer order
    buffers: dict[int, _Buffers]  # by cluster
    overlap: bool  # SRAM lets a frame start while the one before runs its last layer
    epoch_stride: int  # epochs per frame slot: layers + 1 (a prefetch may use layer - 1)


def can_overlap(program: Program, sram_bytes: int) -> bool:
    """Whether the SRAM of frame k's last layer step and frame k+1's first fit together."""
    usage = program.sram_usage_bytes
    executed = [plan.index for plan in program.layers if plan.barrier >= 0]
    if not usage or not executed:
        return False
    head = max(usage[: executed[0] + 1])
    tail = max(usage[executed[-1] :])
    return head + tail <= sram_bytes


def _tile_ops(queue: list[int], computes: list[int], before: bool) -> list[list[int]]:
    """The queue's ops of each tile: those between its compute and the previous one (loads,
    ``before``) or the next one (stores)."""
    groups: list[list[int]] = [[] for _ in computes]
    index = 0
    for op_id in queue:
        if before:
            while index < len(computes) and computes[index] < op_id:
                index += 1
            if index < len(computes):
                groups[index].append(op_id)
        else:
            while index + 1 < len(computes) and computes[index + 1] < op_id:
                index += 1
            if computes and computes[index] < op_id:
                groups[index].append(op_id)
    return groups


def _multicast_loads(program: Program, compute: int, queued: list[int]) -> list[int]:
    """Loads into a compute's cluster that another cluster's queue sends (multicasts)."""
    loads = []
    for dep in program.ops[compute].deps:
        op = program.ops[dep]
        if isinstance(op, TransferOp) and op.fanout and dep not in queued:
            loads.append(dep)
    return loads


def _shape(program: Program, clusters: int, sram_bytes: int) -> _Shape:
    buffers = {}
    for cluster in range(clusters):
        computes = program.queues.get(f"cluster{cluster}.compute", [])
        loads = _tile_ops(program.queues.get(f"cluster{cluster}.load", []), computes, True)
        for compute, tile_loads in zip(computes[:2], loads, strict=False):
            tile_loads.extend(_multicast_loads(program, compute, tile_loads))
        stores = _tile_ops(program.queues.get(f"cluster{cluster}.store", []), computes, False)
        buffers[cluster] = _Buffers(
            list(zip(computes[:2], loads[:2], strict=True)),
            list(zip(computes[-2:], stores[-2:], strict=True)),
        )
    return _Shape(
        barriers=[plan.barrier for plan in program.layers if plan.barrier >= 0],
        buffers=buffers,
        overlap=can_overlap(program, sram_bytes),
        epoch_stride=len(program.layers) + 1,
    )


@dataclass(frozen=True)
class _Frame:
    """What makes frame f's ops out of the mapped program's."""

    offset: int  # id of the frame's first copied op (mapped op id 0)
    engine: int
    epoch_base: int  # slot x epoch stride + 1
    own: tuple[ArrivalOp, BarrierOp, BarrierOp]  # arrival, start gate, end barrier
    extra: dict[int, tuple[int, ...]]  # by mapped op id: deps on the frame before


T = TypeVar("T")


class _Lazy(Sequence[T]):
    """A read-only sequence whose items are worked out when read (``item``)."""

    def __init__(self, length: int, item: Callable[[int], T]) -> None:
        self._length = length
        self._item = item

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        if type(index) is int and 0 <= index < self._length:  # the common case first
            return self._item(index)
        if isinstance(index, slice):
            return [self._item(i) for i in range(*index.indices(self._length))]
        if -self._length <= index < 0:
            return self._item(index + self._length)
        raise IndexError(index)

    def __iter__(self) -> Iterator[T]:
        item = self._item
        for index in range(self._length):
            yield item(index)


class _Repeat(_Lazy[int]):
    """Op ids of one queue over frames: the mapped queue's ids plus each frame's offset."""

    def __init__(self, ids: list[int], offsets: list[int]) -> None:
        super().__init__(len(ids) * len(offsets), self._id)
        self.ids = ids
        self.offsets = offsets

    def _id(self, index: int) -> int:
        frame, position = divmod(index, len(self.ids))
        return self.ids[position] + self.offsets[frame]

    def __iter__(self) -> Iterator[int]:
        ids = self.ids
        for offset in self.offsets:
            for op_id in ids:
                yield op_id + offset


class _Tiles(_Lazy[TileRecord]):
    """Every frame's tiles, on its engine's clusters."""

    def __init__(self, by_engine: list[list[TileRecord]], engines: list[int]) -> None:
        super().__init__(len(by_engine[0]) * len(engines), self._tile)
        self.by_engine = by_engine
        self.engines = engines  # per frame

    def _tile(self, index: int) -> TileRecord:
        frame, position = divmod(index, len(self.by_engine[0]))
        return self.by_engine[self.engines[frame]][position]


class FramedProgram:
    """The frames of a scenario over one mapped program (see the module docstring).

    Reads like a ``Program``: ``ops`` (made when read), ``queues`` (lazy id sequences),
    ``layers`` (the mapped plan, each barrier in the last frame, so per-layer results span
    every frame), ``tiles`` and the totals; ``layout`` says how ids map to frames.
    """

    def __init__(
        self, base: Program, layout: EngineLayout, frames: list[_Frame], queries: list[int]
    ) -> None:
        self.base = base
        self.engine_layout = layout
        self.stride = len(base.ops) + 3
        self._frames = frames
        self.frames = [
            FrameOps(f.own[0].id, f.own[1].id, f.own[2].id, f.engine, query)
            for f, query in zip(frames, queries, strict=True)
        ]
        self.layout = FrameLayout(self.stride, BODY_START, BODY_START + len(base.ops), len(frames))
        self._roots = bytearray(1 if not op.deps else 0 for op in base.ops)
        self._endpoints: list[dict[Endpoint, Endpoint]] = [{} for _ in range(layout.engines)]
        self._recent: dict[int, Op] = {}  # ops made lately, and before that
        self._older: dict[int, Op] = {}
        self.ops: Sequence[Op] = _Lazy(len(frames) * self.stride, self.op)
        self.queues = self._queues()
        last = frames[-1].offset
        self.layers: list[LayerPlan] = [
            replace(plan, barrier=plan.barrier + last) if plan.barrier >= 0 else plan
            for plan in base.layers
        ]
        step = layout.clusters_per_engine
        by_engine = [
            [replace(tile, cluster=tile.cluster + e * step) for tile in base.tiles]
            for e in range(layout.engines)
        ]
        self.tiles: Sequence[TileRecord] = _Tiles(by_engine, [f.engine for f in frames])
        self.compulsory_dram_bytes = base.compulsory_dram_bytes * len(frames)
        self.sram_peak_bytes = base.sram_peak_bytes
        self.sram_usage_bytes = base.sram_usage_bytes
        self.fusion_groups: list[FusionGroup] = base.fusion_groups
        self.fusion_fallbacks: list[Fallback] = base.fusion_fallbacks

    def _queues(self) -> dict[str, Sequence[int]]:
        """Every engine's queues (in mapped order, engine by engine), then the frames' own."""
        layout, base = self.engine_layout, self.base
        offsets: dict[str, list[int]] = {}
        ids: dict[str, list[int]] = {}
        for engine in range(layout.engines):
            for name in base.queues:
                offsets.setdefault(layout.queue(name, engine), [])
        for frame in self._frames:
            for name, op_ids in base.queues.items():
                target = layout.queue(name, frame.engine)
                ids[target] = op_ids
                offsets[target].append(frame.offset)
        queues: dict[str, Sequence[int]] = {
            name: _Repeat(ids[name], found) for name, found in offsets.items() if found
        }
        starts = [f.offset - BODY_START for f in self._frames]
        for name, position in ((ARRIVALS, 0), (GATES, 1), (ENDS, self.stride - 1)):
            queues[name] = _Repeat([position], starts)
        return queues

    def _endpoint(self, endpoint: Endpoint, engine: int) -> Endpoint:
        cache = self._endpoints[engine]
        moved = cache.get(endpoint)
        if moved is None:
            moved = cache[endpoint] = self.engine_layout.endpoint(endpoint, engine)
        return moved

    def op(self, op_id: int) -> Op:
        """The op with this id, made from the mapped op and its frame (or kept lately)."""
        made = self._recent.get(op_id)
        if made is not None:
            return made
        made = self._older.get(op_id)
        if made is not None:
            return made
        index, position = divmod(op_id, self.stride)
        frame = self._frames[index]
        local = position - BODY_START
        if local < 0:
            return frame.own[position]
        if position == self.stride - 1:
            return frame.own[2]
        made = self._recent[op_id] = self._make(frame, index, op_id, local)
        if len(self._recent) >= RECENT_OPS:  # two generations: the older one is dropped
            self._older, self._recent = self._recent, {}
        return made

    def _make(self, frame: _Frame, index: int, op_id: int, local: int) -> Op:
        op = self.base.ops[local]
        offset = frame.offset
        if self._roots[local]:
            deps: tuple[int, ...] = (frame.own[1].id,)
        else:
            deps = tuple([d + offset for d in op.deps])
        if frame.extra:
            more = frame.extra.get(local)
            if more:
                deps = deps + more
        if isinstance(op, TransferOp):
            engine = frame.engine
            src, dst, fanout = op.src, op.dst, op.fanout
            if engine:
                src, dst = self._endpoint(src, engine), self._endpoint(dst, engine)
                fanout = tuple(self._endpoint(d, engine) for d in fanout)
            return TransferOp(
                op_id,
                op.layer,
                op.kind,
                src,
                dst,
                op.nbytes,
                op.stream,
                deps,
                (frame.epoch_base + op.epoch) * self.engine_layout.engines + engine,
                index,
                fanout,
            )
        if isinstance(op, ComputeOp):
            cluster = op.cluster + frame.engine * self.engine_layout.clusters_per_engine
            return ComputeOp(op_id, op.layer, cluster, op.macs, op.cycles, deps, index)
        if isinstance(op, BarrierOp):
            return BarrierOp(op_id, op.layer, deps, index)
        raise ValueError(f"a mapped program holds no {type(op).__name__}")

    def transfers(self) -> list[TransferOp]:
        """All transfer ops, in id order."""
        return [op for op in self.ops if isinstance(op, TransferOp)]

    @property
    def total_macs(self) -> int:
        """MACs summed over all compute ops of every frame."""
        return self.base.total_macs * len(self.frames)


class _Builder:
    """Works out, frame by frame, what makes each frame's ops (its ``_Frame``)."""

    def __init__(self, base: Program, layout: EngineLayout, sram_bytes: int) -> None:
        self.base = base
        self.layout = layout
        self.shape = _shape(base, layout.clusters_per_engine, sram_bytes)
        self.stride = len(base.ops) + 3
        self.frames: list[_Frame] = []
        self.slots = [0] * layout.engines  # frames so far per engine
        self.last_frame: list[int] = [-1] * layout.engines  # per engine
        # per engine and engine-0 cluster: last two (compute, stores) in global ids
        self.history: list[dict[int, list[tuple[int, list[int]]]]] = [
            {} for _ in range(layout.engines)
        ]

    def barriers(self, frame: int) -> tuple[int, ...]:
        """Global ids of the frame's executed layers' barriers, in layer order."""
        offset = self.frames[frame].offset
        return tuple(offset + b for b in self.shape.barriers)

    def add_frame(self, frame: int, engine: int, arrival_ps: int, after: int) -> None:
        """Add frame ``frame`` on ``engine``; ``after``: a frame whose end it arrives at."""
        arrival = frame * self.stride
        gate, offset = arrival + 1, arrival + BODY_START
        end = arrival + self.stride - 1
        own = (
            ArrivalOp(arrival, frame, arrival_ps, (after,) if after >= 0 else ()),
            BarrierOp(gate, -1, (arrival, *self._gate_deps(engine)), frame),
            BarrierOp(end, -1, tuple(offset + b for b in self.shape.barriers), frame),
        )
        extra = self._buffer_deps(engine, offset)
        epoch_base = self.slots[engine] * self.shape.epoch_stride + 1
        self.frames.append(_Frame(offset, engine, epoch_base, own, extra))
        self.slots[engine] += 1
        self.last_frame[engine] = frame

    def _gate_deps(self, engine: int) -> tuple[int, ...]:
        previous = self.last_frame[engine]
        if previous < 0:
            return ()
        if self.shape.overlap:
            return self.barriers(previous)[:-1]
        return (self.frames[previous].own[2].id,)

    def _buffer_deps(self, engine: int, offset: int) -> dict[int, tuple[int, ...]]:
        """Extra deps (by engine-0 op id) tying the frame's first tiles to the last tiles
        of the frame before on each cluster; updates the per-cluster history."""
        extra: dict[int, tuple[int, ...]] = {}
        history = self.history[engine]
        for cluster, buffers in self.shape.buffers.items():
            before = history.get(cluster, [])
            for j, (compute, loads) in enumerate(buffers.first):
                back = len(before) - 2 + j  # the tile two back in the concatenated order
                if back < 0:
                    continue
                previous_compute, previous_stores = before[back]
                for load in loads:  # a multicast load waits for every destination's half
                    extra[load] = (*extra.get(load, ()), previous_compute)
                extra[compute] = tuple(previous_stores)
            last = [(offset + c, [offset + s for s in stores]) for c, stores in buffers.last]
            history[cluster] = (before + last)[-2:]
        return extra


def replicate(
    base: Program, arrivals: Arrivals, engines: list[int], layout: EngineLayout, sram_bytes: int
) -> FramedProgram:
    """The multi-frame program of ``arrivals`` (frame f on ``engines[f]``); its ``frames``
    and ``layout`` go into the run's frame schedule.

    ``sram_bytes`` is one engine's SRAM. The program's per-layer plan keeps the one-frame
    plan with each layer's barrier in the last frame, so per-layer results span all frames.
    """
    builder = _Builder(base, layout, sram_bytes)
    for frame in range(arrivals.frames):
        after = builder.frames[frame - 1].own[2].id if arrivals.after_previous and frame else -1
        builder.add_frame(frame, engines[frame], arrivals.time_ps[frame], after)
    return FramedProgram(base, layout, builder.frames, arrivals.query)
