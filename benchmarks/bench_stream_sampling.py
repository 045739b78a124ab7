"""How well the first frames of a stream predict the rest (a script, not a test: it prints
figures only).

Runs one stream in full, then asks of every prefix of k frames: had only those k frames
been simulated, how far would the stream's end (the last frame's end, so its duration and
achieved fps) lie from the simulated one, if the other frames were extrapolated by the
recurrence

    end[i] = max(arrival[i] + first_latency, end[i - 1] + interval)

(``first_latency``: the first frame's latency, on an idle chip; ``interval``: the mean
end-to-end interval of frames 1..k-1, back to back)? The figures weigh sampled
simulation (a few frames in detail, the rest extrapolated) against simulating every
frame; archsim itself always simulates every frame.

    python benchmarks/bench_stream_sampling.py     # YOLOv3 416, 16 frames at 120 fps
    python benchmarks/bench_stream_sampling.py --input 1920x1088 --frames 6 --fps 30
    python benchmarks/bench_stream_sampling.py --workload yolov3_tiny --frames 40 --fps 30
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from archsim import simulate
from archsim.scenario.config import ScenarioFlags, resolve_scenario
from archsim.scenario.results import FrameResult

REPO = Path(__file__).resolve().parents[1]
PS_PER_MS = 1e9


def extrapolated_end(frames: list[FrameResult], k: int) -> int:
    """The last frame's end had only frames 0..k-1 been simulated (k >= 2)."""
    ends = [f.end_ps for f in frames[:k]]
    first_latency = frames[0].latency_ps
    interval = (ends[-1] - ends[0]) / (k - 1)
    end = float(ends[-1])
    for frame in frames[k:]:
        end = max(frame.arrival_ps + first_latency, end + interval)
    return round(end)


def main() -> None:
    """Run the stream, print its frames and each prefix's extrapolation error."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="edge_bus")
    parser.add_argument("--workload", default="yolov3")
    parser.add_argument("--input", default="416x416", help="WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--fps", type=float, default=120.0)
    args = parser.parse_args()
    width, height = (int(n) for n in args.input.split("x"))
    scenario = resolve_scenario(
        None, ScenarioFlags(kind="stream", frames=args.frames, fps=args.fps)
    )
    start = time.perf_counter()
    result = simulate(
        REPO / "arch" / f"{args.arch}.yaml",
        REPO / "workloads" / f"{args.workload}.yaml",
        width=width,
        height=height,
        trace=False,
        scenario=scenario,
    )
    wall = time.perf_counter() - start
    frames = [f for f in result.frames if not f.dropped]
    if len(frames) != len(result.frames):
        raise SystemExit("frames were dropped: run without a queue limit")
    print(
        f"{args.workload} {args.input} on {args.arch}, {args.frames} frames at {args.fps:g} fps: "
        f"{wall:.1f} s, {result.summary['events']:,} events, "
        f"achieved {result.summary['achieved_fps']:.3f} fps"
    )
    print(f"{'frame':>5} {'arrival ms':>11} {'end ms':>11} {'latency ms':>11} {'interval ms':>12}")
    for i, f in enumerate(frames):
        interval = f"{(f.end_ps - frames[i - 1].end_ps) / PS_PER_MS:12.4f}" if i else ""
        print(
            f"{i:5d} {f.arrival_ps / PS_PER_MS:11.3f} {f.end_ps / PS_PER_MS:11.3f} "
            f"{f.latency_ps / PS_PER_MS:11.4f} {interval}"
        )
    last = frames[-1].end_ps
    print(f"\n{'frames simulated':>16} {'extrapolated end ms':>20} {'error':>9}")
    for k in range(2, len(frames)):
        end = extrapolated_end(frames, k)
        print(f"{k:16d} {end / PS_PER_MS:20.3f} {100 * (end - last) / last:+8.3f}%")
    print(f"{len(frames):16d} {last / PS_PER_MS:20.3f}  (simulated)")


if __name__ == "__main__":
    main()
