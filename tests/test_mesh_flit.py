"""Wormhole mesh and torus: the closed form against a flit-by-flit model, exact timelines of
blocking and virtual channels, zero load, saturation, conservation, deadlock."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simpy
from click.testing import CliRunner

from archsim.cli.main import ArchsimGroup
from archsim.cli.noc import noc_command
from archsim.config import ArchConfig, load_arch
from archsim.domain import EndpointKind, TransferKind
from archsim.errors import ConfigError, DeadlockError
from archsim.hw.component import Component
from archsim.hw.interconnect.mesh import Mesh
from archsim.hw.interconnect.wormhole import tail_crossed_ps
from archsim.mapping.program import Endpoint, Program, TransferOp
from archsim.mapping.topology import MeshTopology, TorusTopology
from archsim.noc import (
    NetworkSpec,
    Pattern,
    RunOptions,
    Traffic,
    run_point,
    single_packet_latency_cycles,
)
from archsim.sim.engine import run_program
from archsim.sim.runtime import TransferTiming
from archsim.trace import NullRecorder

ROOT = Path(__file__).resolve().parents[1]
CYCLE_PS = 1000  # edge_mesh's interconnect runs at 1 GHz


def arch(*overrides: str) -> ArchConfig:
    """edge_mesh with --set style overrides."""
    return load_arch(ROOT / "arch" / "edge_mesh.yaml", list(overrides))


def grid(k: int, *overrides: str) -> NetworkSpec:
    """edge_mesh as a k x k network of traffic nodes."""
    sides = (f"interconnect.mesh.cols={k}", f"interconnect.mesh.rows={k}")
    return NetworkSpec.from_arch(arch(*sides, *overrides))


def bank(i: int) -> Endpoint:
    return Endpoint(EndpointKind.BANK, i)


def cluster(i: int) -> Endpoint:
    return Endpoint(EndpointKind.CLUSTER, i)


def load(op_id: int, src: Endpoint, dst: Endpoint, nbytes: int) -> TransferOp:
    return TransferOp(op_id, 0, TransferKind.OPERAND_LOAD, src, dst, nbytes, op_id, (), 0)


def no_port(nbytes: int) -> int:
    return 0


# --- the closed form is the flit-by-flit pipeline -------------------------------------


def flit_by_flit_tails(grants: list[int], flits: int, buffer: int, hop: int) -> list[int]:
    """When the tail has crossed each link, simulated flit by flit (times in cycles).

    Flit j crosses link i in one cycle, after flit j - 1 crossed it (one flit per cycle),
    ``hop`` cycles after it crossed link i - 1 (the router), and once flit j - buffer has
    left the buffer at the far end of link i (crossed link i + 1; credits). The ejection
    link's far end is the sink. The head crosses link i at its grant.
    """
    links = len(grants)
    t = [[0] * flits for _ in range(links)]
    for j in range(flits):
        for i in range(links):
            if j == 0:
                t[i][0] = grants[i]
                continue
            start = t[i][j - 1] + 1
            if i > 0:
                start = max(start, t[i - 1][j] + hop)
            if i < links - 1 and j >= buffer:
                start = max(start, t[i + 1][j - buffer])
            t[i][j] = start
    return [t[i][flits - 1] + 1 for i in range(links)]


@pytest.mark.parametrize("seed", range(40))
def test_tail_closed_form_equals_flit_by_flit_pipeline(seed: int) -> None:
    rng = random.Random(seed)
    hop = rng.choice([0, 1, 2, 3])
    buffer = rng.randint(max(1, hop), 9)
    flits = rng.choice([1, 2, 3, 5, 8, 13, 40, 128])
    links = rng.randint(2, 9)
    grants = [rng.randint(0, 5)]
    for _ in range(links - 1):  # the head waits for each next link a random time
        grants.append(grants[-1] + hop + rng.choice([0, 0, 0, 1, 4, 30, 200]))
    expected = flit_by_flit_tails(grants, flits, buffer, hop)
    closed = [tail_crossed_ps(grants, i, links - 1, flits, flits, buffer) for i in range(links)]
    assert closed == expected


# --- zero load ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hop_cycles", "buffer", "vcs"), [(0, 1, 1), (1, 2, 1), (1, 8, 2), (3, 4, 4)]
)
def test_mesh_zero_load_latency_is_exact(hop_cycles: int, buffer: int, vcs: int) -> None:
    spec = grid(
        8,
        f"interconnect.hop_latency_cycles={hop_cycles}",
        f"interconnect.buffer_flits={buffer}",
        f"interconnect.virtual_channels={vcs}",
    )
    for flits in (1, 3, 16, 128):
        for src, dst in [(0, 63), (5, 5), (9, 10), (56, 7), (27, 12)]:
            routers = abs(src % 8 - dst % 8) + abs(src // 8 - dst // 8) + 1
            expected = routers * hop_cycles + flits
            assert single_packet_latency_cycles(spec, src, dst, flits) == expected


def test_torus_zero_load_latency_takes_the_shorter_way_round() -> None:
    spec = grid(4, "interconnect.mesh.topology=torus", "interconnect.hop_latency_cycles=2")
    # (0,0) -> (3,0): one wraparound hop; (0,0) -> (2,2): two hops each way (ties: +);
    # (1,3) -> (1,0): one wraparound hop in y
    for src, dst, routers in [(0, 3, 2), (0, 10, 5), (13, 1, 2), (5, 6, 2)]:
        for flits in (1, 64):
            assert single_packet_latency_cycles(spec, src, dst, flits) == routers * 2 + flits


def test_a_transfer_of_several_packets_pipelines_them() -> None:
    # 20000 B = packets of 8192, 8192, 3616 B = 128 + 128 + 57 flits, one after another on
    # the injection link (two virtual channels: no gap between packets)
    cfg = arch("interconnect.hop_latency_cycles=1").interconnect
    topology = MeshTopology(3, 1, clusters=[(2, 0)], banks=[(0, 0)], dram_ports=[(0, 0)])
    env = simpy.Environment()
    mesh = Mesh(Component(None, "chip"), "noc", cfg, env, NullRecorder(), topology)
    timing = TransferTiming(0)
    env.process(mesh.send(load(0, bank(0), cluster(0), 20000), timing, no_port))
    env.run()
    assert env.now == (3 * 1 + 128 + 128 + 57) * CYCLE_PS
    assert timing.contention == 0 and timing.interconnect == env.now


# --- blocking, buffers and virtual channels -------------------------------------------


def three_senders(vcs: int) -> tuple[list[int], list[TransferTiming], Mesh]:
    """A 3x1 mesh: X (1,0)->(2,0), then Y (0,0)->(2,0) behind it, and Z (0,0)->(1,0),
    all 100-flit packets starting at time 0; returns their completion times in cycles."""
    cfg = arch(f"interconnect.virtual_channels={vcs}").interconnect  # hop 1, buffer 8
    topology = MeshTopology(
        3, 1, clusters=[(2, 0), (1, 0)], banks=[(1, 0), (0, 0), (0, 0)], dram_ports=[(0, 0)]
    )
    env = simpy.Environment()
    mesh = Mesh(Component(None, "chip"), "noc", cfg, env, NullRecorder(), topology)
    timings = [TransferTiming(0) for _ in range(3)]
    done = [0, 0, 0]

    def sender(index: int, op: TransferOp) -> Any:
        yield from mesh.send(op, timings[index], no_port)
        done[index] = int(env.now) // CYCLE_PS

    env.process(sender(0, load(0, bank(0), cluster(0), 6400)))
    env.process(sender(1, load(1, bank(1), cluster(0), 6400)))
    env.process(sender(2, load(2, bank(2), cluster(1), 6400)))
    env.run()
    return done, timings, mesh


def test_a_blocked_packet_holds_the_links_its_body_occupies_with_one_channel() -> None:
    done, timings, mesh = three_senders(vcs=1)
    # X: links at 0, 1, 2; tail out at 2 + 100.
    # Y: link (0,0)->(1,0) at 1; (1,0)->(2,0) only when X's tail left the buffer behind it
    # (102); ejection at 103; done 203. Its body, 100 flits against 8-flit buffers, keeps
    # the channel of (0,0)->(1,0) until its tail crossed (1,0)->(2,0): 202.
    # Z needs only (0,0)->(1,0), but its one channel is Y's until 202: done 202 + 1 + 100.
    assert done == [102, 203, 303]
    assert [t.contention // CYCLE_PS for t in timings] == [0, 100, 201]
    link = {s.name.removeprefix("chip.noc."): s for s in mesh.links}
    # Y waited 100 cycles holding (0,0)->(1,0); behind it, its body kept bank1's injection
    # channel until its tail crossed (0,0)->(1,0): 194 = 102 + 100 - 8 (the flits the
    # buffer at (1,0) could not take wait for the head). Z waited 201 cycles at (0,0).
    assert link["link(0,0)->(1,0)"].blocked_ps == 100 * CYCLE_PS
    assert link["inject.bank1(0,0)"].blocked_ps == (194 - 0 - 1 - 100) * CYCLE_PS
    assert link["inject.bank2(0,0)"].blocked_ps == 201 * CYCLE_PS
    assert link["link(1,0)->(2,0)"].busy_ps == 200 * CYCLE_PS  # X's and Y's flits


def test_a_second_virtual_channel_lets_packets_pass_a_blocked_one() -> None:
    done, timings, _ = three_senders(vcs=2)
    # Y takes the second channel of (1,0)->(2,0) when X's flits are through (101) and the
    # ejection link at 102; Z passes Y on (0,0)->(1,0)'s second channel at 101.
    assert done == [102, 202, 202]
    assert [t.contention // CYCLE_PS for t in timings] == [0, 99, 100]


# --- torus: dateline channels, and the deadlock without them --------------------------


def test_torus_routes_use_wraparound_links_and_mark_the_dateline() -> None:
    topology = TorusTopology(4, 4, clusters=[(3, 1)], banks=[(0, 0)], dram_ports=[(0, 0)])
    mesh_links = len(MeshTopology(4, 4, [(3, 1)], [(0, 0)], [(0, 0)]).link_names)
    assert (
        topology.link_names[:mesh_links]
        == MeshTopology(4, 4, [(3, 1)], [(0, 0)], [(0, 0)]).link_names
    )  # mesh links keep their numbers; wraparound links come after
    route = topology.route(bank(0), cluster(0))
    names = [topology.link_names[i] for i in route.links]
    assert names == [
        "inject.bank0(0,0)",
        "wrap(0,0)->(3,0)",
        "link(3,0)->(3,1)",
        "eject.cluster0(3,1)",
    ]
    assert route.hops == 3
    assert route.dateline == (False, True, False, False)  # y starts before its dateline


def ring_program() -> Program:
    """On row 0 of a 4x4 torus, bank x sends 8 KiB to cluster x + 2 (mod 4): every packet
    holds one ring link and waits for the next, held by its neighbour's packet."""
    program = Program()
    for x in range(4):
        dst = (x + 2) % 4
        program.add(f"cluster{dst}.load", load(x, bank(x), cluster(dst), 8192))
    return program


def test_torus_without_dateline_channels_deadlocks_and_the_watchdog_reports_it() -> None:
    cfg = arch("interconnect.mesh.topology=torus", "interconnect.virtual_channels=1")
    with pytest.raises(DeadlockError) as error:
        run_program(ring_program(), cfg, 0, NullRecorder(), watchdog_ps=10**9)
    lines = [str(problem) for problem in error.value.problems]
    assert "every remaining operation waits on another" in lines[0]
    assert "4 of 4 operations never completed" in lines[0]
    assert any("transfers in flight, holding their SRAM port and links" in x for x in lines)


def test_torus_with_dateline_channels_delivers_the_same_ring() -> None:
    cfg = arch("interconnect.mesh.topology=torus", "interconnect.virtual_channels=2")
    outcome = run_program(ring_program(), cfg, 0, NullRecorder(), watchdog_ps=10**9)
    assert outcome.chip.interconnect.bytes_moved == 4 * 8192
    assert outcome.latency_ps > (3 * 1 + 128) * CYCLE_PS  # someone waited


def test_noc_command_runs_a_torus() -> None:
    runner = CliRunner()
    result = runner.invoke(
        ArchsimGroup(commands=[noc_command]),
        [
            "noc",
            str(ROOT / "arch/edge_mesh.yaml"),
            "--set",
            "interconnect.mesh.topology=torus",
            "--rates",
            "0.2",
            "--cycles",
            "500",
            "--warmup",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "0.2000" in result.output


# --- saturation under synthetic traffic -----------------------------------------------

FAST = RunOptions(cycles=800, warmup=200, drain=300)


def accepted(spec: NetworkSpec, pattern: Pattern, rate: float, flits: int) -> tuple[float, bool]:
    options = RunOptions(flits, FAST.cycles, FAST.warmup, FAST.drain)
    point, _ = run_point(spec, Traffic(pattern, spec.grid), rate, options)
    return point.accepted, point.saturated


@pytest.fixture(scope="module")
def mesh8() -> NetworkSpec:
    return grid(8)


@pytest.mark.parametrize("flits", [1, 4])
def test_8x8_uniform_saturates_between_a_quarter_and_the_ideal_half(
    mesh8: NetworkSpec, flits: int
) -> None:
    below, below_saturated = accepted(mesh8, Pattern.UNIFORM, 0.24, flits)
    assert not below_saturated and below == pytest.approx(0.24, rel=0.06)
    saturation, saturated = accepted(mesh8, Pattern.UNIFORM, 0.45, flits)  # overload
    assert saturated
    assert 0.25 <= saturation < 0.5  # ideal 4/k = 0.5


def test_8x8_transpose_saturates_at_its_bottleneck_one_over_k_minus_one_below_uniform(
    mesh8: NetworkSpec,
) -> None:
    # XY routing sends the 7 sources of row 7 through link (6,7)->(7,7): at 1/7 flits per
    # node and cycle it is full; the network sustains loads up to there and no further
    options = RunOptions(4, 1500, FAST.warmup, FAST.drain)
    transpose = Traffic(Pattern.TRANSPOSE, mesh8.grid)
    zero_load, _ = run_point(mesh8, transpose, 0.02, options)
    sustained, _ = run_point(mesh8, transpose, 0.12, options)
    at_bound, _ = run_point(mesh8, transpose, 1 / 7, options)
    beyond, _ = run_point(mesh8, transpose, 0.16, options)
    uniform, _ = run_point(mesh8, Traffic(Pattern.UNIFORM, mesh8.grid), 0.16, options)
    assert zero_load.latency_avg is not None and beyond.latency_avg is not None
    assert not sustained.saturated and at_bound.max_link_utilization > 0.95
    assert beyond.saturated and beyond.latency_avg > 3 * zero_load.latency_avg
    assert not uniform.saturated and uniform.max_link_utilization < 0.5


def test_4x4_uniform_saturates_between_a_half_and_one() -> None:
    saturation, saturated = accepted(grid(4), Pattern.UNIFORM, 1.5, 4)
    assert saturated and 0.5 < saturation < 1.0  # ideal 4/k = 1


# --- conservation and determinism -----------------------------------------------------


def test_bytes_and_byte_hops_are_conserved_under_load() -> None:
    spec = grid(4)
    _, run = run_point(spec, Traffic(Pattern.UNIFORM, spec.grid), 0.5, FAST)
    run.env.run()  # let every packet generated up to the horizon arrive
    packets, net = run.packets, run.net
    assert (packets.t_done >= 0).all()
    done = packets.t_done >= 0
    nbytes = 4 * 64
    hops = (
        np.abs(packets.src % 4 - packets.dst % 4) + np.abs(packets.src // 4 - packets.dst // 4) + 1
    )
    names = [s.name for s in net.links]
    link_bytes = np.array([s.bytes for s in net.links])
    inject = sum(b for n, b in zip(names, link_bytes, strict=True) if ".inject." in n)
    eject = sum(b for n, b in zip(names, link_bytes, strict=True) if ".eject." in n)
    assert inject == eject == net.bytes_moved == int(done.sum()) * nbytes
    assert net.byte_hops == int(hops[done].sum()) * nbytes
    assert link_bytes.sum() == net.bytes_moved + net.byte_hops  # hops + 1 links each
    busy = np.array([s.busy_ps for s in net.links])
    assert (busy <= int(run.env.now)).all()  # no link more than fully used


def test_synthetic_runs_are_deterministic() -> None:
    spec = grid(4, "interconnect.virtual_channels=3", "interconnect.buffer_flits=2")
    traffic = Traffic(Pattern.UNIFORM, spec.grid)
    first, second = (run_point(spec, traffic, 0.7, FAST) for _ in range(2))
    assert first[0] == second[0]
    for column in ("t_grant", "t_done", "contention"):
        assert np.array_equal(getattr(first[1].packets, column), getattr(second[1].packets, column))
    assert [s.blocked_ps for s in first[1].net.links] == [s.blocked_ps for s in second[1].net.links]


# --- configuration --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "path", "message"),
    [
        (["interconnect.buffer_flits=0"], "interconnect.buffer_flits", "greater than or equal"),
        (["interconnect.virtual_channels=0"], "interconnect.virtual_channels", "greater"),
        (
            ["interconnect.hop_latency_cycles=4", "interconnect.buffer_flits=2"],
            "interconnect.buffer_flits",
            "must be at least hop_latency_cycles (4)",
        ),
        (["interconnect.mesh.topology=ring"], "interconnect.mesh.topology", "mesh"),
        (
            ["interconnect.kind=deterministic", "interconnect.mesh.topology=torus"],
            "interconnect.mesh.topology",
            "torus is supported by kind mesh only",
        ),
        (
            ["interconnect.kind=deterministic", "interconnect.virtual_channels=4"],
            "interconnect.virtual_channels",
            "applies to kind mesh",
        ),
    ],
)
def test_bad_router_settings_are_located_errors(
    overrides: list[str], path: str, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        arch(*overrides)
    problems = [(p.path, p.message) for p in error.value.problems]
    assert any(p == path and message in m for p, m in problems), problems


def test_a_bad_buffer_in_a_file_exits_2_with_its_line(tmp_path: Path) -> None:
    text = (ROOT / "arch/edge_mesh.yaml").read_text()
    assert "  buffer_flits: 8" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("  buffer_flits: 8", "  buffer_flits: -1"))
    line = 1 + text.splitlines().index(next(x for x in text.splitlines() if "buffer_flits" in x))
    result = CliRunner().invoke(
        ArchsimGroup(commands=[noc_command]), ["noc", str(bad), "--cycles", "100"]
    )
    assert result.exit_code == 2
    assert f"bad.yaml:{line}" in result.output and "buffer_flits" in result.output
