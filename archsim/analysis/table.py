"""A small table of preformatted cells, rendered as aligned text or as HTML."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ReportTable:
    """A titled table. Columns whose header starts with ">" are right-aligned (numbers)."""

    title: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    footer: Sequence[tuple[str, ...]] = ()
    """Rows set apart below a rule (totals, gaps)."""
    notes: tuple[str, ...] = ()
    """Lines printed under the table."""

    @property
    def labels(self) -> tuple[str, ...]:
        """Headers without their alignment marker."""
        return tuple(header.removeprefix(">") for header in self.headers)

    @property
    def right(self) -> tuple[bool, ...]:
        """Per column: right-aligned?"""
        return tuple(header.startswith(">") for header in self.headers)

    def to_text(self) -> str:
        """Aligned plain text with a title line, a header rule and the notes."""
        lines = [*self.rows, *self.footer]
        widths = [
            max(len(label), *(len(row[i]) for row in lines)) if lines else len(label)
            for i, label in enumerate(self.labels)
        ]

        def line(cells: tuple[str, ...]) -> str:
            padded = (
                cell.rjust(width) if right else cell.ljust(width)
                for cell, width, right in zip(cells, widths, self.right, strict=True)
            )
            return "  " + "  ".join(padded).rstrip()

        rule = "  " + "  ".join("-" * width for width in widths)
        out = [self.title, line(self.labels), rule, *(line(row) for row in self.rows)]
        if self.footer:
            out += [rule, *(line(row) for row in self.footer)]
        out += [f"  {note}" for note in self.notes]
        return "\n".join(out)

    def to_html(self) -> str:
        """An HTML <table> with caption; footer rows in <tfoot>, notes in a paragraph."""

        def row(cells: tuple[str, ...], tag: str = "td") -> str:
            return (
                "<tr>"
                + "".join(
                    f'<{tag} class="{"num" if right else "text"}">{html.escape(cell)}</{tag}>'
                    for cell, right in zip(cells, self.right, strict=True)
                )
                + "</tr>"
            )

        parts = [
            f"<table><caption>{html.escape(self.title)}</caption>",
            f"<thead>{row(self.labels, 'th')}</thead>",
            "<tbody>" + "".join(row(cells) for cells in self.rows) + "</tbody>",
        ]
        if self.footer:
            parts.append("<tfoot>" + "".join(row(cells) for cells in self.footer) + "</tfoot>")
        parts.append("</table>")
        if self.notes:
            parts.append(f'<p class="note">{"<br>".join(map(html.escape, self.notes))}</p>')
        return "\n".join(parts)
