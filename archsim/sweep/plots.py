"""PNG plots of a sweep's results (matplotlib, object API, no pyplot state).

- ``pareto_fps_vs_area.png``: throughput against silicon area (the summary's area_mm2);
  the Pareto front (no other point is both smaller and faster) is drawn as a step line.
- ``pareto_fps_vs_energy.png``: throughput against energy per inference (mJ; its inverse
  is inferences/s/W, so this is the efficiency-vs-speed front).
- ``pareto_fps_vs_dram_bytes.png``: throughput against DRAM traffic (bytes read + written).
- ``Y_vs_X_by_GROUP.png``: a metric against one factor, one line per value of another;
  where other factors vary too, the line is their mean and the band their min-max.

Comparing points of different workloads, input sizes, batches or precisions makes no sense,
so each combination of those factors (the "scenario") gets its own panel.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from archsim.sweep.report import short_name, varying_factors
from archsim.sweep.table import POINT, STATUS, Cell, ResultsTable
from archsim.units import MIB

FPS = "throughput_fps"
AREA = "area_mm2"
ENERGY = "energy_mj_per_inference"
DRAM_READ = "dram_bytes_read"
DRAM_WRITTEN = "dram_bytes_written"
_SCENARIO_PREFIXES = ("run.workload", "run.input", "run.batch", "run.precision", "workload.")
_PANEL_SIZE = (5.6, 4.2)
_MAX_PANEL_COLUMNS = 3

Row = dict[str, Cell]


@dataclass(frozen=True)
class Axis:
    """What one plot axis shows: a column (or DRAM traffic), its label and scale."""

    column: str
    label: str
    scale: float = 1.0

    def value(self, row: Row) -> float | None:
        """The row's value on this axis, or None if missing or not a number."""
        if self.column == "dram_bytes":
            read, written = row.get(DRAM_READ), row.get(DRAM_WRITTEN)
            if not isinstance(read, int | float) or not isinstance(written, int | float):
                return None
            return (read + written) / self.scale
        cell = row.get(self.column)
        if isinstance(cell, bool) or not isinstance(cell, int | float):
            return None
        return cell / self.scale


def plot_all(
    table: ResultsTable, folder: Path, *, x: str | None, y: str, group: str | None
) -> list[Path]:
    """Write every plot into ``folder``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [row for row in table.rows if row.get(STATUS) == "ok"]
    if not rows:
        return []
    scenarios = [f for f in varying_factors(table) if f.startswith(_SCENARIO_PREFIXES)]
    candidates = [f for f in varying_factors(table) if f not in scenarios]
    group = group or _default_group(table, candidates, exclude=x)
    fps = Axis(FPS, "throughput (frames/s)")
    paths = [
        _pareto(
            rows,
            folder / "pareto_fps_vs_area.png",
            scenarios,
            group,
            Axis(AREA, "silicon area (mm2; lower is cheaper)"),
            fps,
            "Throughput vs area",
        ),
        _pareto(
            rows,
            folder / "pareto_fps_vs_energy.png",
            scenarios,
            group,
            Axis(ENERGY, "energy per inference (mJ; lower is better)"),
            fps,
            "Throughput vs energy per inference",
        ),
        _pareto(
            rows,
            folder / "pareto_fps_vs_dram_bytes.png",
            scenarios,
            group,
            Axis("dram_bytes", "DRAM traffic, read + written (MiB; lower is better)", MIB),
            fps,
            "Throughput vs DRAM traffic",
        ),
    ]
    x = x or _default_x(table, candidates, exclude=group)
    if x is not None:
        name = f"{_slug(y)}_vs_{_slug(short_name(x))}"
        if group is not None:
            name += f"_by_{_slug(short_name(group))}"
        paths.append(_metric_plot(rows, folder / f"{name}.png", scenarios, x, y, group))
    return paths


def _default_group(
    table: ResultsTable, candidates: Sequence[str], exclude: str | None
) -> str | None:
    """The first varying factor with at most 8 values (colors stay distinguishable)."""
    for name in candidates:
        if name != exclude and len({repr(c) for c in table.column(name)}) <= 8:
            return name
    return None


def _default_x(table: ResultsTable, candidates: Sequence[str], exclude: str | None) -> str | None:
    """The first varying numeric factor other than the group, else any other one."""
    others = [name for name in candidates if name != exclude]
    for name in others:
        if all(isinstance(c, int | float) and not isinstance(c, bool) for c in table.column(name)):
            return name
    return others[0] if others else None


def _pareto(
    rows: Sequence[Row],
    path: Path,
    scenarios: Sequence[str],
    group: str | None,
    cost: Axis,
    gain: Axis,
    title: str,
) -> Path:
    panels = _panels(rows, scenarios)
    figure, axes = _figure(len(panels))
    colors = _colors(rows, group)
    for ax, (label, members) in zip(axes, panels.items(), strict=False):
        points = [(cost.value(r), gain.value(r), r) for r in members]
        valid = [(c, g, r) for c, g, r in points if c is not None and g is not None]
        for key, color in colors.items():
            chosen = [(c, g) for c, g, r in valid if group is None or _text(r.get(group)) == key]
            if chosen:
                ax.scatter(
                    [c for c, _ in chosen],
                    [g for _, g in chosen],
                    s=36,
                    color=color,
                    alpha=0.85,
                    label=key if group else None,
                    zorder=3,
                )
        front = pareto_front([(c, g) for c, g, _ in valid])
        if front:
            xs, ys = zip(*front, strict=True)
            ax.step(xs, ys, where="post", color="black", linewidth=1.2, zorder=2)
            ax.scatter(
                xs,
                ys,
                s=110,
                facecolors="none",
                edgecolors="black",
                linewidths=1.2,
                zorder=4,
                label="Pareto front",
            )
            for c, g, r in valid:
                if (c, g) in front:
                    ax.annotate(
                        str(r[POINT]),
                        (c, g),
                        textcoords="offset points",
                        xytext=(4, 4),
                        fontsize=7,
                        color="0.25",
                    )
        ax.set_title(label, fontsize=10)
        ax.set_xlabel(cost.label, fontsize=9)
        ax.set_ylabel(gain.label, fontsize=9)
        ax.grid(True, alpha=0.3)
    figure.suptitle(f"{title} (labels: point ids on the front)", fontsize=11)
    return _save(figure, path, legend_title=short_name(group) if group else None)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (cost, gain) points no other point beats (lower or equal cost, higher gain)."""
    front: list[tuple[float, float]] = []
    best = -math.inf
    for cost, gain in sorted(points, key=lambda p: (p[0], -p[1])):
        if gain > best:
            front.append((cost, gain))
            best = gain
    return front


def _metric_plot(
    rows: Sequence[Row],
    path: Path,
    scenarios: Sequence[str],
    x: str,
    y: str,
    group: str | None,
) -> Path:
    """Mean of ``y`` per ``x`` level and group; whiskers span min-max over other factors."""
    panels = _panels(rows, scenarios)
    figure, axes = _figure(len(panels))
    colors = _colors(rows, group)
    levels = _x_levels(rows, x)
    width = 0.5 / max(1, len(colors))  # groups sit side by side around each level
    aggregated = False
    metric = Axis(y, y)
    for ax, (label, members) in zip(axes, panels.items(), strict=False):
        for index, (key, color) in enumerate(colors.items()):
            by_level: dict[int, list[float]] = {}
            for row in members:
                value = metric.value(row)
                if value is not None and (group is None or _text(row.get(group)) == key):
                    by_level.setdefault(levels.index(_text(row.get(x))), []).append(value)
            if not by_level:
                continue
            positions = sorted(by_level)
            offset = (index - (len(colors) - 1) / 2) * width
            xs = [position + offset for position in positions]
            means = [sum(by_level[p]) / len(by_level[p]) for p in positions]
            low = [mean - min(by_level[p]) for mean, p in zip(means, positions, strict=True)]
            high = [max(by_level[p]) - mean for mean, p in zip(means, positions, strict=True)]
            aggregated = aggregated or any(len(by_level[p]) > 1 for p in positions)
            ax.errorbar(
                xs,
                means,
                yerr=[low, high],
                marker="o",
                color=color,
                capsize=3,
                linewidth=1.6,
                elinewidth=1,
                label=key if group else None,
            )
        ax.set_xticks(list(range(len(levels))), levels, fontsize=8)
        ax.set_xlim(-0.5, len(levels) - 0.5)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel(short_name(x), fontsize=9)
        ax.set_ylabel(y, fontsize=9)
        ax.grid(True, axis="y", alpha=0.3)
    note = " (mean over the other factors; bars: min-max)" if aggregated else ""
    figure.suptitle(f"{y} vs {short_name(x)}{note}", fontsize=11)
    return _save(figure, path, legend_title=short_name(group) if group else None)


def _x_levels(rows: Sequence[Row], x: str) -> list[str]:
    """The levels of ``x`` as tick labels: numbers in increasing order, else as they come."""
    values = list(dict.fromkeys(row.get(x) for row in rows))
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        values.sort(key=lambda v: float(v))  # type: ignore[arg-type]
    return [_text(v) for v in values]


def _panels(rows: Sequence[Row], scenarios: Sequence[str]) -> dict[str, list[Row]]:
    panels: dict[str, list[Row]] = {}
    for row in rows:
        label = ", ".join(f"{short_name(k)}={_text(row.get(k))}" for k in scenarios) or "all points"
        panels.setdefault(label, []).append(row)
    return panels


def _colors(rows: Sequence[Row], group: str | None) -> dict[str, Any]:
    keys = list(dict.fromkeys(_text(row.get(group)) for row in rows)) if group else ["all"]
    palette = colormaps["tab10"]
    return {key: palette(index % 10) for index, key in enumerate(keys)}


def _figure(panels: int) -> tuple[Figure, list[Axes]]:
    columns = min(panels, _MAX_PANEL_COLUMNS)
    rows = math.ceil(panels / columns)
    size = (_PANEL_SIZE[0] * columns + 1.6, _PANEL_SIZE[1] * rows + 0.6)
    figure = Figure(figsize=size, dpi=110, layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    axes = [ax for line in grid for ax in line]
    for ax in axes[panels:]:
        ax.set_visible(False)
    return figure, axes[:panels]


def _save(figure: Figure, path: Path, legend_title: str | None) -> Path:
    """One legend for all panels, right of them; then write the PNG."""
    entries: dict[str, Any] = {}
    for ax in figure.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    if entries:
        figure.legend(
            list(entries.values()),
            list(entries),
            loc="outside right upper",
            fontsize=8,
            title=legend_title,
            title_fontsize=8,
        )
    figure.savefig(path)
    return path


def _text(cell: Cell) -> str:
    if cell is None:
        return "null"
    if isinstance(cell, float):
        return f"{cell:g}"
    return str(cell)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
