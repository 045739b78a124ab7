"""Reading older trace layouts: what each version lacks and how it maps to the current one.

Version 1 (one inference per trace) had no ``frame`` columns and no ``/frames`` or
``/queue`` tables. Its rows all belong to frame 0 (states without a layer to none), and
its one frame arrived and started at 0 and ended with the run.
"""

from __future__ import annotations

import numpy as np

from archsim.trace.schema import FRAMES, QUEUE, STATES, TRANSFERS, Table

_ADDED_IN_2_TABLES = frozenset({FRAMES.name, QUEUE.name})
_ADDED_IN_2_COLUMNS = {STATES.name: frozenset({"frame"}), TRANSFERS.name: frozenset({"frame"})}


def absent_columns(version: int, table: Table) -> frozenset[str]:
    """Columns of ``table`` a trace of ``version`` does not hold (all for a newer table)."""
    if version >= 2:
        return frozenset()
    if table.name in _ADDED_IN_2_TABLES:
        return frozenset(table.column_names)
    return _ADDED_IN_2_COLUMNS.get(table.name, frozenset())


def upgrade(
    version: int, tables: dict[str, dict[str, np.ndarray]], run_end_ps: int
) -> dict[str, dict[str, np.ndarray]]:
    """The tables of a trace of ``version``, in the current layout (column order included)."""
    if version >= 2:
        return tables
    states = tables[STATES.name]
    states["frame"] = np.where(states["layer"] >= 0, 0, -1).astype(np.int32)
    transfers = tables[TRANSFERS.name]
    transfers["frame"] = np.zeros(len(transfers["id"]), np.int32)
    one_frame = {"frame": 0, "query": 0, "engine": 0, "arrival_ps": 0, "start_ps": 0}
    one_frame |= {"end_ps": run_end_ps, "dropped": 0}
    tables[FRAMES.name] = {
        name: np.array([one_frame[name]], dtype) for name, dtype in FRAMES.dtypes.items()
    }
    tables[QUEUE.name] = {name: np.empty(0, dtype) for name, dtype in QUEUE.dtypes.items()}
    for table in (STATES, TRANSFERS):
        tables[table.name] = {name: tables[table.name][name] for name in table.column_names}
    return tables
