"""Traces stream to the file during the run: a trace flushed in many small batches is the
trace written at once, a failing run leaves no file, and trace memory does not grow with
the run's length."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import pytest

import archsim
from archsim.config import ArchConfig, load_arch
from archsim.config.scenario import ScenarioConfig
from archsim.errors import SimulationError
from archsim.mapping.transfer_plan import RESERVATION_ROWS
from archsim.trace import Recorder, TraceWriter, open_trace
from archsim.trace import recorder as recorder_module
from archsim.trace import writer as writer_module
from archsim.trace.schema import Table
from tests.golden_runs import trace_checksums
from tests.peak_rss import archsim_command, run_measured, tiny_stream_run

ROOT = Path(__file__).resolve().parents[1]
TINY_CNN = ROOT / "workloads" / "tiny_cnn.yaml"
SMALL_ROWS = 97
"""A flush size far below the tables' lengths (and not a divisor of CHUNK_ROWS)."""

CASES = {
    "bus stream": ("edge_bus", (), 3),  # states, transfers, frames, queue
    "det": ("edge_det", (), 1),  # + windows and reservations (time-triggered NoC)
    "mesh multicast": ("edge_mesh", ("interconnect.multicast=true",), 2),  # + destinations
}


def arch(name: str, overrides: tuple[str, ...]) -> ArchConfig:
    return load_arch(ROOT / "arch" / f"{name}.yaml", list(overrides))


def stream(frames: int) -> ScenarioConfig | None:
    if frames == 1:
        return None
    return ScenarioConfig.model_validate({"kind": "stream", "fps": 20000, "frames": frames})


def run_traced(case: str, path: Path, **options: Any) -> archsim.SimulationResult:
    name, overrides, frames = CASES[case]
    return archsim.simulate(
        arch(name, overrides),
        TINY_CNN,
        trace_path=path,
        scenario=stream(frames),
        **options,
    )


def attributes(path: Path) -> dict[str, dict[str, Any]]:
    """Every group's attributes (the summary without its wall time)."""
    found: dict[str, dict[str, Any]] = {}
    with h5py.File(path, "r") as h5:
        h5.visititems(
            lambda name, node: (
                found.update({name: dict(node.attrs)}) if isinstance(node, h5py.Group) else None
            )
        )
        found["/"] = dict(h5.attrs)
    summary = json.loads(found["/"].pop("summary_json"))
    summary.pop("wall_s")
    found["/"]["summary"] = summary
    return found


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_trace_flushed_in_small_batches_equals_the_trace_written_at_once(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = tmp_path / "whole.h5"
    run_traced(case, whole)
    batches: dict[str, int] = {}
    real_append = TraceWriter.append

    def counting(self: TraceWriter, table: Table, columns: Any) -> None:
        batches[table.name] = batches.get(table.name, 0) + 1
        real_append(self, table, columns)

    monkeypatch.setattr(recorder_module, "FLUSH_ROWS", SMALL_ROWS)
    monkeypatch.setattr(writer_module, "READ_ROWS", SMALL_ROWS)
    monkeypatch.setattr(TraceWriter, "append", counting)
    flushed = tmp_path / "flushed.h5"
    run_traced(case, flushed)
    assert batches["states"] > 10 and batches["transfers"] > 10, batches
    if case == "det":
        assert batches["windows"] > 3 and batches["reservations"] >= 1
    if case == "mesh multicast":
        assert batches["destinations"] >= 2  # one flush during the run at least
    sums = trace_checksums(flushed)
    assert sums == trace_checksums(whole)
    optional = {"det": "reservations/link", "mesh multicast": "destinations/dst"}
    assert optional.get(case, "states/state") in sums
    assert attributes(flushed) == attributes(whole)
    trace = open_trace(flushed)
    assert trace.transfers["id"].tolist() == list(range(len(trace.transfers["id"])))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flushed.h5", "whole.h5"]


def test_a_run_failing_after_flushes_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = tmp_path / "run.h5"
    final.write_bytes(b"previous")
    real_append = TraceWriter.append
    calls: list[str] = []

    def failing(self: TraceWriter, table: Table, columns: Any) -> None:
        calls.append(table.name)
        if len(calls) == 5:  # mid-run: batches of FLUSH_ROWS rows went to the file already
            assert self._tmp.exists() and self._rows
            raise OSError(28, "No space left on device")
        real_append(self, table, columns)

    monkeypatch.setattr(recorder_module, "FLUSH_ROWS", SMALL_ROWS)
    monkeypatch.setattr(TraceWriter, "append", failing)
    with pytest.raises(OSError, match="No space left"):
        run_traced("bus stream", final)
    assert final.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]


def test_a_failing_rename_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(source: object, target: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(writer_module.os, "replace", refuse)
    with pytest.raises(PermissionError):
        run_traced("bus stream", tmp_path / "run.h5")
    assert list(tmp_path.iterdir()) == []


def test_a_run_failing_in_the_simulation_after_flushes_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_state = Recorder.state
    calls = [0]

    def failing(self: Recorder, *args: Any) -> None:
        calls[0] += 1
        if calls[0] == 20 * SMALL_ROWS:  # some batches of states are in the file by now
            raise SimulationError("component chip.cluster0 failed")
        real_state(self, *args)

    monkeypatch.setattr(recorder_module, "FLUSH_ROWS", SMALL_ROWS)
    monkeypatch.setattr(Recorder, "state", failing)
    with pytest.raises(SimulationError, match="cluster0 failed"):
        run_traced("bus stream", tmp_path / "run.h5")
    assert calls[0] == 20 * SMALL_ROWS
    assert list(tmp_path.iterdir()) == []


GROWTH_BOUND_MIB = 12.0
"""Peak RSS growth allowed from 10 to 80 traced frames of tiny_cnn 64x64 (34,184 state and
13,100 transfer rows a 10 frames) with FLUSH_ROWS and READ_ROWS of 4,096 rows. Measured on
the development machine: 3.4 MiB (78.9 -> 82.3 MiB) with the trace streamed to the file;
39.7 MiB (83.1 -> 122.8 MiB) when every row stayed in memory until the run ended."""

_SMALL_BATCHES = (
    "from archsim.trace import recorder, writer; recorder.FLUSH_ROWS = writer.READ_ROWS = 4096"
)


def traced_frames(frames: int, folder: Path, arch: str = "edge_bus") -> tuple[float, int]:
    """Peak RSS (MiB) of one traced ``archsim run`` process of a stream far beyond capacity,
    and the rows of /states its trace holds."""
    path = folder / f"{arch}-{frames}.h5"
    run = [*tiny_stream_run(frames, arch), "--out", str(path), "--json"]
    peak_mib, _ = run_measured(archsim_command(*run, prelude=_SMALL_BATCHES))
    with h5py.File(path, "r") as h5:
        rows = len(h5["states/component"])
    return peak_mib, rows


def test_trace_memory_does_not_grow_with_the_frames(tmp_path: Path) -> None:
    few_mib, few_rows = traced_frames(10, tmp_path)
    many_mib, many_rows = traced_frames(80, tmp_path)
    assert many_rows > 7 * few_rows > 7 * 4096  # the file grew, by many batches
    assert many_mib - few_mib < GROWTH_BOUND_MIB, (few_mib, many_mib)


DET_GROWTH_BOUND_MIB = 40.0
"""The same growth bound for edge_det, whose run also lists every packet's link reservations
(about 5,200 rows a frame here) and keeps its time-triggered plan (per-op and per-packet
timing, less than the rows it is traced as) for them. Measured: 24.5 MiB (91.3 -> 115.8
MiB) with the reservations listed in pieces; 65.6 MiB (92.5 -> 158.2 MiB) when they were
listed all at once at the end of the run."""


def test_traced_time_triggered_reservations_are_listed_in_pieces(tmp_path: Path) -> None:
    few_mib, few_rows = traced_frames(10, tmp_path, "edge_det")
    many_mib, many_rows = traced_frames(80, tmp_path, "edge_det")
    assert many_rows > 7 * few_rows
    with h5py.File(tmp_path / "edge_det-80.h5", "r") as h5:
        assert len(h5["reservations/link"]) > 3 * RESERVATION_ROWS  # listed in pieces
    assert many_mib - few_mib < DET_GROWTH_BOUND_MIB, (few_mib, many_mib)
