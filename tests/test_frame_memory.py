"""A scenario's frames share the mapped program: memory grows with frames by no more than
the trace rows they produce (none without a trace)."""

from __future__ import annotations

import json
from typing import Any

from tests.peak_rss import archsim_command, run_measured, tiny_stream_run

GROWTH_BOUND_MIB = 10.0
"""Peak RSS growth allowed from 10 to 40 frames of the run below (tiny_cnn 64x64, 1,494 ops
a frame). Measured on the development machine: 1.9 MiB with shared frames (74.0 -> 75.9
MiB); 33.5 MiB (82.1 -> 115.7 MiB), about 1.1 MiB a frame, when every frame was a copy of
the mapped program with its own per-op run-time state."""


DET_GROWTH_BOUND_MIB = 14.0
"""Peak RSS growth allowed from 10 to 160 frames of the same run on edge_det, whose run is
its own planning pass. Measured on the development machine: 7.6 MiB (75.9 -> 83.5 MiB)
with a plan that only counts; 21.8 MiB (77.1 -> 98.9 MiB) when the plan kept every frame's
per-op and per-packet timing."""


def run_frames(frames: int, arch: str = "edge_bus") -> tuple[float, dict[str, Any]]:
    """Peak RSS (MiB) and summary of one ``archsim run`` process without a trace: a stream
    far beyond capacity, so frames queue up and wait on the frames before them."""
    command = archsim_command(*tiny_stream_run(frames, arch), "--no-trace", "--json")
    peak_mib, stdout = run_measured(command)
    return peak_mib, json.loads(stdout)


def test_memory_grows_by_less_than_a_program_copy_per_extra_frame() -> None:
    few_mib, few = run_frames(10)
    many_mib, many = run_frames(40)
    assert (few["frames"], many["frames"]) == (10, 40)
    assert many["queued"] > 30  # frames waited: their gates hold deps on earlier frames
    assert many["events"] > 3.5 * few["events"]  # every frame was simulated
    assert many_mib - few_mib < GROWTH_BOUND_MIB, (few_mib, many_mib)


def test_a_time_triggered_stream_keeps_no_plan_per_frame_without_a_trace() -> None:
    few_mib, few = run_frames(10, "edge_det")
    many_mib, many = run_frames(160, "edge_det")
    assert many["interconnect"]["run_is_planning_pass"]
    assert many["interconnect"]["planned_transfers"] > 15 * few["interconnect"]["planned_transfers"]
    assert many_mib - few_mib < DET_GROWTH_BOUND_MIB, (few_mib, many_mib)
