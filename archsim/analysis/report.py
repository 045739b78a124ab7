"""The trace report: summary, per-layer table, per-component utilization, as text or tables.

Per-layer "time" is an exclusive attribution of the timeline (`timeline.attribute_layers`):
every instant of [0, latency) belongs to one layer (the earliest-started active one) or to a
gap, so the layer times plus the gap row add up to the latency exactly. A layer's "span" is
its own [t_start, t_end), which may overlap other layers. Stall columns are MAC-cluster
time summed over all clusters (from the layers table), so they add up to the summary's
stall totals per cause; idle time belongs to no layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pydantic

from archsim.analysis.compute_cycles import trace_compute_cycles
from archsim.analysis.layer_table import STALL_CAUSES
from archsim.analysis.report_text import format_bytes, format_summary
from archsim.analysis.roofline import peak_dram_bytes_per_s, peak_macs_per_s
from archsim.analysis.table import ReportTable
from archsim.analysis.timeline import Attribution, attribute_layers
from archsim.analysis.trace_series import CLASS_LABELS, CLASS_ORDER, busy_fraction, state_time
from archsim.config import ArchConfig
from archsim.domain import ComponentKind, Precision, StallCause, State
from archsim.trace import Trace
from archsim.units import PS_PER_MS, PS_PER_NS, PS_PER_US

CAUSES = tuple(cause.value for cause in STALL_CAUSES)
"""Stall causes recorded per layer (idle is not tied to a layer)."""

_SHORT = {"interconnect": "icon", "dependency": "dep", "backpressure": "bpress"}
_CLUSTER_STATES = (State.BUSY, *(cause.state for cause in STALL_CAUSES), State.IDLE)


@dataclass(frozen=True)
class LayerRow:
    """One layer of the report."""

    index: int
    name: str
    op: str
    t_start_ps: int
    t_end_ps: int
    time_ps: int
    """Exclusive share of the timeline (see the module docstring)."""
    macs: int
    mac_utilization: float
    """MACs / (peak MAC rate x span), from the trace."""
    dram_bytes: int
    """Bytes read from and written to DRAM."""
    stall_ps: dict[str, int]
    """MAC-cluster stall time by cause (CAUSES), summed over clusters."""
    compute_cycles: int | None = None
    """Closed-form compute cycles of the layer's busiest cluster (``compute_cycles``);
    None when the trace's config has no cluster clock."""

    @property
    def span_ps(self) -> int:
        """t_end_ps - t_start_ps."""
        return self.t_end_ps - self.t_start_ps


@dataclass(frozen=True)
class Roofs:
    """The roofs of a roofline plot, from the arch of the resolved config."""

    peak_macs_per_s: float
    peak_dram_bytes_per_s: float
    dram_efficiency: float


@dataclass(frozen=True)
class TraceReport:
    """Everything the text report, the HTML page and the plots show."""

    trace: Trace
    attribution: Attribution
    layers: list[LayerRow]
    state_ps: np.ndarray
    """int64 [n_components, n_states]: time per component and State."""
    busy_fraction: np.ndarray
    """float64 [n_components]: BUSY time / (run end x capacity)."""
    roofs: Roofs | None
    roofs_problem: str
    """Why `roofs` is None ("" when it is not)."""

    @property
    def latency_ps(self) -> int:
        """The run's latency: the length of the attributed timeline."""
        return self.attribution.latency_ps

    def stall_totals(self) -> dict[str, int]:
        """Stall time per cause summed over layers."""
        return {cause: sum(row.stall_ps[cause] for row in self.layers) for cause in CAUSES}


def roofs_from_config(config: Mapping[str, Any]) -> Roofs:
    """Peak MAC rate and DRAM bandwidth of the arch in a trace's resolved config.

    Raises ValueError naming what is missing or invalid.
    """
    try:
        arch = ArchConfig.model_validate(config["arch"])
        precision = Precision(config["run"]["precision"])
    except KeyError as exc:
        raise ValueError(f"the trace's config has no {exc.args[0]!r} entry") from None
    except (TypeError, ValueError, pydantic.ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise ValueError(f"the trace's config does not validate ({first})") from None
    if precision not in arch.mac_clusters.mac_rate:
        raise ValueError(f"the arch lists no MAC rate for {precision.value}")
    return Roofs(
        peak_macs_per_s=peak_macs_per_s(arch, precision),
        peak_dram_bytes_per_s=peak_dram_bytes_per_s(arch),
        dram_efficiency=arch.dram.streaming_efficiency,
    )


def build_report(trace: Trace) -> TraceReport:
    """Compute the report of a trace (no output is written)."""
    table = trace.layers
    attribution = attribute_layers(table["t_start_ps"], table["t_end_ps"], trace.latency_ps)
    cycles = trace_compute_cycles(trace)
    layers = [
        LayerRow(
            index=int(table["index"][row]),
            name=str(table["name"][row]),
            op=str(table["op"][row]),
            t_start_ps=int(table["t_start_ps"][row]),
            t_end_ps=int(table["t_end_ps"][row]),
            time_ps=int(attribution.layer_ps[row]),
            macs=int(table["macs"][row]),
            mac_utilization=float(table["mac_utilization"][row]),
            dram_bytes=int(table["dram_bytes_read"][row] + table["dram_bytes_written"][row]),
            stall_ps={cause: int(table[f"stall_{cause}_ps"][row]) for cause in CAUSES},
            compute_cycles=None if cycles is None else cycles.get(int(table["index"][row]), 0),
        )
        for row in range(len(table["index"]))
    ]
    try:
        roofs: Roofs | None = roofs_from_config(trace.config)
        problem = ""
    except ValueError as exc:
        roofs, problem = None, str(exc)
    return TraceReport(
        trace=trace,
        attribution=attribution,
        layers=layers,
        state_ps=state_time(trace),
        busy_fraction=busy_fraction(trace),
        roofs=roofs,
        roofs_problem=problem,
    )


# --- text ------------------------------------------------------------------------------


def time_scale(ps: float) -> tuple[float, str]:
    """(picoseconds per unit, unit) for showing times up to `ps`: ms, µs or ns."""
    for scale, unit in ((PS_PER_MS, "ms"), (PS_PER_US, "µs")):
        if ps >= scale:
            return float(scale), unit
    return float(PS_PER_NS), "ns"


def format_count(count: float) -> str:
    """A count with a k / M / G suffix (1,234,567 -> 1.23 M)."""
    for scale, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(count) >= scale:
            return f"{count / scale:.2f}{suffix}"
    return f"{count:.0f}"


def _state_label(state: State) -> str:
    """busy, dram, icon, ... idle: a short column label for a cluster state."""
    word = state.name.lower().removeprefix("stall_")
    return _SHORT.get(word, word)


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.1f}"


def _count_or_dash(count: int | None) -> str:
    return "-" if count is None else f"{count:,}"


def _total_cycles(layers: list[LayerRow]) -> int | None:
    cycles = [row.compute_cycles for row in layers]
    return None if None in cycles else sum(c for c in cycles if c is not None)


def layer_table(report: TraceReport) -> ReportTable:
    """Per-layer time, MACs, utilization, DRAM bytes and stall time by cause."""
    latency = report.latency_ps
    scale, unit = time_scale(latency)

    def t(ps: float) -> str:
        return f"{ps / scale:.3f}"

    def share(ps: int) -> str:
        return _percent(ps / latency) if latency else "-"

    clusters = len(report.trace.component_ids(ComponentKind.MAC_CLUSTER.value))
    stall_headers = tuple(f">{_SHORT.get(cause, cause)}" for cause in CAUSES)
    rows = [
        (
            str(row.index),
            row.name,
            row.op,
            t(row.time_ps),
            share(row.time_ps),
            t(row.span_ps),
            format_count(row.macs),
            _count_or_dash(row.compute_cycles),
            _percent(row.mac_utilization),
            format_bytes(row.dram_bytes),
            *(t(row.stall_ps[cause]) for cause in CAUSES),
        )
        for row in report.layers
    ]
    gap = report.attribution
    totals = report.stall_totals()
    footer = [
        (
            "",
            f"(no layer active: {gap.gaps} gaps)",
            "",
            t(gap.gap_ps),
            share(gap.gap_ps),
            *[""] * 10,
        ),
        (
            "",
            "total",
            "",
            t(sum(row.time_ps for row in report.layers) + gap.gap_ps),
            share(latency),
            "",
            format_count(sum(row.macs for row in report.layers)),
            _count_or_dash(_total_cycles(report.layers)),
            "",
            format_bytes(sum(row.dram_bytes for row in report.layers)),
            *(t(totals[cause]) for cause in CAUSES),
        ),
    ]
    return ReportTable(
        title=f"Layers (times in {unit})",
        headers=(
            ">#",
            "layer",
            "op",
            ">time",
            ">%",
            ">span",
            ">MACs",
            ">cycles",
            ">util%",
            ">DRAM",
        )
        + stall_headers,
        rows=rows,
        footer=footer,
        notes=(
            "time: exclusive share of the run (each instant goes to the earliest-started "
            "active layer); span: first to last activity of the layer; cycles: compute "
            "cycles of the layer's busiest cluster (no stalls)",
            f"util%: MACs / (peak MAC rate x span); stall columns: MAC-cluster stall time "
            f"summed over {clusters} clusters, by cause (idle is not per layer)",
        ),
    )


def class_table(report: TraceReport) -> ReportTable:
    """Busy fraction per component class: count, mean, min, max and the busiest one."""
    kinds = report.trace.components["kind"]
    names = report.trace.components["name"]
    rows = []
    for kind in CLASS_ORDER:
        ids = np.flatnonzero(kinds == kind.value)
        if len(ids) == 0:
            continue
        busy = report.busy_fraction[ids]
        busiest = ids[np.argmax(busy)]
        rows.append(
            (
                CLASS_LABELS[kind],
                str(len(ids)),
                _percent(busy.mean()),
                _percent(busy.min()),
                _percent(busy.max()),
                str(names[busiest]),
            )
        )
    return ReportTable(
        title="Utilization by component class (busy time / (run time x ports), %)",
        headers=("class", ">count", ">mean", ">min", ">max", "busiest"),
        rows=rows,
    )


def cluster_table(report: TraceReport) -> ReportTable:
    """Each MAC cluster's time by state, in % of the run."""
    ids = report.trace.component_ids(ComponentKind.MAC_CLUSTER.value)
    run_end = report.trace.run_end_ps
    names = report.trace.components["name"]
    rows = [
        (
            str(names[i]),
            *(
                _percent(report.state_ps[i, s] / run_end if run_end else 0.0)
                for s in _CLUSTER_STATES
            ),
        )
        for i in ids
    ]
    labels = tuple(f">{_state_label(state)}" for state in _CLUSTER_STATES)
    return ReportTable(
        title="MAC clusters (% of run time)", headers=("cluster", *labels), rows=rows
    )


def component_tables(report: TraceReport, top: int = 10) -> list[ReportTable]:
    """Busy fraction of each SRAM bank, DRAM channel and interconnect resource; for a
    class of more than `top` components, the `top` busiest."""
    components = report.trace.components
    tables = []
    for kind in CLASS_ORDER[1:]:
        ids = np.flatnonzero(components["kind"] == kind.value)
        if len(ids) == 0:
            continue
        order = ids[np.argsort(-report.busy_fraction[ids], kind="stable")]
        shown = order[:top] if len(ids) > top else ids
        notes: tuple[str, ...] = ()
        if len(ids) > top:
            rest = report.busy_fraction[order[top:]]
            notes = (f"{len(rest)} more, busy {_percent(rest.mean())} % on average",)
        rows = [
            (
                str(components["name"][i]),
                str(components["capacity"][i]),
                _percent(report.busy_fraction[i]),
            )
            for i in shown
        ]
        heading = f", the {top} busiest of {len(ids)}" if len(ids) > top else ""
        tables.append(
            ReportTable(
                title=f"{CLASS_LABELS[kind]} (busy %{heading})",
                headers=("component", ">ports", ">busy%"),
                rows=rows,
                notes=notes,
            )
        )
    return tables


def report_tables(report: TraceReport, top: int = 10) -> list[ReportTable]:
    """Every table of the report, in order."""
    return [
        layer_table(report),
        class_table(report),
        cluster_table(report),
        *component_tables(report, top),
    ]


def summary_text(report: TraceReport) -> str:
    """The run summary as `archsim run` prints it (a short fallback for sparse summaries)."""
    trace = report.trace
    clusters = len(trace.component_ids(ComponentKind.MAC_CLUSTER.value))
    summary = dict(trace.summary)
    stalls = summary.get("stall_ps")
    if isinstance(stalls, dict):  # the file stores keys sorted; show them in cause order
        summary["stall_ps"] = {c.value: stalls[c.value] for c in StallCause if c.value in stalls}
    try:
        return format_summary(summary, clusters, trace.path)
    except (KeyError, TypeError):
        meta = ", ".join(f"{k} {v}" for k, v in trace.metadata.items() if v is not None)
        return f"{trace.path}: {meta}; latency {report.latency_ps:,} ps (summary incomplete)"


def format_report(report: TraceReport, top: int = 10) -> str:
    """The whole text report: summary, then every table, separated by blank lines."""
    parts = [summary_text(report), *(table.to_text() for table in report_tables(report, top))]
    if report.roofs is None:
        parts.append(f"roofline: not available ({report.roofs_problem})")
    return "\n\n".join(parts)
