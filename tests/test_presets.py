"""Presets of public accelerators: each validates, runs ResNet-50 and YOLOv3 at small sizes,
and has the peak TOPS its cited specification gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ARCH_DIR, WORKLOAD_DIR

import archsim
from archsim.config import load_arch

PRESET_DIR = ARCH_DIR / "presets"
CITED_PEAK_TOPS = {
    "tpu_v1": 2 * 65_536 * 700e6 / 1e12,  # 256x256 MACs at 700 MHz ("92 TOPS")
    "inferx_x1": 2 * 4 * 1_024 * 1_067e6 / 1e12,  # 4 tiles of 1,024 MACs at 1.067 GHz
    "eyeriss_v1": 2 * 168 * 200e6 / 1e12,  # 12x14 PEs at 200 MHz (67.2 GOPS)
    "nvdla_full": 2 * 2_048 * 1e9 / 1e12,  # 2,048 INT8 MACs at 1 GHz
}
PRESETS = sorted(PRESET_DIR.glob("*.yaml"))


def test_every_preset_has_a_cited_peak() -> None:
    assert sorted(path.stem for path in PRESETS) == sorted(CITED_PEAK_TOPS)


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_cites_its_sources_and_assumptions(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "Sources (public):" in text
    assert "Assumed" in text
    assert "calibrated" in text  # says that nothing is calibrated to published throughput
    assert load_arch(path).name == path.stem


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
@pytest.mark.parametrize("workload", ["resnet50", "yolov3"])
def test_preset_runs_at_a_small_size_with_its_cited_peak(path: Path, workload: str) -> None:
    result = archsim.simulate(
        path, WORKLOAD_DIR / f"{workload}.yaml", width=32, height=32, trace=False
    )
    summary = result.summary
    assert summary["total_macs"] == summary["workload_macs"] > 0
    assert summary["peak_tops"] == pytest.approx(CITED_PEAK_TOPS[path.stem], rel=1e-12)
    assert 0 < summary["mac_utilization"] <= 1
    assert summary["latency_ps"] >= summary["roofline_bound_ps"]
