"""Files of a finished sweep: ``results.csv``, ``results.h5`` and ``sweep.h5``.

``results.h5`` holds group ``/results`` with one dataset per column, in column order
(attribute ``columns``; ``factors`` names the factor columns). Each dataset's ``kind``
attribute says how to read it back:

- ``int``: int64, or float64 with NaN for missing cells (attribute ``missing`` true);
- ``float``: float64, NaN = missing;
- ``bool``: bool;
- ``str``: UTF-8 text, "" = missing;
- ``json``: UTF-8 JSON text per cell (columns mixing types, or bools with missing cells).

``sweep.h5`` links everything: ``/results`` -> ``results.h5:/results`` and
``/points/ID`` -> ``points/ID.h5:/`` (HDF5 external links, relative to the sweep folder),
plus the sweep file text and point counts as attributes. All three files are written to
``NAME.tmp`` and renamed.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from archsim.sweep.point import PointRecord, PointStatus
from archsim.sweep.store import RESULTS_CSV, RESULTS_H5, SWEEP_H5, point_name, write_atomic
from archsim.sweep.table import Cell, ResultsTable
from archsim.version import __version__

RESULTS_GROUP = "results"
POINTS_GROUP = "points"


def write_results(
    out_dir: Path,
    table: ResultsTable,
    records: Sequence[PointRecord],
    attrs: Mapping[str, str | int],
) -> None:
    """Write ``results.csv``, ``results.h5`` and ``sweep.h5`` into ``out_dir``."""
    write_atomic(out_dir / RESULTS_CSV, table_csv(table))
    _write_h5(out_dir / RESULTS_H5, lambda f: _write_table(f, table, attrs))
    _write_h5(out_dir / SWEEP_H5, lambda f: _write_index(f, records, attrs, out_dir))


def table_csv(table: ResultsTable) -> str:
    """The table as CSV text (missing cells empty, booleans true/false)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([csv_cell(row.get(name)) for name in table.columns])
    return buffer.getvalue()


def read_results(path: str | Path) -> ResultsTable:
    """The table of a sweep folder (or of a ``results.h5`` file)."""
    file = Path(path)
    if file.is_dir():
        file = file / RESULTS_H5
    with h5py.File(file, "r") as handle:
        group = handle[RESULTS_GROUP]
        columns = [str(name) for name in group.attrs["columns"]]
        names = [str(name) for name in group.attrs["datasets"]]
        factors = tuple(str(name) for name in group.attrs["factors"])
        cells = {
            column: _read_column(group[name]) for column, name in zip(columns, names, strict=True)
        }
    count = len(next(iter(cells.values()))) if cells else 0
    rows = tuple({column: cells[column][i] for column in columns} for i in range(count))
    return ResultsTable(tuple(columns), factors, rows)


def _write_h5(path: Path, fill: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with h5py.File(tmp, "w") as handle:
            fill(handle)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_table(handle: h5py.File, table: ResultsTable, attrs: Mapping[str, str | int]) -> None:
    group = handle.create_group(RESULTS_GROUP)
    names = [_dataset_name(index, column) for index, column in enumerate(table.columns)]
    group.attrs["columns"] = list(table.columns)
    group.attrs["datasets"] = names
    group.attrs["factors"] = list(table.factors)
    for key, value in {**attrs, "archsim_version": __version__}.items():
        handle.attrs[key] = value
    for column, name in zip(table.columns, names, strict=True):
        data, kind = _encode(table.column(column))
        dataset = group.create_dataset(name, data=data)
        dataset.attrs["kind"] = kind
        dataset.attrs["column"] = column
        dataset.attrs["missing"] = any(cell is None for cell in table.column(column))


def _write_index(
    handle: h5py.File, records: Sequence[PointRecord], attrs: Mapping[str, str | int], out_dir: Path
) -> None:
    for key, value in {**attrs, "archsim_version": __version__}.items():
        handle.attrs[key] = value
    for status in PointStatus:
        handle.attrs[f"points_{status.value}"] = sum(r.status is status for r in records)
    handle[RESULTS_GROUP] = h5py.ExternalLink(RESULTS_H5, f"/{RESULTS_GROUP}")
    points = handle.create_group(POINTS_GROUP)
    for record in sorted(records, key=lambda r: r.point):
        if record.trace is not None and (out_dir / record.trace).is_file():
            points[point_name(record.point)] = h5py.ExternalLink(record.trace, "/")


def _dataset_name(index: int, column: str) -> str:
    """An HDF5-safe dataset name for a column ('/' is not allowed in names)."""
    return column.replace("/", "|") if column not in (".", "..") else f"column{index}"


def _kind(cells: Sequence[Cell]) -> str:
    present = [cell for cell in cells if cell is not None]
    if present and all(isinstance(c, bool) for c in present):
        return "bool" if len(present) == len(cells) else "json"
    if present and all(isinstance(c, int) and not isinstance(c, bool) for c in present):
        return "int"
    if present and all(isinstance(c, int | float) and not isinstance(c, bool) for c in present):
        return "float"
    if all(isinstance(c, str) and c for c in present):
        return "str"
    return "json"


def _encode(cells: Sequence[Cell]) -> tuple[np.ndarray[Any, Any], str]:
    kind = _kind(cells)
    if kind == "int" and None not in cells:
        return np.array(cells, dtype=np.int64), kind
    if kind in ("int", "float"):
        return np.array([math.nan if c is None else c for c in cells], dtype=np.float64), kind
    if kind == "bool":
        return np.array(cells, dtype=bool), kind
    text = (
        ["" if c is None else c for c in cells] if kind == "str" else [json.dumps(c) for c in cells]
    )
    return np.array(text, dtype=h5py.string_dtype()), kind


def _read_column(dataset: h5py.Dataset) -> list[Cell]:
    kind = str(dataset.attrs["kind"])
    values = dataset[()]
    if kind == "int":
        return [None if math.isnan(v) else int(v) for v in values.tolist()]
    if kind == "float":
        return [None if math.isnan(v) else float(v) for v in values.tolist()]
    if kind == "bool":
        return [bool(v) for v in values.tolist()]
    text = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values.tolist()]
    if kind == "str":
        return [t or None for t in text]
    decoded: list[Cell] = [json.loads(t) for t in text]
    return decoded


def csv_cell(cell: Cell) -> str:
    """A cell as CSV text: floats at full precision (repr), empty when missing."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    return repr(cell) if isinstance(cell, float) else str(cell)
