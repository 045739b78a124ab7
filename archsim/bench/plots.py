"""PNG plots of a scorecard (matplotlib object API, no pyplot state).

Cases that differ in precision, scenario or corner are never mixed in one figure; within
a figure each panel is one (workload, input, batch) and each mark one chip:

- ``tops_vs_dram-GROUP.png``: throughput per nominal peak TOPS (x) against throughput per
  DRAM channel (y), one point per chip: how much of its compute and of its memory
  interface a chip turns into frames;
- ``fps-GROUP.png`` and ``fps_per_w-GROUP.png``: throughput and throughput per watt, one
  bar per chip.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from archsim.bench.scorecard import ScorecardRow

_PANEL_SIZE = (5.2, 4.0)
_MAX_COLUMNS = 3
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_GROUP = ("precision", "scenario", "corner")
_PANEL = ("workload", "input", "batch")
_PLAIN = FuncFormatter(lambda value, _: f"{value:g}")


def _two_five(value: float, _: object) -> str:
    """Label minor log ticks at 2 and 5 times a power of ten only."""
    if value <= 0:
        return ""
    mantissa = round(value / 10 ** math.floor(math.log10(value)))
    return f"{value:g}" if mantissa in (2, 5) else ""


_TWO_FIVE = FuncFormatter(_two_five)
_BARS = {"fps": "throughput (fps)", "fps_per_w": "throughput per watt (fps/W)"}


def _key(row: ScorecardRow, columns: Sequence[str]) -> tuple[str, ...]:
    return tuple(str(row[column]) for column in columns)


def _grouped(
    rows: Sequence[ScorecardRow], columns: Sequence[str]
) -> dict[tuple[str, ...], list[ScorecardRow]]:
    groups: dict[tuple[str, ...], list[ScorecardRow]] = {}
    for row in rows:
        groups.setdefault(_key(row, columns), []).append(row)
    return groups


def _figure(panels: int) -> tuple[Figure, list[Axes]]:
    columns = min(panels, _MAX_COLUMNS)
    lines = math.ceil(panels / columns)
    figure = Figure(figsize=(_PANEL_SIZE[0] * columns, _PANEL_SIZE[1] * lines))
    grid = figure.subplots(lines, columns, squeeze=False)
    axes = [axis for line in grid for axis in line]
    for unused in axes[panels:]:
        unused.set_visible(False)
    return figure, axes[:panels]


def _panel_title(key: tuple[str, ...]) -> str:
    workload, size, batch = key
    return f"{workload} {size}, batch {batch}"


def _group_name(key: tuple[str, ...]) -> str:
    precision, scenario, corner = key
    scenario_text = "single" if scenario == "None" else scenario
    return _UNSAFE.sub("_", f"{precision}-{scenario_text}-{corner}").strip("_")


def tops_vs_dram_figure(rows: Sequence[ScorecardRow], title: str) -> Figure:
    """Throughput per TOPS against throughput per DRAM channel, one point per chip."""
    panels = _grouped(rows, _PANEL)
    figure, axes = _figure(len(panels))
    for axis, (key, members) in zip(axes, panels.items(), strict=True):
        for row in members:
            x, y = row["fps_per_tops"], row["fps_per_dram_channel"]
            assert isinstance(x, float) and isinstance(y, float)
            axis.scatter([x], [y], s=36)
            axis.annotate(str(row["arch"]), (x, y), textcoords="offset points", xytext=(4, 4))
        axis.set_xscale("log")
        axis.set_yscale("log")
        for direction in (axis.xaxis, axis.yaxis):  # after the scale, which resets them
            direction.set_major_formatter(_PLAIN)
            direction.set_minor_formatter(_TWO_FIVE)
        axis.set_xlabel("fps per peak TOPS")
        axis.set_ylabel("fps per DRAM channel")
        axis.set_title(_panel_title(key), fontsize=10)
        axis.grid(True, which="both", alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def bars_figure(rows: Sequence[ScorecardRow], column: str, title: str) -> Figure:
    """One horizontal bar per chip of ``column``, one panel per (workload, input, batch)."""
    panels = _grouped(rows, _PANEL)
    figure, axes = _figure(len(panels))
    for axis, (key, members) in zip(axes, panels.items(), strict=True):
        names = [str(row["arch"]) for row in members]
        values = [float(row[column] or 0.0) for row in members]
        axis.barh(range(len(names)), values)
        axis.set_yticks(range(len(names)), names)
        axis.invert_yaxis()
        axis.set_xlabel(_BARS[column])
        axis.set_title(_panel_title(key), fontsize=10)
        axis.grid(True, axis="x", alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def scorecard_figures(rows: Sequence[ScorecardRow], name: str) -> dict[str, Figure]:
    """Every plot of the scorecard's successful rows, by file stem."""
    ok = [row for row in rows if row.ok]
    figures: dict[str, Figure] = {}
    for key, members in _grouped(ok, _GROUP).items():
        group = _group_name(key)
        label = f"{name}: {key[0]}, {'one inference' if key[1] == 'None' else key[1]}, "
        label += f"corner {key[2]}"
        figures[f"tops_vs_dram-{group}"] = tops_vs_dram_figure(members, label)
        for column in _BARS:
            figures[f"{column}-{group}"] = bars_figure(members, column, label)
    return figures
