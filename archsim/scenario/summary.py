"""Summary keys of a scenario run, and the per-engine view of a multi-engine one.

The run summary (``archsim.analysis.summary``) describes the whole run: its `latency_ps`
is the time until the last operation of any frame completed. A scenario replaces
`latency_ms` by the distribution of per-query latencies and adds the keys below; it also
restates the per-image keys (throughput, energy per inference) over all completed frames.
"""

from __future__ import annotations

from typing import Any

from archsim.analysis.roofline import peak_macs_per_s
from archsim.config import ArchConfig
from archsim.config.scenario import ScenarioConfig
from archsim.domain import Precision, ScenarioKind
from archsim.scenario.engines import EngineLayout
from archsim.scenario.results import FrameResult
from archsim.scenario.stats import latency_stats_ms, queue_depth_stats
from archsim.sim.engine import RunOutcome
from archsim.units import PS_PER_MS, PS_PER_S


def query_latencies_ps(frames: list[FrameResult]) -> list[int]:
    """Latency of every completed query (its first arrival to its last frame's end), in
    query order; a query with a dropped frame is not completed."""
    queries: dict[int, list[FrameResult]] = {}
    for frame in frames:
        queries.setdefault(frame.query, []).append(frame)
    return [
        max(f.end_ps for f in members) - min(f.arrival_ps for f in members)
        for members in queries.values()
        if not any(f.dropped for f in members)
    ]


def offered_fps(scenario: ScenarioConfig) -> float | None:
    """Frames per second the scenario offers (None: as fast as the hardware goes)."""
    if scenario.kind is ScenarioKind.SERVER:
        return scenario.qps
    if scenario.kind is ScenarioKind.STREAM:
        return scenario.fps
    if scenario.kind is ScenarioKind.MULTI_STREAM:
        assert scenario.fps is not None
        return scenario.fps * (scenario.streams or 1)
    return None


def achieved_fps(done: list[FrameResult]) -> float:
    """The rate at which frames complete: (completed - 1) / (last end - first end); one
    frame: 1 / its latency. A stream the hardware keeps up with achieves its offered fps."""
    if not done:
        return 0.0
    ends = [f.end_ps for f in done]
    span = max(ends) - min(ends)
    if len(done) > 1 and span > 0:
        return (len(done) - 1) / (span / PS_PER_S)
    latency = done[0].latency_ps
    return PS_PER_S / latency if latency > 0 else 0.0


def scenario_summary(
    summary: dict[str, Any],
    outcome: RunOutcome,
    frames: list[FrameResult],
    scenario: ScenarioConfig,
    batch: int,
) -> dict[str, Any]:
    """Keys to add to (or replace in) ``summary`` for a scenario run."""
    done = [f for f in frames if not f.dropped]
    duration = outcome.latency_ps
    depth = outcome.frames.depth if outcome.frames is not None else [(0, 0)]
    images = len(done) * batch
    return {
        "scenario": scenario.kind.value,
        "frames": len(frames),
        "queries": len({f.query for f in frames}),
        "dropped": len(frames) - len(done),
        "queued": sum(1 for f in done if f.waited_ps > 0),
        "latency_ms": latency_stats_ms(query_latencies_ps(frames)),
        "duration_ms": duration / PS_PER_MS,
        "offered_fps": offered_fps(scenario),
        "achieved_fps": achieved_fps(done),
        "throughput_fps": images / (duration / PS_PER_S) if duration else 0.0,
        "queue_depth": queue_depth_stats(depth, duration),
        **_per_image_cost(summary, len(done), batch, duration),
    }


def _per_image_cost(
    summary: dict[str, Any], completed: int, batch: int, duration_ps: int
) -> dict[str, Any]:
    """Energy and efficiency keys over every completed image, not one batch.

    ``cost_summary`` divides run totals by one batch and counts the vector operations of
    one frame; undo both.
    """
    breakdown_j = {key: mj * batch / 1e3 for key, mj in summary["energy_breakdown_mj"].items()}
    breakdown_j["vector"] *= completed
    total_j = sum(breakdown_j.values())
    images = completed * batch
    seconds = duration_ps / PS_PER_S
    fps = images / seconds if seconds else 0.0
    area = summary["area_mm2"]
    return {
        "energy_mj_per_inference": total_j / images * 1e3 if images else 0.0,
        "energy_breakdown_mj": {
            key: j / images * 1e3 if images else 0.0 for key, j in breakdown_j.items()
        },
        "average_power_w": total_j / seconds if seconds else 0.0,
        "inferences_per_s_per_w": images / total_j if total_j else 0.0,
        "inferences_per_s_per_mm2": fps / area if area else 0.0,
    }


def engine_summary(
    outcome: RunOutcome, frames: list[FrameResult], arch: ArchConfig, precision: Precision
) -> dict[str, Any]:
    """Per engine: frames run, MAC utilization and busy share over the run (several
    engines raise throughput; each frame still runs on one engine's clusters)."""
    layout = EngineLayout.of(arch)
    seconds = outcome.latency_ps / PS_PER_S
    peak = peak_macs_per_s(arch, precision) / layout.engines
    clusters = outcome.chip.clusters
    rows = []
    for engine in range(layout.engines):
        own = [clusters[c] for c in layout.clusters_of(engine)]
        macs = sum(c.macs for c in own)
        busy = sum(c.busy_ps for c in own)
        rows.append(
            {
                "frames": sum(1 for f in frames if f.engine == engine and not f.dropped),
                "mac_utilization": macs / (peak * seconds) if seconds else 0.0,
                "busy_fraction": busy / (outcome.latency_ps * len(own))
                if outcome.latency_ps
                else 0.0,
            }
        )
    return {
        "count": layout.engines,
        "clusters_per_engine": layout.clusters_per_engine,
        "banks_per_engine": layout.banks_per_engine,
        "per_engine": rows,
    }
