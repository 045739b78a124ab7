"""SRAM bank: a few ports of fixed width; requesters beyond the port count wait (bank conflict)."""

from __future__ import annotations

import simpy

from archsim.config import SramConfig
from archsim.domain import ComponentKind, State
from archsim.hw.component import Component
from archsim.sim.resources import FifoResource
from archsim.trace import Recorder
from archsim.units import ceil_div, clock_period_ps


class SramBank(Component):
    """One SRAM bank. Capacity is planned by the mapper; bandwidth is simulated here."""

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
        self.ports = FifoResource(env, cfg.ports_per_bank)
        self.component_id = recorder.add_component(
            self.path, ComponentKind.SRAM_BANK.value, cfg.ports_per_bank
        )
        self.bytes_read = 0
        self.bytes_written = 0
        self.busy_ps = 0

    def port_time_ps(self, nbytes: int) -> int:
        """Time one port needs to stream nbytes."""
        return ceil_div(nbytes, self.port_bytes_per_cycle) * self.period_ps

    def record_access(self, nbytes: int, write: bool, t_start: int, t_end: int, layer: int) -> None:
        """Account a completed port access."""
        if write:
            self.bytes_written += nbytes
        else:
            self.bytes_read += nbytes
        self.busy_ps += t_end - t_start
        self.recorder.state(self.component_id, State.BUSY, t_start, t_end, layer)
