"""What happened to each frame of a run, and the trace rows that keep it."""

from __future__ import annotations

from dataclasses import dataclass

from archsim.sim.engine import RunOutcome
from archsim.trace import Recorder


@dataclass(frozen=True)
class FrameResult:
    """One frame: when it arrived, started and ended, where it ran, whether it was dropped."""

    frame: int
    query: int
    engine: int
    arrival_ps: int
    start_ps: int
    end_ps: int
    dropped: bool

    @property
    def latency_ps(self) -> int:
        """Arrival to end (meaningless for a dropped frame)."""
        return self.end_ps - self.arrival_ps

    @property
    def waited_ps(self) -> int:
        """Arrival to start: time spent queued."""
        return self.start_ps - self.arrival_ps


def frame_results(outcome: RunOutcome) -> list[FrameResult]:
    """Every frame of the run (one frame from 0 to the latency without a frame schedule)."""
    tracker = outcome.frames
    if tracker is None:
        return [FrameResult(0, 0, 0, 0, 0, outcome.latency_ps, False)]
    t_done = outcome.runtime.t_done
    dropped = outcome.runtime.dropped
    return [
        FrameResult(
            frame,
            ops.query,
            ops.engine,
            t_done[ops.arrival],
            t_done[ops.start],
            t_done[ops.end],
            dropped[frame],
        )
        for frame, ops in enumerate(tracker.schedule.frames)
    ]


def record_frames(recorder: Recorder, outcome: RunOutcome, frames: list[FrameResult]) -> None:
    """Add the /frames and /queue rows of the run to the trace."""
    for f in frames:
        recorder.frame(f.frame, f.query, f.engine, f.arrival_ps, f.start_ps, f.end_ps, f.dropped)
    if outcome.frames is not None:
        series = outcome.frames.depth
        for t_ps, depth in series[1:] if series[0] == (0, 0) else series:
            recorder.queue_depth(t_ps, depth)
