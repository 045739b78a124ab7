"""The simulator's only interface to tracing: a Recorder appending rows, or a NullRecorder.

State rows name their layer and frame with one integer, a *layer tag* (``layer_tag``):
``frame * LAYER_TAG_STRIDE + layer``, which is the layer itself in frame 0 and -1 for "no
layer, no frame". Components pass it where they pass a layer, so the hot path writes one
column; ``Recorder.data`` splits it into the ``layer`` and ``frame`` columns.

A Recorder given a sink (``TraceWriter.append``) streams its long tables to the trace file
while the run goes on: a table's buffer reaching FLUSH_ROWS rows goes to the sink and is
reused, so the rows in memory stay bounded whatever the run's length.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from archsim.domain import ComponentKind
from archsim.trace.columns import ColumnTable
from archsim.trace.schema import (
    COMPONENTS,
    DESTINATIONS,
    FRAMES,
    LAYERS,
    LINKS,
    QUEUE,
    RESERVATIONS,
    STATES,
    TABLES,
    TRANSFERS,
    WINDOWS,
    Table,
)

_HOT_ROWS = 65536  # initial capacity of the states and transfers buffers
_COLD_ROWS = 256  # initial capacity of the other buffers
FLUSH_ROWS = 1 << 17
"""Rows a streamed table holds before they go to the sink (at least CHUNK_ROWS, so the file's
chunks are those of a trace written at once)."""
_MAX_CAPACITY = int(np.iinfo(np.uint16).max)
_KINDS = frozenset(kind.value for kind in ComponentKind)
_STATE_BUFFER = {**{c.name: c.dtype for c in STATES.columns[:4]}, "tag": np.dtype(np.int64)}
_TRANSFER_BUFFER = {name: dtype for name, dtype in TRANSFERS.dtypes.items() if name != "id"}

Sink = Callable[[Table, Mapping[str, np.ndarray]], None]
"""Takes a batch of rows of a table (column name -> array), e.g. ``TraceWriter.append``."""

LAYER_TAG_STRIDE = 1 << 20
"""Layer indexes per frame in a layer tag (workloads have far fewer layers)."""


def layer_tag(layer: int, frame: int) -> int:
    """The tag recording ``layer`` of ``frame`` in a state row (-1: neither)."""
    return layer + frame * LAYER_TAG_STRIDE if layer >= 0 else -1


def split_layer_tags(tags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(layer, frame) int32 columns of an array of layer tags; -1 stays -1 in both."""
    untagged = tags < 0
    layer = np.where(untagged, -1, tags % LAYER_TAG_STRIDE).astype(np.int32)
    frame = np.where(untagged, -1, tags // LAYER_TAG_STRIDE).astype(np.int32)
    return layer, frame


@dataclass(frozen=True)
class TraceData:
    """Recorded tables as numpy arrays (column name -> 1-D array): the writer's input."""

    components: dict[str, np.ndarray]
    states: dict[str, np.ndarray]
    transfers: dict[str, np.ndarray]
    layers: dict[str, np.ndarray]
    links: dict[str, np.ndarray]
    frames: dict[str, np.ndarray]
    queue: dict[str, np.ndarray]
    reservations: dict[str, np.ndarray]
    windows: dict[str, np.ndarray]
    destinations: dict[str, np.ndarray]

    def tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Table name -> columns, in schema order."""
        return {table.name: getattr(self, table.name) for table in TABLES}

    @classmethod
    def empty(cls) -> TraceData:
        """Every table with zero rows."""
        return cls(**{table.name: _empty_columns(table) for table in TABLES})


def _empty_columns(table: Table) -> dict[str, np.ndarray]:
    return {column.name: np.empty(0, column.dtype) for column in table.columns}


def _numeric(table: Table) -> dict[str, np.dtype]:
    return {column.name: column.dtype for column in table.columns if not column.is_string}


class Recorder:
    """Appends trace rows into preallocated numpy buffers.

    Times are integer picoseconds; components are the ids returned by `add_component`.
    `state` and `transfer` are on the simulator's hot path: they do no validation beyond
    what the buffers' dtypes enforce; the writer checks ids and enum values once, vectorised.
    A call that raises records nothing.

    With a `sink`, the tables that grow with the run (states, transfers, frames, queue,
    windows, destinations, reservations) go to it in batches of FLUSH_ROWS rows (the
    reservations as recorded) and `data` holds the rows not handed over yet; components,
    layers and links (one row per component, layer or link) stay in memory until `data`.
    """

    enabled: bool = True
    """False for NullRecorder: callers may skip computing record arguments."""

    def __init__(self, sink: Sink | None = None) -> None:
        self._sink = sink
        self._names: list[str] = []
        self._kinds: list[str] = []
        self._capacities: list[int] = []
        self._ids: dict[str, int] = {}
        self._states = self._streamed(STATES, _STATE_BUFFER, _HOT_ROWS, _state_columns)
        self._transfers = self._streamed(TRANSFERS, _TRANSFER_BUFFER, _HOT_ROWS, self._ids_of)
        self._layers = ColumnTable(_numeric(LAYERS), _COLD_ROWS)
        self._layer_names: list[str] = []
        self._layer_ops: list[str] = []
        self._links = ColumnTable(LINKS.dtypes, _COLD_ROWS)
        self._frames = self._streamed(FRAMES, FRAMES.dtypes, _COLD_ROWS)
        self._queue = self._streamed(QUEUE, QUEUE.dtypes, _COLD_ROWS)
        self._windows = self._streamed(WINDOWS, WINDOWS.dtypes, _COLD_ROWS)
        self._reservations: list[tuple[np.ndarray, ...]] = []
        self._destinations = self._streamed(DESTINATIONS, DESTINATIONS.dtypes, _COLD_ROWS)

    def _streamed(
        self,
        table: Table,
        buffer: Mapping[str, np.dtype],
        initial_rows: int,
        columns: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] = dict,
    ) -> ColumnTable:
        """The buffer of `table`. With a sink it holds at most FLUSH_ROWS rows, then hands
        them to the sink, made into the table's columns by `columns`."""
        sink = self._sink
        if sink is None:
            return ColumnTable(buffer, initial_rows)
        return ColumnTable(
            buffer,
            min(initial_rows, FLUSH_ROWS),
            lambda arrays: sink(table, columns(arrays)),
            FLUSH_ROWS,
        )

    def _ids_of(self, transfers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Transfer columns of a buffer's arrays with the id column: their row numbers in the
        whole table (the buffer's first row is row ``flushed``)."""
        first = self._transfers.flushed
        ids = np.arange(first, first + len(transfers["layer"]), dtype=TRANSFERS.dtypes["id"])
        return {"id": ids, **transfers}

    def add_component(self, name: str, kind: str, capacity: int = 1) -> int:
        """Register a component (kind: a ComponentKind value) and return its id."""
        if not name:
            raise ValueError("component name must not be empty")
        if name in self._ids:
            raise ValueError(f"component {name!r} is already registered")
        if kind not in _KINDS:
            raise ValueError(f"component {name!r}: unknown kind {kind!r}, one of {sorted(_KINDS)}")
        if not 1 <= capacity <= _MAX_CAPACITY:
            raise ValueError(f"component {name!r}: capacity must be in 1..{_MAX_CAPACITY}")
        component = len(self._names)
        self._ids[name] = component
        self._names.append(name)
        self._kinds.append(str(kind))
        self._capacities.append(capacity)
        return component

    def state(
        self, component: int, state: int, t_start_ps: int, t_end_ps: int, layer: int = -1
    ) -> None:
        """Record that `component` was in `state` (a State) over [t_start_ps, t_end_ps).

        `layer` is a layer index, or a layer tag (``layer_tag``) naming layer and frame.
        """
        if t_end_ps <= t_start_ps:
            if t_end_ps < t_start_ps:
                raise ValueError(f"state interval ends before it starts: {t_start_ps}..{t_end_ps}")
            return  # zero-length intervals carry no time
        table = self._states
        i = table.n
        if i == table.capacity:
            i = table.make_room()
        v_component, v_state, v_start, v_end, v_layer = table.views
        v_component[i] = component
        v_state[i] = state
        v_start[i] = t_start_ps
        v_end[i] = t_end_ps
        v_layer[i] = layer
        table.n = i + 1

    def transfer(
        self,
        layer: int,
        kind: int,
        src: int,
        dst: int,
        nbytes: int,
        hops: int,
        t_request_ps: int,
        t_grant_ps: int,
        t_done_ps: int,
        dram_wait_ps: int,
        dram_ps: int,
        sram_wait_ps: int,
        sram_ps: int,
        interconnect_wait_ps: int,
        interconnect_ps: int,
        frame: int = 0,
    ) -> int:
        """Record a transfer (kind: a TransferKind) with its timestamps and phase durations;
        returns its id."""
        table = self._transfers
        i = table.n
        if i == table.capacity:
            i = table.make_room()
        (
            v_layer,
            v_kind,
            v_src,
            v_dst,
            v_bytes,
            v_hops,
            v_request,
            v_grant,
            v_done,
            v_dram_wait,
            v_dram,
            v_sram_wait,
            v_sram,
            v_interconnect_wait,
            v_interconnect,
            v_frame,
        ) = table.views
        v_layer[i] = layer
        v_kind[i] = kind
        v_src[i] = src
        v_dst[i] = dst
        v_bytes[i] = nbytes
        v_hops[i] = hops
        v_request[i] = t_request_ps
        v_grant[i] = t_grant_ps
        v_done[i] = t_done_ps
        v_dram_wait[i] = dram_wait_ps
        v_dram[i] = dram_ps
        v_sram_wait[i] = sram_wait_ps
        v_sram[i] = sram_ps
        v_interconnect_wait[i] = interconnect_wait_ps
        v_interconnect[i] = interconnect_ps
        v_frame[i] = frame
        table.n = i + 1
        return table.flushed + i

    def layer(
        self,
        index: int,
        name: str,
        op: str,
        t_start_ps: int,
        t_end_ps: int,
        macs: int,
        tiles: int,
        dram_bytes_read: int,
        dram_bytes_written: int,
        sram_bytes: int,
        interconnect_bytes: int,
        mac_utilization: float,
        stall_dram_ps: int,
        stall_interconnect_ps: int,
        stall_sram_ps: int,
        stall_dependency_ps: int,
        stall_backpressure_ps: int,
    ) -> None:
        """Record one layer's totals (stall times summed over MAC clusters)."""
        self._layers.append(
            index,
            t_start_ps,
            t_end_ps,
            macs,
            tiles,
            dram_bytes_read,
            dram_bytes_written,
            sram_bytes,
            interconnect_bytes,
            mac_utilization,
            stall_dram_ps,
            stall_interconnect_ps,
            stall_sram_ps,
            stall_dependency_ps,
            stall_backpressure_ps,
        )
        self._layer_names.append(name)
        self._layer_ops.append(op)

    def link(
        self,
        component: int,
        nbytes: int,
        busy_ps: int,
        reserved_ps: int = -1,
        blocked_ps: int = 0,
    ) -> None:
        """Record an interconnect resource's totals (reserved_ps is -1 without a schedule)."""
        self._links.append(component, nbytes, busy_ps, reserved_ps, blocked_ps)

    def frame(
        self,
        frame: int,
        query: int,
        engine: int,
        arrival_ps: int,
        start_ps: int,
        end_ps: int,
        dropped: bool,
    ) -> None:
        """Record one frame (call in frame order: its index is its row)."""
        self._frames.append(frame, query, engine, arrival_ps, start_ps, end_ps, int(dropped))

    def queue_depth(self, t_ps: int, depth: int) -> None:
        """Record that `depth` frames wait from `t_ps` on."""
        self._queue.append(t_ps, depth)

    def window(
        self,
        op: int,
        layer: int,
        frame: int,
        nbytes: int,
        planned_start_ps: int,
        planned_end_ps: int,
        t_start_ps: int,
        t_end_ps: int,
        late: bool,
        slip_dependency_ps: int,
        slip_dram_ps: int,
        slip_sram_ps: int,
        slip_interconnect_ps: int,
    ) -> None:
        """Record one transfer of the time-triggered NoC: planned and actual network time."""
        slip = slip_dependency_ps + slip_dram_ps + slip_sram_ps + slip_interconnect_ps
        self._windows.append(
            op,
            layer,
            frame,
            nbytes,
            planned_start_ps,
            planned_end_ps,
            t_start_ps,
            t_end_ps,
            int(late),
            slip,
            slip_dependency_ps,
            slip_dram_ps,
            slip_sram_ps,
            slip_interconnect_ps,
        )

    def destination(self, transfer: int, dst: int, hops: int) -> None:
        """Record one destination of multicast transfer ``transfer`` (call in order)."""
        self._destinations.append(transfer, dst, hops)

    def reservations(self, *columns: np.ndarray) -> None:
        """Record link reservations, one array per column of /reservations (schema order)."""
        if len(columns) != len(RESERVATIONS.columns):
            raise ValueError(f"reservations: expected {len(RESERVATIONS.columns)} columns")
        batch = tuple(np.asarray(column) for column in columns)
        if self._sink is None:
            self._reservations.append(batch)
        elif len(batch[0]):
            self._sink(RESERVATIONS, _reservation_columns([batch]))

    def data(self) -> TraceData:
        """Everything recorded so far as numpy arrays (with a sink: what it has not been
        handed yet); recording may continue."""
        components = {
            "id": np.arange(len(self._names), dtype=COMPONENTS.dtypes["id"]),
            "name": np.array(self._names, dtype=np.str_),
            "kind": np.array(self._kinds, dtype=np.str_),
            "capacity": np.array(self._capacities, dtype=COMPONENTS.dtypes["capacity"]),
        }
        layers = self._layers.arrays()
        layers["name"] = np.array(self._layer_names, dtype=np.str_)
        layers["op"] = np.array(self._layer_ops, dtype=np.str_)
        return TraceData(
            components=components,
            states=_state_columns(self._states.arrays()),
            transfers=self._ids_of(self._transfers.arrays()),
            layers={name: layers[name] for name in LAYERS.column_names},
            links=self._links.arrays(),
            frames=self._frames.arrays(),
            queue=self._queue.arrays(),
            reservations=_reservation_columns(self._reservations),
            windows=self._windows.arrays(),
            destinations=self._destinations.arrays(),
        )


def _state_columns(buffer: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The /states columns of a states buffer's arrays: its layer tags split."""
    states = {name: values for name, values in buffer.items() if name != "tag"}
    states["layer"], states["frame"] = split_layer_tags(buffer["tag"])
    return states


def _reservation_columns(batches: list[tuple[np.ndarray, ...]]) -> dict[str, np.ndarray]:
    """The /reservations columns of recorded batches, concatenated in order."""
    if not batches:
        return _empty_columns(RESERVATIONS)
    return {
        name: np.concatenate([batch[index] for batch in batches]).astype(RESERVATIONS.dtypes[name])
        for index, name in enumerate(RESERVATIONS.column_names)
    }


class NullRecorder(Recorder):
    """A Recorder that keeps nothing: tracing off costs one no-op call per record.

    It holds no buffers; `add_component` still returns increasing ids so model code is the
    same with tracing on or off, and `data()` returns empty tables.
    """

    enabled = False

    def __init__(self) -> None:  # no buffers, deliberately not calling Recorder.__init__
        self._next_id = 0

    def add_component(self, name: str, kind: str, capacity: int = 1) -> int:
        """Return the next id; nothing is kept."""
        component = self._next_id
        self._next_id = component + 1
        return component

    def _ignore(self, *args: object, **kwargs: object) -> None:
        """Do nothing."""

    def transfer(self, *args: object, **kwargs: object) -> int:
        """Keep nothing; no transfer id."""
        return -1

    state = layer = link = frame = queue_depth = window = reservations = destination = _ignore

    def data(self) -> TraceData:
        """Empty tables."""
        return TraceData.empty()
