"""Single-stage interconnects: a packet crosses one arbitrated resource (a bus, or a
crossbar's destination port), holding it for ceil(bytes / width) + hop_latency cycles.

Transfers are split into packets of at most ``max_packet_bytes`` so that several
transfers interleave; waiting packets are served by the configured arbitration.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from archsim.domain import State
from archsim.hw.interconnect.base import Interconnect, LinkStats, PortTime
from archsim.mapping.program import Endpoint, TransferOp
from archsim.sim.resources import ArbitratedResource
from archsim.sim.runtime import TransferTiming
from archsim.trace.recorder import LAYER_TAG_STRIDE


class SingleStageInterconnect(Interconnect):
    """Shared packet loop of the bus and the crossbar; subclasses pick the resource."""

    def stage(self, op: TransferOp) -> tuple[ArbitratedResource, LinkStats]:
        """The resource a transfer's packets cross and its statistics."""
        raise NotImplementedError

    def hops(self, src: Endpoint, dst: Endpoint) -> int:
        """One stage between any two endpoints."""
        return 1

    def send(
        self, op: TransferOp, timing: TransferTiming, port_time_ps: PortTime
    ) -> Generator[simpy.Event, Any, None]:
        env = self.env
        resource, stats = self.stage(op)
        tracing = self.recorder.enabled
        remaining = op.nbytes
        timing.hops = 1
        while remaining > 0:
            size = min(remaining, self.max_packet_bytes)
            remaining -= size
            t_request = int(env.now)
            waiting = resource.acquire_as(op.src)
            if waiting is not None:
                yield waiting
            t_grant = int(env.now)
            network_ps = self.serialization_ps(size) + self.hop_latency_ps
            port_ps = port_time_ps(size)
            hold = max(network_ps, port_ps)
            yield env.timeout(hold)
            resource.release()
            if timing.t_grant < 0:
                timing.t_grant = t_grant
            self.account_hold(timing, t_request, t_grant, network_ps, port_ps, contended=True)
            stats.busy_ps += hold
            stats.bytes += size
            if tracing:
                tag = op.layer + op.frame * LAYER_TAG_STRIDE  # layer tag of the trace's states
                self.recorder.state(stats.component_id, State.BUSY, t_grant, t_grant + hold, tag)
        self.bytes_moved += op.nbytes
        self.byte_hops += op.nbytes
        if op.fanout:  # a broadcast: every destination listens to the one stage
            self.account_multicast(op, 1, len(op.fanout) + 1)
