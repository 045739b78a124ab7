"""Stall attribution: why a MAC cluster waited.

A compute op waits for the last of its dependencies. If that is a result store, the
cluster had no room for its outputs (backpressure). If it is an operand transfer, the
wait is split along the transfer's own phases (DRAM, SRAM port, interconnect); the part
before the transfer was even issued is attributed, recursively, to whatever held the
transfer back (an earlier transfer in its queue, the fetch that staged its data, ...).
Waiting on a producer layer's barrier is a dependency stall. The segments returned tile
the waiting interval exactly.
"""

from __future__ import annotations

from archsim.domain import StallCause, TransferKind
from archsim.mapping.program import TransferOp
from archsim.sim.runtime import OpRuntime

_STORE_KINDS = frozenset({TransferKind.RESULT_STORE, TransferKind.SPILL, TransferKind.OUTPUT_WRITE})

Segment = tuple[int, int, StallCause]


def attribute_wait(rt: OpRuntime, blocker: int, t_start: int, t_end: int) -> list[Segment]:
    """Causes of a wait over [t_start, t_end) that ended when op ``blocker`` completed."""
    segments: list[Segment] = []
    ops = rt.program.ops
    op_id = blocker
    hi = t_end
    while hi > t_start:
        op = ops[op_id] if op_id >= 0 else None
        if not isinstance(op, TransferOp):
            segments.append((t_start, hi, StallCause.DEPENDENCY))
            break
        if op.kind in _STORE_KINDS:
            segments.append((t_start, hi, StallCause.BACKPRESSURE))
            break
        timing = rt.timing[op_id]
        assert timing is not None
        for a, b, cause in reversed(timing.phases):
            lo_clip, hi_clip = max(a, t_start), min(b, hi)
            if hi_clip > lo_clip:
                segments.append((lo_clip, hi_clip, cause))
        hi = min(hi, timing.t_issue)
        op_id = rt.blocker[op_id]
    segments.reverse()
    return segments
