"""Speed of ``archsim compare`` (a script, not a test: it prints figures only).

Runs ``archsim compare arch/edge_mesh.yaml arch/edge_det.yaml workloads/yolov3.yaml
--input 608x608`` through the CLI (traces into a temporary folder) and reports its wall
time, then repeats the same steps one by one to show where the time goes: loading, each
simulation (with its HDF5 trace), reading the per-layer data back, and drawing the PNG.

    python benchmarks/bench_compare.py                   # YOLOv3 at 608x608
    python benchmarks/bench_compare.py --input 416x416   # smaller
    python benchmarks/bench_compare.py --workload workloads/tiny_cnn.yaml --input 32x32
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from click.testing import CliRunner

import archsim
from archsim.analysis.compare import ComparedRun, comparison_table, read_layers
from archsim.analysis.compare_plot import compare_figure
from archsim.analysis.plots import png_bytes
from archsim.cli.compare import compare_command
from archsim.cli.inputs import load_inputs
from archsim.cli.main import ArchsimGroup
from archsim.cli.options import parse_input_size

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def timed(label: str, action: Callable[[], T], rows: list[tuple[str, float]]) -> T:
    """Run ``action``, append (label, seconds) to ``rows`` and return its result."""
    start = time.perf_counter()
    result = action()
    rows.append((label, time.perf_counter() - start))
    return result


def whole_command(arch_a: Path, arch_b: Path, workload: Path, size: str, out: Path) -> float:
    """Wall seconds of one ``archsim compare`` through click (exit code checked)."""
    group = ArchsimGroup(commands=[compare_command])
    args = ["compare", str(arch_a), str(arch_b), str(workload), "--input", size]
    start = time.perf_counter()
    result = CliRunner().invoke(group, [*args, "--out", str(out)])
    seconds = time.perf_counter() - start
    if result.exit_code != 0:
        raise SystemExit(f"compare failed ({result.exit_code}):\n{result.output}")
    return seconds


def phases(
    arch_a: Path, arch_b: Path, workload: Path, size: str, folder: Path
) -> list[tuple[str, float]]:
    """The command's steps, timed one by one."""
    rows: list[tuple[str, float]] = []
    width, height = parse_input_size(size)
    archs, cfg = timed(
        "load configs", lambda: load_inputs((arch_a, arch_b), workload, [], []), rows
    )
    runs = []
    for arch in archs:
        path = folder / f"phase-{arch.name}.h5"
        run = partial(archsim.simulate, arch, cfg, width=width, height=height, trace_path=path)
        result = timed(f"simulate {arch.name} (trace on)", run, rows)
        rows.append((f"  of which engine (summary wall_s) {arch.name}", result.summary["wall_s"]))
        layers = timed(f"read layers {arch.name}", partial(read_layers, path), rows)
        runs.append(ComparedRun(arch.name, result.summary, layers, path))
    timed("text table", lambda: comparison_table(runs[0], runs[1]).to_text(), rows)
    png = timed("draw + render PNG", lambda: png_bytes(compare_figure(runs[0], runs[1])), rows)
    rows.append((f"  PNG size {len(png) / 1e3:.0f} kB", 0.0))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, default=REPO / "arch" / "edge_mesh.yaml")
    parser.add_argument("--b", type=Path, default=REPO / "arch" / "edge_det.yaml")
    parser.add_argument("--workload", type=Path, default=REPO / "workloads" / "yolov3.yaml")
    parser.add_argument("--input", default="608x608", help="WxH (default 608x608)")
    parser.add_argument("--no-phases", action="store_true", help="only the whole command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as scratch:
        folder = Path(scratch)
        total = whole_command(args.a, args.b, args.workload, args.input, folder)
        print(
            f"archsim compare {args.a.stem} vs {args.b.stem}, {args.workload.stem} "
            f"{args.input}: {total:.2f} s wall (whole command, traces + PNG written)"
        )
        if args.no_phases:
            return
        print("\nsteps, timed separately:")
        for label, seconds in phases(args.a, args.b, args.workload, args.input, folder):
            print(f"  {label:<48} {seconds:8.2f} s" if seconds else f"  {label}")


if __name__ == "__main__":
    main()
