"""The trace schema: every table, its columns, dtypes and units, enum mappings and the version.

This module is the contract between the simulator, the HDF5 writer, the reader and
docs/TRACE_SCHEMA.md. Change it only together with SCHEMA_VERSION and that document.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from archsim.domain import ReservationStatus, State, TransferKind

SCHEMA_VERSION = 4
"""Version of the on-disk layout. Bumped on any change to tables, columns, dtypes or meaning."""


STRING = np.dtype(np.str_)
"""Marker dtype of string columns: numpy str arrays in memory, UTF-8 variable-length on disk."""


@dataclass(frozen=True)
class Column:
    """One column of a table: one HDF5 dataset under the table's group."""

    name: str
    dtype: np.dtype
    unit: str
    doc: str
    enum: type[IntEnum] | None = None

    @property
    def is_string(self) -> bool:
        """True for string columns."""
        return self.dtype.kind == "U"

    @property
    def label(self) -> str:
        """The dtype as written in docs/TRACE_SCHEMA.md."""
        if self.is_string:
            return "string"
        if self.enum is not None:
            return f"enum {self.enum.__name__} ({self.dtype.name})"
        return self.dtype.name


@dataclass(frozen=True)
class Table:
    """A table: one HDF5 group holding one 1-D dataset per column, all of equal length."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    optional: bool = False  # written only when it has rows; read as empty when absent

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in schema order."""
        return tuple(column.name for column in self.columns)

    @property
    def dtypes(self) -> dict[str, np.dtype]:
        """Column name -> in-memory numpy dtype."""
        return {column.name: column.dtype for column in self.columns}


_U1, _U2, _U4, _U8 = (np.dtype(code) for code in ("u1", "u2", "u4", "u8"))
_I4, _I8, _F4, _F8 = (np.dtype(code) for code in ("i4", "i8", "f4", "f8"))


def _ps(name: str, doc: str) -> Column:
    return Column(name, _I8, "ps", doc)


COMPONENTS = Table(
    "components",
    "Every simulated component; other tables refer to a component by its row index (id).",
    (
        Column("id", _U4, "", "Component id, equal to the row index."),
        Column("name", STRING, "", "Dotted name, e.g. chip.cluster3, chip.noc.link(0,0)->(1,0)."),
        Column("kind", STRING, "", "A ComponentKind value: chip, mac_cluster, sram_bank, ..."),
        Column("capacity", _U2, "count", "Parallel servers (e.g. SRAM ports); >= 1."),
    ),
)

STATES = Table(
    "states",
    "Intervals [t_start_ps, t_end_ps) a component spent in one state; never zero-length.",
    (
        Column("component", _U4, "", "Component id."),
        Column("state", _U1, "", "What the component did.", State),
        _ps("t_start_ps", "Interval start (inclusive)."),
        _ps("t_end_ps", "Interval end (exclusive)."),
        Column("layer", _I4, "", "Layer index, -1 when not tied to a layer."),
        Column("frame", _I4, "", "Frame index, -1 when not tied to a frame (e.g. IDLE)."),
    ),
)

TRANSFERS = Table(
    "transfers",
    "Every data movement with its phase durations (0 when a phase does not apply).",
    (
        Column("id", _U8, "", "Sequential transfer id, equal to the row index."),
        Column("layer", _I4, "", "Layer index, -1 when not tied to a layer."),
        Column("kind", _U1, "", "What is moved, from where to where.", TransferKind),
        Column("src", _U4, "", "Source component id."),
        Column("dst", _U4, "", "Destination component id."),
        Column("bytes", _I8, "bytes", "Payload size."),
        Column(
            "hops",
            _U2,
            "count",
            "Interconnect hops (1 on a bus or crossbar); a multicast's tree: its links "
            "beyond the injection link, so bytes x hops are its byte-hops.",
        ),
        _ps("t_request_ps", "Issued by the requester."),
        _ps("t_grant_ps", "Granted by the interconnect."),
        _ps("t_done_ps", "Data delivered."),
        _ps("dram_wait_ps", "Queued at the DRAM channel."),
        _ps("dram_ps", "DRAM service (latency and data)."),
        _ps("sram_wait_ps", "Waiting for an SRAM port."),
        _ps("sram_ps", "SRAM access."),
        _ps("interconnect_wait_ps", "Waiting for the interconnect."),
        _ps("interconnect_ps", "On the interconnect."),
        Column("frame", _I4, "", "Frame index (0 in a one-frame run)."),
    ),
)

LAYERS = Table(
    "layers",
    "Per-layer timing, work, traffic and stall totals (stalls summed over MAC clusters).",
    (
        Column("index", _I4, "", "Layer index in the workload."),
        Column("name", STRING, "", "Layer name."),
        Column("op", STRING, "", "Operator, e.g. conv, matmul."),
        _ps("t_start_ps", "First activity of the layer."),
        _ps("t_end_ps", "Last activity of the layer."),
        Column("macs", _I8, "count", "Multiply-accumulates."),
        Column("tiles", _I4, "count", "Tiles the layer was split into."),
        Column("dram_bytes_read", _I8, "bytes", "Bytes read from DRAM."),
        Column("dram_bytes_written", _I8, "bytes", "Bytes written to DRAM."),
        Column("sram_bytes", _I8, "bytes", "Bytes read from and written to SRAM."),
        Column("interconnect_bytes", _I8, "bytes", "Bytes moved over the interconnect."),
        Column("mac_utilization", _F8, "fraction", "Useful MACs / (peak MACs x layer time)."),
        _ps("stall_dram_ps", "MAC-cluster time stalled on DRAM."),
        _ps("stall_interconnect_ps", "MAC-cluster time stalled on the interconnect."),
        _ps("stall_sram_ps", "MAC-cluster time stalled on SRAM."),
        _ps("stall_dependency_ps", "MAC-cluster time waiting for a producer."),
        _ps("stall_backpressure_ps", "MAC-cluster time waiting for output space."),
    ),
)

LINKS = Table(
    "links",
    "Per-interconnect-resource totals (a bus, a crossbar port or a mesh link).",
    (
        Column("component", _U4, "", "Component id of the resource."),
        Column("bytes", _I8, "bytes", "Bytes carried."),
        Column("busy_ps", _I8, "ps", "Time the resource was held."),
        _ps("reserved_ps", "Link time reserved for flows by a static schedule; -1 without one."),
        _ps("blocked_ps", "Time held while its packet waited for links further along (mesh)."),
    ),
)

FRAMES = Table(
    "frames",
    "One row per frame (one inference at the run's batch): arrival, start and end.",
    (
        Column("frame", _I4, "", "Frame index, equal to the row index."),
        Column("query", _I4, "", "Query (multi-stream: frames of one interval); else = frame."),
        Column("engine", _I4, "", "Engine that ran the frame (0 with one engine)."),
        _ps("arrival_ps", "Arrived (became available)."),
        _ps("start_ps", "Allowed to start (its start gate opened)."),
        _ps("end_ps", "Every operation of the frame done."),
        Column("dropped", _U1, "", "1 if dropped on arrival (the queue was full), else 0."),
    ),
)

QUEUE = Table(
    "queue",
    "Frames waiting (arrived, not started, not dropped), one row per change.",
    (
        _ps("t_ps", "Time of the change."),
        Column("depth", _I4, "count", "Frames waiting from t_ps on."),
    ),
)

RESERVATIONS = Table(
    "reservations",
    "Link time the time-triggered deterministic NoC reserved: one row per packet and link of "
    "its route, [t_start_ps, t_end_ps). No two rows of one link overlap.",
    (
        Column("link", _U4, "", "Component id of the link."),
        Column("op", _U8, "", "Program op id of the transfer (as in /windows)."),
        Column("packet", _U4, "", "Packet index within the transfer, from 0."),
        _ps("t_start_ps", "Reservation start (the packet's head enters the link)."),
        _ps("t_end_ps", "Reservation end (its tail leaves the link)."),
        Column(
            "status",
            _U1,
            "",
            "Used as planned, left unused, or booked at run time.",
            ReservationStatus,
        ),
    ),
    optional=True,
)

WINDOWS = Table(
    "windows",
    "Every transfer the time-triggered deterministic NoC carried: planned and actual time on "
    "the network, and how late it was (0 when on time).",
    (
        Column("op", _U8, "", "Program op id of the transfer."),
        Column("layer", _I4, "", "Layer index."),
        Column("frame", _I4, "", "Frame index (0 in a one-frame run)."),
        Column("bytes", _I8, "bytes", "Payload size."),
        _ps("planned_start_ps", "Planned entry of its first packet; -1 if never planned."),
        _ps("planned_end_ps", "Planned delivery of its last byte; -1 if never planned."),
        _ps("t_start_ps", "Actual entry of its first packet."),
        _ps("t_end_ps", "Actual delivery of its last byte."),
        Column("late", _U1, "", "1 if a packet missed its window (or had none), else 0."),
        _ps("slip_ps", "t_end_ps - planned_end_ps of a late transfer, else 0."),
        _ps("slip_dependency_ps", "Part of the slip due to a later issue (late producer)."),
        _ps("slip_dram_ps", "Part of the slip due to a longer DRAM read (e.g. refresh)."),
        _ps("slip_sram_ps", "Part of the slip due to a longer SRAM port wait (bank conflict)."),
        _ps("slip_interconnect_ps", "Part of the slip spent waiting for a gap in the calendars."),
    ),
    optional=True,
)

DESTINATIONS = Table(
    "destinations",
    "Every destination of a multicast transfer (interconnect.multicast), one row each, in "
    "order: the first is the transfer's dst in /transfers. Transfers to one destination have "
    "no rows.",
    (
        Column("transfer", _U8, "", "Transfer id (row of /transfers)."),
        Column("dst", _U4, "", "Destination component id."),
        Column("hops", _U2, "count", "Interconnect hops of the route from src to this one."),
    ),
    optional=True,
)

TABLES: tuple[Table, ...] = (
    COMPONENTS,
    STATES,
    TRANSFERS,
    LAYERS,
    LINKS,
    FRAMES,
    QUEUE,
    RESERVATIONS,
    WINDOWS,
    DESTINATIONS,
)
"""Every table, in file order."""

UTILIZATION_GROUP = "utilization"
BUSY_FRACTION = "busy_fraction"  # float32 [n_components, n_bins]
BIN_START = "t_start_ps"  # int64 [n_bins]
BIN_PS_ATTR = "bin_ps"  # group attribute: bin width in ps (the last bin may be shorter)
RUN_END_ATTR = "t_end_ps"  # group attribute: end of the last bin (end of the run) in ps
BUSY_FRACTION_DTYPE = _F4

SCHEMA_VERSION_ATTR = "schema_version"
ARCHSIM_VERSION_ATTR = "archsim_version"
SUMMARY_JSON_ATTR = "summary_json"
RESERVED_ATTRS = frozenset({SCHEMA_VERSION_ATTR, ARCHSIM_VERSION_ATTR})
"""Root attributes the writer sets itself; callers may not pass them."""

CHUNK_ROWS = 65536
"""Rows per HDF5 chunk (fewer for shorter tables, at least 1)."""
