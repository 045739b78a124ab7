"""PVT operating points: the alpha-power clock model, power scaling, thermal throttling."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ARCH_DIR, WORKLOAD_DIR

import archsim
from archsim.cli.main import cli
from archsim.config import load_arch, load_arch_text
from archsim.errors import ConfigError

TINY = WORKLOAD_DIR / "tiny_cnn.yaml"
EDGE_BUS = ARCH_DIR / "edge_bus.yaml"
POINT = """
operating_point:
  process: ss
  voltage_v: 0.7
  temperature_c: 85
  nominal_voltage_v: 0.9
  nominal_temperature_c: 25
  clock_model:
    alpha: 1.6
    vth_v: 0.3
    vth_shift_v: {ss: 0.05, tt: 0.0, ff: -0.05}
    vth_temperature_v_per_c: -0.001
    mobility_temperature_exponent: 1.2
  power_model:
    leakage_process_factor: {ss: 0.4, tt: 1.0, ff: 3.0}
    leakage_doubling_c: 20
"""


def edge_bus_with(block: str) -> archsim.config.ArchConfig:
    return load_arch_text(EDGE_BUS.read_text(encoding="utf-8") + block, "edge_pvt.yaml")


def run(arch: object, **options: object) -> dict:
    return archsim.simulate(arch, TINY, trace=False, **options).summary


@pytest.mark.parametrize(
    ("arch", "workload", "size"),
    [
        (EDGE_BUS, TINY, 32),
        (ARCH_DIR / "edge_det.yaml", TINY, 32),
        (ARCH_DIR / "presets" / "tpu_v1.yaml", WORKLOAD_DIR / "resnet50.yaml", 32),
    ],
    ids=["edge_bus", "edge_det", "tpu_v1"],
)
def test_worst_corner_is_never_faster_than_typical(arch: object, workload: object, size: int):
    latency = {
        corner: archsim.simulate(
            arch, workload, width=size, height=size, trace=False, corner=corner
        ).summary["latency_ps"]
        for corner in ("worst", "typical", "best")
    }
    assert latency["worst"] > latency["typical"] > latency["best"]


def test_typical_corner_without_a_block_changes_nothing() -> None:
    plain = run(EDGE_BUS)
    typical = run(EDGE_BUS, corner="typical")
    assert "operating_point" not in plain
    assert typical["operating_point"]["clock_scale"] == 1.0
    for key in ("latency_ps", "energy_mj_per_inference", "average_power_w", "peak_tops"):
        assert typical[key] == plain[key]


def test_clock_and_power_follow_the_model_in_closed_form() -> None:
    nominal = run(EDGE_BUS)
    summary = run(edge_bus_with(POINT))
    # alpha-power law, written out: speed = mu(T) (V - Vth(T, p))^alpha / V
    vth = 0.3 + 0.05 - 0.001 * (85 - 25)
    mobility = ((85 + 273.15) / (25 + 273.15)) ** -1.2
    speed = mobility * (0.7 - vth) ** 1.6 / 0.7
    speed_nominal = (0.9 - 0.3) ** 1.6 / 0.9
    scale = speed / speed_nominal
    point = summary["operating_point"]
    assert point["clock_scale"] == pytest.approx(scale, rel=1e-12)
    for domain in ("mac_clusters", "sram", "interconnect"):
        assert point["clock_mhz"][domain] == pytest.approx(1000 * scale, rel=1e-12)
    assert summary["peak_tops"] == pytest.approx(nominal["peak_tops"] * scale, rel=1e-12)
    assert point["nominal_peak_tops"] == nominal["peak_tops"]
    dynamic = (0.7 / 0.9) ** 2
    static = (0.7 / 0.9) * 0.4 * 2 ** ((85 - 25) / 20)
    assert point["dynamic_energy_scale"] == pytest.approx(dynamic, rel=1e-12)
    assert point["static_power_scale"] == pytest.approx(static, rel=1e-12)
    # The same MACs at (V/Vnom)^2 the energy each; DRAM energy per byte does not scale.
    breakdown, base = summary["energy_breakdown_mj"], nominal["energy_breakdown_mj"]
    assert summary["total_macs"] == nominal["total_macs"]
    assert breakdown["mac"] == pytest.approx(base["mac"] * dynamic, rel=1e-12)
    assert breakdown["vector"] == pytest.approx(base["vector"] * dynamic, rel=1e-12)
    arch = load_arch(EDGE_BUS)
    energy = arch.energy
    static_w = 1e-3 * (
        16 * energy.cluster_static_mw * static
        + 16 * energy.sram_bank_static_mw * static
        + energy.dram_channel_static_mw
    )
    latency_s = summary["latency_ps"] / 1e12
    assert breakdown["static"] == pytest.approx(static_w * latency_s * 1e3, rel=1e-12)
    assert summary["latency_ps"] > nominal["latency_ps"]


def test_throttling_engages_above_the_tdp() -> None:
    free = run(edge_bus_with(POINT))
    static_w = free["energy_breakdown_mj"]["static"] / (free["latency_ps"] / 1e12) / 1e3
    tdp = (static_w + free["average_power_w"]) / 2  # between static and the free-run power
    summary = run(edge_bus_with(POINT + f"  tdp_w: {tdp!r}\n"))
    point = summary["operating_point"]
    assert point["throttled"] is True and point["tdp_met"] is True
    assert 0 < point["throttle_scale"] < 1
    assert summary["average_power_w"] <= tdp
    expected_mhz = 1000 * point["clock_scale"] * point["throttle_scale"]
    assert point["clock_mhz"]["mac_clusters"] == pytest.approx(expected_mhz, rel=1e-12)
    assert summary["latency_ps"] > free["latency_ps"]
    relaxed = run(edge_bus_with(POINT + f"  tdp_w: {free['average_power_w'] * 1.01!r}\n"))
    assert relaxed["operating_point"]["throttled"] is False
    assert relaxed["latency_ps"] == free["latency_ps"]


def test_a_tdp_below_static_power_is_a_located_error() -> None:
    arch = edge_bus_with(POINT + "  tdp_w: 0.001\n")
    with pytest.raises(ConfigError) as caught:
        run(arch)
    problem = caught.value.problems[0]
    assert problem.path == "operating_point.tdp_w"
    assert problem.line is not None
    assert "static power" in problem.message


def test_a_supply_below_threshold_is_rejected_at_its_key() -> None:
    with pytest.raises(ConfigError) as caught:
        edge_bus_with("operating_point:\n  voltage_v: 0.3\n")
    assert "threshold" in str(caught.value)
    assert caught.value.problems[0].path == "operating_point"


def test_cli_run_and_compare_take_a_corner(tmp_path: object) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["run", str(EDGE_BUS), str(TINY), "--no-trace", "--corner", "worst"]
    )
    assert result.exit_code == 0, result.output
    assert "worst corner: ss" in result.output
    bad = runner.invoke(cli, ["run", str(EDGE_BUS), str(TINY), "--no-trace", "--corner", "hot"])
    assert bad.exit_code == 2
    compared = runner.invoke(
        cli,
        ["compare", str(EDGE_BUS), str(ARCH_DIR / "edge_det.yaml"), str(TINY)]
        + ["--corner", "best", "--json", "--out", str(tmp_path)],
    )
    assert compared.exit_code == 0, compared.output
    assert '"corner": "best"' in compared.output


def test_a_sweep_can_vary_the_corner(tmp_path: Path) -> None:
    spec = tmp_path / "corners.yaml"
    spec.write_text(
        f"name: corners\narch: {EDGE_BUS}\nworkload: {TINY}\n"
        "factors:\n  run.corner: [typical, worst]\n",
        encoding="utf-8",
    )
    result = archsim.sweep(spec, serial=True, traces=False, out=tmp_path / "out")
    typical, worst = (record.summary for record in result.records)
    assert typical["latency_ps"] == run(EDGE_BUS, corner="typical")["latency_ps"]
    assert worst["operating_point"]["corner"] == "worst"
    assert worst["latency_ps"] > typical["latency_ps"]
    spec.write_text(spec.read_text(encoding="utf-8").replace("worst]", "hot]"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        archsim.sweep(spec, serial=True, traces=False, out=tmp_path / "bad")
    assert "expected one of worst, typical, best" in str(caught.value)
