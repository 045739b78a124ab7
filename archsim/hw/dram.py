"""DRAM channel: a FIFO request queue served at peak x efficiency, with first-access
latency (row hit when the same stream continues, row miss otherwise) and refresh.

The channel is held only while data moves; the access latency is added outside the lock,
so one request's latency overlaps the next request's data transfer. Refresh blocks the
channel for tRFC every tREFI; each channel's refresh phase is drawn from the run's seed.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from archsim.config import DramConfig
from archsim.domain import ComponentKind, StallCause, State
from archsim.hw.component import Component
from archsim.sim.resources import FifoResource
from archsim.sim.runtime import TransferTiming
from archsim.trace import Recorder
from archsim.units import PS_PER_S, ns_to_ps


class DramChannel(Component):
    """One DRAM channel."""

    PORTS = ("interconnect",)

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: DramConfig,
        env: simpy.Environment,
        recorder: Recorder,
        rng: np.random.Generator,
    ) -> None:
        super().__init__(parent, name)
        self.env = env
        self.recorder = recorder
        self.bytes_per_s = cfg.peak_gb_per_s * 1e9 * cfg.efficiency
        self.row_hit_ps = ns_to_ps(cfg.row_hit_latency_ns)
        self.row_miss_ps = ns_to_ps(cfg.row_miss_latency_ns)
        self.trefi_ps = ns_to_ps(cfg.trefi_ns)
        self.trfc_ps = ns_to_ps(cfg.trfc_ns)
        self.refresh_offset_ps = int(rng.integers(0, self.trefi_ps)) if self.trfc_ps else 0
        self.queue = FifoResource(env, 1)
        self.component_id = recorder.add_component(self.path, ComponentKind.DRAM_CHANNEL.value)
        self.last_stream = -1
        self.bytes_read = 0
        self.bytes_written = 0
        self.busy_ps = 0

    def data_time_ps(self, nbytes: int) -> int:
        """Time the data of nbytes occupies the channel, refresh aside."""
        return -(-nbytes * PS_PER_S // round(self.bytes_per_s)) if nbytes else 0

    def data_end_ps(self, start: int, duration: int) -> int:
        """When a data transfer of ``duration`` started at ``start`` ends, skipping refreshes."""
        if not self.trfc_ps:
            return start + duration
        t = start
        remaining = duration
        while True:
            window = (
                self.refresh_offset_ps
                + (t - self.refresh_offset_ps) // self.trefi_ps * self.trefi_ps
            )
            if t < window + self.trfc_ps:  # inside a refresh: wait for it to end
                t = window + self.trfc_ps
            next_window = window + self.trefi_ps
            if t + remaining <= next_window:
                return t + remaining
            remaining -= next_window - t
            t = next_window + self.trfc_ps

    def access(
        self, nbytes: int, stream: int, write: bool, timing: TransferTiming, layer: int
    ) -> Generator[simpy.Event, Any, None]:
        """Read or write nbytes of one stream; fills the DRAM phases of ``timing``."""
        env = self.env
        t_request = int(env.now)
        waiting = self.queue.acquire()
        if waiting is not None:
            yield waiting
        t_grant = int(env.now)
        latency = self.row_hit_ps if stream == self.last_stream else self.row_miss_ps
        self.last_stream = stream
        data_ps = self.data_time_ps(nbytes)
        t_data_end = self.data_end_ps(t_grant, data_ps)
        yield env.timeout(t_data_end - t_grant)
        self.queue.release()
        self.busy_ps += t_data_end - t_grant
        self.recorder.state(self.component_id, State.BUSY, t_grant, t_data_end, layer)
        if write:
            self.bytes_written += nbytes
        else:
            self.bytes_read += nbytes
        yield env.timeout(latency)
        t_end = int(env.now)
        timing.dram_wait += t_grant - t_request
        timing.dram += t_end - t_grant
        timing.add_phase(t_request, t_end, StallCause.DRAM)
