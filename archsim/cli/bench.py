"""``archsim bench SPEC``: a thin click command over ``archsim.bench``.

Registered on the ``archsim`` group in ``archsim.cli.main`` (``COMMANDS``); user errors
are raised as ``UserError`` for the group to print (exit code 2).
"""

from __future__ import annotations

from pathlib import Path

import click

from archsim.bench import plan_bench, run_bench
from archsim.bench.report import scorecard_table
from archsim.cli.options import check_cluster_options, cluster_options
from archsim.cli.outputs import OUTPUT_ERRORS
from archsim.config.operating_point import Corner
from archsim.config.pvt import CORNER_NAMES
from archsim.errors import Problem, UserError
from archsim.sweep.execute import choose_cluster


@click.command("bench")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--corner",
    "corners",
    multiple=True,
    type=click.Choice(CORNER_NAMES),
    help="Run at this PVT corner instead of the file's corners (repeatable).",
)
@click.option(
    "--set",
    "overrides",
    metavar="KEY=VALUE",
    multiple=True,
    help="Override a key of the bench file (repeatable; VALUE is YAML), e.g. "
    "'batches=[1]' or 'archs=[../arch/edge_bus.yaml]'.",
)
@cluster_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: the file's 'out', else traces/benches/NAME).",
)
@click.option("--dry-run", is_flag=True, help="Validate and list the cases; run nothing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def bench(
    spec: Path,
    corners: tuple[str, ...],
    overrides: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
    scheduler_file: Path | None,
    serial: bool,
    out: Path | None,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Run the bench SPEC (archs x workloads x inputs x batches x precisions x scenarios x
    corners) and print and write its scorecard (CSV, HTML, PNG plots)."""
    check_cluster_options(serial, scheduler, scheduler_file, workers)
    chosen = [Corner(corner) for corner in corners] or None
    if dry_run:
        plan = plan_bench(spec, out, chosen, overrides)
        click.echo(f"bench {plan.spec.name}: {len(plan.cases)} cases -> {plan.out_dir}")
        for case in plan.cases:
            values = case.values()
            click.echo(f"{case.point:4d}  " + "  ".join(f"{k}={v}" for k, v in values.items()))
        return
    cluster = None if serial else choose_cluster(scheduler, scheduler_file, workers)
    try:
        result = run_bench(
            spec,
            cluster=cluster,
            out=out,
            corners=chosen,
            overrides=overrides,
            progress=not quiet,
        )
    except OUTPUT_ERRORS as error:
        raise UserError(
            Problem(f"cannot write the bench output: {error.strerror}", file=str(error.filename))
        ) from error
    click.echo(scorecard_table(result.title, result.rows).to_text())
    for path in result.files:
        click.echo(f"wrote {path}")
