"""Shared bus: one arbitrated medium. A packet holds the whole bus for
ceil(bytes / width) + hop_latency cycles; waiting requesters (source endpoints) are served
by the configured arbitration (first come first served, round robin or fixed priority),
so long transfers interleave packet by packet."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from archsim.config import InterconnectConfig
from archsim.domain import ComponentKind, InterconnectKind, State
from archsim.hw.component import Component
from archsim.hw.interconnect.base import Interconnect, PortTime
from archsim.mapping.program import Endpoint, TransferOp
from archsim.sim.resources import ArbitratedResource
from archsim.sim.runtime import TransferTiming
from archsim.trace import Recorder


class Bus(Interconnect):
    """A blocking shared bus."""

    kind = InterconnectKind.BUS

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: InterconnectConfig,
        env: simpy.Environment,
        recorder: Recorder,
    ) -> None:
        super().__init__(parent, name, cfg, env, recorder)
        self.medium = ArbitratedResource(env, 1, cfg.arbitration)
        self.stats = self._add_link(self.path, ComponentKind.INTERCONNECT.value)

    def hops(self, src: Endpoint, dst: Endpoint) -> int:
        """A bus is one stage between any two endpoints."""
        return 1

    def send(
        self, op: TransferOp, timing: TransferTiming, port_time_ps: PortTime
    ) -> Generator[simpy.Event, Any, None]:
        env = self.env
        stats = self.stats
        layer = op.layer
        tracing = self.recorder.enabled
        remaining = op.nbytes
        timing.hops = 1
        while remaining > 0:
            size = min(remaining, self.max_packet_bytes)
            remaining -= size
            t_request = int(env.now)
            waiting = self.medium.acquire_as(op.src)
            if waiting is not None:
                yield waiting
            t_grant = int(env.now)
            network_ps = self.serialization_ps(size) + self.hop_latency_ps
            port_ps = port_time_ps(size)
            hold = max(network_ps, port_ps)
            yield env.timeout(hold)
            self.medium.release()
            if timing.t_grant < 0:
                timing.t_grant = t_grant
            self.account_hold(timing, t_request, t_grant, network_ps, port_ps, contended=True)
            stats.busy_ps += hold
            if tracing:
                self.recorder.state(stats.component_id, State.BUSY, t_grant, t_grant + hold, layer)
        stats.bytes += op.nbytes
        self.bytes_moved += op.nbytes
        self.byte_hops += op.nbytes
