"""Crossbar: every destination endpoint has its own input port, so transfers to different
destinations never meet; transfers to the same destination are blocking there.

A packet holds its destination's port for ceil(bytes / width) + hop_latency cycles; waiting
packets are served by the configured arbitration. Transfers are packetized like on a bus,
so several sources interleave at a busy destination.
"""

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


class Crossbar(Interconnect):
    """A blocking crossbar with one port per destination endpoint."""

    kind = InterconnectKind.CROSSBAR

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: InterconnectConfig,
        env: simpy.Environment,
        recorder: Recorder,
        endpoints: list[Endpoint],
    ) -> None:
        super().__init__(parent, name, cfg, env, recorder)
        self.ports = {
            endpoint: ArbitratedResource(env, 1, cfg.arbitration) for endpoint in endpoints
        }
        self.port_stats = {
            endpoint: self._add_link(f"{self.path}.port.{endpoint}", ComponentKind.LINK.value)
            for endpoint in endpoints
        }

    def hops(self, src: Endpoint, dst: Endpoint) -> int:
        """One switch stage between any two endpoints."""
        return 1

    def send(
        self, op: TransferOp, timing: TransferTiming, port_time_ps: PortTime
    ) -> Generator[simpy.Event, Any, None]:
        env = self.env
        port = self.ports[op.dst]
        stats = self.port_stats[op.dst]
        tracing = self.recorder.enabled
        remaining = op.nbytes
        timing.hops = 1
        while remaining > 0:
            size = min(remaining, self.max_packet_bytes)
            remaining -= size
            t_request = int(env.now)
            waiting = port.acquire_as(op.src)
            if waiting is not None:
                yield waiting
            t_grant = int(env.now)
            network_ps = self.serialization_ps(size) + self.hop_latency_ps
            port_ps = port_time_ps(size)
            hold = max(network_ps, port_ps)
            yield env.timeout(hold)
            port.release()
            if timing.t_grant < 0:
                timing.t_grant = t_grant
            self.account_hold(timing, t_request, t_grant, network_ps, port_ps, contended=True)
            stats.busy_ps += hold
            stats.bytes += size
            if tracing:
                self.recorder.state(
                    stats.component_id, State.BUSY, t_grant, t_grant + hold, op.layer
                )
        self.bytes_moved += op.nbytes
        self.byte_hops += op.nbytes
