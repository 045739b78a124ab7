"""Run-time state of a program's ops: completion events, times and phase records.

Kept apart from the (immutable) Program so that one program can be run several times.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from archsim.domain import StallCause
from archsim.mapping.program import Program

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


class OpRuntime:
    """Per-op completion events and timing of one run of a program.

    ``dropped[frame]`` is set when a frame is dropped (``archsim.sim.frames``): components
    still take its ops in queue order, after their deps, but complete them at once.

    Frame start gates: until ``open_gate(frame)``, a process reaching an op of that frame
    parks. The gate releases the parked processes in a fixed order, by (queue, op id), so
    a frame begins the same way whenever and however the processes reached it.
    """

    def __init__(self, env: simpy.Environment, program: Program, frames: int = 1) -> None:
        count = len(program.ops)
        self.env = env
        self.program = program
        self.done: list[simpy.Event] = [env.event() for _ in range(count)]
        self.t_done: list[int] = [-1] * count
        self.blocker: list[int] = [-1] * count
        self.timing: list[TransferTiming | None] = [None] * count
        self.dropped = [False] * frames  # per frame: its ops complete at zero cost
        self.gate_open = [True] * frames  # per frame: may its ops start (see open_gate)
        self.gates: list[int] = []  # per frame: its start gate's op id (none: one frame)
        self.parked: list[list[tuple[int, int, simpy.Event]]] = [[] for _ in range(frames)]
        self.started = 0  # ops whose dependencies were met (executing or done)
        self.completed = 0

    def wait_ready(
        self, op_id: int, previous: int, queue: int = 0
    ) -> Generator[simpy.Event, Any, None]:
        """Wait for the op's frame gate (``queue``: the caller's queue index; -1: the gate's
        own ops, which never park), the queue predecessor and every dependency; remember
        which came last."""
        op = self.program.ops[op_id]
        if not self.gate_open[op.frame] and queue >= 0:
            parked = self.env.event()
            self.parked[op.frame].append((queue, op_id, parked))
            yield parked
        done = self.done
        t_done = self.t_done
        blocker = previous
        latest = t_done[previous] if previous >= 0 else -1
        if previous >= 0 and not done[previous].processed:
            yield done[previous]
            latest = t_done[previous]
        for dep in op.deps:
            event = done[dep]
            if not event.processed:
                yield event
            if t_done[dep] >= latest:
                latest = t_done[dep]
                blocker = dep
        self.blocker[op_id] = blocker
        self.started += 1

    def open_gate(self, frame: int) -> None:
        """Let the frame's ops start: release its parked processes by (queue, op id)."""
        self.gate_open[frame] = True
        for _, _, parked in sorted(self.parked[frame], key=lambda entry: entry[:2]):
            parked.succeed()
        self.parked[frame] = []

    def finish(self, op_id: int) -> None:
        """Mark an op done now."""
        self.t_done[op_id] = int(self.env.now)
        self.done[op_id].succeed()
        self.completed += 1

    @property
    def running(self) -> int:
        """Ops executing now (dependencies met, not finished)."""
        return self.started - self.completed

    @property
    def unfinished(self) -> list[int]:
        """Ops that never completed (non-empty only after a deadlock or a bug)."""
        return [i for i, t in enumerate(self.t_done) if t < 0]
