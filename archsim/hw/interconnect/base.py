"""The one interface every interconnect kind implements."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Self

import simpy

from archsim.config import InterconnectConfig
from archsim.domain import ComponentKind, InterconnectKind, StallCause
from archsim.hw.component import Component
from archsim.mapping.noc_schedule import NocSchedule
from archsim.mapping.program import Endpoint, TransferOp
from archsim.mapping.topology import MeshTopology
from archsim.mapping.transfer_plan import TransferPlan
from archsim.sim.environment import PicosecondEnvironment
from archsim.sim.runtime import TransferTiming
from archsim.trace import Recorder
from archsim.units import clock_period_ps

PortTime = Callable[[int], int]


@dataclass
class LinkStats:
    """Totals of one interconnect resource (the bus, or one mesh link)."""

    component_id: int
    name: str
    bytes: int = 0
    busy_ps: int = 0
    blocked_ps: int = 0  # held while waiting for the rest of a route (mesh head-of-line)
    reserved_ps: int = -1  # link time reserved by a static schedule; -1 without one


@dataclass(frozen=True)
class InterconnectSite:
    """What an interconnect is built from: where it sits in the component tree, its config,
    the endpoints it connects, and (mesh kinds) their topology and static schedule."""

    parent: Component
    cfg: InterconnectConfig
    env: PicosecondEnvironment
    recorder: Recorder
    endpoints: tuple[Endpoint, ...]  # every cluster, SRAM bank and DRAM port
    topology: MeshTopology | None = None  # None when the config has no mesh block
    # a deterministic NoC's static schedule: per-layer tables or the time-triggered plan
    schedule: NocSchedule | TransferPlan | None = None

    def mesh_topology(self, network: str) -> MeshTopology:
        """The topology a mesh-routed ``network`` (e.g. "a mesh") is built on."""
        if self.topology is None:
            raise ValueError(f"{network} needs its topology (the config's mesh block)")
        return self.topology


class Interconnect(Component):
    """Moves bytes between endpoints. ``send`` is a generator run inside the caller's process.

    ``port_time_ps`` gives the time the SRAM port at one end needs for a given size: a
    transfer streams at the slower of the network and the port.
    """

    kind: InterconnectKind

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: InterconnectConfig,
        env: PicosecondEnvironment,
        recorder: Recorder,
    ) -> None:
        super().__init__(parent, name)
        self.env = env
        self.recorder = recorder
        self.width = cfg.link_bytes_per_cycle
        self.period_ps = clock_period_ps(cfg.clock_mhz)
        self.hop_latency_ps = cfg.hop_latency_cycles * self.period_ps
        self.max_packet_bytes = cfg.max_packet_bytes
        self.links: list[LinkStats] = []
        self.bytes_moved = 0  # payload bytes put on the network (a multicast's once)
        self.byte_hops = 0  # bytes x links crossed beyond the injection link
        self.admission_wait_ps = 0
        self.multicast = cfg.multicast
        self.multicast_transfers = 0
        self.multicast_deliveries = 0  # destinations of the multicast transfers
        self.fanout_bytes = 0  # bytes delivered beyond each multicast's first destination
        self.byte_hops_saved = 0  # byte-hops the multicasts would have cost as unicasts

    @classmethod
    def build(cls, site: InterconnectSite) -> Self:
        """The interconnect of this kind at ``site`` (each kind names its component)."""
        raise NotImplementedError

    def admission(self, op: TransferOp) -> simpy.Event | None:
        """An event to wait for before the transfer may take any resource (None: go now).

        Requesters must wait for it before they take an SRAM port, so that a transfer the
        network cannot admit yet never holds what an admitted one needs.
        """
        return None

    def send(
        self, op: TransferOp, timing: TransferTiming, port_time_ps: PortTime
    ) -> Generator[simpy.Event, Any, None]:
        """Move the op's bytes from src to dst; fills the interconnect phases of ``timing``."""
        raise NotImplementedError

    def skip(self, op: TransferOp) -> None:
        """A transfer of a dropped frame will never be sent (kinds that count them)."""

    def finish(self) -> None:
        """Complete per-link totals at the end of the run (kinds that defer them)."""

    def hops(self, src: Endpoint, dst: Endpoint) -> int:
        """Routers (or bus stages) a transfer from src to dst traverses."""
        raise NotImplementedError

    @staticmethod
    def account_hold(
        timing: TransferTiming,
        t_request: int,
        t_grant: int,
        network_ps: int,
        port_ps: int,
        contended: bool,
    ) -> int:
        """Record a wait from t_request to t_grant and a hold of max(network, port) time.

        The hold is blamed on the SRAM port when the port, not the network, set its length.
        ``contended``: the wait was for resources other flows hold (it counts as contention).
        Returns the hold time. (Called once per packet: kept free of calls it can skip.)
        """
        if t_grant > t_request:
            wait = t_grant - t_request
            timing.interconnect_wait += wait
            if contended:
                timing.contention += wait
            timing.add_phase(t_request, t_grant, StallCause.INTERCONNECT)
        if port_ps > network_ps:
            timing.sram += port_ps
            hold, cause = port_ps, StallCause.SRAM
        else:
            timing.interconnect += network_ps
            hold, cause = network_ps, StallCause.INTERCONNECT
        # timing.add_phase(t_grant, t_grant + hold, cause) written out (hold > 0)
        phases = timing.phases
        if phases and phases[-1][2] is cause and phases[-1][1] == t_grant:
            phases[-1] = (phases[-1][0], t_grant + hold, cause)
        else:
            phases.append((t_grant, t_grant + hold, cause))
        return hold

    def account_multicast(self, op: TransferOp, hops: int, unicast_hops: int) -> None:
        """Count a multicast sent once over ``hops`` (links beyond the injection link)
        instead of once per destination over ``unicast_hops`` in all."""
        self.multicast_transfers += 1
        self.multicast_deliveries += len(op.fanout) + 1
        self.fanout_bytes += op.nbytes * len(op.fanout)
        self.byte_hops_saved += op.nbytes * (unicast_hops - hops)

    def serialization_ps(self, nbytes: int) -> int:
        """Time nbytes take on one link at full width."""
        return -(-nbytes // self.width) * self.period_ps

    def _add_link(self, name: str, kind: str) -> LinkStats:
        stats = LinkStats(self.recorder.add_component(name, kind), name)
        self.links.append(stats)
        return stats


class MeshNetwork(Interconnect):
    """An interconnect whose endpoints sit on the routers of a mesh (or torus) topology:
    one ``LinkStats`` per topology link, in link order, and hops along the routed path."""

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: InterconnectConfig,
        env: PicosecondEnvironment,
        recorder: Recorder,
        topology: MeshTopology,
    ) -> None:
        super().__init__(parent, name, cfg, env, recorder)
        self.topology = topology
        for link_name in topology.link_names:
            self._add_link(f"{self.path}.{link_name}", ComponentKind.LINK.value)

    def hops(self, src: Endpoint, dst: Endpoint) -> int:
        """Routers traversed on the route from src to dst."""
        return self.topology.route(src, dst).hops

    def account_sent(self, op: TransferOp, hops: int) -> None:
        """Count a delivered transfer's bytes and byte-hops (``hops``: links of its route
        or tree beyond the injection link, each carrying the bytes once)."""
        self.bytes_moved += op.nbytes
        self.byte_hops += op.nbytes * hops
        if op.fanout:
            tree = self.topology.tree(op.src, op.destinations)
            self.account_multicast(op, hops, tree.unicast_hops)
