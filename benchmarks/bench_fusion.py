"""Memory-side figures: DRAM bytes per inference and fps with and without layer fusion.

A script, not a test: it prints a table (or JSON). For each workload and input size, on
each arch, it simulates with ``--fusion none`` and ``--fusion auto`` (no trace) and reports
DRAM bytes read + written per image, fps, the fused run's DRAM saving, the ratio of DRAM
bytes (auto / none) and the wall time of each whole ``simulate`` call (mapping included).

    python benchmarks/bench_fusion.py            # YOLOv3 608 and 1920x1088, ResNet-50 224 and
                                                 # 1440, on edge_bus and edge_det (~15 min)
    python benchmarks/bench_fusion.py --quick    # YOLOv3 416 and ResNet-50 224 on edge_bus
    python benchmarks/bench_fusion.py --json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import archsim

REPO = Path(__file__).resolve().parents[1]
FULL = [
    ("yolov3", 608, 608),
    ("yolov3", 1920, 1088),
    ("resnet50", 224, 224),
    ("resnet50", 1440, 1440),
]
QUICK = [("yolov3", 416, 416), ("resnet50", 224, 224)]


def measure(arch: str, workload: str, width: int, height: int, fusion: str) -> dict[str, Any]:
    """One untraced run; DRAM bytes per image, fps, saving and wall time."""
    start = time.perf_counter()
    result = archsim.simulate(
        REPO / "arch" / f"{arch}.yaml",
        REPO / "workloads" / f"{workload}.yaml",
        width=width,
        height=height,
        fusion=fusion,
        trace=False,
    )
    wall = time.perf_counter() - start
    summary = result.summary
    moved = summary["dram_bytes_read"] + summary["dram_bytes_written"]
    return {
        "arch": arch,
        "workload": workload,
        "input": f"{width}x{height}",
        "fusion": fusion,
        "dram_bytes": moved // summary["batch"],
        "fps": summary["throughput_fps"],
        "latency_ms": summary["latency_ms"],
        "groups": len(summary["fusion_groups"]),
        "saved_bytes": summary["dram_bytes_saved_by_fusion"],
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, edge_bus only")
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    parser.add_argument("--arch", action="append", help="arch name (repeatable)")
    args = parser.parse_args()
    cases = QUICK if args.quick else FULL
    archs = args.arch or (["edge_bus"] if args.quick else ["edge_bus", "edge_det"])
    rows = []
    for workload, width, height in cases:
        for arch in archs:
            pair = [measure(arch, workload, width, height, mode) for mode in ("none", "auto")]
            pair[1]["dram_ratio"] = pair[1]["dram_bytes"] / pair[0]["dram_bytes"]
            rows.extend(pair)
            if not args.json:
                for row in pair:
                    ratio = f"{row['dram_ratio']:.2f}" if "dram_ratio" in row else "-"
                    print(
                        f"{row['workload']:9} {row['input']:>10} {row['arch']:9} "
                        f"{row['fusion']:5} DRAM {row['dram_bytes'] / 2**20:9.1f} MiB "
                        f"(x{ratio:>4})  {row['fps']:8.2f} fps  {row['groups']:3} groups  "
                        f"wall {row['wall_s']:6.1f} s",
                        flush=True,
                    )
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
