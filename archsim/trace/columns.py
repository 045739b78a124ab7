"""A growable columnar buffer: one preallocated numpy array per column, doubled when full."""

from __future__ import annotations

from collections.abc import Mapping
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

    Hot paths may write through `views` directly, as `append` does: check `n == capacity`
    (then `grow()`), write `views[k][n]` for every column k, then increment `n`.
    """

    __slots__ = ("names", "dtypes", "views", "n", "capacity", "_arrays")

    def __init__(self, columns: Mapping[str, DTypeLike], initial_rows: int = 65536) -> None:
        if initial_rows < 1:
            raise ValueError(f"initial_rows must be >= 1, got {initial_rows}")
        self.names: tuple[str, ...] = tuple(columns)
        self.dtypes: tuple[np.dtype, ...] = tuple(np.dtype(d) for d in columns.values())
        for name, dtype in zip(self.names, self.dtypes, strict=True):
            if (dtype.kind, dtype.itemsize) not in _FORMATS:
                raise TypeError(f"column {name!r}: unsupported dtype {dtype} (numeric only)")
        self.n = 0
        self.capacity = initial_rows
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
            self.grow()
        for view, value in zip(self.views, values, strict=True):
            view[i] = value
        self.n = i + 1

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
        ever appended, so later appends and growth leave them as they are)."""
        committed = {}
        for name, array in zip(self.names, self._arrays, strict=True):
            view = array[: self.n]
            view.flags.writeable = False
            committed[name] = view
        return committed
