"""Click options shared by several archsim commands: input size, batch, precision, seed and
the routing of ``--set KEY=VALUE`` overrides to the architecture and workload files."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from archsim.config import ArchConfig, WorkloadConfig
from archsim.domain import Precision

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
