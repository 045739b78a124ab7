"""Deadlock and livelock detection, with a report of what is stuck on what.

A run is stuck when operations remain but none completes: either the event queue runs
dry (a deadlock: every process waits on an event nobody will trigger; with the watchdog
running, its own timeout is then the only event left, which it checks) or events keep
happening without any operation finishing or executing for ``limit_ps`` of simulated
time (a livelock, caught by the watchdog process). Transfers stuck in a cycle of network
buffers (a torus without dateline virtual channels) count as executing, so only the first
check catches them. Either way the run stops with a
DeadlockError listing, per queue, the operation it is blocked on and the unfinished
operations that one waits for, and the transfers that were in flight (they hold SRAM
ports and interconnect resources while they wait).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import simpy

from archsim.errors import DeadlockError, Problem
from archsim.mapping.program import ArrivalOp, BarrierOp, ComputeOp, Op, TransferOp
from archsim.sim.runtime import OpRuntime
from archsim.units import PS_PER_MS

MAX_LISTED = 12
DEADLOCK = "every remaining operation waits on another"


def describe(op: Op) -> str:
    """One-line description of an op."""
    if isinstance(op, TransferOp):
        to = ",".join(str(dst) for dst in op.destinations)
        return f"op {op.id} ({op.kind.name} {op.src}->{to}, {op.nbytes} B, layer {op.layer})"
    if isinstance(op, ComputeOp):
        return f"op {op.id} (compute on cluster{op.cluster}, layer {op.layer})"
    if isinstance(op, ArrivalOp):
        return f"op {op.id} (arrival of frame {op.frame})"
    assert isinstance(op, BarrierOp)
    if op.layer < 0:
        return f"op {op.id} (start or end of frame {op.frame})"
    return f"op {op.id} (barrier of layer {op.layer})"


def stuck_report(rt: OpRuntime, why: str) -> list[Problem]:
    """Problems describing a stuck run: the cause, blocked queues and transfers in flight."""
    program = rt.program
    t_ms = rt.env.now / PS_PER_MS
    problems = [
        Problem(
            f"deadlock: {why} at t = {t_ms:.6f} ms; {rt.unfinished} of {rt.total} "
            "operations never completed"
        )
    ]
    blocked = []
    for queue, op_ids in program.queues.items():
        first = next((op_id for op_id in op_ids if not rt.finished(op_id)), None)
        if first is None:
            continue
        waits = [describe(program.ops[d]) for d in program.ops[first].deps if not rt.finished(d)]
        state = "in flight" if rt.timing[first] is not None else "not started"
        on = "; waits for " + ", ".join(waits) if waits else ""
        blocked.append(f"{queue}: blocked at {describe(program.ops[first])}, {state}{on}")
    in_flight = [describe(program.ops[op_id]) for op_id in rt.in_flight()]
    for line in blocked[:MAX_LISTED]:
        problems.append(Problem(line))
    if len(blocked) > MAX_LISTED:
        problems.append(Problem(f"... and {len(blocked) - MAX_LISTED} more blocked queues"))
    if in_flight:
        listed = ", ".join(in_flight[:MAX_LISTED])
        more = f" and {len(in_flight) - MAX_LISTED} more" if len(in_flight) > MAX_LISTED else ""
        problems.append(
            Problem(f"transfers in flight, holding their SRAM port and links: {listed}{more}")
        )
    return problems


def watchdog(rt: OpRuntime, limit_ps: int) -> Generator[simpy.Event, Any, None]:
    """A process that raises DeadlockError when, for ``limit_ps``, no op completed and
    none is executing (a long computation or transfer is progress; waiting is not)."""
    env = rt.env
    total = rt.total
    seen = rt.completed
    while rt.completed < total:
        yield env.timeout(limit_ps)
        if env.peek() == math.inf and rt.completed < total:  # nothing else will ever happen
            raise DeadlockError(stuck_report(rt, DEADLOCK))
        if rt.completed == seen and rt.running == 0 and rt.completed < total:
            why = f"no operation completed for {limit_ps / PS_PER_MS:g} ms of simulated time"
            raise DeadlockError(stuck_report(rt, why))
        seen = rt.completed
