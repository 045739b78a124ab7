"""The scenario flags of ``archsim run``, gathered into one ScenarioFlags argument."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from archsim.domain import ScenarioKind
from archsim.scenario import ScenarioFlags

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option(
        "--scenario",
        "scenario_kind",
        type=click.Choice([kind.value for kind in ScenarioKind]),
        help="How frames arrive: single-stream, stream, multi-stream, server or offline "
        "(default: the workload file's scenario block; none = one inference).",
    ),
    click.option(
        "--frames",
        type=click.IntRange(min=1),
        help="Frames to simulate (multi-stream: intervals). Default 8.",
    ),
    click.option(
        "--fps",
        type=click.FloatRange(min=0, min_open=True),
        help="stream: frames per second; multi-stream: queries per second.",
    ),
    click.option(
        "--jitter-ms",
        type=click.FloatRange(min=0),
        help="stream, multi-stream: arrivals move by a seeded uniform offset in +-this.",
    ),
    click.option(
        "--streams",
        type=click.IntRange(min=1),
        help="multi-stream: sensors (frames arriving together each interval).",
    ),
    click.option(
        "--qps",
        type=click.FloatRange(min=0, min_open=True),
        help="server: mean Poisson arrival rate (queries per second).",
    ),
    click.option(
        "--max-queue",
        type=click.IntRange(min=0),
        help="stream, multi-stream, server: frames that may wait; a frame arriving beyond "
        "them is dropped (default: unlimited, frames queue).",
    ),
)


def scenario_options(function: F) -> F:
    """Add the scenario flags; the command receives them as ``scenario_flags``."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["scenario_flags"] = ScenarioFlags(
            kind=kwargs.pop("scenario_kind"),
            frames=kwargs.pop("frames"),
            fps=kwargs.pop("fps"),
            jitter_ms=kwargs.pop("jitter_ms"),
            streams=kwargs.pop("streams"),
            qps=kwargs.pop("qps"),
            max_queue=kwargs.pop("max_queue"),
        )
        return function(*args, **kwargs)

    decorated: Any = wrapper
    for option in reversed(_OPTIONS):
        decorated = option(decorated)
    result: F = decorated
    return result
