"""Load-latency curve output: a text table, a JSON document and a PNG figure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, ScalarFormatter

from archsim.analysis.plots import png_bytes
from archsim.domain import ComponentKind
from archsim.noc.synthetic import CurvePoint, SyntheticRun
from archsim.trace import Recorder, TraceData, write_trace

CURVE_JSON_ATTR = "noc_curve_json"
"""Root attribute of a synthetic-traffic trace: the curve document as JSON."""

_HEADER = (
    "offered",
    "accepted",
    "lat avg",
    "lat p99",
    "net lat",
    "route wait",
    "max link",
    "packets",
    "saturated",
)


def _cycles(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def format_table(points: Sequence[CurvePoint]) -> str:
    """One row per offered load; loads in flits/node/cycle, latencies in cycles."""
    rows = [_HEADER] + [
        (
            f"{p.offered:.4f}",
            f"{p.accepted:.4f}",
            _cycles(p.latency_avg),
            _cycles(p.latency_p99),
            _cycles(p.network_latency_avg),
            _cycles(p.route_wait_avg),
            f"{100 * p.max_link_utilization:.1f}%",
            f"{p.delivered}/{p.packets}",
            "yes" if p.saturated else "",
        )
        for p in points
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def curve_document(points: Sequence[CurvePoint], context: dict[str, Any]) -> dict[str, Any]:
    """The curve with its run context (arch, traffic, options) as a JSON-ready dict."""
    return {
        **context,
        "units": {"load": "flits/node/cycle", "latency": "cycles"},
        "points": [p.to_dict() for p in points],
    }


def curve_json(points: Sequence[CurvePoint], context: dict[str, Any]) -> str:
    """``curve_document`` as compact JSON text."""
    return json.dumps(curve_document(points, context), separators=(",", ":"))


def curve_figure(points: Sequence[CurvePoint], title: str) -> Figure:
    """Latency vs offered load (left) and accepted vs offered throughput (right)."""
    figure = Figure(figsize=(11.0, 4.2), layout="constrained")
    left, right = figure.subplots(1, 2)
    offered = [p.offered for p in points]
    for attribute, label, style in (
        ("latency_avg", "packet latency (avg)", "o-"),
        ("latency_p99", "packet latency (p99)", "^--"),
        ("network_latency_avg", "network latency (avg)", "s:"),
        ("route_wait_avg", "route wait (avg)", "d-."),
    ):
        xs = [p.offered for p in points if getattr(p, attribute) is not None]
        ys = [getattr(p, attribute) for p in points if getattr(p, attribute) is not None]
        left.plot(xs, ys, style, label=label, markersize=4)
    saturated = [p for p in points if p.saturated and p.latency_avg is not None]
    if saturated:
        left.plot(
            [p.offered for p in saturated],
            [p.latency_avg for p in saturated],
            "x",
            color="#d62728",
            markersize=9,
            label="saturated",
        )
    left.set_yscale("log")
    left.yaxis.set_major_formatter(ScalarFormatter())
    left.yaxis.set_minor_formatter(NullFormatter())
    left.set_xlabel("offered load (flits/node/cycle)")
    left.set_ylabel("latency (cycles)")
    left.set_title("Latency vs offered load")
    left.grid(alpha=0.3, which="both")
    left.legend(fontsize=8)
    top = max(offered, default=1.0)
    right.plot([0, top], [0, top], color="#c7c7c7", linewidth=1, label="accepted = offered")
    right.plot(offered, [p.accepted for p in points], "o-", markersize=4, label="accepted")
    right.set_xlabel("offered load (flits/node/cycle)")
    right.set_ylabel("accepted throughput (flits/node/cycle)")
    right.set_title("Accepted vs offered throughput")
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    figure.suptitle(title)
    return figure


def curve_png(points: Sequence[CurvePoint], title: str) -> bytes:
    """``curve_figure`` rendered as PNG bytes."""
    return png_bytes(curve_figure(points, title))


def trace_data(runs: Sequence[SyntheticRun]) -> TraceData:
    """Link totals of every run (components named ``load<rate>.<link>``) for the trace."""
    recorder = Recorder()
    for run in runs:
        kind = ComponentKind.INTERCONNECT if run.spec.topology is None else ComponentKind.LINK
        reserved = run.reserved_ps()
        for stats, reserved_ps in zip(run.net.links, reserved, strict=True):
            component = recorder.add_component(f"load{run.rate:g}.{stats.name}", kind.value)
            recorder.link(
                component,
                stats.bytes,
                stats.busy_ps,
                int(reserved_ps),
                stats.blocked_ps,  # held during mesh head-of-line blocking
            )
    return recorder.data()


def write_curve_trace(
    path: Path, runs: Sequence[SyntheticRun], document: str, attrs: dict[str, str | int | float]
) -> Path:
    """HDF5 trace of the runs' link totals; root attr ``noc_curve_json`` holds the curve."""
    return write_trace(path, trace_data(runs), {**attrs, CURVE_JSON_ATTR: document})
