"""Scenarios: frames arriving over time, several engines, pipelined frames (issue 8)."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import simpy
from click.testing import CliRunner, Result

import archsim
from archsim.api import SimulationResult
from archsim.cli.main import cli
from archsim.config import ArchConfig, load_arch, load_workload
from archsim.config.scenario import ScenarioConfig
from archsim.domain import StallCause
from archsim.errors import MappingError
from archsim.hw import dram
from archsim.scenario.engines import engine_mapping_hint
from archsim.sim.runtime import TransferTiming
from archsim.trace import open_trace

ROOT = Path(__file__).resolve().parents[1]
EDGE_BUS = ROOT / "arch" / "edge_bus.yaml"
EDGE_DET = ROOT / "arch" / "edge_det.yaml"
EDGE_MESH = ROOT / "arch" / "edge_mesh.yaml"
MULTI_ENGINE = ROOT / "arch" / "multi_engine.yaml"
TINY_CNN = ROOT / "workloads" / "tiny_cnn.yaml"
RESNET50 = ROOT / "workloads" / "resnet50.yaml"
NO_REFRESH = ["dram.trfc_ns=0"]


def arch(path: Path = EDGE_BUS, *overrides: str) -> ArchConfig:
    """An architecture with ``--set`` style overrides."""
    return load_arch(path, list(overrides))


def run(
    arch_cfg: ArchConfig,
    scenario: dict[str, Any] | None,
    workload: Path = TINY_CNN,
    **kwargs: Any,
) -> SimulationResult:
    """simulate() without a trace, ``scenario`` given as the YAML block's keys."""
    config = None if scenario is None else ScenarioConfig.model_validate(scenario)
    kwargs.setdefault("trace", False)
    return archsim.simulate(arch_cfg, load_workload(workload), scenario=config, **kwargs)


def latencies(result: SimulationResult) -> list[int]:
    """Latency of every frame that was not dropped, in frame order."""
    return [frame.latency_ps for frame in result.frames if not frame.dropped]


@pytest.fixture
def stateless_dram(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """DRAM with a fixed access time and no state (no open rows, addresses or refresh)."""

    def access(
        self: dram.DramChannel,
        nbytes: int,
        stream: int,
        write: bool,
        timing: TransferTiming,
        layer: int,
    ) -> Generator[simpy.Event, Any, None]:
        start = int(self.env.now)
        yield self.env.timeout(20_000 + 60 * nbytes)
        timing.dram += int(self.env.now) - start
        timing.add_phase(start, int(self.env.now), StallCause.DRAM)

    monkeypatch.setattr(dram.DramChannel, "access", access)
    yield


# --- single-stream ----------------------------------------------------------------------


@pytest.mark.parametrize("path", [EDGE_BUS, EDGE_DET, EDGE_MESH])
def test_single_stream_frames_take_exactly_the_single_frame_latency(
    path: Path, stateless_dram: None
) -> None:
    cfg = arch(path)
    plain = run(cfg, None).summary["latency_ps"]
    result = run(cfg, {"kind": "single-stream", "frames": 4})
    assert latencies(result) == [plain] * 4
    frames = result.frames
    for before, after in zip(frames, frames[1:], strict=False):
        assert after.arrival_ps == after.start_ps == before.end_ps  # back to back, no wait


def test_single_stream_with_the_dram_model_differs_only_by_dram_state() -> None:
    """The DRAM keeps rows open and moves each stream's address on from frame to frame, so
    later frames differ a little from the first (which equals a plain run exactly)."""
    cfg = arch(EDGE_BUS, *NO_REFRESH)
    plain = run(cfg, None).summary["latency_ps"]
    measured = latencies(run(cfg, {"kind": "single-stream", "frames": 4}))
    assert measured[0] == plain
    assert all(abs(value - plain) <= 0.05 * plain for value in measured)


def test_single_stream_summary_has_the_latency_distribution() -> None:
    summary = run(arch(), {"kind": "single-stream", "frames": 3}).summary
    assert summary["scenario"] == "single-stream"
    assert (summary["frames"], summary["queries"], summary["dropped"]) == (3, 3, 0)
    latency = summary["latency_ms"]
    assert set(latency) == {"p50", "p90", "p99", "mean", "max", "min"}
    assert latency["min"] <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    assert summary["queue_depth"] == {"max": 0, "mean": 0.0}


# --- offline ----------------------------------------------------------------------------


def test_offline_batch_32_beats_batch_1_on_throughput_but_not_on_latency() -> None:
    """ResNet-50's 25 MB of weights do not fit edge_bus's 8 MiB: a batch shares each fetch."""
    cfg = arch()
    one = run(cfg, {"kind": "offline", "frames": 1}, RESNET50, width=32, height=32, batch=1)
    many = run(cfg, {"kind": "offline", "frames": 1}, RESNET50, width=32, height=32, batch=32)
    assert many.summary["throughput_fps"] > 2 * one.summary["throughput_fps"]
    assert many.summary["latency_ms"]["max"] > one.summary["latency_ms"]["max"]
    assert one.summary["dram_weight_bytes_read"] > cfg.sram.total_bytes


def test_offline_frames_overlap_when_sram_allows() -> None:
    result = run(arch(), {"kind": "offline", "frames": 4})
    frames = result.frames
    assert all(frame.arrival_ps == 0 for frame in frames)
    pairs = zip(frames, frames[1:], strict=False)
    assert all(after.start_ps < before.end_ps for before, after in pairs)  # overlapped
    plain = run(arch(), None).summary["latency_ps"]
    # tiny_cnn is bus-bound: starting the next frame early barely changes the total
    assert result.summary["latency_ps"] < 4 * plain * 1.05


# --- stream -----------------------------------------------------------------------------


def test_stream_beyond_capacity_queues_up() -> None:
    result = run(arch(), {"kind": "stream", "frames": 8, "fps": 1e6})
    measured = latencies(result)
    assert measured[-1] > 2 * measured[0]
    assert all(later >= earlier for earlier, later in zip(measured[2:], measured[3:], strict=False))
    summary = result.summary
    assert summary["queue_depth"]["max"] >= 3
    assert summary["achieved_fps"] < 1e6 / 2
    assert summary["dropped"] == 0 and summary["queued"] >= 6


def test_stream_beyond_capacity_with_a_queue_limit_drops_frames() -> None:
    result = run(arch(), {"kind": "stream", "frames": 8, "fps": 1e6, "max_queue": 1})
    summary = result.summary
    assert 0 < summary["dropped"] < 8
    assert summary["queue_depth"]["max"] <= 1
    assert summary["frames"] == 8
    assert sum(frame.dropped for frame in result.frames) == summary["dropped"]


def test_stream_well_below_capacity_has_the_single_frame_latency(stateless_dram: None) -> None:
    cfg = arch()
    plain = run(cfg, None).summary["latency_ps"]
    result = run(cfg, {"kind": "stream", "frames": 4, "fps": 1e4})
    assert latencies(result) == [plain] * 4
    assert result.summary["achieved_fps"] == pytest.approx(1e4)  # keeps up with the sensor


def test_stream_jitter_moves_arrivals_by_the_seed() -> None:
    scenario = {"kind": "stream", "frames": 6, "fps": 1e4, "jitter_ms": 0.02}
    a, b = (
        [frame.arrival_ps for frame in run(arch(), scenario, seed=seed).frames] for seed in (1, 2)
    )
    assert a != b and a == sorted(a) and b == sorted(b)
    nominal = [round(k * 1e8) for k in range(6)]
    assert all(abs(t - n) <= 20_000_000 for t, n in zip(a, nominal, strict=True))


# --- multi-stream and server ------------------------------------------------------------


def test_multi_stream_queries_end_when_all_their_frames_do() -> None:
    result = run(arch(), {"kind": "multi-stream", "frames": 3, "fps": 2e4, "streams": 2})
    summary = result.summary
    assert (summary["frames"], summary["queries"]) == (6, 3)
    frames = result.frames
    for query in range(3):
        members = [frame for frame in frames if frame.query == query]
        assert len({frame.arrival_ps for frame in members}) == 1
    worst = max(max(f.end_ps for f in frames if f.query == q) - frames[2 * q].arrival_ps
                for q in range(3))  # fmt: skip
    assert summary["latency_ms"]["max"] == pytest.approx(worst / 1e9)


def test_server_arrivals_follow_the_seed() -> None:
    scenario = {"kind": "server", "frames": 6, "qps": 1e5}
    first = latencies(run(arch(), scenario, seed=7))
    again = latencies(run(arch(), scenario, seed=7))
    other = latencies(run(arch(), scenario, seed=8))
    assert first == again
    assert first != other


# --- several engines --------------------------------------------------------------------


def test_engines_raise_throughput_not_frame_latency() -> None:
    scenario = {"kind": "offline", "frames": 8}
    one = run(arch(), scenario).summary
    four = run(arch(EDGE_BUS, "engines=4"), scenario).summary
    assert four["throughput_fps"] > 1.5 * one["throughput_fps"]
    plain = run(arch(), None).summary["latency_ps"] / 1e9
    assert four["latency_ms"]["min"] >= plain
    engines = four["engines"]
    assert (engines["count"], engines["clusters_per_engine"]) == (4, 4)
    assert [engine["frames"] for engine in engines["per_engine"]] == [2, 2, 2, 2]


def test_multi_engine_arch_runs_each_frame_on_its_engine(tmp_path: Path) -> None:
    result = run(
        arch(MULTI_ENGINE),
        {"kind": "offline", "frames": 4},
        trace=True,
        trace_path=tmp_path / "t.h5",
    )
    assert [frame.engine for frame in result.frames] == [0, 1, 2, 3]
    with open_trace(tmp_path / "t.h5") as trace:
        busy = trace.states_where(kind="mac_cluster", state="BUSY")
        names = trace.components["name"][busy["component"]]
        clusters = np.array([int(name.removeprefix("chip.cluster")) for name in names])
        np.testing.assert_array_equal(clusters // 4, busy["frame"])  # frame f on engine f


def test_engines_on_the_deterministic_noc_share_links_without_deadlock() -> None:
    share = "interconnect.schedule=per_layer_share"  # epoch lanes, one per engine
    one = run(arch(EDGE_DET, share), {"kind": "offline", "frames": 4}).summary
    two = run(arch(EDGE_DET, share, "engines=2"), {"kind": "offline", "frames": 4}).summary
    assert two["interconnect"]["contention_ps"] == 0
    assert two["throughput_fps"] > one["throughput_fps"]
    assert two["interconnect"]["mean_flow_bandwidth_fraction"] <= 0.5


def test_a_plain_run_on_a_multi_engine_arch_uses_one_engine() -> None:
    summary = run(arch(MULTI_ENGINE), None).summary
    assert "scenario" not in summary and isinstance(summary["latency_ms"], float)
    assert [engine["frames"] for engine in summary["engines"]["per_engine"]] == [1, 0, 0, 0]


def test_a_mapping_error_on_a_multi_engine_arch_names_the_engine_size() -> None:
    with pytest.raises(MappingError) as raised, engine_mapping_hint(arch(MULTI_ENGINE)):
        raise MappingError("layer 'x' does not fit", layer="x")
    problems = [str(problem) for problem in raised.value.problems]
    assert problems[0].endswith("layer 'x' does not fit")
    assert "multi_engine.yaml:" in problems[1]
    assert "one of 4 engines: 4 clusters and 2 MiB of SRAM" in problems[1]
    assert raised.value.layer == "x"


# --- trace and determinism --------------------------------------------------------------


def test_trace_tags_every_row_with_its_frame(tmp_path: Path) -> None:
    scenario = {"kind": "stream", "frames": 5, "fps": 1e6, "max_queue": 1}
    result = run(arch(), scenario, trace=True, trace_path=tmp_path / "s.h5")
    with open_trace(tmp_path / "s.h5") as trace:
        frames = trace.frames
        assert len(frames["frame"]) == 5
        np.testing.assert_array_equal(frames["frame"], np.arange(5))
        np.testing.assert_array_equal(frames["end_ps"], [f.end_ps for f in result.frames])
        assert frames["dropped"].sum() == result.summary["dropped"]
        tagged = trace.states["layer"] >= 0
        assert np.all((trace.states["frame"][tagged] >= 0) & (trace.states["frame"][tagged] < 5))
        assert np.all(trace.states["frame"][~tagged] == -1)
        assert np.all((trace.transfers["frame"] >= 0) & (trace.transfers["frame"] < 5))
        dropped = np.flatnonzero(frames["dropped"])
        assert not np.isin(trace.transfers["frame"], dropped).any()  # dropped: no traffic
        depth = trace.queue["depth"]
        assert depth.max() == result.summary["queue_depth"]["max"]


def test_a_plain_run_has_one_frame_in_its_trace(tmp_path: Path) -> None:
    result = run(arch(), None, trace=True, trace_path=tmp_path / "p.h5")
    with open_trace(tmp_path / "p.h5") as trace:
        assert trace.frames["end_ps"].tolist() == [result.summary["latency_ps"]]
        assert len(trace.queue["t_ps"]) == 0
        assert set(trace.transfers["frame"].tolist()) == {0}


def test_scenario_runs_are_deterministic(tmp_path: Path) -> None:
    scenario = {"kind": "server", "frames": 4, "qps": 2e5}
    paths = [tmp_path / "a.h5", tmp_path / "b.h5"]
    summaries = [run(arch(), scenario, seed=3, trace=True, trace_path=p).summary for p in paths]
    for summary in summaries:
        summary.pop("wall_s")
    assert summaries[0] == summaries[1]
    with h5py.File(paths[0]) as a, h5py.File(paths[1]) as b:
        for table in ("states", "transfers", "frames", "queue"):
            for column in a[table]:
                np.testing.assert_array_equal(a[table][column][()], b[table][column][()])


def test_version_1_traces_read_as_one_frame(tmp_path: Path) -> None:
    path = tmp_path / "v1.h5"
    result = run(arch(), None, trace=True, trace_path=path)
    with h5py.File(path, "r+") as h5:  # turn it into a version 1 file
        h5.attrs["schema_version"] = 1
        del h5["states/frame"], h5["transfers/frame"], h5["frames"], h5["queue"]
    with open_trace(path) as trace:
        assert trace.frames["end_ps"].tolist() == [trace.run_end_ps]
        assert result.summary["latency_ps"] <= trace.run_end_ps
        expected = np.where(trace.states["layer"] >= 0, 0, -1)
        np.testing.assert_array_equal(trace.states["frame"], expected)
        assert list(trace.states) == [
            "component",
            "state",
            "t_start_ps",
            "t_end_ps",
            "layer",
            "frame",
        ]


# --- configuration and command line -----------------------------------------------------


def invoke(*args: str | Path) -> Result:
    """Run the CLI in-process."""
    return CliRunner().invoke(cli, [str(arg) for arg in args])


@pytest.mark.parametrize(
    "flags",
    [
        ["--scenario", "single-stream", "--frames", "2"],
        ["--scenario", "stream", "--fps", "1e5", "--frames", "3", "--jitter-ms", "0.001"],
        ["--scenario", "multi-stream", "--fps", "5e4", "--streams", "2", "--frames", "2"],
        ["--scenario", "server", "--qps", "1e5", "--frames", "3", "--max-queue", "2"],
        ["--scenario", "offline", "--frames", "2", "--batch", "2"],
    ],
)
def test_every_scenario_runs_from_the_command_line(flags: list[str]) -> None:
    result = invoke("run", EDGE_BUS, TINY_CNN, "--no-trace", *flags)
    assert result.exit_code == 0, result.output
    assert f"scenario           {flags[1]}" in result.output
    assert "latency      p50" in result.output
    summary = json.loads(invoke("run", EDGE_BUS, TINY_CNN, "--no-trace", "--json", *flags).stdout)
    assert summary["scenario"] == flags[1]


def test_the_workload_file_scenario_block_is_used_and_flags_override_it(tmp_path: Path) -> None:
    workload = tmp_path / "tiny.yaml"
    block = "scenario:\n  kind: stream\n  fps: 100000\n  frames: 3\n"
    workload.write_text(TINY_CNN.read_text() + block)
    summary = json.loads(invoke("run", EDGE_BUS, workload, "--no-trace", "--json").stdout)
    assert (summary["scenario"], summary["frames"], summary["offered_fps"]) == ("stream", 3, 1e5)
    flags = ("--frames", "2", "--fps", "2e5")
    summary = json.loads(invoke("run", EDGE_BUS, workload, "--no-trace", "--json", *flags).stdout)
    assert (summary["frames"], summary["offered_fps"]) == (2, 2e5)
    other = ("--scenario", "offline")
    summary = json.loads(invoke("run", EDGE_BUS, workload, "--no-trace", "--json", *other).stdout)
    assert (summary["scenario"], summary["frames"]) == ("offline", 8)


def test_without_a_scenario_run_is_one_inference() -> None:
    summary = json.loads(invoke("run", EDGE_BUS, TINY_CNN, "--no-trace", "--json").stdout)
    assert "scenario" not in summary and "engines" not in summary
    assert isinstance(summary["latency_ms"], float)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--scenario", "sometimes"], "'--scenario'"),
        (["--scenario", "stream", "--fps", "0"], "'--fps'"),
        (["--scenario", "stream", "--fps", "-3"], "'--fps'"),
        (["--scenario", "stream"], "--fps: is required for scenario stream"),
        (["--fps", "30"], "--fps: needs --scenario"),
        (["--scenario", "offline", "--qps", "3"], "--qps: is not used by scenario offline"),
        (["--set", "engines=3"], "--set: engines: 3 engines do not divide mac_clusters.count"),
    ],
)
def test_bad_scenario_flags_exit_2_naming_the_flag(flags: list[str], expected: str) -> None:
    result = invoke("run", EDGE_BUS, TINY_CNN, "--no-trace", *flags)
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output


def test_bad_scenario_and_engines_in_files_point_at_their_lines(tmp_path: Path) -> None:
    workload = tmp_path / "tiny.yaml"
    text = TINY_CNN.read_text()
    workload.write_text(text + "scenario:\n  kind: streem\n  fps: 0\n")
    line = text.count("\n") + 2
    result = invoke("run", EDGE_BUS, workload, "--no-trace")
    assert result.exit_code == 2
    assert f"{workload}:{line}:3: scenario.kind:" in result.output
    assert f"{workload}:{line + 1}:3: scenario.fps: Input should be greater than 0" in result.output
    engines = tmp_path / "arch.yaml"
    engines.write_text(EDGE_BUS.read_text() + "engines: 5\n")
    result = invoke("run", engines, TINY_CNN, "--no-trace")
    assert result.exit_code == 2
    assert f"{engines}:" in result.output and "5 engines do not divide sram.banks" in result.output
