"""Deterministic NoC: the same mesh links, shared by static bandwidth reservation.

Before time 0 the mapper computes one reservation table per epoch (see
``archsim.mapping.noc_schedule``): every flow (source, destination, transfer kind) owns
``slots`` of every ``period`` link cycles on each link of its XY route. At run time a
transfer first waits for its epoch's table to be in force (the previous epoch drained),
then uses only its flow's slots: it never waits on another flow, and its duration is a
fixed function of its size, ceil(bytes x period / (width x slots)) + hops x hop latency
cycles. A multicast flow owns its slots on every link of its tree and reaches its farthest
destination after that destination's hops. Transfers of the same flow follow one another
(queueing inside a flow and waiting for the epoch are reported apart from contention,
which is zero by construction).
The cost of determinism: reserved-but-unused link time, a per-flow rate below the raw link
rate, and epochs that cannot overlap. With several engines every engine's epochs run as a
lane of their own, each lane owning 1/lanes of every link (see ``noc_schedule``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from archsim.config import InterconnectConfig
from archsim.domain import InterconnectKind
from archsim.errors import SimulationError
from archsim.hw.component import Component
from archsim.hw.interconnect.base import InterconnectSite, MeshNetwork, PortTime
from archsim.mapping.noc_schedule import Flow, NocSchedule, flow_links, flow_of
from archsim.mapping.program import TransferOp
from archsim.mapping.topology import MeshTopology
from archsim.sim.environment import PicosecondEnvironment
from archsim.sim.resources import FifoResource
from archsim.sim.runtime import TransferTiming
from archsim.trace import Recorder


class DeterministicNoc(MeshNetwork):
    """A contention-free NoC driven by static, per-epoch reservation tables."""

    kind = InterconnectKind.DETERMINISTIC

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: InterconnectConfig,
        env: PicosecondEnvironment,
        recorder: Recorder,
        topology: MeshTopology,
        schedule: NocSchedule,
    ) -> None:
        super().__init__(parent, name, cfg, env, recorder, topology)
        self.schedule = schedule
        distinct = list({id(table): table for table in schedule.tables.values()}.values())
        flows = {flow for table in distinct for flow in table.slots}
        self.flow_channels = {flow: FifoResource(env, 1) for flow in sorted(flows)}
        for stats in self.links:
            stats.reserved_ps = 0
        per_table = {id(table): table.reserved_slots_per_link(topology) for table in distinct}
        self.reserved_per_link = {
            epoch: per_table[id(table)] for epoch, table in schedule.tables.items()
        }
        self.lanes = schedule.lanes
        self.epochs = [
            [epoch for epoch in schedule.epochs if epoch % self.lanes == lane]
            for lane in range(self.lanes)
        ]  # per lane, in the order they run
        self.remaining = dict(schedule.transfers)
        self.gates = {epoch: env.event() for epoch in schedule.epochs}
        self.current = [0] * self.lanes
        self.t_open_ps = [0] * self.lanes
        self.flow_queue_ps = 0
        self.flow_bytes = dict.fromkeys(self.flow_channels, 0)
        self.flow_busy_ps = dict.fromkeys(self.flow_channels, 0)
        for epochs in self.epochs:
            if epochs:
                self.gates[epochs[0]].succeed()

    @classmethod
    def build(cls, site: InterconnectSite) -> DeterministicNoc:
        """The chip's deterministic NoC, ``chip.noc``, on the site's topology and schedule."""
        topology = site.mesh_topology("a deterministic NoC")
        if not isinstance(site.schedule, NocSchedule):
            raise ValueError("a per-layer-share NoC needs its reservation tables before time 0")
        return cls(site.parent, "noc", site.cfg, site.env, site.recorder, topology, site.schedule)

    def admission(self, op: TransferOp) -> simpy.Event | None:
        """The gate of the transfer's epoch, until that epoch's table is in force."""
        gate = self.gates[op.epoch]
        return None if gate.processed else gate

    def transfer_ps(self, epoch: int, flow: Flow, nbytes: int) -> int:
        """Fixed duration of a transfer of nbytes on a flow in an epoch (no waiting)."""
        table = self.schedule.tables[epoch]
        period = table.period * self.lanes  # each lane owns 1/lanes of every link
        cycles = -(-nbytes * period // (self.width * table.slots[flow]))
        depths = self.topology.footprint(flow[0], flow[1])[1]
        return cycles * self.period_ps + depths[-1] * self.hop_latency_ps  # farthest one

    def send(
        self, op: TransferOp, timing: TransferTiming, port_time_ps: PortTime
    ) -> Generator[simpy.Event, Any, None]:
        env = self.env
        flow = flow_of(op)
        table = self.schedule.tables.get(op.epoch)
        if table is None or flow not in table.slots:
            raise SimulationError(f"flow {op.src}->{op.dst} ({op.kind.name}) has no reservation")
        hops = len(flow_links(flow, self.topology)) - 1
        timing.hops = hops
        if not self.gates[op.epoch].processed:
            raise SimulationError(f"transfer {op.id} sent before its epoch {op.epoch} began")
        t_request = env._now
        channel = self.flow_channels[flow]
        waiting = channel.acquire()
        if waiting is not None:
            yield waiting
        t_grant = env._now
        network_ps = self.transfer_ps(op.epoch, flow, op.nbytes)
        port_ps = port_time_ps(op.nbytes)
        hold = max(network_ps, port_ps)
        yield env.timeout(hold)
        channel.release()
        timing.t_grant = t_grant
        self.flow_queue_ps += t_grant - t_request
        self.account_hold(timing, t_request, t_grant, network_ps, port_ps, contended=False)
        # Flows share a link in time slices; links get their totals from the flows at the
        # end of the run (busy = the cycles the bytes really occupy a link).
        self.flow_bytes[flow] += op.nbytes
        self.flow_busy_ps[flow] += self.serialization_ps(op.nbytes)
        self.account_sent(op, hops)
        self.remaining[op.epoch] -= 1
        self._advance(op.epoch % self.lanes)

    def skip(self, op: TransferOp) -> None:
        """A dropped frame's transfer: its epoch no longer waits for it."""
        self.remaining[op.epoch] -= 1
        self._advance(op.epoch % self.lanes)

    def finish(self) -> None:
        """Add every flow's bytes and busy time to the links of its route."""
        for flow, nbytes in self.flow_bytes.items():
            for link in flow_links(flow, self.topology):
                stats = self.links[link]
                stats.bytes += nbytes
                stats.busy_ps += self.flow_busy_ps[flow]

    def _advance(self, lane: int) -> None:
        """Close the lane's drained epochs in order and put its next table in force."""
        epochs = self.epochs[lane]
        now = self.env._now
        current = self.current[lane]
        while current < len(epochs) and self.remaining[epochs[current]] == 0:
            epoch = epochs[current]
            period = self.schedule.tables[epoch].period * self.lanes
            opened = self.t_open_ps[lane]
            for stats, slots in zip(self.links, self.reserved_per_link[epoch], strict=True):
                stats.reserved_ps += slots * (now - opened) // period
            current += 1
            self.t_open_ps[lane] = now
            if current < len(epochs):
                self.gates[epochs[current]].succeed()
        self.current[lane] = current
