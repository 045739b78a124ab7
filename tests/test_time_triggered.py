"""The time-triggered deterministic NoC: planned windows, lateness, reservations, conservation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import archsim
from archsim.cli.main import cli
from archsim.config import ArchConfig, load_arch, load_workload
from archsim.config.scenario import ScenarioConfig
from archsim.domain import ReservationStatus
from archsim.hw.chip import mesh_topology
from archsim.mapping.link_calendar import LinkCalendar, merged_intervals
from archsim.mapping.mapper import map_workload
from archsim.mapping.program import TransferOp
from archsim.mapping.transfer_plan import packet_counts
from archsim.scenario.engines import engine_arch
from archsim.scenario.run import plan_frames
from archsim.sim.engine import plan_transfers
from archsim.trace import Trace, open_trace
from archsim.units import clock_period_ps
from archsim.workload import build_graph

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ROOT / "workloads"
NO_REFRESH = "dram.trfc_ns=0"
EXACT = "interconnect.plan_dram=exact"
AVERAGE = "interconnect.plan_dram=average"
STREAM = {"kind": "stream", "frames": 6, "fps": 2e4}
DROPPING = {"kind": "stream", "frames": 5, "fps": 1e6, "max_queue": 1}
OFFLINE = {"kind": "offline", "frames": 4}


def det(*overrides: str) -> ArchConfig:
    """edge_det with --set style overrides."""
    return load_arch(ROOT / "arch" / "edge_det.yaml", list(overrides))


def simulate(arch: ArchConfig, workload: str, path: Path | None = None, **options: Any) -> Any:
    return archsim.simulate(
        arch, WORKLOADS / f"{workload}.yaml", trace=path is not None, trace_path=path, **options
    )


def assert_no_link_overlap(trace: Trace) -> None:
    """No link carries two reservations at once (checked on the trace)."""
    rows = trace.reservations
    order = np.lexsort((rows["t_start_ps"], rows["link"]))
    link, start, end = rows["link"][order], rows["t_start_ps"][order], rows["t_end_ps"][order]
    same_link = link[1:] == link[:-1]
    assert not np.any(same_link & (start[1:] < end[:-1]))
    assert np.all(end > start)


@pytest.fixture(scope="module")
def planned_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Trace]:
    """yolov3_tiny 128x128 on edge_det without refresh, planned in a separate pass: the
    run on the frozen plan goes exactly as planned."""
    path = tmp_path_factory.mktemp("tt") / "planned.h5"
    result = simulate(
        det(NO_REFRESH, AVERAGE), "yolov3_tiny", path, width=128, height=128, verify_plan=True
    )
    return result.summary, open_trace(path)


@pytest.fixture(scope="module")
def exact_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Trace]:
    """The same run with the preset's refresh, planned on the exact DRAM model (refresh at
    the run's seeded phase) in a separate pass, then run on the frozen plan."""
    path = tmp_path_factory.mktemp("tt") / "exact.h5"
    result = simulate(det(EXACT), "yolov3_tiny", path, width=128, height=128, verify_plan=True)
    return result.summary, open_trace(path)


@pytest.fixture(scope="module")
def refresh_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Trace]:
    """The same run with the preset's refresh, planned at DRAM's average rate: the plan
    does not foresee refresh."""
    path = tmp_path_factory.mktemp("tt") / "refresh.h5"
    result = simulate(det(AVERAGE), "yolov3_tiny", path, width=128, height=128)
    return result.summary, open_trace(path)


# --- the calendar ---------------------------------------------------------------------


def test_calendar_books_the_earliest_window_free_on_every_link_of_the_route() -> None:
    calendar = LinkCalendar(3)
    calendar.book([(0, 0)], 10, 0)  # link 0 busy [0, 10)
    calendar.book([(2, 0)], 5, 14)  # link 2 busy [14, 19)
    # a packet over links 0, 1, 2 with a hop of 2 ps and 6 ps of occupancy
    t0 = calendar.earliest([(0, 0), (1, 2), (2, 4)], 6, 0)
    assert t0 == 15  # after link 0 frees at 10, link 2 at [14, 20) conflicts until 19
    calendar.book([(0, 0), (1, 2), (2, 4)], 6, t0)
    assert calendar.starts[2] == [14] and calendar.ends[2] == [25]  # touching: merged
    with pytest.raises(ValueError, match="overlaps"):
        calendar.book([(1, 0)], 3, 18)


def test_planned_calendar_finds_gaps_between_planned_and_run_time_bookings() -> None:
    planned = merged_intervals(
        1, np.array([0, 0, 0]), np.array([0, 10, 30]), np.array([10, 20, 40])
    )
    assert planned[0][0].tolist() == [0, 30] and planned[0][1].tolist() == [20, 40]
    calendar = LinkCalendar(1, planned)
    assert calendar.earliest([(0, 0)], 5, 2) == 20
    assert calendar.book_earliest([(0, 0)], 5, 2) == 20
    assert calendar.earliest([(0, 0)], 5, 2) == 25
    assert calendar.earliest([(0, 0)], 6, 2) == 40
    with pytest.raises(ValueError, match="overlaps"):
        calendar.book([(0, 0)], 5, 28)
    with pytest.raises(ValueError, match="overlap"):
        merged_intervals(1, np.array([0, 0]), np.array([0, 5]), np.array([10, 15]))


def _first_free_start(
    busy: list[list[tuple[int, int]]], links: list[int], offsets: list[int], length: int, t: int
) -> int:
    """Reference for LinkCalendar.earliest: try t and every end of a busy interval, less the
    link's offset, in order, and take the first start free on every link."""
    candidates = {t} | {end - offsets[i] for i, link in enumerate(links) for _, end in busy[link]}

    def free(t0: int) -> bool:
        return all(
            end <= t0 + offset or t0 + offset + length <= start
            for link, offset in zip(links, offsets, strict=True)
            for start, end in busy[link]
        )

    return next(t0 for t0 in sorted(c for c in candidates if c >= t) if free(t0))


def test_calendar_earliest_matches_a_brute_force_search_over_random_bookings() -> None:
    rng = np.random.default_rng(7)
    for trial in range(60):
        links = 4
        # planned reservations: disjoint random intervals per link
        link = rng.integers(0, links, 30)
        start = np.sort(rng.choice(400, 30, replace=False)) * 10
        order = np.lexsort((start, link))
        link, start = link[order], start[order]
        end = start + rng.integers(1, 10, 30)
        planned = merged_intervals(links, link, start, end)
        if trial % 3 == 0:  # no plan: bookings only (a run that plans itself)
            planned = [(np.zeros(0, np.int64), np.zeros(0, np.int64))] * links
        calendar = LinkCalendar(links, planned)
        busy = [list(zip(s.tolist(), e.tolist(), strict=True)) for s, e in planned]
        for _ in range(40):  # book packets at the earliest window, as the run does
            route = sorted(rng.choice(links, int(rng.integers(1, links + 1)), replace=False))
            offsets = [3 * depth for depth in range(len(route))]
            length = int(rng.integers(1, 25))
            t = int(rng.integers(0, 4500))
            expected = _first_free_start(busy, route, offsets, length, t)
            pairs = list(zip(route, offsets, strict=True))
            assert calendar.earliest(pairs, length, t) == expected
            assert calendar.book_earliest(pairs, length, t) == expected
            for depth, hop in enumerate(route):
                busy[hop].append((expected + offsets[depth], expected + offsets[depth] + length))


# --- as planned -------------------------------------------------------------------------


def assert_run_as_planned(summary: dict[str, Any], trace: Trace) -> None:
    """Every transfer on its planned window, nothing late, every reservation used."""
    ic = summary["interconnect"]
    windows = trace.windows
    assert len(windows["op"]) == summary["transfers"] == ic["planned_transfers"]
    np.testing.assert_array_equal(windows["t_start_ps"], windows["planned_start_ps"])
    np.testing.assert_array_equal(windows["t_end_ps"], windows["planned_end_ps"])
    assert not windows["late"].any()
    assert ic["late_transfers"] == ic["late_packets"] == ic["slip_ps"] == 0
    assert ic["reserved_unused_fraction"] == 0.0
    assert summary["latency_ps"] == ic["planned_latency_ps"]
    statuses = set(trace.reservations["status"].tolist())
    assert statuses == {ReservationStatus.USED}
    # the /transfers rows agree: granted at the planned window, delivered as planned
    assert sorted(trace.transfers["t_grant_ps"].tolist()) == sorted(
        windows["planned_start_ps"].tolist()
    )
    assert ic["contention_ps"] == 0
    assert_no_link_overlap(trace)


def test_every_transfer_takes_exactly_its_planned_time_when_the_run_goes_as_planned(
    planned_run: tuple[dict[str, Any], Trace],
) -> None:
    assert_run_as_planned(*planned_run)


def test_a_plan_on_the_exact_dram_model_foresees_refresh_and_the_run_keeps_to_it(
    exact_run: tuple[dict[str, Any], Trace],
    planned_run: tuple[dict[str, Any], Trace],
    refresh_run: tuple[dict[str, Any], Trace],
) -> None:
    summary, trace = exact_run
    assert summary["interconnect"]["plan_dram"] == "exact"
    assert not summary["interconnect"]["run_is_planning_pass"]  # planned separately
    assert_run_as_planned(summary, trace)
    # the refreshes are in the plan: it is slower than the plan without refresh
    assert summary["latency_ps"] > planned_run[0]["latency_ps"]
    # the same DRAM planned at its average rate makes transfers late
    assert refresh_run[0]["interconnect"]["late_transfers"] > 0
    assert refresh_run[0]["interconnect"]["plan_dram"] == "average"


def test_a_run_planned_on_the_chip_itself_is_its_own_planning_pass(
    tmp_path: Path, exact_run: tuple[dict[str, Any], Trace]
) -> None:
    """Without a separate pass the summary and every trace dataset are those of the run
    on the frozen plan (which repeats the planning pass event for event)."""
    path = tmp_path / "one.h5"
    result = simulate(det(EXACT), "yolov3_tiny", path, width=128, height=128)
    assert result.planning_wall_s == 0.0
    summary, verified = result.summary, dict(exact_run[0])
    assert summary["interconnect"].pop("run_is_planning_pass")
    verified["interconnect"] = dict(verified["interconnect"])
    verified["interconnect"].pop("run_is_planning_pass")
    for one in (summary, verified):
        one.pop("wall_s")
        one.pop("trace", None)
    assert summary == verified
    with h5py.File(path) as single, h5py.File(exact_run[1].path) as separate:
        for table in ("states", "transfers", "layers", "reservations", "windows", "links"):
            assert set(single[table]) == set(separate[table])
            for column in single[table]:
                one, two = single[table][column][()], separate[table][column][()]
                np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize(
    ("workload", "options", "overrides"),
    [
        ("resnet50", {"width": 96, "height": 96}, ()),
        ("yolov3_tiny", {"width": 608, "height": 608, "fusion": "auto"}, ()),
        ("tiny_cnn", {"scenario": ScenarioConfig.model_validate(STREAM)}, ()),
        ("tiny_cnn", {"scenario": ScenarioConfig.model_validate(DROPPING)}, ()),
        ("tiny_cnn", {"scenario": ScenarioConfig.model_validate(OFFLINE)}, ("engines=2",)),
        ("resnet50", {"width": 96, "height": 96}, ("interconnect.multicast=true",)),
    ],
)
def test_exact_plans_keep_every_transfer_on_time_with_refresh_on(
    tmp_path: Path, workload: str, options: dict[str, Any], overrides: tuple[str, ...]
) -> None:
    path = tmp_path / "run.h5"
    arch = det(EXACT, *overrides)
    summary = simulate(arch, workload, path, verify_plan=True, **options).summary
    with open_trace(path) as trace:
        assert_run_as_planned(summary, trace)
        network = trace.windows["t_end_ps"] - trace.windows["t_start_ps"]
        planned = trace.windows["planned_end_ps"] - trace.windows["planned_start_ps"]
        np.testing.assert_array_equal(network, planned)
    assert summary["interconnect"]["window_wait_ps"] == 0
    if "fusion" in options:
        assert summary["fusion_groups"]


def test_no_link_carries_two_reservations_at_once(
    planned_run: tuple[dict[str, Any], Trace],
    exact_run: tuple[dict[str, Any], Trace],
    refresh_run: tuple[dict[str, Any], Trace],
) -> None:
    for summary, trace in (planned_run, exact_run, refresh_run):
        assert len(trace.reservations["link"]) > 0
        assert_no_link_overlap(trace)
        ic = summary["interconnect"]
        held = trace.reservations["t_end_ps"] - trace.reservations["t_start_ps"]
        assert int(held.sum()) == ic["reserved_ps"]
        unused = trace.reservations["status"] == ReservationStatus.UNUSED
        assert int(held[unused].sum()) == ic["reserved_unused_ps"]


def test_with_refresh_late_transfers_are_counted_and_their_slip_attributed(
    refresh_run: tuple[dict[str, Any], Trace],
) -> None:
    summary, trace = refresh_run
    ic = summary["interconnect"]
    windows = trace.windows
    assert ic["late_transfers"] > 0 and ic["slip_ps"] > 0
    assert ic["late_transfers"] == int(windows["late"].sum())
    assert ic["slip_ps"] == int(windows["slip_ps"].sum())
    assert ic["slip_ps"] == sum(ic["slip_by_cause_ps"].values())
    parts = sum(
        windows[f"slip_{cause}_ps"] for cause in ("dependency", "dram", "sram", "interconnect")
    )
    np.testing.assert_array_equal(parts, windows["slip_ps"])
    late = windows["late"] == 1
    assert np.all(windows["slip_ps"][~late] == 0)
    assert np.all(windows["t_end_ps"][late] >= windows["planned_end_ps"][late])
    assert ic["slip_by_cause_ps"]["dram"] + ic["slip_by_cause_ps"]["dependency"] > 0
    # every late packet left its planned window unused and took a new one
    rows = trace.reservations
    unused = rows["status"] == ReservationStatus.UNUSED
    rebooked = rows["status"] == ReservationStatus.REBOOKED
    key = rows["op"] * 1_000_000 + rows["packet"]
    assert set(key[unused].tolist()) == set(key[rebooked].tolist())
    assert 0 < ic["reserved_unused_fraction"] < 1
    assert ic["contention_ps"] == 0


# --- every workload ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("workload", "options"),
    [
        ("tiny_cnn", {}),
        ("resnet50", {"width": 64, "height": 64}),
        ("mobilenet_v2", {"width": 96, "height": 96}),
        ("yolov3_tiny", {"width": 160, "height": 160, "fusion": "auto"}),
    ],
)
def test_contention_is_zero_and_bytes_and_byte_hops_are_conserved(
    workload: str, options: dict[str, Any]
) -> None:
    result = simulate(det(), workload, **options)
    summary, program = result.summary, result.program
    ic = summary["interconnect"]
    assert ic["contention_ps"] == 0
    assert summary["total_macs"] == summary["workload_macs"]
    transfers = program.transfers()
    topology = mesh_topology(det())
    assert topology is not None
    assert ic["bytes"] == sum(op.nbytes for op in transfers)
    assert ic["byte_hops"] == sum(
        op.nbytes * topology.route(op.src, op.dst).hops for op in transfers
    )


def test_link_bytes_add_up_to_every_transfer_on_every_link_of_its_route(tmp_path: Path) -> None:
    result = simulate(det(), "tiny_cnn", tmp_path / "t.h5")
    topology = mesh_topology(det())
    assert topology is not None
    expected = sum(
        op.nbytes * len(topology.route(op.src, op.dst).links) for op in result.program.transfers()
    )
    with open_trace(tmp_path / "t.h5") as trace:
        assert int(trace.links["bytes"].sum()) == expected


def test_runs_are_deterministic(tmp_path: Path) -> None:
    paths = [tmp_path / "a.h5", tmp_path / "b.h5"]
    summaries = [simulate(det(), "tiny_cnn", path, seed=5).summary for path in paths]
    for summary in summaries:
        summary.pop("wall_s")
        summary.pop("trace", None)
    assert summaries[0] == summaries[1]
    with h5py.File(paths[0]) as a, h5py.File(paths[1]) as b:
        for table in ("states", "transfers", "reservations", "windows"):
            for column in a[table]:
                np.testing.assert_array_equal(a[table][column][()], b[table][column][()])


def test_frames_and_engines_overlap_without_deadlock(tmp_path: Path) -> None:
    scenario = ScenarioConfig.model_validate(OFFLINE)
    one = simulate(det(NO_REFRESH), "tiny_cnn", scenario=scenario)
    two = simulate(det(NO_REFRESH, "engines=2"), "tiny_cnn", tmp_path / "two.h5", scenario=scenario)
    for result in (one, two):
        ic = result.summary["interconnect"]
        assert ic["contention_ps"] == 0 and ic["late_transfers"] == 0
        assert ic["planned_transfers"] == result.summary["transfers"]
    assert two.summary["throughput_fps"] > one.summary["throughput_fps"]
    with open_trace(tmp_path / "two.h5") as trace:
        assert_no_link_overlap(trace)
        assert set(trace.windows["frame"].tolist()) == {0, 1, 2, 3}
        # frames of two engines share the links at once, in disjoint windows
        windows = trace.windows
        first_end = windows["t_end_ps"][windows["frame"] == 0].max()
        assert windows["t_start_ps"][windows["frame"] == 1].min() < first_end


def test_fusion_auto_runs_on_the_time_triggered_noc() -> None:
    fused = simulate(det(), "yolov3_tiny", width=608, height=608, fusion="auto").summary
    assert fused["fusion_groups"]
    assert fused["interconnect"]["contention_ps"] == 0
    assert fused["total_macs"] == fused["workload_macs"]


def test_per_layer_share_keeps_the_epoch_tables() -> None:
    summary = simulate(det("interconnect.schedule=per_layer_share"), "tiny_cnn").summary
    ic = summary["interconnect"]
    assert ic["schedule"] == "per_layer_share" and ic["epochs"] > 0
    assert "late_transfers" not in ic
    tt = simulate(det(), "tiny_cnn").summary["interconnect"]
    assert tt["schedule"] == "time_triggered" and "epochs" not in tt


# --- configuration ----------------------------------------------------------------------


def test_a_bad_schedule_is_a_user_error_at_its_line(tmp_path: Path) -> None:
    text = (ROOT / "arch" / "edge_det.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(re.sub(r"(  kind: deterministic.*\n)", r"\1  schedule: tdm\n", text))
    line = bad.read_text().splitlines().index("  schedule: tdm") + 1
    result = CliRunner().invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 2
    assert f"bad.yaml:{line}" in result.output and "time_triggered" in result.output
    mesh = tmp_path / "mesh.yaml"
    mesh_text = (ROOT / "arch" / "edge_mesh.yaml").read_text()
    mesh.write_text(re.sub(r"(  kind: mesh.*\n)", r"\1  schedule: time_triggered\n", mesh_text))
    result = CliRunner().invoke(cli, ["validate", str(mesh)])
    assert result.exit_code == 2 and "schedule applies to kind deterministic" in result.output


@pytest.mark.parametrize(
    ("arch", "lines", "message"),
    [
        ("edge_det", ["  plan_dram: exactly"], "'exact' or 'average'"),
        ("edge_mesh", ["  plan_dram: exact"], "plan_dram applies to kind deterministic"),
        (
            "edge_det",
            ["  schedule: per_layer_share", "  plan_dram: average"],
            "plan_dram applies to schedule time_triggered",
        ),
    ],
)
def test_a_bad_plan_dram_is_a_user_error_at_its_line(
    tmp_path: Path, arch: str, lines: list[str], message: str
) -> None:
    text = (ROOT / "arch" / f"{arch}.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    inserted = "".join(f"{line}\n" for line in lines)
    bad.write_text(re.sub(r"(  kind: \w+.*\n)", lambda kind: kind.group(1) + inserted, text))
    number = bad.read_text().splitlines().index(lines[-1]) + 1
    result = CliRunner().invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 2
    assert f"bad.yaml:{number}" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_verify_plan_on_the_cli_runs_the_frozen_plan_and_reports_nothing_late() -> None:
    arch, workload = str(ROOT / "arch/edge_det.yaml"), str(WORKLOADS / "tiny_cnn.yaml")
    result = CliRunner().invoke(
        cli, ["run", arch, workload, "--no-trace", "--json", "--set", EXACT, "--verify-plan"]
    )
    assert result.exit_code == 0, result.output
    ic = json.loads(result.output)["interconnect"]
    assert ic["plan_dram"] == "exact" and not ic["run_is_planning_pass"]
    assert ic["late_transfers"] == 0 and ic["planned_transfers"] > 0


def test_the_cli_reports_the_time_triggered_schedule() -> None:
    result = CliRunner().invoke(
        cli,
        ["run", str(ROOT / "arch/edge_det.yaml"), str(WORKLOADS / "tiny_cnn.yaml"), "--no-trace"],
    )
    assert result.exit_code == 0, result.output
    assert "time-triggered:" in result.output and "transfers late" in result.output


def test_a_stream_that_drops_frames_runs_on_the_plan_of_the_same_drops(tmp_path: Path) -> None:
    scenario = ScenarioConfig.model_validate(DROPPING)
    result = simulate(det(), "tiny_cnn", tmp_path / "s.h5", scenario=scenario)
    summary, ic = result.summary, result.summary["interconnect"]
    assert summary["dropped"] > 0 and ic["contention_ps"] == 0
    with open_trace(tmp_path / "s.h5") as trace:
        dropped = np.flatnonzero(trace.frames["dropped"])
        assert not np.isin(trace.windows["frame"], dropped).any()  # dropped: no traffic
        assert len(trace.windows["op"]) == summary["transfers"]
        assert ic["planned_transfers"] + ic["unplanned_transfers"] >= summary["transfers"]
        assert_no_link_overlap(trace)


def test_packets_of_a_scenario_are_counted_from_its_first_frame() -> None:
    arch = det()
    graph = build_graph(load_workload(WORKLOADS / "tiny_cnn.yaml"), width=64, height=64)
    program = map_workload(graph, engine_arch(arch))
    scenario = ScenarioConfig.model_validate(STREAM)
    framed = plan_frames(program, arch, scenario, seed=0)
    assert framed is not None
    ops, max_packet = framed.program.ops, arch.interconnect.max_packet_bytes
    every_op = [-(-op.nbytes // max_packet) if isinstance(op, TransferOp) else 0 for op in ops]
    counts = packet_counts(framed.program, max_packet, framed.schedule.layout.frames)
    assert counts.tolist() == every_op and sum(every_op) > 0
    with pytest.raises(ValueError, match="equal frames"):
        packet_counts(framed.program, max_packet, len(ops) + 1)


@pytest.mark.parametrize("scenario", [None, STREAM, DROPPING], ids=["one", "stream", "drops"])
def test_an_untraced_run_that_plans_itself_keeps_counts_only_and_summarises_alike(
    tmp_path: Path, scenario: dict[str, Any] | None
) -> None:
    options = {} if scenario is None else {"scenario": ScenarioConfig.model_validate(scenario)}
    arch = det("interconnect.max_packet_bytes=1024")  # transfers of several packets
    traced = simulate(arch, "tiny_cnn", tmp_path / "traced.h5", **options).summary
    untraced = simulate(arch, "tiny_cnn", **options).summary
    for summary in (traced, untraced):
        summary.pop("wall_s")
        summary.pop("trace", None)
    assert untraced == traced
    ic = untraced["interconnect"]
    assert ic["run_is_planning_pass"] and ic["late_transfers"] == 0
    assert ic["planned_packets"] > ic["planned_transfers"] > 0


def test_reservations_follow_the_routes_the_planning_pass_noted() -> None:
    """The plan notes each transfer's route as it plans it, so listing the reservations
    of a scenario reads none of its frames' ops; they are every packet's hold of every
    link of its route."""
    arch = det("engines=2", "interconnect.max_packet_bytes=1024")
    graph = build_graph(load_workload(WORKLOADS / "tiny_cnn.yaml"), width=64, height=64)
    program = map_workload(graph, engine_arch(arch))
    framed = plan_frames(program, arch, ScenarioConfig.model_validate(OFFLINE), seed=0)
    assert framed is not None
    plan = plan_transfers(framed.program, arch, 0, frames=framed.schedule)
    topology = mesh_topology(arch)
    assert topology is not None
    hop_ps = arch.interconnect.hop_latency_cycles * clock_period_ps(arch.interconnect.clock_mhz)
    packets = np.flatnonzero(plan.view(plan.window_ps) >= 0)
    expected = set()
    for packet in packets.tolist():
        op = framed.program.ops[int(plan.packet_op[packet])]
        start, hold = plan.window_ps[packet], plan.occupancy_ps[packet]
        for link, depth in zip(*topology.footprint(op.src, op.destinations), strict=True):
            expected.add((link, packet, start + depth * hop_ps, start + depth * hop_ps + hold))
    link, owner, start, end = plan.reservations(hop_ps, packets)
    listed = list(zip(link.tolist(), owner.tolist(), start.tolist(), end.tolist(), strict=True))
    assert len(listed) == len(expected) > len(packets) and set(listed) == expected
    pieces = list(plan.reservation_chunks(hop_ps, packets, rows=50))  # as a trace gets them
    assert len(pieces) > 2 and all(len(piece[0]) >= 50 for piece in pieces[:-1])
    for column, whole in zip(zip(*pieces, strict=True), (link, owner, start, end), strict=True):
        np.testing.assert_array_equal(np.concatenate(column), whole)
