"""The ``archsim`` command line: a thin click layer over the public API.

User errors (``archsim.errors.UserError``) are printed one problem per line on stderr,
prefixed with ``error:``, and exit with code 2; internal errors keep their traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from archsim.analysis.report_text import format_summary
from archsim.api import DEFAULT_WATCHDOG_MS, FUSION_MODES, simulate
from archsim.cli_options import (
    corner_option,
    ideal_memory_option,
    seed_option,
    tiling_option,
    workload_run_options,
)
from archsim.cli_scenario import scenario_options
from archsim.commands_bench import bench
from archsim.commands_compare import compare_command
from archsim.commands_dram import dram_command
from archsim.commands_map import map_command
from archsim.commands_noc import noc_command
from archsim.commands_sweep import sweep, sweep_report
from archsim.commands_trace import export, report
from archsim.commands_workload import import_command, load_any_workload
from archsim.commands_workload_info import list_command, stats_command
from archsim.config import (
    ArchConfig,
    WorkloadConfig,
    arch_json_schema,
    load_arch,
    load_workload,
    load_yaml,
    workload_json_schema,
)
from archsim.errors import ConfigError, Problem, UserError
from archsim.scenario import ScenarioFlags, resolve_scenario
from archsim.sweep.spec import sweep_json_schema
from archsim.version import __version__
from archsim.workload import build_graph

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

_PREFIXES = ("arch", "workload")
# Errors from writing the trace that are the user's to fix (bad --out path, no permission).
_OUTPUT_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
_SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "arch": arch_json_schema,
    "workload": workload_json_schema,
    "sweep": sweep_json_schema,
}

T = TypeVar("T")


class ArchsimGroup(click.Group):
    """A click group that turns user errors and Ctrl-C into messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; report a UserError (exit 2) or an interrupt (exit 130)."""
        try:
            return super().invoke(ctx)
        except UserError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            ctx.exit(EXIT_USER_ERROR)
        except KeyboardInterrupt:
            click.echo("archsim: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)


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


def _set_option(
    ctx: click.Context, param: click.Parameter, value: Sequence[str]
) -> tuple[list[str], list[str]]:
    return split_overrides(value)


def _collect(load: Callable[[], T], problems: list[Problem]) -> T | None:
    """``load()``, or None after adding the problems of the UserError it raised."""
    try:
        return load()
    except UserError as exc:
        problems.extend(exc.problems)
        return None


@click.group(cls=ArchsimGroup)
@click.version_option(__version__, prog_name="archsim")
def cli() -> None:
    """Simulate neural-network inference on an accelerator architecture."""


@cli.command()
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
    callback=_set_option,
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
@click.option("--no-trace", is_flag=True, help="Write no trace file.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
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
    input_size: tuple[int, int] | None,
    batch: int | None,
    precision: str | None,
    seed: int,
    overrides: tuple[list[str], list[str]],
    out: Path | None,
    no_trace: bool,
    as_json: bool,
    watchdog_ms: float,
    fusion: str | None,
    corner: str | None,
    ideal_memory: bool,
    tiling: str,
    scenario_flags: ScenarioFlags,
) -> None:
    """Simulate WORKLOAD (a workload YAML) on ARCH (an architecture YAML): one inference,
    or the frames of a scenario (--scenario, or the workload file's scenario block)."""
    if out is not None and no_trace:
        raise click.UsageError("--out and --no-trace cannot be used together")
    arch_sets, workload_sets = overrides
    problems: list[Problem] = []
    arch_cfg = _collect(lambda: load_arch(arch, arch_sets), problems)
    workload_cfg = _collect(lambda: load_any_workload(workload, workload_sets), problems)
    if arch_cfg is None or workload_cfg is None:
        raise UserError(problems)
    width, height = input_size if input_size is not None else (None, None)
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
        )
    except _OUTPUT_ERRORS as exc:
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


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check architecture and workload FILES; report every problem of every file."""
    problems: list[Problem] = []
    for path in files:
        try:
            click.echo(f"{path}: ok ({_validate_file(path)})")
        except UserError as exc:
            problems.extend(exc.problems)
    if problems:
        raise UserError(problems)


def _validate_file(path: Path) -> str:
    """Validate one architecture or workload file; a short description if it is valid."""
    data, _ = load_yaml(path)
    if "mac_clusters" in data:
        return f"arch {load_arch(path).name}"
    if "layers" in data:
        workload = load_workload(path)
        graph = build_graph(workload)
        return f"workload {workload.name}, {len(graph.layers)} layers, {graph.total_macs:,} MACs"
    raise ConfigError(
        Problem(
            "cannot tell whether this is an architecture or a workload file "
            "(expected a top-level 'mac_clusters' or 'layers' key)",
            file=str(path),
        )
    )


@cli.command()
@click.argument("kind", metavar="KIND", type=click.Choice(list(_SCHEMAS)))
def schema(kind: str) -> None:
    """Print the JSON Schema of KIND files: arch, workload or sweep."""
    click.echo(json.dumps(_SCHEMAS[kind](), indent=2))


cli.add_command(report)
cli.add_command(export)
cli.add_command(sweep)
cli.add_command(sweep_report)
cli.add_command(compare_command)
cli.add_command(map_command)
cli.add_command(noc_command)
cli.add_command(dram_command)
cli.add_command(bench)


@cli.group()
def workload() -> None:
    """Inspect, list and import workloads."""


workload.add_command(stats_command)
workload.add_command(list_command)
workload.add_command(import_command)


def main(args: Sequence[str] | None = None) -> int:
    """Console entry point: run the CLI on ``args`` (default: sys.argv) and return the exit code."""
    try:
        code = cli.main(
            args=None if args is None else list(args), prog_name="archsim", standalone_mode=False
        )
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("archsim: interrupted", err=True)
        return EXIT_INTERRUPTED
    return code if isinstance(code, int) else 0
