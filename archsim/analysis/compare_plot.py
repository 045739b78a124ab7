"""The comparison plot: per-layer time of two runs as grouped bars, its B/A ratio per layer,
and their stall time per layer by cause as stacked bars side by side (A plain, B hatched)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from archsim.analysis.compare import ComparedRun, LayerData
from archsim.analysis.plots import STATE_COLORS, _legend, state_label
from archsim.analysis.report import CAUSES, time_scale
from archsim.domain import State

A_COLOR = "#4d4d4d"
B_COLOR = "#17becf"
"""Run colours of the time panel, distinct from the stall-cause colours."""
_B_HATCH = "////"
_LOG_RANGE = 30
"""Per-layer times are drawn on a log scale when the longest exceeds this x the median."""
_CLIP_RANGE = 2.0
"""Stall bars above this x the 95th percentile are cut (if any) and labelled."""
_BAR = 0.4
"""Width of one run's bar; the pair takes 0.8 of a layer slot."""


@dataclass(frozen=True)
class Aligned:
    """Both runs' per-layer series on the union of their layer indices (0 where absent)."""

    index: np.ndarray
    names: list[str]
    time_ps: tuple[np.ndarray, np.ndarray]
    stall_ps: tuple[dict[str, np.ndarray], dict[str, np.ndarray]]


def align(a: LayerData, b: LayerData) -> Aligned:
    """Put A's and B's layers on one axis, matched by workload layer index."""
    names = {int(i): n for i, n in zip(b.index, b.name, strict=True)}
    names.update({int(i): n for i, n in zip(a.index, a.name, strict=True)})
    index = np.array(sorted(names), np.int64)

    def spread(layers: LayerData, values: np.ndarray) -> np.ndarray:
        out = np.zeros(len(index), np.int64)
        out[np.searchsorted(index, layers.index)] = values
        return out

    return Aligned(
        index=index,
        names=[names[int(i)] for i in index],
        time_ps=(spread(a, a.time_ps), spread(b, b.time_ps)),
        stall_ps=(
            {c: spread(a, a.stall_ps[c]) for c in CAUSES},
            {c: spread(b, b.stall_ps[c]) for c in CAUSES},
        ),
    )


def _layer_ticks(axes: Axes, data: Aligned) -> None:
    x = np.arange(len(data.index))
    size = 8 if len(x) <= 30 else 6
    labels = [f"{i} {name}" for i, name in zip(data.index, data.names, strict=True)]
    axes.set_xticks(x, labels, rotation=90, fontsize=size)
    axes.set_xlim(-0.6, max(len(x), 1) - 0.4)
    axes.set_xlabel("layer (workload index and name)")


def _time_panel(axes: Axes, data: Aligned, labels: tuple[str, str]) -> None:
    x = np.arange(len(data.index))
    scale, unit = time_scale(max((int(t.max()) for t in data.time_ps if len(t)), default=0))
    for side, (offset, color) in enumerate(((-_BAR / 2, A_COLOR), (_BAR / 2, B_COLOR))):
        total = data.time_ps[side].sum() / scale
        axes.bar(
            x + offset,
            data.time_ps[side] / scale,
            width=_BAR,
            color=color,
            label=f"{labels[side]} (sum {total:,.3f} {unit})",
        )
    axes.set_ylabel(f"exclusive time ({unit})")
    title = "Time per layer (exclusive share of the timeline, gaps not shown)"
    shown = np.concatenate(data.time_ps)
    shown = shown[shown > 0]
    if len(shown) and shown.max() > _LOG_RANGE * np.median(shown):
        axes.set_yscale("log")
        title += ", log scale"
    axes.set_title(title)
    _legend(axes)
    axes.grid(axis="y", alpha=0.3)


def _ratio_panel(axes: Axes, data: Aligned, labels: tuple[str, str]) -> None:
    x = np.arange(len(data.index))
    a, b = (t.astype(np.float64) for t in data.time_ps)
    valid = (a > 0) & (b > 0)
    factor = np.where(valid, b / np.where(valid, a, 1.0), 1.0)
    colors = np.where(factor > 1, B_COLOR, A_COLOR)
    axes.bar(x[valid], factor[valid] - 1, bottom=1, width=0.7, color=colors[valid])
    axes.set_yscale("log")
    axes.axhline(1, color="black", linewidth=0.8)
    axes.set_ylabel(f"{labels[1]} / {labels[0]}")
    axes.set_title(
        f"Exclusive time ratio per layer, log scale (above 1: {labels[1]} slower; "
        "layers with no time in either run not shown)"
    )
    axes.grid(axis="y", which="both", alpha=0.3)


def _clip_height(totals: np.ndarray) -> float:
    """Where to cut the stall axis: the highest bar, unless a few outliers exceed
    1.5 x the cut, ``_CLIP_RANGE`` x the 95th percentile."""
    peak = float(totals.max(initial=0))
    if len(totals) < 20:
        return peak
    cut = float(np.percentile(totals, 95)) * _CLIP_RANGE
    return cut if 0 < 1.5 * cut < peak else peak


def _stall_panel(axes: Axes, data: Aligned, labels: tuple[str, str]) -> None:
    x = np.arange(len(data.index))
    stacked = [np.sum([stalls[c] for c in CAUSES], axis=0) for stalls in data.stall_ps]
    peak = max(int(total.max(initial=0)) for total in stacked)
    top = _clip_height(np.concatenate(stacked))
    scale, unit = time_scale(top)
    for side, offset in enumerate((-_BAR / 2, _BAR / 2)):
        bottom = np.zeros(len(x))
        for cause in CAUSES:
            heights = data.stall_ps[side][cause] / scale
            axes.bar(
                x + offset,
                heights,
                width=_BAR,
                bottom=bottom,
                color=STATE_COLORS[State[f"STALL_{cause.upper()}"]],
                hatch=_B_HATCH if side else None,
                edgecolor="white" if side else None,
                linewidth=0,
            )
            bottom += heights
    states = [State[f"STALL_{cause.upper()}"] for cause in CAUSES]
    handles = [Patch(color=STATE_COLORS[state], label=state_label(state)) for state in states]
    totals = [sum(int(stalls[c].sum()) for c in CAUSES) / scale for stalls in data.stall_ps]
    handles += [
        Patch(facecolor="#bbbbbb", label=f"left bar: {labels[0]} (sum {totals[0]:,.3f} {unit})"),
        Patch(
            facecolor="#bbbbbb",
            hatch=_B_HATCH,
            edgecolor="white",
            label=f"right bar: {labels[1]} (sum {totals[1]:,.3f} {unit})",
        ),
    ]
    axes.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
    )
    title = f"Stall time per layer by cause — left {labels[0]}, right (hatched) {labels[1]}"
    if top < peak:
        title += f"; bars above {top / scale:,.3g} {unit} cut, their height written on top"
        for side, offset in enumerate((-_BAR / 2, _BAR / 2)):
            for i in np.flatnonzero(stacked[side] > top):
                axes.annotate(
                    f"{stacked[side][i] / scale:,.0f}",
                    (x[i] + offset, top / scale),
                    xytext=(0, -3),
                    textcoords="offset points",
                    ha="center",
                    va="top",
                    rotation=90,
                    fontsize=6,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 0.5},
                )
    axes.set_ylim(0, (1.0 if top < peak else 1.05) * top / scale if top > 0 else 1)
    axes.set_ylabel(f"stall time ({unit}, summed over clusters)")
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)


def compare_figure(a: ComparedRun, b: ComparedRun) -> Figure:
    """Per-layer time (grouped bars), its B/A ratio, and stalls by cause (stacked, A and B
    side by side), over the union of both runs' layers."""
    data = align(a.layers, b.layers)
    labels = (a.label, b.label)
    width = max(11.0, 3.5 + 0.17 * len(data.index))
    figure = Figure(figsize=(width, 13.0), layout="constrained")
    top, middle, bottom = figure.subplots(
        3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2, 3]}
    )
    _time_panel(top, data, labels)
    _ratio_panel(middle, data, labels)
    _stall_panel(bottom, data, labels)
    _layer_ticks(bottom, data)
    s = a.summary
    figure.suptitle(
        f"{s['workload']}: {a.label} vs {b.label} — input {s['input']}, batch {s['batch']}, "
        f"{s['precision']}; latency {a.summary['latency_ms']:.3f} ms vs "
        f"{b.summary['latency_ms']:.3f} ms"
    )
    return figure
