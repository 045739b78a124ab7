"""Turn a mapped one-frame program into the run a scenario asks for, and report on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archsim.config import ArchConfig
from archsim.config.scenario import ScenarioConfig
from archsim.domain import Precision
from archsim.mapping.program import Program
from archsim.scenario.arrivals import Arrivals, arrivals
from archsim.scenario.engines import EngineLayout, assign_engines, engine_arch
from archsim.scenario.frames import FramedProgram, replicate
from archsim.scenario.results import FrameResult, frame_results, record_frames
from archsim.scenario.summary import engine_summary, scenario_summary
from archsim.sim.engine import RunOutcome
from archsim.sim.frames import FrameSchedule
from archsim.trace import Recorder

ONE_FRAME = Arrivals([0], [0], False)
"""The frame of a run without a scenario."""


@dataclass(frozen=True)
class FramePlan:
    """A multi-frame program ready to run, with its frames."""

    program: FramedProgram
    schedule: FrameSchedule


def plan_frames(
    program: Program, arch: ArchConfig, scenario: ScenarioConfig | None, seed: int
) -> FramePlan | None:
    """The frames of the run; None when the mapped program runs as it is (one inference
    on a one-engine arch). ``program`` must be mapped on ``engine_arch(arch)``."""
    if scenario is None and arch.engines == 1:
        return None
    frames = arrivals(scenario, seed) if scenario is not None else ONE_FRAME
    sram_bytes = engine_arch(arch).sram.total_bytes
    engines = assign_engines(frames.frames, arch.engines)
    framed = replicate(program, frames, engines, EngineLayout.of(arch), sram_bytes)
    max_queue = scenario.max_queue if scenario is not None else None
    return FramePlan(framed, FrameSchedule(framed.frames, framed.layout, max_queue))


def finish_frames(
    outcome: RunOutcome,
    summary: dict[str, Any],
    scenario: ScenarioConfig | None,
    arch: ArchConfig,
    batch: int,
    precision: Precision,
    recorder: Recorder,
) -> list[FrameResult]:
    """Record the run's frames in the trace and add the scenario and engine keys to the
    summary (in place); returns the frames."""
    frames = frame_results(outcome)
    record_frames(recorder, outcome, frames)
    if scenario is not None:
        summary.update(scenario_summary(summary, outcome, frames, scenario, batch))
    if arch.engines > 1:
        summary["engines"] = engine_summary(outcome, frames, arch, precision)
    return frames
