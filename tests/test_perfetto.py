"""Perfetto / Chrome trace-event export: structure, times, tracks, flows, cap, command."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import invoke_trace_command, tiny_trace

from archsim.analysis.perfetto import PerfettoExport, TraceExportWarning, export_perfetto
from archsim.analysis.report import CAUSES
from archsim.cli.trace import parse_time_ps, parse_window
from archsim.domain import State
from archsim.trace import Recorder, Trace, open_trace, write_trace

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = ("ph", "ts", "pid", "tid", "name")


invoke = invoke_trace_command


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    return tiny_trace(tmp_path_factory.mktemp("perfetto"), "edge_mesh")


def load(path: Path) -> list[dict[str, Any]]:
    """The events, with ts and dur parsed exactly (Decimal) to check the JSON itself."""
    document = json.loads(path.read_text(), parse_float=Decimal)
    assert set(document) == {"traceEvents", "otherData"}
    events: list[dict[str, Any]] = document["traceEvents"]
    return events


def ns(value: Decimal) -> int:
    """A ts or dur in µs as the integer nanoseconds a truncating viewer reads."""
    return int(value * 1000)


def check_structure(events: list[dict[str, Any]]) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """Trace-event rules; returns the X slices per track."""
    last_ts: dict[tuple[int, int], Decimal] = {}
    slices: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        for key in REQUIRED:
            assert key in event, (key, event)
        track = (event["pid"], event["tid"])
        assert event["ts"] >= last_ts.get(track, Decimal(-1)), event  # monotonic per track
        last_ts[track] = event["ts"]
        if event["ph"] == "X":
            assert event["dur"] > 0
            slices[track].append(event)
        if event["ph"] == "C":
            assert all(isinstance(v, Decimal) for v in event["args"].values())
    for track, rows in slices.items():  # slices of one track never overlap
        for before, after in zip(rows, rows[1:], strict=False):
            assert ns(before["ts"]) + ns(before["dur"]) <= ns(after["ts"]), track
    return slices


def test_export_is_valid_trace_event_json(tiny: Trace, tmp_path: Path) -> None:
    result = export_perfetto(tiny, tmp_path / "tiny.json")
    assert isinstance(result, PerfettoExport) and result.bin_ps is None
    events = load(tmp_path / "tiny.json")
    assert len(events) == result.events
    check_structure(events)
    phases = {event["ph"] for event in events}
    assert phases == {"M", "X", "C", "s", "f"}
    assert result.slices == sum(event["ph"] == "X" and event["cat"] == "state" for event in events)


def test_one_track_per_component_named_after_it(tiny: Trace, tmp_path: Path) -> None:
    export_perfetto(tiny, tmp_path / "tiny.json")
    events = load(tmp_path / "tiny.json")
    threads = {
        (e["pid"], e["tid"]): e["args"]["name"] for e in events if e["name"] == "thread_name"
    }
    processes = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    assert set(processes.values()) == {
        "layers",
        "MAC clusters",
        "SRAM banks",
        "DRAM channels",
        "interconnect",
    }
    names = {name.split(" #")[0] for name in threads.values()}
    with_states = set(tiny.components["name"][np.unique(tiny.states["component"])])
    assert with_states <= names
    assert "chip.sram.bank0 #1" in threads.values()  # 2 ports, overlapping accesses
    assert "layer (exclusive time)" in threads.values()


def test_times_are_microseconds_from_picoseconds(tiny: Trace, tmp_path: Path) -> None:
    export_perfetto(tiny, tmp_path / "tiny.json")
    events = load(tmp_path / "tiny.json")
    cluster = tiny.component_id("chip.cluster5")
    rows = tiny.states_where(component=cluster)
    track = next(
        (e["pid"], e["tid"])
        for e in events
        if e["name"] == "thread_name" and e["args"]["name"] == "chip.cluster5"
    )
    mine = [e for e in events if e["ph"] == "X" and (e["pid"], e["tid"]) == track]
    assert [ns(e["ts"]) for e in mine] == ((rows["t_start_ps"] + 500) // 1000).tolist()
    for event, ps in zip(mine, rows["t_start_ps"].tolist(), strict=True):
        assert abs(float(event["ts"]) - ps / 1e6) < 1e-3  # within a nanosecond
    states = {"busy", "idle", *(f"stall: {cause}" for cause in CAUSES)}
    assert {e["name"] for e in mine} <= states
    layers = set(tiny.layers["name"])
    assert all(e["args"]["layer"] in layers for e in mine if e["name"] == "busy")
    busy_ns = sum(ns(e["dur"]) for e in mine if e["name"] == "busy")
    busy = tiny.states_where(component=cluster, state=State.BUSY)
    assert abs(busy_ns * 1000 - (busy["t_end_ps"] - busy["t_start_ps"]).sum()) <= 1000 * len(mine)


def test_flows_pair_up_and_bind_inside_slices(tiny: Trace, tmp_path: Path) -> None:
    result = export_perfetto(tiny, tmp_path / "tiny.json")
    events = load(tmp_path / "tiny.json")
    slices = check_structure(events)
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    ends = {e["id"]: e for e in events if e["ph"] == "f"}
    assert set(starts) == set(ends) and len(starts) == result.flows > 0
    assert result.flows >= 0.95 * len(tiny.transfers["id"])  # sub-ns accesses have no slice
    for ident, start in starts.items():
        end = ends[ident]
        assert (start["name"], start["cat"]) == (end["name"], end["cat"]) and end["bp"] == "e"
        for flow in (start, end):
            track = slices[(flow["pid"], flow["tid"])]
            t = ns(flow["ts"])
            assert any(ns(s["ts"]) <= t < ns(s["ts"]) + ns(s["dur"]) for s in track), flow


def test_large_traces_are_downsampled_with_a_warning(tiny: Trace, tmp_path: Path) -> None:
    cap = 4000
    with pytest.warns(TraceExportWarning) as caught:
        result = export_perfetto(tiny, tmp_path / "small.json", max_events=cap)
    messages = " ".join(str(w.message) for w in caught)
    assert "exceed the cap of 4,000 events" in messages and "no flow arrows" in messages
    events = load(tmp_path / "small.json")
    assert result.bin_ps is not None and result.flows == 0
    assert len(events) == result.events <= cap
    check_structure(events)
    shares = [e["args"]["share of bin %"] for e in events if e.get("cat") == "state"]
    assert shares and all(0 < share <= 100 for share in shares)


def test_window_and_flow_limit(tiny: Trace, tmp_path: Path) -> None:
    window = (1_000_000, 2_000_000)
    with pytest.warns(TraceExportWarning, match="no flow arrows"):
        result = export_perfetto(tiny, tmp_path / "w.json", window=window, max_flows=10)
    events = load(tmp_path / "w.json")
    check_structure(events)
    assert result.flows == 0 and not any(e["ph"] in "sf" for e in events)
    timed = [e for e in events if e["ph"] in "XC"]
    assert min(ns(e["ts"]) for e in timed) >= 1000
    assert max(ns(e["ts"]) + ns(e.get("dur", Decimal(0))) for e in timed) <= 2000


def test_time_and_window_parsing() -> None:
    assert parse_time_ps("250ns") == 250_000 and parse_time_ps("1.5ms") == 1_500_000_000
    assert parse_time_ps("2 us") == parse_time_ps("2µs") == 2_000_000 and parse_time_ps("7ps") == 7
    assert parse_window("1ms:1.5ms") == (10**9, 1_500_000_000)
    for bad in ("1:2", "1ms", "2ms:1ms", "x:1ms"):
        with pytest.raises(ValueError):
            parse_window(bad)


def test_export_command(tiny: Trace, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    result = invoke("export", tiny.path, "--format", "perfetto", "-o", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout and "ui.perfetto.dev" in result.stdout
    check_structure(load(out))
    default = invoke("export", tiny.path)
    assert default.exit_code == 0 and tiny.path.with_suffix(".json").exists()
    capped = invoke("export", tiny.path, "-o", out, "--max-events", "10000", "--max-flows", "5")
    assert capped.exit_code == 0 and "warning: " in capped.stderr
    assert not list(tmp_path.glob("*.tmp"))


def test_export_command_errors(tiny: Trace, tmp_path: Path) -> None:
    missing = invoke("export", tmp_path / "missing.h5")
    assert missing.exit_code == 2 and "cannot read trace file" in missing.stderr
    window = invoke("export", tiny.path, "--window", "2us:1us")
    assert window.exit_code == 2 and "must end after it starts" in window.stderr
    unwritable = invoke("export", tiny.path, "-o", tmp_path / "no" / "such" / "dir.json")
    assert unwritable.exit_code == 2 and "cannot write the export" in unwritable.stderr
    assert "Traceback" not in unwritable.output


def test_an_empty_trace_exports(tmp_path: Path) -> None:
    trace = open_trace(write_trace(tmp_path / "empty.h5", Recorder().data(), {}))
    result = export_perfetto(trace, tmp_path / "empty.json")
    assert result.slices == result.flows == 0
    check_structure(load(tmp_path / "empty.json"))
