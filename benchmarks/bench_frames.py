"""Frames of a scenario: wall time and peak memory against the number of frames (a script,
not a test: it prints figures only).

Each run is a separate ``archsim run ... --json`` process, so its peak RSS
(``os.wait4`` of that child) is its own. A scenario's frames share the
mapped program, so memory should grow with frames only by the trace rows they produce (none
here: no trace) and wall time by the simulation of each frame.

    python benchmarks/bench_frames.py                   # tiny_cnn 64x64, 10 and 40 frames
    python benchmarks/bench_frames.py --yolo 2 4        # + YOLOv3 1920x1088 at 30 fps
    python benchmarks/bench_frames.py --yolo 60 --no-trace  # the 60-frame stream (~50 min CPU)

The tiny_cnn runs write no trace; the YOLOv3 runs are the command a user types (trace
written to traces/) unless ``--no-trace``.
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
    parser.add_argument("--json", action="store_true", help="print rows as JSON lines")
    args = parser.parse_args()
    no_trace = ["--no-trace"]
    cases = [("edge_bus", "tiny_cnn", stream(n, "64x64", 2000) + no_trace) for n in SMALL_FRAMES]
    yolo_trace = no_trace if args.no_trace else []
    cases += [
        ("edge_bus", "yolov3", stream(n, "1920x1088", 30) + yolo_trace) for n in sorted(args.yolo)
    ]
    for arch, workload, options in cases:
        row = run_case(arch, workload, options)
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(
                f"{workload:>8} {arch:>9} {row['frames']:>3} frames  {row['wall_s']:>8.2f} s "
                f"(CPU {row['cpu_s']:.2f} s)  "
                f"peak RSS {row['peak_rss_mib']} MiB  {row['events']:,} events",
                flush=True,
            )


if __name__ == "__main__":
    main()
