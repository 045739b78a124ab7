"""Scenario figures (a script, not a test: it prints figures only).

1. YOLOv3 streamed at 10, 30 and 60 fps on edge_bus and edge_det: p50 and p99 frame
   latency, achieved fps, frames queued and dropped, and the wall time of each run.
2. ResNet-50 offline at batch 1, 8 and 32 on edge_bus: throughput and latency per batch.

    python benchmarks/bench_scenarios.py            # YOLOv3 1920x1088, 10 frames per run
                                                    # (about 40 minutes; ~6 GB of memory)
    python benchmarks/bench_scenarios.py --quick    # small inputs, few frames (a minute)
    python benchmarks/bench_scenarios.py --frames 20 --json   # ~11 GB of memory
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import archsim
from archsim.config.scenario import ScenarioConfig

REPO = Path(__file__).resolve().parents[1]
STREAM_ARCHS = ("edge_bus", "edge_det")
STREAM_FPS = (10.0, 30.0, 60.0)
BATCHES = (1, 8, 32)


def simulate(
    arch: str, workload: str, size: tuple[int, int], batch: int, scenario: ScenarioConfig
) -> tuple[float, dict[str, Any]]:
    """One simulate() call without a trace; (wall seconds, summary)."""
    start = time.perf_counter()
    result = archsim.simulate(
        REPO / "arch" / f"{arch}.yaml",
        REPO / "workloads" / f"{workload}.yaml",
        width=size[0],
        height=size[1],
        batch=batch,
        trace=False,
        scenario=scenario,
    )
    return time.perf_counter() - start, result.summary


def stream_rows(size: tuple[int, int], frames: int) -> list[dict[str, Any]]:
    """YOLOv3 streamed at each rate on each arch."""
    rows = []
    for arch in STREAM_ARCHS:
        for fps in STREAM_FPS:
            scenario = ScenarioConfig(kind="stream", fps=fps, frames=frames)
            wall, summary = simulate(arch, "yolov3", size, 1, scenario)
            rows.append(
                {
                    "arch": arch,
                    "fps": fps,
                    "frames": frames,
                    "p50_ms": summary["latency_ms"]["p50"],
                    "p99_ms": summary["latency_ms"]["p99"],
                    "min_ms": summary["latency_ms"]["min"],
                    "achieved_fps": summary["achieved_fps"],
                    "queued": summary["queued"],
                    "dropped": summary["dropped"],
                    "queue_max": summary["queue_depth"]["max"],
                    "wall_s": wall,
                }
            )
    return rows


def offline_rows(size: tuple[int, int], images: int) -> list[dict[str, Any]]:
    """ResNet-50 offline on edge_bus: about ``images`` images at each batch."""
    rows = []
    for batch in BATCHES:
        frames = max(1, images // batch)
        scenario = ScenarioConfig(kind="offline", frames=frames)
        wall, summary = simulate("edge_bus", "resnet50", size, batch, scenario)
        rows.append(
            {
                "batch": batch,
                "frames": frames,
                "throughput_fps": summary["throughput_fps"],
                "batch_latency_ms": summary["latency_ms"]["min"],
                "dram_weight_mb_per_image": summary["dram_weight_bytes_read"]
                / (frames * batch)
                / 1e6,
                "wall_s": wall,
            }
        )
    return rows


def print_tables(report: dict[str, Any]) -> None:
    """The two tables, for a person."""
    width, height = report["yolo_input"]
    print(f"YOLOv3 {width}x{height}, stream, {report['stream'][0]['frames']} frames")
    print(
        f"{'arch':<10}{'fps':>6}{'p50 ms':>11}{'p99 ms':>11}{'min ms':>10}{'achieved':>10}"
        f"{'queued':>8}{'queue max':>10}{'wall s':>9}"
    )
    for r in report["stream"]:
        print(
            f"{r['arch']:<10}{r['fps']:>6.0f}{r['p50_ms']:>11.1f}{r['p99_ms']:>11.1f}"
            f"{r['min_ms']:>10.1f}{r['achieved_fps']:>10.2f}{r['queued']:>8}"
            f"{r['queue_max']:>10.0f}{r['wall_s']:>9.1f}"
        )
    width, height = report["resnet_input"]
    print(f"\nResNet-50 {width}x{height}, offline, edge_bus")
    print(
        f"{'batch':>6}{'frames':>8}{'images/s':>11}{'batch ms':>10}"
        f"{'weight MB/img':>15}{'wall s':>9}"
    )
    for r in report["offline"]:
        print(
            f"{r['batch']:>6}{r['frames']:>8}{r['throughput_fps']:>11.1f}"
            f"{r['batch_latency_ms']:>10.2f}{r['dram_weight_mb_per_image']:>15.2f}"
            f"{r['wall_s']:>9.1f}"
        )
    print(
        "\nlatency = arrival to end of a frame; min = a frame that did not queue; achieved = "
        "frames completed per second of the run; batch ms = latency of one batch (offline)"
    )


def main() -> None:
    """Parse the options, run the scenarios, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs and few frames")
    parser.add_argument("--frames", type=int, help="frames per stream run (default 10; 4 quick)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    yolo = (320, 192) if args.quick else (1920, 1088)
    resnet = (64, 64) if args.quick else (224, 224)
    frames = args.frames or (4 if args.quick else 10)
    report = {
        "archsim_version": archsim.__version__,
        "yolo_input": yolo,
        "resnet_input": resnet,
        "stream": stream_rows(yolo, frames),
        "offline": offline_rows(resnet, 32),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_tables(report)


if __name__ == "__main__":
    main()
