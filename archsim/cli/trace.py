"""CLI commands over an existing trace: ``report`` and ``export``.

Plain click commands, registered on the ``archsim`` group in archsim/cli/main.py. User errors
raise UserError subclasses (the group prints them and exits 2); files are written
atomically (NAME.tmp, then renamed).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from archsim.analysis.perfetto import (
    DEFAULT_MAX_EVENTS,
    DEFAULT_MAX_FLOWS,
    TraceExportWarning,
    export_perfetto,
)
from archsim.analysis.report import build_report, format_report
from archsim.analysis.report_output import default_report_dir, write_report
from archsim.errors import Problem, UserError
from archsim.trace import open_trace
from archsim.units import PS_PER_MS, PS_PER_NS, PS_PER_S, PS_PER_US

T = TypeVar("T")

_TIME = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(ps|ns|us|µs|ms|s)\s*")
_PS_PER_UNIT = {
    "ps": 1,
    "ns": PS_PER_NS,
    "us": PS_PER_US,
    "µs": PS_PER_US,
    "ms": PS_PER_MS,
    "s": PS_PER_S,
}
VIEWER_HINT = "open it at https://ui.perfetto.dev (Open trace file) or in chrome://tracing"


def parse_time_ps(text: str) -> int:
    """A time with a unit (``250ns``, ``1.5ms``; ps, ns, us or µs, ms, s) in picoseconds."""
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(
            f"expected a time with a unit (ps, ns, us, ms, s), e.g. 1.5ms; got {text!r}"
        )
    return round(float(match[1]) * _PS_PER_UNIT[match[2]])


def parse_window(text: str) -> tuple[int, int]:
    """``START:END`` (e.g. ``1ms:1.5ms``) -> (start_ps, end_ps) with start < end."""
    start, colon, end = text.partition(":")
    if not colon:
        raise ValueError(f"expected START:END, e.g. 1ms:1.5ms; got {text!r}")
    window = (parse_time_ps(start), parse_time_ps(end))
    if window[0] >= window[1]:
        raise ValueError(f"the window must end after it starts, got {text!r}")
    return window


def _window_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[int, int] | None:
    try:
        return None if value is None else parse_window(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _writing(write: Callable[[], T], target: Path, what: str) -> T:
    """``write()``; an OSError (bad path, no permission, disk full) becomes a UserError."""
    try:
        return write()
    except OSError as exc:
        detail = exc.strerror or str(exc)
        where = f" ({exc.filename})" if exc.filename not in (None, str(target)) else ""
        raise UserError(Problem(f"cannot write {what}: {detail}{where}", file=str(target))) from exc


@click.command()
@click.argument("trace", type=click.Path(path_type=Path))
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for report.txt and the plots (default: TRACE_NAME-report/ next to the trace).",
)
@click.option(
    "--html",
    "as_html",
    is_flag=True,
    help="Write one self-contained report.html (plots embedded) instead of PNG files.",
)
@click.option("--no-plots", is_flag=True, help="Text only: no PNG files or figures.")
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Components listed per class (SRAM banks, links, ...), busiest first.",
)
def report(trace: Path, out_dir: Path | None, as_html: bool, no_plots: bool, top: int) -> None:
    """Report on TRACE (an HDF5 trace): summary, per-layer table, utilization, plots.

    Prints the text report and writes it, with PNG plots (utilization over time, stalls
    per layer, DRAM bandwidth, roofline) or one HTML page, into a folder next to TRACE.
    """
    built = build_report(open_trace(trace))
    click.echo(format_report(built, top))
    folder = out_dir if out_dir is not None else default_report_dir(trace)
    written = _writing(
        lambda: write_report(built, folder, as_html=as_html, plots=not no_plots, top=top),
        folder,
        "the report",
    )
    click.echo(f"\nwrote {', '.join(str(path) for path in written)}")


@click.command()
@click.argument("trace", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["perfetto"]),
    default="perfetto",
    show_default=True,
    help="perfetto: Chrome trace-event JSON for ui.perfetto.dev or chrome://tracing.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: the trace's path with .json).",
)
@click.option(
    "--window",
    metavar="START:END",
    callback=_window_option,
    help="Export only this time range, e.g. 1ms:1.5ms (units ps, ns, us, ms, s).",
)
@click.option(
    "--max-events",
    type=click.IntRange(min=10_000),
    default=DEFAULT_MAX_EVENTS,
    show_default=True,
    help="Cap on events; a larger trace is downsampled to time bins (with a warning).",
)
@click.option(
    "--max-flows",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_FLOWS,
    show_default=True,
    help="Draw transfers as flow arrows only when there are at most this many.",
)
def export(
    trace: Path,
    fmt: str,
    out: Path | None,
    window: tuple[int, int] | None,
    max_events: int,
    max_flows: int,
) -> None:
    """Export TRACE (an HDF5 trace) for a trace viewer."""
    data = open_trace(trace)
    target = out if out is not None else trace.with_suffix(".json")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TraceExportWarning)
        result = _writing(
            lambda: export_perfetto(
                data, target, max_events=max_events, max_flows=max_flows, window=window
            ),
            target,
            "the export",
        )
    for warning in caught:
        if issubclass(warning.category, TraceExportWarning):
            click.echo(f"warning: {warning.message}", err=True)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    click.echo(
        f"wrote {result.path}: {result.events:,} events ({result.slices:,} slices, "
        f"{result.counters:,} counter samples, {result.flows:,} flow arrows); {VIEWER_HINT}"
    )
