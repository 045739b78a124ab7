"""Write a trace report to files: text, PNG plots, or one self-contained HTML page."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

from archsim.analysis.plots import FIGURES, png_bytes
from archsim.analysis.report import TraceReport, format_report, report_tables, summary_text
from archsim.files import write_atomic

TEXT_NAME = "report.txt"
HTML_NAME = "report.html"

PAGE_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
table { border-collapse: collapse; margin: 1.5em 0 0.5em; font-size: 0.85em; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.4em; }
th, td { padding: 0.15em 0.6em; border-bottom: 1px solid #e4e4e4; white-space: nowrap; }
th { border-bottom: 2px solid #999; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: bold; border-top: 2px solid #999; }
p.note { font-size: 0.8em; color: #555; }
figure { margin: 2em 0; }
figure img { max-width: 100%; }
"""

_CAPTIONS = {
    "utilization": "Utilization over time by component class, and MAC-cluster time by state.",
    "stalls_per_layer": "Stall time per layer, stacked by cause.",
    "dram_bandwidth": "DRAM read and write bandwidth over time.",
    "roofline": "Roofline: each layer's operational intensity and achieved throughput.",
}


def default_report_dir(trace_path: str | os.PathLike[str]) -> Path:
    """traces/run.h5 -> traces/run-report/"""
    path = Path(trace_path)
    return path.with_name(f"{path.stem}-report")


def html_page(report: TraceReport, images: dict[str, bytes], top: int = 10) -> str:
    """One HTML page with the summary, every table and the PNGs inlined as data URIs."""
    title = f"archsim report: {report.trace.path.name}"
    figures = [
        f'<figure><img alt="{html.escape(_CAPTIONS[stem])}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
        f"<figcaption>{html.escape(_CAPTIONS[stem])}</figcaption></figure>"
        for stem, png in images.items()
    ]
    notes = []
    if report.roofs is None:
        notes.append(f"<p class='note'>roofline: {html.escape(report.roofs_problem)}</p>")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title><style>{PAGE_CSS}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            f"<pre>{html.escape(summary_text(report))}</pre>",
            *figures,
            *(table.to_html() for table in report_tables(report, top)),
            *notes,
            "</body></html>",
        ]
    )


def write_report(
    report: TraceReport,
    out_dir: str | os.PathLike[str],
    *,
    as_html: bool = False,
    plots: bool = True,
    top: int = 10,
) -> list[Path]:
    """Write the report into `out_dir` (created if needed); return the files written.

    Always report.txt; then either one PNG per plot (FIGURES, unless `plots` is off) or,
    with `as_html`, one self-contained report.html holding the plots. Files are written
    atomically (NAME.tmp, then renamed).
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = [write_atomic(folder / TEXT_NAME, format_report(report, top) + "\n")]
    images = {stem: png_bytes(draw(report)) for stem, draw in FIGURES.items()} if plots else {}
    if as_html:
        written.append(write_atomic(folder / HTML_NAME, html_page(report, images, top)))
    else:
        written += [write_atomic(folder / f"{stem}.png", png) for stem, png in images.items()]
    return written
