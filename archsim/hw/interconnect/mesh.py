"""Blocking 2D mesh with XY routing and wormhole-style flow control.

Transfers are split into packets of at most ``max_packet_bytes``. A packet acquires the
links of its route in order (injection, router links, ejection), holding those it already
has while it waits for the next one (head-of-line blocking), then holds all of them for
hops x hop latency + ceil(bytes / width) cycles. Zero-load latency is therefore exactly
hops x router delay + size / link bandwidth. A link held while its packet waits for a link
further along is recorded as blocked (state STALL_INTERCONNECT on the link).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from archsim.config import InterconnectConfig
from archsim.domain import ComponentKind, InterconnectKind, State
from archsim.hw.component import Component
from archsim.hw.interconnect.base import Interconnect, InterconnectSite, PortTime
from archsim.mapping.program import Endpoint, TransferOp
from archsim.mapping.topology import MeshTopology
from archsim.sim.resources import FifoResource
from archsim.sim.runtime import TransferTiming
from archsim.trace import Recorder
from archsim.trace.recorder import LAYER_TAG_STRIDE


class Mesh(Interconnect):
    """A blocking mesh network on chip."""

    kind = InterconnectKind.MESH

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: InterconnectConfig,
        env: simpy.Environment,
        recorder: Recorder,
        topology: MeshTopology,
    ) -> None:
        super().__init__(parent, name, cfg, env, recorder)
        self.topology = topology
        self.resources = [FifoResource(env, 1) for _ in topology.link_names]
        for link_name in topology.link_names:
            self._add_link(f"{self.path}.{link_name}", ComponentKind.LINK.value)

    @classmethod
    def build(cls, site: InterconnectSite) -> Mesh:
        """The chip's mesh, ``chip.noc``, on the site's topology."""
        if site.topology is None:
            raise ValueError("a mesh needs its topology (the config's mesh block)")
        return cls(site.parent, "noc", site.cfg, site.env, site.recorder, site.topology)

    def hops(self, src: Endpoint, dst: Endpoint) -> int:
        """Routers traversed on the XY route."""
        return self.topology.route(src, dst).hops

    def send(
        self, op: TransferOp, timing: TransferTiming, port_time_ps: PortTime
    ) -> Generator[simpy.Event, Any, None]:
        env = self.env
        layer = op.layer + op.frame * LAYER_TAG_STRIDE  # layer tag of the trace's states
        tracing = self.recorder.enabled
        route = self.topology.route(op.src, op.dst)
        resources = [self.resources[i] for i in route.links]
        latency_ps = route.hops * self.hop_latency_ps
        timing.hops = route.hops
        remaining = op.nbytes
        while remaining > 0:
            size = min(remaining, self.max_packet_bytes)
            remaining -= size
            t_request = int(env.now)
            taken: list[int] = []  # when each link of the route was taken
            for resource in resources:  # in route order, holding what is already taken
                waiting = resource.acquire()
                if waiting is not None:
                    yield waiting
                taken.append(int(env.now))
            t_grant = int(env.now)
            network_ps = latency_ps + self.serialization_ps(size)
            port_ps = port_time_ps(size)
            hold = max(network_ps, port_ps)
            yield env.timeout(hold)
            for resource in resources:
                resource.release()
            if timing.t_grant < 0:
                timing.t_grant = t_grant
            self.account_hold(timing, t_request, t_grant, network_ps, port_ps, contended=True)
            for link, t_taken in zip(route.links, taken, strict=True):
                stats = self.links[link]
                stats.busy_ps += hold
                stats.blocked_ps += t_grant - t_taken
                stats.bytes += size
                if tracing:
                    # held while the packet waited for links further along: blocked
                    record = self.recorder.state
                    record(stats.component_id, State.STALL_INTERCONNECT, t_taken, t_grant, layer)
                    record(stats.component_id, State.BUSY, t_grant, t_grant + hold, layer)
        self.bytes_moved += op.nbytes
        self.byte_hops += op.nbytes * route.hops
