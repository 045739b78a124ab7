"""A multi-frame program: the one-frame program copied once per frame.

Every frame gets a copy of the mapped program (never modified), its op ids and deps moved
up, its clusters, banks and queues moved to its engine (``EngineLayout``), and three ops of
its own: an ArrivalOp (queue ``arrivals``), a start gate (queue ``frames``) and an end
barrier (queue ``frame_ends``). Every op of the copy without deps waits for the start
gate; at run time every op of the frame waits for it (``OpRuntime.open_gate``).

The in-order queues then run frames first in, first out, and consecutive frames on one
engine overlap by themselves: a cluster done with frame k takes up frame k+1's tiles while
others finish frame k. Rules that keep this honest:

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

from dataclasses import dataclass, replace

from archsim.mapping.program import (
    ArrivalOp,
    BarrierOp,
    ComputeOp,
    Op,
    Program,
    TileRecord,
    TransferOp,
)
from archsim.scenario.arrivals import Arrivals
from archsim.scenario.engines import EngineLayout
from archsim.sim.frames import FrameOps

ARRIVALS = "arrivals"
GATES = "frames"
ENDS = "frame_ends"


@dataclass(frozen=True)
class _Buffers:
    """Per cluster of the one-frame program: ops that touch the buffer halves across frames."""

    first: list[tuple[int, list[int]]]  # first two tiles: (compute, its loads)
    last: list[tuple[int, list[int]]]  # last two tiles: (compute, its stores)


@dataclass(frozen=True)
class _Shape:
    """What replication needs to know about the one-frame program."""

    barriers: list[int]  # executed layers' barriers, in layer order
    roots: frozenset[int]  # ops without deps
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
        roots=frozenset(op.id for op in program.ops if not op.deps),
        buffers=buffers,
        overlap=can_overlap(program, sram_bytes),
        epoch_stride=len(program.layers) + 1,
    )


class _Builder:
    """Appends frame copies to a new program."""

    def __init__(self, base: Program, layout: EngineLayout, sram_bytes: int) -> None:
        self.base = base
        self.layout = layout
        self.shape = _shape(base, layout.clusters_per_engine, sram_bytes)
        self.ops: list[Op] = []
        self.queues: dict[str, list[int]] = {}
        for engine in range(layout.engines):
            for name in base.queues:
                self.queues.setdefault(layout.queue(name, engine), [])
        self.queues[ARRIVALS] = []
        self.queues[GATES] = []
        self.queues[ENDS] = []
        self.frames: list[FrameOps] = []
        self.frame_barriers: list[list[int]] = []  # per frame, global ids
        self.slots = [0] * layout.engines  # frames so far per engine
        self.last_frame: list[int] = [-1] * layout.engines  # per engine
        # per engine and engine-0 cluster: last two (compute, stores) in global ids
        self.history: list[dict[int, list[tuple[int, list[int]]]]] = [
            {} for _ in range(layout.engines)
        ]

    def _add(self, queue: str, op: Op) -> None:
        self.ops.append(op)
        self.queues[queue].append(op.id)

    def add_frame(self, frame: int, engine: int, arrival_ps: int, query: int, after: int) -> None:
        """Append frame ``frame`` on ``engine``; ``after``: a frame whose end it arrives at."""
        arrival = len(self.ops)
        gate, offset = arrival + 1, arrival + 2
        self._add(ARRIVALS, ArrivalOp(arrival, frame, arrival_ps, (after,) if after >= 0 else ()))
        self._add(GATES, BarrierOp(gate, -1, (arrival, *self._gate_deps(engine)), frame))
        extra = self._buffer_deps(engine, offset)
        self._copy(frame, engine, offset, gate, extra)
        barriers = [offset + b for b in self.shape.barriers]
        end = len(self.ops)
        self._add(ENDS, BarrierOp(end, -1, tuple(barriers), frame))
        self.frames.append(FrameOps(arrival, gate, end, engine, query))
        self.frame_barriers.append(barriers)
        self.slots[engine] += 1
        self.last_frame[engine] = frame

    def _gate_deps(self, engine: int) -> tuple[int, ...]:
        previous = self.last_frame[engine]
        if previous < 0:
            return ()
        if self.shape.overlap:
            return tuple(self.frame_barriers[previous][:-1])
        return (self.frames[previous].end,)

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

    def _copy(
        self, frame: int, engine: int, offset: int, gate: int, extra: dict[int, tuple[int, ...]]
    ) -> None:
        layout = self.layout
        queue_of = {name: layout.queue(name, engine) for name in self.base.queues}
        cluster_step = engine * layout.clusters_per_engine
        epoch_base = self.slots[engine] * self.shape.epoch_stride + 1
        engines = layout.engines
        roots = self.shape.roots
        ops = self.ops
        queues = self.queues
        for name, op_ids in self.base.queues.items():
            target = queues[queue_of[name]]
            target.extend(op_id + offset for op_id in op_ids)
        copies: list[Op] = []
        for op in self.base.ops:
            deps = tuple([d + offset for d in op.deps])
            if op.id in roots:
                deps = (gate,)
            more = extra.get(op.id)
            if more:
                deps = deps + more
            if isinstance(op, TransferOp):
                copies.append(
                    TransferOp(
                        op.id + offset,
                        op.layer,
                        op.kind,
                        layout.endpoint(op.src, engine),
                        layout.endpoint(op.dst, engine),
                        op.nbytes,
                        op.stream,
                        deps,
                        (epoch_base + op.epoch) * engines + engine,
                        frame,
                        tuple(layout.endpoint(dst, engine) for dst in op.fanout),
                    )
                )
            elif isinstance(op, ComputeOp):
                copies.append(
                    ComputeOp(
                        op.id + offset,
                        op.layer,
                        op.cluster + cluster_step,
                        op.macs,
                        op.cycles,
                        deps,
                        frame,
                    )
                )
            elif isinstance(op, BarrierOp):
                copies.append(BarrierOp(op.id + offset, op.layer, deps, frame))
            else:
                raise ValueError(f"a mapped program holds no {type(op).__name__}")
        ops.extend(copies)

    def program(self, frames: int) -> Program:
        """The finished multi-frame program (see ``replicate`` for its per-layer plan)."""
        base = self.base
        last = self.frames[-1]
        last_offset = last.arrival + 2
        layers = [
            replace(plan, barrier=plan.barrier + last_offset) if plan.barrier >= 0 else plan
            for plan in base.layers
        ]
        tiles_of = [self._tiles(engine) for engine in range(self.layout.engines)]
        tiles = [tile for record in self.frames for tile in tiles_of[record.engine]]
        return replace(
            base,
            ops=self.ops,
            queues={name: ids for name, ids in self.queues.items() if ids},
            layers=layers,
            tiles=tiles,
            compulsory_dram_bytes=base.compulsory_dram_bytes * frames,
        )

    def _tiles(self, engine: int) -> list[TileRecord]:
        step = engine * self.layout.clusters_per_engine
        return [replace(tile, cluster=tile.cluster + step) for tile in self.base.tiles]


def replicate(
    base: Program, arrivals: Arrivals, engines: list[int], layout: EngineLayout, sram_bytes: int
) -> tuple[Program, list[FrameOps]]:
    """The multi-frame program of ``arrivals`` (frame f on ``engines[f]``) and its frames.

    ``sram_bytes`` is one engine's SRAM. The program's per-layer plan keeps the one-frame
    plan with each layer's barrier in the last frame, so per-layer results span all frames.
    """
    builder = _Builder(base, layout, sram_bytes)
    for frame in range(arrivals.frames):
        after = builder.frames[frame - 1].end if arrivals.after_previous and frame else -1
        builder.add_frame(
            frame, engines[frame], arrivals.time_ps[frame], arrivals.query[frame], after
        )
    return builder.program(arrivals.frames), builder.frames
