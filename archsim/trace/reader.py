"""Read an HDF5 trace eagerly into numpy arrays."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from archsim.domain import ComponentKind
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

_KINDS = frozenset(kind.value for kind in ComponentKind)


class TraceFormatError(UserError):
    """A file is not a readable archsim trace: missing, not HDF5, corrupt, foreign or newer."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        super().__init__(Problem(message, file=str(path)))
        self.path = Path(path)


@dataclass(frozen=True, eq=False)
class Trace:
    """A trace read into memory. Tables map column names to numpy arrays (strings as str)."""

    path: Path
    attrs: dict[str, Any]
    components: dict[str, np.ndarray]
    states: dict[str, np.ndarray]
    transfers: dict[str, np.ndarray]
    layers: dict[str, np.ndarray]
    links: dict[str, np.ndarray]
    utilization: dict[str, Any]
    """busy_fraction [n_components, n_bins], t_start_ps [n_bins], bin_ps, t_end_ps."""

    @property
    def summary(self) -> dict[str, Any]:
        """The run summary, parsed from the summary_json root attribute ({} if absent)."""
        summary: dict[str, Any] = self.attrs["summary"]
        return summary

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

    def states_of(self, kind: str) -> dict[str, np.ndarray]:
        """The state rows of every component of `kind` (a ComponentKind value)."""
        if kind not in _KINDS:
            raise ValueError(f"unknown component kind {kind!r}, expected one of {sorted(_KINDS)}")
        ids = np.flatnonzero(self.components["kind"] == kind)
        keep = np.isin(self.states["component"], ids)
        return {name: values[keep] for name, values in self.states.items()}

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
    tables = {table.name: _read_table(path, h5, table) for table in TABLES}
    return Trace(path=path, attrs=attrs, utilization=_read_utilization(path, h5), **tables)


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


def _read_table(path: Path, h5: h5py.File, table: Table) -> dict[str, np.ndarray]:
    columns = {
        column.name: _read_column(path, _dataset(path, h5, f"{table.name}/{column.name}"), column)
        for column in table.columns
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
