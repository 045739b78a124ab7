"""The scorecard as text, CSV and one HTML page (with the plots inlined)."""

from __future__ import annotations

import base64
import csv
import html
import io
from collections.abc import Sequence

from archsim.analysis.report_output import PAGE_CSS
from archsim.analysis.table import ReportTable
from archsim.bench.scorecard import COLUMNS, Cell, ScorecardRow
from archsim.sweep.results import csv_cell

TEXT_COLUMNS = (
    ("arch", "arch"),
    ("workload", "workload"),
    ("input", "input"),
    ("batch", ">batch"),
    ("precision", "prec"),
    ("scenario", "scenario"),
    ("corner", "corner"),
    ("fps", ">fps"),
    ("latency_ms", ">latency ms"),
    ("mac_utilization", ">MAC util"),
    ("fps_per_tops", ">fps/TOPS"),
    ("fps_per_dram_channel", ">fps/DRAM ch"),
    ("fps_per_w", ">fps/W"),
    ("fps_per_mm2", ">fps/mm2"),
    ("fps_per_cost", ">fps/cost"),
    ("clock_mhz", ">clock MHz"),
)
"""(column, header) of the printed scorecard; '>' right-aligns."""


def format_cell(cell: Cell) -> str:
    """Short text of a cell: 4 significant digits (whole numbers from 10,000), '-' when
    missing."""
    if cell is None:
        return "-"
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, float):
        return f"{cell:,.0f}" if abs(cell) >= 1e4 else f"{cell:.4g}"
    return str(cell)


def scorecard_table(title: str, rows: Sequence[ScorecardRow]) -> ReportTable:
    """The printed scorecard; failed cases show their status in the fps column."""
    body = []
    for row in rows:
        cells = [format_cell(row[column]) for column, _ in TEXT_COLUMNS]
        if not row.ok:
            cells[TEXT_COLUMNS.index(("fps", ">fps"))] = str(row["status"])
        body.append(tuple(cells))
    notes = tuple(
        f"point {row['point']} {row['status']}: {row['error']}" for row in rows if not row.ok
    )
    headers = tuple(header for _, header in TEXT_COLUMNS)
    return ReportTable(title, headers, body, notes=notes)


def scorecard_csv(rows: Sequence[ScorecardRow]) -> str:
    """Every column of every row as CSV (floats at full precision, empty = missing)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([csv_cell(row[column]) for column in COLUMNS])
    return buffer.getvalue()


def scorecard_html(
    title: str, description: str, table: ReportTable, images: dict[str, bytes], notes: list[str]
) -> str:
    """One self-contained HTML page: the scorecard table and every plot as a data URI."""
    figures = [
        f'<figure><img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
        f"<figcaption>{html.escape(name)}</figcaption></figure>"
        for name, png in images.items()
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title><style>{PAGE_CSS}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            f"<p>{html.escape(description)}</p>" if description else "",
            *(f"<p class='note'>{html.escape(note)}</p>" for note in notes),
            table.to_html(),
            *figures,
            "</body></html>",
        ]
    )
