"""A growable columnar buffer: one preallocated numpy array per column, doubled when full,
or handed to a sink and emptied once it holds its row limit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

# struct format characters by (dtype kind, itemsize), for memoryview writes
_FORMATS = {
    ("i", 1): "b",
    ("i", 2): "h",
    ("i", 4): "i",
    ("i", 8): "q",
    ("u", 1): "B",
    ("u", 2): "H",
    ("u", 4): "I",
    ("u", 8): "Q",
    ("f", 4): "f",
    ("f", 8): "d",
    ("b", 1): "?",
}


def _writable_view(array: np.ndarray) -> memoryview[Any]:
    """A 1-D memoryview of a numeric array; item assignment is C-speed and range-checked."""
    code = _FORMATS[array.dtype.kind, array.dtype.itemsize]
    view: memoryview[Any] = array.data.cast("B").cast(code)  # type: ignore[call-overload]
    return view


class ColumnTable:
    """Rows appended into preallocated per-column numpy arrays, with amortised doubling.

    A row is committed only when every column of it has been written: a value rejected
    mid-row (wrong type, out of range for the dtype) raises and leaves the table unchanged.

    With a `sink`, a table holding `limit` rows (or more) that is full hands its rows to the
    sink instead of growing, and starts again from row 0: it then holds at most
    max(limit, initial_rows) rows, `flushed` counts the rows handed over before its first.

    Hot paths may write through `views` directly, as `append` does: read `i = n`; if
    `i == capacity`, `i = make_room()`; write `views[k][i]` for every column k; set `n = i + 1`.
    """

    __slots__ = (
        "names",
        "dtypes",
        "views",
        "n",
        "capacity",
        "flushed",
        "_arrays",
        "_limit",
        "_sink",
    )

    def __init__(
        self,
        columns: Mapping[str, DTypeLike],
        initial_rows: int = 65536,
        sink: Callable[[dict[str, np.ndarray]], None] | None = None,
        limit: int = 0,
    ) -> None:
        if initial_rows < 1:
            raise ValueError(f"initial_rows must be >= 1, got {initial_rows}")
        self.names: tuple[str, ...] = tuple(columns)
        self.dtypes: tuple[np.dtype, ...] = tuple(np.dtype(d) for d in columns.values())
        for name, dtype in zip(self.names, self.dtypes, strict=True):
            if (dtype.kind, dtype.itemsize) not in _FORMATS:
                raise TypeError(f"column {name!r}: unsupported dtype {dtype} (numeric only)")
        self.n = 0
        self.capacity = initial_rows
        self.flushed = 0
        self._sink = sink
        self._limit = limit
        self._arrays = [np.empty(initial_rows, dtype) for dtype in self.dtypes]
        self.views: tuple[memoryview[Any], ...] = tuple(_writable_view(a) for a in self._arrays)

    def __len__(self) -> int:
        return self.n

    def append(self, *values: Any) -> None:
        """Append one row, values in column order."""
        if len(values) != len(self.views):
            raise TypeError(f"expected {len(self.views)} values {self.names}, got {len(values)}")
        i = self.n
        if i == self.capacity:
            i = self.make_room()
        for view, value in zip(self.views, values, strict=True):
            view[i] = value
        self.n = i + 1

    def make_room(self) -> int:
        """Room for one more row in a full table: flush it at its limit, else grow it.
        Returns the index of the next row (0 after a flush); `views` may have changed."""
        if self._sink is not None and self.capacity >= self._limit:
            self.flush()
        else:
            self.grow()
        return self.n

    def flush(self) -> None:
        """Hand the committed rows to the sink (as `arrays()`) and empty the table."""
        if self._sink is None:
            raise ValueError("a table without a sink cannot be flushed")
        if self.n:
            self._sink(self.arrays())
        self.flushed += self.n
        self.n = 0

    def grow(self) -> None:
        """Double the capacity, keeping every committed row; previous `views` become stale."""
        capacity = self.capacity * 2
        grown = []
        for old in self._arrays:
            new = np.empty(capacity, old.dtype)
            new[: self.n] = old[: self.n]
            grown.append(new)
        self._arrays = grown
        self.views = tuple(_writable_view(a) for a in grown)
        self.capacity = capacity

    def arrays(self) -> dict[str, np.ndarray]:
        """The committed rows, by column name: read-only views, not copies (rows are only
        ever appended, so later appends and growth leave them as they are; a flush
        overwrites them)."""
        committed = {}
        for name, array in zip(self.names, self._arrays, strict=True):
            view = array[: self.n]
            view.flags.writeable = False
            committed[name] = view
        return committed
