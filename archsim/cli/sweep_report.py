"""``archsim sweep-report FOLDER``: the results table of a finished sweep, and its plots.

Registered on the ``archsim`` group in ``archsim.cli.main``; user errors are raised as
``UserError`` for the group to print (exit code 2).
"""

from __future__ import annotations

from pathlib import Path

import click

from archsim.errors import Problem, UserError
from archsim.sweep.plots import plot_all
from archsim.sweep.report import DEFAULT_COLUMNS, format_table, sort_rows
from archsim.sweep.results import read_results
from archsim.sweep.store import RESULTS_H5


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
    for path in plot_all(table, plots_dir or folder / "plots", x=x_key, y=y_key, group=group_key):
        click.echo(f"plot: {path}")
