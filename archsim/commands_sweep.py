"""``archsim sweep`` and ``archsim sweep-report``: thin click commands over ``archsim.sweep``.

Registered on the ``archsim`` group in ``archsim.cli``; user errors are raised as
``UserError`` for the group to print (exit code 2).
"""

from __future__ import annotations

from pathlib import Path

import click

from archsim.cli_options import check_cluster_options, cluster_options
from archsim.errors import OUTPUT_ERRORS, Problem, UserError
from archsim.sweep import SweepPlan, plan_sweep
from archsim.sweep import sweep as run_sweep
from archsim.sweep.execute import choose_cluster
from archsim.sweep.report import DEFAULT_COLUMNS, format_table, sort_rows, write_plots
from archsim.sweep.results import read_results
from archsim.sweep.store import RESULTS_H5


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


@click.command("sweep-report")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--sort",
    "sort_by",
    metavar="COLUMN",
    default="point",
    show_default=True,
    help="Sort the table by this column (e.g. latency_ms, throughput_fps).",
)
@click.option("--descending", is_flag=True, help="Sort from the largest value down.")
@click.option(
    "--columns",
    metavar="A,B,...",
    help=f"Metric columns to show (default: {','.join(DEFAULT_COLUMNS)}).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Show only the first N rows.")
@click.option("--x", "x_key", metavar="FACTOR", help="x axis of the metric plot (a factor).")
@click.option(
    "--y",
    "y_key",
    metavar="METRIC",
    default="mac_utilization",
    show_default=True,
    help="y axis of the metric plot.",
)
@click.option("--group", "group_key", metavar="FACTOR", help="One line per value of this factor.")
@click.option(
    "--plots",
    "plots_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the PNG plots (default: FOLDER/plots).",
)
@click.option("--no-plots", is_flag=True, help="Print the table only.")
def sweep_report(
    folder: Path,
    sort_by: str,
    descending: bool,
    columns: str | None,
    limit: int | None,
    x_key: str | None,
    y_key: str,
    group_key: str | None,
    plots_dir: Path | None,
    no_plots: bool,
) -> None:
    """Print the results table of the sweep in FOLDER and plot Pareto fronts and a metric."""
    if not (folder / RESULTS_H5).is_file():
        raise UserError(
            Problem(
                f"no {RESULTS_H5} here; is this the output folder of a finished sweep?",
                file=str(folder),
            )
        )
    table = read_results(folder)
    shown = (
        DEFAULT_COLUMNS
        if columns is None
        else tuple(c.strip() for c in columns.split(",") if c.strip())
    )
    for name in (sort_by, *shown, *(k for k in (x_key, y_key, group_key) if k)):
        if name not in table.columns:
            raise click.BadParameter(
                f"no column {name!r}; columns: {', '.join(table.columns)}", param_hint="column"
            )
    rows = sort_rows(table, sort_by, descending=descending)
    click.echo(format_table(table, rows[:limit] if limit else rows, shown, sort_by))
    if no_plots:
        return
    for path in write_plots(
        table, plots_dir or folder / "plots", x=x_key, y=y_key, group=group_key
    ):
        click.echo(f"plot: {path}")
