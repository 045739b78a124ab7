"""``archsim workload stats`` and ``archsim workload list``: what a network costs, and
what ships."""

from __future__ import annotations

import json
from pathlib import Path

import click

from archsim.cli.options import InputSize, workload_run_options
from archsim.config import load_workload
from archsim.errors import UserError
from archsim.workload import build_graph
from archsim.workload.importers import load_any_workload
from archsim.workload.stats import LayerStat, WorkloadStats, layer_stats, workload_stats

SHIPPED_WORKLOADS = Path(__file__).resolve().parents[2] / "workloads"


def _mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:,.2f} MiB"


def format_stats(stats: WorkloadStats) -> str:
    """Human-readable totals."""
    largest = stats.largest_activation
    rows = [
        ("parameters", f"{stats.params:,}"),
        ("MACs", f"{stats.macs:,}  ({stats.macs / 1e9:,.3f} G)"),
        ("OPs (2 x MACs)", f"{stats.ops:,}  ({stats.ops / 1e9:,.3f} G)"),
        ("weights", f"{_mib(stats.weight_bytes)} at {stats.precision}"),
        (
            "largest activation",
            f"{largest.layer} {largest.shape}: {largest.elements:,} elements, "
            f"{_mib(largest.bytes)}",
        ),
        (
            "peak live activations",
            f"{_mib(stats.peak_live_activation_bytes)} (at {stats.peak_live_at}, "
            "running layer by layer)",
        ),
        ("activation traffic", f"{_mib(stats.activation_traffic_bytes)} with no fusion"),
    ]
    head = (
        f"{stats.workload}: input {stats.input}, batch {stats.batch}, {stats.precision}, "
        f"{stats.layers} layers"
    )
    rows.extend(("host", line) for line in stats.host_ops)
    width = max(len(label) for label, _ in rows)
    return "\n".join([head, *(f"  {label:<{width}}  {value}" for label, value in rows)])


def format_layers(rows: list[LayerStat]) -> str:
    """The per-layer table."""
    header = (
        "#",
        "name",
        "type",
        "input",
        "output",
        "kernel",
        "stride",
        "MACs",
        "weights",
        "out bytes",
    )
    table = [header] + [
        (
            str(r.index),
            r.name,
            r.op,
            " + ".join(r.inputs),
            r.output,
            r.kernel,
            r.stride,
            f"{r.macs:,}",
            f"{r.params:,}",
            f"{r.output_bytes:,}",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    numeric = {0, 7, 8, 9}
    lines = []
    for row in table:
        cells = [
            cell.rjust(w) if i in numeric else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


@click.command("stats")
@click.argument("workload", type=click.Path(path_type=Path))
@workload_run_options
@click.option("--layers", "show_layers", is_flag=True, help="Also print the per-layer table.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats_command(
    workload: Path,
    input_size: InputSize,
    batch: int | None,
    precision: str | None,
    show_layers: bool,
    as_json: bool,
) -> None:
    """Parameters, MACs, weight bytes and activation sizes of WORKLOAD."""
    width, height = input_size
    graph = build_graph(
        load_any_workload(workload), width=width, height=height, batch=batch, precision=precision
    )
    stats = workload_stats(graph)
    rows = layer_stats(graph) if show_layers else None
    if as_json:
        payload = stats.to_dict()
        if rows is not None:
            payload["layer_table"] = [row.__dict__ for row in rows]
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(format_stats(stats))
    if rows is not None:
        click.echo()
        click.echo(format_layers(rows))


@click.command("list")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
def list_command(folder: Path | None) -> None:
    """List the workloads in FOLDER (default: the shipped ones) with a one-line description."""
    folder = folder or SHIPPED_WORKLOADS
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    rows = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            cfg = load_workload(path)
            graph = build_graph(cfg)
        except UserError as error:
            rows.append((path.name, "(invalid)", str(error.problems[0])))
            continue
        shape = graph.input_shape
        detail = f"{shape.width}x{shape.height}, {graph.total_macs / 1e9:,.2f} GMACs"
        rows.append((path.name, detail, cfg.description or cfg.name))
    if not rows:
        click.echo(f"no workload files (*.yaml) in {folder}")
        return
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for name, detail, description in rows:
        click.echo(f"{name:<{widths[0]}}  {detail:<{widths[1]}}  {description}")
