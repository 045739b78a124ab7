"""MAC cluster: a systolic array that runs its tiles in program order.

Tile compute times are closed-form (see ``systolic``); operand prefetch and result
write-back run in the cluster's own DMA engines (``load``, ``store``) in parallel with
compute, so with double buffering the array only waits when data is late. Every moment
of the run is recorded as busy, a stall with its cause, or idle (no work left). Tiles of
a dropped frame complete at once, after their deps, without occupying the array.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import simpy

from archsim.config import MacClusterConfig
from archsim.domain import ComponentKind, StallCause, State
from archsim.hw.component import Component
from archsim.mapping.program import ComputeOp
from archsim.sim.attribution import attribute_wait
from archsim.sim.environment import PicosecondEnvironment
from archsim.sim.runtime import OpRuntime
from archsim.trace import Recorder
from archsim.trace.recorder import LAYER_TAG_STRIDE
from archsim.units import clock_period_ps


class MacCluster(Component):
    """One systolic MAC cluster."""

    PORTS = ("interconnect",)

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: MacClusterConfig,
        env: PicosecondEnvironment,
        recorder: Recorder,
    ) -> None:
        super().__init__(parent, name)
        self.env = env
        self.recorder = recorder
        self.period_ps = clock_period_ps(cfg.clock_mhz)
        self.component_id = recorder.add_component(self.path, ComponentKind.MAC_CLUSTER.value)
        self.busy_ps = 0
        self.macs = 0
        self.stall_ps: dict[StallCause, int] = {cause: 0 for cause in StallCause}
        self.layer_stall_ps: dict[tuple[int, StallCause], int] = {}
        # per layer, over every tile run here (dropped frames' too, at zero cost):
        self.layer_macs: dict[int, int] = {}
        self.layer_first_start_ps: dict[int, int] = {}  # completion - cycles x period
        self.t_last_ps = 0

    def run(
        self, op_ids: Sequence[int], rt: OpRuntime, index: int = 0
    ) -> Generator[simpy.Event, Any, None]:
        """Compute the given tiles in order (a long-lived SimPy process; ``index``: the
        queue's position in the program, which orders processes released by a frame gate)."""
        env = self.env
        ops = rt.program.ops
        record = self.recorder.state
        me = self.component_id
        dropped = rt.dropped
        timeout = env.timeout
        t_free = 0
        for op_id in op_ids:
            op = ops[op_id]
            assert isinstance(op, ComputeOp)
            if not rt.start_now(op_id, -1, index, op):
                yield from rt.wait_ready(op_id, -1, index, op)
            duration = op.cycles * self.period_ps
            if dropped[op.frame]:
                rt.finish(op_id)
                self._account(op, env._now - duration)
                continue
            now = env._now
            tag = op.layer + op.frame * LAYER_TAG_STRIDE
            if now > t_free:
                self._stall(rt, rt.blocker_of(op_id), t_free, now, op.layer, tag)
            yield timeout(duration)
            record(me, State.BUSY, now, now + duration, tag)
            self.busy_ps += duration
            self.macs += op.macs
            rt.finish(op_id)
            self._account(op, now)
            t_free = now + duration
        self.t_last_ps = t_free

    def _account(self, op: ComputeOp, start_ps: int) -> None:
        """Add a completed tile to its layer's MACs and first start."""
        layer = op.layer
        self.layer_macs[layer] = self.layer_macs.get(layer, 0) + op.macs
        first = self.layer_first_start_ps.get(layer)
        if first is None or start_ps < first:
            self.layer_first_start_ps[layer] = start_ps

    def _stall(
        self, rt: OpRuntime, blocker: int, t_start: int, t_end: int, layer: int, tag: int
    ) -> None:
        """Record a wait before a tile of ``layer`` (``tag``: its layer tag for the trace)."""
        for a, b, cause in attribute_wait(rt, blocker, t_start, t_end):
            self.stall_ps[cause] += b - a
            key = (layer, cause)
            self.layer_stall_ps[key] = self.layer_stall_ps.get(key, 0) + b - a
            self.recorder.state(self.component_id, cause.state, a, b, tag)

    def finish_idle(self, t_end: int) -> None:
        """Record the idle tail after the cluster's last tile until the end of the run."""
        if t_end > self.t_last_ps:
            self.stall_ps[StallCause.IDLE] += t_end - self.t_last_ps
            self.recorder.state(self.component_id, State.IDLE, self.t_last_ps, t_end, -1)
