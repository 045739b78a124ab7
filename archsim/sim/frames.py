"""Frames at run time: arrivals, start gates, drops and the queue of waiting frames.

A multi-frame program (``archsim.scenario.frames``) gives every frame an ArrivalOp, a start
gate and an end barrier. The arrival completes at its time (after its deps, e.g. the
previous frame's end in single-stream); the gate completes when the frame may start (its
arrival and the progress of the frame before it on its engine). Between the two the frame
*waits*. A frame arriving when ``max_queue`` frames wait, and unable to start at once, is
*dropped*: its ops complete at zero cost (the components skip them, in queue order).

Frames share the mapped program, and the run keeps op state per frame in flight
(``archsim.sim.runtime``). When a frame ends, the transfer records of the frame that ended
two before it on its engine are released: stall attribution never looks that far back.
That frame's whole op state is freed as soon as no op can read it again: when its body is
done and so is the body of the next frame on its engine (the only ops whose deps reach
into it; a DMA channel reads its queue predecessor before parking at a gate). The last
frame of each engine is kept, so the per-layer results of the last frame stay readable.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from archsim.mapping.program import ArrivalOp
from archsim.sim.runtime import FrameLayout, OpRuntime


@dataclass(frozen=True)
class FrameOps:
    """The ops that delimit one frame, and where it runs."""

    arrival: int  # ArrivalOp id
    start: int  # start gate (a BarrierOp) id
    end: int  # end barrier id: done when every op of the frame is
    engine: int
    query: int  # multi-stream: frames of one interval share a query; otherwise = frame


@dataclass(frozen=True)
class FrameSchedule:
    """Every frame of a multi-frame program, in frame order, and the drop rule."""

    frames: list[FrameOps]
    layout: FrameLayout  # how op ids map to frames
    max_queue: int | None = None  # None: frames wait as long as they must


class FrameTracker:
    """Which frames wait, which were dropped, and the queue depth over time."""

    def __init__(self, rt: OpRuntime, schedule: FrameSchedule) -> None:
        self.rt = rt
        self.schedule = schedule
        self.waiting = 0
        self.frames_ended = 0
        self.counted = [False] * len(schedule.frames)
        self.depth: list[tuple[int, int]] = [(0, 0)]  # (t_ps, frames waiting) at each change
        self.ended: list[list[int]] = [
            [] for _ in range(1 + max(f.engine for f in schedule.frames))
        ]
        self.successor = [-1] * len(schedule.frames)  # the next frame on the same engine
        last: dict[int, int] = {}
        for index, frame in enumerate(schedule.frames):
            if frame.engine in last:
                self.successor[last[frame.engine]] = index
            last[frame.engine] = index
        self.releasing: list[int] = []  # frames whose transfer records were released
        rt.gate_open = [False] * len(schedule.frames)
        rt.gates = [frame.start for frame in schedule.frames]

    def arrive(self, frame: int) -> None:
        """The frame arrived now: drop it, or count it as waiting unless it can start at once."""
        rt = self.rt
        gate = self.schedule.frames[frame].start
        arrival = self.schedule.frames[frame].arrival
        t_done = rt.t_done
        ready = all(t_done[d] >= 0 for d in rt.program.ops[gate].deps if d != arrival)
        if ready:
            return
        limit = self.schedule.max_queue
        if limit is not None and self.waiting >= limit:
            rt.dropped[frame] = True
            return
        self.counted[frame] = True
        self._change(+1)

    def start(self, frame: int) -> None:
        """The frame's start gate opened now."""
        if self.counted[frame]:
            self._change(-1)

    def end(self, frame: int) -> None:
        """The frame ended now: release the transfer records of its engine's frame two
        back, and free the op state of released frames no op can read any more."""
        self.frames_ended += 1
        ended = self.ended[self.schedule.frames[frame].engine]
        ended.append(frame)
        if len(ended) > 2:
            old = ended.pop(0)
            self.rt.release_timing(old)
            self.releasing.append(old)
        self._free()

    def _free(self) -> None:
        rt = self.rt
        kept = []
        for frame in self.releasing:
            after = self.successor[frame]
            if after >= 0 and rt.body_complete(frame) and rt.body_complete(after):
                rt.free_frame(frame)
            else:
                kept.append(frame)
        self.releasing = kept

    def _change(self, delta: int) -> None:
        self.waiting += delta
        now = int(self.rt.env.now)
        if self.depth[-1][0] == now:
            self.depth[-1] = (now, self.waiting)
        else:
            self.depth.append((now, self.waiting))


def arrival_process(
    rt: OpRuntime, tracker: FrameTracker, op_id: int
) -> Generator[simpy.Event, Any, None]:
    """Complete an ArrivalOp at its time, after its deps."""
    op = rt.program.ops[op_id]
    assert isinstance(op, ArrivalOp)
    yield from rt.wait_ready(op_id, -1, -1)
    delay = op.time_ps - int(rt.env.now)
    if delay > 0:
        yield rt.env.timeout(delay)
    tracker.arrive(op.frame)
    rt.finish(op_id)


def gate_process(
    rt: OpRuntime, tracker: FrameTracker, op_id: int, frame: int
) -> Generator[simpy.Event, Any, None]:
    """Open a frame's start gate once its deps are done."""
    yield from rt.wait_ready(op_id, -1, -1)
    tracker.start(frame)
    rt.finish(op_id)
    rt.open_gate(frame)


def end_process(
    rt: OpRuntime, tracker: FrameTracker, op_id: int, frame: int
) -> Generator[simpy.Event, Any, None]:
    """Complete a frame's end barrier once every op of the frame is done."""
    yield from rt.wait_ready(op_id, -1, -1)
    rt.finish(op_id)
    tracker.end(frame)
