"""The scorecard: one row per bench case, the figures a buyer compares chips by.

Throughput (fps) is the run's ``throughput_fps``: batch / latency for one inference, frames
x batch / duration for a scenario. Normalised figures divide it by what the chip costs:

- ``fps_per_tops``: by the chip's *nominal* peak TOPS (the datasheet figure: the arch
  file's clocks at the case's precision; a corner or a throttle does not lower it);
- ``fps_per_dram_channel``: by its DRAM channels;
- ``fps_per_w``: by the run's average power (``average_power_w``);
- ``fps_per_mm2`` and ``fps_per_cost``: by its area and die-cost proxy.

``latency_ms`` is the inference's latency, or the median frame latency of a scenario
(``latency_p99_ms`` its 99th percentile). A case that failed has its status and error and
no figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archsim.analysis.roofline import peak_macs_per_s
from archsim.bench.plan import BenchCase
from archsim.sweep.point import PointRecord, PointStatus

LABELS = ("arch", "workload", "input", "batch", "precision", "scenario", "corner")
FIGURES = (
    "fps",
    "latency_ms",
    "latency_p99_ms",
    "mac_utilization",
    "peak_tops",
    "fps_per_tops",
    "dram_channels",
    "fps_per_dram_channel",
    "power_w",
    "fps_per_w",
    "area_mm2",
    "fps_per_mm2",
    "die_cost",
    "fps_per_cost",
    "clock_mhz",
    "throttled",
)
COLUMNS = ("point", *LABELS, "status", *FIGURES, "wall_s", "error")
"""Scorecard columns, in order."""

Cell = str | int | float | bool | None


@dataclass(frozen=True)
class ScorecardRow:
    """One case's labels, status and figures (None where not applicable)."""

    cells: dict[str, Cell]

    @property
    def ok(self) -> bool:
        """Whether the case ran."""
        return self.cells["status"] == PointStatus.OK.value

    def __getitem__(self, column: str) -> Cell:
        """The cell of ``column``."""
        return self.cells[column]


def scorecard_rows(
    cases: Sequence[BenchCase], records: Sequence[PointRecord]
) -> list[ScorecardRow]:
    """One row per case (``records[i]`` is the record of ``cases[i]``)."""
    return [_row(case, record) for case, record in zip(cases, records, strict=True)]


def _row(case: BenchCase, record: PointRecord) -> ScorecardRow:
    cells: dict[str, Cell] = {"point": case.point, **case.values()}
    cells["status"] = record.status.value
    cells.update(dict.fromkeys(FIGURES))
    cells["wall_s"] = record.wall_s
    cells["error"] = None if record.error is None else record.error.splitlines()[0]
    summary = record.summary
    if record.status is PointStatus.OK and summary is not None:
        cells.update(figures(case, summary))
    return ScorecardRow(cells)


def figures(case: BenchCase, summary: dict[str, Any]) -> dict[str, Cell]:
    """The scorecard figures of one finished case."""
    arch = case.arch
    fps = summary["throughput_fps"]
    latency = summary["latency_ms"]
    scenario = isinstance(latency, dict)
    peak_tops = 2 * peak_macs_per_s(arch, case.precision) / 1e12
    channels = arch.dram.channels
    power_w = summary["average_power_w"]
    area = summary["area_mm2"]
    cost = summary["die_cost"]
    point = summary.get("operating_point")
    return {
        "input": summary["input"],
        "fps": fps,
        "latency_ms": latency["p50"] if scenario else latency,
        "latency_p99_ms": latency["p99"] if scenario else None,
        "mac_utilization": summary["mac_utilization"],
        "peak_tops": peak_tops,
        "fps_per_tops": fps / peak_tops,
        "dram_channels": channels,
        "fps_per_dram_channel": fps / channels,
        "power_w": power_w,
        "fps_per_w": fps / power_w if power_w else None,
        "area_mm2": area,
        "fps_per_mm2": fps / area if area else None,
        "die_cost": cost,
        "fps_per_cost": fps / cost if cost else None,
        "clock_mhz": arch.mac_clusters.clock_mhz
        if point is None
        else point["clock_mhz"]["mac_clusters"],
        "throttled": False if point is None else point["throttled"],
    }
