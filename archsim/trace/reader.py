"""Read an HDF5 trace eagerly into numpy arrays, and select rows of it.

`open_trace` reads every table into memory and closes the file. `Trace` holds the tables as
dicts of numpy arrays (column name -> 1-D array) and offers row selections by component
kind, component, layer, state or transfer kind and time window, plus `to_pandas` when
pandas is installed. docs/TRACES.md shows them in use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np
import yaml

from archsim.domain import ComponentKind, State, TransferKind
from archsim.errors import Problem, UserError
from archsim.trace.schema import (
    BIN_PS_ATTR,
    BIN_START,
    BUSY_FRACTION,
    RUN_END_ATTR,
    SCHEMA_VERSION,
    SCHEMA_VERSION_ATTR,
    SUMMARY_JSON_ATTR,
    TABLES,
    UTILIZATION_GROUP,
    Column,
    Table,
)
from archsim.trace.upgrade import absent_columns, upgrade
from archsim.yaml_text import safe_load

_KINDS = frozenset(kind.value for kind in ComponentKind)
_TABLE_NAMES = tuple(table.name for table in TABLES)
_ENUM_COLUMNS: dict[tuple[str, str], type[IntEnum]] = {
    (table.name, column.name): column.enum
    for table in TABLES
    for column in table.columns
    if column.enum is not None
}
_NAME_COLUMNS = {
    "states": {"component": "component_name"},
    "transfers": {"src": "src_name", "dst": "dst_name"},
}
_PANDAS_HINT = "pandas is not installed; Trace.to_pandas needs it: pip install pandas"

Window = tuple[int, int]
"""A time window [start_ps, end_ps): rows whose interval overlaps it are selected."""


class TraceFormatError(UserError):
    """A file is not a readable archsim trace: missing, not HDF5, corrupt, foreign or newer."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        super().__init__(Problem(message, file=str(path)))
        self.path = Path(path)


@dataclass(frozen=True, eq=False)
class Trace:
    """A trace read into memory. Tables map column names to numpy arrays (strings as str).

    The `*_where` methods return the same kind of dict restricted to the selected rows
    (copies); every filter is optional and filters combine with AND.
    """

    path: Path
    attrs: dict[str, Any]
    components: dict[str, np.ndarray]
    states: dict[str, np.ndarray]
    transfers: dict[str, np.ndarray]
    layers: dict[str, np.ndarray]
    links: dict[str, np.ndarray]
    frames: dict[str, np.ndarray]
    """One row per frame: arrival, start and end times, engine, dropped (one row per run
    without a scenario)."""
    queue: dict[str, np.ndarray]
    """Frames waiting over time: t_ps, depth (one row per change)."""
    reservations: dict[str, np.ndarray]
    """Time-triggered NoC: every link reservation (empty for other interconnects)."""
    windows: dict[str, np.ndarray]
    """Time-triggered NoC: planned and actual network time of every transfer (else empty)."""
    destinations: dict[str, np.ndarray]
    """Multicast: every destination of every multicast transfer (else empty)."""
    utilization: dict[str, Any]
    """busy_fraction [n_components, n_bins], t_start_ps [n_bins], bin_ps, t_end_ps."""

    # --- metadata ------------------------------------------------------------------------

    @property
    def summary(self) -> dict[str, Any]:
        """The run summary, parsed from the summary_json root attribute ({} if absent)."""
        summary: dict[str, Any] = self.attrs["summary"]
        return summary

    @cached_property
    def config(self) -> dict[str, Any]:
        """The resolved configuration (keys arch, workload, run) parsed from config_yaml.

        {} when the trace has no config_yaml; TraceFormatError when it is not YAML mapping.
        """
        text = self.attrs.get("config_yaml")
        if text is None:
            return {}
        try:
            config = safe_load(text)
        except yaml.YAMLError:
            raise TraceFormatError(self.path, "config_yaml attribute is not valid YAML") from None
        if not isinstance(config, dict):
            raise TraceFormatError(self.path, "config_yaml attribute is not a YAML mapping")
        return config

    @property
    def metadata(self) -> dict[str, Any]:
        """Schema and archsim versions, seed, arch and workload names, input, batch, precision."""
        run = self.config.get("run", {})
        return {
            "schema_version": self.attrs[SCHEMA_VERSION_ATTR],
            "archsim_version": self.attrs.get("archsim_version"),
            "seed": self.attrs.get("seed"),
            "arch": self.attrs.get("arch", self.summary.get("arch")),
            "workload": self.attrs.get("workload", self.summary.get("workload")),
            "input": run.get("input", self.summary.get("input")),
            "batch": run.get("batch", self.summary.get("batch")),
            "precision": run.get("precision", self.summary.get("precision")),
        }

    @property
    def run_end_ps(self) -> int:
        """End of the run: the latest recorded time (end of the last utilization bin)."""
        return int(self.utilization[RUN_END_ATTR])

    @property
    def latency_ps(self) -> int:
        """The run's latency from the summary (the run end when the summary lacks it)."""
        return int(self.summary.get("latency_ps", self.run_end_ps))

    # --- components and layers -----------------------------------------------------------

    @property
    def component_names(self) -> tuple[str, ...]:
        """Component names, indexed by component id."""
        return tuple(self.components["name"].tolist())

    @cached_property
    def _ids(self) -> dict[str, int]:
        return {name: component for component, name in enumerate(self.component_names)}

    def component_id(self, name: str) -> int:
        """The id of the component called `name`; KeyError if there is none."""
        try:
            return self._ids[name]
        except KeyError:
            raise KeyError(f"no component named {name!r} in {self.path}") from None

    def component_ids(self, kind: str | Iterable[str] | None = None) -> np.ndarray:
        """Ids of the components of `kind` (a ComponentKind value or several), or of all."""
        if kind is None:
            return self.components["id"].copy()
        return np.flatnonzero(np.isin(self.components["kind"], _kinds(kind))).astype(np.uint32)

    def layer_index(self, layer: int | str) -> int:
        """The workload index of a layer given by name or index; KeyError if not in the trace."""
        column = self.layers["name"] if isinstance(layer, str) else self.layers["index"]
        rows = np.flatnonzero(column == layer)
        if len(rows) == 0:
            raise KeyError(f"no layer {layer!r} in {self.path}")
        return int(self.layers["index"][rows[0]])

    # --- selections ----------------------------------------------------------------------

    def states_of(self, kind: str) -> dict[str, np.ndarray]:
        """The state rows of every component of `kind` (a ComponentKind value)."""
        return self.states_where(kind=kind)

    def states_where(
        self,
        *,
        kind: str | Iterable[str] | None = None,
        component: int | str | None = None,
        layer: int | str | None = None,
        state: State | str | int | None = None,
        window: Window | None = None,
        clip: bool = False,
        frame: int | None = None,
    ) -> dict[str, np.ndarray]:
        """State rows by component kind, component (id or name), layer (index or name),
        state (State, its name or value), time window and frame. With `clip`, intervals are
        cut to the window, so their durations add up to time spent inside it."""
        rows = self.states
        keep = np.ones(len(rows["component"]), bool)
        if kind is not None:
            keep &= np.isin(rows["component"], self.component_ids(kind))
        if component is not None:
            ident = self.component_id(component) if isinstance(component, str) else component
            keep &= rows["component"] == ident
        if layer is not None:
            keep &= rows["layer"] == self.layer_index(layer)
        if state is not None:
            keep &= rows["state"] == _enum_value(State, state)
        if frame is not None:
            keep &= rows["frame"] == frame
        if window is not None:
            keep &= _overlapping(rows["t_start_ps"], rows["t_end_ps"], window)
        selected = {name: values[keep] for name, values in rows.items()}
        if clip and window is not None:
            selected["t_start_ps"] = np.maximum(selected["t_start_ps"], window[0])
            selected["t_end_ps"] = np.minimum(selected["t_end_ps"], window[1])
        return selected

    def transfers_where(
        self,
        *,
        kind: TransferKind | str | int | None = None,
        layer: int | str | None = None,
        src_kind: str | Iterable[str] | None = None,
        dst_kind: str | Iterable[str] | None = None,
        window: Window | None = None,
        frame: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Transfer rows by transfer kind (TransferKind, its name or value), layer, the
        component kind of source or destination, window (over [t_request_ps, t_done_ps))
        and frame."""
        rows = self.transfers
        keep = np.ones(len(rows["id"]), bool)
        if kind is not None:
            keep &= rows["kind"] == _enum_value(TransferKind, kind)
        if layer is not None:
            keep &= rows["layer"] == self.layer_index(layer)
        if src_kind is not None:
            keep &= np.isin(rows["src"], self.component_ids(src_kind))
        if dst_kind is not None:
            keep &= np.isin(rows["dst"], self.component_ids(dst_kind))
        if window is not None:
            keep &= _overlapping(rows["t_request_ps"], rows["t_done_ps"], window)
        if frame is not None:
            keep &= rows["frame"] == frame
        return {name: values[keep] for name, values in rows.items()}

    def layers_where(
        self, *, op: str | None = None, window: Window | None = None
    ) -> dict[str, np.ndarray]:
        """Layer rows by operator (e.g. conv2d) and window (over [t_start_ps, t_end_ps))."""
        rows = self.layers
        keep = np.ones(len(rows["index"]), bool)
        if op is not None:
            keep &= rows["op"] == op
        if window is not None:
            keep &= _overlapping(rows["t_start_ps"], rows["t_end_ps"], window)
        return {name: values[keep] for name, values in rows.items()}

    def utilization_where(
        self, *, kind: str | Iterable[str] | None = None, window: Window | None = None
    ) -> dict[str, np.ndarray]:
        """Binned busy fractions of the components of `kind`, for the bins overlapping
        `window`: component [n], t_start_ps [m], busy_fraction [n, m]."""
        ids = self.component_ids(kind)
        starts = self.utilization[BIN_START]
        keep = np.ones(len(starts), bool)
        if window is not None:
            ends = np.minimum(starts + self.utilization[BIN_PS_ATTR], self.run_end_ps)
            keep = _overlapping(starts, ends, window)
        fraction = self.utilization[BUSY_FRACTION][np.ix_(ids, np.flatnonzero(keep))]
        return {"component": ids, BIN_START: starts[keep], BUSY_FRACTION: fraction}

    # --- pandas --------------------------------------------------------------------------

    def to_pandas(self, table: str, **filters: Any) -> Any:
        """A pandas DataFrame of `table` (components, states, transfers, layers, links or
        utilization), its rows selected by the `*_where` filters of that table.

        Enum columns hold member names (BUSY, WEIGHT_FETCH, ...); states get a
        component_name column and transfers src_name and dst_name. utilization is wide: one
        row per bin (indexed by t_start_ps), one column per component name. Needs pandas
        (ImportError with the pip command if it is missing).
        """
        try:
            import pandas
        except ImportError:
            raise ImportError(_PANDAS_HINT) from None
        if table == "utilization":
            rows = self.utilization_where(**filters)
            names = self.components["name"][rows["component"]]
            index = pandas.Index(rows[BIN_START], name=BIN_START)
            return pandas.DataFrame(rows[BUSY_FRACTION].T, index=index, columns=names)
        return pandas.DataFrame(self._decoded(table, self._rows(table, filters)))

    def _rows(self, table: str, filters: Mapping[str, Any]) -> dict[str, np.ndarray]:
        if table == "states":
            return self.states_where(**filters)
        if table == "transfers":
            return self.transfers_where(**filters)
        if table == "layers":
            return self.layers_where(**filters)
        if table not in _TABLE_NAMES:
            expected = [*_TABLE_NAMES, "utilization"]
            raise ValueError(f"unknown table {table!r}, expected one of {expected}")
        if filters:
            raise TypeError(f"table {table!r} takes no filters, got {sorted(filters)}")
        rows: dict[str, np.ndarray] = getattr(self, table)
        return rows

    def _decoded(self, table: str, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        decoded = dict(rows)
        for (owner, column), enum in _ENUM_COLUMNS.items():
            if owner == table:
                decoded[column] = np.array([member.name for member in enum])[rows[column]]
        for column, name_column in _NAME_COLUMNS.get(table, {}).items():
            decoded[name_column] = self.components["name"][rows[column]]
        return decoded

    # --- context manager -----------------------------------------------------------------

    def close(self) -> None:
        """Nothing to release: the file was closed after reading. Kept for symmetry."""

    def __enter__(self) -> Trace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Trace({str(self.path)!r}, components={len(self.components['id'])}, "
            f"states={len(self.states['component'])}, transfers={len(self.transfers['id'])})"
        )


def _kinds(kind: str | Iterable[str]) -> list[str]:
    kinds = [kind] if isinstance(kind, str) else [str(k) for k in kind]
    unknown = [k for k in kinds if k not in _KINDS]
    if unknown:
        raise ValueError(f"unknown component kind {unknown[0]!r}, expected one of {sorted(_KINDS)}")
    return kinds


def _enum_value(enum: type[IntEnum], value: IntEnum | str | int) -> int:
    """The value of an enum member given as member, name (any case) or value."""
    if isinstance(value, str):
        try:
            return int(enum[value.upper()])
        except KeyError:
            names = ", ".join(member.name for member in enum)
            raise ValueError(
                f"unknown {enum.__name__} {value!r}, expected one of {names}"
            ) from None
    return int(enum(value))


def _overlapping(start: np.ndarray, end: np.ndarray, window: Window) -> np.ndarray:
    """Rows whose [start, end) overlaps [window); zero-length rows count if inside it."""
    t0, t1 = window
    if t1 < t0:
        raise ValueError(f"window ends before it starts: {t0}..{t1}")
    inside_point = (start == end) & (start >= t0)
    return np.asarray((start < t1) & ((end > t0) | inside_point), dtype=bool)


def open_trace(path: str | os.PathLike[str]) -> Trace:
    """Read the trace at `path`; TraceFormatError (one line, with the path) if it cannot."""
    path = Path(path)
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise TraceFormatError(path, f"cannot read trace file: {exc.strerror}") from None
    if not h5py.is_hdf5(path):
        raise TraceFormatError(path, "not an HDF5 file")
    try:
        with h5py.File(path, "r") as h5:
            return _read(path, h5)
    except TraceFormatError:
        raise
    except Exception as exc:  # h5py reports corruption as OSError, KeyError, RuntimeError...
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise TraceFormatError(path, f"corrupt or truncated trace ({detail})") from exc


def _read(path: Path, h5: h5py.File) -> Trace:
    attrs = _read_attrs(path, h5)
    version = attrs[SCHEMA_VERSION_ATTR]
    tables = {
        table.name: _read_table(path, h5, table, absent_columns(version, table)) for table in TABLES
    }
    utilization = _read_utilization(path, h5)
    tables = upgrade(version, tables, utilization[RUN_END_ATTR])
    return Trace(path=path, attrs=attrs, utilization=utilization, **tables)


def _read_attrs(path: Path, h5: h5py.File) -> dict[str, Any]:
    if SCHEMA_VERSION_ATTR not in h5.attrs:
        raise TraceFormatError(path, f"not an archsim trace (no {SCHEMA_VERSION_ATTR} attribute)")
    attrs = {key: _plain(value) for key, value in h5.attrs.items()}
    version = attrs[SCHEMA_VERSION_ATTR]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TraceFormatError(path, f"not an archsim trace (schema_version {version!r})")
    if version > SCHEMA_VERSION:
        raise TraceFormatError(
            path,
            f"trace schema version {version} is newer than this archsim reads "
            f"({SCHEMA_VERSION}); upgrade archsim",
        )
    summary_json = attrs.get(SUMMARY_JSON_ATTR)
    try:
        attrs["summary"] = json.loads(summary_json) if summary_json is not None else {}
    except (TypeError, ValueError):
        raise TraceFormatError(path, f"{SUMMARY_JSON_ATTR} attribute is not valid JSON") from None
    return attrs


def _plain(value: Any) -> Any:
    """An HDF5 attribute value as a plain Python value."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _dataset(path: Path, h5: h5py.File, name: str) -> h5py.Dataset:
    node = h5.get(name)
    if not isinstance(node, h5py.Dataset):
        raise TraceFormatError(path, f"missing dataset /{name}")
    return node


def _read_table(
    path: Path, h5: h5py.File, table: Table, absent: frozenset[str] = frozenset()
) -> dict[str, np.ndarray]:
    if table.optional and table.name not in h5:
        return {column.name: np.empty(0, column.dtype) for column in table.columns}
    columns = {
        column.name: _read_column(path, _dataset(path, h5, f"{table.name}/{column.name}"), column)
        for column in table.columns
        if column.name not in absent
    }
    if len({len(values) for values in columns.values()}) > 1:
        raise TraceFormatError(path, f"columns of /{table.name} differ in length")
    return columns


def _read_column(path: Path, dataset: h5py.Dataset, column: Column) -> np.ndarray:
    if column.is_string:
        if h5py.check_string_dtype(dataset.dtype) is None:
            raise TraceFormatError(path, f"dataset {dataset.name} is not a string dataset")
        return np.asarray(dataset.asstr()[()], dtype=object).astype(np.str_)
    stored = dataset.dtype
    if (stored.kind, stored.itemsize) != (column.dtype.kind, column.dtype.itemsize):
        raise TraceFormatError(
            path, f"dataset {dataset.name} has dtype {stored}, expected {column.dtype}"
        )
    return np.asarray(dataset[()], dtype=column.dtype)  # drops h5py's enum metadata


def _read_utilization(path: Path, h5: h5py.File) -> dict[str, Any]:
    fraction = _dataset(path, h5, f"{UTILIZATION_GROUP}/{BUSY_FRACTION}")
    bin_start = _dataset(path, h5, f"{UTILIZATION_GROUP}/{BIN_START}")
    group_attrs = h5[UTILIZATION_GROUP].attrs
    missing = [key for key in (BIN_PS_ATTR, RUN_END_ATTR) if key not in group_attrs]
    if missing:
        raise TraceFormatError(path, f"missing attribute /{UTILIZATION_GROUP}@{missing[0]}")
    return {
        BUSY_FRACTION: np.asarray(fraction[()]),
        BIN_START: np.asarray(bin_start[()]),
        BIN_PS_ATTR: int(group_attrs[BIN_PS_ATTR]),
        RUN_END_ATTR: int(group_attrs[RUN_END_ATTR]),
    }
