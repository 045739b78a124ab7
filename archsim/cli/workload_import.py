"""CLI commands over workloads: ``workload import`` (ONNX or SCALE-Sim -> workload YAML).

Plain click commands, registered on the ``workload`` group in archsim/cli/main.py. User errors
raise UserError subclasses (the archsim group prints them and exits 2); the output file is
written atomically (NAME.tmp, then renamed) and only once the import succeeded.
"""

from __future__ import annotations

from pathlib import Path

import click

from archsim.domain import Precision
from archsim.errors import Problem, UserError
from archsim.workload.build import build_graph
from archsim.workload.importers import (
    Layout,
    ModelFormat,
    import_model,
    load_any_workload,
    write_workload_yaml,
)

__all__ = ["import_command", "load_any_workload"]


@click.command("import")
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Workload YAML file to write.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["onnx", "scalesim"]),
    help="Model format (default: from the extension, .onnx or .csv).",
)
@click.option("--name", help="Workload name (default: the model file's stem).")
@click.option(
    "--layout",
    type=click.Choice(["conv", "gemm"]),
    help="SCALE-Sim topology layout (default: from the CSV header).",
)
@click.option(
    "--until",
    metavar="NODE_OR_TENSOR",
    help="ONNX: keep only what computing this node or tensor needs (cut post-processing).",
)
@click.option(
    "--precision",
    type=click.Choice([p.value for p in Precision]),
    help="Precision of the workload (default: the model's; int8 for a float32 ONNX model).",
)
def import_command(
    model: Path,
    out: Path,
    fmt: ModelFormat | None,
    name: str | None,
    layout: Layout | None,
    until: str | None,
    precision: str | None,
) -> None:
    """Import MODEL (ONNX, or a SCALE-Sim topology CSV) as a workload YAML file."""
    if out.exists() and out.resolve() == model.resolve():
        raise UserError(
            Problem("the output would overwrite the model; choose another -o", str(out))
        )
    cfg = import_model(model, fmt, name=name, layout=layout, until=until, precision=precision)
    graph = build_graph(cfg)
    try:
        write_workload_yaml(cfg, out, source=model.name)
    except OSError as exc:
        detail = exc.strerror or str(exc)
        raise UserError(Problem(f"cannot write the workload: {detail}", str(out))) from exc
    click.echo(
        f"wrote {out}: workload {cfg.name}, {len(graph.layers)} layers, "
        f"{graph.total_macs:,} MACs, {graph.total_params:,} parameters"
    )
    for line in cfg.host_ops:
        click.echo(f"  not simulated: {line}")
