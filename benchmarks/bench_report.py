"""Speed of trace post-processing (a script, not a test: it prints figures only).

Simulates ResNet-50 on edge_bus at 1440x1440 (about 15 s; or reads --trace) and reports
the trace file size and the time to open it, build the report, render each plot, write
the report (text and PNGs, then HTML) and export it for Perfetto (with the export's size
and event count). YOLOv3 is not among the shipped workloads yet, so it is not measured.

    python benchmarks/bench_report.py                       # ResNet-50 at 1440x1440
    python benchmarks/bench_report.py --size 224            # a quick run
    python benchmarks/bench_report.py --trace traces/run.h5 # an existing trace
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from matplotlib.figure import Figure

import archsim
from archsim.analysis.perfetto import TraceExportWarning, export_perfetto
from archsim.analysis.plots import FIGURES, png_bytes
from archsim.analysis.report import TraceReport, build_report, format_report
from archsim.analysis.report_output import write_report

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def timed(label: str, action: Callable[[], T], rows: list[tuple[str, str]]) -> T:
    """Run `action`, append (label, seconds) to `rows` and return its result."""
    start = time.perf_counter()
    result = action()
    rows.append((label, f"{time.perf_counter() - start:8.2f} s"))
    return result


def render(draw: Callable[[TraceReport], Figure], report: TraceReport) -> bytes:
    """One plot of the report as PNG bytes."""
    return png_bytes(draw(report))


def megabytes(path: Path) -> str:
    """Size of a file in MB."""
    return f"{path.stat().st_size / 1e6:8.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, help="measure this trace instead of simulating")
    parser.add_argument("--size", type=int, default=1440, help="square input size (default 1440)")
    parser.add_argument("--arch", default="edge_bus", help="shipped arch (default edge_bus)")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = args.trace
        if path is None:
            path = folder / f"resnet50-{args.size}.h5"
            timed(
                f"simulate resnet50 {args.size}x{args.size} on {args.arch} (with trace)",
                lambda: archsim.simulate(
                    REPO / "arch" / f"{args.arch}.yaml",
                    REPO / "workloads" / "resnet50.yaml",
                    width=args.size,
                    height=args.size,
                    trace_path=path,
                ),
                rows,
            )
        rows.append(("trace file size", megabytes(path)))
        trace = timed("open_trace", lambda: archsim.open_trace(path), rows)
        rows.append(
            (
                "  states / transfers",
                f"{len(trace.states['state']):,} / {len(trace.transfers['id']):,}",
            )
        )
        report = timed("build_report", lambda: build_report(trace), rows)
        timed("format_report (text)", lambda: format_report(report), rows)
        for stem, draw in FIGURES.items():
            timed(f"  plot {stem}", partial(render, draw, report), rows)
        timed(
            "report: open + build + text + PNGs (archsim report)",
            lambda: write_report(build_report(archsim.open_trace(path)), folder / "png"),
            rows,
        )
        timed(
            "report --html",
            lambda: write_report(report, folder / "html", as_html=True),
            rows,
        )
        rows.append(("  report.html size", megabytes(folder / "html" / "report.html")))
        out = folder / "run.json"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TraceExportWarning)
            result = timed("export --format perfetto", lambda: export_perfetto(trace, out), rows)
        detail = "downsampled" if result.bin_ps else "full detail"
        rows.append(("  perfetto JSON size", megabytes(out)))
        rows.append(("  events", f"{result.events:,} ({detail})"))
    width = max(len(label) for label, _ in rows)
    print(f"trace post-processing: {path.name}")
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
    print("  (YOLOv3 is not a shipped workload yet: not measured)")


if __name__ == "__main__":
    main()
