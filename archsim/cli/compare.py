"""``archsim compare A B WORKLOAD``: one workload on two architectures, side by side.

A plain click command (registered on the ``archsim`` group in archsim/cli/main.py). Both runs
write an HDF5 trace (to a temporary folder, or to ``--out DIR``) for their per-layer data;
the comparison plot is written atomically to ``--out DIR``. User errors raise UserError.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from archsim.analysis.compare import (
    ComparedRun,
    column_labels,
    comparison_table,
    ratios,
    read_layers,
)
from archsim.analysis.compare_plot import compare_figure
from archsim.analysis.plots import png_bytes
from archsim.api import simulate
from archsim.cli.inputs import load_inputs
from archsim.cli.options import (
    InputSize,
    corner_option,
    seed_option,
    split_overrides,
    workload_run_options,
)
from archsim.config import ArchConfig, WorkloadConfig
from archsim.errors import Problem, UserError
from archsim.files import write_atomic

DEFAULT_OUT = Path("traces")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(text: str) -> str:
    """A file-name-safe version of an arch or workload name."""
    return _UNSAFE.sub("_", text).strip("_") or "run"


def default_png_name(labels: tuple[str, str], workload: str) -> str:
    """compare-<A>-vs-<B>-<workload>.png"""
    return f"compare-{_safe(labels[0])}-vs-{_safe(labels[1])}-{_safe(workload)}.png"


def run_pair(
    archs: Sequence[ArchConfig],
    labels: tuple[str, str],
    workload: WorkloadConfig,
    folder: Path,
    options: dict[str, Any],
) -> tuple[ComparedRun, ComparedRun]:
    """Simulate the workload on both archs with traces in ``folder``; read per-layer data."""
    runs = []
    for arch, label in zip(archs, labels, strict=True):
        path = folder / f"{_safe(workload.name)}-{_safe(label)}.h5"
        result = simulate(arch, workload, trace=True, trace_path=path, **options)
        assert result.trace_path is not None
        runs.append(ComparedRun(label, result.summary, read_layers(result.trace_path), path))
    return runs[0], runs[1]


def _writing_error(exc: OSError, target: Path) -> UserError:
    detail = exc.strerror or str(exc)
    return UserError(Problem(f"cannot write output: {detail}", file=str(exc.filename or target)))


@click.command("compare")
@click.argument("arch_a", metavar="A", type=click.Path(path_type=Path))
@click.argument("arch_b", metavar="B", type=click.Path(path_type=Path))
@click.argument("workload", type=click.Path(path_type=Path))
@workload_run_options
@seed_option
@corner_option
@click.option(
    "--set",
    "overrides",
    metavar="KEY=VALUE",
    multiple=True,
    help="Override a config value of both runs (repeatable), as for archsim run.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the plot and both traces (default: plot in traces/, traces discarded).",
)
@click.option("--json", "as_json", is_flag=True, help="Print {a, b, ratios} as one JSON object.")
def compare_command(
    arch_a: Path,
    arch_b: Path,
    workload: Path,
    input_size: InputSize,
    batch: int | None,
    precision: str | None,
    seed: int,
    corner: str | None,
    overrides: tuple[str, ...],
    out: Path | None,
    as_json: bool,
) -> None:
    """Run WORKLOAD on architectures A and B; print both side by side and plot per layer."""
    arch_sets, workload_sets = split_overrides(overrides)
    archs, workload_cfg = load_inputs((arch_a, arch_b), workload, arch_sets, workload_sets)
    labels = column_labels((archs[0].name, archs[1].name), (arch_a, arch_b))
    width, height = input_size
    options = {
        "width": width,
        "height": height,
        "batch": batch,
        "precision": precision,
        "corner": corner,
    }
    folder = out if out is not None else DEFAULT_OUT
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _writing_error(exc, folder) from exc
    with tempfile.TemporaryDirectory(prefix="archsim-compare-") as scratch:
        trace_folder = out if out is not None else Path(scratch)
        try:
            a, b = run_pair(archs, labels, workload_cfg, trace_folder, {**options, "seed": seed})
        except OSError as exc:
            raise _writing_error(exc, trace_folder) from exc
    png_path = folder / default_png_name(labels, workload_cfg.name)
    try:
        write_atomic(png_path, png_bytes(compare_figure(a, b)))
    except OSError as exc:
        raise _writing_error(exc, png_path) from exc
    if as_json:
        payload = {
            "a": a.summary,
            "b": b.summary,
            "ratios": ratios(a.summary, b.summary),
            "labels": {"a": a.label, "b": b.label},
            "png": str(png_path),
            "traces": None if out is None else {"a": str(a.trace_path), "b": str(b.trace_path)},
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(comparison_table(a, b).to_text())
    click.echo(f"  plot: {png_path}")
    if out is not None:
        click.echo(f"  traces: {a.trace_path}, {b.trace_path}")
