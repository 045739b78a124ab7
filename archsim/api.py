"""The public API: load configs, simulate, and get a summary plus an HDF5 trace."""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archsim.analysis.cost import static_power_w
from archsim.analysis.fusion_report import fusion_summary
from archsim.analysis.layer_table import STALL_CAUSES, layer_results
from archsim.analysis.roofline import peak_macs_per_s
from archsim.analysis.summary import build_summary
from archsim.collector import collector_paused
from archsim.config import ArchConfig, WorkloadConfig, load_arch, load_workload, problem_for
from archsim.config.operating_point import Corner
from archsim.config.pvt import (
    MAX_THERMAL_RUNS,
    ResolvedOperatingPoint,
    at_operating_point,
    next_throttle,
    operating_point_of,
    parse_corner,
)
from archsim.config.scenario import ScenarioConfig
from archsim.domain import Precision
from archsim.errors import ConfigError
from archsim.mapping.located import check_precision_supported, fusion_request, map_run
from archsim.mapping.tiling import TilingMode, parse_tiling
from archsim.mapping.transfer_plan import TransferPlan
from archsim.scenario import FrameResult, engine_arch, finish_frames, plan_frames
from archsim.scenario.engines import engine_mapping_hint
from archsim.sim.engine import RunOutcome, run_program
from archsim.sim.ideal_memory import ideal_memory_arch
from archsim.sim.progress import wants_bar
from archsim.sim.runtime import RunProgram
from archsim.trace import NullRecorder, Recorder, TraceWriter
from archsim.units import PS_PER_MS
from archsim.version import __version__
from archsim.workload import WorkloadGraph, build_graph
from archsim.yaml_text import safe_dump

DEFAULT_WATCHDOG_MS = 1000.0
"""Simulated time without any completed operation after which a run is declared stuck."""


@dataclass(frozen=True)
class SimulationResult:
    """What ``simulate`` returns."""

    summary: dict[str, Any]
    trace_path: Path | None
    graph: WorkloadGraph
    program: RunProgram  # as mapped, or a scenario's frames over it
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
    corner: Corner | str | None = None,
    ideal_memory: bool = False,
    tiling: TilingMode | str = TilingMode.SEARCH,
    verify_plan: bool = False,
    progress: bool = False,
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

    ``corner`` (worst|typical|best) runs the arch at that corner of its ``operating_point``
    block (the block's defaults if it has none); the block's own point applies without one.
    Above the block's ``tdp_w`` the on-chip clocks are throttled and the run repeated until
    its average power is under the TDP, at most ``MAX_THERMAL_RUNS`` times
    (``archsim.config.pvt``); the summary then has an ``operating_point`` block
    (``tdp_met`` false if the last run is still above the TDP). With neither block nor
    corner, the arch runs as given.

    ``ideal_memory`` gives DRAM, SRAM and the interconnect unlimited bandwidth and no
    latency and local buffers that hold whole layers (``archsim.sim.ideal_memory``);
    ``tiling`` scalesim maps every layer as one GEMM per cluster, as SCALE-Sim does
    (default: search, the cheapest tiling). Both add their key to the summary.

    On a time-triggered NoC whose planning model is the chip itself (``interconnect.
    plan_dram: exact``, or DRAM without refresh) the run is its own planning pass: the run
    on the frozen plan would repeat it event for event. ``verify_plan`` runs the planning
    pass separately and then the run on the frozen plan, which counts any transfer that
    comes late (a check of that equivalence; it costs a second simulation).

    ``progress`` draws a bar of each run on stderr when stderr is a terminal
    (``archsim.sim.progress``); it changes nothing simulated.
    """
    arch_cfg = _arch(arch)
    workload_cfg = _workload(workload)
    run = _RunRequest(
        width,
        height,
        batch,
        precision,
        seed,
        trace,
        trace_path,
        watchdog_ms,
        fusion,
        scenario,
        ideal_memory,
        parse_tiling(tiling),
        verify_plan,
        wants_bar(progress),
    )
    chosen = parse_corner(corner)
    operating_point = operating_point_of(arch_cfg, chosen)
    if operating_point is None:
        return _simulate_at(arch_cfg, workload_cfg, run)
    throttle = 1.0
    for _ in range(MAX_THERMAL_RUNS):
        effective, resolved = at_operating_point(arch_cfg, operating_point, chosen, throttle)
        result = _simulate_at(effective, workload_cfg, run, (arch_cfg, resolved))
        power_w = result.summary["average_power_w"]
        tdp_w = operating_point.tdp_w
        if tdp_w is None or power_w <= tdp_w:
            return result
        static_w = static_power_w(effective)
        if static_w >= tdp_w:
            message = (
                f"static power {static_w:.3g} W at this operating point is not below the "
                f"TDP ({tdp_w:g} W): no clock meets it"
            )
            raise ConfigError(problem_for(operating_point, message, "tdp_w"))
        throttle = next_throttle(throttle, power_w, static_w, tdp_w)
    return result


@dataclass(frozen=True)
class _RunRequest:
    """The run parameters of ``simulate`` (one request, possibly several thermal runs)."""

    width: int | None
    height: int | None
    batch: int | None
    precision: Precision | str | None
    seed: int
    trace: bool
    trace_path: str | Path | None
    watchdog_ms: float | None
    fusion: str | None
    scenario: ScenarioConfig | None
    ideal_memory: bool
    tiling: TilingMode
    verify_plan: bool
    progress: bool


def _simulate_at(
    arch_cfg: ArchConfig,
    workload_cfg: WorkloadConfig,
    run: _RunRequest,
    operating_point: tuple[ArchConfig, ResolvedOperatingPoint] | None = None,
) -> SimulationResult:
    """``_simulate_paused`` with the cyclic garbage collector paused.

    The cyclic garbage collector stays off from mapping to summary: both allocate only
    acyclic records, and each time the collector came back on (after mapping, after the
    run) it traversed every one of them and freed nothing (about 0.7 s of a YOLOv3
    1920x1088 call); now it does so once, when the call's state is mostly gone.
    """
    with collector_paused():
        return _simulate_paused(arch_cfg, workload_cfg, run, operating_point)


def _simulate_paused(
    arch_cfg: ArchConfig,
    workload_cfg: WorkloadConfig,
    run: _RunRequest,
    operating_point: tuple[ArchConfig, ResolvedOperatingPoint] | None = None,
) -> SimulationResult:
    """One simulation of ``arch_cfg`` (already at its operating point, if any; then
    ``operating_point`` is the nominal arch and the point, for the summary)."""
    width, height, batch, precision = run.width, run.height, run.batch, run.precision
    seed, trace, trace_path, watchdog_ms = run.seed, run.trace, run.trace_path, run.watchdog_ms
    fusion, scenario = run.fusion, run.scenario
    graph = build_graph(workload_cfg, width=width, height=height, batch=batch, precision=precision)
    check_precision_supported(arch_cfg, graph.precision)
    request = fusion_request(workload_cfg, fusion)
    if run.tiling is TilingMode.SCALESIM and (request.mode != "none" or request.groups):
        raise ConfigError("--tiling scalesim maps layers one by one: use it with --fusion none")
    if run.ideal_memory:
        arch_cfg = ideal_memory_arch(arch_cfg, graph)
    engine_cfg = engine_arch(arch_cfg)  # the whole chip, or one engine of several
    with engine_mapping_hint(arch_cfg):
        mapped = map_run(graph, engine_cfg, workload_cfg, request, run.tiling)
    program = mapped.program
    scenario_cfg = scenario if scenario is not None else workload_cfg.scenario
    frames = plan_frames(program, arch_cfg, scenario_cfg, seed)  # None: one frame as mapped
    path = None
    if trace:
        path = (
            Path(trace_path)
            if trace_path is not None
            else default_trace_path(_path_keys(arch_cfg, workload_cfg, graph, scenario_cfg))
        )
    # the trace streams into PATH.tmp during the run; renamed to PATH only once complete
    with TraceWriter(path) if path is not None else nullcontext() as out:
        recorder: Recorder = Recorder(out.append) if out is not None else NullRecorder()
        watchdog_ps = None if watchdog_ms is None else max(1, round(watchdog_ms * PS_PER_MS))
        outcome = run_program(
            program if frames is None else frames.program,
            arch_cfg,
            seed,
            recorder,
            watchdog_ps,
            None if frames is None else frames.schedule,
            verify_plan=run.verify_plan,
            progress=run.progress,
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
        summary.update(fusion_summary(request, program, mapped.unfused_dram_bytes, graph))
        summary.update(_run_keys(run, arch_cfg, graph, summary, operating_point))
        shape = graph.input_shape
        results = finish_frames(
            outcome, summary, scenario_cfg, arch_cfg, shape.batch, graph.precision, recorder
        )
        if out is not None:
            _record_tables(recorder, outcome, graph, arch_cfg)
            attrs = _trace_attrs(arch_cfg, workload_cfg, scenario_cfg, summary, seed)
            path = out.commit(recorder.data(), attrs)
    plan = outcome.schedule
    planning_wall_s = plan.wall_s if isinstance(plan, TransferPlan) else 0.0
    return SimulationResult(summary, path, graph, outcome.program, tuple(results), planning_wall_s)


def _run_keys(
    run: _RunRequest,
    arch_cfg: ArchConfig,
    graph: WorkloadGraph,
    summary: dict[str, Any],
    operating_point: tuple[ArchConfig, ResolvedOperatingPoint] | None,
) -> dict[str, Any]:
    """Summary keys of the run's options: ideal memory, tiling, operating point."""
    keys: dict[str, Any] = {}
    if run.ideal_memory:
        keys["ideal_memory"] = True
    if run.tiling is not TilingMode.SEARCH:
        keys["tiling"] = run.tiling.value
    if operating_point is not None:
        nominal, resolved = operating_point
        nominal_tops = 2 * peak_macs_per_s(nominal, graph.precision) / 1e12
        keys["operating_point"] = resolved.summary(
            nominal, arch_cfg, nominal_tops, summary["average_power_w"]
        )
    return keys


def _path_keys(
    arch: ArchConfig,
    workload: WorkloadConfig,
    graph: WorkloadGraph,
    scenario: ScenarioConfig | None,
) -> dict[str, Any]:
    """The summary keys ``default_trace_path`` names a trace by, known before the run."""
    shape = graph.input_shape
    keys = {
        "workload": workload.name,
        "arch": arch.name,
        "input": f"{shape.width}x{shape.height}",
        "batch": shape.batch,
        "precision": graph.precision.value,
    }
    return keys | ({"scenario": scenario.kind.value} if scenario is not None else {})


def _trace_attrs(
    arch: ArchConfig,
    workload: WorkloadConfig,
    scenario: ScenarioConfig | None,
    summary: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Root attributes of a run's trace: seed, names, the configs as YAML, the summary."""
    config_yaml = safe_dump(
        {
            "arch": arch.model_dump(mode="json"),
            "workload": workload.model_dump(mode="json"),
            "run": {
                "input": summary["input"],
                "batch": summary["batch"],
                "precision": summary["precision"],
                "seed": seed,
                **({"scenario": scenario.model_dump(mode="json")} if scenario else {}),
            },
        }
    )
    return {
        "seed": seed,
        "arch": arch.name,
        "workload": workload.name,
        "config_yaml": config_yaml,
        "summary_json": json.dumps(summary),
    }


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
