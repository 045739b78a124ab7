"""``sweep-report``: the results table as text, sorted by a column.

The plots are drawn by ``archsim.sweep.plots``, which uses the column helpers here.
"""

from __future__ import annotations

from collections.abc import Sequence

from archsim.sweep.table import ERROR, POINT, STATUS, Cell, ResultsTable

DEFAULT_COLUMNS = (
    "latency_ms",
    "throughput_fps",
    "mac_utilization",
    "area_mm2",
    "energy_mj_per_inference",
    "dram_bytes_read",
    "interconnect.contention_ps",
)
_SHORT_PREFIXES = ("arch.", "run.")
_MAX_CELL = 28


def varying_factors(table: ResultsTable) -> list[str]:
    """The factor columns that take more than one value."""
    return [name for name in table.factors if len({repr(c) for c in table.column(name)}) > 1]


def shown_factors(table: ResultsTable) -> list[str]:
    """The varying factors, without those an earlier one determines (zip partners)."""
    shown: list[str] = []
    for name in varying_factors(table):
        if not any(_determines(table, earlier, name) for earlier in shown):
            shown.append(name)
    return shown


def _determines(table: ResultsTable, earlier: str, later: str) -> bool:
    """Whether each value of ``earlier`` comes with a single value of ``later``."""
    seen: dict[str, str] = {}
    for row in table.rows:
        key, value = repr(row.get(earlier)), repr(row.get(later))
        if seen.setdefault(key, value) != value:
            return False
    return True


def sort_rows(
    table: ResultsTable, column: str, *, descending: bool = False
) -> list[dict[str, Cell]]:
    """Rows sorted by ``column``; missing cells last, ties by point id."""
    present = [row for row in table.rows if row.get(column) is not None]
    missing = [row for row in table.rows if row.get(column) is None]
    numeric = all(isinstance(row[column], int | float) for row in present)

    def key(row: dict[str, Cell]) -> tuple[float | str, int]:
        value = row[column]
        point = int(row[POINT] or 0)
        if numeric:
            number = float(value)  # type: ignore[arg-type]
            return (-number if descending else number), point
        return str(value), point

    ordered = sorted(present, key=key)
    if descending and not numeric:
        ordered.reverse()
    return ordered + sorted(missing, key=lambda row: int(row[POINT] or 0))


def format_table(
    table: ResultsTable,
    rows: Sequence[dict[str, Cell]],
    metrics: Sequence[str],
    sort_by: str,
) -> str:
    """Aligned text: point, the varying factors, status, the metrics; errors after the table.

    Factors that another shown factor determines (e.g. a zip partner) are left out.
    """
    shown_metrics = list(metrics)
    if sort_by not in shown_metrics and sort_by not in (POINT, *table.factors, STATUS):
        shown_metrics.append(sort_by)
    columns = [POINT, *shown_factors(table), STATUS, *shown_metrics]
    header = [short_name(name) for name in columns]
    body = [[format_cell(row.get(name)) for name in columns] for row in rows]
    widths = [max(len(text) for text in column) for column in zip(header, *body, strict=True)]
    numeric = [
        all(isinstance(row.get(name), int | float | None) for row in rows) for name in columns
    ]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if is_number else cell.ljust(width)
            for cell, width, is_number in zip(cells, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    lines = [line(header), line(["-" * width for width in widths])]
    lines.extend(line(cells) for cells in body)
    failed = [row for row in rows if row.get(ERROR)]
    if failed:
        lines.append("")
        for row in failed:
            first = str(row[ERROR]).splitlines()[0]
            lines.append(f"point {row[POINT]} {row[STATUS]}: {first}")
    return "\n".join(lines)


def short_name(column: str) -> str:
    """A column name for headers and labels: 'arch.sram.banks' -> 'sram.banks'."""
    for prefix in _SHORT_PREFIXES:
        if column.startswith(prefix):
            return column[len(prefix) :]
    return column


def format_cell(cell: Cell) -> str:
    """A cell as short text: 4 significant digits for floats, '-' when missing."""
    if cell is None:
        return "-"
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float):
        return f"{cell:.4g}"
    if isinstance(cell, int):
        return f"{cell:,}"
    text = str(cell)
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 3] + "..."
