"""When each frame of a scenario arrives, and which query it belongs to.

Times are integer picoseconds from the start of the run. Jitter and Poisson gaps come from
a numpy Generator seeded by the run's seed (its own stream, apart from DRAM refresh), so
the same seed gives the same arrivals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim.config.scenario import ScenarioConfig
from archsim.domain import ScenarioKind
from archsim.units import PS_PER_MS, PS_PER_S

ARRIVAL_STREAM = 0x5CE7A210
"""Mixed into the seed so arrivals draw from a stream of their own."""


@dataclass(frozen=True)
class Arrivals:
    """Arrival time and query of every frame, in frame (= arrival) order."""

    time_ps: list[int]
    query: list[int]
    after_previous: bool  # single-stream: a frame arrives when the one before has ended

    @property
    def frames(self) -> int:
        """Number of frames."""
        return len(self.time_ps)


def arrivals(scenario: ScenarioConfig, seed: int) -> Arrivals:
    """The arrivals of a scenario (see ``ScenarioConfig`` for what each kind means)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, ARRIVAL_STREAM]))
    kind, count = scenario.kind, scenario.frames
    if kind in (ScenarioKind.SINGLE_STREAM, ScenarioKind.OFFLINE):
        return Arrivals([0] * count, list(range(count)), kind is ScenarioKind.SINGLE_STREAM)
    if kind is ScenarioKind.SERVER:
        assert scenario.qps is not None
        gaps = rng.exponential(1.0 / scenario.qps, count)
        return Arrivals(_to_ps(np.cumsum(gaps)), list(range(count)), False)
    assert scenario.fps is not None
    times = _jittered(np.arange(count) / scenario.fps, scenario.jitter_ms, rng)
    if kind is ScenarioKind.STREAM:
        return Arrivals(times, list(range(count)), False)
    streams = scenario.streams or 1
    return Arrivals(
        [t for t in times for _ in range(streams)],
        [query for query in range(count) for _ in range(streams)],
        False,
    )


def _jittered(seconds: np.ndarray, jitter_ms: float | None, rng: np.random.Generator) -> list[int]:
    """Nominal times moved by uniform jitter, never before 0 or the previous arrival."""
    times = _to_ps(seconds)
    if not jitter_ms:
        return times
    jitter_ps = round(jitter_ms * PS_PER_MS)
    offsets = rng.integers(-jitter_ps, jitter_ps, len(times), endpoint=True)
    moved, previous = [], 0
    for nominal, offset in zip(times, offsets.tolist(), strict=True):
        previous = max(previous, nominal + offset)
        moved.append(previous)
    return moved


def _to_ps(seconds: np.ndarray) -> list[int]:
    return [round(float(t) * PS_PER_S) for t in seconds]
