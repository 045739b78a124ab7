"""Speed benchmark of the synthetic-traffic mode (a script, not a test: it prints figures).

Simulates uniform random traffic on edge_mesh grown to an 8x8 mesh at 0.3 flits/node/cycle
(4-flit packets) and reports simulated packets per wall second, plus a few other loads.

    python benchmarks/bench_noc.py              # 20000-cycle window, best of 3
    python benchmarks/bench_noc.py --cycles 5000 --repeat 1
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from archsim.config import load_arch
from archsim.noc import NetworkSpec, Pattern, RunOptions, Traffic, run_point

REPO = Path(__file__).resolve().parents[1]
MESH_8X8 = ("interconnect.mesh.cols=8", "interconnect.mesh.rows=8")


def bench(rate: float, cycles: int, repeat: int) -> tuple[float, int, float]:
    """Best wall time, delivered packets and packets per wall second at one load."""
    spec = NetworkSpec.from_arch(load_arch(REPO / "arch" / "edge_mesh.yaml", MESH_8X8))
    traffic = Traffic(Pattern.UNIFORM, spec.grid)
    options = RunOptions(cycles=cycles, warmup=2000)
    best = float("inf")
    delivered = 0
    for _ in range(repeat):
        start = time.perf_counter()
        _, run = run_point(spec, traffic, rate, options)
        best = min(best, time.perf_counter() - start)
        delivered = int((run.packets.t_done >= 0).sum())
    return best, delivered, delivered / best


def main() -> None:
    """Print one row per offered load."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"8x8 mesh, uniform random, 4-flit packets, {args.cycles} cycles + 2000 warmup")
    print(f"{'load':>6}  {'wall s':>7}  {'packets':>8}  {'packets/s':>10}")
    for rate in (0.05, 0.3):
        wall, packets, rate_per_s = bench(rate, args.cycles, args.repeat)
        print(f"{rate:6.2f}  {wall:7.3f}  {packets:8d}  {rate_per_s:10,.0f}")


if __name__ == "__main__":
    main()
