"""Scenario schema: how frames arrive at the accelerator (the workload's ``scenario:`` block).

A frame is one inference of the workload at its batch. Without a scenario a run simulates
one frame; with one it simulates ``frames`` of them arriving as the scenario says. The
keys a kind uses are listed in ``SCENARIO_KEYS``; giving one another kind does not use is
an error, so a typo in intent is never silently ignored.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, NonNegativeInt, PositiveInt, Strict, model_validator

from archsim.config.base import CrossChecks, StrictModel
from archsim.domain import ScenarioKind

ScenarioKindField = Annotated[ScenarioKind, Strict(False)]

SCENARIO_KEYS: dict[ScenarioKind, frozenset[str]] = {
    ScenarioKind.SINGLE_STREAM: frozenset({"frames"}),
    ScenarioKind.STREAM: frozenset({"frames", "fps", "jitter_ms", "max_queue"}),
    ScenarioKind.MULTI_STREAM: frozenset({"frames", "fps", "jitter_ms", "streams", "max_queue"}),
    ScenarioKind.SERVER: frozenset({"frames", "qps", "max_queue"}),
    ScenarioKind.OFFLINE: frozenset({"frames"}),
}
"""Keys (besides ``kind``) each scenario kind uses."""

REQUIRED_KEYS: dict[ScenarioKind, tuple[str, ...]] = {
    ScenarioKind.STREAM: ("fps",),
    ScenarioKind.MULTI_STREAM: ("fps", "streams"),
    ScenarioKind.SERVER: ("qps",),
}
"""Keys a scenario kind cannot do without."""

_OPTIONAL_KEYS = ("fps", "jitter_ms", "streams", "qps", "max_queue")


class ScenarioConfig(StrictModel):
    """Frames arriving over time: MLPerf-style single-stream, multi-stream, server and
    offline, and a sensor stream at a fixed frame rate."""

    kind: ScenarioKindField = Field(
        description="single-stream: one frame at a time, the next as soon as the last is done; "
        "stream: frames at a fixed rate (fps, optional jitter); multi-stream: `streams` "
        "frames together every 1/fps (a query is done when all are); server: Poisson "
        "arrivals at qps; offline: every frame available at time 0 (throughput)."
    )
    frames: PositiveInt = Field(
        default=8,
        description="Frames to simulate, each one inference at the run's batch (multi-stream: "
        "intervals, each bringing `streams` frames).",
    )
    fps: float | None = Field(
        default=None, gt=0, description="Frames (multi-stream: queries) per second."
    )
    jitter_ms: float | None = Field(
        default=None,
        ge=0,
        description="Each arrival moves by a seeded uniform offset in [-jitter, +jitter] ms "
        "(never before the previous arrival). Default: none.",
    )
    streams: PositiveInt | None = Field(
        default=None, description="multi-stream: sensors, frames arriving together per interval."
    )
    qps: float | None = Field(
        default=None, gt=0, description="server: mean arrival rate (queries per second)."
    )
    max_queue: NonNegativeInt | None = Field(
        default=None,
        description="Frames allowed to wait (arrived, not started); a frame arriving when this "
        "many wait, and unable to start at once, is dropped. Default: unlimited (queueing).",
    )

    @model_validator(mode="after")
    def _check_keys(self) -> Self:
        checks = CrossChecks()
        used = SCENARIO_KEYS[self.kind]
        for key in _OPTIONAL_KEYS:
            if getattr(self, key) is not None and key not in used:
                checks.add((key,), f"is not used by scenario {self.kind}")
        for key in REQUIRED_KEYS.get(self.kind, ()):
            if getattr(self, key) is None:
                checks.add((key,), f"is required for scenario {self.kind}")
        checks.raise_if_any()
        return self
