"""Closed-form compute time of a GEMM on a systolic array, as SCALE-Sim models it.

For an R x C array and a GEMM with M output positions, N filters and K reduction length:

- output stationary: ceil(M/R) * ceil(N/C) folds of (R + C + K - 2) cycles
- weight stationary:  ceil(K/R) * ceil(N/C) folds of (2R + C + M - 2) cycles
- input stationary:   ceil(K/R) * ceil(M/C) folds of (2R + C + N - 2) cycles

Each fold includes fill and drain; folds run back to back. A MAC rate below 1 per PE per
cycle (e.g. BF16 on an INT8-native array) stretches the cycle count by 1/rate.
"""

from __future__ import annotations

import math

from archsim.domain import Dataflow
from archsim.units import ceil_div


def systolic_cycles(rows: int, cols: int, dataflow: Dataflow, m: int, n: int, k: int) -> int:
    """Cycles for one GEMM (M x K) . (K x N) at one MAC per PE per cycle."""
    if m <= 0 or n <= 0 or k <= 0:
        return 0
    if dataflow is Dataflow.OS:
        return ceil_div(m, rows) * ceil_div(n, cols) * (rows + cols + k - 2)
    if dataflow is Dataflow.WS:
        return ceil_div(k, rows) * ceil_div(n, cols) * (2 * rows + cols + m - 2)
    return ceil_div(k, rows) * ceil_div(m, cols) * (2 * rows + cols + n - 2)


def scaled_cycles(cycles: int, mac_rate: float) -> int:
    """Cycles at a MAC rate (MACs per PE per cycle, 0 < rate <= 1), rounded up."""
    return math.ceil(cycles / mac_rate)
