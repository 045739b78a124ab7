"""Per-link calendars of reserved link time, for the time-triggered deterministic NoC.

A calendar holds, for every link, the intervals [start_ps, end_ps) reserved on it, sorted and
pairwise disjoint (touching intervals are merged: only free versus reserved matters here;
who owns an interval is kept by the caller). A packet that enters its route at t0 occupies
the i-th link of the route during [t0 + offset_i, t0 + offset_i + duration) (a ``Route``
lists the (link, offset) pairs): ``earliest`` finds the first t0 at or after a given time
at which every one of those intervals is free, and ``book`` reserves them. No booking can
overlap another on any link, by construction.

Pure data (no simulation objects): the planning pass and the run use the same calendar.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

import numpy as np

Route = Sequence[tuple[int, int]]
"""A packet's footprint: (link, offset_ps) for every link it holds, the link held from
t0 + offset_ps. A tuple of pairs, not two lists: the calendar walks it once per packet."""

_PRUNE_ROWS = 512
"""Intervals that must lie wholly in the past before ``forget_before`` drops them."""


class LinkCalendar:
    """Reserved intervals of every link (index as in the topology).

    ``planned`` (optional): per link, the sorted, disjoint (starts, ends) of a plan's
    reservations, kept fixed in compact ``array('q')`` buffers (millions of windows);
    bookings made later live in per-link lists and never overlap the planned ones.
    """

    def __init__(
        self, links: int, planned: list[tuple[np.ndarray, np.ndarray]] | None = None
    ) -> None:
        self.starts: list[list[int]] = [[] for _ in range(links)]
        self.ends: list[list[int]] = [[] for _ in range(links)]
        if planned is not None and len(planned) != links:
            raise ValueError(f"planned intervals for {len(planned)} links, expected {links}")
        self.planned: list[tuple[array[int], array[int]]] = [
            (
                array("q", starts.astype(np.int64).tobytes()),
                array("q", ends.astype(np.int64).tobytes()),
            )
            for starts, ends in (planned or [])
        ] or [(array("q"), array("q")) for _ in range(links)]
        self.any_planned = any(len(ends) for _, ends in self.planned)

    def earliest(self, route: Route, duration_ps: int, t_ps: int) -> int:
        """The first t0 >= t_ps at which [t0 + offset, t0 + offset + duration) is free on
        every (link, offset) of the route."""
        t0 = t_ps
        if duration_ps <= 0:
            return t0
        # conflict_end(link, begin, begin + duration_ps) written out (the planning pass and
        # the time-triggered run call this once per packet)
        planned, booked_starts, booked_ends = self.planned, self.starts, self.ends
        any_planned = self.any_planned
        ends: array[int] | list[int]  # a link's planned ends, then its booked ends
        moved = True
        while moved:
            moved = False
            for link, offset in route:
                begin = t0 + offset
                if any_planned:
                    starts, ends = planned[link]
                    index = bisect_right(ends, begin)  # first interval ending after begin
                    if index < len(ends) and starts[index] < begin + duration_ps:
                        t0 = ends[index] - offset  # try again after that interval
                        moved = True
                        break
                ends = booked_ends[link]
                if not ends or ends[-1] <= begin:  # after every booking (the usual case)
                    continue
                index = bisect_right(ends, begin)  # first booking ending after begin
                if booked_starts[link][index] < begin + duration_ps:
                    t0 = ends[index] - offset
                    moved = True
                    break
        return t0

    def conflict_end(self, link: int, start: int, end: int) -> int:
        """End of the first reservation of the link meeting [start, end); -1 if none."""
        for starts, ends in (self.planned[link], (self.starts[link], self.ends[link])):
            index = bisect_right(ends, start)  # first interval ending after start
            if index < len(ends) and starts[index] < end:
                return ends[index]
        return -1

    def book(self, route: Route, duration_ps: int, t0_ps: int) -> None:
        """Reserve the packet's interval on every link; ValueError if one is not free."""
        if duration_ps <= 0:
            return
        for link, offset in route:
            start = t0_ps + offset
            if self.conflict_end(link, start, start + duration_ps) >= 0:
                raise ValueError(
                    f"link {link}: [{start}, {start + duration_ps}) overlaps a reservation"
                )
        for link, offset in route:
            self._insert(link, t0_ps + offset, t0_ps + offset + duration_ps)

    def book_earliest(self, route: Route, duration_ps: int, t_ps: int) -> int:
        """Book the packet at ``earliest(...)`` (free by construction); returns t0."""
        t0 = self.earliest(route, duration_ps, t_ps)
        if duration_ps <= 0:
            return t0
        booked_starts, booked_ends = self.starts, self.ends
        for link, offset in route:
            start = t0 + offset
            ends = booked_ends[link]
            if ends and ends[-1] == start:  # extends the link's last booking (the usual case)
                ends[-1] = start + duration_ps
            elif not ends or ends[-1] < start:  # after every booking
                booked_starts[link].append(start)
                ends.append(start + duration_ps)
            else:
                self._insert(link, start, start + duration_ps)
        return t0

    def _insert(self, link: int, start: int, end: int) -> None:
        """Add a free interval to the link's bookings, merged with touching ones."""
        starts, ends = self.starts[link], self.ends[link]
        index = bisect_left(starts, start)
        joins_previous = index > 0 and ends[index - 1] == start
        joins_next = index < len(starts) and starts[index] == end
        if joins_previous and joins_next:
            ends[index - 1] = ends[index]
            del starts[index], ends[index]
        elif joins_previous:
            ends[index - 1] = end
        elif joins_next:
            starts[index] = start
        else:
            starts.insert(index, start)
            ends.insert(index, end)

    def forget_before(self, t_ps: int) -> None:
        """Drop bookings that end at or before t_ps (no later booking can meet them)."""
        for starts, ends in zip(self.starts, self.ends, strict=True):
            if len(ends) > _PRUNE_ROWS and ends[_PRUNE_ROWS - 1] <= t_ps:
                count = bisect_right(ends, t_ps)
                del starts[:count], ends[:count]


def merged_intervals(
    links: int, link: np.ndarray, start_ps: np.ndarray, end_ps: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per link, the sorted (starts, ends) of the given reservations, touching ones merged;
    ValueError if two reservations of one link overlap."""
    order = np.lexsort((start_ps, link))
    link, start_ps, end_ps = link[order], start_ps[order], end_ps[order]
    cuts = np.searchsorted(link, np.arange(links + 1))
    merged = []
    for index in range(links):
        starts = start_ps[cuts[index] : cuts[index + 1]]
        ends = end_ps[cuts[index] : cuts[index + 1]]
        if np.any(starts[1:] < ends[:-1]):
            raise ValueError(f"link {index}: reservations overlap")
        # an interval that does not start where the previous one ends opens a group
        opens = np.ones(len(starts), bool)
        opens[1:] = starts[1:] != ends[:-1]
        closes = np.append(opens[1:], True)[: len(starts)]
        merged.append((starts[opens].copy(), ends[closes].copy()))
    return merged
