"""``archsim noc``: a load-latency curve of an architecture's interconnect under
synthetic traffic (no workload)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from archsim.cli.options import seed_option
from archsim.cli.outputs import OUTPUT_ERRORS
from archsim.config import load_arch
from archsim.domain import InterconnectKind
from archsim.errors import Problem, UserError
from archsim.noc.report import (
    curve_document,
    curve_json,
    curve_png,
    format_table,
    write_curve_trace,
)
from archsim.noc.synthetic import NetworkSpec, RunOptions, run_curve
from archsim.noc.traffic import Pattern, Traffic, parse_rates


def _write(path: Path, write: Callable[[], object]) -> None:
    """Run ``write()``; an output error becomes a UserError naming ``path``."""
    try:
        write()
    except OUTPUT_ERRORS as exc:
        raise UserError(Problem(f"cannot write: {exc.strerror}", file=str(path))) from exc


@click.command("noc")
@click.argument("arch", type=click.Path(path_type=Path))
@click.option(
    "--traffic",
    type=click.Choice([p.value for p in Pattern]),
    default=Pattern.UNIFORM.value,
    show_default=True,
    help="Pattern: uniform random, transpose (x,y)->(y,x), hotspot (to node 0), "
    "neighbour (x+1 mod cols, y).",
)
@click.option(
    "--rates",
    default="0.05:0.5:0.05",
    show_default=True,
    help="Offered loads in flits/node/cycle: START:STOP:STEP (inclusive) or a comma list.",
)
@click.option(
    "--packet-flits",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Flits per packet (a flit is interconnect.link_bytes_per_cycle bytes).",
)
@click.option(
    "--cycles",
    type=click.IntRange(min=1),
    default=20000,
    show_default=True,
    help="Measurement window in interconnect cycles.",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=2000,
    show_default=True,
    help="Cycles simulated before the window (not measured).",
)
@click.option(
    "--drain",
    type=click.IntRange(min=0),
    help="Cycles after the window within which measured packets must arrive; a point that "
    "misses is marked saturated (default: --cycles).",
)
@click.option(
    "--in-flight",
    type=click.IntRange(min=1),
    help="Packets each source queue may have in the network at once (default: 64 on a mesh, "
    "so that the network, not the source, limits the load; 1 on a bus or deterministic NoC).",
)
@click.option(
    "--hotspot-fraction",
    type=click.FloatRange(0.0, 1.0),
    default=0.2,
    show_default=True,
    help="Share of packets sent to node 0 by --traffic hotspot.",
)
@click.option(
    "--nodes",
    type=click.IntRange(min=2),
    help="Traffic nodes on a bus (default: mac_clusters.count); a mesh has one per router.",
)
@seed_option
@click.option(
    "--set",
    "overrides",
    metavar="KEY=VALUE",
    multiple=True,
    help="Override an architecture value (repeatable), e.g. interconnect.mesh.cols=8.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="HDF5 trace of link totals and the curve; the plot goes next to it (.png).",
)
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="PNG of the curve.")
@click.option("--json", "as_json", is_flag=True, help="Print the curve as one JSON object.")
def noc_command(
    arch: Path,
    traffic: str,
    rates: str,
    packet_flits: int,
    cycles: int,
    warmup: int,
    drain: int | None,
    in_flight: int | None,
    hotspot_fraction: float,
    nodes: int | None,
    seed: int,
    overrides: tuple[str, ...],
    out: Path | None,
    plot: Path | None,
    as_json: bool,
) -> None:
    """Load-latency curve of ARCH's interconnect under synthetic traffic."""
    arch_cfg = load_arch(arch, list(overrides))
    loads = parse_rates(rates)
    if nodes is not None and arch_cfg.interconnect.kind is not InterconnectKind.BUS:
        raise UserError("--nodes applies to a bus only; a mesh has one node per router")
    spec = NetworkSpec.from_arch(arch_cfg, nodes)
    pattern = Traffic(Pattern(traffic), spec.grid, hotspot_fraction)
    options = RunOptions(packet_flits, cycles, warmup, drain, in_flight, seed)
    results = run_curve(spec, pattern, loads, options)
    points = [point for point, _ in results]
    context: dict[str, Any] = {
        "arch": arch_cfg.name,
        "interconnect": arch_cfg.interconnect.kind.value,
        "nodes": spec.grid.nodes,
        "active_nodes": len(pattern.active_nodes()),
        "grid": [spec.grid.cols, spec.grid.rows],
        "traffic": traffic,
        "packet_flits": packet_flits,
        "cycles": cycles,
        "warmup": warmup,
        "drain": options.drain_cycles,
        "in_flight": options.in_flight_for(arch_cfg.interconnect.kind),
        "seed": seed,
    }
    if traffic == Pattern.HOTSPOT.value:
        context["hotspot_fraction"] = hotspot_fraction
    title = (
        f"{arch_cfg.name} ({arch_cfg.interconnect.kind.value}, {spec.grid.nodes} nodes): "
        f"{traffic} traffic, {packet_flits}-flit packets"
    )
    plot_path = plot if plot is not None else (out.with_suffix(".png") if out else None)
    if out is not None:
        attrs: dict[str, str | int | float] = {
            "seed": seed,
            "arch": arch_cfg.name,
            "traffic": traffic,
            "arch_json": arch_cfg.model_dump_json(),
        }
        document = curve_json(points, context)
        runs = [run for _, run in results]
        _write(out, lambda: write_curve_trace(out, runs, document, attrs))
    if plot_path is not None:
        png = curve_png(points, title)
        target = plot_path

        def save() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(png)

        _write(target, save)
    if as_json:
        click.echo(json.dumps(curve_document(points, context), indent=2))
        return
    click.echo(title)
    click.echo(format_table(points))
    click.echo("loads in flits/node/cycle (per sending node), latencies in interconnect cycles")
    for label, path in (("trace", out), ("plot", plot_path)):
        if path is not None:
            click.echo(f"{label}: {path}")
