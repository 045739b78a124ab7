"""Report plots, drawn with matplotlib's object-oriented API (no pyplot, no display needed).

Each function returns a `matplotlib.figure.Figure`; `png_bytes` renders one with the Agg
backend. Colours of states and stall causes are the same in every plot.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from archsim.analysis.report import CAUSES, LayerRow, TraceReport, time_scale
from archsim.analysis.timeline import bin_edges
from archsim.analysis.trace_series import (
    CLASS_LABELS,
    class_utilization,
    cluster_state_shares,
    dram_bytes_per_bin,
)
from archsim.domain import ComponentKind, State
from archsim.units import PS_PER_S

STATE_COLORS = {
    State.BUSY: "#2ca02c",
    State.STALL_DRAM: "#d62728",
    State.STALL_INTERCONNECT: "#ff7f0e",
    State.STALL_SRAM: "#9467bd",
    State.STALL_DEPENDENCY: "#1f77b4",
    State.STALL_BACKPRESSURE: "#8c564b",
    State.IDLE: "#c7c7c7",
}
"""One colour per cluster state, used by every plot."""

CLASS_COLORS = {
    ComponentKind.MAC_CLUSTER: "#2ca02c",
    ComponentKind.SRAM_BANK: "#9467bd",
    ComponentKind.DRAM_CHANNEL: "#d62728",
    ComponentKind.INTERCONNECT: "#ff7f0e",
    ComponentKind.LINK: "#ff7f0e",
}

BINS = 200
"""Time bins of the time-series plots (the trace's utilization has its own bins)."""

_DPI = 110
_WIDTH_IN = 10.0


def state_label(state: State) -> str:
    """busy, stall: dram, ..., idle."""
    if state in (State.BUSY, State.IDLE):
        return state.name.lower()
    return "stall: " + state.name.lower().removeprefix("stall_")


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    return buffer.getvalue()


def _legend(axes: Axes, outside: bool = True) -> None:
    """A small legend right of the axes (or in their lower right), if anything is labelled."""
    if not axes.get_legend_handles_labels()[0]:
        return
    if outside:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    else:
        axes.legend(loc="lower right", fontsize=8)


def _title(report: TraceReport) -> str:
    meta = report.trace.metadata
    parts = [meta["workload"], "on", meta["arch"]]
    details = [f"input {meta['input']}" if meta["input"] else "", meta["precision"] or ""]
    return " ".join(str(p) for p in parts if p) + (
        f" ({', '.join(d for d in details if d)})" if any(details) else ""
    )


def utilization_figure(report: TraceReport) -> Figure:
    """Busy fraction over time per component class, and MAC-cluster time by state."""
    trace = report.trace
    scale, unit = time_scale(trace.run_end_ps)
    figure = Figure(figsize=(_WIDTH_IN, 7.5), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True)
    edges, classes = class_utilization(trace)
    x = edges / scale
    for series in classes:
        label = f"{CLASS_LABELS[series.kind]} ({series.count}): mean"
        top.stairs(
            100 * series.mean, x, color=CLASS_COLORS[series.kind], linewidth=1.6, label=label
        )
    top.set_ylim(0, 105)
    top.set_ylabel("busy (% of time)")
    top.set_title("Utilization over time by component class")
    _legend(top)
    top.grid(alpha=0.3)
    state_edges = bin_edges(trace.run_end_ps, BINS)
    shares = cluster_state_shares(trace, state_edges)
    _stacked_stairs(bottom, state_edges / scale, shares)
    bottom.set_ylim(0, 100)
    bottom.set_xlim(0, trace.run_end_ps / scale if trace.run_end_ps else 1)
    bottom.set_xlabel(f"time ({unit})")
    bottom.set_ylabel("share of MAC-cluster time (%)")
    bottom.set_title("MAC-cluster time by state (all clusters)")
    _legend(bottom)
    bottom.grid(alpha=0.3)
    figure.suptitle(_title(report))
    return figure


def _stacked_stairs(axes: Axes, edges: np.ndarray, shares: np.ndarray) -> None:
    """Stack State shares (rows of `shares`, fractions) as filled stairs, in percent."""
    base = np.zeros(shares.shape[1])
    if len(base) == 0:  # an empty run has no bins
        return
    for state in State:
        top = base + 100 * shares[state]
        axes.stairs(
            top,
            edges,
            baseline=base,
            fill=True,
            color=STATE_COLORS[state],
            label=state_label(state),
        )
        base = top


def stalls_figure(report: TraceReport) -> Figure:
    """Stall time per layer, stacked by cause (MAC-cluster time summed over clusters)."""
    layers = report.layers
    scale, unit = time_scale(max((sum(r.stall_ps.values()) for r in layers), default=0))
    height = max(3.5, 1.8 + 0.2 * len(layers))
    figure = Figure(figsize=(_WIDTH_IN, height), layout="constrained")
    axes = figure.subplots()
    y = np.arange(len(layers))
    left = np.zeros(len(layers))
    for cause in CAUSES:
        widths = np.array([row.stall_ps[cause] for row in layers], np.float64) / scale
        state = State[f"STALL_{cause.upper()}"]
        axes.barh(
            y, widths, left=left, height=0.75, color=STATE_COLORS[state], label=state_label(state)
        )
        left += widths
    axes.set_yticks(y, [f"{row.index} {row.name}" for row in layers], fontsize=8)
    axes.set_ylim(max(len(layers), 1) - 0.5, -0.5)  # first layer on top
    axes.set_xlim(0, 1.03 * left.max() if len(left) and left.max() > 0 else 1)
    clusters = len(report.trace.component_ids(ComponentKind.MAC_CLUSTER.value))
    axes.set_xlabel(f"stall time ({unit}, MAC-cluster time summed over {clusters} clusters)")
    axes.set_ylabel("layer (workload order)")
    axes.set_title(f"Stall time per layer by cause — {_title(report)}")
    _legend(axes)
    axes.grid(axis="x", alpha=0.3)
    return figure


def dram_bandwidth_figure(report: TraceReport) -> Figure:
    """DRAM read and write bandwidth over time, against the peak and effective bandwidth."""
    trace = report.trace
    scale, unit = time_scale(trace.run_end_ps)
    edges = bin_edges(trace.run_end_ps, BINS)
    read, written = dram_bytes_per_bin(trace, edges)
    seconds = np.diff(edges) / PS_PER_S
    read_gbs, write_gbs = read / seconds / 1e9, written / seconds / 1e9
    figure = Figure(figsize=(_WIDTH_IN, 4.5), layout="constrained")
    axes = figure.subplots()
    x = edges / scale
    if len(seconds):  # an empty run has no bins
        axes.stairs(read_gbs, x, fill=True, color="#1f77b4", alpha=0.8, label="read")
        axes.stairs(
            read_gbs + write_gbs, x, baseline=read_gbs, fill=True, color="#ff7f0e", label="write"
        )
    roofs = report.roofs
    if roofs is not None:
        peak = roofs.peak_dram_bytes_per_s / 1e9
        axes.axhline(peak, color="black", linestyle="--", linewidth=1, label=f"peak {peak:.1f}")
        effective = peak * roofs.dram_efficiency
        axes.axhline(
            effective,
            color="black",
            linestyle=":",
            linewidth=1,
            label=f"peak x efficiency {effective:.1f} (before refresh)",
        )
    channels = len(trace.component_ids(ComponentKind.DRAM_CHANNEL.value))
    axes.set_xlim(0, trace.run_end_ps / scale if trace.run_end_ps else 1)
    axes.set_ylim(bottom=0)
    axes.set_xlabel(f"time ({unit})")
    axes.set_ylabel("bandwidth (GB/s)")
    axes.set_title(
        f"DRAM bandwidth over time ({channels} channel{'s' if channels != 1 else ''}, "
        f"{len(edges) - 1} bins) — {_title(report)}"
    )
    _legend(axes)
    axes.grid(alpha=0.3)
    return figure


def roofline_figure(report: TraceReport, labelled: int = 3) -> Figure:
    """Each layer with MACs at (ops per DRAM byte, achieved TOPS over its span), under the
    compute roof and the DRAM bandwidth roof; the `labelled` longest layers are named."""
    rows = [row for row in report.layers if row.macs > 0 and row.span_ps > 0]
    ops = np.array([2.0 * row.macs for row in rows])
    dram = np.array([float(row.dram_bytes) for row in rows])
    tops = ops / (np.array([row.span_ps for row in rows]) / PS_PER_S) / 1e12
    with np.errstate(divide="ignore"):
        intensity = np.where(dram > 0, ops / np.where(dram > 0, dram, 1.0), np.inf)
    figure = Figure(figsize=(_WIDTH_IN, 6.5), layout="constrained")
    axes = figure.subplots()
    axes.set_xscale("log")
    axes.set_yscale("log")
    finite = intensity[np.isfinite(intensity)]
    roofs = report.roofs
    ridge = roofs.peak_macs_per_s * 2 / roofs.peak_dram_bytes_per_s if roofs is not None else None
    anchors = [*finite, *([ridge] if ridge else [])] or [1.0]
    x_low, x_high = min(anchors) / 4, max(anchors) * 8
    edge = x_high / 2  # where layers without DRAM traffic are drawn
    shown = np.where(np.isfinite(intensity), intensity, edge)
    for op in sorted({row.op for row in rows}):
        mine = np.array([row.op == op for row in rows])
        for no_dram in (False, True):
            pick = mine & (np.isinf(intensity) == no_dram)
            if pick.any():
                axes.scatter(
                    shown[pick],
                    tops[pick],
                    marker=">" if no_dram else "o",
                    s=36,
                    alpha=0.8,
                    label=f"{op} ({'no DRAM traffic, at right edge' if no_dram else 'layers'})"
                    if no_dram
                    else op,
                )
    if roofs is not None and ridge is not None:
        x = np.geomspace(x_low, x_high, 200)
        peak_tops = roofs.peak_macs_per_s * 2 / 1e12
        bandwidth = roofs.peak_dram_bytes_per_s
        axes.plot(x, np.minimum(peak_tops, bandwidth * x / 1e12), color="black", label="roofline")
        effective = bandwidth * roofs.dram_efficiency * x / 1e12
        axes.plot(
            x,
            np.minimum(peak_tops, effective),
            color="black",
            linestyle=":",
            label=f"with DRAM efficiency {roofs.dram_efficiency:.2f}",
        )
        axes.annotate(
            f"compute roof {peak_tops:.1f} TOPS",
            (x_high, peak_tops),
            xytext=(-4, 4),
            textcoords="offset points",
            ha="right",
            fontsize=8,
        )
    else:
        axes.text(
            0.99,
            0.99,
            f"roofs unavailable: {report.roofs_problem}",
            transform=axes.transAxes,
            ha="right",
            va="top",
            fontsize=8,
        )
    longest = np.argsort([-row.time_ps for row in rows], kind="stable")[:labelled]
    legend_lines = []
    for number, (i, names) in enumerate(_label_groups(shown, tops, longest, rows), start=1):
        axes.annotate(
            str(number),
            (shown[i], tops[i]),
            xytext=(5, -9),
            textcoords="offset points",
            fontsize=9,
            fontweight="bold",
        )
        legend_lines.append(f"{number}: {names}")
    if legend_lines:
        axes.text(
            0.01,
            0.99,
            "longest layers (by exclusive time)\n" + "\n".join(legend_lines),
            transform=axes.transAxes,
            va="top",
            fontsize=8,
            bbox={"facecolor": "white", "edgecolor": "lightgrey", "alpha": 0.9},
        )
    axes.set_xlim(x_low, x_high)
    axes.set_xlabel("operational intensity (ops per DRAM byte; 1 MAC = 2 ops)")
    axes.set_ylabel("achieved throughput over the layer's span (TOPS)")
    skipped = len(report.layers) - len(rows)
    axes.set_title(
        f"Roofline: {len(rows)} layers with MACs ({skipped} without MACs not shown) — "
        f"{_title(report)}"
    )
    _legend(axes, outside=False)
    axes.grid(which="both", alpha=0.25)
    return figure


def _label_groups(
    x: np.ndarray, y: np.ndarray, picked: np.ndarray, rows: list[LayerRow]
) -> list[tuple[int, str]]:
    """Labels of the picked points; points within 0.1 decade of each other share one."""
    groups: list[tuple[int, list[str]]] = []
    for i in picked:
        for anchor, names in groups:
            if abs(np.log10(x[i] / x[anchor])) < 0.1 and abs(np.log10(y[i] / y[anchor])) < 0.1:
                names.append(rows[i].name)
                break
        else:
            groups.append((int(i), [rows[i].name]))
    return [(anchor, ", ".join(names)) for anchor, names in groups]


FIGURES = {
    "utilization": utilization_figure,
    "stalls_per_layer": stalls_figure,
    "dram_bandwidth": dram_bandwidth_figure,
    "roofline": roofline_figure,
}
"""Every report plot by file stem, in report order."""
