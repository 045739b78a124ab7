"""Deterministic NoC: the same mesh links, shared by static bandwidth reservation.

Before time 0 the mapper computes a reservation table (see ``archsim.mapping.noc_schedule``):
every flow (source, destination, transfer kind) of the program owns ``slots`` of every
``period`` link cycles on each link of its XY route. At run time a transfer uses only its
flow's slots: it never waits on another flow, and its duration is a fixed function of its
size, ceil(bytes x period / (width x slots)) + hops x hop latency cycles. Transfers of the
same flow follow one another (queueing inside a flow is reported apart from contention).
The cost of determinism is what the reservation leaves unused and the lower per-flow rate.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from archsim.config import InterconnectConfig
from archsim.domain import ComponentKind, InterconnectKind, StallCause, TransferKind
from archsim.errors import SimulationError
from archsim.hw.component import Component
from archsim.hw.interconnect.base import Interconnect, PortTime
from archsim.hw.interconnect.topology import MeshTopology
from archsim.sim.resources import FifoResource
from archsim.mapping.noc_schedule import Flow, ReservationTable
from archsim.mapping.program import Endpoint
from archsim.sim.runtime import TransferTiming
from archsim.trace import Recorder


class DeterministicNoc(Interconnect):
    """A contention-free NoC driven by a static reservation table."""

    kind = InterconnectKind.DETERMINISTIC

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: InterconnectConfig,
        env: simpy.Environment,
        recorder: Recorder,
        topology: MeshTopology,
        table: ReservationTable,
    ) -> None:
        super().__init__(parent, name, cfg, env, recorder)
        self.topology = topology
        self.table = table
        self.flow_channels = {flow: FifoResource(env, 1) for flow in table.slots}
        reserved = table.reserved_slots_per_link(topology)
        for index, link_name in enumerate(topology.link_names):
            stats = self._add_link(f"{self.path}.link{link_name}", ComponentKind.LINK.value)
            stats.reserved_slots = reserved[index]
            stats.period_slots = table.period
        self.flow_queue_ps = 0

    def hops(self, src: Endpoint, dst: Endpoint) -> int:
        """Routers traversed on the XY route."""
        return self.topology.route(src, dst).hops

    def transfer_ps(self, flow: Flow, nbytes: int) -> int:
        """Fixed duration of a transfer of nbytes on a flow (no waiting included)."""
        slots = self.table.slots[flow]
        cycles = -(-nbytes * self.table.period // (self.width * slots))
        route = self.topology.route(flow[0], flow[1])
        return cycles * self.period_ps + route.hops * self.hop_latency_ps

    def send(
        self,
        src: Endpoint,
        dst: Endpoint,
        nbytes: int,
        kind: TransferKind,
        timing: TransferTiming,
        port_time_ps: PortTime,
        layer: int,
    ) -> Generator[simpy.Event, Any, None]:
        env = self.env
        flow: Flow = (src, dst, kind)
        channel = self.flow_channels.get(flow)
        if channel is None:
            raise SimulationError(f"flow {src}->{dst} ({kind.name}) has no reservation")
        route = self.topology.route(src, dst)
        timing.hops = route.hops
        t_request = int(env.now)
        waiting = channel.acquire()
        if waiting is not None:
            yield waiting
        t_grant = int(env.now)
        network_ps = self.transfer_ps(flow, nbytes)
        port_ps = port_time_ps(nbytes)
        hold = max(network_ps, port_ps)
        yield env.timeout(hold)
        channel.release()
        timing.t_grant = t_grant
        wait = t_grant - t_request
        self.flow_queue_ps += wait
        timing.interconnect_wait += wait
        timing.add_phase(t_request, t_grant, StallCause.INTERCONNECT)
        if port_ps > network_ps:
            timing.sram += hold
            timing.add_phase(t_grant, t_grant + hold, StallCause.SRAM)
        else:
            timing.interconnect += hold
            timing.add_phase(t_grant, t_grant + hold, StallCause.INTERCONNECT)
        # Flows share a link in time slices, so per-link state intervals would overlap:
        # links keep totals only (busy = the cycles the bytes really occupy the link).
        link_busy_ps = self.serialization_ps(nbytes)
        for link in route.links:
            stats = self.links[link]
            stats.busy_ps += link_busy_ps
            stats.bytes += nbytes
        self.bytes_moved += nbytes
        self.byte_hops += nbytes * route.hops
