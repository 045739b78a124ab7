"""Time and size units. Simulation time is an integer number of picoseconds."""

from __future__ import annotations

PS_PER_NS = 1_000
PS_PER_US = 1_000_000
PS_PER_MS = 1_000_000_000
PS_PER_S = 1_000_000_000_000
KIB = 1024
MIB = 1024 * 1024


def clock_period_ps(clock_mhz: float) -> int:
    """Clock period in whole picoseconds (1000 MHz -> 1000 ps)."""
    period = round(1_000_000 / clock_mhz)
    if period <= 0:
        raise ValueError(f"clock of {clock_mhz} MHz is too fast for picosecond time")
    return period


def ns_to_ps(ns: float) -> int:
    """Nanoseconds to whole picoseconds."""
    return round(ns * PS_PER_NS)


def ceil_div(numerator: int, denominator: int) -> int:
    """Integer ceiling division for non-negative numerator and positive denominator."""
    return -(-numerator // denominator)
