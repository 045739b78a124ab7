"""Blocking 2D mesh (or torus) with dimension-order routing and wormhole switching.

Transfers are split into packets of at most ``max_packet_bytes``; a packet is
ceil(bytes / link width) flits. Its head crosses the route one router per hop latency,
winning each link (a free virtual channel and the link's bandwidth) in request order; its
body streams behind it at one flit per cycle (or the SRAM port's rate, if slower). A link's
bandwidth is booked for the packet's flit time from the head's grant; a virtual channel is
the packet's until its tail has left that channel's buffer. When the head waits, the body
piles into the buffers behind it (``buffer_flits`` per virtual channel) and, once they are
full, keeps the channels of the links it still occupies (head-of-line blocking: with one
virtual channel those links are closed to every other packet). Release times follow from
the head's grants in closed form (``archsim.hw.interconnect.wormhole``): one event per
packet per hop, no per-flit events. Zero-load latency is exactly hops x router delay +
size / link bandwidth.

Per link: ``busy_ps`` is flit time; ``blocked_ps`` the time, beyond the zero-load hold,
that packets kept the link's virtual channels while blocked further along (summed over the
channels). The trace shows flit time as busy and, with one virtual channel, the blocked
time (when the link is closed to others) as a stall.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from archsim.config import InterconnectConfig
from archsim.domain import InterconnectKind, State
from archsim.hw.component import Component
from archsim.hw.interconnect.base import InterconnectSite, MeshNetwork, PortTime
from archsim.hw.interconnect.wormhole import (
    TailTerm,
    WormholeLink,
    hops_ahead,
    tail_crossed_ps,
    tree_tail_ps,
    tree_tail_terms,
)
from archsim.mapping.program import Endpoint, TransferOp
from archsim.mapping.topology import MeshTopology, Route, Tree
from archsim.sim.environment import PicosecondEnvironment
from archsim.sim.runtime import TransferTiming
from archsim.trace import Recorder
from archsim.trace.recorder import LAYER_TAG_STRIDE

VcRange = tuple[int, int]
"""Virtual channels [first, end) a packet may take on one link."""


class Mesh(MeshNetwork):
    """A blocking wormhole network on chip (mesh or torus)."""

    kind = InterconnectKind.MESH

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: InterconnectConfig,
        env: PicosecondEnvironment,
        recorder: Recorder,
        topology: MeshTopology,
    ) -> None:
        super().__init__(parent, name, cfg, env, recorder, topology)
        self.buffer_flits = cfg.buffer_flits
        self.virtual_channels = cfg.virtual_channels
        self.channels = [WormholeLink(env, cfg.virtual_channels) for _ in topology.link_names]
        self._paths: dict[tuple[Endpoint, Endpoint], tuple[Route, list[VcRange]]] = {}
        self._trees: dict[tuple[Endpoint, tuple[Endpoint, ...]], _TreePath] = {}

    @classmethod
    def build(cls, site: InterconnectSite) -> Mesh:
        """The chip's mesh, ``chip.noc``, on the site's topology."""
        topology = site.mesh_topology("a mesh")
        return cls(site.parent, "noc", site.cfg, site.env, site.recorder, topology)

    def vc_ranges(self, route: Route) -> list[VcRange]:
        """Virtual channels usable on each link of the route.

        Any, on a mesh and on the injection and ejection links. On a torus with at least
        two virtual channels, the first half (rounded up) before the dateline of the
        current dimension and the rest after it, so no ring of buffers can wait on itself.
        """
        count = self.virtual_channels
        ranges = [(0, count)] * len(route.links)
        if not route.dateline or count < 2:
            return ranges
        split = (count + 1) // 2
        for index in range(1, len(route.links) - 1):
            ranges[index] = (split, count) if route.dateline[index] else (0, split)
        return ranges

    def _path(self, src: Endpoint, dst: Endpoint) -> tuple[Route, list[VcRange]]:
        key = (src, dst)
        path = self._paths.get(key)
        if path is None:
            route = self.topology.route(src, dst)
            path = self._paths[key] = (route, self.vc_ranges(route))
        return path

    def send(
        self, op: TransferOp, timing: TransferTiming, port_time_ps: PortTime
    ) -> Generator[simpy.Event, Any, None]:
        if op.fanout:
            yield from self._send_tree(op, timing, port_time_ps)
            return
        env = self.env
        route, ranges = self._path(op.src, op.dst)
        channels = [self.channels[i] for i in route.links]
        last = len(channels) - 1
        hop_ps = self.hop_latency_ps
        timing.hops = route.hops
        t_request = env._now  # env.now without the property call
        serialization_total = stream_total = 0
        done = t_request
        remaining = op.nbytes
        max_packet, width, period = self.max_packet_bytes, self.width, self.period_ps
        buffer_flits, release, timeout = self.buffer_flits, self._release, env.timeout
        while remaining > 0:  # packets one after another, each head hop by hop
            size = remaining if remaining < max_packet else max_packet
            remaining -= size
            flits = -(-size // width)
            serialization = flits * period
            port_ps = port_time_ps(size)
            # the body's time on each link
            stream = port_ps if port_ps > serialization else serialization
            serialization_total += serialization
            stream_total += stream
            ahead = hops_ahead(flits, buffer_flits)
            packet = _Packet(op, size, flits, stream, last + 1)
            grants, vcs = packet.grants, packet.vcs
            ready = env._now
            for k, link in enumerate(channels):
                first_vc, end_vc = ranges[k]
                granted = link.request(ready, first_vc, end_vc, stream)
                if granted is None:
                    granted = yield link.wait(ready, first_vc, end_vc, stream)
                grant, vcs[k] = granted
                grants[k] = grant
                if k >= ahead:  # the tail on link k - ahead no longer depends on the head
                    release(packet, k - ahead, route, channels)
                if k < last:
                    wait = grant - env._now
                    if wait > 0:
                        yield timeout(wait)
                    ready = grant + hop_ps
            first_held = last - ahead + 1  # the links whose tail still waited for the head
            for j in range(first_held if first_held > 0 else 0, last + 1):
                release(packet, j, route, channels)
            done = grants[last] + stream
            if timing.t_grant < 0:
                timing.t_grant = grants[0]
        yield from self._deliver(
            op, timing, t_request, done, route.hops, route.hops, serialization_total, stream_total
        )

    def _release(self, packet: _Packet, j: int, route: Route, channels: list[WormholeLink]) -> None:
        """The tail's time on link j is final: book link j and free the channel behind it."""
        grants = packet.grants
        last = len(grants) - 1
        tail = tail_crossed_ps(grants, j, last, packet.stream_ps, packet.flits, self.buffer_flits)
        self._book(packet, j, route.links)
        if j == last:  # nothing behind the ejection link holds its channel
            channels[j].release(packet.vcs[j], tail)
        if j == 0:
            return
        # the tail has left the buffer at the far end of link j - 1
        self._free(packet, j - 1, tail, route.links, channels)

    def _book(self, packet: _Packet, j: int, links: tuple[int, ...]) -> None:
        """Put the packet's bytes and flit time on link j (of ``links``)."""
        stream = packet.stream_ps
        stats = self.links[links[j]]
        stats.bytes += packet.size
        stats.busy_ps += stream
        if self.recorder.enabled:
            op = packet.op
            layer = op.layer + op.frame * LAYER_TAG_STRIDE  # layer tag of the trace's states
            grant = packet.grants[j]
            self.recorder.state(stats.component_id, State.BUSY, grant, grant + stream, layer)

    def _free(
        self,
        packet: _Packet,
        j: int,
        tail: int,
        links: tuple[int, ...],
        channels: list[WormholeLink],
    ) -> None:
        """The tail has left the buffer at the far end of link j at ``tail``: free link j's
        virtual channel then and count how long it was held beyond the zero-load hold."""
        channels[j].release(packet.vcs[j], tail)
        behind = self.links[links[j]]
        body_end = packet.grants[j] + packet.stream_ps
        blocked = tail - self.hop_latency_ps - body_end  # beyond the zero-load hold
        behind.blocked_ps += blocked
        if self.recorder.enabled and blocked > 0 and self.virtual_channels == 1:
            op = packet.op
            layer = op.layer + op.frame * LAYER_TAG_STRIDE
            self.recorder.state(
                behind.component_id,
                State.STALL_INTERCONNECT,
                body_end,
                body_end + blocked,
                layer,
            )

    # -- multicast ------------------------------------------------------------------------

    def _tree_path(self, op: TransferOp) -> _TreePath:
        key = (op.src, op.destinations)
        path = self._trees.get(key)
        if path is None:
            tree = self.topology.tree(op.src, op.destinations)
            path = self._trees[key] = _TreePath(
                tree, self.topology.link_rank, self.virtual_channels
            )
        return path

    def _send_tree(
        self, op: TransferOp, timing: TransferTiming, port_time_ps: PortTime
    ) -> Generator[simpy.Event, Any, None]:
        """A multicast: each packet's head branches at the routers of its tree, every branch
        link asked for one router delay after its parent link was won, in rising link rank
        (``MeshTopology._rank``: deadlock-free, as XY routing is); a branch that must wait
        holds up the branches asked for after it. The body streams down every branch, and a
        link's virtual channel frees once the tail has left its buffer into every branch."""
        env = self.env
        path = self._tree_path(op)
        tree = path.tree
        parents = tree.parents
        channels = [self.channels[i] for i in tree.links]
        hop_ps = self.hop_latency_ps
        timing.hops = tree.hops
        t_request = env._now
        serialization_total = stream_total = 0
        done = t_request
        remaining = op.nbytes
        while remaining > 0:  # packets one after another, each head down the whole tree
            size = min(remaining, self.max_packet_bytes)
            remaining -= size
            flits = -(-size // self.width)
            serialization = flits * self.period_ps
            stream = max(serialization, port_time_ps(size))
            serialization_total += serialization
            stream_total += stream
            ahead = hops_ahead(flits, self.buffer_flits)
            packet = _Packet(op, size, flits, stream, len(tree.links))
            terms, dependents, need = path.tails(ahead)  # need: per link, terms not yet won
            pending = [len(branches) for branches in path.children]  # branches not final
            tails = [0] * len(tree.links)  # per link: the latest tail of its final branches
            for k in path.order:
                parent = parents[k]
                ready = env._now
                if parent >= 0:
                    wait = packet.grants[parent] - ready
                    if wait > 0:
                        yield env.timeout(wait)
                    ready = packet.grants[parent] + hop_ps
                first_vc, end_vc = path.ranges[k]
                granted = channels[k].request(ready, first_vc, end_vc, stream)
                if granted is None:
                    granted = yield channels[k].wait(ready, first_vc, end_vc, stream)
                packet.grants[k], packet.vcs[k] = granted
                for j in dependents[k]:  # tails that no longer depend on the head
                    need[j] -= 1
                    if not need[j]:
                        tail = tree_tail_ps(
                            packet.grants, terms[j], stream, flits, self.buffer_flits, hop_ps
                        )
                        self._release_branch(packet, j, tail, path, channels, pending, tails)
            done = max(packet.grants[k] + stream for k in path.leaves)
            if timing.t_grant < 0:
                timing.t_grant = packet.grants[0]
        yield from self._deliver(
            op, timing, t_request, done, tree.depth, tree.hops, serialization_total, stream_total
        )

    def _deliver(
        self,
        op: TransferOp,
        timing: TransferTiming,
        t_request: int,
        done: int,
        depth: int,
        hops: int,
        serialization_ps: int,
        stream_ps: int,
    ) -> Generator[simpy.Event, Any, None]:
        """Wait until the last byte has landed (``done``) and account the transfer: its
        zero-load hold is ``depth`` router delays (to its farthest destination) plus its
        packets' flit (or SRAM port) times; the rest of the time it waited."""
        env = self.env
        wait = done - env._now
        if wait > 0:
            yield env.timeout(wait)
        pipeline_ps = depth * self.hop_latency_ps
        network_ps = pipeline_ps + serialization_ps
        port_ps = pipeline_ps + stream_ps if stream_ps > serialization_ps else 0
        hold = max(network_ps, port_ps)
        self.account_hold(timing, t_request, done - hold, network_ps, port_ps, contended=True)
        self.account_sent(op, hops)

    def _release_branch(
        self,
        packet: _Packet,
        j: int,
        tail: int,
        path: _TreePath,
        channels: list[WormholeLink],
        pending: list[int],
        tails: list[int],
    ) -> None:
        """The tail's time on tree link j is final (``tail``): book it; once every branch of
        j's parent is final, free the parent's channel at the latest of their tails."""
        tree, children = path.tree, path.children
        self._book(packet, j, tree.links)
        if not children[j]:  # an ejection link: nothing behind it holds its channel
            channels[j].release(packet.vcs[j], tail)
        parent = tree.parents[j]
        if parent < 0:
            return
        tails[parent] = max(tails[parent], tail)
        pending[parent] -= 1
        if not pending[parent]:
            self._free(packet, parent, tails[parent], tree.links, channels)


class _TreePath:
    """A multicast tree with what a packet needs to cross it: the links each link feeds,
    the order the head asks for them (rising rank), the ejection links and the virtual
    channels usable on each link."""

    __slots__ = ("tree", "children", "order", "leaves", "ranges", "_tails")

    def __init__(self, tree: Tree, ranks: list[int], virtual_channels: int) -> None:
        self.tree = tree
        self.children = tree.children
        links = tree.links
        self.order = sorted(range(len(links)), key=lambda k: (ranks[links[k]], links[k]))
        self.leaves = [k for k, branches in enumerate(self.children) if not branches]
        self._tails: dict[int, tuple[list[list[TailTerm]], list[list[int]], list[int]]] = {}
        count = virtual_channels
        self.ranges: list[VcRange] = [(0, count)] * len(tree.links)
        if tree.dateline and count >= 2:  # torus: dateline classes between the end links
            split = (count + 1) // 2
            for k, marked in enumerate(tree.dateline):
                if tree.parents[k] >= 0 and self.children[k]:
                    self.ranges[k] = (split, count) if marked else (0, split)

    def tails(self, ahead: int) -> tuple[list[list[TailTerm]], list[list[int]], list[int]]:
        """For packets whose body spans ``ahead`` buffers: per link, the terms of its tail
        (``tree_tail_terms``), per link the links whose tails it is a term of, and per link
        how many terms it has (a fresh copy: the count of grants its tail still waits for)."""
        cached = self._tails.get(ahead)
        if cached is None:
            terms = tree_tail_terms(self.tree.parents, self.children, ahead)
            dependents: list[list[int]] = [[] for _ in terms]
            for j, mine in enumerate(terms):
                for k, _, _ in mine:
                    dependents[k].append(j)
            cached = self._tails[ahead] = (terms, dependents, [len(mine) for mine in terms])
        terms, dependents, counts = cached
        return terms, dependents, list(counts)


class _Packet:
    """One packet in flight: its grant time and virtual channel on each link of its route."""

    __slots__ = ("op", "size", "flits", "stream_ps", "grants", "vcs")

    def __init__(self, op: TransferOp, size: int, flits: int, stream_ps: int, links: int) -> None:
        self.op = op
        self.size = size
        self.flits = flits
        self.stream_ps = stream_ps
        self.grants = [0] * links
        self.vcs = [0] * links
