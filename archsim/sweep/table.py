"""The results table of a sweep: one row per point, ordered by point id.

Columns, in order: ``point``; every factor (named by its key, e.g. ``arch.sram.banks``);
``status`` (ok, error, lost), ``error``, ``point_wall_s`` (worker time of the point,
including the trace), ``trace`` (path relative to the sweep folder); then every summary
metric, nested dicts flattened with dots (``stall_ps.dram``, ``interconnect.contention_ps``),
in the order they first appear. A metric a point lacks (a failed point, or a key only some
interconnect kinds report) is None. Cells are None, bool, int, float or str; factor values
that are lists or mappings are kept as JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archsim.sweep.point import PointRecord

Cell = None | bool | int | float | str

POINT = "point"
STATUS = "status"
ERROR = "error"
POINT_WALL_S = "point_wall_s"
TRACE = "trace"
RECORD_COLUMNS = (STATUS, ERROR, POINT_WALL_S, TRACE)
WALL_TIME_COLUMNS = (POINT_WALL_S, "wall_s")
"""Columns that measure wall time and so differ between otherwise identical runs."""


@dataclass(frozen=True)
class ResultsTable:
    """Rows of cells by column name; ``factors`` are the factor columns."""

    columns: tuple[str, ...]
    factors: tuple[str, ...]
    rows: tuple[dict[str, Cell], ...]

    def column(self, name: str) -> list[Cell]:
        """The cells of one column, in row order."""
        if name not in self.columns:
            raise KeyError(name)
        return [row.get(name) for row in self.rows]

    def without(self, names: Iterable[str]) -> ResultsTable:
        """The table without the named columns (e.g. ``WALL_TIME_COLUMNS``)."""
        dropped = set(names)
        columns = tuple(name for name in self.columns if name not in dropped)
        rows = tuple({name: row.get(name) for name in columns} for row in self.rows)
        return ResultsTable(columns, tuple(f for f in self.factors if f not in dropped), rows)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The summary metric columns."""
        fixed = {POINT, *self.factors, *RECORD_COLUMNS}
        return tuple(name for name in self.columns if name not in fixed)


def build_table(factors: Sequence[str], records: Iterable[PointRecord]) -> ResultsTable:
    """The table of ``records`` (sorted by point id) for a sweep with ``factors``."""
    ordered = sorted(records, key=lambda record: record.point)
    metric_names: dict[str, None] = {}
    flattened = []
    for record in ordered:
        metrics = flatten(record.summary or {})
        metric_names.update(dict.fromkeys(metrics))
        flattened.append(metrics)
    fixed = [POINT, *factors, *RECORD_COLUMNS]
    columns = (*fixed, *(name for name in metric_names if name not in fixed))
    rows = []
    for record, metrics in zip(ordered, flattened, strict=True):
        row: dict[str, Cell] = {name: metrics.get(name) for name in columns}
        row[POINT] = record.point
        row.update({key: to_cell(record.values.get(key)) for key in factors})
        row[STATUS] = record.status.value
        row[ERROR] = record.error
        row[POINT_WALL_S] = record.wall_s
        row[TRACE] = record.trace
        rows.append(row)
    return ResultsTable(tuple(columns), tuple(factors), tuple(rows))


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Cell]:
    """Nested dicts as one level with dotted keys: {"a": {"b": 1}} -> {"a.b": 1}."""
    flat: dict[str, Cell] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = to_cell(value)
    return flat


def to_cell(value: Any) -> Cell:
    """A table cell: scalars as they are, anything else as JSON text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True)
