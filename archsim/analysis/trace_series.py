"""Totals and time series derived from a trace: per-component busy time, per-class
utilization over time, MAC-cluster time by state, DRAM bandwidth.

Times are picoseconds; time series are sampled on bin edges (see `timeline.bin_edges`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim.analysis.timeline import spread_over_bins
from archsim.domain import ComponentKind, State
from archsim.trace import Trace

CLASS_ORDER = (
    ComponentKind.MAC_CLUSTER,
    ComponentKind.SRAM_BANK,
    ComponentKind.DRAM_CHANNEL,
    ComponentKind.INTERCONNECT,
    ComponentKind.LINK,
)
"""Component classes shown in reports, in display order (the chip itself has no states)."""

CLASS_LABELS = {
    ComponentKind.MAC_CLUSTER: "MAC clusters",
    ComponentKind.SRAM_BANK: "SRAM banks",
    ComponentKind.DRAM_CHANNEL: "DRAM channels",
    ComponentKind.INTERCONNECT: "interconnect",
    ComponentKind.LINK: "interconnect links",
}


def state_time(trace: Trace) -> np.ndarray:
    """int64 [n_components, n_states]: time each component spent in each State."""
    states = trace.states
    n_components, n_states = len(trace.components["id"]), len(State)
    cell = states["component"].astype(np.int64) * n_states + states["state"]
    duration = states["t_end_ps"] - states["t_start_ps"]
    total = np.zeros(n_components * n_states, np.int64)
    np.add.at(total, cell, duration)
    return total.reshape(n_components, n_states)


def busy_fraction(trace: Trace) -> np.ndarray:
    """float64 [n_components]: BUSY time / (run end x capacity), 0 for an empty run."""
    run_end = trace.run_end_ps
    busy = state_time(trace)[:, State.BUSY]
    capacity = trace.components["capacity"].astype(np.float64)
    return busy / (capacity * run_end) if run_end > 0 else np.zeros(len(busy))


@dataclass(frozen=True)
class ClassUtilization:
    """Mean busy fraction over time of one component class."""

    kind: ComponentKind
    count: int
    mean: np.ndarray
    """float64 [n_bins]: busy fraction averaged over the class's components."""


def class_utilization(trace: Trace) -> tuple[np.ndarray, list[ClassUtilization]]:
    """Utilization bins of each component class present in the trace.

    Returns (bin edges [n_bins + 1], one ClassUtilization per class in CLASS_ORDER that
    has components), from the trace's /utilization table.
    """
    starts = trace.utilization["t_start_ps"]
    edges = np.append(starts, np.int64(trace.run_end_ps)) if len(starts) else np.zeros(1, np.int64)
    classes = []
    for kind in CLASS_ORDER:
        fraction = trace.utilization_where(kind=kind.value)["busy_fraction"].astype(np.float64)
        if len(fraction):
            classes.append(ClassUtilization(kind, len(fraction), fraction.mean(axis=0)))
    return edges, classes


def cluster_state_shares(trace: Trace, edges: np.ndarray) -> np.ndarray:
    """float64 [n_states, n_bins]: share of all MAC clusters' time in each State per bin.

    Columns sum to 1 where the clusters' states cover the bin (they cover the whole run).
    """
    clusters = trace.states_where(kind=ComponentKind.MAC_CLUSTER.value)
    count = len(trace.component_ids(ComponentKind.MAC_CLUSTER.value))
    widths = np.diff(edges).astype(np.float64)
    shares = np.zeros((len(State), len(widths)))
    if count == 0 or len(widths) == 0:
        return shares
    for state in State:
        rows = clusters["state"] == state
        duration = clusters["t_end_ps"][rows] - clusters["t_start_ps"][rows]
        time = spread_over_bins(
            clusters["t_start_ps"][rows], clusters["t_end_ps"][rows], duration, edges
        )
        shares[state] = time / (widths * count)
    return shares


def dram_bytes_per_bin(trace: Trace, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bytes read, bytes written) per bin, over all DRAM channels.

    Each DRAM transfer's bytes are spread over the channel's BUSY interval that served it:
    the one starting at the transfer's DRAM grant, t_request + dram_wait_ps for a read
    (the first phase of its transfer) and t_done - dram_ps for a write (the last phase).
    Without such an interval, over [grant, grant + dram_ps).
    """
    kind = ComponentKind.DRAM_CHANNEL.value
    reads = trace.transfers_where(src_kind=kind)
    writes = trace.transfers_where(dst_kind=kind)
    read_grant = reads["t_request_ps"] + reads["dram_wait_ps"]
    write_grant = writes["t_done_ps"] - writes["dram_ps"]
    busy = trace.states_where(kind=kind, state=State.BUSY)
    read_end = _served_until(busy, reads["src"], read_grant, reads["dram_ps"])
    write_end = _served_until(busy, writes["dst"], write_grant, writes["dram_ps"])
    return (
        spread_over_bins(read_grant, read_end, reads["bytes"], edges),
        spread_over_bins(write_grant, write_end, writes["bytes"], edges),
    )


def _served_until(
    busy: dict[str, np.ndarray], channel: np.ndarray, grant: np.ndarray, dram_ps: np.ndarray
) -> np.ndarray:
    """End of the BUSY interval of `channel` starting at `grant` (grant + dram_ps if none)."""
    end: np.ndarray = grant + dram_ps
    for ident in np.unique(channel):
        mine = channel == ident
        rows = busy["component"] == ident
        order = np.argsort(busy["t_start_ps"][rows], kind="stable")
        starts, ends = busy["t_start_ps"][rows][order], busy["t_end_ps"][rows][order]
        at = np.minimum(np.searchsorted(starts, grant[mine]), max(len(starts) - 1, 0))
        if len(starts):
            matched = starts[at] == grant[mine]
            end[mine] = np.where(matched, ends[at], end[mine])
    return end
