"""``archsim sweep SPEC``: a thin click command over ``archsim.sweep``.

Registered on the ``archsim`` group in ``archsim.cli.main``; user errors are raised as
``UserError`` for the group to print (exit code 2).
"""

from __future__ import annotations

from pathlib import Path

import click

from archsim.cli.options import check_cluster_options, cluster_options
from archsim.cli.outputs import OUTPUT_ERRORS
from archsim.errors import Problem, UserError
from archsim.sweep import SweepPlan, plan_sweep
from archsim.sweep import sweep as run_sweep
from archsim.sweep.execute import choose_cluster


@click.command("sweep")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@cluster_options
@click.option("--resume", is_flag=True, help="Keep points already complete; run the rest.")
@click.option(
    "--no-traces", is_flag=True, help="Keep summaries only: write no HDF5 trace per point."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: the spec's 'out', else traces/sweeps/NAME).",
)
@click.option("--dry-run", is_flag=True, help="Validate and list the points; run nothing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no start message.")
def sweep(
    spec: Path,
    workers: int | None,
    scheduler: str | None,
    scheduler_file: Path | None,
    serial: bool,
    resume: bool,
    no_traces: bool,
    out: Path | None,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Run the design-space sweep described by SPEC (a sweep YAML)."""
    check_cluster_options(serial, scheduler, scheduler_file, workers)
    if dry_run:
        _list_points(plan_sweep(spec, out=out, traces=not no_traces))
        return

    where = (
        "in-process"
        if serial
        else "on " + choose_cluster(scheduler, scheduler_file, workers).describe()
    )

    def announce(plan: SweepPlan, count: int) -> None:
        kept = len(plan.tasks) - count
        note = f" ({kept} already complete)" if resume else ""
        click.echo(
            f"sweep {plan.spec.name}: {count} of {len(plan.tasks)} points to run {where}{note}",
            err=True,
        )

    try:
        result = run_sweep(
            spec,
            workers=workers,
            scheduler=scheduler,
            scheduler_file=scheduler_file,
            serial=serial,
            resume=resume,
            traces=not no_traces,
            out=out,
            progress=not quiet,
            on_start=None if quiet else announce,
        )
    except OUTPUT_ERRORS as error:
        raise UserError(
            Problem(f"cannot write the sweep output: {error.strerror}", file=str(error.filename))
        ) from error
    except KeyboardInterrupt:
        click.echo("sweep interrupted: finished points are kept; rerun with --resume", err=True)
        raise
    counts = ", ".join(f"{count} {status}" for status, count in result.counts.items() if count)
    click.echo(
        f"{result.name}: {len(result.records)} points ({counts}); ran {result.ran}, "
        f"kept {result.skipped}, {result.wall_s:.1f} s"
    )
    click.echo(f"results: {result.results_csv}")
    click.echo(f"         {result.results_h5}")
    click.echo(f"traces:  {result.sweep_h5}")
    for record in result.records:
        if record.error is not None:
            first = record.error.splitlines()[0]
            click.echo(f"point {record.point} {record.status.value}: {first}", err=True)


def _list_points(plan: SweepPlan) -> None:
    click.echo(f"sweep {plan.spec.name}: {len(plan.points)} points -> {plan.out_dir}")
    for point in plan.points:
        click.echo(point.label())
