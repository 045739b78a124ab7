"""SRAM bank: a few ports of fixed width; requesters beyond the port count wait (bank
conflict); writes of partial granules cost a read-modify-write."""

from __future__ import annotations

from collections.abc import Callable

import simpy

from archsim.config import SramConfig
from archsim.domain import ComponentKind, State
from archsim.hw.component import Component
from archsim.sim.resources import FifoResource
from archsim.trace import Recorder
from archsim.units import clock_period_ps


class SramBank(Component):
    """One SRAM bank. Capacity is planned by the mapper; bandwidth is simulated here.

    Counters: ``conflicts`` requests that found every port taken and waited, for
    ``conflict_ps`` in total; ``rmw_writes`` write accesses that read a partial granule
    back first, costing ``rmw_extra_ps`` of port time in total.
    """

    PORTS = ("interconnect",)

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: SramConfig,
        env: simpy.Environment,
        recorder: Recorder,
    ) -> None:
        super().__init__(parent, name)
        self.env = env
        self.recorder = recorder
        self.port_bytes_per_cycle = cfg.port_bytes_per_cycle
        self.period_ps = clock_period_ps(cfg.clock_mhz)
        self.write_granule_bytes = cfg.write_granule_bytes
        self.ports = FifoResource(env, cfg.ports_per_bank)
        self.component_id = recorder.add_component(
            self.path, ComponentKind.SRAM_BANK.value, cfg.ports_per_bank
        )
        self.bytes_read = 0
        self.bytes_written = 0
        self.busy_ps = 0
        self.conflicts = 0
        self.conflict_ps = 0
        self.rmw_writes = 0
        self.rmw_extra_ps = 0

    def port_time_ps(self, nbytes: int) -> int:
        """Time one port needs to stream nbytes."""
        return -(-nbytes // self.port_bytes_per_cycle) * self.period_ps  # ceil division

    def rmw_extra_time_ps(self, nbytes: int) -> int:
        """Extra port time of writing nbytes in one access: reading back the partial
        granule (a granule-aligned start is assumed, so at most the last one is partial)."""
        granule = self.write_granule_bytes
        if granule == 0 or nbytes % granule == 0:
            return 0
        return self.port_time_ps(granule)

    def write_port_time_ps(self, nbytes: int) -> int:
        """Port time of one write access of nbytes, read-modify-write included (counted)."""
        extra = self.rmw_extra_time_ps(nbytes)
        if extra:
            self.rmw_writes += 1
            self.rmw_extra_ps += extra
        return self.port_time_ps(nbytes) + extra

    def port_timer(self, write: bool) -> Callable[[int], int]:
        """The port time function of a read or a write (called once per access)."""
        return self.write_port_time_ps if write else self.port_time_ps

    def record_access(
        self, nbytes: int, write: bool, t_request: int, t_start: int, t_end: int, layer: int
    ) -> None:
        """Account a completed port access requested at t_request, granted at t_start."""
        if write:
            self.bytes_written += nbytes
        else:
            self.bytes_read += nbytes
        if t_start > t_request:
            self.conflicts += 1
            self.conflict_ps += t_start - t_request
        self.busy_ps += t_end - t_start
        if self.recorder.enabled:
            self.recorder.state(self.component_id, State.BUSY, t_start, t_end, layer)
