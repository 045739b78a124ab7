"""The unfused DRAM bytes counted from a plan equal those of the program built from it, so a
fused run measures its saving with one mapping instead of two."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import ARCH_DIR, WORKLOAD_DIR

from archsim.analysis.fusion_report import dram_bytes_by_stream
from archsim.config import ArchConfig, load_arch, load_workload
from archsim.domain import TransferKind
from archsim.mapping.dram_traffic import unfused_dram_bytes
from archsim.mapping.fusion import FusionRequest
from archsim.mapping.located import fusion_request, map_run
from archsim.mapping.mapper import map_workload
from archsim.mapping.planner import plan_mapping
from archsim.scenario import engine_arch
from archsim.workload import build_graph

CASES = [
    ("edge_bus", "tiny_cnn", None),
    ("edge_det", "tiny_cnn", None),
    ("multi_engine", "tiny_cnn", None),
    ("edge_bus", "yolov3_tiny", 416),
    ("edge_mesh", "yolov3_tiny", 416),
    ("edge_det", "yolov3_tiny", 608),
    ("edge_bus", "resnet50", 224),
    ("edge_xbar", "resnet50", 224),
]


@pytest.mark.parametrize(("arch_name", "workload_name", "size"), CASES)
def test_counted_bytes_equal_the_built_program_s(
    arch_name: str, workload_name: str, size: int | None
) -> None:
    arch = engine_arch(load_arch(ARCH_DIR / f"{arch_name}.yaml"))
    graph = build_graph(
        load_workload(WORKLOAD_DIR / f"{workload_name}.yaml"), width=size, height=size
    )
    program = map_workload(graph, arch)
    counted = unfused_dram_bytes(graph, plan_mapping(graph, arch))
    assert counted == dram_bytes_by_stream(program)
    assert sum(counted.values()) > 0


def test_counts_include_input_staging_of_spilled_tensors(
    arch_variant: Callable[..., ArchConfig],
) -> None:
    """A small SRAM makes activations spill, so layers stage DRAM inputs (and re-stage
    them per channel block): the counting covers that case too."""
    arch = arch_variant("edge_bus", "sram.bank_kib=64", "mac_clusters.local_buffer_kib=64")
    graph = build_graph(load_workload(WORKLOAD_DIR / "yolov3_tiny.yaml"), width=416, height=416)
    program = map_workload(graph, arch)
    staged = sum(op.nbytes for op in program.transfers() if op.kind is TransferKind.INPUT_FETCH)
    assert staged > 0
    assert unfused_dram_bytes(graph, plan_mapping(graph, arch)) == dram_bytes_by_stream(program)


@pytest.mark.parametrize(("arch_name", "size"), [("edge_bus", 608), ("edge_mesh", 608)])
def test_a_fused_run_reports_the_unfused_mapping_s_bytes(arch_name: str, size: int) -> None:
    arch = load_arch(ARCH_DIR / f"{arch_name}.yaml")
    workload = load_workload(WORKLOAD_DIR / "yolov3_tiny.yaml")
    graph = build_graph(workload, width=size, height=size)
    mapped = map_run(graph, arch, workload, fusion_request(workload, "auto"))
    assert mapped.program.fusion_groups
    assert mapped.unfused_dram_bytes == dram_bytes_by_stream(map_workload(graph, arch))
    fused_bytes = sum(dram_bytes_by_stream(mapped.program).values())
    assert sum(mapped.unfused_dram_bytes.values()) > fused_bytes
    plain = map_run(graph, arch, workload, fusion_request(workload, "none"))
    assert plain.unfused_dram_bytes is None  # no group: nothing to measure against


def test_a_plan_with_groups_is_refused() -> None:
    arch = load_arch(ARCH_DIR / "edge_bus.yaml")
    graph = build_graph(load_workload(WORKLOAD_DIR / "yolov3_tiny.yaml"), width=608, height=608)
    plan = plan_mapping(graph, arch, FusionRequest("auto"))
    assert plan.groups and plan.unfused is not None and not plan.unfused.groups
    with pytest.raises(ValueError, match="without fusion groups"):
        unfused_dram_bytes(graph, plan)
