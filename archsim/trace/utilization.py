"""Busy fractions per component and time bin, summed exactly over batches of BUSY intervals."""

from __future__ import annotations

import numpy as np

from archsim.errors import SimulationError
from archsim.trace.schema import BUSY_FRACTION_DTYPE

_OVERFLOW_TOLERANCE = 1e-9


class BusyBins:
    """Busy picoseconds of each component in each time bin, added batch by batch.

    Bins of `bin_ps = ceil(run_end_ps / bins)` cover [0, run_end_ps); the last bin may be
    shorter. Sums are integers, so any split of the intervals into batches gives the same
    totals (and `fractions` the same bytes).
    """

    def __init__(self, n_components: int, run_end_ps: int, bins: int) -> None:
        self.run_end_ps = run_end_ps
        self.bin_ps = -(-run_end_ps // bins) if run_end_ps > 0 else 0
        self.n_bins = -(-run_end_ps // self.bin_ps) if run_end_ps > 0 else 0
        self._n_components = n_components
        self._busy = np.zeros(n_components * self.n_bins, np.int64)
        # whole bins strictly between an interval's first and last: +1/-1 steps along a row
        self._steps = np.zeros((n_components, self.n_bins + 1), np.int64)

    def add(self, component: np.ndarray, t_start_ps: np.ndarray, t_end_ps: np.ndarray) -> None:
        """Add BUSY intervals [t_start_ps, t_end_ps) of `component` (within the run)."""
        if not self.n_bins or not len(component):
            return
        bin_ps = self.bin_ps
        start = t_start_ps.astype(np.int64)
        end = t_end_ps.astype(np.int64)
        row = component.astype(np.int64) * self.n_bins
        first = start // bin_ps
        last = (end - 1) // bin_ps  # the bin holding the interval's last picosecond
        single = first == last
        np.add.at(self._busy, row + first, np.where(single, end, (first + 1) * bin_ps) - start)
        spans = ~single
        np.add.at(self._busy, row[spans] + last[spans], end[spans] - last[spans] * bin_ps)
        np.add.at(self._steps, (component[spans], first[spans] + 1), 1)
        np.add.at(self._steps, (component[spans], last[spans]), -1)

    def fractions(
        self, capacity: np.ndarray, names: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, int, int]:
        """(busy_fraction float32 [n_components, n_bins], bin start times int64 [n_bins],
        bin_ps, run_end_ps); the last bin's fraction is relative to its own length and busy
        time is divided by the component's capacity (parallel servers). Raises
        SimulationError when a component is busy beyond its capacity."""
        n_components, n_bins, bin_ps = self._n_components, self.n_bins, self.bin_ps
        if self.run_end_ps <= 0:
            return np.zeros((n_components, 0), BUSY_FRACTION_DTYPE), np.zeros(0, np.int64), 0, 0
        whole = np.cumsum(self._steps, axis=1)[:, :n_bins] * bin_ps
        busy = self._busy.reshape(n_components, n_bins) + whole
        widths = np.full(n_bins, bin_ps, np.int64)
        widths[-1] = self.run_end_ps - (n_bins - 1) * bin_ps
        fraction = busy / (widths[np.newaxis, :] * capacity.astype(np.int64)[:, np.newaxis])
        if fraction.size and fraction.max() > 1.0 + _OVERFLOW_TOLERANCE:
            worst, bin_index = np.unravel_index(np.argmax(fraction), fraction.shape)
            raise SimulationError(
                f"component {names[worst]} is busy {fraction[worst, bin_index]:.6g} x its "
                f"capacity {capacity[worst]} in bin {bin_index}: overlapping BUSY intervals"
            )
        bin_start = np.arange(n_bins, dtype=np.int64) * bin_ps
        fraction = np.minimum(fraction, 1.0).astype(BUSY_FRACTION_DTYPE)
        return fraction, bin_start, int(bin_ps), self.run_end_ps


def busy_fractions(
    component: np.ndarray,
    t_start_ps: np.ndarray,
    t_end_ps: np.ndarray,
    capacity: np.ndarray,
    names: np.ndarray,
    run_end_ps: int,
    bins: int,
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Fraction of each time bin each component spent busy, split exactly at bin edges
    (``BusyBins`` over one batch of intervals; see ``BusyBins.fractions`` for the result)."""
    accumulated = BusyBins(len(capacity), run_end_ps, bins)
    accumulated.add(component, t_start_ps, t_end_ps)
    return accumulated.fractions(capacity, names)
