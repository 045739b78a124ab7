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
        """Send the op's packets one after another, each holding the stage for
        max(network, SRAM port) time (this loop runs once per packet of the run)."""
        env = self.env
        resource, stats = self.stage(op)
        recorder = self.recorder
        tracing = recorder.enabled
        tag = op.layer + op.frame * LAYER_TAG_STRIDE  # layer tag of the trace's states
        max_packet = self.max_packet_bytes
        hop_ps = self.hop_latency_ps
        width, period = self.width, self.period_ps
        full_network_ps = self.serialization_ps(max_packet) + hop_ps
        acquire = resource.acquire_as
        release = resource.release
        timeout = env.timeout
        account_hold = self.account_hold
        src = op.src
        remaining = op.nbytes
        timing.hops = 1
        while remaining > 0:
            if remaining >= max_packet:
                size = max_packet
                network_ps = full_network_ps
            else:
                size = remaining
                network_ps = -(-size // width) * period + hop_ps  # serialization_ps(size)
            remaining -= size
            t_request = env._now  # env.now without the property call
            waiting = acquire(src)
            if waiting is None:
                t_grant = t_request
            else:
                yield waiting
                t_grant = env._now
            port_ps = port_time_ps(size)
            hold = port_ps if port_ps > network_ps else network_ps
            yield timeout(hold)
            release()
            if timing.t_grant < 0:
                timing.t_grant = t_grant
            account_hold(timing, t_request, t_grant, network_ps, port_ps, True)
            stats.busy_ps += hold
            stats.bytes += size
            if tracing:
                recorder.state(stats.component_id, State.BUSY, t_grant, t_grant + hold, tag)
        self.bytes_moved += op.nbytes
        self.byte_hops += op.nbytes
        if op.fanout:  # a broadcast: every destination listens to the one stage
            self.account_multicast(op, 1, len(op.fanout) + 1)
