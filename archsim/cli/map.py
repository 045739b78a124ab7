"""``archsim map ARCH WORKLOAD``: the mapper's decisions per layer, without simulating.

A plain click command (registered on the ``archsim`` group in archsim/cli/main.py) taking the
inputs of ``archsim run`` (input size, batch, precision, ``--set``, ``--fusion``). User
errors raise UserError subclasses (the archsim group prints them and exits 2).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from archsim.analysis.mapping_report import map_for_report
from archsim.cli.inputs import load_inputs
from archsim.cli.options import (
    InputSize,
    ideal_memory_option,
    split_overrides,
    tiling_option,
    workload_run_options,
)
from archsim.mapping.located import FUSION_MODES


@click.command("map")
@click.argument("arch", type=click.Path(path_type=Path))
@click.argument("workload", type=click.Path(path_type=Path))
@workload_run_options
@click.option(
    "--set",
    "overrides",
    metavar="KEY=VALUE",
    multiple=True,
    help="Override a config value (repeatable), as for archsim run.",
)
@click.option(
    "--fusion",
    type=click.Choice(FUSION_MODES),
    help="Layer fusion: none or auto (default: the workload file's), as for archsim run.",
)
@ideal_memory_option
@tiling_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def map_command(
    arch: Path,
    workload: Path,
    input_size: InputSize,
    batch: int | None,
    precision: str | None,
    overrides: tuple[str, ...],
    fusion: str | None,
    ideal_memory: bool,
    tiling: str,
    as_json: bool,
) -> None:
    """Map WORKLOAD onto ARCH and report, per layer, tiling, loop order, compute cycles,
    reuse and DRAM traffic (no simulation)."""
    arch_sets, workload_sets = split_overrides(overrides)
    (arch_cfg,), workload_cfg = load_inputs((arch,), workload, arch_sets, workload_sets)
    width, height = input_size
    report = map_for_report(
        arch_cfg,
        workload_cfg,
        width=width,
        height=height,
        batch=batch,
        precision=precision,
        fusion=fusion,
        ideal_memory=ideal_memory,
        tiling=tiling,
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(report.table().to_text())
