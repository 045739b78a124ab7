"""Synthetic-traffic mode: zero-load latency, load-latency curves, the deterministic NoC."""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from archsim.cli.main import ArchsimGroup
from archsim.cli.noc import noc_command
from archsim.config import ArchConfig, load_arch
from archsim.errors import UserError
from archsim.noc import (
    CurvePoint,
    Grid,
    NetworkSpec,
    Pattern,
    RunOptions,
    Traffic,
    parse_rates,
    run_point,
    single_packet_latency_cycles,
)
from archsim.noc.report import CURVE_JSON_ATTR
from archsim.noc.synthetic import flow_accepted, flow_of, sink, source

ROOT = Path(__file__).resolve().parents[1]
SHORT = RunOptions(cycles=3000, warmup=1000)


def arch(name: str, *overrides: str) -> ArchConfig:
    """A shipped arch with --set style overrides."""
    return load_arch(ROOT / "arch" / f"{name}.yaml", list(overrides))


@pytest.fixture(scope="module")
def mesh8() -> NetworkSpec:
    """edge_mesh grown to an 8x8 mesh (64 traffic nodes)."""
    return NetworkSpec.from_arch(
        arch("edge_mesh", "interconnect.mesh.cols=8", "interconnect.mesh.rows=8")
    )


def curve(spec: NetworkSpec, pattern: Pattern, rates: list[float]) -> list[CurvePoint]:
    traffic = Traffic(pattern, spec.grid)
    return [run_point(spec, traffic, rate, SHORT)[0] for rate in rates]


# --- zero load ------------------------------------------------------------------------


@pytest.mark.parametrize("hop_cycles", [1, 3])
@pytest.mark.parametrize("flits", [1, 4, 7])
def test_zero_load_latency_is_hops_times_router_delay_plus_serialization(
    hop_cycles: int, flits: int
) -> None:
    cfg = arch(
        "edge_mesh",
        "interconnect.mesh.cols=8",
        "interconnect.mesh.rows=8",
        f"interconnect.hop_latency_cycles={hop_cycles}",
    )
    spec = NetworkSpec.from_arch(cfg)
    for src, dst in [(0, 63), (0, 0), (9, 10), (7, 56), (27, 12), (63, 0)]:
        dx = abs(src % 8 - dst % 8)
        dy = abs(src // 8 - dst // 8)
        routers = dx + dy + 1  # a route traverses Manhattan distance + 1 routers
        expected = routers * hop_cycles + flits  # size / link bandwidth = flits cycles
        assert single_packet_latency_cycles(spec, src, dst, flits) == expected, (src, dst)


def test_low_load_packets_without_contention_see_zero_load_latency(mesh8: NetworkSpec) -> None:
    traffic = Traffic(Pattern.UNIFORM, mesh8.grid)
    _, run = run_point(mesh8, traffic, 0.01, RunOptions(cycles=2000, warmup=0))
    packets = run.packets
    alone = (packets.t_done >= 0) & (packets.contention == 0) & (packets.t_grant == packets.t_gen)
    assert alone.sum() > 100
    src, dst = packets.src[alone], packets.dst[alone]
    hops = np.abs(src % 8 - dst % 8) + np.abs(src // 8 - dst // 8) + 1
    latency = (packets.t_done[alone] - packets.t_gen[alone]) // mesh8.period_ps
    assert np.array_equal(latency, hops * 1 + 4)


# --- load-latency curves on the 8x8 mesh ----------------------------------------------


def test_uniform_random_curve_on_8x8_mesh(mesh8: NetworkSpec) -> None:
    options = RunOptions(cycles=1000, warmup=300, drain=500)
    traffic = Traffic(Pattern.UNIFORM, mesh8.grid)
    rates = [0.02, 0.1, 0.2, 0.45, 0.6]
    points = [run_point(mesh8, traffic, rate, options)[0] for rate in rates]
    by_rate = dict(zip(rates, points, strict=True))
    for rate in (0.02, 0.1):  # linear region: accepted tracks offered
        long_run = RunOptions(cycles=4000, warmup=500)
        point, _ = run_point(mesh8, traffic, rate, long_run)
        assert point.accepted == pytest.approx(point.injected, rel=0.03)
        assert point.accepted == pytest.approx(rate, rel=0.05)
        assert not point.saturated
    ideal = 4 / 8  # 4/k flits/node/cycle for uniform random on a k x k mesh
    assert max(p.accepted for p in points) < ideal
    saturated = by_rate[0.6]
    assert saturated.saturated and by_rate[0.45].saturated
    assert saturated.accepted < 0.7 * 0.6
    assert by_rate[0.45].accepted == pytest.approx(saturated.accepted, rel=0.1)  # plateau
    low = by_rate[0.02].latency_avg
    assert low is not None and by_rate[0.45].latency_avg is not None
    assert by_rate[0.45].latency_avg > 10 * low  # latency grows sharply at saturation
    latencies = [p.latency_avg for p in points[:3]]
    assert latencies == sorted(latencies)  # type: ignore[type-var]


def test_transpose_saturates_below_uniform(mesh8: NetworkSpec) -> None:
    rates = [0.1, 0.2]
    options = RunOptions(cycles=1000, warmup=300, drain=500)
    uniform, transpose = (
        [run_point(mesh8, Traffic(pattern, mesh8.grid), rate, options)[0] for rate in rates]
        for pattern in (Pattern.UNIFORM, Pattern.TRANSPOSE)
    )
    assert not any(p.saturated for p in uniform)
    assert transpose[-1].saturated
    assert transpose[-1].max_link_utilization > 0.95 > 0.5 > uniform[-1].max_link_utilization
    u_latency, t_latency = uniform[-1].latency_avg, transpose[-1].latency_avg
    assert u_latency is not None and t_latency is not None
    assert t_latency > 3 * u_latency


# --- deterministic NoC ----------------------------------------------------------------


SHARE = "interconnect.schedule=per_layer_share"


def test_deterministic_noc_latency_is_fixed_per_flow_at_any_load() -> None:
    spec = NetworkSpec.from_arch(arch("edge_det", SHARE))
    traffic = Traffic(Pattern.UNIFORM, spec.grid)
    per_flow: dict[tuple[int, int], set[int]] = {}
    for rate in (0.05, 0.5, 2.0):
        point, run = run_point(spec, traffic, rate, SHORT)
        packets = run.packets
        done = packets.t_done >= 0
        assert not packets.contention.any()  # never waits on another flow
        network = packets.t_done[done] - packets.t_grant[done]
        for s, d, ps in zip(packets.src[done], packets.dst[done], network, strict=True):
            per_flow.setdefault((int(s), int(d)), set()).add(int(ps))
        assert point.saturated == (rate == 2.0)
    assert len(per_flow) == 16 * 15
    assert all(len(values) == 1 for values in per_flow.values())
    # and that fixed latency is the schedule's closed form
    table = run.schedule.tables[0] if run.schedule else None
    assert table is not None
    for (s, d), values in per_flow.items():
        assert values == {run.net.transfer_ps(0, flow_of(s, d), 4 * 64)}  # type: ignore[attr-defined]


def test_deterministic_noc_saturated_flow_gets_its_reserved_share() -> None:
    spec = NetworkSpec.from_arch(arch("edge_det", SHARE, "interconnect.hop_latency_cycles=0"))
    traffic = Traffic(Pattern.UNIFORM, spec.grid)
    rate = 2.0  # offered per flow: 2.0 / 15 flits/cycle, above every flow's reservation
    _, run = run_point(spec, traffic, rate, SHORT)
    assert run.schedule is not None
    table = run.schedule.tables[0]
    accepted = flow_accepted(run)
    tolerance = 4 / SHORT.cycles  # one packet more or less in the window
    checked = 0
    for (s, d), flits_per_cycle in accepted.items():
        slots = table.slots[flow_of(s, d)]
        share = slots / table.period  # reserved flits per cycle
        if share > 0.8 * rate / 15:
            continue  # not saturated
        packet_cycles = math.ceil(4 * table.period / slots)
        assert flits_per_cycle == pytest.approx(4 / packet_cycles, abs=tolerance)
        assert share * 0.9 - tolerance <= flits_per_cycle <= share + tolerance
        checked += 1
    assert checked > 200


@pytest.mark.parametrize("flits", [1, 4])
def test_time_triggered_packets_see_zero_load_latency_and_never_contend(flits: int) -> None:
    spec = NetworkSpec.from_arch(arch("edge_det"))
    for src, dst in [(0, 15), (5, 5), (3, 12)]:
        dx, dy = abs(src % 4 - dst % 4), abs(src // 4 - dst // 4)
        expected = (dx + dy + 1) + flits  # hops x router delay + serialization
        assert single_packet_latency_cycles(spec, src, dst, flits) == expected
    traffic = Traffic(Pattern.UNIFORM, spec.grid)
    options = RunOptions(packet_flits=flits, cycles=3000, warmup=1000)
    _, run = run_point(spec, traffic, 0.3, options)
    done = run.packets.t_done >= 0
    assert not run.packets.contention.any()
    network = (run.packets.t_done[done] - run.packets.t_grant[done]) // spec.period_ps
    hops = [
        len(spec.topology.route(source(s), sink(d)).links) - 1
        for s, d in zip(run.packets.src[done], run.packets.dst[done], strict=True)  # type: ignore[union-attr]
    ]
    np.testing.assert_array_equal(network, np.array(hops) + flits)  # pipelined, never blocked
    reserved, busy = run.reserved_ps(), np.array([link.busy_ps for link in run.net.links])
    np.testing.assert_array_equal(reserved, busy)  # every booked window is used


def test_time_triggered_noc_accepts_at_least_the_mesh_throughput_at_the_same_load() -> None:
    det8 = NetworkSpec.from_arch(
        arch("edge_det", "interconnect.mesh.cols=8", "interconnect.mesh.rows=8")
    )
    mesh8 = NetworkSpec.from_arch(
        arch("edge_mesh", "interconnect.mesh.cols=8", "interconnect.mesh.rows=8")
    )
    # Uniform at 0.45: past the wormhole mesh's saturation (about 0.36), below the calendar's.
    det_point = run_point(det8, Traffic(Pattern.UNIFORM, det8.grid), 0.45, SHORT)[0]
    mesh_point = run_point(mesh8, Traffic(Pattern.UNIFORM, mesh8.grid), 0.45, SHORT)[0]
    assert mesh_point.saturated and not det_point.saturated
    assert det_point.accepted > mesh_point.accepted
    # Transpose at 0.3: both saturate on the same XY bottleneck link, so both accept what
    # that link carries (equal up to the packets in flight when the window closes).
    det_point = run_point(det8, Traffic(Pattern.TRANSPOSE, det8.grid), 0.3, SHORT)[0]
    mesh_point = run_point(mesh8, Traffic(Pattern.TRANSPOSE, mesh8.grid), 0.3, SHORT)[0]
    assert det_point.saturated and mesh_point.saturated
    assert det_point.accepted == pytest.approx(mesh_point.accepted, rel=0.01)
    for point in (det_point, mesh_point):
        assert point.max_link_utilization <= 1.0


# --- patterns, rates, command ---------------------------------------------------------


def test_patterns() -> None:
    grid = Grid(4, 4)
    rng = np.random.default_rng(1)
    transpose = Traffic(Pattern.TRANSPOSE, grid)
    assert transpose.active_nodes() == [n for n in range(16) if n % 4 != n // 4]
    assert transpose.destinations(1, 2, rng).tolist() == [4, 4]  # (1,0) -> (0,1)
    neighbour = Traffic(Pattern.NEIGHBOUR, grid)
    assert neighbour.destinations(3, 1, rng).tolist() == [0]  # (3,0) wraps to (0,0)
    uniform = Traffic(Pattern.UNIFORM, grid).destinations(5, 10000, rng)
    assert 5 not in uniform and set(uniform.tolist()) == set(range(16)) - {5}
    hot = Traffic(Pattern.HOTSPOT, grid, 0.5).destinations(7, 20000, rng)
    assert (hot == 0).mean() == pytest.approx(0.5 + 0.5 / 15, abs=0.02)
    with pytest.raises(UserError, match="square"):
        Traffic(Pattern.TRANSPOSE, Grid(4, 2))


def test_parse_rates() -> None:
    assert parse_rates("0.05:0.2:0.05") == [0.05, 0.1, 0.15, 0.2]
    assert parse_rates("0.1, 0.3") == [0.1, 0.3]
    for bad in ("", "a", "0.1:0.2", "0.3:0.1:0.1", "0.1:0.2:0", "0,0.1", "-1"):
        with pytest.raises(UserError):
            parse_rates(bad)


def invoke(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(ArchsimGroup(commands=[noc_command]), [str(a) for a in args])
    return result.exit_code, result.output


def test_command_writes_trace_plot_and_json(tmp_path: Path) -> None:
    out = tmp_path / "mesh_ur.h5"
    args: list[str | Path] = [
        "noc",
        ROOT / "arch/edge_mesh.yaml",
        "--rates",
        "0.05:0.1:0.05",
        "--cycles",
        "1000",
    ]
    code, output = invoke(*args, "--warmup", "200", "--out", out)
    assert code == 0, output
    assert "offered" in output and out.exists() and out.with_suffix(".png").exists()
    with h5py.File(out) as h5:
        document = json.loads(h5.attrs[CURVE_JSON_ATTR])
        links = len(h5["links/component"])
        assert links == len(h5["components/id"]) == 2 * 112  # 2 loads x 4x4 mesh links
        assert h5["links/busy_ps"][:].sum() > 0
        assert (h5["links/reserved_ps"][:] == -1).all()  # no static schedule on a mesh
    assert [p["offered"] for p in document["points"]] == [0.05, 0.1]
    code, text = invoke(*args, "--warmup", "200", "--json")
    assert code == 0
    assert json.loads(text)["points"] == document["points"]  # same seed, same curve


@pytest.mark.parametrize(
    "extra",
    [
        ["--rates", "0.5:0.1:0.1"],
        ["--rates", "x"],
        ["--rates", "9"],
        ["--nodes", "4"],
        [
            "--traffic",
            "transpose",
            "--set",
            "interconnect.attach=null",
            "--set",
            "interconnect.mesh.rows=2",
        ],
    ],
)
def test_command_rejects_bad_input(extra: list[str]) -> None:
    code, output = invoke("noc", ROOT / "arch/edge_mesh.yaml", "--cycles", "100", *extra)
    assert code == 2, output
    assert "error:" in output


def test_bus_nodes_option() -> None:
    code, output = invoke(
        "noc", ROOT / "arch/edge_bus.yaml", "--nodes", "4", "--rates", "0.05", "--cycles", "500"
    )
    assert code == 0, output
    assert "4 nodes" in output


def test_trace_link_totals_of_a_saturated_mesh(tmp_path: Path) -> None:
    out = tmp_path / "sat.h5"
    code, output = invoke(
        "noc", ROOT / "arch/edge_mesh.yaml", "--rates", "1.0", "--cycles", "500", "--out", out
    )
    assert code == 0, output
    assert "yes" in output  # saturated
    with h5py.File(out) as h5:
        assert h5["links/blocked_ps"][:].sum() > 0  # head-of-line blocking under overload
        point = json.loads(h5.attrs[CURVE_JSON_ATTR])["points"][0]
    assert point["saturated"] is True


def test_deterministic_trace_records_reservations(tmp_path: Path) -> None:
    out = tmp_path / "det.h5"
    code, output = invoke(
        "noc",
        ROOT / "arch/edge_det.yaml",
        "--traffic",
        "neighbour",
        "--rates",
        "0.1",
        "--cycles",
        "500",
        "--out",
        out,
    )
    assert code == 0, output
    with h5py.File(out) as h5:
        reserved = h5["links/reserved_ps"][:]
        busy = h5["links/busy_ps"][:]
    assert (reserved >= busy).all() and reserved.max() > 0
