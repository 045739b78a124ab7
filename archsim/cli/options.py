"""Click options shared by several archsim commands: input size, batch, precision, seed and
the routing of ``--set KEY=VALUE`` overrides to the architecture and workload files."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from archsim.config import ArchConfig, WorkloadConfig
from archsim.config.pvt import CORNER_NAMES
from archsim.domain import Precision
from archsim.mapping.tiling import TILING_MODES, TilingMode

_INPUT_SIZE = re.compile(r"([0-9]+)x([0-9]+)")
_PREFIXES = ("arch", "workload")

F = TypeVar("F", bound=Callable[..., Any])


def parse_input_size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` (e.g. ``1920x1088``) -> (width, height); both must be >= 1."""
    match = _INPUT_SIZE.fullmatch(text)
    size = (int(match[1]), int(match[2])) if match else (0, 0)
    if min(size) < 1:
        raise click.BadParameter(
            f"expected WIDTHxHEIGHT with positive integers, e.g. 1920x1088; got {text!r}"
        )
    return size


InputSize = tuple[int, int] | tuple[None, None]
"""(width, height) from ``--input WxH``; (None, None) keeps the workload's."""


def _input_size_option(ctx: click.Context, param: click.Parameter, value: str | None) -> InputSize:
    return (None, None) if value is None else parse_input_size(value)


def workload_run_options(function: F) -> F:
    """--input WxH, --batch N and --precision P, each overriding the workload file."""
    options = [
        click.option(
            "--input",
            "input_size",
            metavar="WxH",
            callback=_input_size_option,
            help="Input width x height, e.g. 1920x1088 (default: the workload's).",
        ),
        click.option(
            "--batch", type=click.IntRange(min=1), help="Batch size (default: the workload's)."
        ),
        click.option(
            "--precision",
            type=click.Choice([p.value for p in Precision], case_sensitive=False),
            help="Precision of weights and activations (default: the workload's).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


seed_option = click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="RNG seed."
)
"""--seed N: the run's seed (same inputs and seed give the same results)."""


def split_overrides(overrides: Sequence[str]) -> tuple[list[str], list[str]]:
    """Route ``--set KEY=VALUE`` overrides to the (architecture, workload) files.

    A key starting with ``arch.`` or ``workload.`` goes to that file without the prefix;
    otherwise its first segment decides: a top-level field of ArchConfig or of
    WorkloadConfig. A segment of both or of neither is a click.BadParameter.
    """
    arch_keys, workload_keys = list(ArchConfig.model_fields), list(WorkloadConfig.model_fields)
    routed: dict[str, list[str]] = {prefix: [] for prefix in _PREFIXES}
    for override in overrides:
        key, equals, value = override.partition("=")
        if not equals:
            raise click.BadParameter(f"expected KEY=VALUE, got {override!r}")
        key = key.strip()
        first, dot, rest = key.partition(".")
        if first in routed and dot:
            routed[first].append(f"{rest}={value}")
        elif first in arch_keys and first in workload_keys:
            raise click.BadParameter(
                f"{first!r} is a top-level key of both the architecture and the workload: "
                f"write arch.{key}={value} or workload.{key}={value}"
            )
        elif first in arch_keys or first in workload_keys:
            routed["arch" if first in arch_keys else "workload"].append(override)
        else:
            raise click.BadParameter(
                f"unknown top-level key {first!r} in {override!r}; architecture keys: "
                f"{', '.join(arch_keys)}; workload keys: {', '.join(workload_keys)} "
                "(or prefix the key with 'arch.' or 'workload.')"
            )
    return routed["arch"], routed["workload"]


def routed_overrides(
    ctx: click.Context, param: click.Parameter, value: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Click callback of a ``--set`` option: the values as ``split_overrides`` routes them."""
    return split_overrides(value)


corner_option = click.option(
    "--corner",
    type=click.Choice(CORNER_NAMES),
    help="Run at this PVT corner of the arch's operating_point block (its defaults if the "
    "arch has none): worst (ss, 0.9 Vnom, 125 C), typical, best (ff, 1.1 Vnom, -40 C).",
)
"""--corner worst|typical|best: the operating point a run uses."""

ideal_memory_option = click.option(
    "--ideal-memory",
    is_flag=True,
    help="DRAM, SRAM and interconnect of unlimited bandwidth and no latency, local buffers "
    "that hold whole layers: the run is bound by compute alone.",
)
"""--ideal-memory: memories that never hold the clusters back."""

tiling_option = click.option(
    "--tiling",
    type=click.Choice(TILING_MODES),
    default=TilingMode.SEARCH.value,
    show_default=True,
    help="search: the cheapest tiling; scalesim: each layer as one GEMM per cluster, as "
    "SCALE-Sim maps it (needs buffers that hold whole layers, e.g. --ideal-memory).",
)
"""--tiling search|scalesim: how layers are cut into tiles."""


def cluster_options(function: F) -> F:
    """-j/--workers, --scheduler, --scheduler-file and --serial: where points run."""
    options = [
        click.option(
            "-j",
            "--workers",
            type=click.IntRange(min=1),
            help="Worker processes of the local Dask cluster (default: one per core).",
        ),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            help="Use the Dask scheduler at ADDRESS (e.g. tcp://host:8786) instead of a local "
            "cluster (default: $DASK_SCHEDULER_ADDRESS if set).",
        ),
        click.option(
            "--scheduler-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Use the Dask scheduler described by this file (dask scheduler --scheduler-file).",
        ),
        click.option("--serial", is_flag=True, help="Run the points one by one in this process."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def check_cluster_options(
    serial: bool, scheduler: str | None, scheduler_file: Path | None, workers: int | None
) -> None:
    """A click.UsageError for combinations of the cluster options that contradict."""
    if serial and (scheduler or scheduler_file):
        raise click.UsageError("--serial runs in-process: it takes no --scheduler")
    if serial and workers not in (None, 1):
        raise click.UsageError("--serial runs one point at a time: -j must be 1")
    if scheduler and scheduler_file:
        raise click.UsageError("give --scheduler or --scheduler-file, not both")
