"""``archsim run ARCH WORKLOAD``: simulate one inference, or the frames of a scenario."""

from __future__ import annotations

import json
from pathlib import Path

import click

from archsim.analysis.report_text import format_summary
from archsim.api import DEFAULT_WATCHDOG_MS, simulate
from archsim.cli.inputs import load_inputs
from archsim.cli.options import (
    InputSize,
    corner_option,
    ideal_memory_option,
    routed_overrides,
    seed_option,
    tiling_option,
    workload_run_options,
)
from archsim.cli.outputs import OUTPUT_ERRORS
from archsim.cli.scenario_options import scenario_options
from archsim.errors import Problem, UserError
from archsim.mapping.located import FUSION_MODES
from archsim.scenario import ScenarioFlags, resolve_scenario


@click.command()
@click.argument("arch", type=click.Path(path_type=Path))
@click.argument("workload", type=click.Path(path_type=Path))
@workload_run_options
@seed_option
@corner_option
@ideal_memory_option
@tiling_option
@scenario_options
@click.option(
    "--set",
    "overrides",
    metavar="KEY=VALUE",
    multiple=True,
    callback=routed_overrides,
    help="Override a config value (repeatable), e.g. sram.banks=8 or workload.batch=2; "
    "VALUE is YAML. Prefix with arch. or workload. where the key is ambiguous.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Trace file to write (default: traces/WORKLOAD-ARCH-WxH-bN-PRECISION.h5).",
)
@click.option(
    "--fusion",
    type=click.Choice(FUSION_MODES),
    help="Layer fusion: none, or auto (fuse chains whose activations would go to DRAM). "
    "Default: the workload file's fusion block (none).",
)
@click.option(
    "--until",
    metavar="NODE_OR_TENSOR",
    help="ONNX workload: simulate only what computing this node or tensor needs (cut the "
    "post-processing; what follows is listed as host-side, not simulated).",
)
@click.option(
    "--verify-plan",
    is_flag=True,
    help="Time-triggered NoC planned on the chip itself (plan_dram: exact, or no refresh): "
    "plan in a separate pass, then run on the frozen plan and count what comes late, "
    "instead of letting the run be its own planning pass (a check; twice the time).",
)
@click.option("--no-trace", is_flag=True, help="Write no trace file.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option(
    "-q", "--quiet", is_flag=True, help="No progress bar (none is drawn with --json either)."
)
@click.option(
    "--watchdog-ms",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_WATCHDOG_MS,
    show_default=True,
    help="Stop with a deadlock report when no operation completes for this much simulated time.",
)
def run(
    arch: Path,
    workload: Path,
    input_size: InputSize,
    batch: int | None,
    precision: str | None,
    seed: int,
    overrides: tuple[list[str], list[str]],
    out: Path | None,
    no_trace: bool,
    as_json: bool,
    quiet: bool,
    watchdog_ms: float,
    fusion: str | None,
    until: str | None,
    corner: str | None,
    ideal_memory: bool,
    tiling: str,
    scenario_flags: ScenarioFlags,
    verify_plan: bool,
) -> None:
    """Simulate WORKLOAD (a workload YAML) on ARCH (an architecture YAML): one inference,
    or the frames of a scenario (--scenario, or the workload file's scenario block)."""
    if out is not None and no_trace:
        raise click.UsageError("--out and --no-trace cannot be used together")
    arch_sets, workload_sets = overrides
    (arch_cfg,), workload_cfg = load_inputs((arch,), workload, arch_sets, workload_sets, until)
    width, height = input_size
    scenario = resolve_scenario(workload_cfg.scenario, scenario_flags)
    try:
        result = simulate(
            arch_cfg,
            workload_cfg,
            width=width,
            height=height,
            batch=batch,
            precision=precision,
            seed=seed,
            trace=not no_trace,
            trace_path=out,
            watchdog_ms=watchdog_ms,
            fusion=fusion,
            scenario=scenario,
            corner=corner,
            ideal_memory=ideal_memory,
            tiling=tiling,
            verify_plan=verify_plan,
            progress=not (quiet or as_json),
        )
    except OUTPUT_ERRORS as exc:
        target = str(out if out is not None else exc.filename)
        detail = f" ({exc.filename})" if exc.filename not in (None, target) else ""
        raise UserError(
            Problem(f"cannot write the trace: {exc.strerror}{detail}", file=target)
        ) from exc
    if as_json:
        trace = None if result.trace_path is None else str(result.trace_path)
        click.echo(json.dumps({**result.summary, "trace": trace}, indent=2))
    else:
        click.echo(format_summary(result.summary, arch_cfg.mac_clusters.count, result.trace_path))
