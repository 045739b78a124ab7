"""State intervals laid out on viewer tracks, in full or downsampled to time bins.

A track holds intervals that never overlap: one track per component, or one per lane when
a component's intervals overlap (an SRAM bank serves several accesses at once through its
ports). `binned_tracks` summarises each component by the state that held most of each
time bin, for traces too large to show interval by interval.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from archsim.analysis.timeline import bin_edges
from archsim.domain import State
from archsim.trace import Trace
from archsim.trace.reader import Window
from archsim.trace.utilization import busy_fractions


@dataclass(frozen=True)
class Tracks:
    """Slices sorted by (component, start): each on track (component, lane).

    Times are in units of `unit_ps` picoseconds (1 unless `rounded`).
    """

    component: np.ndarray
    lane: np.ndarray
    start: np.ndarray
    end: np.ndarray
    state: np.ndarray
    layer: np.ndarray
    """Layer index of the interval, -1 for none (always -1 when binned)."""
    unit_ps: int = 1
    share: np.ndarray | None = None
    """Binned only: mean share of its bins' time (x capacity) the slice's state held."""
    bin_ps: int | None = None
    """Binned only: the bin width."""

    @property
    def lanes(self) -> int:
        """Lanes of the busiest component (at least 1)."""
        return int(self.lane.max()) + 1 if len(self.lane) else 1

    def __len__(self) -> int:
        return len(self.component)

    def rounded(self, unit_ps: int) -> Tracks:
        """Times rounded to the nearest multiple of `unit_ps` (in those units); slices
        that become empty are dropped. Rounding keeps touching slices touching and never
        makes slices of one track overlap."""
        start = (self.start * self.unit_ps + unit_ps // 2) // unit_ps
        end = (self.end * self.unit_ps + unit_ps // 2) // unit_ps
        keep = end > start
        return replace(
            self,
            component=self.component[keep],
            lane=self.lane[keep],
            start=start[keep],
            end=end[keep],
            state=self.state[keep],
            layer=self.layer[keep],
            unit_ps=unit_ps,
            share=None if self.share is None else self.share[keep],
        )


def lanes(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Greedy lane of each interval (sorted by start) such that no lane holds overlaps."""
    if len(start) < 2 or np.all(start[1:] >= np.maximum.accumulate(end)[:-1]):
        return np.zeros(len(start), np.int64)
    lane_end: list[int] = []
    assigned = np.empty(len(start), np.int64)
    for i, (s, e) in enumerate(zip(start.tolist(), end.tolist(), strict=True)):
        for lane, busy_until in enumerate(lane_end):
            if busy_until <= s:
                lane_end[lane] = e
                assigned[i] = lane
                break
        else:
            assigned[i] = len(lane_end)
            lane_end.append(e)
    return assigned


def state_tracks(trace: Trace, window: Window) -> Tracks:
    """Every state interval overlapping `window` (clipped to it), on its track."""
    rows = trace.states_where(window=window, clip=True)
    component = rows["component"].astype(np.int64)
    order = np.lexsort((rows["t_end_ps"], rows["t_start_ps"], component))
    component, start, end = component[order], rows["t_start_ps"][order], rows["t_end_ps"][order]
    lane = np.zeros(len(component), np.int64)
    for ident in np.unique(component):
        mine = np.flatnonzero(component == ident)
        lane[mine] = lanes(start[mine], end[mine])
    return Tracks(
        component=component,
        lane=lane,
        start=start,
        end=end,
        state=rows["state"][order].astype(np.int64),
        layer=rows["layer"][order].astype(np.int64),
    )


def binned_tracks(trace: Trace, window: Window, bins: int) -> Tracks:
    """One track per component: for each of `bins` time bins of `window`, the state that
    held most of the bin's time (x capacity); equal neighbouring bins become one slice and
    bins with nothing recorded none."""
    rows = trace.states_where(window=window, clip=True)
    length = window[1] - window[0]
    edges = window[0] + bin_edges(length, bins)
    pieces = [np.zeros((5, 0))]  # rows: component, first bin, end bin, state, mean share
    bin_ps = 0
    for ident in np.unique(rows["component"]).astype(np.int64).tolist():
        mine = rows["component"] == ident
        fraction, _, bin_ps, _ = busy_fractions(  # one "component" per state
            rows["state"][mine].astype(np.int64),
            rows["t_start_ps"][mine] - window[0],
            rows["t_end_ps"][mine] - window[0],
            capacity=np.full(len(State), trace.components["capacity"][ident]),
            names=np.array([f"{trace.components['name'][ident]}:{s.name}" for s in State]),
            run_end_ps=length,
            bins=bins,
        )
        best = np.argmax(fraction, axis=0)
        share = fraction[best, np.arange(len(best))].astype(np.float64)
        code = np.where(share > 0, best, -1)  # -1: nothing recorded in the bin
        first = np.flatnonzero(np.diff(code, prepend=-2))  # runs of equal neighbours
        end = np.append(first[1:], len(code))
        mean_share = np.add.reduceat(share, first) / (end - first)
        run = np.stack([np.full(len(first), ident), first, end, code[first], mean_share])
        pieces.append(run[:, code[first] >= 0])
    table = np.concatenate(pieces, axis=1)
    component = table[0].astype(np.int64)
    return Tracks(
        component=component,
        lane=np.zeros(len(component), np.int64),
        start=edges[table[1].astype(np.int64)],
        end=edges[table[2].astype(np.int64)],
        state=table[3].astype(np.int64),
        layer=np.full(len(component), -1, np.int64),
        share=table[4],
        bin_ps=int(bin_ps),
    )
