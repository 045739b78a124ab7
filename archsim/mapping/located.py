"""Mapping a workload as the user wrote it: errors point at the config entries and lines.

The mapper itself works on the graph; this module checks the request against the
architecture and the workload file first (precision support, fusion groups) and turns a
mapping error about a layer into a problem at that layer's entry.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from archsim.config import ArchConfig, WorkloadConfig, problem_for
from archsim.domain import Precision
from archsim.errors import ConfigError, MappingError
from archsim.mapping.dram_traffic import unfused_dram_bytes
from archsim.mapping.fusion import FusionRequest, chain_problems
from archsim.mapping.mapper import ProgramBuilder
from archsim.mapping.program import Program
from archsim.mapping.tiling import TilingMode
from archsim.workload import WorkloadGraph

FUSION_MODES = ("none", "auto")
"""Values of ``--fusion``."""


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


@dataclass(frozen=True)
class MappedRun:
    """A run's program, and what the same workload moves to and from DRAM without fusion."""

    program: Program
    unfused_dram_bytes: Counter[int] | None
    """DRAM bytes per stream of the workload mapped without fusion, counted from its plan
    (``dram_traffic``); None when no fusion group was formed."""


def map_run(
    graph: WorkloadGraph,
    arch: ArchConfig,
    workload: WorkloadConfig,
    fusion: FusionRequest | None = None,
    tiling: TilingMode = TilingMode.SEARCH,
) -> MappedRun:
    """Map the workload; a mapping error about a layer points at that layer's entry, and
    an explicit fusion group that cannot be fused at its line. Also counts the unfused
    DRAM bytes a fused program is measured against (one mapping: the unfused figure
    comes from the planner's unfused plan)."""
    if fusion is not None:
        _check_groups(graph, workload, fusion)
    try:
        builder = ProgramBuilder(graph, arch, fusion, tiling)
        program = builder.build()
    except MappingError as error:
        names = [layer.name for layer in workload.layers]
        if error.layer is None or error.layer not in names:
            raise
        located = [
            problem_for(workload.layers[names.index(error.layer)], problem.message)
            for problem in error.problems
        ]
        raise MappingError(located, layer=error.layer) from None
    unfused = builder.plan.unfused
    if not program.fusion_groups or unfused is None:
        return MappedRun(program, None)
    return MappedRun(program, unfused_dram_bytes(graph, unfused))
