"""Energy, power and area: breakdowns add up, each term scales with its parameter."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import WORKLOAD_DIR

import archsim

TINY = WORKLOAD_DIR / "tiny_cnn.yaml"


def summary(arch: Any, **options: Any) -> dict[str, Any]:
    return archsim.simulate(arch, TINY, trace=False, **options).summary


def test_energy_breakdown_adds_up_and_power_is_energy_over_time(arch_variant: Any) -> None:
    result = summary(arch_variant("edge_bus"))
    breakdown = result["energy_breakdown_mj"]
    assert set(breakdown) == {"mac", "vector", "sram", "dram", "interconnect", "static"}
    assert sum(breakdown.values()) == pytest.approx(result["energy_mj_per_inference"])
    latency_s = result["latency_ps"] / 1e12
    assert result["average_power_w"] == pytest.approx(
        result["energy_mj_per_inference"] * 1e-3 / latency_s
    )
    assert result["inferences_per_s_per_w"] == pytest.approx(
        result["throughput_fps"] / result["average_power_w"]
    )


def test_each_energy_term_counts_its_actions(arch_variant: Any) -> None:
    base = summary(arch_variant("edge_bus"))
    dearer = summary(arch_variant("edge_bus", "energy.dram_pj_per_byte=80"))
    assert dearer["energy_breakdown_mj"]["dram"] == pytest.approx(
        2 * base["energy_breakdown_mj"]["dram"]
    )
    expected_dram = (base["dram_bytes_read"] + base["dram_bytes_written"]) * 40e-12 * 1e3
    assert base["energy_breakdown_mj"]["dram"] == pytest.approx(expected_dram)
    assert base["energy_breakdown_mj"]["mac"] == pytest.approx(base["total_macs"] * 0.25e-12 * 1e3)
    bf16 = summary(arch_variant("edge_bus"), precision="bf16")
    assert bf16["energy_breakdown_mj"]["mac"] == pytest.approx(
        4 * base["energy_breakdown_mj"]["mac"]  # 1.0 pJ vs 0.25 pJ per MAC, same MACs
    )


def test_energy_is_per_inference_with_a_batch(arch_variant: Any) -> None:
    one = summary(arch_variant("edge_bus"))
    four = summary(arch_variant("edge_bus"), batch=4)
    assert four["energy_breakdown_mj"]["mac"] == pytest.approx(one["energy_breakdown_mj"]["mac"])
    # weights are fetched once per batch: DRAM energy per image falls
    assert four["energy_breakdown_mj"]["dram"] < one["energy_breakdown_mj"]["dram"]


def test_area_adds_processing_elements_sram_phys_and_routers(arch_variant: Any) -> None:
    bus = summary(arch_variant("edge_bus"))
    # 16 x 32 x 32 PEs, 8 MiB of banks + 16 x 256 KiB local buffers, 1 PHY, 33 endpoints
    expected = 16 * 1024 * 0.0004 + (16 * 512 + 16 * 256) * 0.0015 + 2.0 + 33 * 0.05
    assert bus["area_mm2"] == pytest.approx(expected)
    assert bus["die_cost"] == pytest.approx(expected * 0.10)
    mesh = summary(arch_variant("edge_mesh"))  # 16 routers instead of 33 endpoints
    assert mesh["area_mm2"] == pytest.approx(expected - 17 * 0.05)
    assert bus["inferences_per_s_per_mm2"] == pytest.approx(bus["throughput_fps"] / bus["area_mm2"])
