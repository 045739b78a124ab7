"""Time-triggered deterministic NoC: every packet crosses the mesh in a window booked for it.

The links of the mesh carry per-link calendars of reserved intervals (``LinkCalendar``).
A packet of ``size`` bytes entering its XY route at t0 holds the i-th link of the route
during [t0 + i x hop latency, t0 + i x hop latency + occupancy), occupancy = the longer of
ceil(size / width) cycles and the SRAM port's time for it: its body pipelines behind its
head, so it arrives hops x hop latency + occupancy after t0. A multicast packet holds every
link of its tree, a link at depth d (routers before it) from t0 + d x hop latency: it
reaches its farthest destination depth x hop latency + occupancy after t0. Packets of one
transfer enter one after another (the next when the previous one has left the injection link).

Planning (``plan`` not frozen): the packet books the earliest t0 at or after its arrival
at which all those intervals are free, and the plan records it. No two bookings overlap on
a link, so no packet ever waits on another flow's packet in flight: contention is zero.

A traced planning pass is a run that goes as planned (the engine runs one when the planning
model is the chip itself): it records every transfer on its window and every booking as a
used reservation, as the run on the frozen plan would.

Run (``plan`` frozen): a transfer first waits until its planned request for its SRAM port
(``admission``), then each packet until its planned window; a run that goes as planned
repeats the planning pass step for step. A packet that arrives after its window (the DRAM
refreshed, a bank port was taken, a producer was late: anything the plan did not foresee)
books the earliest gap of its route's calendars from now on; its planned window stays
reserved and counts as reserved-but-unused link time. A transfer the plan never saw (e.g.
of a frame the plan dropped) books gaps the same way. Lateness is counted per transfer
with its slip (how much later its last byte landed than planned), attributed to the
phases that made it late.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from archsim.config import InterconnectConfig
from archsim.domain import InterconnectKind, ReservationStatus, StallCause, State
from archsim.hw.component import Component
from archsim.hw.interconnect.base import InterconnectSite, MeshNetwork, PortTime
from archsim.mapping.link_calendar import LinkCalendar, Route, merged_intervals
from archsim.mapping.program import TransferOp
from archsim.mapping.topology import MeshTopology
from archsim.mapping.transfer_plan import UNPLANNED, TransferPlan
from archsim.sim.environment import PicosecondEnvironment
from archsim.sim.runtime import TransferTiming
from archsim.trace import Recorder
from archsim.trace.recorder import LAYER_TAG_STRIDE

SLIP_CAUSES = (StallCause.DEPENDENCY, StallCause.DRAM, StallCause.SRAM, StallCause.INTERCONNECT)
"""What a late transfer's slip is blamed on: a late issue (producer, DMA queue), a longer
DRAM read, a longer SRAM port wait, and waiting for a gap in the calendars."""

_FORGET_EVERY = 4096  # packets between prunings of the calendar's past
_NO_SLIP = dict.fromkeys(SLIP_CAUSES, 0)  # read only


class TimeTriggeredNoc(MeshNetwork):
    """A mesh whose packets follow a static, per-packet time-triggered schedule."""

    kind = InterconnectKind.DETERMINISTIC

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: InterconnectConfig,
        env: PicosecondEnvironment,
        recorder: Recorder,
        topology: MeshTopology,
        plan: TransferPlan,
    ) -> None:
        super().__init__(parent, name, cfg, env, recorder, topology)
        if recorder.enabled and not plan.keeps_windows:
            raise ValueError("a traced run records every window: its plan must keep them")
        self.plan = plan
        self.plan_dram = cfg.plan_dram
        self.program = plan.program
        for stats in self.links:
            stats.reserved_ps = 0
        links = len(topology.link_names)
        self.reserved = [0] * links  # per link: reserved time (planned and booked)
        self.routes: dict[tuple[int, ...], Route] = {}  # per link set: (link, delay) pairs
        self.calendar: LinkCalendar
        if plan.frozen:
            self.calendar = LinkCalendar(links, self._planned_intervals(links))
            self.late = np.zeros(plan.packets, bool)  # per packet: left its window unused
        else:
            self.calendar = LinkCalendar(links)
            self.late = np.zeros(0, bool)
        self.rebooked: list[tuple[int, int, int, int]] = []  # run-time (op, packet, t0, hold)
        self.late_transfers = 0
        self.late_packets = 0
        self.unplanned_transfers = 0
        self.slip_ps = 0
        self.slip_by_cause = dict.fromkeys(SLIP_CAUSES, 0)
        self.window_wait_ps = 0  # waiting for a planned window (the cost of arriving early)
        self.reserved_unused_ps = 0
        self.until_forget = _FORGET_EVERY  # transfers until the calendar's past is pruned

    def _planned_intervals(self, links: int) -> list[tuple[np.ndarray, np.ndarray]]:
        plan = self.plan
        packets = np.flatnonzero(plan.view(plan.window_ps) >= 0)
        link, _, start, end = plan.reservations(self.hop_latency_ps, packets)
        reserved = np.zeros(links, np.int64)
        np.add.at(reserved, link, end - start)  # exact integer sums
        self.reserved = reserved.tolist()
        return merged_intervals(links, link, start, end)

    @classmethod
    def build(cls, site: InterconnectSite) -> TimeTriggeredNoc:
        """The chip's time-triggered NoC, ``chip.noc``, on the site's topology and plan."""
        topology = site.mesh_topology("a deterministic NoC")
        if not isinstance(site.schedule, TransferPlan):
            raise ValueError("a time-triggered NoC needs its transfer plan before time 0")
        return cls(site.parent, "noc", site.cfg, site.env, site.recorder, topology, site.schedule)

    def admission(self, op: TransferOp) -> simpy.Event | None:
        """Until the transfer's planned request for its SRAM port, i.e. its planned arrival
        at the network less the port wait the plan foresaw (None: on time or late). So a
        transfer on time repeats the plan step for step, its port wait included."""
        if not self.plan.frozen:
            return None
        plan = self.plan
        wait = plan.arrive_ps[op.id] - plan.sram_wait_ps[op.id] - self.env._now
        return self.env.timeout(wait) if wait > 0 else None

    def send(
        self, op: TransferOp, timing: TransferTiming, port_time_ps: PortTime
    ) -> Generator[simpy.Event, Any, None]:
        env = self.env
        plan = self.plan
        key = (op.src, op.destinations)
        links, depths = footprint = self.topology.footprint(*key)
        route = self.routes.get(links)
        if route is None:
            hop_ps = self.hop_latency_ps
            route = tuple((link, depth * hop_ps) for link, depth in zip(links, depths, strict=True))
            self.routes[links] = route
        tail_ps = depths[-1] * self.hop_latency_ps  # to the farthest destination
        hops = len(links) - 1
        timing.hops = hops
        t_arrive = env._now
        planned = plan.frozen and plan.end_ps[op.id] >= 0
        keeping = not plan.frozen and plan.keeps_windows  # a planning pass writing the plan
        if keeping:
            plan.issue_ps[op.id] = timing.t_issue
            plan.dram_ps[op.id] = timing.dram_wait + timing.dram
            plan.sram_wait_ps[op.id] = timing.sram_wait
            plan.arrive_ps[op.id] = t_arrive
            plan.plan_route(op.id, key, footprint)
        first = plan.packet_base[op.id] if plan.keeps_windows else 0
        late_packets = 0
        t_first = -1
        remaining = op.nbytes
        packet = first
        max_packet, width, period = self.max_packet_bytes, self.width, self.period_ps
        book_earliest, reserved = self.calendar.book_earliest, self.reserved
        account_hold = self.account_hold
        timeout = env.timeout
        while remaining > 0:
            size = remaining if remaining < max_packet else max_packet
            remaining -= size
            serialization = -(-size // width) * period  # serialization_ps(size)
            port_ps = port_time_ps(size)
            # the SRAM port sets the packet's pace when it is the slower
            occupancy = port_ps if port_ps > serialization else serialization
            t_request = env._now  # env.now without the property call
            window = plan.window_ps[packet] if planned else UNPLANNED
            if window >= t_request:
                t0 = window
            else:
                t0 = book_earliest(route, occupancy, t_request)
                for link in links:
                    reserved[link] += occupancy
                if keeping:
                    plan.window_ps[packet] = t0
                    plan.occupancy_ps[packet] = occupancy
                elif plan.frozen:
                    self.rebooked.append((op.id, packet - first, t0, occupancy))
                    if window != UNPLANNED:
                        self.late[packet] = True
                        late_packets += 1
                        self.reserved_unused_ps += plan.occupancy_ps[packet] * len(links)
            if t_first < 0:
                t_first = t0
            # the wait for the packet's window (no flow's: not contention), then its hold
            account_hold(timing, t_request, t0, serialization, port_ps, False)
            self._occupy(op, links, route, t0, occupancy, size)
            yield timeout(t0 + occupancy - t_request)
            packet += 1
        yield env.timeout(tail_ps)
        t_end = env._now
        timing.interconnect += tail_ps
        timing.add_phase(t_end - tail_ps, t_end, StallCause.INTERCONNECT)
        timing.t_grant = t_first
        self.account_sent(op, hops)
        self.until_forget -= 1
        if not self.until_forget:
            self.until_forget = _FORGET_EVERY
            self.calendar.forget_before(t_end)  # later packets all start after now
        if not plan.frozen:
            if keeping:
                plan.end_ps[op.id] = t_end
            else:
                plan.counted_transfers += 1
                plan.counted_packets += packet - first
            if self.recorder.enabled:  # a traced planning pass is the run: as planned
                self._record_window(op, t_first, t_end, True, False, _NO_SLIP)
            return
        self.late_packets += late_packets
        slip = self._account_slip(op, timing, t_arrive, t_end, planned, late_packets > 0)
        if self.recorder.enabled:
            self._record_window(op, t_first, t_end, planned, late_packets > 0, slip)

    def _occupy(
        self,
        op: TransferOp,
        links: tuple[int, ...],
        route: Route,
        t0: int,
        occupancy: int,
        size: int,
    ) -> None:
        """Account the packet's hold of every link of its route (and trace it)."""
        every_link = self.links
        for link in links:
            stats = every_link[link]
            stats.busy_ps += occupancy
            stats.bytes += size
        if self.recorder.enabled and occupancy > 0:
            tag = op.layer + op.frame * LAYER_TAG_STRIDE
            for link, offset in route:
                start = t0 + offset
                component = every_link[link].component_id
                self.recorder.state(component, State.BUSY, start, start + occupancy, tag)

    def _account_slip(
        self,
        op: TransferOp,
        timing: TransferTiming,
        t_arrive: int,
        t_end: int,
        planned: bool,
        late: bool,
    ) -> dict[StallCause, int]:
        """Count a late transfer and attribute its slip (how much later than planned its
        last byte landed); returns the slip by cause."""
        plan = self.plan
        if not planned:
            self.unplanned_transfers += 1
        if not planned or not late:
            return _NO_SLIP
        slip = max(0, t_end - plan.end_ps[op.id])
        first_window = int(plan.window_ps[plan.packet_base[op.id]])
        self.late_transfers += 1
        self.slip_ps += slip
        lateness = min(slip, max(0, t_arrive - first_window))  # arrived after its window
        deltas = {
            StallCause.DEPENDENCY: timing.t_issue - plan.issue_ps[op.id],
            StallCause.DRAM: timing.dram_wait + timing.dram - plan.dram_ps[op.id],
            StallCause.SRAM: timing.sram_wait - plan.sram_wait_ps[op.id],
        }
        positive = {cause: max(0, delta) for cause, delta in deltas.items()}
        total = sum(positive.values())
        shares = dict.fromkeys(SLIP_CAUSES, 0)
        if total:
            for cause, delta in positive.items():
                shares[cause] = lateness * delta // total
        shares[StallCause.INTERCONNECT] = slip - sum(shares.values())  # gaps, rounding
        for cause, share in shares.items():
            self.slip_by_cause[cause] += share
        return shares

    def _record_window(
        self,
        op: TransferOp,
        t_first: int,
        t_end: int,
        planned: bool,
        late: bool,
        slip: dict[StallCause, int],
    ) -> None:
        plan = self.plan
        base = plan.packet_base[op.id]
        self.recorder.window(
            op.id,
            op.layer,
            op.frame,
            op.nbytes,
            plan.window_ps[base] if planned else UNPLANNED,
            plan.end_ps[op.id] if planned else UNPLANNED,
            t_first,
            t_end,
            late or not planned,
            *(slip[cause] for cause in SLIP_CAUSES),
        )

    def skip(self, op: TransferOp) -> None:
        """A dropped frame's transfer: its planned windows stay reserved, unused."""
        if not self.plan.frozen or self.plan.end_ps[op.id] < 0:
            return
        base = self.plan.packet_base[op.id]
        count = -(-op.nbytes // self.max_packet_bytes)
        links = len(self.topology.footprint(op.src, op.destinations)[0])
        self.late[base : base + count] = True
        self.reserved_unused_ps += sum(self.plan.occupancy_ps[base : base + count]) * links

    def finish(self) -> None:
        """Put the reserved link time on the links; trace every reservation (a traced
        planning pass is the run: every window it booked was used)."""
        for stats, reserved in zip(self.links, self.reserved, strict=True):
            stats.reserved_ps = reserved
        if not self.plan.frozen:
            self.late = np.zeros(self.plan.packets, bool)
        if self.recorder.enabled:
            self._record_reservations()

    def _record_reservations(self) -> None:
        plan = self.plan
        ids = np.array([stats.component_id for stats in self.links], np.int64)
        packets = np.flatnonzero(plan.view(plan.window_ps) >= 0)
        packet_base = plan.view(plan.packet_base)
        for link, packet, start, end in plan.reservation_chunks(self.hop_latency_ps, packets):
            late = self.late[packet]
            status = np.where(late, ReservationStatus.UNUSED, ReservationStatus.USED)
            op = plan.packet_op[packet]
            self.recorder.reservations(ids[link], op, packet - packet_base[op], start, end, status)
        self.recorder.reservations(*self._rebooked_rows(ids))

    def _rebooked_rows(self, ids: np.ndarray) -> list[np.ndarray]:
        """Columns of the reservations made at run time (late and unplanned packets)."""
        rows: list[tuple[int, int, int, int, int]] = []
        for op_id, index, t0, occupancy in self.rebooked:
            op = self.program.ops[op_id]
            assert isinstance(op, TransferOp)
            links, depths = self.topology.footprint(op.src, op.destinations)
            for depth, link in zip(depths, links, strict=True):
                start = t0 + depth * self.hop_latency_ps
                rows.append((int(ids[link]), op_id, index, start, start + occupancy))
        table = np.array(rows, np.int64).reshape(-1, 5)
        status = np.full(len(table), ReservationStatus.REBOOKED, np.int64)
        return [table[:, 0], table[:, 1], table[:, 2], table[:, 3], table[:, 4], status]
