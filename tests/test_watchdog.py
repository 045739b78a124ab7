"""Stuck runs stop with a report of what waits on what, instead of hanging."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
import simpy

from archsim.errors import DeadlockError
from archsim.mapping.program import ComputeOp, Program
from archsim.sim.engine import run_program
from archsim.sim.environment import SimEnvironment
from archsim.sim.runtime import OpRuntime
from archsim.sim.watchdog import watchdog
from archsim.trace import NullRecorder


def cyclic_program() -> Program:
    """Cluster 0 waits for cluster 1's tile and cluster 1 for cluster 0's: a cycle."""
    program = Program()
    program.add("cluster0.compute", ComputeOp(0, 0, 0, macs=1, cycles=10, deps=(1,)))
    program.add("cluster1.compute", ComputeOp(1, 0, 1, macs=1, cycles=10, deps=(0,)))
    program.add("cluster2.compute", ComputeOp(2, 0, 2, macs=1, cycles=10, deps=()))
    return program


def test_a_cyclic_dependency_is_reported_not_hung(arch_variant: Any) -> None:
    with pytest.raises(DeadlockError) as error:
        run_program(cyclic_program(), arch_variant("edge_bus"), 0, NullRecorder())
    lines = [str(problem) for problem in error.value.problems]
    assert "every remaining operation waits on another" in lines[0]
    assert "2 of 3 operations never completed" in lines[0]
    assert any(
        "cluster0.compute: blocked at op 0 (compute on cluster0, layer 0), not started; "
        "waits for op 1 (compute on cluster1, layer 0)" in line
        for line in lines
    )
    assert any("cluster1.compute: blocked at op 1" in line for line in lines)
    assert not any("cluster2" in line for line in lines)  # it finished


def test_the_watchdog_stops_a_livelock_within_its_limit() -> None:
    env = SimEnvironment(seed=0)
    rt = OpRuntime(env, cyclic_program())

    def spin() -> Generator[simpy.Event, Any, None]:  # events forever, no progress
        while True:
            yield env.timeout(1_000)

    env.process(spin())
    env.process(watchdog(rt, limit_ps=5_000_000))
    with pytest.raises(DeadlockError, match="no operation completed for 0.005 ms"):
        env.run()
    assert env.now == 5_000_000


def test_a_healthy_run_is_not_stopped_by_the_watchdog(arch_variant: Any) -> None:
    program = Program()
    program.add("cluster0.compute", ComputeOp(0, 0, 0, macs=1, cycles=100_000, deps=()))
    outcome = run_program(program, arch_variant("edge_bus"), 0, NullRecorder(), watchdog_ps=1_000)
    assert outcome.latency_ps == 100_000 * 1000  # longer than the limit, but progressing
