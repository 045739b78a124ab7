"""Mapper decisions: tiles partition every output, fit their buffers, and SRAM is never
over-planned; spills and precision change traffic, never MACs."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from conftest import WORKLOAD_DIR

import archsim
from archsim.config import load_workload, load_workload_text
from archsim.domain import Precision, TransferKind
from archsim.errors import ConfigError, MappingError
from archsim.mapping.mapper import map_workload
from archsim.mapping.placement import bank_shares
from archsim.mapping.program import ComputeOp, TransferOp
from archsim.mapping.tiling import choose_tiling, is_view
from archsim.workload import TensorShape, build_graph


@pytest.mark.parametrize("size", [224, 1440])
def test_tiles_partition_every_layer_output_exactly(arch_variant: Any, size: int) -> None:
    arch = arch_variant("edge_bus")
    graph = build_graph(load_workload(WORKLOAD_DIR / "resnet50.yaml"), width=size, height=size)
    program = map_workload(graph, arch)
    covered: dict[int, int] = defaultdict(int)
    for tile in program.tiles:
        rows = tile.rows[1] - tile.rows[0]
        cols = tile.cols[1] - tile.cols[0]
        covered[tile.layer] += rows * cols * (tile.channels[1] - tile.channels[0])
    for layer in graph.layers:
        if not is_view(layer):
            assert covered[layer.index] == layer.output_shape.elements, layer.name
    computes = [op for op in program.ops if isinstance(op, ComputeOp)]
    assert sum(op.macs for op in computes) == graph.total_macs


def test_every_tile_fits_half_the_local_buffer(arch_variant: Any) -> None:
    arch = arch_variant("edge_bus")
    graph = build_graph(load_workload(WORKLOAD_DIR / "resnet50.yaml"))
    budget = arch.mac_clusters.local_buffer_kib * 1024 // 2
    for layer in graph.layers:
        if not is_view(layer):
            tiling = choose_tiling(layer, arch, graph.precision)
            assert 0 < tiling.working_set_bytes <= budget, layer.name


def test_planned_sram_never_exceeds_capacity(arch_variant: Any) -> None:
    arch = arch_variant("edge_bus")
    graph = build_graph(load_workload(WORKLOAD_DIR / "resnet50.yaml"), width=640, height=640)
    program = map_workload(graph, arch)  # 6.5 MB activations next to 2.4 MB of weights
    assert 0 < program.sram_peak_bytes <= 8 * 1024 * 1024
    assert any(not plan.output_in_sram for plan in program.layers)


def test_spilled_activations_go_to_dram_and_come_back(arch_variant: Any) -> None:
    small = arch_variant("edge_bus", "sram.bank_kib=64", "mac_clusters.local_buffer_kib=64")
    roomy = arch_variant("edge_bus", "mac_clusters.local_buffer_kib=64")
    tiny = WORKLOAD_DIR / "tiny_cnn.yaml"  # 1 MiB activations at 256x256: SRAM is 1 MiB
    spilled = archsim.simulate(small, tiny, width=256, height=256, trace=False).summary
    kept = archsim.simulate(roomy, tiny, width=256, height=256, trace=False).summary
    assert spilled["total_macs"] == kept["total_macs"] == spilled["workload_macs"]
    assert spilled["dram_activation_bytes_read"] > kept["dram_activation_bytes_read"]
    assert spilled["dram_bytes_written"] > kept["dram_bytes_written"]
    assert spilled["latency_ps"] >= spilled["roofline_bound_ps"]
    assert spilled["sram_peak_bytes"] <= spilled["sram_capacity_bytes"]


def test_bf16_doubles_bytes_and_halves_the_mac_rate(arch_variant: Any) -> None:
    arch = arch_variant("edge_bus")
    tiny = WORKLOAD_DIR / "tiny_cnn.yaml"
    int8 = archsim.simulate(arch, tiny, trace=False).summary
    bf16 = archsim.simulate(arch, tiny, precision="bf16", trace=False).summary
    assert bf16["total_macs"] == int8["total_macs"]
    assert bf16["compulsory_dram_bytes"] == 2 * int8["compulsory_dram_bytes"]
    assert bf16["dram_weight_bytes_read"] == 2 * int8["dram_weight_bytes_read"]
    assert bf16["peak_tops"] == pytest.approx(int8["peak_tops"] / 2)


def test_batch_multiplies_macs_and_reuses_nothing_it_should_not(arch_variant: Any) -> None:
    arch = arch_variant("edge_bus")
    tiny = WORKLOAD_DIR / "tiny_cnn.yaml"
    one = archsim.simulate(arch, tiny, trace=False).summary
    four = archsim.simulate(arch, tiny, batch=4, trace=False).summary
    assert four["total_macs"] == 4 * one["total_macs"]
    assert four["dram_weight_bytes_read"] == one["dram_weight_bytes_read"]  # weights once
    assert four["throughput_fps"] > one["throughput_fps"]


def test_no_tiling_fits_is_a_mapping_error(arch_variant: Any) -> None:
    arch = arch_variant("edge_bus", "mac_clusters.local_buffer_kib=1")
    graph = build_graph(load_workload(WORKLOAD_DIR / "resnet50.yaml"))
    with pytest.raises(MappingError, match="local_buffer_kib"):
        map_workload(graph, arch)


def test_weights_larger_than_sram_are_a_mapping_error(arch_variant: Any) -> None:
    arch = arch_variant("edge_bus", "sram.bank_kib=16")  # 256 KiB < 2.4 MB of layer4 weights
    graph = build_graph(load_workload(WORKLOAD_DIR / "resnet50.yaml"))
    with pytest.raises(MappingError, match="weights"):
        map_workload(graph, arch)


def test_bank_shares_split_a_region_exactly() -> None:
    shape = TensorShape(batch=2, height=10, width=4, channels=8)
    shares = bank_shares(shape, image=1, rows=(3, 9), nbytes=999, banks=7)
    assert sum(share for _, share in shares) == 999
    assert [bank for bank, _ in shares] == sorted({bank for bank, _ in shares})
    whole = bank_shares(shape, image=0, rows=(0, 10), nbytes=320, banks=4)
    assert whole == [(0, 160), (1, 160)]  # image 0 is the first half of the tensor


def test_every_transfer_has_exactly_one_sram_bank(arch_variant: Any) -> None:
    arch = arch_variant("edge_mesh")
    graph = build_graph(load_workload(WORKLOAD_DIR / "tiny_cnn.yaml"), precision=Precision.INT8)
    program = map_workload(graph, arch)
    transfers = [op for op in program.ops if isinstance(op, TransferOp)]
    kinds = np.array([(op.src.kind.name, op.dst.kind.name) for op in transfers])
    assert np.all((kinds == "BANK").sum(axis=1) == 1)
    assert {op.kind for op in transfers} >= {
        TransferKind.WEIGHT_FETCH,
        TransferKind.INPUT_FETCH,
        TransferKind.OPERAND_LOAD,
        TransferKind.RESULT_STORE,
        TransferKind.OUTPUT_WRITE,
    }
    for op in program.ops:
        assert all(dep < op.id for dep in op.deps)  # a DAG in id order: no cycles possible


def test_a_yolo_head_makes_its_producer_a_network_output(arch_variant: Any) -> None:
    arch = arch_variant("edge_bus")
    graph = build_graph(load_workload(WORKLOAD_DIR / "tiny_cnn.yaml"))
    program = map_workload(graph, arch)
    written = defaultdict(int)
    for op in program.ops:
        if isinstance(op, TransferOp) and op.kind is TransferKind.OUTPUT_WRITE:
            written[graph.layers[op.layer].name] += op.nbytes
    box, fc = graph.layer("box").output_shape, graph.layer("fc").output_shape
    assert dict(written) == {"box": box.nbytes(Precision.INT8), "fc": fc.nbytes(Precision.INT8)}
    assert graph.layer("detect").is_view and graph.layer("pick").is_view
    assert graph.layer("detect").macs == graph.layer("pick").macs == 0


TWO_INPUTS = """
name: two_inputs
input: {width: 16, height: 16, channels: 8}
layers:
  - {name: a, op: conv2d, filters: 8, kernel: 3, padding: 1}
  - {name: side, op: input, width: 8, height: 8, channels: 32}
  - {name: b, op: conv2d, filters: 16, kernel: 1, inputs: [side]}
"""


def test_an_input_layer_is_an_extra_tensor_read_from_dram(arch_variant: Any) -> None:
    arch = arch_variant("edge_mesh")
    graph = build_graph(load_workload_text(TWO_INPUTS), batch=2)
    side = graph.layer("side")
    assert side.output_shape == TensorShape(2, 8, 8, 32) and side.macs == 0
    program = map_workload(graph, arch)
    fetched = sum(
        op.nbytes
        for op in program.ops
        if isinstance(op, TransferOp)
        and op.kind is TransferKind.INPUT_FETCH
        and graph.layers[op.layer].name == "b"
    )
    assert fetched == side.output_shape.nbytes(Precision.INT8)  # 1x1 conv: read once
    weights = sum(layer.weight_elements for layer in graph.layers)
    tensors = [
        graph.input_shape,
        side.output_shape,
        graph.layer("a").output_shape,
        graph.layer("b").output_shape,
    ]
    assert program.compulsory_dram_bytes == weights + sum(t.nbytes(Precision.INT8) for t in tensors)
    summary = archsim.simulate(arch, load_workload_text(TWO_INPUTS), trace=False).summary
    assert summary["total_macs"] == summary["workload_macs"] == 8 * 16 * 16 * 72 + 16 * 8 * 8 * 32


def test_an_input_layer_takes_no_producers() -> None:
    text = TWO_INPUTS.replace("channels: 32}", "channels: 32, inputs: [a]}")
    with pytest.raises(ConfigError) as error:
        load_workload_text(text, file="two.yaml")
    assert error.value.problems[0].path == "layers.1.inputs"
