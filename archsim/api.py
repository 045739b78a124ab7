"""The public API: load configs, simulate, and get a summary plus an HDF5 trace."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from archsim.analysis.fusion_report import fusion_summary
from archsim.analysis.layer_table import STALL_CAUSES, layer_results
from archsim.analysis.summary import build_summary
from archsim.config import ArchConfig, WorkloadConfig, load_arch, load_workload, problem_for
from archsim.config.scenario import ScenarioConfig
from archsim.domain import Precision
from archsim.errors import ConfigError, MappingError
from archsim.mapping.fusion import FusionRequest, chain_problems
from archsim.mapping.mapper import map_workload
from archsim.mapping.program import Program
from archsim.mapping.transfer_plan import TransferPlan
from archsim.scenario import FrameResult, engine_arch, finish_frames, plan_frames
from archsim.scenario.engines import engine_mapping_hint
from archsim.sim.engine import RunOutcome, run_program
from archsim.trace import NullRecorder, Recorder, write_trace
from archsim.units import PS_PER_MS
from archsim.version import __version__
from archsim.workload import WorkloadGraph, build_graph

FUSION_MODES = ("none", "auto")
"""Values of ``--fusion``."""

DEFAULT_WATCHDOG_MS = 1000.0
"""Simulated time without any completed operation after which a run is declared stuck."""


@dataclass(frozen=True)
class SimulationResult:
    """What ``simulate`` returns."""

    summary: dict[str, Any]
    trace_path: Path | None
    graph: WorkloadGraph
    program: Program
    frames: tuple[FrameResult, ...] = ()
    """Every frame: arrival, start, end, engine, dropped (one frame without a scenario)."""
    planning_wall_s: float = 0.0
    """Wall time of the time-triggered NoC's planning pass (part of ``summary['wall_s']``)."""


def _arch(arch: ArchConfig | str | Path) -> ArchConfig:
    return arch if isinstance(arch, ArchConfig) else load_arch(arch)


def _workload(workload: WorkloadConfig | str | Path) -> WorkloadConfig:
    return workload if isinstance(workload, WorkloadConfig) else load_workload(workload)


def default_trace_path(summary: dict[str, Any], folder: str | Path = "traces") -> Path:
    """traces/WORKLOAD-ARCH-WxH-bN-PRECISION[-SCENARIO].h5"""
    scenario = f"-{summary['scenario']}" if "scenario" in summary else ""
    name = (
        f"{summary['workload']}-{summary['arch']}-{summary['input']}"
        f"-b{summary['batch']}-{summary['precision']}{scenario}.h5"
    )
    return Path(folder) / name


def check_precision_supported(arch: ArchConfig, precision: Precision) -> None:
    """A user error when the arch has no MAC rate for the precision."""
    if precision not in arch.mac_clusters.mac_rate:
        supported = ", ".join(p.value for p in arch.mac_clusters.mac_rate)
        raise ConfigError(
            problem_for(
                arch.mac_clusters,
                f"precision {precision.value} is not supported by arch {arch.name!r} "
                f"(it lists: {supported})",
                "mac_rate",
            )
        )


def fusion_request(workload: WorkloadConfig, mode: str | None = None) -> FusionRequest:
    """What to fuse: the workload file's fusion block, its mode overridden by ``mode``
    (``none`` also drops the file's explicit groups). Explicit groups that cannot be fused
    are a ConfigError at their line."""
    fusion = workload.fusion
    if mode is not None and mode not in FUSION_MODES:
        raise ConfigError(f"--fusion: expected one of {', '.join(FUSION_MODES)}; got {mode!r}")
    if mode == "none":
        return FusionRequest("none")
    names = {layer.name: layer for layer in workload.layers}
    problems = []
    for index, members in enumerate(fusion.groups):
        unknown = [name for name in members if name not in names]
        if unknown:
            message = f"fusion group names unknown layers: {', '.join(unknown)}"
            problems.append(problem_for(fusion, message, "groups", index))
    if problems:
        raise ConfigError(problems)
    return FusionRequest(
        fusion.mode if mode is None else "auto", tuple(tuple(g) for g in fusion.groups)
    )


def _check_groups(graph: WorkloadGraph, workload: WorkloadConfig, request: FusionRequest) -> None:
    problems = [
        problem_for(
            workload.fusion, f"cannot fuse {list(members)}: {'; '.join(found)}", "groups", i
        )
        for i, members in enumerate(request.groups)
        if (found := chain_problems(graph, members))
    ]
    if problems:
        raise ConfigError(problems)


def map_located(
    graph: WorkloadGraph,
    arch: ArchConfig,
    workload: WorkloadConfig,
    fusion: FusionRequest | None = None,
) -> Program:
    """Map the workload; a mapping error about a layer points at that layer's entry, and
    an explicit fusion group that cannot be fused at its line."""
    if fusion is not None:
        _check_groups(graph, workload, fusion)
    try:
        return map_workload(graph, arch, fusion)
    except MappingError as error:
        names = [layer.name for layer in workload.layers]
        if error.layer is None or error.layer not in names:
            raise
        located = [
            problem_for(workload.layers[names.index(error.layer)], problem.message)
            for problem in error.problems
        ]
        raise MappingError(located, layer=error.layer) from None


def simulate(
    arch: ArchConfig | str | Path,
    workload: WorkloadConfig | str | Path,
    *,
    width: int | None = None,
    height: int | None = None,
    batch: int | None = None,
    precision: Precision | str | None = None,
    seed: int = 0,
    trace: bool = True,
    trace_path: str | Path | None = None,
    watchdog_ms: float | None = DEFAULT_WATCHDOG_MS,
    fusion: str | None = None,
    scenario: ScenarioConfig | None = None,
) -> SimulationResult:
    """Simulate one inference of ``workload`` on ``arch``, or the frames of a scenario.

    ``scenario`` (default: the workload file's ``scenario:`` block, if any) makes frames
    arrive over time (``archsim.scenario``); an arch with several engines runs each frame
    on one of them.

    ``width``/``height``/``batch``/``precision`` override the workload file's values.
    With ``trace`` on, an HDF5 trace is written atomically to ``trace_path`` (default:
    under ``traces/``). ``fusion`` (none|auto) overrides the workload file's fusion mode.
    Same inputs and seed give the same summary (``wall_s`` aside)
    and the same trace datasets. The run stops with a DeadlockError when no operation
    completes for ``watchdog_ms`` of simulated time (None: only when no event is left).
    """
    arch_cfg = _arch(arch)
    workload_cfg = _workload(workload)
    graph = build_graph(workload_cfg, width=width, height=height, batch=batch, precision=precision)
    check_precision_supported(arch_cfg, graph.precision)
    request = fusion_request(workload_cfg, fusion)
    engine_cfg = engine_arch(arch_cfg)  # the whole chip, or one engine of several
    with engine_mapping_hint(arch_cfg):
        program = map_located(graph, engine_cfg, workload_cfg, request)
    unfused = map_workload(graph, engine_cfg) if program.fusion_groups else None
    scenario_cfg = scenario if scenario is not None else workload_cfg.scenario
    frames = plan_frames(program, arch_cfg, scenario_cfg, seed)  # None: one frame as mapped
    recorder: Recorder = Recorder() if trace else NullRecorder()
    watchdog_ps = None if watchdog_ms is None else max(1, round(watchdog_ms * PS_PER_MS))
    outcome = run_program(
        program if frames is None else frames.program,
        arch_cfg,
        seed,
        recorder,
        watchdog_ps,
        None if frames is None else frames.schedule,
    )
    summary = build_summary(
        outcome,
        graph,
        arch_cfg,
        arch_name=arch_cfg.name,
        workload_name=workload_cfg.name,
        seed=seed,
        version=__version__,
    )
    summary.update(fusion_summary(request, program, unfused, graph))
    shape = graph.input_shape
    results = finish_frames(
        outcome, summary, scenario_cfg, arch_cfg, shape.batch, graph.precision, recorder
    )
    path = None
    if trace:
        path = Path(trace_path) if trace_path is not None else default_trace_path(summary)
        _record_tables(recorder, outcome, graph, arch_cfg)
        config_yaml = yaml.safe_dump(
            {
                "arch": arch_cfg.model_dump(mode="json"),
                "workload": workload_cfg.model_dump(mode="json"),
                "run": {
                    "input": summary["input"],
                    "batch": summary["batch"],
                    "precision": summary["precision"],
                    "seed": seed,
                    **({"scenario": scenario_cfg.model_dump(mode="json")} if scenario_cfg else {}),
                },
            },
            sort_keys=False,
        )
        attrs = {
            "seed": seed,
            "arch": arch_cfg.name,
            "workload": workload_cfg.name,
            "config_yaml": config_yaml,
            "summary_json": json.dumps(summary),
        }
        path = write_trace(path, recorder.data(), attrs)
    plan = outcome.schedule
    planning_wall_s = plan.wall_s if isinstance(plan, TransferPlan) else 0.0
    return SimulationResult(summary, path, graph, outcome.program, tuple(results), planning_wall_s)


def _record_tables(
    recorder: Recorder, outcome: RunOutcome, graph: WorkloadGraph, arch: ArchConfig
) -> None:
    for row in layer_results(outcome, graph, arch):
        recorder.layer(
            row.index,
            row.name,
            row.op,
            row.t_start_ps,
            row.t_end_ps,
            row.macs,
            row.tiles,
            row.dram_bytes_read,
            row.dram_bytes_written,
            row.sram_bytes,
            row.interconnect_bytes,
            row.mac_utilization,
            *(row.stall_ps[cause] for cause in STALL_CAUSES),
        )
    for link in outcome.chip.interconnect.links:
        recorder.link(
            link.component_id, link.bytes, link.busy_ps, link.reserved_ps, link.blocked_ps
        )
