"""Stall attribution: why a MAC cluster waited.

A compute op waits for the last of its dependencies. If that is a result store, the
cluster had no room for its outputs (backpressure). If it is an operand transfer, the
wait is split along the transfer's own phases (DRAM, SRAM port, interconnect); the part
before the transfer was even issued is attributed, recursively, to whatever held the
transfer back (an earlier transfer in its queue, the fetch that staged its data, ...).
Waiting on a producer layer's barrier is a dependency stall, except for the part before
the frame's start gate opened when the gate waited for the frame to arrive: that is idle
time (a scenario's frame not there yet). The segments returned tile the waiting interval
exactly.
"""

from __future__ import annotations

from archsim.domain import StallCause, TransferKind
from archsim.mapping.program import ArrivalOp, Op, TransferOp
from archsim.sim.runtime import OpRuntime

_STORE_KINDS = frozenset({TransferKind.RESULT_STORE, TransferKind.SPILL, TransferKind.OUTPUT_WRITE})

Segment = tuple[int, int, StallCause]


def _arrival_end(rt: OpRuntime, op: Op | None) -> int:
    """When the frame of ``op`` arrived, if its start gate waited for that (else -1)."""
    if op is None or not rt.gates:
        return -1
    gate = rt.gates[op.frame]
    last = rt.blocker[gate]
    if last < 0 or not isinstance(rt.program.ops[last], ArrivalOp):
        return -1
    return rt.t_done[gate]


def _terminal(rt: OpRuntime, op: Op | None, t_start: int, hi: int) -> list[Segment]:
    """A wait ended by a non-transfer: idle until the frame arrived, then dependency."""
    split = min(max(_arrival_end(rt, op), t_start), hi)
    segments = [(t_start, split, StallCause.IDLE)] if split > t_start else []
    if hi > split:
        segments.append((split, hi, StallCause.DEPENDENCY))
    return segments


def attribute_wait(rt: OpRuntime, blocker: int, t_start: int, t_end: int) -> list[Segment]:
    """Causes of a wait over [t_start, t_end) that ended when op ``blocker`` completed."""
    segments: list[Segment] = []
    ops = rt.program.ops
    timing_of, blocker_of = rt.timing, rt.blocker
    op_id = blocker
    hi = t_end
    while hi > t_start:
        op = ops[op_id] if op_id >= 0 else None
        if not isinstance(op, TransferOp):
            segments.extend(reversed(_terminal(rt, op, t_start, hi)))
            break
        if op.kind in _STORE_KINDS:
            segments.append((t_start, hi, StallCause.BACKPRESSURE))
            break
        timing = timing_of[op_id]
        if timing is None:  # released with an old frame (``archsim.sim.frames``)
            segments.append((t_start, hi, StallCause.DEPENDENCY))
            break
        for a, b, cause in reversed(timing.phases):
            lo_clip, hi_clip = max(a, t_start), min(b, hi)
            if hi_clip > lo_clip:
                segments.append((lo_clip, hi_clip, cause))
        hi = min(hi, timing.t_issue)
        op_id = blocker_of[op_id]
    segments.reverse()
    return segments
