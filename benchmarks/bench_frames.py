"""Frames of a scenario: wall time and peak memory against the number of frames (a script,
not a test: it prints figures only).

Each run is a separate ``archsim run ... --json`` process, so its peak RSS
(``os.wait4`` of that child) is its own. A scenario's frames share the
mapped program, so memory should grow with frames only by the trace rows they produce (none
here: no trace) and wall time by the simulation of each frame.

    python benchmarks/bench_frames.py                   # tiny_cnn 64x64, 10 and 40 frames
    python benchmarks/bench_frames.py --yolo 2 4        # + YOLOv3 1920x1088 at 30 fps
    python benchmarks/bench_frames.py --yolo 60 --no-trace  # the 60-frame stream (~50 min CPU)
    python benchmarks/bench_frames.py --traced          # traced runs (trace memory, ~3 min)

The tiny_cnn runs write no trace; the YOLOv3 runs are the command a user types (trace
written to traces/) unless ``--no-trace``. ``--traced`` runs, each with a trace written to
a temporary folder: tiny_cnn 64x64 at 10 and 40 frames, YOLOv3 608 one frame and a 4-frame
YOLOv3 416 stream at 30 fps on edge_bus, then YOLOv3 608 untraced for comparison, and
prints the trace file size as well: peak RSS should not grow with the rows the trace holds
(they are streamed to the file in chunks).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SMALL_FRAMES = (10, 40)


def run_case(arch: str, workload: str, options: list[str]) -> dict[str, Any]:
    """One ``archsim run --json`` in a child process: wall seconds, peak RSS and summary."""
    command = [
        sys.executable,
        "-m",
        "archsim",
        "run",
        str(REPO / "arch" / f"{arch}.yaml"),
        str(REPO / "workloads" / f"{workload}.yaml"),
        *options,
        "--json",
    ]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr}")
    summary = json.loads(stdout)
    return {
        "arch": arch,
        "workload": workload,
        "options": " ".join(options),
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),  # the machine may be shared
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "frames": summary.get("frames", 1),
        "events": summary["events"],
        "latency_p50_ms": summary["latency_ms"]["p50"]
        if isinstance(summary["latency_ms"], dict)
        else summary["latency_ms"],
    }


def traced_cases(folder: Path) -> list[tuple[str, str, list[str]]]:
    """The ``--traced`` runs, each writing its trace into ``folder``."""
    cases = [("edge_bus", "tiny_cnn", stream(n, "64x64", 2000)) for n in SMALL_FRAMES]
    cases += [("edge_bus", "yolov3", ["--input", "608x608"])]
    cases += [("edge_bus", "yolov3", stream(4, "416x416", 30))]
    traced = [
        (arch, workload, [*options, "--out", str(folder / f"{index}.h5")])
        for index, (arch, workload, options) in enumerate(cases)
    ]
    return [*traced, ("edge_bus", "yolov3", ["--input", "608x608", "--no-trace"])]


def trace_mib(options: list[str]) -> float | None:
    """Size of the trace a run wrote with ``--out PATH`` (None without one)."""
    if "--out" not in options:
        return None
    path = Path(options[options.index("--out") + 1])
    return round(path.stat().st_size / 2**20, 1)


def stream(frames: int, size: str, fps: float) -> list[str]:
    """The CLI options of a stream scenario."""
    return ["--input", size, "--scenario", "stream", "--fps", f"{fps:g}", "--frames", str(frames)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--yolo",
        type=int,
        nargs="*",
        default=[],
        metavar="FRAMES",
        help="YOLOv3 1920x1088 stream runs at 30 fps on edge_bus (frames each)",
    )
    parser.add_argument(
        "--no-trace", action="store_true", help="YOLOv3 runs without a trace (small ones never)"
    )
    parser.add_argument(
        "--traced", action="store_true", help="traced runs instead (trace memory and size)"
    )
    parser.add_argument("--json", action="store_true", help="print rows as JSON lines")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.traced:
            cases = traced_cases(Path(folder))
        else:
            cases = untraced_cases(args.yolo, args.no_trace)
        for arch, workload, options in cases:
            print_row(run_case(arch, workload, options), trace_mib(options), args.json)


def untraced_cases(yolo: list[int], no_trace: bool) -> list[tuple[str, str, list[str]]]:
    """tiny_cnn 10 and 40 frames without a trace, then the YOLOv3 1080p streams asked for."""
    untraced = ["--no-trace"]
    cases = [("edge_bus", "tiny_cnn", stream(n, "64x64", 2000) + untraced) for n in SMALL_FRAMES]
    yolo_trace = untraced if no_trace else []
    cases += [("edge_bus", "yolov3", stream(n, "1920x1088", 30) + yolo_trace) for n in sorted(yolo)]
    return cases


def print_row(row: dict[str, Any], trace_size_mib: float | None, as_json: bool) -> None:
    """One run's figures, as a line of text or of JSON."""
    if trace_size_mib is not None:
        row["trace_mib"] = trace_size_mib
    if as_json:
        print(json.dumps(row), flush=True)
        return
    size = "" if trace_size_mib is None else f"  trace {trace_size_mib} MiB"
    print(
        f"{row['workload']:>8} {row['arch']:>9} {row['frames']:>3} frames  "
        f"{row['wall_s']:>8.2f} s (CPU {row['cpu_s']:.2f} s)  "
        f"peak RSS {row['peak_rss_mib']} MiB  {row['events']:,} events{size}",
        flush=True,
    )


if __name__ == "__main__":
    main()
