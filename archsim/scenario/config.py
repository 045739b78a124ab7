"""The scenario of a run: the workload file's ``scenario:`` block, overridden by CLI flags.

Flags override the block key by key. ``--scenario`` naming another kind than the block's
starts from scratch (the block's keys belong to the other kind). A problem with a value
from a flag names the flag; one with a value from the file names its file and line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pydantic

from archsim.config import problem_for
from archsim.config.base import CROSS_CHECK_ERROR
from archsim.config.scenario import ScenarioConfig
from archsim.errors import ConfigError, Problem

FLAGS = {
    "kind": "--scenario",
    "frames": "--frames",
    "fps": "--fps",
    "jitter_ms": "--jitter-ms",
    "streams": "--streams",
    "qps": "--qps",
    "max_queue": "--max-queue",
}
"""Scenario key -> the ``archsim run`` flag that sets it."""


@dataclass(frozen=True)
class ScenarioFlags:
    """Scenario values given on the command line (None: not given)."""

    kind: str | None = None
    frames: int | None = None
    fps: float | None = None
    jitter_ms: float | None = None
    streams: int | None = None
    qps: float | None = None
    max_queue: int | None = None

    def given(self) -> dict[str, Any]:
        """The values that were given, by scenario key."""
        return {key: value for key, value in asdict(self).items() if value is not None}


def resolve_scenario(block: ScenarioConfig | None, flags: ScenarioFlags) -> ScenarioConfig | None:
    """The run's scenario (None: one inference). ConfigError naming flags or file lines."""
    given = flags.given()
    if not given:
        return block
    if "kind" not in given and block is None:
        raise ConfigError(
            [
                Problem("needs --scenario (or a scenario: block in the workload file)", file=flag)
                for flag in (FLAGS[key] for key in given)
            ]
        )
    data: dict[str, Any] = {}
    if block is not None and given.get("kind", block.kind.value) == block.kind.value:
        data = block.model_dump(mode="json", exclude_unset=True)
    data.update(given)
    try:
        return ScenarioConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = []
        for error in exc.errors():
            for key, message in _keyed(error):
                problems.append(_problem(key, message, given, block))
        raise ConfigError(problems) from None


def _keyed(error: Any) -> list[tuple[str, str]]:
    """(key, message) pairs of one pydantic error (a cross-check error holds several)."""
    if error["type"] == CROSS_CHECK_ERROR:
        return [(str(path[0]), message) for path, message in error["ctx"]["problems"]]
    key = str(error["loc"][0]) if error["loc"] else "kind"
    return [(key, error["msg"])]


def _problem(
    key: str, message: str, given: dict[str, Any], block: ScenarioConfig | None
) -> Problem:
    if key in given:
        return Problem(message, file=FLAGS.get(key, key))
    if block is not None and key in block.model_fields_set:
        return problem_for(block, message, key)
    return Problem(f"{message} (or scenario.{key} in the workload file)", file=FLAGS[key])
