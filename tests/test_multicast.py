"""Multicast (``interconnect.multicast``): trees of links, what the mapper sends once,
conservation of bytes and byte-hops on every kind, reservations, determinism, bad configs."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import simpy
from click.testing import CliRunner

import archsim
from archsim.cli.main import cli
from archsim.config import ArchConfig, load_arch
from archsim.config.scenario import ScenarioConfig
from archsim.domain import EndpointKind, ReservationStatus, TransferKind
from archsim.hw.chip import mesh_topology
from archsim.hw.component import Component
from archsim.hw.interconnect.mesh import Mesh
from archsim.hw.interconnect.wormhole import hops_ahead, tree_tail_ps, tree_tail_terms
from archsim.mapping.program import Endpoint, Program, TransferOp
from archsim.mapping.topology import MeshTopology, Tree
from archsim.sim.runtime import TransferTiming
from archsim.trace import NullRecorder, open_trace
from tests.test_time_triggered import assert_no_link_overlap

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ROOT / "workloads"
MULTICAST = "interconnect.multicast=true"
SHARE = "interconnect.schedule=per_layer_share"
NO_REFRESH = "dram.trfc_ns=0"
KINDS = {
    "mesh": ("edge_mesh", ()),
    "det tt": ("edge_det", ()),
    "det share": ("edge_det", (SHARE,)),
    "bus": ("edge_bus", ()),
}


def arch(name: str, *overrides: str) -> ArchConfig:
    return load_arch(ROOT / "arch" / f"{name}.yaml", list(overrides))


def simulate(config: ArchConfig, workload: str, path: Path | None = None, **options: Any) -> Any:
    return archsim.simulate(
        config, WORKLOADS / f"{workload}.yaml", trace=path is not None, trace_path=path, **options
    )


def cluster(i: int) -> Endpoint:
    return Endpoint(EndpointKind.CLUSTER, i)


def bank(i: int) -> Endpoint:
    return Endpoint(EndpointKind.BANK, i)


def multicasts(program: Program) -> list[TransferOp]:
    return [op for op in program.transfers() if op.fanout]


# --- trees ----------------------------------------------------------------------------


def edge_topology() -> MeshTopology:
    topology = mesh_topology(arch("edge_mesh"))
    assert topology is not None
    return topology


def test_a_tree_takes_each_shared_link_once() -> None:
    topology = edge_topology()  # cluster i and bank i at (i % 4, i // 4)
    # bank0 at (0,0) to (3,0), (3,3) and (0,3): injection, 3 X links shared by the first two,
    # 3 Y links up column 3, 3 Y links up column 0, three ejection links
    destinations = (cluster(3), cluster(15), cluster(12))
    tree = topology.tree(bank(0), destinations)
    routes = [topology.route(bank(0), dst) for dst in destinations]
    distinct = {link for route in routes for link in route.links}
    assert len(tree.links) == len(distinct) == 1 + 3 + 3 + 3 + 3
    assert tree.hops == len(distinct) - 1 == 12
    assert sum(route.hops for route in routes) == tree.unicast_hops == 4 + 7 + 4
    assert tree.depth == max(route.hops for route in routes) == 7
    for route in routes:  # every route lies in the tree, each link at its route position
        for position, link in enumerate(route.links):
            assert tree.depths[tree.links.index(link)] == position
    assert tree.parents[0] == -1 and all(p >= 0 for p in tree.parents[1:])


@pytest.mark.parametrize("seed", range(20))
def test_random_trees_count_distinct_links(seed: int) -> None:
    topology = edge_topology()
    rng = random.Random(seed)
    source = bank(rng.randrange(16))
    destinations = tuple(cluster(c) for c in rng.sample(range(16), rng.randint(2, 16)))
    tree = topology.tree(source, destinations)
    distinct = {link for dst in destinations for link in topology.route(source, dst).links}
    assert sorted(tree.links) == sorted(distinct)
    assert tree.hops == len(distinct) - 1
    assert tree.hops <= tree.unicast_hops
    links, depths = topology.footprint(source, destinations)
    assert (links, depths) == (tree.links, tree.depths)
    ranks = [topology.link_rank[link] for link in tree.links]
    for index, parent in enumerate(tree.parents):  # XY ranks rise from parent to child
        if parent >= 0:
            assert ranks[parent] < ranks[index]


def flit_by_flit_tree_tails(
    parents: list[int], grants: list[int], flits: int, buffer: int, hop: int
) -> list[int]:
    """When the tail has crossed each tree link, simulated flit by flit (cycles): flit j
    crosses link i a cycle after flit j - 1, ``hop`` after crossing i's parent, and once
    flit j - buffer has left the buffer at i's far end into every branch it feeds."""
    links = len(parents)
    children: list[list[int]] = [[] for _ in parents]
    for link, parent in enumerate(parents):
        if parent >= 0:
            children[parent].append(link)
    t = [[0] * flits for _ in range(links)]
    for j in range(flits):
        for i in range(links):  # parents come before their children
            if j == 0:
                t[i][0] = grants[i]
                continue
            start = t[i][j - 1] + 1
            if parents[i] >= 0:
                start = max(start, t[parents[i]][j] + hop)
            if j >= buffer:
                start = max([start, *(t[c][j - buffer] for c in children[i])])
            t[i][j] = start
    return [t[i][flits - 1] + 1 for i in range(links)]


@pytest.mark.parametrize("seed", range(60))
def test_tree_tail_closed_form_equals_flit_by_flit_pipeline(seed: int) -> None:
    rng = random.Random(seed)
    hop = rng.choice([0, 1, 2, 3])
    buffer = rng.randint(max(1, hop), 9)
    flits = rng.choice([1, 2, 3, 5, 8, 13, 40, 128])
    links = rng.randint(2, 12)
    parents = [-1] + [rng.randrange(k) for k in range(1, links)]
    grants = [rng.randint(0, 5)]
    for k in range(1, links):  # a branch's head waits for its link a random time
        grants.append(grants[parents[k]] + hop + rng.choice([0, 0, 0, 1, 4, 30, 200]))
    children: list[list[int]] = [[] for _ in parents]
    for link, parent in enumerate(parents):
        if parent >= 0:
            children[parent].append(link)
    terms = tree_tail_terms(tuple(parents), children, hops_ahead(flits, buffer))
    closed = [tree_tail_ps(grants, terms[i], flits, flits, buffer, hop) for i in range(links)]
    assert closed == flit_by_flit_tree_tails(parents, grants, flits, buffer, hop)


def test_mesh_multicast_zero_load_latency_is_that_of_its_farthest_destination() -> None:
    cfg = arch("edge_mesh", "interconnect.hop_latency_cycles=2").interconnect
    topology = edge_topology()
    for destinations, flits in [((3, 15, 12), 128), ((1, 4, 5), 3), ((0, 5, 10, 15), 1)]:
        env = simpy.Environment()
        mesh = Mesh(Component(None, "chip"), "noc", cfg, env, NullRecorder(), topology)
        ends = tuple(cluster(c) for c in destinations)
        op = TransferOp(
            0, 0, TransferKind.OPERAND_LOAD, bank(0), ends[0], flits * 64, 0, (), 0, fanout=ends[1:]
        )
        timing = TransferTiming(0)
        env.process(mesh.send(op, timing, lambda nbytes: 0))
        env.run()
        tree = topology.tree(bank(0), ends)
        assert env.now == (tree.depth * 2 + flits) * 1000
        assert timing.contention == 0 and timing.hops == tree.hops
        # every link of the tree carried the bytes once
        assert sum(link.bytes for link in mesh.links) == op.nbytes * len(tree.links)
        assert mesh.byte_hops == op.nbytes * tree.hops


# --- the mapper -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def programs() -> dict[bool, Program]:
    """ResNet-50 64x64 on edge_mesh, mapped without and with multicast."""
    results = {
        flag: simulate(
            arch("edge_mesh", f"interconnect.multicast={str(flag).lower()}"),
            "resnet50",
            width=64,
            height=64,
        )  # fmt: skip
        for flag in (False, True)
    }
    return {flag: result.program for flag, result in results.items()}


def test_the_mapper_sends_shared_operand_blocks_once(programs: dict[bool, Program]) -> None:
    unicast, multicast = programs[False], programs[True]
    assert not multicasts(unicast)
    sent = multicasts(multicast)
    assert sent
    kinds = {op.kind for op in sent}
    assert kinds == {TransferKind.OPERAND_LOAD}
    streams = {op.stream % 2 for op in sent}
    assert streams == {0, 1}  # input regions (even streams) and weight blocks (odd)
    computes_of = {}
    for queue, ids in multicast.queues.items():
        if queue.endswith(".compute"):
            computes_of[int(queue.removeprefix("cluster").removesuffix(".compute"))] = ids
    for op in sent:
        assert op.src.kind is EndpointKind.BANK
        clusters = [dst.number for dst in op.destinations]
        assert all(dst.kind is EndpointKind.CLUSTER for dst in op.destinations)
        assert len(set(clusters)) == len(clusters) >= 2
        assert op.id in multicast.queues[f"cluster{clusters[0]}.load"]  # one load queue
        for number in clusters:  # every destination's compute waits for it
            assert any(op.id in multicast.ops[c].deps for c in computes_of[number])

    # the same operand bytes reach the clusters, in fewer transfers
    def delivered(program: Program) -> int:
        loads = [op for op in program.transfers() if op.kind is TransferKind.OPERAND_LOAD]
        return sum(op.nbytes * len(op.destinations) for op in loads)

    assert delivered(multicast) == delivered(unicast)
    assert len(multicast.transfers()) < len(unicast.transfers())
    assert multicast.total_macs == unicast.total_macs


def test_multicast_is_off_by_default_and_leaves_the_program_alone() -> None:
    assert arch("edge_mesh").interconnect.multicast is False
    assert not multicasts(simulate(arch("edge_det"), "tiny_cnn").program)


# --- conservation, on every kind ------------------------------------------------------


def expected_link_bytes(program: Program, topology: MeshTopology | None) -> tuple[int, int]:
    """(bytes x links, bytes x hops) over the program's transfers, a multicast's tree once."""
    link_bytes = byte_hops = 0
    for op in program.transfers():
        if topology is None:  # a bus: one stage, whatever the destinations
            links, hops = 1, 1
        else:
            links = len(topology.footprint(op.src, op.destinations)[0])
            hops = links - 1
        link_bytes += op.nbytes * links
        byte_hops += op.nbytes * hops
    return link_bytes, byte_hops


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("workload", ["tiny_cnn", "resnet50"])
def test_bytes_and_byte_hops_are_conserved_with_and_without_multicast(
    kind: str, workload: str, tmp_path: Path
) -> None:
    name, overrides = KINDS[kind]
    options = {"width": 64, "height": 64} if workload == "resnet50" else {}
    runs = {}
    for flag in (False, True):
        config = arch(name, *overrides, f"interconnect.multicast={str(flag).lower()}")
        path = tmp_path / f"{flag}.h5"
        result = simulate(config, workload, path, **options)
        summary, program, ic = result.summary, result.program, result.summary["interconnect"]
        assert summary["total_macs"] == summary["workload_macs"]
        topology = mesh_topology(config)
        link_bytes, byte_hops = expected_link_bytes(program, topology)
        transfers = program.transfers()
        assert ic["bytes"] == sum(op.nbytes for op in transfers)
        assert ic["byte_hops"] == byte_hops
        with open_trace(path) as trace:
            assert int(trace.links["bytes"].sum()) == link_bytes
            rows = trace.transfers
            assert int((rows["bytes"] * rows["hops"].astype(np.int64)).sum()) == byte_hops
            if topology is not None:  # injected once, ejected at every destination
                names = trace.components["name"][trace.links["component"]].astype(str)
                injected = trace.links["bytes"][np.char.find(names, ".inject.") >= 0].sum()
                ejected = trace.links["bytes"][np.char.find(names, ".eject.") >= 0].sum()
                assert injected == ic["bytes"]
                assert ejected == ic.get("bytes_delivered", ic["bytes"])
            destinations = trace.destinations
            assert len(destinations["transfer"]) == sum(
                len(op.destinations) for op in multicasts(program)
            )
        if flag:
            sent = multicasts(program)
            assert ic["multicast_transfers"] == len(sent) > 0
            assert ic["bytes_delivered"] == sum(
                op.nbytes * len(op.destinations) for op in transfers
            )
        else:
            assert "bytes_delivered" not in ic and "multicast" not in ic
        runs[flag] = summary
    off, on = runs[False]["interconnect"], runs[True]["interconnect"]
    # the same bytes reach the same endpoints; sent once, they cross fewer links
    assert on["bytes_delivered"] == off["bytes"]
    assert on["bytes"] < off["bytes"]
    assert on["byte_hops"] < off["byte_hops"]
    assert on["unicast_byte_hops"] > on["byte_hops"]
    if kind.startswith("det"):
        assert on["contention_ps"] == 0


@pytest.mark.parametrize("kind", ["mesh", "det tt"])
def test_multicast_moves_fewer_byte_hops_and_is_no_slower(kind: str) -> None:
    name, overrides = KINDS[kind]
    off = simulate(arch(name, *overrides), "resnet50", width=128, height=128).summary
    on = simulate(arch(name, *overrides, MULTICAST), "resnet50", width=128, height=128).summary
    assert on["interconnect"]["byte_hops"] < 0.9 * off["interconnect"]["byte_hops"]
    assert on["latency_ps"] <= off["latency_ps"]
    assert on["latency_ps"] >= on["roofline_bound_ps"]


# --- the time-triggered NoC -----------------------------------------------------------


def test_multicast_reservations_never_overlap_and_cover_every_tree_link(tmp_path: Path) -> None:
    config = arch("edge_det", MULTICAST)  # refresh on: late packets rebook gaps as well
    result = simulate(config, "tiny_cnn", tmp_path / "t.h5")
    topology = mesh_topology(config)
    assert topology is not None
    hop_ps = 1000
    with open_trace(tmp_path / "t.h5") as trace:
        assert_no_link_overlap(trace)
        rows = trace.reservations
        ids = {str(name): i for i, name in enumerate(trace.components["name"])}
        link_ids = [ids[f"chip.noc.{name}"] for name in topology.link_names]
        planned = rows["status"] != ReservationStatus.REBOOKED
        for op in multicasts(result.program)[:10]:
            mine = (rows["op"] == op.id) & (rows["packet"] == 0) & planned
            links, depths = topology.footprint(op.src, op.destinations)
            assert sorted(rows["link"][mine].tolist()) == sorted(link_ids[k] for k in links)
            t0 = rows["t_start_ps"][mine].min()
            for link, depth in zip(links, depths, strict=True):
                start = rows["t_start_ps"][mine & (rows["link"] == link_ids[link])]
                assert start.tolist() == [t0 + depth * hop_ps]


def test_a_multicast_plan_is_kept_exactly_without_refresh() -> None:
    summary = simulate(arch("edge_det", MULTICAST, NO_REFRESH), "tiny_cnn").summary
    ic = summary["interconnect"]
    assert ic["multicast_transfers"] > 0
    assert ic["late_transfers"] == 0 and ic["contention_ps"] == 0
    assert ic["planned_latency_ps"] == summary["latency_ps"]


# --- frames, determinism --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mesh", "det tt", "det share"])
def test_frames_on_two_engines_replicate_multicasts(kind: str) -> None:
    name, overrides = KINDS[kind]
    scenario = ScenarioConfig.model_validate({"kind": "offline", "frames": 3})
    config = arch(name, *overrides, MULTICAST, "engines=2")
    result = simulate(config, "tiny_cnn", scenario=scenario)
    summary = result.summary
    assert summary["total_macs"] == 3 * summary["workload_macs"]
    sent = multicasts(result.program)
    engines = {op.dst.number // 8 for op in sent}
    assert engines == {0, 1}  # frames on both engines, each multicast inside its engine
    for op in sent:
        assert {dst.number // 8 for dst in op.destinations} == {op.dst.number // 8}
        assert op.src.number // 8 == op.dst.number // 8


@pytest.mark.parametrize("kind", ["mesh", "det tt"])
def test_multicast_runs_are_deterministic(kind: str, tmp_path: Path) -> None:
    name, overrides = KINDS[kind]
    summaries = []
    for path in (tmp_path / "a.h5", tmp_path / "b.h5"):
        summary = simulate(arch(name, *overrides, MULTICAST), "tiny_cnn", path, seed=3).summary
        summary.pop("wall_s")
        summary.pop("trace", None)
        summaries.append(summary)
    assert summaries[0] == summaries[1]
    with h5py.File(tmp_path / "a.h5") as a, h5py.File(tmp_path / "b.h5") as b:
        for table in ("states", "transfers", "links", "destinations"):
            for column in a[table]:
                np.testing.assert_array_equal(a[table][column][()], b[table][column][()])


# --- the command line -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["edge_mesh", "edge_det"])
def test_cli_runs_with_multicast(name: str) -> None:
    def run(*flags: str) -> Any:
        arguments = ["run", f"arch/{name}.yaml", "workloads/tiny_cnn.yaml", "--set", MULTICAST]
        return CliRunner().invoke(cli, [*arguments, "--no-trace", *flags])

    summary = run("--json")
    assert summary.exit_code == 0, summary.output
    assert '"multicast_transfers"' in summary.output
    text = run()
    assert text.exit_code == 0 and "  multicast " in text.output


@pytest.mark.parametrize(
    ("name", "extra", "message"),
    [
        ("edge_xbar", [], "a crossbar port serves one destination"),
        ("edge_mesh", ["--set", "interconnect.mesh.topology=torus"], "not on a torus"),
    ],
)
def test_multicast_where_it_is_not_modelled_is_a_located_error(
    name: str, extra: list[str], message: str, tmp_path: Path
) -> None:
    text = (ROOT / "arch" / f"{name}.yaml").read_text()
    assert text.count("\ninterconnect:\n") == 1
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace("\ninterconnect:\n", "\ninterconnect:\n  multicast: true\n"))
    line = text[: text.index("\ninterconnect:\n")].count("\n") + 3  # the key's line
    result = CliRunner().invoke(cli, ["run", str(path), "workloads/tiny_cnn.yaml", *extra])
    assert result.exit_code == 2
    assert f"{path}:{line}" in result.output and "interconnect.multicast" in result.output
    assert message in result.output and "Traceback" not in result.output
    from_set = CliRunner().invoke(
        cli, ["run", f"arch/{name}.yaml", "workloads/tiny_cnn.yaml", "--set", MULTICAST, *extra]
    )
    assert from_set.exit_code == 2
    assert "--set: interconnect.multicast" in from_set.output and message in from_set.output


def test_a_tree_is_a_route_for_one_destination() -> None:
    topology = edge_topology()
    route = topology.route(bank(5), cluster(10))
    tree: Tree = topology.tree(bank(5), (cluster(10),))
    assert tree.links == route.links and tree.hops == route.hops == tree.depth
