"""Drive an architecture's interconnect alone with synthetic traffic.

One traffic node per mesh router (node i at router (i % cols, i // cols)); a bus gets
``nodes`` endpoints. Each node has one CLUSTER endpoint (the packet source, owning the
injection link) and one BANK endpoint (the sink, owning the ejection link), so a node's
injection and ejection never share a link. Every packet is one ``TransferOp`` (operand
load, layer 0, epoch 0) of ``packet_flits`` flits of ``link_bytes_per_cycle`` bytes, sent
with the interconnect's own ``send`` and a zero SRAM port time.

Injection is a Bernoulli process per node and cycle with probability
rate / packet_flits (rate in flits/node/cycle), generated up front from the seed.
Packets wait in an unbounded FIFO source queue; ``in_flight`` packets per queue may be in
the network at once (default: ``MESH_IN_FLIGHT`` on a mesh, where packets pipeline and the
injection link and its virtual channels, not the source, should limit the load; 1
elsewhere, where a queue is served in order anyway). Mesh and bus nodes keep one queue
each; the deterministic NoC's network interface keeps one queue per flow (a TDM interface
never lets one flow block another). With ``schedule: time_triggered`` every packet books,
when it leaves its queue, the earliest window free on every link of its route (the
calendar booking of the offered traffic, as the planning pass books a program's packets);
with ``per_layer_share`` one reservation table is computed from the pattern's expected
shares.

Packets generated in [warmup, warmup + cycles) are measured. Generation continues after
the window so that measured packets see steady load; the run stops when every measured
packet is delivered, or ``drain`` cycles after the window (then the point is saturated).
Latency = delivery - generation (includes source queueing); network latency = delivery
- grant (on a mesh: from the head winning its injection link, blocking in routers
included; on the deterministic NoC: its flow's slots); route wait = grant - leaving the
source queue (on a mesh: waiting for the injection link and one of its virtual channels).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from archsim.config import ArchConfig
from archsim.domain import EndpointKind, InterconnectKind, NocScheduleMode, TransferKind
from archsim.errors import UserError
from archsim.hw.component import Component
from archsim.hw.interconnect.base import Interconnect
from archsim.hw.interconnect.bus import Bus
from archsim.hw.interconnect.deterministic import DeterministicNoc
from archsim.hw.interconnect.mesh import Mesh
from archsim.hw.interconnect.time_triggered import TimeTriggeredNoc
from archsim.mapping.noc_schedule import Flow, NocSchedule, flow_links, reservation_table
from archsim.mapping.program import Endpoint, Program, TransferOp
from archsim.mapping.topology import MeshTopology, make_topology
from archsim.mapping.transfer_plan import TransferPlan
from archsim.noc.traffic import Grid, Traffic
from archsim.sim.environment import PicosecondEnvironment
from archsim.sim.runtime import TransferTiming
from archsim.trace import NullRecorder
from archsim.units import clock_period_ps

SATURATION_ACCEPTANCE = 0.95
"""A point whose accepted throughput is below this share of its injected load is saturated."""

MESH_IN_FLIGHT = 64
"""Default packets per source in a mesh at once: more than its buffers hold near saturation."""

_SHARE_SCALE = 1_000_000  # expected shares -> integer "bytes" for the reservation table


def _zero_port(nbytes: int) -> int:
    return 0


def source(node: int) -> Endpoint:
    """The endpoint a node injects from."""
    return Endpoint(EndpointKind.CLUSTER, node)


def sink(node: int) -> Endpoint:
    """The endpoint a node receives at."""
    return Endpoint(EndpointKind.BANK, node)


def flow_of(src: int, dst: int) -> Flow:
    """The deterministic-NoC flow of packets from node src to node dst."""
    return (source(src), (sink(dst),), TransferKind.OPERAND_LOAD)


@dataclass(frozen=True)
class NetworkSpec:
    """The interconnect under test and its traffic nodes."""

    arch: ArchConfig
    grid: Grid
    topology: MeshTopology | None

    @classmethod
    def from_arch(cls, arch: ArchConfig, nodes: int | None = None) -> NetworkSpec:
        """One node per router on a mesh; ``nodes`` (default: MAC clusters) on a bus.

        Only the interconnect section is used; ``interconnect.attach`` is ignored (the
        traffic nodes replace the arch's clusters, banks and DRAM ports).
        """
        mesh = arch.interconnect.mesh
        if arch.interconnect.kind is InterconnectKind.BUS or mesh is None:
            grid = Grid.for_bus(nodes if nodes is not None else arch.mac_clusters.count)
            return cls(arch, grid, None)
        grid = Grid(mesh.cols, mesh.rows)
        routers = [(i % grid.cols, i // grid.cols) for i in range(grid.nodes)]
        topology = make_topology(mesh.topology, grid.cols, grid.rows, routers, routers, [])
        return cls(arch, grid, topology)

    @property
    def kind(self) -> InterconnectKind:
        """The interconnect kind."""
        return self.arch.interconnect.kind

    @property
    def time_triggered(self) -> bool:
        """A deterministic NoC whose packets book windows in per-link calendars."""
        cfg = self.arch.interconnect
        return self.kind is InterconnectKind.DETERMINISTIC and (
            cfg.schedule is NocScheduleMode.TIME_TRIGGERED
        )

    @property
    def period_ps(self) -> int:
        """One interconnect cycle in ps."""
        return clock_period_ps(self.arch.interconnect.clock_mhz)

    def schedule(self, traffic: Traffic, packets: int) -> NocSchedule:
        """The deterministic NoC's reservation table for the traffic's expected flows."""
        assert self.topology is not None
        volume: dict[Flow, int] = {}
        for src in range(self.grid.nodes):
            for dst, share in traffic.shares(src).items():
                volume[flow_of(src, dst)] = max(1, round(share * _SHARE_SCALE))
        return NocSchedule({0: reservation_table(volume, self.topology)}, {0: packets})

    def build(
        self, env: PicosecondEnvironment, schedule: NocSchedule | None = None
    ) -> Interconnect:
        """A fresh interconnect in ``env`` (not traced: link totals are read afterwards)."""
        cfg = self.arch.interconnect
        root = Component(None, "noc_synthetic")
        recorder = NullRecorder()
        if self.topology is None:
            return Bus(root, "bus", cfg, env, recorder)
        if self.kind is InterconnectKind.MESH:
            return Mesh(root, "noc", cfg, env, recorder, self.topology)
        if self.time_triggered:
            pairs = np.ones(self.grid.nodes * self.grid.nodes, np.int64)  # one packet per op
            plan = TransferPlan.sized(Program(), pairs)
            return TimeTriggeredNoc(root, "noc", cfg, env, recorder, self.topology, plan)
        if schedule is None:
            raise ValueError("a deterministic NoC needs a schedule")
        return DeterministicNoc(root, "noc", cfg, env, recorder, self.topology, schedule)


@dataclass(frozen=True)
class RunOptions:
    """How long to run and how packets are shaped; lengths in interconnect cycles."""

    packet_flits: int = 4
    cycles: int = 20000
    warmup: int = 2000
    drain: int | None = None  # default: cycles
    in_flight: int | None = None  # default: MESH_IN_FLIGHT on a mesh, 1 elsewhere
    seed: int = 0

    def in_flight_for(self, kind: InterconnectKind) -> int:
        """Packets a source queue may have in the network at once on this kind."""
        if self.in_flight is not None:
            return self.in_flight
        return MESH_IN_FLIGHT if kind is InterconnectKind.MESH else 1

    @property
    def drain_cycles(self) -> int:
        """Cycles after the window within which every measured packet must arrive."""
        return self.cycles if self.drain is None else self.drain


@dataclass
class Packets:
    """Every packet of a run, in generation order within each source queue."""

    src: np.ndarray
    dst: np.ndarray
    t_gen: np.ndarray  # ps
    t_send: np.ndarray  # ps, -1 until the packet leaves its source queue
    t_grant: np.ndarray  # ps, -1 until granted (every link of the route held)
    t_done: np.ndarray  # ps, -1 until delivered
    contention: np.ndarray  # ps waited for other flows
    queues: list[np.ndarray] = field(default_factory=list)  # packet indices per queue

    @property
    def count(self) -> int:
        """Number of packets."""
        return len(self.src)


def generate(
    traffic: Traffic, rate: float, options: RunOptions, horizon: int, period_ps: int
) -> Packets:
    """Bernoulli arrivals for ``horizon`` cycles, seeded by (seed, rate); deterministic."""
    probability = rate / options.packet_flits
    # one stream per (seed, rate, node): a point does not depend on the other rates run
    load = np.random.SeedSequence(options.seed, spawn_key=(round(rate * 1_000_000),))
    srcs, dsts, times = [], [], []
    for node, node_seed in enumerate(load.spawn(traffic.grid.nodes)):
        if not traffic.active(node):
            continue
        node_rng = np.random.default_rng(node_seed)
        cycles = np.flatnonzero(node_rng.random(horizon) < probability)
        srcs.append(np.full(len(cycles), node, np.int64))
        dsts.append(traffic.destinations(node, len(cycles), node_rng))
        times.append(cycles.astype(np.int64) * period_ps)
    src = np.concatenate(srcs) if srcs else np.zeros(0, np.int64)
    count = len(src)
    return Packets(
        src=src,
        dst=np.concatenate(dsts) if dsts else np.zeros(0, np.int64),
        t_gen=np.concatenate(times) if times else np.zeros(0, np.int64),
        t_send=np.full(count, -1, np.int64),
        t_grant=np.full(count, -1, np.int64),
        t_done=np.full(count, -1, np.int64),
        contention=np.zeros(count, np.int64),
    )


def assign_queues(packets: Packets, per_flow: bool, nodes: int) -> None:
    """Split packets into FIFO source queues: one per node, or one per flow."""
    key = packets.src * nodes + packets.dst if per_flow else packets.src
    order = np.lexsort((packets.t_gen, key))
    sorted_keys = key[order]
    cuts = np.flatnonzero(np.diff(sorted_keys)) + 1
    packets.queues = [q for q in np.split(order, cuts) if len(q)]


@dataclass
class LinkWindow:
    """Link busy time at the start and end of the measurement window."""

    start: np.ndarray | None = None
    end: np.ndarray | None = None


class SyntheticRun:
    """One simulation of one offered load."""

    def __init__(
        self, spec: NetworkSpec, traffic: Traffic, rate: float, options: RunOptions
    ) -> None:
        self.spec = spec
        self.traffic = traffic
        self.rate = rate
        self.options = options
        self.period_ps = spec.period_ps
        self.window = (
            options.warmup * self.period_ps,
            (options.warmup + options.cycles) * self.period_ps,
        )
        horizon = options.warmup + options.cycles + options.drain_cycles
        self.packets = generate(traffic, rate, options, horizon, self.period_ps)
        per_flow = spec.kind is InterconnectKind.DETERMINISTIC
        assign_queues(self.packets, per_flow, spec.grid.nodes)
        self.env = PicosecondEnvironment()
        shares = per_flow and not spec.time_triggered
        self.schedule = spec.schedule(traffic, self.packets.count) if shares else None
        self.net = spec.build(self.env, self.schedule)
        self.packet_bytes = options.packet_flits * spec.arch.interconnect.link_bytes_per_cycle
        measured = (self.packets.t_gen >= self.window[0]) & (self.packets.t_gen < self.window[1])
        self.measured = measured
        self.pending = int(measured.sum())
        self.all_measured = self.env.event()
        self.links = LinkWindow()
        self.t_end_ps = 0
        self._ops: dict[tuple[int, int], TransferOp] = {}

    def run(self) -> None:
        """Simulate until every measured packet arrived or the drain limit passed."""
        env = self.env
        for queue in self.packets.queues:
            state = [0]
            for _ in range(self.options.in_flight_for(self.spec.kind)):
                env.process(self._injector(queue, state))
        env.run(until=env.process(self._monitor()))
        self.t_end_ps = int(env.now)
        self.net.finish()

    def _op(self, src: int, dst: int) -> TransferOp:
        op = self._ops.get((src, dst))
        if op is None:
            op = TransferOp(
                id=src * self.spec.grid.nodes + dst,
                layer=0,
                kind=TransferKind.OPERAND_LOAD,
                src=source(src),
                dst=sink(dst),
                nbytes=self.packet_bytes,
                stream=0,
                deps=(),
                epoch=0,
            )
            self._ops[(src, dst)] = op
        return op

    def _injector(self, queue: np.ndarray, state: list[int]) -> Generator[simpy.Event, Any, None]:
        """Send the queue's packets in order; ``state[0]`` is the next one (shared)."""
        env, net, packets = self.env, self.net, self.packets
        t_gen, src, dst = packets.t_gen, packets.src, packets.dst
        measured = self.measured
        while state[0] < len(queue):
            i = int(queue[state[0]])
            state[0] += 1
            wait = int(t_gen[i]) - int(env.now)
            if wait > 0:
                yield env.timeout(wait)
            op = self._op(int(src[i]), int(dst[i]))
            packets.t_send[i] = int(env.now)
            timing = TransferTiming(int(env.now))
            admission = net.admission(op)
            if admission is not None:
                yield admission
            yield from net.send(op, timing, _zero_port)
            packets.t_grant[i] = timing.t_grant
            packets.t_done[i] = int(env.now)
            packets.contention[i] = timing.contention
            if measured[i]:
                self.pending -= 1
                if self.pending == 0:
                    self.all_measured.succeed()

    def _monitor(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        yield env.timeout(self.window[0])
        self.links.start = self.link_busy_ps()
        yield env.timeout(self.window[1] - self.window[0])
        self.links.end = self.link_busy_ps()
        if self.pending > 0:
            yield self.all_measured | env.timeout(self.options.drain_cycles * self.period_ps)

    def link_busy_ps(self) -> np.ndarray:
        """Busy time of every link so far (the deterministic NoC: from its flows' totals)."""
        net = self.net
        if isinstance(net, DeterministicNoc):
            assert self.spec.topology is not None
            busy = np.zeros(len(net.links), np.int64)
            for flow, flow_busy in net.flow_busy_ps.items():
                for link in flow_links(flow, self.spec.topology):
                    busy[link] += flow_busy
            return busy
        return np.array([stats.busy_ps for stats in net.links], np.int64)

    def reserved_ps(self) -> np.ndarray:
        """Link time reserved by the static schedule over the run (-1 without one)."""
        if isinstance(self.net, TimeTriggeredNoc):
            return np.array(self.net.reserved, np.int64)
        if self.schedule is None or self.spec.topology is None:
            return np.full(len(self.net.links), -1, np.int64)
        table = self.schedule.tables[0]
        slots = np.array(table.reserved_slots_per_link(self.spec.topology), np.int64)
        return slots * self.t_end_ps // table.period


def single_packet_latency_cycles(spec: NetworkSpec, src: int, dst: int, packet_flits: int) -> int:
    """Latency of one packet from node src to node dst on an otherwise idle network."""
    env = PicosecondEnvironment()
    schedule = None
    if spec.kind is InterconnectKind.DETERMINISTIC and not spec.time_triggered:
        assert spec.topology is not None
        table = reservation_table({flow_of(src, dst): 1}, spec.topology)
        schedule = NocSchedule({0: table}, {0: 1})
    net = spec.build(env, schedule)
    nbytes = packet_flits * spec.arch.interconnect.link_bytes_per_cycle
    op_id = src * spec.grid.nodes + dst
    op = TransferOp(op_id, 0, TransferKind.OPERAND_LOAD, source(src), sink(dst), nbytes, 0, (), 0)
    env.process(net.send(op, TransferTiming(0), _zero_port))
    env.run()
    return int(env.now) // spec.period_ps


@dataclass(frozen=True)
class CurvePoint:
    """Measured figures of one offered load (per-node figures are per active node)."""

    offered: float  # flits/node/cycle asked for
    injected: float  # flits/node/cycle generated in the window
    accepted: float  # flits/node/cycle delivered in the window
    latency_avg: float | None  # cycles, generation -> delivery; None: nothing delivered
    latency_p99: float | None
    network_latency_avg: float | None  # cycles, grant -> delivery
    route_wait_avg: float | None  # cycles, leaving the source queue -> grant (blocking)
    max_link_utilization: float  # busiest link's busy share of the window
    packets: int  # measured packets
    delivered: int  # measured packets delivered before the drain limit
    saturated: bool

    def to_dict(self) -> dict[str, float | int | bool | None]:
        """JSON-ready fields."""
        return dict(self.__dict__)


def measure(run: SyntheticRun) -> CurvePoint:
    """The curve point of a finished run."""
    packets, period = run.packets, run.period_ps
    start, end = run.window
    active = len(run.traffic.active_nodes())
    flits = run.options.packet_flits
    node_cycles = active * run.options.cycles
    measured = run.measured
    done = measured & (packets.t_done >= 0)
    in_window = (packets.t_done >= start) & (packets.t_done < end)
    latency = (packets.t_done[done] - packets.t_gen[done]) / period
    network = (packets.t_done[done] - packets.t_grant[done]) / period
    route_wait = (packets.t_grant[done] - packets.t_send[done]) / period
    links = run.links
    utilization = 0.0
    if links.start is not None and links.end is not None and end > start:
        busy = float(np.max(links.end - links.start, initial=0))
        # busy time is booked when a hold ends: a hold straddling the window start is
        # counted whole, so clip to the window
        utilization = min(1.0, busy / (end - start))
    injected = int(measured.sum()) * flits / node_cycles
    accepted = int(in_window.sum()) * flits / node_cycles
    undelivered = int(measured.sum() - done.sum())
    return CurvePoint(
        offered=run.rate,
        injected=injected,
        accepted=accepted,
        latency_avg=float(latency.mean()) if len(latency) else None,
        latency_p99=float(np.percentile(latency, 99)) if len(latency) else None,
        network_latency_avg=float(network.mean()) if len(network) else None,
        route_wait_avg=float(route_wait.mean()) if len(route_wait) else None,
        max_link_utilization=utilization,
        packets=int(measured.sum()),
        delivered=int(done.sum()),
        saturated=undelivered > 0 or accepted < SATURATION_ACCEPTANCE * injected,
    )


def flow_accepted(run: SyntheticRun) -> dict[tuple[int, int], float]:
    """Flits per cycle each (src, dst) node pair delivered in the measurement window."""
    packets = run.packets
    start, end = run.window
    in_window = (packets.t_done >= start) & (packets.t_done < end)
    pairs, counts = np.unique(
        np.stack([packets.src[in_window], packets.dst[in_window]]), axis=1, return_counts=True
    )
    flits = run.options.packet_flits
    return {
        (int(s), int(d)): int(c) * flits / run.options.cycles
        for (s, d), c in zip(pairs.T, counts, strict=True)
    }


def run_point(
    spec: NetworkSpec, traffic: Traffic, rate: float, options: RunOptions
) -> tuple[CurvePoint, SyntheticRun]:
    """Simulate one offered load; returns its point and the finished run."""
    run = SyntheticRun(spec, traffic, rate, options)
    run.run()
    return measure(run), run


def check_options(spec: NetworkSpec, rates: list[float], options: RunOptions) -> None:
    """UserError for rates or packet sizes the model cannot run."""
    worst = max(rates)
    if worst > options.packet_flits:
        raise UserError(
            f"--rates: {worst:g} flits/node/cycle needs more than one packet of "
            f"{options.packet_flits} flits per cycle (at most {options.packet_flits})"
        )
    cfg = spec.arch.interconnect
    packet_bytes = options.packet_flits * cfg.link_bytes_per_cycle
    if packet_bytes > cfg.max_packet_bytes:
        raise UserError(
            f"--packet-flits {options.packet_flits}: {packet_bytes} bytes exceed "
            f"interconnect.max_packet_bytes ({cfg.max_packet_bytes})"
        )


def run_curve(
    spec: NetworkSpec, traffic: Traffic, rates: list[float], options: RunOptions
) -> list[tuple[CurvePoint, SyntheticRun]]:
    """One run per offered load, in the order given."""
    check_options(spec, rates, options)
    return [run_point(spec, traffic, rate, options) for rate in rates]
