"""DRAM channel: banks with open rows behind one data bus, activation limits and refresh.

Organisation (per channel, from ``DramConfig``): ``banks`` banks in ``bank_groups``
groups, each holding at most one open row of ``row_bytes``. Data move in bursts of
``burst_bytes``; one burst holds the data bus for t_burst = burst_bytes / (peak x
efficiency), and bursts to open rows follow each other back to back.

Address map of a channel-local byte address x (G = interleave_bytes, B = banks):

    granule l = x // G;   bank = l mod B   (its group: bank mod bank_groups);
    row = x // (B x row_bytes);   column = ((l // B) mod (row_bytes / G)) x G + x mod G

so consecutive granules rotate over the banks (bank groups first) and one *row sweep* of
B x row_bytes bytes opens row ``row`` of every bank once. Across channels, granule g = a // G
of a global address a would sit in channel g mod channels at local address
(g // channels) x G + a mod G; runs do not use that digit, as the mapper assigns whole
transfers to channels.

Unloaded latency of a one-burst read (closed form, ``DramTimingPs``):

    row hit  = tCL + t_burst
    row miss = tRP + tRCD + tCL + t_burst      (another row open in the bank)

(a closed bank, e.g. after a refresh, costs tRCD + tCL + t_burst).

Service of a request for bytes [x, x + n):

1. On arrival the bank of its first granule is made ready, outside the lock: a row miss
   precharges no earlier than now, the bank's last read and tRAS after its activate, then
   activates tRP later. Every activate takes the earliest slot at least tRRD away from all
   others, with at most four in any tFAW window and none during a refresh. While queued
   requests still hold a reservation on another row of the bank, the request waits for
   them to read it (open page, first ready first). So activations overlap other requests'
   data (bank parallelism), and a request whose row is ready may pass one still activating.
2. When its first row is readable (tRCD after the activate) the request queues for the data
   bus (FIFO) and holds it while its bursts move. Every further bank it needs is activated
   by the same rules, issued as early as its arrival (at most LOOKAHEAD_PS before the
   grant); the bus idles only when an activate is not hidden behind data. A request whose
   row a refresh or another request closed while it queued gives the bus back and starts
   over. The work is O(banks) per row sweep touched, never per burst.
3. After the last burst the bus is released; the data arrive tCL later, outside the lock.

Refresh blocks the channel for tRFC every tREFI, at a phase drawn from the run's seed, and
closes every row: a bank is activated again on its next access, and a transfer interrupted
by a refresh resumes tRCD after it (reopening the other banks hides behind its data).

Transfers of a program carry no address but a stream (one per tensor). Each stream gets a
base address in the channel (stream k in first-seen order at k x 4 GiB + (k mod banks) x G,
so concurrent streams start in different banks); its reads and its writes each advance a
cursor from there, so a tensor moved in pieces is accessed sequentially.

Not modelled: read/write turnaround, write recovery, tCCD_L within a bank group, tRRD_L,
per-bank refresh and command-bus limits; writes use the read timings.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import simpy

from archsim.config import DramConfig
from archsim.domain import ComponentKind, StallCause, State
from archsim.hw.component import Component
from archsim.sim.environment import PicosecondEnvironment
from archsim.sim.events import process_now
from archsim.sim.resources import FifoResource
from archsim.sim.runtime import TransferTiming
from archsim.trace import Recorder
from archsim.units import PS_PER_S, ceil_div, ns_to_ps

STREAM_SPACING_BYTES = 1 << 32
"""Distance between the base addresses of two streams in one channel."""
LOOKAHEAD_PS = 1_000_000
"""How long before its grant the controller may activate the rows of a queued request."""

_LONG_AGO_PS = -(1 << 62)


@dataclass(frozen=True, slots=True)
class DramTimingPs:
    """A channel's timing parameters in whole picoseconds (burst time rounded up)."""

    burst: int
    tcl: int
    trcd: int
    trp: int
    tras: int
    trrd: int
    tfaw: int
    trefi: int
    trfc: int

    @classmethod
    def from_config(cls, cfg: DramConfig) -> DramTimingPs:
        """Convert the timings of ``cfg`` to picoseconds."""
        bytes_per_s = round(cfg.peak_gb_per_s * 1e9 * cfg.efficiency)
        return cls(
            burst=ceil_div(cfg.burst_bytes * PS_PER_S, bytes_per_s),
            tcl=ns_to_ps(cfg.tcl_ns),
            trcd=ns_to_ps(cfg.trcd_ns),
            trp=ns_to_ps(cfg.trp_ns),
            tras=ns_to_ps(cfg.tras_ns),
            trrd=ns_to_ps(cfg.trrd_ns),
            tfaw=ns_to_ps(cfg.tfaw_ns),
            trefi=ns_to_ps(cfg.trefi_ns),
            trfc=ns_to_ps(cfg.trfc_ns),
        )

    @property
    def row_hit(self) -> int:
        """Unloaded latency of a one-burst read to an open row: tCL + t_burst."""
        return self.tcl + self.burst

    @property
    def row_miss(self) -> int:
        """Unloaded latency of a one-burst read when another row is open."""
        return self.trp + self.trcd + self.row_hit


class DramChannel(Component):
    """One DRAM channel: banks with open rows behind one FIFO-served data bus."""

    PORTS = ("interconnect",)

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: DramConfig,
        env: PicosecondEnvironment,
        recorder: Recorder,
        rng: np.random.Generator,
    ) -> None:
        super().__init__(parent, name)
        self.env = env
        self.recorder = recorder
        self.timing = timing = DramTimingPs.from_config(cfg)
        self.burst_bytes = cfg.burst_bytes
        self.banks = cfg.banks
        self.interleave_bytes = cfg.interleave_bytes
        self.granule_bursts = cfg.interleave_bytes // cfg.burst_bytes
        self.sweep_bursts = cfg.banks * cfg.row_bytes // cfg.burst_bytes
        self.refresh_offset_ps = int(rng.integers(0, timing.trefi)) if timing.trfc else 0
        # the timings the hot path reads, bound once
        self._burst, self._tcl, self._trcd = timing.burst, timing.tcl, timing.trcd
        self._trp, self._tras = timing.trp, timing.tras
        self._trrd, self._tfaw = timing.trrd, timing.tfaw
        self._trfc, self._trefi = timing.trfc, timing.trefi
        # activates may be booked back to LOOKAHEAD_PS before now; older ones cannot matter
        self.act_memory_ps = LOOKAHEAD_PS + max(timing.trrd, timing.tfaw)
        self.queue = FifoResource(env, 1)
        self.component_id = recorder.add_component(self.path, ComponentKind.DRAM_CHANNEL.value)
        # Per bank, as booked so far: open row (-1: closed), the refresh interval it was
        # opened in, its activate time, the end of its last read, a generation counting
        # its activates, how many queued requests reserved its row on arrival and the
        # requests waiting to open another row once those have read.
        self.open_row = [-1] * cfg.banks
        self.open_epoch = [0] * cfg.banks
        self.act_ps = [_LONG_AGO_PS] * cfg.banks
        self.free_ps = [0] * cfg.banks
        self.generation = [0] * cfg.banks
        self.reserved = [0] * cfg.banks
        self.waiters: list[deque[tuple[int, simpy.Event]]] = [deque() for _ in range(cfg.banks)]
        self.acts: list[int] = []  # booked activate times, sorted; older ones pruned
        self.stream_bases: dict[int, int] = {}
        self.cursors: dict[tuple[int, bool], int] = {}
        self.activates = 0
        self.bytes_read = 0
        self.bytes_written = 0
        self.busy_ps = 0

    # -- requests ------------------------------------------------------------------------

    def access(
        self, nbytes: int, stream: int, write: bool, timing: TransferTiming, layer: int
    ) -> Generator[simpy.Event, Any, None]:
        """Read or write the next nbytes of ``stream``; fills the DRAM phases of ``timing``."""
        key = (stream, write)
        address = self.cursors.get(key)
        if address is None:
            address = self.stream_base(stream)
        self.cursors[key] = address + nbytes
        return self.access_at(address, nbytes, write, timing, layer)

    def stream_base(self, stream: int) -> int:
        """Base address of ``stream`` in this channel (assigned on first use)."""
        base = self.stream_bases.get(stream)
        if base is None:
            k = len(self.stream_bases)
            base = k * STREAM_SPACING_BYTES + k % self.banks * self.interleave_bytes
            self.stream_bases[stream] = base
        return base

    def access_at(
        self, address: int, nbytes: int, write: bool, timing: TransferTiming, layer: int
    ) -> Generator[simpy.Event, Any, None]:
        """Read or write bytes [address, address + nbytes) of this channel."""
        env = self.env
        t_request = env._now
        first = address // self.burst_bytes
        # every burst the bytes touch moves whole (an empty request still costs one)
        bursts = (address + max(nbytes, 1) - 1) // self.burst_bytes - first + 1
        bank = first // self.granule_bursts % self.banks
        row = first // self.sweep_bursts
        while True:
            t_ready = self._reserve(bank, row, env._now)
            while t_ready < 0:  # queued requests still await another row of this bank
                blocked = env.event()
                self.waiters[bank].append((row, blocked))
                t_ready = yield blocked  # _retry reserved the row: when it is readable
            generation = self.generation[bank]
            t_now = env._now
            if t_ready > t_now:
                yield env.timeout(t_ready - t_now)
            waiting = self.queue.acquire()
            if waiting is not None:
                yield waiting
            t_grant = env._now
            if self._is_open(bank, row, t_grant):
                break
            # a refresh or another request closed the row while this one queued
            self.queue.release()
            self._release(bank, generation)
        t_issue = max(t_request, t_grant - LOOKAHEAD_PS)
        t_data_end = self._transfer(first, bursts, t_issue, t_grant)
        self._release(bank, generation)
        yield env.timeout(t_data_end - t_grant)
        self.queue.release()
        self.busy_ps += t_data_end - t_grant
        if self.recorder.enabled:
            self.recorder.state(self.component_id, State.BUSY, t_grant, t_data_end, layer)
        if write:
            self.bytes_written += nbytes
        else:
            self.bytes_read += nbytes
        yield env.timeout(self._tcl)
        t_end = env._now
        queued = t_grant - t_ready
        timing.dram_wait += queued
        timing.dram += t_end - t_request - queued
        timing.add_phase(t_request, t_end, StallCause.DRAM)

    def _reserve(self, bank: int, row: int, t: int) -> int:
        """On arrival, reserve ``row`` of ``bank`` for the request's first read, activating
        it if needed; return when it is readable, or -1 while queued requests that reserved
        another row of the bank have not read yet."""
        if (
            self.reserved[bank]
            and self.open_row[bank] != row
            and self.open_epoch[bank] >= self._epoch(t)
        ):
            return -1
        ready = self._open(bank, row, t, t)
        self.reserved[bank] += 1
        return ready

    def _is_open(self, bank: int, row: int, t: int) -> bool:
        """Whether ``row`` of ``bank`` is (or is booked to be) open at t."""
        return self.open_row[bank] == row and self.open_epoch[bank] == self._epoch(t)

    def _release(self, bank: int, generation: int) -> None:
        """The request that reserved ``bank`` at ``generation`` has read: drop its
        reservation (unless an activate since voided it) and wake waiters when none is left."""
        if self.generation[bank] == generation:
            self.reserved[bank] -= 1
            if not self.reserved[bank]:
                self._wake(bank)

    def _wake(self, bank: int) -> None:
        """Let the requests waiting for ``bank`` try again, in arrival order, at one event
        of this instant (``_retry``)."""
        waiters = self.waiters[bank]
        if not waiters:
            return
        retry = self.env.event()
        retry.callbacks.append(partial(self._retry, bank, list(waiters)))
        waiters.clear()
        retry.succeed()

    def _retry(self, bank: int, waiting: list[tuple[int, simpy.Event]], _: simpy.Event) -> None:
        """Try each waiting request's reservation again, in arrival order: resume the ones
        that get their row (sending when it is readable), queue the others again.

        The same steps in the same order as one wake-up event per request: those events
        would have taken consecutive queue slots, so nothing else could run between them,
        and a request that gets -1 again only queues again. Only the events are saved:
        most retries fail, as the first request to retry reserves the bank for its row.
        """
        waiters = self.waiters[bank]
        env = self.env
        for row, blocked in waiting:
            t_ready = self._reserve(bank, row, env._now)
            if t_ready < 0:
                waiters.append((row, blocked))
                continue
            process_now(blocked, t_ready)

    # -- data bus ------------------------------------------------------------------------

    def _transfer(self, first: int, bursts: int, t_issue: int, t_grant: int) -> int:
        """Move bursts [first, first + bursts) from the grant, activating rows no earlier
        than t_issue; return when the last burst ends."""
        sweep = self.sweep_bursts
        end = first + bursts
        t = t_grant
        while first < end:
            stop = min(end, (first // sweep + 1) * sweep)
            t = self._sweep(first // sweep, first, stop, t_issue, t)
            first = stop
        return t

    def _sweep(self, row: int, lo: int, hi: int, t_issue: int, t: int) -> int:
        """Bursts [lo, hi) of one row sweep from bus time t; each bank's first granule
        may wait for its row, the rest streams back to back."""
        granule_bursts, banks, burst = self.granule_bursts, self.banks, self._burst
        free, open_row, open_epoch = self.free_ps, self.open_row, self.open_epoch
        act_ps = self.act_ps
        trcd, trfc, trefi, offset = self._trcd, self._trfc, self._trefi, self.refresh_offset_ps
        pos = lo
        for _ in range(banks):
            if pos >= hi:
                return t
            granule = pos // granule_bursts
            stop = (granule + 1) * granule_bursts
            if stop > hi:
                stop = hi
            bank = granule % banks
            epoch = (t - offset) // trefi if trfc else 0
            if open_row[bank] == row and open_epoch[bank] >= epoch:  # as _open finds it
                ready = act_ps[bank] + trcd
            else:
                ready = self._open(bank, row, t_issue, t)
            start = t if t > ready else ready
            end = start + (stop - pos) * burst
            t = end
            if trfc:  # data_end_ps, whose first test (no refresh on the way) is inline
                window = offset + ((start - offset) // trefi) * trefi
                if start < window + trfc or end > window + trefi:
                    t = self.data_end_ps(start, end - start)
            if t > free[bank]:
                free[bank] = t
            pos = stop
        if pos >= hi:
            return t
        t_rest = t
        t = self.data_end_ps(t_rest, (hi - pos) * burst)
        self._settle_banks(pos, hi, t_rest, t)
        return t

    def _settle_banks(self, lo: int, hi: int, t_start: int, t_end: int) -> None:
        """Record each bank's last read of bursts [lo, hi), which streamed from t_start to
        t_end (every bank of the sweep among them); a refresh on the way reopened them."""
        granule_bursts, banks, burst = self.granule_bursts, self.banks, self._burst
        paused = t_end - t_start - (hi - lo) * burst
        last = (hi - 1) // granule_bursts
        first = max(lo // granule_bursts, last - banks + 1)  # one granule per bank at most
        free = self.free_ps
        # a granule's last read ends (granule + 1) x granule_bursts bursts past `base`; the
        # last granule's at hi
        base = t_start + paused - lo * burst
        step = granule_bursts * burst
        read_end = base + (first + 1) * step
        for granule in range(first, last):
            bank = granule % banks
            if read_end > free[bank]:
                free[bank] = read_end
            read_end += step
        bank = last % banks
        read_end = base + hi * burst
        if read_end > free[bank]:
            free[bank] = read_end
        if paused:
            epoch = self._epoch(t_end)
            reopened = self._refresh_end(epoch)
            for granule in range(first, last + 1):
                bank = granule % banks
                self.open_epoch[bank] = epoch
                self.act_ps[bank] = reopened

    def data_end_ps(self, start: int, duration: int) -> int:
        """When data of ``duration`` started at ``start`` end, pausing for refreshes.

        A transfer that meets a refresh waits for it and resumes tRCD later (its row is
        reopened); one starting inside a refresh does the same.
        """
        trfc, trefi, offset = self._trfc, self._trefi, self.refresh_offset_ps
        if not trfc:
            return start + duration
        t, remaining = start, duration
        while True:
            window = offset + ((t - offset) // trefi) * trefi
            if t < window + trfc:
                t = window + trfc + self._trcd
                continue
            next_window = window + trefi
            if t + remaining <= next_window:
                return t + remaining
            remaining -= next_window - t
            t = next_window

    # -- banks and activates -------------------------------------------------------------

    def _epoch(self, t: int) -> int:
        """Index of the refresh interval holding time t (0 when refresh is off)."""
        if not self._trfc:
            return 0
        return (t - self.refresh_offset_ps) // self._trefi

    def _refresh_start(self, epoch: int) -> int:
        """Start of the refresh that opens refresh interval ``epoch``."""
        return self.refresh_offset_ps + epoch * self._trefi

    def _refresh_end(self, epoch: int) -> int:
        """End of the refresh that opens refresh interval ``epoch``."""
        return self._refresh_start(epoch) + self._trfc

    def _open(self, bank: int, row: int, t_issue: int, t_use: int) -> int:
        """Have ``row`` open in ``bank`` for a read at t_use, activating no earlier than
        t_issue if it is not; return when the row is readable."""
        trcd, trfc, trefi, offset = self._trcd, self._trfc, self._trefi, self.refresh_offset_ps
        epoch = (t_use - offset) // trefi if trfc else 0
        # open, or booked to open after the coming refresh; older rows were refreshed
        open_row = self.open_row[bank]
        if open_row >= 0 and self.open_epoch[bank] >= epoch:
            if open_row == row:
                return self.act_ps[bank] + trcd
            precharge = max(t_issue, self.free_ps[bank], self.act_ps[bank] + self._tras)
            t = precharge + self._trp
        else:  # closed, or closed by the refresh that began interval ``epoch``
            t = max(t_issue, offset + epoch * trefi + trfc) if trfc else t_issue
        act = self._book_activate(t)
        if trfc:
            act_epoch = (act - offset) // trefi
            next_refresh = offset + (act_epoch + 1) * trefi
            if act + trcd >= next_refresh:  # it would close the row before the read
                self.acts.remove(act)
                act = self._book_activate(next_refresh + trfc)
                act_epoch = (act - offset) // trefi
        else:
            act_epoch = 0
        self.open_row[bank] = row
        self.open_epoch[bank] = act_epoch
        self.act_ps[bank] = act
        self.activates += 1
        self.generation[bank] += 1
        if self.reserved[bank]:  # the reservations of the closed row are void
            self.reserved[bank] = 0
            self._wake(bank)
        return act + trcd

    def _book_activate(self, t: int) -> int:
        """Book the earliest activate at or after t that keeps tRRD and tFAW to every
        booked activate and falls outside refreshes; return its time."""
        acts = self.acts
        horizon = self.env._now - self.act_memory_ps
        if acts and acts[0] < horizon:
            del acts[: bisect_left(acts, horizon)]
        trfc, trefi, offset = self._trfc, self._trefi, self.refresh_offset_ps
        while True:
            if trfc:  # outside refreshes: t, or the end of the refresh t falls in
                end = offset + ((t - offset) // trefi) * trefi + trfc
                if t < end:
                    t = end
            later = self._activate_conflict(t)
            if later == t:
                break
            t = later
        insort(acts, t)
        return t

    def _activate_conflict(self, t: int) -> int:
        """t if an activate may issue at t; otherwise the earliest time that clears the
        violated constraint (no feasible slot lies in between)."""
        trrd, acts = self._trrd, self.acts
        i = bisect_left(acts, t)
        if i and t - acts[i - 1] < trrd:
            return acts[i - 1] + trrd
        if i == len(acts):  # after every booked activate (the usual case): one window
            if i >= 4 and t - acts[i - 4] < self._tfaw:
                return acts[i - 4] + self._tfaw
            return t
        if acts[i] - t < trrd:
            return acts[i] + trrd
        lo = max(0, i - 4)
        window = [*acts[lo:i], t, *acts[i : i + 4]]
        pos = i - lo
        for start in range(max(0, pos - 4), min(pos, len(window) - 5) + 1):
            if window[start + 4] - window[start] < self._tfaw:
                first_other = window[start + 1] if start == pos else window[start]
                return first_other + self._tfaw
        return t
