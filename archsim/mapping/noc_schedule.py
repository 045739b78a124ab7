"""Static reservation table of the deterministic NoC, computed before time 0.

Each flow (source endpoint, destination endpoint, transfer kind) of the program reserves
a share of every link on its XY route, proportional to the bytes it will move and scaled
by its most loaded link, so that no link is ever over-reserved. Shares are expressed as
slots of a period: a flow owns ``slots[flow]`` of every ``period`` cycles on each of its
links. The period doubles until every flow has at least one slot and every link's slots
fit (a flow could not otherwise be served at all).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from archsim.domain import TransferKind
from archsim.errors import MappingError
from archsim.hw.interconnect.topology import MeshTopology
from archsim.mapping.program import Endpoint, Program, TransferOp

Flow = tuple[Endpoint, Endpoint, TransferKind]

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
            for link in topology.route(flow[0], flow[1]).links:
                reserved[link] += slots
        return reserved


def flow_bytes(program: Program) -> dict[Flow, int]:
    """Bytes each flow of the program moves, in first-use order."""
    volume: dict[Flow, int] = {}
    for op in program.ops:
        if isinstance(op, TransferOp):
            flow = (op.src, op.dst, op.kind)
            volume[flow] = volume.get(flow, 0) + op.nbytes
    return volume


def build_reservation_table(program: Program, topology: MeshTopology) -> ReservationTable:
    """Demand-proportional link reservations for every flow of the program."""
    volume = flow_bytes(program)
    link_load: dict[int, int] = defaultdict(int)
    for flow, nbytes in volume.items():
        for link in topology.route(flow[0], flow[1]).links:
            link_load[link] += nbytes
    share = {
        flow: nbytes / max(link_load[link] for link in topology.route(flow[0], flow[1]).links)
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
        f" slots serves all {len(volume)} flows (interconnect)"
    )


def _fits(slots: dict[Flow, int], topology: MeshTopology, period: int) -> bool:
    used: dict[int, int] = defaultdict(int)
    for flow, count in slots.items():
        for link in topology.route(flow[0], flow[1]).links:
            used[link] += count
    return all(total <= period for total in used.values())
