"""Engine: runs a program (as mapped, or a scenario's frames) on a Chip in one SimPy run.

Each queue of the program becomes one long-lived process of the component that owns it
(cluster compute, cluster load/store DMA, an engine's weight DMA); each layer barrier,
frame arrival and frame start gate is a tiny process of its own (see ``frames``). A run
that gets stuck raises DeadlockError (see ``watchdog``).
"""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import simpy

from archsim.collector import collector_paused
from archsim.config import ArchConfig
from archsim.domain import InterconnectKind, NocScheduleMode
from archsim.errors import DeadlockError, SimulationError
from archsim.hw.chip import Chip, mesh_topology
from archsim.mapping.noc_schedule import NocSchedule, build_noc_schedule
from archsim.mapping.program import Program
from archsim.mapping.transfer_plan import TransferPlan, planning_arch, plans_in_the_run
from archsim.sim.environment import SimEnvironment
from archsim.sim.frames import (
    FrameSchedule,
    FrameTracker,
    arrival_process,
    end_process,
    gate_process,
)
from archsim.sim.progress import CHUNK_EVENTS, RunProgress
from archsim.sim.runtime import OpRuntime, RunProgram
from archsim.sim.watchdog import DEADLOCK, stuck_report, watchdog
from archsim.trace import NullRecorder, Recorder


@dataclass
class RunOutcome:
    """Everything a finished run leaves behind for the summary and the trace."""

    chip: Chip
    program: RunProgram
    runtime: OpRuntime
    latency_ps: int
    events: int
    wall_s: float
    schedule: NocSchedule | TransferPlan | None
    frames: FrameTracker | None = None  # multi-frame programs only


def as_program(program: RunProgram) -> Program:
    """The program for the deterministic NoC's schedules, which read only its ``ops``
    (those of a scenario's frames are made as they are read, so this works for both)."""
    return cast(Program, program)


def _empty_plan(
    program: RunProgram, arch: ArchConfig, frames: FrameSchedule | None
) -> TransferPlan:
    """A time-triggered plan with room for every packet of the program, nothing planned."""
    count = frames.layout.frames if frames is not None else 1
    return TransferPlan.empty(as_program(program), arch.interconnect.max_packet_bytes, count)


def _barrier(rt: OpRuntime, op_id: int, index: int) -> Generator[simpy.Event, Any, None]:
    yield from rt.wait_ready(op_id, -1, index)
    rt.finish(op_id)


def _start_queue(
    chip: Chip,
    queue: str,
    index: int,
    op_ids: Sequence[int],
    rt: OpRuntime,
    frames: FrameTracker | None,
) -> None:
    """Hand a queue of the program (the index-th) to the component that owns it."""
    if queue == "sync":
        for op_id in op_ids:
            chip.env.process(_barrier(rt, op_id, index))
        return
    if queue in ("arrivals", "frames", "frame_ends"):
        if frames is None:
            raise SimulationError(f"queue {queue!r} needs the program's frame schedule")
        for op_id in op_ids:
            frame = rt.program.ops[op_id].frame
            if queue == "arrivals":
                chip.env.process(arrival_process(rt, frames, op_id))
            elif queue == "frames":
                chip.env.process(gate_process(rt, frames, op_id, frame))
            else:
                chip.env.process(end_process(rt, frames, op_id, frame))
        return
    owner, role = queue.split(".")
    if role == "weights":  # dma.weights, dma1.weights, ...: the weight DMA of an engine
        chip.weight_dmas[int(owner.removeprefix("dma") or 0)].start(op_ids, rt, index)
        return
    cluster = int(owner.removeprefix("cluster"))
    if role == "compute":
        chip.env.process(chip.clusters[cluster].run(op_ids, rt, index))
    elif role == "load":
        chip.load_dma[cluster].start(op_ids, rt, index)
    elif role == "store":
        chip.store_dma[cluster].start(op_ids, rt, index)
    else:
        raise SimulationError(f"program has a queue no component owns: {queue}")


def run_program(
    program: RunProgram,
    arch: ArchConfig,
    seed: int,
    recorder: Recorder,
    watchdog_ps: int | None = None,
    frames: FrameSchedule | None = None,
    plan: TransferPlan | None = None,
    verify_plan: bool = False,
    progress: bool = False,
) -> RunOutcome:
    """Elaborate the chip, run the program to completion and return the outcome.

    ``frames`` describes the frames of a multi-frame program (its arrivals and start gates
    need it). A run that gets stuck raises DeadlockError with a report: when no event is
    left while ops remain, or (with ``watchdog_ps``) when no op completes for that long.
    A time-triggered deterministic NoC runs the ``plan`` given, or first plans the program
    (``plan_transfers``); a plan being filled makes this run the planning pass. When the
    planning model is the chip itself (``plans_in_the_run``: DRAM planned ``exact``, or no
    refresh) the run on the frozen plan would repeat the planning pass event for event, so
    this run is the planning pass, traced (every transfer on its window, as planned),
    unless ``verify_plan`` asks for the separate pass and a run that checks the plan;
    untraced, it keeps no windows, only their counts (``TransferPlan.counting``).
    ``progress`` draws a bar of the run (and of a planning pass) on stderr
    (``archsim.sim.progress``); the caller decides whether stderr wants one.
    """
    wall_start = time.perf_counter()
    schedule: NocSchedule | TransferPlan | None = None
    if arch.interconnect.kind is InterconnectKind.DETERMINISTIC:
        topology = mesh_topology(arch)
        assert topology is not None
        if arch.interconnect.schedule is NocScheduleMode.PER_LAYER_SHARE:
            schedule = build_noc_schedule(as_program(program), topology, arch.engines)
        elif plan is not None:
            schedule = plan
        elif plans_in_the_run(arch) and not verify_plan:
            if recorder.enabled:  # the trace records every planned window
                schedule = _empty_plan(program, arch, frames)
                schedule.planned_by_run = True
            else:
                schedule = TransferPlan.counting(as_program(program))
        else:
            schedule = plan_transfers(program, arch, seed, watchdog_ps, frames, progress)
    env = SimEnvironment(seed)
    chip = Chip(arch, env, recorder, env.seed_sequence, schedule)
    rt = OpRuntime(env, program, frames.layout if frames is not None else None)
    tracker = FrameTracker(rt, frames) if frames is not None else None
    for index, (queue, op_ids) in enumerate(program.queues.items()):
        _start_queue(chip, queue, index, op_ids, rt, tracker)
    if watchdog_ps is not None:
        env.process(watchdog(rt, watchdog_ps))
    with collector_paused():  # the run's records are acyclic: reference counting frees them
        if progress:
            _run_with_bar(env, rt, tracker, "plan" if plan is not None else "simulate")
        else:
            env.run_counting()
    if rt.unfinished:
        raise DeadlockError(stuck_report(rt, DEADLOCK))
    latency = rt.latest_ps
    chip.interconnect.finish()
    for cluster in chip.clusters:
        cluster.finish_idle(latency)
    if isinstance(schedule, TransferPlan) and not schedule.frozen:  # this run planned it
        schedule.latency_ps = latency
        schedule.events = env.events_processed
        schedule.frozen = True
    return RunOutcome(
        chip,
        program,
        rt,
        latency,
        env.events_processed,
        time.perf_counter() - wall_start,
        schedule,
        tracker,
    )


def _run_with_bar(
    env: SimEnvironment, rt: OpRuntime, tracker: FrameTracker | None, label: str
) -> None:
    frames = len(tracker.schedule.frames) if tracker is not None else 1
    bar = RunProgress(label, rt.total, frames)

    def show() -> None:
        bar.update(rt.completed, int(env.now), tracker.frames_ended if tracker else 1)

    try:
        env.run_counting(show, CHUNK_EVENTS)
    finally:
        bar.close()


def plan_transfers(
    program: RunProgram,
    arch: ArchConfig,
    seed: int,
    watchdog_ps: int | None = None,
    frames: FrameSchedule | None = None,
    progress: bool = False,
) -> TransferPlan:
    """The planning pass of the time-triggered NoC: run the program once on the
    contention-free planning model (``planning_arch``), every packet booking the earliest
    free window of its route, and return the frozen plan."""
    wall_start = time.perf_counter()
    plan = _empty_plan(program, arch, frames)
    run_program(
        program,
        planning_arch(arch),
        seed,
        NullRecorder(),
        watchdog_ps,
        frames,
        plan,
        progress=progress,
    )
    plan.wall_s = time.perf_counter() - wall_start
    return plan
