"""Static schedule of the deterministic NoC, computed before time 0.

The run is divided into epochs, one per layer (a transfer's epoch is set by the mapper:
its layer, or the layer before for a weight prefetch). For each epoch, every flow
(source endpoint, destination endpoints, transfer kind) that moves bytes in it reserves a
share of every link on its XY route (a multicast flow: of every link of its tree),
proportional to its bytes and scaled by its most loaded link, so no link is ever
over-reserved. Shares are slots of a period: a flow owns
``slots[flow]`` of every ``period`` link cycles. The period doubles from 64 until every
flow has at least one slot and every link's slots fit.

Epochs run one after another: an epoch's table takes effect once every transfer of the
previous epoch has been delivered, so two tables never share a link at the same time.

With several engines (``lanes``), each engine's epochs form a lane of their own
(lane = epoch % lanes) that runs independently of the others; to keep links from being
over-reserved, every lane owns a static 1/lanes of each link: a flow's share becomes
``slots`` of every ``period x lanes`` cycles.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from archsim.domain import TransferKind
from archsim.errors import MappingError
from archsim.mapping.program import Endpoint, Program, TransferOp
from archsim.mapping.topology import MeshTopology

Flow = tuple[Endpoint, tuple[Endpoint, ...], TransferKind]
"""(source, destinations, transfer kind): one destination, or a multicast's several."""

MIN_PERIOD_SLOTS = 64
MAX_PERIOD_SLOTS = 1 << 16


@dataclass(frozen=True)
class ReservationTable:
    """Slots per flow out of a common period (same on every link of the flow's route)."""

    period: int
    slots: dict[Flow, int]

    def reserved_slots_per_link(self, topology: MeshTopology) -> list[int]:
        """Slots reserved on each link (index as in the topology), summed over flows."""
        reserved = [0] * len(topology.link_names)
        for flow, slots in self.slots.items():
            for link in flow_links(flow, topology):
                reserved[link] += slots
        return reserved


@dataclass(frozen=True)
class NocSchedule:
    """One reservation table per epoch, in epoch order."""

    tables: dict[int, ReservationTable]
    transfers: dict[int, int]  # epoch -> transfers it carries
    lanes: int = 1  # independent epoch sequences (engines); lane of an epoch = epoch % lanes

    @property
    def epochs(self) -> list[int]:
        """Epochs that carry transfers, in the order they run (within each lane)."""
        return sorted(self.tables)


def flow_of(op: TransferOp) -> Flow:
    """The flow a transfer belongs to."""
    return op.src, op.destinations, op.kind


def flow_links(flow: Flow, topology: MeshTopology) -> tuple[int, ...]:
    """Links a flow's transfers occupy: its route, or a multicast's tree."""
    return topology.footprint(flow[0], flow[1])[0]


def flow_bytes(transfers: list[TransferOp]) -> dict[Flow, int]:
    """Bytes each flow moves, in first-use order."""
    volume: dict[Flow, int] = {}
    for op in transfers:
        flow = flow_of(op)
        volume[flow] = volume.get(flow, 0) + op.nbytes
    return volume


def reservation_table(volume: dict[Flow, int], topology: MeshTopology) -> ReservationTable:
    """Demand-proportional link reservations for a set of flows."""
    link_load: dict[int, int] = defaultdict(int)
    for flow, nbytes in volume.items():
        for link in flow_links(flow, topology):
            link_load[link] += nbytes
    share = {
        flow: nbytes / max(link_load[link] for link in flow_links(flow, topology))
        for flow, nbytes in volume.items()
    }
    period = MIN_PERIOD_SLOTS
    while period <= MAX_PERIOD_SLOTS:
        slots = {flow: max(1, int(s * period)) for flow, s in share.items()}
        if _fits(slots, topology, period):
            return ReservationTable(period, slots)
        period *= 2
    raise MappingError(
        f"deterministic NoC: no reservation table with a period of at most {MAX_PERIOD_SLOTS}"
        f" slots serves all {len(volume)} flows of one epoch (interconnect)"
    )


def build_noc_schedule(program: Program, topology: MeshTopology, lanes: int = 1) -> NocSchedule:
    """Per-epoch reservation tables for every transfer of the program.

    Epochs with the same flows and bytes (the same layer of another frame) share one table.
    """
    by_epoch: dict[int, list[TransferOp]] = defaultdict(list)
    for op in program.ops:
        if isinstance(op, TransferOp):
            by_epoch[op.epoch].append(op)
    known: dict[tuple[tuple[Flow, int], ...], ReservationTable] = {}
    tables = {}
    for epoch, ops in by_epoch.items():
        volume = flow_bytes(ops)
        key = tuple(volume.items())
        if key not in known:
            known[key] = reservation_table(volume, topology)
        tables[epoch] = known[key]
    return NocSchedule(tables, {epoch: len(ops) for epoch, ops in by_epoch.items()}, lanes)


def _fits(slots: dict[Flow, int], topology: MeshTopology, period: int) -> bool:
    used: dict[int, int] = defaultdict(int)
    for flow, count in slots.items():
        for link in flow_links(flow, topology):
            used[link] += count
    return all(total <= period for total in used.values())
