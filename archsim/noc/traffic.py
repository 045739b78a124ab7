"""Synthetic traffic patterns over a grid of traffic nodes.

Node ``i`` sits at grid position ``(i % cols, i // cols)``. A pattern gives, for each
packet a source generates, its destination node (or -1: the source sends nothing), and
the expected share of a source's packets going to each destination (the deterministic
NoC reserves bandwidth from these shares before time 0).

- ``uniform``: destination uniform over the other nodes.
- ``transpose``: ``(x, y) -> (y, x)``; needs a square grid. Nodes on the diagonal would
  send to themselves, so they send nothing (they are not counted as active nodes).
- ``hotspot``: a fraction of every source's packets go to node 0, the rest uniform over
  the other nodes; node 0 itself sends uniform traffic.
- ``neighbour``: to ``(x + 1 mod cols, y)``; needs at least two columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from archsim.errors import UserError


class Pattern(StrEnum):
    """Synthetic traffic patterns."""

    UNIFORM = "uniform"
    TRANSPOSE = "transpose"
    HOTSPOT = "hotspot"
    NEIGHBOUR = "neighbour"


@dataclass(frozen=True)
class Grid:
    """Traffic nodes laid out as cols x rows (node i at (i % cols, i // cols))."""

    cols: int
    rows: int

    @property
    def nodes(self) -> int:
        """Number of traffic nodes."""
        return self.cols * self.rows

    @classmethod
    def for_bus(cls, nodes: int) -> Grid:
        """A square grid if ``nodes`` is a square, else one row (patterns need positions)."""
        side = math.isqrt(nodes)
        return cls(side, side) if side * side == nodes else cls(nodes, 1)


@dataclass(frozen=True)
class Traffic:
    """A pattern on a grid."""

    pattern: Pattern
    grid: Grid
    hotspot_fraction: float = 0.2

    def __post_init__(self) -> None:
        grid = self.grid
        if grid.nodes < 2:
            raise UserError("synthetic traffic needs at least 2 nodes")
        if self.pattern is Pattern.TRANSPOSE and grid.cols != grid.rows:
            raise UserError(
                f"transpose traffic needs a square grid of nodes, got {grid.cols}x{grid.rows}"
            )
        if self.pattern is Pattern.NEIGHBOUR and grid.cols < 2:
            raise UserError("neighbour traffic needs at least 2 columns of nodes")
        if not 0.0 <= self.hotspot_fraction <= 1.0:
            raise UserError(f"--hotspot-fraction must be in [0, 1], got {self.hotspot_fraction}")

    def fixed_destination(self, src: int) -> int | None:
        """The only destination of a deterministic pattern (-1: sends nothing), else None."""
        cols = self.grid.cols
        x, y = src % cols, src // cols
        if self.pattern is Pattern.TRANSPOSE:
            return -1 if x == y else x * cols + y
        if self.pattern is Pattern.NEIGHBOUR:
            return y * cols + (x + 1) % cols
        return None

    def active(self, src: int) -> bool:
        """Whether the node sends anything."""
        return self.fixed_destination(src) != -1

    def active_nodes(self) -> list[int]:
        """Nodes that send traffic, in order."""
        return [n for n in range(self.grid.nodes) if self.active(n)]

    def destinations(self, src: int, count: int, rng: np.random.Generator) -> np.ndarray:
        """Destinations of ``count`` consecutive packets from ``src`` (int64 array)."""
        fixed = self.fixed_destination(src)
        if fixed is not None:
            return np.full(count, fixed, np.int64)
        n = self.grid.nodes
        dst = rng.integers(0, n - 1, size=count, dtype=np.int64)
        dst += dst >= src  # uniform over the other nodes
        if self.pattern is Pattern.HOTSPOT and src != 0:
            hot = rng.random(count) < self.hotspot_fraction
            dst[hot] = 0
        return dst

    def shares(self, src: int) -> dict[int, float]:
        """Expected fraction of src's packets going to each destination (empty: silent)."""
        fixed = self.fixed_destination(src)
        if fixed is not None:
            return {} if fixed < 0 else {fixed: 1.0}
        n = self.grid.nodes
        others = [d for d in range(n) if d != src]
        if self.pattern is Pattern.HOTSPOT and src != 0:
            rest = (1.0 - self.hotspot_fraction) / (n - 1)
            return {d: rest + (self.hotspot_fraction if d == 0 else 0.0) for d in others}
        return dict.fromkeys(others, 1.0 / (n - 1))


def parse_rates(text: str) -> list[float]:
    """``a:b:step`` (inclusive) or a comma list -> rates; UserError on anything else."""
    text = text.strip()
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) != 3:
                raise ValueError
            start, stop, step = parts
            if step <= 0 or stop < start:
                raise UserError(f"--rates {text!r}: need start <= stop and step > 0")
            count = math.floor((stop - start) / step + 1e-9) + 1
            rates = [round(start + i * step, 12) for i in range(count)]
        else:
            rates = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise UserError(
            f"--rates {text!r}: expected START:STOP:STEP or a comma list, e.g. 0.05:0.5:0.05"
        ) from None
    if not rates:
        raise UserError("--rates: no rate given")
    bad = [r for r in rates if not (r > 0 and math.isfinite(r))]
    if bad:
        raise UserError(f"--rates: every rate must be > 0 flits/node/cycle, got {bad[0]:g}")
    return rates
