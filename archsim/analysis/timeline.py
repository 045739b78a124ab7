"""Time attribution and binning over a run's timeline.

Layers overlap in time (independent branches run concurrently, the next layer's weights
are fetched while the previous one computes), so their spans do not add up to the latency.
`attribute_layers` gives every instant of [0, latency) to exactly one layer, or to a gap:

    At each instant, the owner is the active layer (t_start_ps <= t < t_end_ps) that
    started earliest (ties: the lower table row). Instants with no active layer are gaps.

The earliest-started active layer is the oldest unfinished one: time is charged to a layer
until it completes, so a layer's share answers "how long was the run waiting for this
layer to finish". Layer times plus gap time equal the latency exactly (integer ps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GAP = -1
"""Owner of a segment in which no layer is active."""


@dataclass(frozen=True)
class Attribution:
    """The timeline cut into segments [start_ps, end_ps), each owned by one layer or a gap."""

    start_ps: np.ndarray
    """int64 [n_segments], segment starts (sorted, contiguous from 0)."""
    end_ps: np.ndarray
    """int64 [n_segments], segment ends (the last one is the latency)."""
    owner: np.ndarray
    """int64 [n_segments], row of the owning layer in the layers table, or GAP."""
    layer_ps: np.ndarray
    """int64 [n_layers], exclusive time of each layers-table row."""
    gap_ps: int
    """Time with no active layer."""
    latency_ps: int

    @property
    def gaps(self) -> int:
        """Number of gap segments."""
        return int(np.count_nonzero(self.owner == GAP))


def attribute_layers(t_start_ps: np.ndarray, t_end_ps: np.ndarray, latency_ps: int) -> Attribution:
    """Exclusive attribution of [0, latency_ps) to layers with the given spans (see module)."""
    start = np.clip(np.asarray(t_start_ps, np.int64), 0, latency_ps)
    end = np.clip(np.asarray(t_end_ps, np.int64), 0, latency_ps)
    bounds = np.unique(np.concatenate([[0, max(latency_ps, 0)], start, end]))
    seg_start, seg_end = bounds[:-1], bounds[1:]
    owner = _owners(start, end, seg_start, seg_end)
    # merge neighbouring segments of the same owner
    keep = np.flatnonzero(np.diff(owner, prepend=GAP - 1))
    merged_start, merged_owner = seg_start[keep], owner[keep]
    merged_end = np.append(merged_start[1:], seg_end[-1:])
    durations = merged_end - merged_start
    layer_ps = np.zeros(len(start), np.int64)
    owned = merged_owner != GAP
    np.add.at(layer_ps, merged_owner[owned], durations[owned])
    return Attribution(
        start_ps=merged_start,
        end_ps=merged_end,
        owner=merged_owner,
        layer_ps=layer_ps,
        gap_ps=int(durations[~owned].sum()),
        latency_ps=int(latency_ps),
    )


def _owners(
    start: np.ndarray, end: np.ndarray, seg_start: np.ndarray, seg_end: np.ndarray
) -> np.ndarray:
    """Owner (layer row or GAP) of each elementary segment: the earliest-started active layer."""
    if len(start) == 0:
        return np.full(len(seg_start), GAP, np.int64)
    # active[i, j]: layer i covers segment j (segments never straddle a layer bound)
    active = (start[:, None] <= seg_start[None, :]) & (end[:, None] >= seg_end[None, :])
    active &= (end > start)[:, None]
    rank = np.empty(len(start), np.int64)
    rank[np.lexsort((np.arange(len(start)), start))] = np.arange(len(start))
    ranked = np.where(active, rank[:, None], len(start))
    return np.where(active.any(axis=0), np.argmin(ranked, axis=0), GAP).astype(np.int64)


def bin_edges(run_end_ps: int, bins: int) -> np.ndarray:
    """Edges of `bins` equal bins of whole picoseconds covering [0, run_end_ps).

    The same rule as the trace's utilization bins: width ceil(run_end / bins), so there may
    be fewer bins for very short runs; the last edge is run_end_ps.
    """
    if run_end_ps <= 0:
        return np.zeros(1, np.int64)
    width = -(-run_end_ps // bins)
    return np.append(np.arange(0, run_end_ps, width, dtype=np.int64), np.int64(run_end_ps))


def spread_over_bins(
    start_ps: np.ndarray, end_ps: np.ndarray, amount: np.ndarray, edges: np.ndarray
) -> np.ndarray:
    """Distribute each `amount` uniformly over its interval [start, end) and sum per bin.

    A zero-length interval puts its whole amount in the bin holding its start. Returns a
    float64 array of len(edges) - 1 bins; the total is preserved up to rounding.
    """
    start = np.asarray(start_ps, np.float64)
    end = np.asarray(end_ps, np.float64)
    amount = np.asarray(amount, np.float64)
    point = end <= start
    rate = np.where(point, 0.0, amount / np.where(point, 1.0, end - start))
    # cumulative amount at each edge: sum of rate * (clamp(t, start, end) - start)
    cumulative = _ramp_sum(start, rate, edges) - _ramp_sum(end, rate, edges)
    per_bin: np.ndarray = np.diff(cumulative)
    if point.any():
        index = np.searchsorted(edges, start[point], side="right") - 1
        index = np.clip(index, 0, len(edges) - 2)
        np.add.at(per_bin, index, amount[point])
    return per_bin


def _ramp_sum(origin: np.ndarray, rate: np.ndarray, at: np.ndarray) -> np.ndarray:
    """sum_i rate_i * max(t - origin_i, 0) for every t in `at`."""
    order = np.argsort(origin, kind="stable")
    origin, rate = origin[order], rate[order]
    rate_sum = np.concatenate([[0.0], np.cumsum(rate)])
    weighted_sum = np.concatenate([[0.0], np.cumsum(rate * origin)])
    count = np.searchsorted(origin, at, side="left")  # origins strictly before t
    times = np.asarray(at, np.float64)
    result: np.ndarray = times * rate_sum[count] - weighted_sum[count]
    return result
