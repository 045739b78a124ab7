"""Roofline bound: no run can be faster than its compute or its compulsory DRAM traffic."""

from __future__ import annotations

from dataclasses import dataclass

from archsim.config import ArchConfig
from archsim.domain import Precision
from archsim.units import PS_PER_S


def peak_macs_per_s(arch: ArchConfig, precision: Precision) -> float:
    """MACs per second of all clusters at the precision's rate."""
    cfg = arch.mac_clusters
    return cfg.count * cfg.rows * cfg.cols * cfg.mac_rate[precision] * cfg.clock_mhz * 1e6


def peak_dram_bytes_per_s(arch: ArchConfig) -> float:
    """Peak DRAM bandwidth of all channels (before efficiency)."""
    return arch.dram.channels * arch.dram.peak_gb_per_s * 1e9


@dataclass(frozen=True)
class RooflineBound:
    """Lower bounds on latency, in picoseconds."""

    compute_ps: float
    dram_ps: float

    @property
    def bound_ps(self) -> float:
        """The binding bound."""
        return max(self.compute_ps, self.dram_ps)

    @property
    def limiter(self) -> str:
        """Which roof binds: "compute" or "dram"."""
        return "compute" if self.compute_ps >= self.dram_ps else "dram"


def roofline_bound(
    arch: ArchConfig, precision: Precision, macs: int, compulsory_dram_bytes: int
) -> RooflineBound:
    """max(MACs / peak MAC rate, compulsory DRAM bytes / peak DRAM bandwidth)."""
    return RooflineBound(
        compute_ps=macs / peak_macs_per_s(arch, precision) * PS_PER_S,
        dram_ps=compulsory_dram_bytes / peak_dram_bytes_per_s(arch) * PS_PER_S,
    )
