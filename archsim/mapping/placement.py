"""Where bytes live in SRAM: home banks of clusters and block interleaving of tensors.

Every on-chip tensor is spread over all banks in address order (bank k holds the k-th
1/banks of its bytes, NHWC row-major), so a tile's region is read from, or written to,
the one or two banks its rows fall in. Bytes of a region are apportioned to banks by the
region's row address range (channel sub-ranges are not modelled in the address map).
Staging for DRAM traffic, and each layer's weight blocks, use the home bank of the
cluster that first needs them.
"""

from __future__ import annotations

from archsim.mapping.regions import Span
from archsim.workload.graph import TensorShape


def home_bank(cluster: int, clusters: int, banks: int) -> int:
    """The bank nearest to a cluster by index (cluster i of n -> bank i * banks // n)."""
    return cluster * banks // clusters


def bank_shares(
    shape: TensorShape, image: int, rows: Span, nbytes: int, banks: int
) -> list[tuple[int, int]]:
    """(bank, bytes) pairs covering a region of ``nbytes`` over ``rows`` of one image."""
    if nbytes <= 0:
        return []
    row_bytes = shape.width * shape.channels
    total = shape.batch * shape.height * row_bytes
    start = (image * shape.height + rows[0]) * row_bytes
    end = (image * shape.height + rows[1]) * row_bytes
    span = max(1, end - start)
    shares = []
    first_bank = start * banks // total
    last_bank = min(banks - 1, (max(start, end - 1)) * banks // total)
    for bank in range(first_bank, last_bank + 1):
        lo = max(start, -(-bank * total // banks))
        hi = min(end, -(-(bank + 1) * total // banks))
        before = nbytes * (lo - start) // span
        upto = nbytes * (hi - start) // span if bank < last_bank else nbytes
        if upto > before:
            shares.append((bank, upto - before))
    return shares
