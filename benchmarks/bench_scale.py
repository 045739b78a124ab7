"""Megapixel-scale speed of whole commands (a script, not a test: it prints figures only).

Each case runs ``archsim`` in a fresh process, as a user would, and reports its wall time,
its peak RSS (``os.wait4``'s resource usage of that process alone), the SimPy events of the
run, the engine's event rate and how it compares with a bare SimPy timeout loop measured
in this process. Every case but the first runs with ``--no-trace``. archsim's bytecode is
compiled first, as a regular install leaves it (``bench_core.compile_bytecode``). The cases
and the aims they are held against (on the 2-core development machine):

| case | aim |
|---|---|
| ResNet-50 224, edge_bus, whole command, trace written | <= 0.8 s |
| ResNet-50 1440, edge_bus | - |
| YOLOv3 608, edge_bus, and on edge_mesh and edge_det (the NoCs' per-hop cost) | - |
| YOLOv3 1920x1088, edge_bus, fusion none and auto | <= 10 s, <= 1 GB |
| YOLOv3 1920x1088 stream at 30 fps, 60 frames, edge_bus | <= 3 min, <= 2 GB |
| ``archsim --help`` | <= 0.3 s |
| event rate of every run | >= 0.3x bare SimPy |

    python benchmarks/bench_scale.py                # every case (the stream takes long)
    python benchmarks/bench_scale.py --frames 4     # a shorter stream
    python benchmarks/bench_scale.py --skip-stream  # no stream
    python benchmarks/bench_scale.py --only resnet50-224 --only help
    python benchmarks/bench_scale.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_core import bare_simpy_rate, compile_bytecode, machine

REPO = Path(__file__).resolve().parents[1]
BUS = str(REPO / "arch" / "edge_bus.yaml")
MESH = str(REPO / "arch" / "edge_mesh.yaml")
DET = str(REPO / "arch" / "edge_det.yaml")
RESNET50 = str(REPO / "workloads" / "resnet50.yaml")
YOLOV3 = str(REPO / "workloads" / "yolov3.yaml")
STREAM_FRAMES = 60
TRACE = Path(tempfile.gettempdir()) / f"archsim-bench-scale-{os.getpid()}.h5"
"""Where the ResNet-50 case writes its trace (removed at the end)."""


@dataclass(frozen=True)
class Case:
    """One command line, after ``archsim``, and the aims it is held against."""

    name: str
    args: tuple[str, ...]
    aim_s: float | None = None
    aim_rss_mib: float | None = None
    simulates: bool = True  # prints a --json summary with events and wall_s


def cases(frames: int) -> list[Case]:
    """Every case of the table, the stream at ``frames`` frames."""
    run = ("run", "--no-trace", "--json", "--quiet")
    mp = ("--input", "1920x1088")
    trace = str(TRACE)
    everything = [
        # the README's first command as a user types it: its trace is written
        Case("resnet50-224", ("run", "--json", "--quiet", "--out", trace, BUS, RESNET50), 0.8),
        Case("resnet50-1440", (*run, BUS, RESNET50, "--input", "1440x1440")),
        Case("yolov3-608", (*run, BUS, YOLOV3, "--input", "608x608")),
        Case("yolov3-608-mesh", (*run, MESH, YOLOV3, "--input", "608x608")),
        Case("yolov3-608-det", (*run, DET, YOLOV3, "--input", "608x608")),
        Case("yolov3-1080p", (*run, BUS, YOLOV3, *mp), aim_s=10.0, aim_rss_mib=1024),
        Case(
            "yolov3-1080p-fused",
            (*run, BUS, YOLOV3, *mp, "--fusion", "auto"),
            aim_s=10.0,
            aim_rss_mib=1024,
        ),
        Case("help", ("--help",), aim_s=0.3, simulates=False),
    ]
    if frames:
        stream = (*run, BUS, YOLOV3, *mp, "--scenario", "stream", "--fps", "30")
        aim_s = 180.0 * frames / STREAM_FRAMES  # the aim of 60 frames, pro rata
        everything.insert(-1, Case(f"yolov3-1080p-stream-{frames}", stream, aim_s, 2048))
    return everything


def run_case(case: Case, frames: int) -> dict[str, Any]:
    """Run one case in a fresh process; its wall time, peak RSS and summary figures."""
    args = list(case.args)
    if "--scenario" in args:
        args += ["--frames", str(frames)]
    command = [sys.executable, "-m", "archsim", *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own resource usage
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    figures: dict[str, Any] = {
        "case": case.name,
        "wall_s": wall,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "aim_s": case.aim_s,
        "aim_rss_mib": case.aim_rss_mib,
    }
    if os.waitstatus_to_exitcode(status) != 0:
        figures["error"] = stderr.decode(errors="replace").strip().splitlines()[-1:]
        return figures
    if case.simulates:
        summary = json.loads(stdout)
        figures.update(
            events=summary["events"],
            engine_wall_s=summary["wall_s"],
            events_per_s=summary["events"] / summary["wall_s"],
            fps=summary["throughput_fps"],
        )
    return figures


def print_table(rows: list[dict[str, Any]], bare_rate: float) -> None:
    header = (
        f"{'case':<26} {'wall s':>8} {'aim s':>6} {'RSS MiB':>8} {'aim':>6} "
        f"{'events':>10} {'ev/s':>8} {'vs bare':>7} {'fps':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        aim = "-" if row["aim_s"] is None else f"{row['aim_s']:.1f}"
        aim_rss = "-" if row["aim_rss_mib"] is None else f"{row['aim_rss_mib']:.0f}"
        line = f"{row['case']:<26} {row['wall_s']:>8.2f} {aim:>6} {row['peak_rss_mib']:>8.0f} "
        line += f"{aim_rss:>6}"
        if "error" in row:
            line += f"  error: {row['error']}"
        elif "events" in row:
            ratio = row["events_per_s"] / bare_rate
            line += (
                f" {row['events']:>10,} {row['events_per_s']:>8.0f} {ratio:>6.2f}x "
                f"{row['fps']:>8.2f}"
            )
        print(line)
    print(
        f"\nbare SimPy: {bare_rate:,.0f} events/s; 'vs bare' is the engine's event rate "
        "over it (aim >= 0.30x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=STREAM_FRAMES, help="stream frames")
    parser.add_argument("--skip-stream", action="store_true", help="leave the stream out")
    parser.add_argument("--only", action="append", default=[], help="run only this case")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    options = parser.parse_args()
    frames = 0 if options.skip_stream else options.frames
    selected = cases(frames)
    if options.only:
        selected = [c for c in selected if any(c.name.startswith(n) for n in options.only)]
    compile_bytecode()
    bare = bare_simpy_rate()
    rows = []
    for case in selected:
        rows.append(run_case(case, frames))
        if not options.json:
            print(f"  {case.name}: {rows[-1]['wall_s']:.2f} s", file=sys.stderr, flush=True)
    TRACE.unlink(missing_ok=True)
    if options.json:
        print(json.dumps({"machine": machine(), "bare_simpy": bare, "runs": rows}, indent=2))
    else:
        print_table(rows, bare["events_per_s"])


if __name__ == "__main__":
    main()
