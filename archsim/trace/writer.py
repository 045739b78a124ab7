"""Write a trace to HDF5 atomically: NAME.h5.tmp is written and closed, then renamed.

A ``TraceWriter`` takes a table's rows in batches while a run goes on (the recorder hands
it full buffers), so a trace never has to fit in memory; ``write_trace`` writes one
``TraceData`` at once through it. Either way the file appears under its name only once
complete, and a batch of rows is written to the same datasets, with the same bytes, however
the rows were split into batches.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from archsim.domain import State
from archsim.trace.recorder import TraceData
from archsim.trace.schema import (
    ARCHSIM_VERSION_ATTR,
    BIN_PS_ATTR,
    BIN_START,
    BUSY_FRACTION,
    CHUNK_ROWS,
    COMPONENTS,
    LAYERS,
    RESERVED_ATTRS,
    RUN_END_ATTR,
    SCHEMA_VERSION,
    SCHEMA_VERSION_ATTR,
    STATES,
    TABLES,
    TRANSFERS,
    UTILIZATION_GROUP,
    Column,
    Table,
)
from archsim.trace.utilization import BusyBins
from archsim.version import __version__

READ_ROWS = 1 << 16
"""Rows of /states read back at a time by the utilization pass at the end."""

_REFERENCES = (
    ("states", "component"),
    ("transfers", "src"),
    ("transfers", "dst"),
    ("links", "component"),
    ("reservations", "link"),
    ("destinations", "dst"),
)
"""Columns holding component ids: checked against the components table when committed."""

_RUN_ENDS = {STATES.name: "t_end_ps", TRANSFERS.name: "t_done_ps", LAYERS.name: "t_end_ps"}
"""The run ends at the latest of these columns (the last utilization bin's end)."""


def write_trace(
    path: str | os.PathLike[str],
    data: TraceData,
    attrs: Mapping[str, Any],
    utilization_bins: int = 200,
) -> Path:
    """Write `data` and root `attrs` (str, int, float or bool values) to an HDF5 trace.

    The file appears at `path` only once complete; on any error nothing is left behind
    (neither `path` nor `path.tmp`) and an existing file at `path` is untouched.
    Raises ValueError for malformed data or attrs and SimulationError when BUSY intervals
    exceed a component's capacity. Returns the final path.
    """
    if utilization_bins < 1:
        raise ValueError(f"utilization_bins must be >= 1, got {utilization_bins}")
    _root_attrs(attrs)  # reject bad attrs before any file is created
    with TraceWriter(path) as out:
        return out.commit(data, attrs, utilization_bins)


class TraceWriter:
    """An HDF5 trace being written to NAME.h5.tmp: `append` adds rows to a table during a
    run, `commit` adds the last rows, the utilization and the root attrs and renames the
    file to NAME.h5. Until then nothing exists under the final name; `discard` (or leaving
    a ``with`` block without a commit, e.g. by an exception) deletes the temporary file.

    Rows are checked as `write_trace` checks them: dtypes and enums per batch, component
    ids and the whole table of components when committed.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(self.path.name + ".tmp")
        self._h5: h5py.File | None = h5py.File(self._tmp, "w")
        self._rows: dict[str, int] = {}  # table name -> rows written, once created
        self._max_ids: dict[tuple[str, str], int] = {}
        self._run_end_ps = 0
        self._committed = False

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.discard()

    def append(self, table: Table, columns: Mapping[str, np.ndarray]) -> None:
        """Append rows to `table` (column name -> 1-D array, every column, equal lengths).

        The first batch creates the table's datasets, chunked by at most CHUNK_ROWS rows
        (fewer for a shorter first batch, as when a whole table is written at once).
        """
        h5 = self._open()
        checked = _checked_columns(table, columns)
        self._note(table, checked)
        written = self._rows.get(table.name)
        if written is None:
            _write_table(h5, table, checked)
            self._rows[table.name] = len(checked[table.columns[0].name])
            return
        rows = len(checked[table.columns[0].name])
        if not rows:
            return
        group = h5[table.name]
        for column in table.columns:
            dataset = group[column.name]
            dataset.resize((written + rows,))
            values = checked[column.name]
            dataset[written:] = values.astype(object) if column.is_string else values
        self._rows[table.name] = written + rows

    def commit(
        self, data: TraceData, attrs: Mapping[str, Any], utilization_bins: int = 200
    ) -> Path:
        """Append `data` (the rows not appended yet), write the utilization and root `attrs`
        and move the file to its final name, which it returns. On any error the temporary
        file is deleted and an existing file under the final name is untouched."""
        try:
            if utilization_bins < 1:
                raise ValueError(f"utilization_bins must be >= 1, got {utilization_bins}")
            root_attrs = _root_attrs(attrs)
            for table in TABLES:
                columns = getattr(data, table.name)
                empty = not len(next(iter(columns.values()), ()))
                if table.optional and empty and table.name not in self._rows:
                    continue  # an optional table is written only when it has rows
                self.append(table, columns)
            components = _checked_columns(COMPONENTS, data.components)
            self._check_references(components)
            h5 = self._open()
            _write_utilization(h5, components, self._run_end_ps, utilization_bins)
            h5.attrs.update(root_attrs)
            h5.flush()
            h5.close()
            self._h5 = None
            with open(self._tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(self._tmp, self.path)
            self._committed = True
        except BaseException:
            self.discard()
            raise
        return self.path

    def discard(self) -> None:
        """Close and delete the temporary file (nothing once committed)."""
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None
        if not self._committed:
            self._tmp.unlink(missing_ok=True)

    def _open(self) -> h5py.File:
        if self._h5 is None:
            raise ValueError(f"trace {self.path} is already committed or discarded")
        return self._h5

    def _note(self, table: Table, columns: Mapping[str, np.ndarray]) -> None:
        """Keep what the checks at commit need: the largest component id of each reference
        column and the run's end."""
        for name, column in _REFERENCES:
            if name == table.name and len(columns[column]):
                key = (name, column)
                self._max_ids[key] = max(self._max_ids.get(key, 0), int(columns[column].max()))
        end = _RUN_ENDS.get(table.name)
        if end is not None and len(columns[end]):
            self._run_end_ps = max(self._run_end_ps, int(columns[end].max()))
        if table is STATES:
            start, end_ps = columns["t_start_ps"], columns["t_end_ps"]
            if np.any(start < 0) or np.any(end_ps < start):
                raise ValueError(
                    "states: an interval starts before time 0 or ends before it starts"
                )

    def _check_references(self, components: Mapping[str, np.ndarray]) -> None:
        n_components = len(components["id"])
        if not np.array_equal(components["id"], np.arange(n_components)):
            raise ValueError("components.id must equal the row index 0..n-1")
        if np.any(components["capacity"] < 1):
            raise ValueError("components.capacity must be >= 1")
        for (table, column), largest in self._max_ids.items():
            if largest >= n_components:
                raise ValueError(f"{table}.{column}: id {largest} is not a registered component")


def _root_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    reserved = RESERVED_ATTRS.intersection(attrs)
    if reserved:
        raise ValueError(f"attrs may not set {sorted(reserved)}: the writer sets them")
    for key, value in attrs.items():
        if not isinstance(value, str | int | float | bool | np.integer | np.floating | np.bool_):
            raise ValueError(f"attr {key!r}: expected str or number, got {type(value).__name__}")
    return {SCHEMA_VERSION_ATTR: SCHEMA_VERSION, ARCHSIM_VERSION_ATTR: __version__} | dict(attrs)


def _checked_columns(table: Table, given: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The table's columns cast to schema dtypes; ValueError if any is missing or lossy."""
    unknown = set(given) - set(table.column_names)
    if unknown:
        raise ValueError(f"table {table.name}: unknown columns {sorted(unknown)}")
    columns = {}
    for column in table.columns:
        if column.name not in given:
            raise ValueError(f"table {table.name}: missing column {column.name!r}")
        columns[column.name] = _cast(table, column, np.asarray(given[column.name]))
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"table {table.name}: columns differ in length {lengths}")
    return columns


def _cast(table: Table, column: Column, values: np.ndarray) -> np.ndarray:
    where = f"{table.name}.{column.name}"
    if values.ndim != 1:
        raise ValueError(f"{where}: expected a 1-D array, got shape {values.shape}")
    if column.is_string:
        if len(values) and values.dtype.kind not in "UO":
            raise ValueError(f"{where}: expected strings, got dtype {values.dtype}")
        return values.astype(np.str_)
    cast = values.astype(column.dtype, copy=False)  # no copy of a column already in dtype
    if values.dtype != column.dtype and not np.array_equal(cast, values):
        raise ValueError(f"{where}: values do not fit {column.dtype}")
    if column.enum is not None:
        invalid = np.setdiff1d(cast, [member.value for member in column.enum])
        if len(invalid):
            raise ValueError(f"{where}: values {invalid.tolist()} are not {column.enum.__name__}")
    return cast


def _write_table(h5: h5py.File, table: Table, columns: Mapping[str, np.ndarray]) -> None:
    group = h5.create_group(table.name)
    for column in table.columns:
        values = columns[column.name]
        chunks = (max(1, min(CHUNK_ROWS, len(values))),)
        if column.is_string:
            group.create_dataset(
                column.name,
                data=values.astype(object),
                dtype=h5py.string_dtype("utf-8"),
                chunks=chunks,
                maxshape=(None,),
            )
            continue
        dtype: np.dtype = column.dtype
        if column.enum is not None:
            members = {member.name: member.value for member in column.enum}
            dtype = h5py.enum_dtype(members, basetype=column.dtype)
        group.create_dataset(
            column.name,
            data=values,
            dtype=dtype,
            chunks=chunks,
            maxshape=(None,),
            compression="lzf",
            shuffle=True,
        )


def _write_utilization(
    h5: h5py.File, components: Mapping[str, np.ndarray], run_end_ps: int, bins: int
) -> None:
    """/utilization from the BUSY rows of /states, read back from the file in batches."""
    busy = BusyBins(len(components["capacity"]), run_end_ps, bins)
    states = h5[STATES.name]
    rows = len(states["component"])
    for first in range(0, rows, READ_ROWS):
        part = slice(first, min(first + READ_ROWS, rows))
        mine = states["state"][part] == State.BUSY
        busy.add(
            states["component"][part][mine],
            states["t_start_ps"][part][mine],
            states["t_end_ps"][part][mine],
        )
    fraction, bin_start, bin_ps, end_ps = busy.fractions(components["capacity"], components["name"])
    group = h5.create_group(UTILIZATION_GROUP)
    compress: dict[str, Any] = {"compression": "lzf", "shuffle": True} if fraction.size else {}
    group.create_dataset(BUSY_FRACTION, data=fraction, **compress)
    group.create_dataset(BIN_START, data=bin_start)
    group.attrs[BIN_PS_ATTR] = bin_ps
    group.attrs[RUN_END_ATTR] = end_ps
