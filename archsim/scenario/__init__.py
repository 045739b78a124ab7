"""Scenarios: frames arriving over time, several engines, pipelined frames.

``config`` resolves the scenario of a run (workload block and CLI flags), ``arrivals``
times the frames, ``engines`` splits an arch into engines and assigns frames to them,
``frames`` builds the multi-frame program, ``results``, ``stats`` and ``summary`` report
on it, and ``run`` ties them to ``archsim.simulate``.
"""

from archsim.scenario.config import ScenarioFlags, resolve_scenario
from archsim.scenario.engines import engine_arch
from archsim.scenario.results import FrameResult
from archsim.scenario.run import FramePlan, finish_frames, plan_frames

__all__ = [
    "FramePlan",
    "FrameResult",
    "ScenarioFlags",
    "engine_arch",
    "finish_frames",
    "plan_frames",
    "resolve_scenario",
]
