"""Run-time state of a program's ops: completion events, times and phase records.

Kept apart from the (immutable) program so that one program can be run several times.

A scenario's frames share one mapped program (``archsim.scenario.frames``), so the state
is kept per frame in flight, not per op of the run. Op ids are laid out frame by frame
(``FrameLayout``): frame f owns ids ``[f x stride, (f + 1) x stride)``: the ops of the
mapped program (the *body*) plus a few ops of its own (arrival, start gate, end).

- A body's completion times, blockers and transfer records live in one block per frame,
  allocated when its first op starts and freed (``free_frame``) once no later op can read
  it (``archsim.sim.frames`` decides when); a frame's own ops keep theirs for the run.
- A completion event exists only while it is pending: made when the op finishes, or
  earlier when something waits for it, and dropped once SimPy has processed it.
- What readers need after the run comes from totals kept as it goes (``completed``,
  ``latest_ps``, the clusters' per-layer MACs and first tile starts) or from the frames'
  own ops and each engine's last frame, which are never freed.

So a run's memory grows with the frames in flight, not with the frames of the run; a
one-frame program is one block.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

import simpy
from simpy.events import PENDING

from archsim.domain import StallCause
from archsim.errors import SimulationError
from archsim.mapping.program import LayerPlan, Op, TileRecord, TransferOp
from archsim.sim.environment import PicosecondEnvironment
from archsim.sim.events import LeanEvent

# A phase of a transfer: (t_start_ps, t_end_ps, cause the phase would be blamed on).
Phase = tuple[int, int, StallCause]


class TransferTiming:
    """What happened to one transfer, filled in by the components it passes through.

    Phase durations are exclusive and add up to ``t_done - t_issue``.
    """

    __slots__ = (
        "t_issue",
        "t_grant",
        "t_done",
        "hops",
        "dram_wait",
        "dram",
        "sram_wait",
        "sram",
        "interconnect_wait",
        "interconnect",
        "contention",
        "phases",
    )

    def __init__(self, t_issue: int) -> None:
        self.t_issue = t_issue
        self.t_grant = -1
        self.t_done = -1
        self.hops = 0
        self.dram_wait = 0
        self.dram = 0
        self.sram_wait = 0
        self.sram = 0
        self.interconnect_wait = 0
        self.interconnect = 0
        self.contention = 0  # interconnect waiting caused by other flows
        self.phases: list[Phase] = []

    def add_phase(self, start: int, end: int, cause: StallCause) -> None:
        """Append a phase; zero-length phases are dropped, adjacent same-cause ones merged."""
        if end <= start:
            return
        phases = self.phases
        if phases and phases[-1][2] is cause and phases[-1][1] == start:
            phases[-1] = (phases[-1][0], end, cause)
        else:
            phases.append((start, end, cause))


class RunProgram(Protocol):
    """What a run reads of its program: a mapped ``Program``, or a scenario's frames over
    one (``archsim.scenario.frames.FramedProgram``), whose ops are made when read."""

    @property
    def ops(self) -> Sequence[Op]:
        """Every op, by id."""

    @property
    def queues(self) -> Mapping[str, Sequence[int]]:
        """The op ids of every in-order queue, by queue name."""

    @property
    def layers(self) -> list[LayerPlan]:
        """The per-layer plan (each barrier that of the last frame)."""

    @property
    def tiles(self) -> Sequence[TileRecord]:
        """Every tile of every frame."""

    @property
    def compulsory_dram_bytes(self) -> int:
        """DRAM bytes no mapping can avoid, over every frame."""

    @property
    def sram_peak_bytes(self) -> int:
        """Peak planned SRAM of one frame."""

    def transfers(self) -> list[TransferOp]:
        """All transfer ops, in id order."""


@dataclass(frozen=True)
class FrameLayout:
    """How op ids map to frames: frame f owns ids ``[f x stride, (f + 1) x stride)``, of
    which positions ``[body_start, body_end)`` are its body (the mapped program's ops)."""

    stride: int
    body_start: int
    body_end: int
    frames: int

    @classmethod
    def single(cls, ops: int) -> FrameLayout:
        """One frame that is the whole program (a program run as mapped)."""
        return cls(max(ops, 1), 0, ops, 1)


class _Done(LeanEvent):
    """An op's completion event, which knows its op (to be dropped once processed)."""

    __slots__ = ("op_id",)
    op_id: int

    def __init__(
        self, env: simpy.Environment, op_id: int, forget: Callable[[simpy.Event], None]
    ) -> None:
        # simpy.Event.__init__ written out, ``forget`` its first callback
        self.env = env
        self.callbacks = [forget]
        self._value = PENDING
        self.op_id = op_id


class _Body:
    """Run-time state of one frame's body, by position in the frame."""

    __slots__ = ("t_done", "blocker", "timing", "completed")

    def __init__(self, size: int) -> None:
        self.t_done = array("q", [-1]) * size
        self.blocker = array("q", [-1]) * size
        self.timing: list[TransferTiming | None] | None = [None] * size  # None: released
        self.completed = 0


T = TypeVar("T")


class OpColumn(Generic[T]):
    """One per-op value (completion time, blocker, transfer record) read, and for transfer
    records written, by op id. It cannot be iterated: most frames' values are gone."""

    __slots__ = ("_get", "_set")

    def __init__(
        self, get: Callable[[int], T], set_: Callable[[int, T], None] | None = None
    ) -> None:
        self._get = get
        self._set = set_

    def __getitem__(self, op_id: int) -> T:
        return self._get(op_id)

    def __setitem__(self, op_id: int, value: T) -> None:
        if self._set is None:
            raise TypeError("this per-op value is written by the run only")
        self._set(op_id, value)

    def __iter__(self) -> Iterator[T]:
        raise TypeError("per-op values are kept for the frames in flight only")


class OpRuntime:
    """Per-op completion events and timing of one run of a program.

    ``t_done[op]`` (-1 until done), ``blocker[op]`` (the dep or queue predecessor that
    was done last when the op started, -1 if none) and ``timing[op]`` (a transfer's
    record, None once released with its frame) read a frame's values while it is kept.

    ``dropped[frame]`` is set when a frame is dropped (``archsim.sim.frames``): components
    still take its ops in queue order, after their deps, but complete them at once.

    Frame start gates: until ``open_gate(frame)``, a process reaching an op of that frame
    parks. The gate releases the parked processes in a fixed order, by (queue, op id), so
    a frame begins the same way whenever and however the processes reached it.
    """

    def __init__(
        self, env: PicosecondEnvironment, program: RunProgram, layout: FrameLayout | None = None
    ) -> None:
        self.env = env
        self.program = program
        self.total = len(program.ops)
        self.layout = layout = layout or FrameLayout.single(self.total)
        frames = layout.frames
        self._stride = layout.stride
        self._body = range(layout.body_start, layout.body_end)
        self._bodies: list[_Body | None] = [None] * frames
        self._freed = [False] * frames
        self._own_t_done: dict[int, int] = {}  # a frame's own ops (arrival, gate, end)
        self._own_blocker: dict[int, int] = {}
        self._pending: dict[int, _Done] = {}  # completion events not yet processed
        # the pending events' callback; a partial, not a bound method kept on self, so that
        # no reference cycle holds the run's records once the run is dropped
        self._forget = partial(_forget_pending, self._pending)
        self.dropped = [False] * frames  # per frame: its ops complete at zero cost
        self.gate_open = [True] * frames  # per frame: may its ops start (see open_gate)
        self.gates: list[int] = []  # per frame: its start gate's op id (none: one frame)
        self.parked: list[list[tuple[int, int, simpy.Event]]] = [[] for _ in range(frames)]
        self.started = 0  # ops whose dependencies were met (executing or done)
        self.completed = 0
        self.latest_ps = 0  # when the last op completed

    # --- per-op state ------------------------------------------------------------------
    # (the columns are made on access: kept on self, their bound methods would form a
    # reference cycle that keeps every transfer record alive until a garbage collection)

    @property
    def t_done(self) -> OpColumn[int]:
        """Completion time by op id (-1 until done)."""
        return OpColumn(self._t_done_of)

    @property
    def blocker(self) -> OpColumn[int]:
        """By op id, what was done last when the op started (-1 if nothing)."""
        return OpColumn(self.blocker_of)

    @property
    def timing(self) -> OpColumn[TransferTiming | None]:
        """A transfer's record by op id (None once released with its frame)."""
        return OpColumn(self._timing_of, self.set_timing)

    def _body_of(self, frame: int) -> _Body:
        """The frame's body state, allocated on first use."""
        body = self._bodies[frame]
        if body is None:
            self._check_kept(frame)
            body = self._bodies[frame] = _Body(self._stride)
        return body

    def _check_kept(self, frame: int) -> None:
        if self._freed[frame]:
            raise SimulationError(f"the op state of frame {frame} was freed while in use")

    def _started_body(self, op_id: int) -> tuple[_Body | None, int]:
        """The body holding the op's state (None: not started) and its position in it;
        position -1 for a frame's own op (its state is kept apart)."""
        frame, position = divmod(op_id, self._stride)
        if position not in self._body:
            return None, -1
        body = self._bodies[frame]
        if body is None:
            self._check_kept(frame)
        return body, position

    def _t_done_of(self, op_id: int) -> int:
        body, position = self._started_body(op_id)
        if position < 0:
            return self._own_t_done.get(op_id, -1)
        return body.t_done[position] if body is not None else -1

    def blocker_of(self, op_id: int) -> int:
        """``blocker[op_id]`` without making the column."""
        body, position = self._started_body(op_id)
        if position < 0:
            return self._own_blocker.get(op_id, -1)
        return body.blocker[position] if body is not None else -1

    def _timing_of(self, op_id: int) -> TransferTiming | None:
        frame, position = divmod(op_id, self._stride)
        body = self._bodies[frame]
        if body is None or body.timing is None or position not in self._body:
            return None
        return body.timing[position]

    def set_timing(self, op_id: int, timing: TransferTiming | None) -> None:
        """``timing[op_id] = timing`` without making the column."""
        frame, position = divmod(op_id, self._stride)
        body = self._bodies[frame] or self._body_of(frame)
        if body.timing is None:
            body.timing = [None] * self._stride
        body.timing[position] = timing

    def finished(self, op_id: int) -> bool:
        """Whether the op completed (every op of a freed frame did)."""
        frame, position = divmod(op_id, self._stride)
        if position in self._body and self._freed[frame]:
            return True
        return self._t_done_of(op_id) >= 0

    # --- frames ------------------------------------------------------------------------

    def body_complete(self, frame: int) -> bool:
        """Whether every op of the frame's body completed."""
        body = self._bodies[frame]
        return body is not None and body.completed == len(self._body)

    def release_timing(self, frame: int) -> None:
        """Forget the frame's transfer records (stall attribution no longer looks there)."""
        body = self._bodies[frame]
        if body is not None:
            body.timing = None

    def free_frame(self, frame: int) -> None:
        """Free the frame's body state: no op may read it again (its ops are done)."""
        self._bodies[frame] = None
        self._freed[frame] = True

    # --- the run -----------------------------------------------------------------------

    def _event(self, op_id: int) -> _Done:
        """A new pending completion event of the op."""
        event = _Done(self.env, op_id, self._forget)
        self._pending[op_id] = event
        return event

    def start_now(self, op_id: int, previous: int, queue: int = 0, op: Op | None = None) -> bool:
        """Start the op at once if nothing is left to wait for (its frame gate is open and
        its queue predecessor and every dependency are done): record its blocker as
        ``wait_ready`` would and return True. Otherwise change nothing and return False;
        the caller then waits with ``wait_ready``. (Most ops start this way, and it spares
        them a generator.)"""
        pending = self._pending
        t_done_of = self._t_done_of
        latest = -1
        if previous >= 0:
            if previous in pending:
                return False
            latest = t_done_of(previous)
            if latest < 0:
                return False
        frame = op_id // self._stride
        if queue >= 0 and not self.gate_open[frame]:
            return False
        if op is None:
            op = self.program.ops[op_id]
        body, base, here = self._dep_view(frame, op_id)
        start, end = self._body.start, self._body.stop
        blocker = previous
        for dep in op.deps:
            if dep in pending:
                return False
            local = dep - base
            done = here[local] if here is not None and start <= local < end else t_done_of(dep)
            if done < 0:
                return False
            if done >= latest:
                latest = done
                blocker = dep
        self._started(op_id, body, blocker)
        return True

    def wait_ready(
        self, op_id: int, previous: int, queue: int = 0, op: Op | None = None
    ) -> Generator[simpy.Event, Any, None]:
        """Wait for the op's frame gate (``queue``: the caller's queue index; -1: the gate's
        own ops, which never park), the queue predecessor and every dependency; remember
        which came last. ``op``: the op, if the caller has it already."""
        frame = op_id // self._stride  # = op.frame: an op is read only once it may start
        pending = self._pending
        t_done_of = self._t_done_of
        latest = -1
        waiting: simpy.Event | None = None
        if previous >= 0:  # read before parking: the predecessor's frame may be freed then
            latest = t_done_of(previous)
            waiting = pending.get(previous)
            if waiting is None and latest < 0:
                waiting = self._event(previous)
        if not self.gate_open[frame] and queue >= 0:
            parked = self.env.event()
            self.parked[frame].append((queue, op_id, parked))
            yield parked
        if waiting is not None and not waiting.processed:
            yield waiting
            if latest < 0:
                latest = t_done_of(previous)
        if op is None:
            op = self.program.ops[op_id]
        # Deps in the op's own body (nearly all) are read from it directly.
        body, base, here = self._dep_view(frame, op_id)
        start, end = self._body.start, self._body.stop
        blocker = previous
        for dep in op.deps:
            event = pending.get(dep)
            local = dep - base
            near = here is not None and start <= local < end
            if event is None:
                done = here[local] if near else t_done_of(dep)  # type: ignore[index]
                if done < 0:
                    event = self._event(dep)
            if event is not None:
                yield event
                done = here[local] if near else t_done_of(dep)  # type: ignore[index]
            if done >= latest:
                latest = done
                blocker = dep
        self._started(op_id, body, blocker)

    def _dep_view(self, frame: int, op_id: int) -> tuple[_Body | None, int, array[int] | None]:
        """What an op of ``frame`` reads its dependencies through: the body block holding
        the op (None: the op lies outside the body), the frame's first op id and the body's
        completion times (None with the block)."""
        base = frame * self._stride
        if self._body.start <= op_id - base < self._body.stop:
            body = self._bodies[frame] or self._body_of(frame)
            return body, base, body.t_done
        return None, base, None

    def _started(self, op_id: int, body: _Body | None, blocker: int) -> None:
        """Record that the op starts now, ``blocker`` the last thing it waited for."""
        if body is not None:
            body.blocker[op_id % self._stride] = blocker
        else:
            self._own_blocker[op_id] = blocker
        self.started += 1

    def open_gate(self, frame: int) -> None:
        """Let the frame's ops start: release its parked processes by (queue, op id)."""
        self.gate_open[frame] = True
        for _, _, parked in sorted(self.parked[frame], key=lambda entry: entry[:2]):
            parked.succeed()
        self.parked[frame] = []

    def finish(self, op_id: int) -> None:
        """Mark an op done now."""
        now = self.env._now  # env.now without the property call
        frame, position = divmod(op_id, self._stride)
        if position in self._body:
            body = self._bodies[frame] or self._body_of(frame)
            body.t_done[position] = now
            body.completed += 1
        else:
            self._own_t_done[op_id] = now
        event = self._pending.get(op_id)
        if event is None:
            event = self._event(op_id)
        event.succeed()
        self.completed += 1
        self.latest_ps = now

    @property
    def running(self) -> int:
        """Ops executing now (dependencies met, not finished)."""
        return self.started - self.completed

    @property
    def unfinished(self) -> int:
        """Ops that never completed (non-zero only after a deadlock or a bug)."""
        return self.total - self.completed

    def in_flight(self) -> list[int]:
        """Transfers issued but not completed, in id order."""
        ids = []
        for frame, body in enumerate(self._bodies):
            if body is None or body.timing is None:
                continue
            base = frame * self._stride
            for position in self._body:
                if body.timing[position] is not None and body.t_done[position] < 0:
                    ids.append(base + position)
        return ids


def _forget_pending(pending: dict[int, _Done], event: simpy.Event) -> None:
    """A completion event was processed: it is pending no more."""
    assert isinstance(event, _Done)
    del pending[event.op_id]
