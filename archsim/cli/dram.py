"""``archsim dram``: characterise one DRAM channel of an architecture (no workload)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click

from archsim.analysis.dram_char import (
    MAX_REQUESTS,
    RANDOM_SPAN_BYTES,
    Pattern,
    characterise,
    format_text,
    to_json,
)
from archsim.cli.options import seed_option, split_overrides
from archsim.config import load_arch


def _arch_overrides(overrides: Sequence[str]) -> list[str]:
    """The ``--set`` overrides routed as ``archsim run`` does; workload keys are errors."""
    arch_sets, workload_sets = split_overrides(overrides)
    if workload_sets:
        raise click.BadParameter(
            f"{', '.join(workload_sets)}: archsim dram takes no workload", param_hint="--set"
        )
    return arch_sets


@click.command("dram")
@click.argument("arch", type=click.Path(path_type=Path))
@click.option(
    "--pattern",
    type=click.Choice([p.value for p in Pattern]),
    required=True,
    help="stream: consecutive addresses of one stream; random: uniform random addresses.",
)
@click.option(
    "--size",
    "size_bytes",
    type=click.IntRange(1, RANDOM_SPAN_BYTES),
    required=True,
    help="Bytes per request.",
)
@click.option(
    "--requests",
    type=click.IntRange(1, MAX_REQUESTS),
    help="Requests per run (default: enough for about 20 refresh intervals at peak).",
)
@seed_option
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
@click.option(
    "--set",
    "overrides",
    metavar="KEY=VALUE",
    multiple=True,
    help="Override an architecture value (repeatable), e.g. dram.interleave_bytes=64.",
)
def dram_command(
    arch: Path,
    pattern: str,
    size_bytes: int,
    requests: int | None,
    seed: int,
    as_json: bool,
    overrides: tuple[str, ...],
) -> None:
    """Bandwidth, refresh cost and unloaded latency of one DRAM channel of ARCH."""
    arch_cfg = load_arch(arch, _arch_overrides(overrides))
    result = characterise(arch_cfg.dram, Pattern(pattern), size_bytes, requests, seed)
    if as_json:
        click.echo(json.dumps(to_json(result, arch_cfg.name), indent=2))
    else:
        click.echo(format_text(result, arch_cfg.name))
