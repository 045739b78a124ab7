"""Write a trace to HDF5 atomically: NAME.h5.tmp is written and closed, then renamed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from archsim.domain import State
from archsim.errors import SimulationError
from archsim.trace.recorder import TraceData
from archsim.trace.schema import (
    ARCHSIM_VERSION_ATTR,
    BIN_PS_ATTR,
    BIN_START,
    BUSY_FRACTION,
    BUSY_FRACTION_DTYPE,
    CHUNK_ROWS,
    COMPONENTS,
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
from archsim.version import __version__

_OVERFLOW_TOLERANCE = 1e-9


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
    tables = {table.name: _checked_columns(table, data) for table in TABLES}
    _check_references(tables)
    root_attrs = _root_attrs(attrs)
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(final.name + ".tmp")
    try:
        with h5py.File(tmp, "w") as h5:
            h5.attrs.update(root_attrs)
            for table in TABLES:
                if table.optional and not len(next(iter(tables[table.name].values()))):
                    continue  # an optional table is written only when it has rows
                _write_table(h5, table, tables[table.name])
            _write_utilization(h5, tables, utilization_bins)
            h5.flush()
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return final


def _root_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    reserved = RESERVED_ATTRS.intersection(attrs)
    if reserved:
        raise ValueError(f"attrs may not set {sorted(reserved)}: the writer sets them")
    for key, value in attrs.items():
        if not isinstance(value, str | int | float | bool | np.integer | np.floating | np.bool_):
            raise ValueError(f"attr {key!r}: expected str or number, got {type(value).__name__}")
    return {SCHEMA_VERSION_ATTR: SCHEMA_VERSION, ARCHSIM_VERSION_ATTR: __version__} | dict(attrs)


def _checked_columns(table: Table, data: TraceData) -> dict[str, np.ndarray]:
    """The table's columns cast to schema dtypes; ValueError if any is missing or lossy."""
    given = getattr(data, table.name)
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


def _check_references(tables: Mapping[str, Mapping[str, np.ndarray]]) -> None:
    n_components = len(tables[COMPONENTS.name]["id"])
    if not np.array_equal(tables[COMPONENTS.name]["id"], np.arange(n_components)):
        raise ValueError("components.id must equal the row index 0..n-1")
    if np.any(tables[COMPONENTS.name]["capacity"] < 1):
        raise ValueError("components.capacity must be >= 1")
    references = (
        ("states", "component"),
        ("transfers", "src"),
        ("transfers", "dst"),
        ("links", "component"),
        ("reservations", "link"),
        ("destinations", "dst"),
    )
    for table, column in references:
        ids = tables[table][column]
        if len(ids) and ids.max() >= n_components:
            raise ValueError(f"{table}.{column}: id {ids.max()} is not a registered component")
    states = tables[STATES.name]
    if np.any(states["t_start_ps"] < 0) or np.any(states["t_end_ps"] < states["t_start_ps"]):
        raise ValueError("states: an interval starts before time 0 or ends before it starts")


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


def _run_end_ps(tables: Mapping[str, Mapping[str, np.ndarray]]) -> int:
    ends = [
        tables[STATES.name]["t_end_ps"],
        tables[TRANSFERS.name]["t_done_ps"],
        tables["layers"]["t_end_ps"],
    ]
    return max((int(values.max()) for values in ends if len(values)), default=0)


def _write_utilization(
    h5: h5py.File, tables: Mapping[str, Mapping[str, np.ndarray]], bins: int
) -> None:
    states = tables[STATES.name]
    components = tables[COMPONENTS.name]
    busy = states["state"] == State.BUSY
    fraction, bin_start, bin_ps, end_ps = busy_fractions(
        states["component"][busy],
        states["t_start_ps"][busy],
        states["t_end_ps"][busy],
        capacity=components["capacity"],
        names=components["name"],
        run_end_ps=_run_end_ps(tables),
        bins=bins,
    )
    group = h5.create_group(UTILIZATION_GROUP)
    compress: dict[str, Any] = {"compression": "lzf", "shuffle": True} if fraction.size else {}
    group.create_dataset(BUSY_FRACTION, data=fraction, **compress)
    group.create_dataset(BIN_START, data=bin_start)
    group.attrs[BIN_PS_ATTR] = bin_ps
    group.attrs[RUN_END_ATTR] = end_ps


def busy_fractions(
    component: np.ndarray,
    t_start_ps: np.ndarray,
    t_end_ps: np.ndarray,
    capacity: np.ndarray,
    names: np.ndarray,
    run_end_ps: int,
    bins: int,
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Fraction of each time bin each component spent busy, split exactly at bin edges.

    Bins of `bin_ps = ceil(run_end_ps / bins)` cover [0, run_end_ps); the last bin may be
    shorter and its fraction is relative to its own length. Busy time is divided by the
    component's capacity (parallel servers). Returns (busy_fraction float32
    [n_components, n_bins], bin start times int64 [n_bins], bin_ps, run_end_ps).
    """
    n_components = len(capacity)
    if run_end_ps <= 0:
        return np.zeros((n_components, 0), BUSY_FRACTION_DTYPE), np.zeros(0, np.int64), 0, 0
    bin_ps = -(-run_end_ps // bins)
    n_bins = -(-run_end_ps // bin_ps)
    start = t_start_ps.astype(np.int64)
    end = t_end_ps.astype(np.int64)
    row = component.astype(np.int64) * n_bins
    first = start // bin_ps
    last = (end - 1) // bin_ps  # the bin holding the interval's last picosecond
    single = first == last
    busy = np.zeros(n_components * n_bins, np.int64)
    np.add.at(busy, row + first, np.where(single, end, (first + 1) * bin_ps) - start)
    spans = ~single
    np.add.at(busy, row[spans] + last[spans], end[spans] - last[spans] * bin_ps)
    # whole bins strictly between first and last, as +1/-1 steps summed along each row
    steps = np.zeros((n_components, n_bins + 1), np.int64)
    np.add.at(steps, (component[spans], first[spans] + 1), 1)
    np.add.at(steps, (component[spans], last[spans]), -1)
    busy = busy.reshape(n_components, n_bins) + np.cumsum(steps, axis=1)[:, :n_bins] * bin_ps
    widths = np.full(n_bins, bin_ps, np.int64)
    widths[-1] = run_end_ps - (n_bins - 1) * bin_ps
    fraction = busy / (widths[np.newaxis, :] * capacity.astype(np.int64)[:, np.newaxis])
    if fraction.size and fraction.max() > 1.0 + _OVERFLOW_TOLERANCE:
        worst, bin_index = np.unravel_index(np.argmax(fraction), fraction.shape)
        raise SimulationError(
            f"component {names[worst]} is busy {fraction[worst, bin_index]:.6g} x its capacity "
            f"{capacity[worst]} in bin {bin_index}: overlapping BUSY intervals"
        )
    bin_start = np.arange(n_bins, dtype=np.int64) * bin_ps
    return np.minimum(fraction, 1.0).astype(BUSY_FRACTION_DTYPE), bin_start, int(bin_ps), run_end_ps
