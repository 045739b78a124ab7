"""Wormhole switching at packet granularity: link state and the closed forms of a packet's
flit pipeline (derivation in docs/MODEL.md, "Mesh").

A link is one flit per cycle of bandwidth plus ``virtual_channels`` input buffers of
``buffer_flits`` flits at its far end. A packet's head wins a link (a free virtual channel
and the link's bandwidth) at its grant time; its flits then stream behind the head. The
link's bandwidth is booked for the packet's flit time from the grant; the virtual channel
is the packet's until its tail has left that buffer (crossed the next link). That time
follows from the grant times of the links ahead (``tail_crossed_ps``), so it is known only
once the head has gone far enough: until then the channel is ``UNKNOWN`` and a requester
that needs it waits for the holder to announce it.

Invariant: a release time is announced no later than it happens, and a grant is never
earlier than the simulation time at which it is made, so no link or channel is ever
granted twice over the same time.
"""

from __future__ import annotations

from collections import deque

import simpy

from archsim.sim.events import LeanEvent

UNKNOWN = -1
"""Release time of a virtual channel whose holder has not gone far enough yet."""

Grant = tuple[int, int]
"""(grant time in ps, virtual channel index)."""


class _Waiter:
    """A head waiting for a link: when it was ready, which virtual channels it may use and
    how long its flits take on the link."""

    __slots__ = ("event", "ready_ps", "first_vc", "end_vc", "stream_ps")

    def __init__(
        self, event: simpy.Event, ready_ps: int, first_vc: int, end_vc: int, stream_ps: int
    ) -> None:
        self.event = event
        self.ready_ps = ready_ps
        self.first_vc = first_vc
        self.end_vc = end_vc
        self.stream_ps = stream_ps


class WormholeLink:
    """The bandwidth and virtual channels of one link, granted to packet heads.

    Grants go in request order among the requesters that have a virtual channel of their
    class; a grant takes the virtual channel that is known to free first, at the latest of
    the head being ready, the bandwidth and that channel being free.
    """

    __slots__ = ("env", "free_ps", "vc_free_ps", "waiters")

    def __init__(self, env: simpy.Environment, virtual_channels: int) -> None:
        self.env = env
        self.free_ps = 0  # when the bandwidth is free (the last grant + its flit time)
        self.vc_free_ps = [0] * virtual_channels
        self.waiters: deque[_Waiter] = deque()

    def request(self, ready_ps: int, first_vc: int, end_vc: int, stream_ps: int) -> Grant | None:
        """Grant now (a grant time >= ready_ps) or None: then ``wait`` for one."""
        vc = self._earliest_vc(first_vc, end_vc)
        if vc < 0:
            return None
        return self._take(ready_ps, vc, stream_ps)

    def wait(self, ready_ps: int, first_vc: int, end_vc: int, stream_ps: int) -> simpy.Event:
        """An event whose value is the Grant, triggered when the link can make it."""
        event = LeanEvent(self.env)
        self.waiters.append(_Waiter(event, ready_ps, first_vc, end_vc, stream_ps))
        return event

    def release(self, vc: int, vc_free_ps: int) -> None:
        """Announce when virtual channel ``vc`` frees; serve a waiter that can now go."""
        self.vc_free_ps[vc] = vc_free_ps
        if self.waiters:
            self._serve()

    def _earliest_vc(self, first_vc: int, end_vc: int) -> int:
        best, best_ps = -1, 0
        free = self.vc_free_ps
        for vc in range(first_vc, end_vc):
            t = free[vc]
            if t != UNKNOWN and (best < 0 or t < best_ps):
                best, best_ps = vc, t
        return best

    def _take(self, ready_ps: int, vc: int, stream_ps: int) -> Grant:
        # max(ready_ps, self.free_ps, self.vc_free_ps[vc]) without the call (once per hop)
        grant = ready_ps if ready_ps > self.free_ps else self.free_ps
        vc_free = self.vc_free_ps[vc]
        if vc_free > grant:
            grant = vc_free
        self.free_ps = grant + stream_ps
        self.vc_free_ps[vc] = UNKNOWN
        return grant, vc

    def _serve(self) -> None:
        """Grant the first waiter that has a virtual channel of its class."""
        tried: list[int] = []  # first_vc of the classes found without a channel
        for index, waiter in enumerate(self.waiters):
            if waiter.first_vc in tried:
                continue
            vc = self._earliest_vc(waiter.first_vc, waiter.end_vc)
            if vc >= 0:
                del self.waiters[index]
                waiter.event.succeed(self._take(waiter.ready_ps, vc, waiter.stream_ps))
                return
            tried.append(waiter.first_vc)


def hops_ahead(flits: int, buffer_flits: int) -> int:
    """How many links beyond link i can still hold back the tail on link i: a packet's
    body spans its head's link and up to this many buffers behind it."""
    return (flits - 1) // buffer_flits


def tail_crossed_ps(
    grants: list[int], link: int, last: int, stream_ps: int, flits: int, buffer_flits: int
) -> int:
    """When the packet's tail has crossed ``link``, given the grants of links up to ``last``.

    tail_i = max over k in [i, min(i + hops_ahead, last)] of
    grant_k + stream - (k - i) x buffer_flits x stream / flits: the flits beyond the
    buffers between link i and the head's link k wait for the head to win link k.
    """
    stream_per_buffer = buffer_flits * stream_ps
    tail = grants[link] + stream_ps
    end = link + hops_ahead(flits, buffer_flits)
    if end > last:
        end = last
    for k in range(link + 1, end + 1):
        candidate = grants[k] + stream_ps - ((k - link) * stream_per_buffer) // flits
        if candidate > tail:
            tail = candidate
    return tail


TailTerm = tuple[int, int, int]
"""(link k, routers up from link i to the branch point, links down from it to k)."""


def tree_tail_terms(
    parents: tuple[int, ...], children: list[list[int]], ahead: int
) -> list[list[TailTerm]]:
    """Per link of a multicast tree: the links whose grants bound when its tail crosses it.

    A flit leaves the buffer at a link's far end once every branch it feeds has taken it,
    and crosses a link one router delay after its parent link: so on link i it waits for
    the flits ``ahead`` or fewer links down i's own subtree, and, through every branch point
    above i, for those down the other branches (a blocked sibling fills the shared buffer
    and stalls everything behind it). Terms that a shorter path dominates are left out.
    """
    terms: list[list[TailTerm]] = []
    for link in range(len(parents)):
        mine: list[TailTerm] = []
        up, came_from = 0, -1
        point = link
        while point >= 0:
            frontier = [point] if up == 0 else [c for c in children[point] if c != came_from]
            down = 0 if up == 0 else 1
            while frontier and down <= ahead:
                mine.extend((k, up, down) for k in frontier)
                frontier = [c for k in frontier for c in children[k]]
                down += 1
            came_from, point, up = point, parents[point], up + 1
        terms.append(mine)
    return terms


def tree_tail_ps(
    grants: list[int],
    terms: list[TailTerm],
    stream_ps: int,
    flits: int,
    buffer_flits: int,
    hop_ps: int,
) -> int:
    """When the tail has crossed a tree link with ``terms`` (``tree_tail_terms``):
    max over them of grant_k + stream + up x hop - down x buffer_flits x stream / flits."""
    stream_per_buffer = buffer_flits * stream_ps
    return max(
        grants[k] + stream_ps + up * hop_ps - (down * stream_per_buffer) // flits
        for k, up, down in terms
    )
