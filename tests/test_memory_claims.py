"""Claims about memory that must hold: precision scales bytes and MAC time, and high
resolution moves far more activation bytes through DRAM per MAC."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import WORKLOAD_DIR

import archsim
from archsim.analysis.mapping_report import map_for_report
from archsim.config import ArchConfig, load_workload
from archsim.domain import Precision
from archsim.mapping.regions import Region
from archsim.mapping.tiling import tile_cycles
from archsim.workload import build_graph

ArchVariant = Callable[..., ArchConfig]
RESNET50 = WORKLOAD_DIR / "resnet50.yaml"


@pytest.fixture(scope="module")
def resnet_int8_bf16() -> tuple[dict[str, Any], dict[str, Any]]:
    """Summaries of ResNet-50 at 224x224 on edge_bus in INT8 and in BF16."""
    arch = archsim.load_arch(WORKLOAD_DIR.parent / "arch" / "edge_bus.yaml")
    int8 = archsim.simulate(arch, RESNET50, precision="int8", trace=False).summary
    bf16 = archsim.simulate(arch, RESNET50, precision="bf16", trace=False).summary
    return int8, bf16


def test_bf16_doubles_weight_and_activation_bytes(
    resnet_int8_bf16: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    int8, bf16 = resnet_int8_bf16
    assert bf16["total_macs"] == int8["total_macs"]
    assert bf16["compulsory_dram_bytes"] == 2 * int8["compulsory_dram_bytes"]
    assert bf16["dram_weight_bytes_read"] == 2 * int8["dram_weight_bytes_read"]
    assert bf16["dram_bytes_written"] == 2 * int8["dram_bytes_written"]  # the network output
    # the network input doubles; BF16 tiles are smaller, so their halos add a little more
    assert bf16["dram_activation_bytes_read"] >= 2 * int8["dram_activation_bytes_read"]


def test_bf16_doubles_every_activation_tensor() -> None:
    int8 = build_graph(load_workload(RESNET50), precision="int8")
    bf16 = build_graph(load_workload(RESNET50), precision="bf16")
    for a, b in zip(int8.layers, bf16.layers, strict=True):
        assert b.output_shape.nbytes(bf16.precision) == 2 * a.output_shape.nbytes(int8.precision)


def test_half_the_mac_rate_doubles_a_tiles_compute_time(arch_variant: ArchVariant) -> None:
    arch = arch_variant("edge_bus")
    rates = arch.mac_clusters.mac_rate
    assert rates[Precision.BF16] == rates[Precision.INT8] / 2
    graph = build_graph(load_workload(RESNET50))
    for layer in graph.layers:
        if layer.gemm is None:
            continue
        out = layer.output_shape
        tile = Region((0, min(7, out.height)), (0, out.width), (0, min(64, out.channels)))
        int8 = tile_cycles(layer, arch, Precision.INT8, tile)
        assert tile_cycles(layer, arch, Precision.BF16, tile) == 2 * int8, layer.name


def activation_bytes_per_mac(totals: dict[str, int]) -> float:
    """Activation bytes read from and written to DRAM per MAC."""
    moved = totals["dram_activation_bytes_read"] + totals["dram_activation_bytes_written"]
    return moved / totals["macs"]


def test_high_resolution_moves_far_more_activation_bytes_per_mac(
    arch_variant: ArchVariant,
) -> None:
    arch, workload = arch_variant("edge_bus"), load_workload(RESNET50)
    small = map_for_report(arch, workload, width=224, height=224).totals()
    large = map_for_report(arch, workload, width=1440, height=1440).totals()
    # 224: only the input image and the logits; 1440: activations spill to DRAM
    assert activation_bytes_per_mac(large) > 50 * activation_bytes_per_mac(small)


def test_the_summary_reports_activation_dram_bytes_per_mac(
    resnet_int8_bf16: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    int8, _ = resnet_int8_bf16
    moved = int8["dram_activation_bytes_read"] + int8["dram_bytes_written"]
    assert int8["activation_dram_bytes_per_mac"] == pytest.approx(moved / int8["total_macs"])
    assert int8["activation_dram_bytes_per_mac"] > 0
