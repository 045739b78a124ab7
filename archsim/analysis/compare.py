"""Compare two runs of one workload: summary metrics side by side with a B/A ratio, and the
per-layer time and stall data the comparison plot draws.

Stall and busy shares are of the cluster time (``busy_ps + sum(stall_ps)``, which equals
latency x clusters). Per-layer time is the exclusive attribution of the timeline (see
``archsim.analysis.timeline``); per-layer stalls are MAC-cluster time summed over clusters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archsim.analysis.report import CAUSES
from archsim.analysis.report_text import format_bytes, format_duration
from archsim.analysis.table import ReportTable
from archsim.analysis.timeline import attribute_layers
from archsim.trace import open_trace

STALL_KEYS = ("dram", "interconnect", "sram", "dependency", "backpressure", "idle")
"""Stall causes of the summary's ``stall_ps``, in table order."""

Getter = Callable[[dict[str, Any]], float | None]


@dataclass(frozen=True)
class LayerData:
    """Per-layer series of one run, indexed like the trace's layers table."""

    index: np.ndarray
    """int64 [n]: workload layer index."""
    name: list[str]
    time_ps: np.ndarray
    """int64 [n]: exclusive share of the timeline."""
    span_ps: np.ndarray
    """int64 [n]: t_end - t_start."""
    stall_ps: dict[str, np.ndarray]
    """Per cause in ``CAUSES``: int64 [n] MAC-cluster stall time summed over clusters."""


@dataclass(frozen=True)
class ComparedRun:
    """One side of a comparison: its column label, summary and per-layer data."""

    label: str
    summary: dict[str, Any]
    layers: LayerData
    trace_path: Path | None = None


@dataclass(frozen=True)
class Metric:
    """One row of the comparison: a key (also used in ``ratios``), a label, how to read the
    value from a summary (None: not applicable) and how to show it."""

    key: str
    label: str
    get: Getter
    show: Callable[[float], str]


def read_layers(trace_path: str | Path) -> LayerData:
    """The per-layer series of a trace written by ``archsim.simulate``."""
    with open_trace(trace_path) as trace:
        table = trace.layers
        attribution = attribute_layers(table["t_start_ps"], table["t_end_ps"], trace.latency_ps)
        return LayerData(
            index=np.asarray(table["index"], np.int64),
            name=[str(name) for name in table["name"]],
            time_ps=attribution.layer_ps,
            span_ps=np.asarray(table["t_end_ps"] - table["t_start_ps"], np.int64),
            stall_ps={c: np.asarray(table[f"stall_{c}_ps"], np.int64) for c in CAUSES},
        )


def cluster_ps(summary: dict[str, Any]) -> int:
    """Cluster time of a run: busy plus every stall cause (= latency x clusters)."""
    return int(summary["busy_ps"] + sum(summary["stall_ps"].values()))


def _share(part: int, summary: dict[str, Any]) -> float:
    total = cluster_ps(summary)
    return part / total if total else 0.0


def _stall_getter(cause: str) -> Getter:
    return lambda s: _share(s["stall_ps"][cause], s)


def _ic_getter(key: str) -> Getter:
    return lambda s: s["interconnect"].get(key)


def _top(key: str) -> Getter:
    return lambda s: s[key]


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def _plain(digits: int) -> Callable[[float], str]:
    return lambda value: f"{value:,.{digits}f}"


METRICS: tuple[Metric, ...] = (
    Metric("latency_ps", "latency", _top("latency_ps"), format_duration),
    Metric("throughput_fps", "throughput (fps)", _top("throughput_fps"), _plain(1)),
    Metric("mac_utilization", "MAC utilization", _top("mac_utilization"), _percent),
    Metric("effective_tops", "effective TOPS", _top("effective_tops"), _plain(2)),
    Metric("busy_share", "busy (cluster time)", lambda s: _share(s["busy_ps"], s), _percent),
    *(
        Metric(f"stall_share.{cause}", f"stall: {cause}", _stall_getter(cause), _percent)
        for cause in STALL_KEYS
    ),
    Metric(
        "interconnect.mean_link_utilization",
        "mean link utilization",
        _ic_getter("mean_link_utilization"),
        _percent,
    ),
    Metric(
        "interconnect.max_link_utilization",
        "max link utilization",
        _ic_getter("max_link_utilization"),
        _percent,
    ),
    Metric(
        "interconnect.contention_ps", "contention", _ic_getter("contention_ps"), format_duration
    ),
    Metric("dram_bytes_read", "DRAM read", _top("dram_bytes_read"), format_bytes),
    Metric("dram_bytes_written", "DRAM written", _top("dram_bytes_written"), format_bytes),
)
"""Rows shown for every pair of runs."""

DETERMINISTIC_METRICS: tuple[Metric, ...] = (
    Metric(
        "interconnect.reserved_unused_fraction",
        "reserved but unused",
        _ic_getter("reserved_unused_fraction"),
        _percent,
    ),
    Metric(
        "interconnect.mean_flow_bandwidth_fraction",
        "mean flow bandwidth",
        _ic_getter("mean_flow_bandwidth_fraction"),
        _percent,
    ),
    Metric(
        "interconnect.epoch_wait_ps", "epoch waits", _ic_getter("epoch_wait_ps"), format_duration
    ),
    Metric(
        "interconnect.late_transfers",
        "late transfers",
        _ic_getter("late_transfers"),
        "{:,.0f}".format,
    ),
    Metric("interconnect.slip_ps", "slip", _ic_getter("slip_ps"), format_duration),
)
"""Rows added when either run is on a deterministic NoC (the cost of determinism)."""


def metrics_for(a: dict[str, Any], b: dict[str, Any]) -> tuple[Metric, ...]:
    """The rows of a comparison of summaries ``a`` and ``b``."""
    kinds = {a["interconnect"]["kind"], b["interconnect"]["kind"]}
    return METRICS + (DETERMINISTIC_METRICS if "deterministic" in kinds else ())


def ratio(a: float | None, b: float | None) -> float | None:
    """b / a, or None when either is missing or a is zero."""
    if a is None or b is None or a == 0:
        return None
    return b / a


def ratios(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float | None]:
    """B/A of every compared metric, by metric key (None where undefined)."""
    return {m.key: ratio(m.get(a), m.get(b)) for m in metrics_for(a, b)}


def comparison_table(a: ComparedRun, b: ComparedRun) -> ReportTable:
    """The side-by-side table: one row per metric, columns A, B and B/A."""

    def cell(metric: Metric, summary: dict[str, Any]) -> str:
        value = metric.get(summary)
        return "-" if value is None else metric.show(value)

    rows = []
    for metric in metrics_for(a.summary, b.summary):
        factor = ratio(metric.get(a.summary), metric.get(b.summary))
        rows.append(
            (
                metric.label,
                cell(metric, a.summary),
                cell(metric, b.summary),
                "-" if factor is None else f"{factor:.3f}x",
            )
        )
    s = a.summary
    title = (
        f"{s['workload']}: {a.label} vs {b.label} — input {s['input']}, batch {s['batch']}, "
        f"{s['precision']}, seed {s['seed']}"
    )
    notes = (
        "busy and stall shares are of the cluster time (latency x clusters);",
        "contention and epoch waits are summed over transfers; - = not applicable",
    )
    return ReportTable(
        title=title,
        headers=("metric", f">{a.label}", f">{b.label}", f">{b.label}/{a.label}"),
        rows=rows,
        notes=notes,
    )


def column_labels(names: tuple[str, str], paths: tuple[Path, Path]) -> tuple[str, str]:
    """The arch names, or the file stems when both archs have the same name."""
    if names[0] != names[1]:
        return names
    stems = (paths[0].stem, paths[1].stem)
    return stems if stems[0] != stems[1] else (f"A:{stems[0]}", f"B:{stems[1]}")
