"""Trace package: column buffers, recorder, HDF5 writer and reader, utilization binning."""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from archsim.domain import ComponentKind, ReservationStatus, State
from archsim.errors import SimulationError, UserError
from archsim.trace import (
    SCHEMA_VERSION,
    NullRecorder,
    Recorder,
    TraceData,
    TraceFormatError,
    TransferKind,
    open_trace,
    write_trace,
)
from archsim.trace import writer as writer_module
from archsim.trace.columns import ColumnTable
from archsim.trace.schema import TABLES
from archsim.trace.utilization import busy_fractions

ATTRS = {"seed": 7, "config_yaml": "arch:\n  name: toy\n", "summary_json": '{"latency_ps": 900}'}
DOC = Path(__file__).resolve().parents[1] / "docs" / "TRACE_SCHEMA.md"


def small_recorder() -> Recorder:
    """A recorder holding a few rows of every table."""
    recorder = Recorder()
    chip = recorder.add_component("chip", ComponentKind.CHIP)
    cluster = recorder.add_component("chip.cluster0", ComponentKind.MAC_CLUSTER)
    bank = recorder.add_component("chip.sram.bank0", ComponentKind.SRAM_BANK, capacity=2)
    dram = recorder.add_component("chip.dram.ch0", ComponentKind.DRAM_CHANNEL)
    bus = recorder.add_component("chip.bus", ComponentKind.INTERCONNECT)
    assert (chip, cluster, bank, dram, bus) == (0, 1, 2, 3, 4)
    recorder.state(cluster, State.STALL_DRAM, 0, 300, layer=0)
    recorder.state(cluster, State.BUSY, 300, 700, layer=0)
    recorder.state(cluster, State.BUSY, 700, 700, layer=0)  # zero length: dropped
    recorder.state(cluster, State.IDLE, 700, 900)
    recorder.state(bank, State.BUSY, 100, 200)
    recorder.state(bank, State.BUSY, 150, 250)
    recorder.transfer(0, TransferKind.WEIGHT_FETCH, dram, bank, 4096, 1, 0, 50, 300,
                      10, 200, 0, 20, 20, 50)  # fmt: skip
    recorder.transfer(0, TransferKind.OPERAND_LOAD, bank, cluster, 512, 1, 300, 300, 350,
                      0, 0, 0, 30, 0, 20)  # fmt: skip
    recorder.layer(0, "conv1", "conv", 0, 900, 123_456, 4, 4096, 0, 1024, 4608, 0.4375,
                   300, 0, 0, 0, 0)  # fmt: skip
    recorder.link(bus, 4608, 70)
    return recorder


def assert_tables_equal(expected: TraceData, actual: dict[str, dict[str, np.ndarray]]) -> None:
    for name, columns in expected.tables().items():
        assert list(actual[name]) == list(columns), name
        for column, values in columns.items():
            read = actual[name][column]
            assert read.dtype.kind == values.dtype.kind, (name, column)
            np.testing.assert_array_equal(read, values, err_msg=f"{name}.{column}")


# --- ColumnTable ---------------------------------------------------------------------------


def test_column_table_grows_past_initial_capacity_keeping_every_row() -> None:
    table = ColumnTable({"a": np.uint32, "b": np.int64, "c": np.float64}, initial_rows=4)
    for i in range(1000):
        table.append(i, -i * 1_000_000_000_000, i / 2)
    assert len(table) == 1000 and table.capacity == 1024
    arrays = table.arrays()
    np.testing.assert_array_equal(arrays["a"], np.arange(1000, dtype=np.uint32))
    np.testing.assert_array_equal(arrays["b"], -np.arange(1000) * 1_000_000_000_000)
    np.testing.assert_array_equal(arrays["c"], np.arange(1000) / 2)
    assert arrays["a"].dtype == np.uint32


def test_column_table_rejected_row_is_not_committed() -> None:
    table = ColumnTable({"a": np.int64, "b": np.uint8}, initial_rows=2)
    table.append(1, 2)
    with pytest.raises(ValueError):
        table.append(3, 256)  # out of range for uint8
    with pytest.raises(TypeError):
        table.append(1.5, 2)  # a float in an integer column
    with pytest.raises(TypeError, match="expected 2 values"):
        table.append(1)
    assert len(table) == 1
    np.testing.assert_array_equal(table.arrays()["a"], [1])


def test_column_table_arrays_keep_their_rows_and_are_read_only() -> None:
    table = ColumnTable({"a": np.int64}, initial_rows=1)
    table.append(1)
    first = table.arrays()["a"]
    table.append(2)  # grows the table: the view keeps the rows it had
    table.append(3)
    np.testing.assert_array_equal(first, [1])
    np.testing.assert_array_equal(table.arrays()["a"], [1, 2, 3])
    with pytest.raises(ValueError, match="read-only"):
        first[0] = 5


# --- Recorder ------------------------------------------------------------------------------


def test_recorder_drops_zero_length_and_rejects_reversed_intervals() -> None:
    recorder = small_recorder()
    states = recorder.data().states
    assert len(states["component"]) == 5
    with pytest.raises(ValueError, match="ends before it starts"):
        recorder.state(1, State.BUSY, 10, 5)


def test_recorder_grows_hot_tables() -> None:
    recorder = Recorder()
    cluster = recorder.add_component("chip.cluster0", ComponentKind.MAC_CLUSTER)
    n = 70_000  # past the initial 65,536 rows
    for i in range(n):
        recorder.state(cluster, State.BUSY, 2 * i, 2 * i + 1)
        recorder.transfer(-1, TransferKind.SPILL, 0, 0, 64, 0, i, i, i + 1, 0, 0, 0, 0, 0, 0)
    data = recorder.data()
    np.testing.assert_array_equal(data.states["t_start_ps"], 2 * np.arange(n))
    np.testing.assert_array_equal(data.transfers["id"], np.arange(n))


def test_recorder_rejects_bad_components() -> None:
    recorder = Recorder()
    recorder.add_component("chip", "chip")
    with pytest.raises(ValueError, match="already registered"):
        recorder.add_component("chip", "chip")
    with pytest.raises(ValueError, match="unknown kind"):
        recorder.add_component("chip.x", "gpu")
    with pytest.raises(ValueError, match="capacity"):
        recorder.add_component("chip.y", "sram_bank", capacity=0)


def test_null_recorder_keeps_nothing(tmp_path: Path) -> None:
    recorder = NullRecorder()
    assert recorder.enabled is False and Recorder.enabled is True
    assert [recorder.add_component(f"chip.cluster{i}", "mac_cluster") for i in range(3)] == [
        0,
        1,
        2,
    ]
    recorder.state(0, State.BUSY, 0, 10)
    recorder.transfer(0, TransferKind.SPILL, 0, 1, 64, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0)
    recorder.layer(0, "l", "conv", 0, 1, 1, 1, 0, 0, 0, 0, 0.0, 0, 0, 0, 0, 0)
    recorder.link(0, 1, 1)
    assert not hasattr(recorder, "_states")  # no buffers allocated
    data = recorder.data()
    assert all(len(values) == 0 for table in data.tables().values() for values in table.values())
    trace = open_trace(write_trace(tmp_path / "empty.h5", data, ATTRS))
    assert all(len(values) == 0 for values in trace.states.values())
    assert trace.utilization["busy_fraction"].shape == (0, 0)


# --- writer and reader ---------------------------------------------------------------------


def test_round_trip_returns_identical_tables_and_attrs(tmp_path: Path) -> None:
    data = small_recorder().data()
    path = write_trace(tmp_path / "sub" / "run.h5", data, ATTRS)
    assert path == tmp_path / "sub" / "run.h5" and path.exists()
    with open_trace(path) as trace:
        assert_tables_equal(data, trace.__dict__)
        for key, value in ATTRS.items():
            assert trace.attrs[key] == value
        assert trace.attrs["schema_version"] == SCHEMA_VERSION
        assert isinstance(trace.attrs["archsim_version"], str)
        assert trace.summary == json.loads(ATTRS["summary_json"])
        assert trace.component_names[2] == "chip.sram.bank0"
        assert trace.component_id("chip.bus") == 4
        with pytest.raises(KeyError, match="chip.nope"):
            trace.component_id("chip.nope")
        sram = trace.states_of("sram_bank")
        np.testing.assert_array_equal(sram["t_start_ps"], [100, 150])
        assert set(trace.states_of(ComponentKind.MAC_CLUSTER)["component"]) == {1}
        # 900 ps in at most 200 bins of whole picoseconds: 180 bins of 5 ps
        assert trace.utilization["busy_fraction"].shape == (5, 180)
        assert trace.utilization["bin_ps"] == 5 and trace.utilization["t_end_ps"] == 900


def test_enums_are_stored_as_hdf5_enum_types(tmp_path: Path) -> None:
    path = write_trace(tmp_path / "run.h5", small_recorder().data(), ATTRS)
    with h5py.File(path, "r") as h5:
        states = h5py.check_enum_dtype(h5["states/state"].dtype)
        kinds = h5py.check_enum_dtype(h5["transfers/kind"].dtype)
        assert states == {member.name: member.value for member in State}
        assert kinds == {member.name: member.value for member in TransferKind}
        assert h5["states/t_start_ps"].compression == "lzf"
        assert h5["states/t_start_ps"].maxshape == (None,)
        assert h5py.check_string_dtype(h5["components/name"].dtype) is not None


def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> None:
        raise RuntimeError("disk full")

    final = tmp_path / "run.h5"
    final.write_bytes(b"previous")
    monkeypatch.setattr(writer_module, "_write_utilization", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        write_trace(final, small_recorder().data(), ATTRS)
    assert final.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]
    final.unlink()
    with pytest.raises(RuntimeError, match="disk full"):
        write_trace(final, small_recorder().data(), ATTRS)
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_invalid_data_and_attrs(tmp_path: Path) -> None:
    data = small_recorder().data()
    bad_ids = {**data.states, "component": data.states["component"] + 10}
    with pytest.raises(ValueError, match="states.component"):
        write_trace(tmp_path / "a.h5", TraceData(**{**data.tables(), "states": bad_ids}), ATTRS)
    bad_state = {**data.states, "state": np.full(5, 9, np.uint8)}
    with pytest.raises(ValueError, match="not State"):
        write_trace(tmp_path / "b.h5", TraceData(**{**data.tables(), "states": bad_state}), ATTRS)
    with pytest.raises(ValueError, match="schema_version"):
        write_trace(tmp_path / "c.h5", data, {"schema_version": 3})
    with pytest.raises(ValueError, match="seed"):
        write_trace(tmp_path / "d.h5", data, {"seed": None})
    assert list(tmp_path.iterdir()) == []


# --- utilization ---------------------------------------------------------------------------


def busy_fraction_of(
    intervals: list[tuple[int, int, int]], capacity: list[int], run_end_ps: int, bins: int
) -> tuple[np.ndarray, np.ndarray, int]:
    component, start, end = (np.array(column, np.int64) for column in zip(*intervals, strict=True))
    names = np.array([f"c{i}" for i in range(len(capacity))])
    fraction, bin_start, bin_ps, _ = busy_fractions(
        component, start, end, np.array(capacity, np.uint16), names, run_end_ps, bins
    )
    return fraction, bin_start, bin_ps


def test_utilization_splits_intervals_exactly_at_bin_edges() -> None:
    fraction, bin_start, bin_ps = busy_fraction_of([(0, 10, 60), (1, 0, 25)], [1, 1], 100, 4)
    assert bin_ps == 25
    np.testing.assert_array_equal(bin_start, [0, 25, 50, 75])
    np.testing.assert_array_equal(fraction, np.array([[0.6, 1, 0.4, 0], [1, 0, 0, 0]], np.float32))


def test_utilization_divides_by_capacity_and_never_exceeds_one() -> None:
    intervals = [(0, 0, 50), (0, 0, 50), (0, 50, 75)]
    fraction, _, _ = busy_fraction_of(intervals, [2], 100, 4)
    np.testing.assert_array_equal(fraction, [[1, 1, 0.5, 0]])
    with pytest.raises(SimulationError, match="c0"):
        busy_fraction_of([*intervals, (0, 10, 20)], [2], 100, 4)


def test_utilization_last_bin_may_be_shorter_and_short_runs_get_fewer_bins() -> None:
    fraction, bin_start, bin_ps = busy_fraction_of([(0, 69, 90)], [1], 90, 4)
    assert bin_ps == 23
    np.testing.assert_array_equal(bin_start, [0, 23, 46, 69])
    np.testing.assert_array_equal(fraction, [[0, 0, 0, 1]])
    fraction, _, bin_ps = busy_fraction_of([(0, 1, 2)], [1], 3, 200)
    assert bin_ps == 1
    np.testing.assert_array_equal(fraction, [[0, 1, 0]])


def test_utilization_matches_a_picosecond_by_picosecond_count() -> None:
    rng = np.random.default_rng(3)
    run_end, capacity = 997, [1, 3, 2]
    intervals = []
    for component, servers in enumerate(capacity):
        for _ in range(servers):  # each server: disjoint intervals from sorted distinct cuts
            cuts = np.sort(rng.choice(np.arange(1, run_end), 20, replace=False))
            intervals += [(component, int(a), int(b)) for a, b in cuts.reshape(-1, 2)]
    fraction, bin_start, bin_ps = busy_fraction_of(intervals, capacity, run_end, 7)
    occupancy = np.zeros((len(capacity), run_end))
    for component, start, end in intervals:
        occupancy[component, start:end] += 1
    for b, start in enumerate(bin_start):
        stop = min(start + bin_ps, run_end)
        expected = occupancy[:, start:stop].sum(axis=1) / ((stop - start) * np.array(capacity))
        np.testing.assert_allclose(fraction[:, b], expected, rtol=1e-6)


# --- reader errors -------------------------------------------------------------------------


def assert_format_error(path: Path, reason: str) -> None:
    with pytest.raises(TraceFormatError) as info:
        open_trace(path)
    message = str(info.value)
    assert isinstance(info.value, UserError)
    assert message.startswith(str(path)) and "\n" not in message
    assert re.search(reason, message), message


def test_open_trace_errors_are_one_line_format_errors(tmp_path: Path) -> None:
    assert_format_error(tmp_path / "missing.h5", "cannot read trace file")
    assert_format_error(tmp_path, "cannot read trace file")
    text = tmp_path / "notes.h5"
    text.write_text("hello\n")
    assert_format_error(text, "not an HDF5 file")
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as h5:
        h5["x"] = np.arange(3)
    assert_format_error(foreign, "not an archsim trace")


def test_open_trace_rejects_truncated_newer_and_incomplete_traces(tmp_path: Path) -> None:
    real = write_trace(tmp_path / "real.h5", small_recorder().data(), ATTRS)
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(real.read_bytes()[: real.stat().st_size // 2])
    assert_format_error(truncated, "corrupt or truncated")

    newer = write_trace(tmp_path / "newer.h5", small_recorder().data(), ATTRS)
    with h5py.File(newer, "r+") as h5:
        h5.attrs["schema_version"] = SCHEMA_VERSION + 1
    assert_format_error(newer, "newer than this archsim reads")

    incomplete = write_trace(tmp_path / "incomplete.h5", small_recorder().data(), ATTRS)
    with h5py.File(incomplete, "r+") as h5:
        del h5["states/t_end_ps"]
    assert_format_error(incomplete, "missing dataset /states/t_end_ps")


# --- documentation -------------------------------------------------------------------------


def test_schema_document_lists_every_column_with_its_dtype() -> None:
    doc = DOC.read_text()
    assert f"# archsim trace schema (version {SCHEMA_VERSION})" in doc
    for table in TABLES:
        section = doc.split(f"### /{table.name}\n", 1)[1].split("\n### ", 1)[0]
        documented = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, flags=re.MULTILINE)
        assert documented == [(column.name, column.label) for column in table.columns]
    for enum in (State, TransferKind, ReservationStatus):
        for member in enum:
            assert f"| {member.value} | {member.name} |" in doc
