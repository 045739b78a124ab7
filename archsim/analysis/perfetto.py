"""Export a trace as Chrome / Perfetto trace-event JSON (open it in ui.perfetto.dev).

Layout: one process per component class (MAC clusters, SRAM banks, DRAM channels,
interconnect) and one thread (track) per component; a component whose intervals overlap
(an SRAM bank with several ports) gets one track per lane. Every state interval is an "X"
slice named by state (busy, stall: dram, ..., idle) with the layer in its args. A "layers"
process shows the exclusive layer attribution of the report and each layer's span.
Counters ("C") give the busy percentage of each class and the DRAM bandwidth over time.
Transfers are flow arrows ("s" -> "f") from the source's slice to the destination's when
there are at most `max_flows` of them.

Times: trace-event "ts" and "dur" are microseconds. Picoseconds are rounded to whole
nanoseconds (so slices that touch still touch) and written as decimal text with an extra
0.25 ns, so that viewers which convert to integer nanoseconds by truncation land exactly on
the nanosecond. Intervals that round to zero length are left out, and so are flow
arrows with no slice to bind to at either end.

Size: a file of more than `max_events` events (default 1,000,000; Perfetto UI and
chrome://tracing become slow or fail beyond a few million) is not written as is: flows are
left out first, then each component track is downsampled to time bins showing the state
that occupied most of each bin (equal neighbours merged). A TraceExportWarning says so.
Use `window` to export a time range in full detail instead.
"""

from __future__ import annotations

import json
import os
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from archsim.analysis.timeline import GAP, attribute_layers, bin_edges
from archsim.analysis.trace_series import CLASS_LABELS, class_utilization, dram_bytes_per_bin
from archsim.analysis.tracks import Tracks, binned_tracks, lanes, state_tracks
from archsim.domain import ComponentKind, State, TransferKind
from archsim.files import atomic_output
from archsim.trace.reader import Trace, Window
from archsim.units import PS_PER_S

DEFAULT_MAX_EVENTS = 1_000_000
"""Cap on the events of one export; larger traces are downsampled (module docstring)."""
DEFAULT_MAX_FLOWS = 50_000
"""Transfers drawn as flow arrows at most; above it no arrows are drawn."""

COUNTER_BINS = 200

_LAYERS_PID = 1
_PROCESSES: tuple[tuple[int, str, tuple[ComponentKind, ...]], ...] = (
    (2, "MAC clusters", (ComponentKind.MAC_CLUSTER,)),
    (3, "SRAM banks", (ComponentKind.SRAM_BANK,)),
    (4, "DRAM channels", (ComponentKind.DRAM_CHANNEL,)),
    (5, "interconnect", (ComponentKind.INTERCONNECT, ComponentKind.LINK)),
    (6, "chip", (ComponentKind.CHIP,)),
)
_STATE_NAMES = {
    State.BUSY: "busy",
    State.STALL_DRAM: "stall: dram",
    State.STALL_INTERCONNECT: "stall: interconnect",
    State.STALL_SRAM: "stall: sram",
    State.STALL_DEPENDENCY: "stall: dependency",
    State.STALL_BACKPRESSURE: "stall: backpressure",
    State.IDLE: "idle",
}
# chrome://tracing colour names (Perfetto picks its own colours)
_STATE_CNAMES = {
    State.BUSY: "good",
    State.STALL_DRAM: "terrible",
    State.STALL_INTERCONNECT: "bad",
    State.STALL_SRAM: "yellow",
    State.STALL_DEPENDENCY: "olive",
    State.STALL_BACKPRESSURE: "black",
    State.IDLE: "grey",
}
# order of event kinds at equal (pid, tid, ts): metadata, slices, then flows bound to them
_META, _SLICE, _COUNTER, _FLOW = range(4)


class TraceExportWarning(UserWarning):
    """An export left something out or downsampled to stay viewable."""


@dataclass(frozen=True)
class PerfettoExport:
    """What `export_perfetto` wrote."""

    path: Path
    events: int
    slices: int
    counters: int
    flows: int
    bin_ps: int | None
    """Width of the downsampling bins, None when every interval is exported."""


@dataclass
class _Events:
    """Event lines with their sort keys (pid, tid, ts in ns, kind)."""

    lines: list[str] = field(default_factory=list)
    keys: list[tuple[int, int, int, int]] = field(default_factory=list)

    def add(self, pid: int, tid: int, ns: int, kind: int, line: str) -> None:
        self.lines.append(line)
        self.keys.append((pid, tid, ns, kind))

    def sorted_lines(self) -> Iterator[str]:
        """Lines ordered by track then time: timestamps are monotonic per track."""
        for index in sorted(range(len(self.keys)), key=self.keys.__getitem__):
            yield self.lines[index]


def _ns(ps: np.ndarray | int) -> np.ndarray:
    """Picoseconds to the nearest whole nanosecond (int64)."""
    return (np.asarray(ps, np.int64) + 500) // 1000


def _us(ns: int) -> str:
    """Whole nanoseconds as microsecond text, plus 0.25 ns (see the module docstring)."""
    return f"{ns // 1000}.{ns % 1000:03d}25"


def _meta(events: _Events, pid: int, tid: int, name: str, key: str, value: str | int) -> None:
    arg = json.dumps(value)
    events.add(
        pid,
        tid,
        -1,
        _META,
        f'{{"ph":"M","pid":{pid},"tid":{tid},"ts":0,"name":"{name}","args":{{"{key}":{arg}}}}}',
    )


@dataclass(frozen=True)
class _Placed:
    """Tracks in nanoseconds with the trace-event process (pid) and thread (tid) of each
    slice; tid 0 of every process is left to its counters."""

    tracks: Tracks
    pid: np.ndarray
    tid: np.ndarray

    @classmethod
    def of(cls, trace: Trace, tracks: Tracks) -> _Placed:
        """`tracks` (in ps) rounded to ns and placed: one process per component class."""
        rounded = tracks.rounded(1000)
        kinds = trace.components["kind"][rounded.component]
        pid = np.zeros(len(kinds), np.int64)
        for process, _, members in _PROCESSES:
            pid[np.isin(kinds, [kind.value for kind in members])] = process
        return cls(rounded, pid, 1 + rounded.component * tracks.lanes + rounded.lane)


def _downsampled(trace: Trace, window: Window, tracks: int, budget: int) -> Tracks:
    """Binned tracks as fine as `budget` slices allow: bins are refined (at most twice)
    while merging equal neighbours leaves room."""
    bins = budget // tracks
    if bins < 1:
        raise ValueError(f"the event cap leaves no room for {tracks} tracks")
    binned = binned_tracks(trace, window, bins)
    for _ in range(2):
        factor = min(8, budget // max(2 * len(binned), 1))
        if factor < 2:
            break
        finer = binned_tracks(trace, window, bins * factor)
        if len(finer) > budget:
            break
        binned, bins = finer, bins * factor
    return binned


def _slice_events(events: _Events, trace: Trace, placed: _Placed) -> None:
    layer_names = dict(
        zip(trace.layers["index"].tolist(), trace.layers["name"].tolist(), strict=True)
    )
    names = {state: json.dumps(_STATE_NAMES[State(state)]) for state in State}
    cnames = {state: _STATE_CNAMES[State(state)] for state in State}
    slices = placed.tracks
    shares = slices.share.tolist() if slices.share is not None else None
    columns = zip(
        placed.pid.tolist(),
        placed.tid.tolist(),
        slices.start.tolist(),
        slices.end.tolist(),
        slices.state.tolist(),
        slices.layer.tolist(),
        strict=True,
    )
    for row, (pid, tid, start, end, state, layer) in enumerate(columns):
        if shares is not None:
            args = f'{{"share of bin %":{100 * shares[row]:.1f}}}'
        elif layer >= 0:
            args = f'{{"layer":{json.dumps(layer_names.get(layer, str(layer)))}}}'
        else:
            args = "{}"
        events.add(
            pid,
            tid,
            start,
            _SLICE,
            f'{{"ph":"X","pid":{pid},"tid":{tid},"ts":{_us(start)},"dur":{_us(end - start)},'
            f'"name":{names[state]},"cat":"state","cname":"{cnames[state]}","args":{args}}}',
        )


def _track_metadata(events: _Events, trace: Trace, placed: _Placed) -> None:
    for pid, label, _ in _PROCESSES:
        if np.any(placed.pid == pid):
            _meta(events, pid, 0, "process_name", "name", label)
            _meta(events, pid, 0, "process_sort_index", "sort_index", pid)
    names = trace.components["name"]
    slices = placed.tracks
    columns = (placed.pid, placed.tid, slices.component, slices.lane)
    tracks = sorted(set(zip(*(column.tolist() for column in columns), strict=True)))
    lanes = Counter(component for _, _, component, _ in tracks)
    for pid, tid, component, lane in tracks:
        name = str(names[component]) + (f" #{lane}" if lanes[component] > 1 else "")
        _meta(events, pid, tid, "thread_name", "name", name)
        _meta(events, pid, tid, "thread_sort_index", "sort_index", tid)


def _layer_events(events: _Events, trace: Trace, window: Window) -> None:
    table = trace.layers
    attribution = attribute_layers(table["t_start_ps"], table["t_end_ps"], trace.latency_ps)
    _meta(events, _LAYERS_PID, 0, "process_name", "name", "layers")
    _meta(events, _LAYERS_PID, 0, "process_sort_index", "sort_index", _LAYERS_PID)
    _meta(events, _LAYERS_PID, 1, "thread_name", "name", "layer (exclusive time)")
    owned = attribution.owner != GAP
    _named_slices(
        events,
        1,
        attribution.start_ps[owned],
        attribution.end_ps[owned],
        table["name"][attribution.owner[owned]],
        window,
    )
    start, end = table["t_start_ps"], table["t_end_ps"]
    order = np.lexsort((end, start))
    lane_of = lanes(start[order], end[order])
    for lane in np.unique(lane_of).tolist():
        _meta(events, _LAYERS_PID, 2 + lane, "thread_name", "name", f"layer spans #{lane}")
        pick = order[lane_of == lane]
        _named_slices(events, 2 + lane, start[pick], end[pick], table["name"][pick], window)


def _named_slices(
    events: _Events,
    tid: int,
    start_ps: np.ndarray,
    end_ps: np.ndarray,
    names: np.ndarray,
    window: Window,
) -> None:
    start = _ns(np.clip(start_ps, *window))
    end = _ns(np.clip(end_ps, *window))
    for s, e, name in zip(start.tolist(), end.tolist(), names.tolist(), strict=True):
        if e > s:
            events.add(
                _LAYERS_PID,
                tid,
                s,
                _SLICE,
                f'{{"ph":"X","pid":{_LAYERS_PID},"tid":{tid},"ts":{_us(s)},"dur":{_us(e - s)},'
                f'"name":{json.dumps(name)},"cat":"layer","args":{{}}}}',
            )


def _counter(events: _Events, pid: int, name: str, ns: int, values: dict[str, float]) -> None:
    args = ",".join(f"{json.dumps(key)}:{value:.3f}" for key, value in values.items())
    events.add(
        pid,
        0,
        ns,
        _COUNTER,
        f'{{"ph":"C","pid":{pid},"tid":0,"ts":{_us(ns)},"name":{json.dumps(name)},'
        f'"args":{{{args}}}}}',
    )


def _counter_events(events: _Events, trace: Trace, window: Window) -> int:
    """Busy % per class (from /utilization) and DRAM GB/s; returns the number of events."""
    before = len(events.lines)
    edges, classes = class_utilization(trace)
    process = {kind: pid for pid, _, kinds in _PROCESSES for kind in kinds}
    inside = (edges[1:] > window[0]) & (edges[:-1] < window[1])
    for series in classes:
        name = f"{CLASS_LABELS[series.kind]} busy"
        pid = process[series.kind]
        for i in np.flatnonzero(inside).tolist():
            ns = int(_ns(max(int(edges[i]), window[0])))
            _counter(events, pid, name, ns, {"percent": 100 * float(series.mean[i])})
        if inside.any():
            _counter(events, pid, name, int(_ns(window[1])), {"percent": 0.0})
    if len(trace.component_ids(ComponentKind.DRAM_CHANNEL.value)):
        dram_edges = window[0] + bin_edges(window[1] - window[0], COUNTER_BINS)
        read, written = dram_bytes_per_bin(trace, dram_edges)
        seconds = np.diff(dram_edges) / PS_PER_S
        pid = process[ComponentKind.DRAM_CHANNEL]
        for i, ps in enumerate(dram_edges[:-1].tolist()):
            values = {
                "read GB/s": read[i] / seconds[i] / 1e9,
                "write GB/s": written[i] / seconds[i] / 1e9,
            }
            _counter(events, pid, "DRAM bandwidth", int(_ns(ps)), values)
        if len(dram_edges) > 1:
            _counter(
                events,
                pid,
                "DRAM bandwidth",
                int(_ns(window[1])),
                {"read GB/s": 0.0, "write GB/s": 0.0},
            )
    return len(events.lines) - before


def _anchor(
    placed: _Placed, component: np.ndarray, lo: np.ndarray, hi: np.ndarray, first: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each (component, [lo, hi]) in ns: a track and a time inside one of the
    component's slices overlapping [lo, hi] (the first such slice if `first`, else the
    last). Returns (found, tid, ns)."""
    found = np.zeros(len(component), bool)
    tid = np.zeros(len(component), np.int64)
    at = np.zeros(len(component), np.int64)
    slices = placed.tracks
    for track in np.unique(placed.tid).tolist():
        rows = placed.tid == track
        mine = np.flatnonzero(component == slices.component[rows][0])
        if len(mine) == 0:
            continue
        starts, ends = slices.start[rows], slices.end[rows]
        if first:
            i = np.searchsorted(ends, lo[mine], side="right")
            ok = i < len(starts)
            i = np.minimum(i, len(starts) - 1)
            ok &= starts[i] <= hi[mine]
            ns = np.maximum(starts[i], lo[mine])
            better = ok & (~found[mine] | (ns < at[mine]))
        else:
            i = np.searchsorted(starts, hi[mine], side="right") - 1
            ok = i >= 0
            i = np.maximum(i, 0)
            ok &= ends[i] > lo[mine]
            ns = np.maximum(starts[i], np.minimum(ends[i], hi[mine]) - 1)
            better = ok & (~found[mine] | (ns > at[mine]))
        pick = mine[better]
        found[pick], tid[pick], at[pick] = True, track, ns[better]
    return found, tid, at


def _flow_events(events: _Events, trace: Trace, placed: _Placed, window: Window) -> int:
    """One arrow per transfer in the window; returns the number of arrows."""
    rows = trace.transfers_where(window=window)
    lo, hi = _ns(rows["t_request_ps"]), _ns(rows["t_done_ps"])
    src_found, src_tid, src_ns = _anchor(placed, rows["src"].astype(np.int64), lo, hi, True)
    dst_found, dst_tid, dst_ns = _anchor(placed, rows["dst"].astype(np.int64), lo, hi, False)
    pid_of = dict(zip(placed.tid.tolist(), placed.pid.tolist(), strict=True))
    kinds = {kind.value: json.dumps(kind.name.lower()) for kind in TransferKind}
    arrows = 0
    for i in np.flatnonzero(src_found & dst_found).tolist():
        ident, name = int(rows["id"][i]), kinds[int(rows["kind"][i])]
        for phase, tid, ns, extra in (
            ("s", int(src_tid[i]), int(src_ns[i]), ""),
            ("f", int(dst_tid[i]), int(dst_ns[i]), ',"bp":"e"'),
        ):
            pid = pid_of[tid]
            events.add(
                pid,
                tid,
                ns,
                _FLOW,
                f'{{"ph":"{phase}","pid":{pid},"tid":{tid},"ts":{_us(ns)},"id":{ident},'
                f'"name":{name},"cat":"transfer"{extra}}}',
            )
        arrows += 1
    return arrows


def export_perfetto(
    trace: Trace,
    path: str | os.PathLike[str],
    *,
    max_events: int = DEFAULT_MAX_EVENTS,
    max_flows: int = DEFAULT_MAX_FLOWS,
    window: Window | None = None,
) -> PerfettoExport:
    """Write `trace` (or its `window`, in ps) as trace-event JSON to `path`, atomically.

    Emits TraceExportWarning when flows are left out or slices downsampled to stay under
    `max_events` (see the module docstring).
    """
    span = window if window is not None else (0, max(trace.run_end_ps, trace.latency_ps))
    if max_events < 1:
        raise ValueError(f"max_events must be >= 1, got {max_events}")
    events = _Events()
    _layer_events(events, trace, span)
    counters = _counter_events(events, trace, span)
    tracks = state_tracks(trace, span)
    placed = _Placed.of(trace, tracks)
    n_tracks = len(np.unique(placed.tid))
    budget = max_events - len(events.lines) - 4 * n_tracks - 10
    if len(placed.tid) > budget:
        tracks = _downsampled(trace, span, n_tracks, budget)
        placed = _Placed.of(trace, tracks)
        warnings.warn(
            f"{trace.path}: {len(trace.states_where(window=span)['state']):,} state intervals "
            f"exceed the cap of {max_events:,} events; each track shows the state holding most "
            f"of each {(tracks.bin_ps or 0) / 1e6:g} µs bin (export a --window for full detail)",
            TraceExportWarning,
            stacklevel=2,
        )
    _track_metadata(events, trace, placed)
    _slice_events(events, trace, placed)
    flows = 0
    transfers = len(trace.transfers_where(window=span)["id"])
    limit = min(max_flows, (max_events - len(events.lines)) // 2)
    if tracks.bin_ps is None and transfers <= limit:
        flows = _flow_events(events, trace, placed, span)
    elif transfers:
        reason = (
            "the export is downsampled" if tracks.bin_ps else f"more than the {limit:,} that fit"
        )
        warnings.warn(
            f"{trace.path}: no flow arrows for the {transfers:,} transfers ({reason})",
            TraceExportWarning,
            stacklevel=2,
        )
    other = {
        "source": str(trace.path),
        "archsim_version": trace.attrs.get("archsim_version"),
        "time_unit": "microseconds, from picoseconds rounded to whole nanoseconds",
        "window_ps": list(span),
        "downsampled_bin_ps": tracks.bin_ps,
    }
    with atomic_output(path) as handle:
        handle.write(b'{"traceEvents":[\n')
        for index, line in enumerate(events.sorted_lines()):
            handle.write((",\n" if index else "").encode() + line.encode("utf-8"))
        handle.write(b'\n],"otherData":' + json.dumps(other).encode("utf-8") + b"}\n")
    return PerfettoExport(
        path=Path(path),
        events=len(events.lines),
        slices=len(placed.tid),
        counters=counters,
        flows=flows,
        bin_ps=tracks.bin_ps,
    )
