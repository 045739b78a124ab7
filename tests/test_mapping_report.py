"""``archsim map``: the per-layer mapping report adds up to the program it describes and
to what a simulation of that program reads and writes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result
from conftest import ARCH_DIR, WORKLOAD_DIR

import archsim
from archsim.analysis.mapping_report import map_for_report, mapping_report
from archsim.cli.main import cli
from archsim.config import ArchConfig, load_workload
from archsim.domain import TransferKind
from archsim.mapping.mapper import ProgramBuilder
from archsim.workload import build_graph

ArchVariant = Callable[..., ArchConfig]
EDGE_BUS = ARCH_DIR / "edge_bus.yaml"
RESNET50 = WORKLOAD_DIR / "resnet50.yaml"
TINY_CNN = WORKLOAD_DIR / "tiny_cnn.yaml"


def invoke(*args: str | Path) -> Result:
    """Run the CLI in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def test_totals_are_the_program_transfers_by_kind(arch_variant: ArchVariant) -> None:
    # 1 MiB of SRAM for 1 MiB of activations at 256x256: some spill and come back
    arch = arch_variant("edge_bus", "sram.bank_kib=64", "mac_clusters.local_buffer_kib=64")
    graph = build_graph(load_workload(TINY_CNN), width=256, height=256)
    builder = ProgramBuilder(graph, arch)
    program = builder.build()
    report = mapping_report(graph, program, builder, arch.name, "tiny_cnn")
    by_kind: Counter[TransferKind] = Counter()
    for op in program.transfers():
        by_kind[op.kind] += op.nbytes
    totals = report.totals()
    assert totals["dram_weight_bytes_read"] == by_kind[TransferKind.WEIGHT_FETCH]
    assert totals["dram_activation_bytes_read"] == by_kind[TransferKind.INPUT_FETCH] > 0
    written = by_kind[TransferKind.SPILL] + by_kind[TransferKind.OUTPUT_WRITE]
    assert totals["dram_activation_bytes_written"] == written > 0
    assert totals["load_bytes"] == by_kind[TransferKind.OPERAND_LOAD]
    assert totals["tiles"] == len(program.tiles)
    assert totals["macs"] == graph.total_macs
    assert any(not layer.output_in_sram for layer in report.layers[:-1])


def test_weights_cross_the_dram_interface_at_least_once(arch_variant: ArchVariant) -> None:
    report = map_for_report(arch_variant("edge_bus"), load_workload(RESNET50))
    for layer in report.layers:
        assert layer.dram_weight_bytes_read >= layer.weight_bytes, layer.name
        assert 1 <= layer.clusters <= min(16, layer.tiles)
    graph = build_graph(load_workload(RESNET50))
    compulsory = sum(layer.weight_elements for layer in graph.layers)  # int8: 1 byte each
    assert report.totals()["dram_weight_bytes_read"] >= compulsory > 0


def test_report_dram_bytes_equal_the_simulated_summary(arch_variant: ArchVariant) -> None:
    arch = arch_variant("edge_bus")
    report = map_for_report(arch, load_workload(RESNET50), width=224, height=224)
    summary = archsim.simulate(arch, RESNET50, width=224, height=224, trace=False).summary
    totals = report.to_dict()["totals"]
    assert totals["dram_bytes_read"] == summary["dram_bytes_read"]
    assert totals["dram_bytes_written"] == summary["dram_bytes_written"]
    assert totals["dram_weight_bytes_read"] == summary["dram_weight_bytes_read"]
    assert totals["dram_activation_bytes_read"] == summary["dram_activation_bytes_read"]
    assert report.compulsory_dram_bytes == summary["compulsory_dram_bytes"]
    assert totals["tiles"] == summary["tiles"]


def test_map_prints_a_table_with_every_executed_layer() -> None:
    result = invoke("map", EDGE_BUS, TINY_CNN, "--input", "64x64", "--set", "workload.batch=2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "tiny_cnn on edge_bus: input 64x64, batch 2, int8"
    assert any(" stem " in line and "conv2d" in line for line in lines)
    assert any(line.strip().startswith("total") for line in lines)


def test_map_json_carries_layers_and_totals() -> None:
    result = invoke("map", EDGE_BUS, TINY_CNN, "--precision", "bf16", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["precision"] == "bf16"
    layer = report["layers"][0]
    assert layer["loop_order"] in ("weights_outer", "inputs_outer")
    assert {"reuse", "weights_refetched", "activations_refetched", "output_in_sram"} <= set(layer)
    assert report["totals"]["dram_bytes_read"] > 0


def assert_user_error(result: Result, *fragments: str) -> None:
    """Exit code 2, no traceback, and every fragment in stderr."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr


def test_map_reports_a_layer_no_tiling_fits_at_its_line() -> None:
    result = invoke("map", EDGE_BUS, RESNET50, "--set", "mac_clusters.local_buffer_kib=1")
    assert_user_error(result, "resnet50.yaml:16:5: layers.3:", "no tiling fits")


def test_map_reports_bad_inputs() -> None:
    assert_user_error(invoke("map", EDGE_BUS, TINY_CNN, "--set", "nope=1"), "unknown top-level")
    assert_user_error(invoke("map", EDGE_BUS, TINY_CNN, "--input", "30x30"), "multiple")
    missing = invoke("map", ARCH_DIR / "nope.yaml", TINY_CNN)
    assert_user_error(missing, "nope.yaml: file not found")
