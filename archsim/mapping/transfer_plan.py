"""The time-triggered schedule of a program: planned windows of every packet of every transfer.

A transfer of n bytes is sent as ceil(n / max_packet_bytes) packets (the last one shorter).
Packet k of transfer op enters its XY route at ``window_ps[packet]`` and holds the i-th link
of the route during [window + i x hop latency, window + i x hop latency + occupancy): its
bytes at the link rate, or at the SRAM port's rate when the port is slower (a multicast:
every link of its tree, offset by the link's depth). The plan also
keeps, per transfer, when it was issued, how long its DRAM read and its SRAM port wait took
and when it reached the network, so that a late transfer's slip can be attributed.

Filled by the planning pass (``archsim.sim.engine.plan_transfers``) and then frozen; the
run reads it. When the planning model is the chip itself the run is the planning pass and
fills it (``plans_in_the_run``); untraced, it only counts what it planned (``counting``).
Pure data: no simulation objects. Times are kept in
``array('q')`` buffers: scalar reads and writes on the simulation's hot path are plain
Python ints, and ``view`` gives a numpy array over the same memory for vectorised work.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from archsim.config import ArchConfig
from archsim.domain import DramPlanMode
from archsim.mapping.program import Endpoint, Program, TransferOp

UNPLANNED = -1
"""Window of a packet (or time of a transfer) the planning pass never reached."""
RESERVATION_ROWS = 1 << 17
"""Rows of link reservations listed at a time (``TransferPlan.reservation_chunks``)."""


def packet_counts(program: Program, max_packet_bytes: int, frames: int = 1) -> np.ndarray:
    """Packets of every op (0 for ops that are not transfers), by op id.

    A program of ``frames`` > 1 equal frames (a scenario's, ``archsim.scenario.frames``:
    frame f owns ids ``[f x stride, (f + 1) x stride)``, its ops those of the mapped
    program at the same positions) is counted from its first frame alone: its ops are made
    when read, and reading every frame's would make millions of them for nothing.
    """
    ops = program.ops
    stride = len(ops) // frames
    if stride * frames != len(ops):
        raise ValueError(f"{len(ops)} ops do not split into {frames} equal frames")
    counts = np.zeros(stride, np.int64)
    for position in range(stride):
        op = ops[position]
        if isinstance(op, TransferOp):
            counts[position] = -(-op.nbytes // max_packet_bytes)
    return np.tile(counts, frames) if frames > 1 else counts


@dataclass
class TransferPlan:
    """Planned timing of every transfer and packet of one program (times in ps)."""

    program: Program
    packet_base: array[int]  # per op: index of its first packet
    packet_op: np.ndarray  # per packet: the op it belongs to
    window_ps: array[int]  # per packet: planned entry into its route
    occupancy_ps: array[int]  # per packet: time it holds each link of its route
    issue_ps: array[int]  # per op: planned issue (dependencies met, a DMA channel free)
    dram_ps: array[int]  # per op: planned DRAM wait + service before the network
    sram_wait_ps: array[int]  # per op: planned wait for the SRAM port
    arrive_ps: array[int]  # per op: planned arrival at the network (port held)
    end_ps: array[int]  # per op: planned delivery of its last byte
    op_route: array[int]  # per op: its route in ``routes`` (-1: not planned)
    latency_ps: int = 0  # the planned run's end
    wall_s: float = 0.0  # wall time of a separate planning pass (0: the run planned it)
    frozen: bool = False  # False while the planning pass fills it
    events: int = 0  # simulation events of the planning pass
    planned_by_run: bool = False  # the run was its own planning pass (no separate one)
    keeps_windows: bool = True  # False: a plan that only counts (see ``counting``)
    counted_transfers: int = 0  # transfers and packets a counting plan planned
    counted_packets: int = 0
    routes: list[tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    route_ids: dict[tuple[Endpoint, tuple[Endpoint, ...]], int] = field(default_factory=dict)

    @classmethod
    def empty(cls, program: Program, max_packet_bytes: int, frames: int = 1) -> TransferPlan:
        """A plan with room for every op and packet of the program (of ``frames`` equal
        frames, see ``packet_counts``), nothing planned yet."""
        return cls.sized(program, packet_counts(program, max_packet_bytes, frames))

    @classmethod
    def counting(cls, program: Program) -> TransferPlan:
        """A plan of a run that is its own planning pass and keeps no trace: nothing reads
        its windows afterwards, so it keeps none (no per-op or per-packet storage, so
        memory stays flat over the frames of a stream) and only counts what it planned."""
        return cls(
            program=program,
            packet_base=array("q"),
            packet_op=np.zeros(0, np.int64),
            window_ps=array("q"),
            occupancy_ps=array("q"),
            issue_ps=array("q"),
            dram_ps=array("q"),
            sram_wait_ps=array("q"),
            arrive_ps=array("q"),
            end_ps=array("q"),
            op_route=array("q"),
            planned_by_run=True,
            keeps_windows=False,
        )

    @classmethod
    def sized(cls, program: Program, counts: np.ndarray) -> TransferPlan:
        """A plan with room for ``counts[op]`` packets of every op id, nothing planned yet."""
        base = np.zeros(len(counts), np.int64)
        np.cumsum(counts[:-1], out=base[1:])
        packets = int(counts.sum())
        ops = len(counts)
        return cls(
            program=program,
            packet_base=array("q", base.tobytes()),
            packet_op=np.repeat(np.arange(ops, dtype=np.int64), counts),
            window_ps=array("q", [UNPLANNED]) * packets,
            occupancy_ps=array("q", [0]) * packets,
            issue_ps=array("q", [UNPLANNED]) * ops,
            dram_ps=array("q", [0]) * ops,
            sram_wait_ps=array("q", [0]) * ops,
            arrive_ps=array("q", [UNPLANNED]) * ops,
            end_ps=array("q", [UNPLANNED]) * ops,
            op_route=array("q", [-1]) * ops,
        )

    @staticmethod
    def view(values: array[int]) -> np.ndarray:
        """A numpy int64 array over the same memory as ``values``."""
        return np.frombuffer(values, np.int64) if len(values) else np.zeros(0, np.int64)

    @property
    def packets(self) -> int:
        """Packets the program sends (planned or not); 0 in a counting plan."""
        return len(self.window_ps)

    @property
    def planned_packets(self) -> int:
        """Packets that have a planned window."""
        if not self.keeps_windows:
            return self.counted_packets
        return int(np.count_nonzero(self.view(self.window_ps) >= 0))

    @property
    def planned_transfers(self) -> int:
        """Transfers that have a planned delivery."""
        if not self.keeps_windows:
            return self.counted_transfers
        return int(np.count_nonzero(self.view(self.end_ps) >= 0))

    def plan_route(
        self,
        op_id: int,
        key: tuple[Endpoint, tuple[Endpoint, ...]],
        footprint: tuple[tuple[int, ...], tuple[int, ...]],
    ) -> None:
        """Note the route of a transfer being planned: ``key`` (source, destinations) and
        its ``footprint`` (links, depth of each), for ``reservations``."""
        route = self.route_ids.get(key)
        if route is None:
            route = self.route_ids[key] = len(self.routes)
            self.routes.append(footprint)
        self.op_route[op_id] = route

    def reservations(
        self, hop_ps: int, packets: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(link, packet, t_start_ps, t_end_ps) of every link reservation of the planned
        ``packets`` (packet indices), grouped by route (routes in the order of their
        first transfer in the program), then by link in route order."""
        chunks = list(self.reservation_chunks(hop_ps, packets))
        if not chunks:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty, empty
        return _joined(*(list(column) for column in zip(*chunks, strict=True)))

    def reservation_chunks(
        self, hop_ps: int, packets: np.ndarray, rows: int = RESERVATION_ROWS
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """``reservations`` in consecutive pieces of at least ``rows`` rows (the last may
        be shorter), so that a long run's millions of rows need not be held at once."""
        op_route = self.view(self.op_route)
        route_key = op_route[self.packet_op[packets]]
        if np.any(route_key < 0):
            raise ValueError("a planned packet's transfer has no route in the plan")
        planned_ops = np.flatnonzero(op_route >= 0)
        first_op = np.full(len(self.routes), len(op_route), np.int64)
        np.minimum.at(first_op, op_route[planned_ops], planned_ops)
        by_first_op = np.argsort(first_op, kind="stable")
        rank = np.empty(len(self.routes), np.int64)
        rank[by_first_op] = np.arange(len(self.routes))
        route_key = rank[route_key]
        order = np.argsort(route_key, kind="stable")
        cuts = np.searchsorted(route_key[order], np.arange(len(by_first_op) + 1))
        window_all, occupancy_all = self.view(self.window_ps), self.view(self.occupancy_ps)
        links: list[np.ndarray] = []
        owners: list[np.ndarray] = []
        starts: list[np.ndarray] = []
        ends: list[np.ndarray] = []
        held = 0
        for index, route in enumerate(by_first_op.tolist()):
            chosen = packets[order[cuts[index] : cuts[index + 1]]]
            window, occupancy = window_all[chosen], occupancy_all[chosen]
            route_links, depths = self.routes[route]
            for depth, link in zip(depths, route_links, strict=True):
                links.append(np.full(len(chosen), link, np.int64))
                owners.append(chosen)
                starts.append(window + depth * hop_ps)
                ends.append(window + depth * hop_ps + occupancy)
            held += len(chosen) * len(route_links)
            if held >= rows:
                yield _joined(links, owners, starts, ends)
                links, owners, starts, ends = [], [], [], []
                held = 0
        if held:
            yield _joined(links, owners, starts, ends)


def _joined(
    *columns: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each column's pieces as one array."""
    link, packet, start, end = (np.concatenate(pieces) for pieces in columns)
    return link, packet, start, end


def planning_arch(arch: ArchConfig) -> ArchConfig:
    """The contention-free planning model of the chip. With ``interconnect.plan_dram:
    exact`` it is the arch itself: the plan sees the run's DRAM (refresh at the run's seeded
    phase, bank state, row hits), so a run goes as planned. With ``average`` its DRAM is
    served at its planned rate, i.e. without refresh events but derated by the refresh's
    average cost (tRFC plus one reopened row per tREFI). Without refresh both are the arch."""
    dram = arch.dram
    if dram.trfc_ns == 0 or arch.interconnect.plan_dram is DramPlanMode.EXACT:
        return arch
    planned = dram.model_copy(update={"trfc_ns": 0.0, "efficiency": dram.streaming_efficiency})
    return arch.model_copy(update={"dram": planned})


def plans_in_the_run(arch: ArchConfig) -> bool:
    """Whether the planning pass would simulate exactly the run (``planning_arch`` is the
    arch): then the run on the frozen plan repeats the planning pass event for event."""
    return planning_arch(arch) is arch
