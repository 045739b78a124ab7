"""DRAM presets: per-channel timing and bandwidth of common memory standards.

``peak_gb_per_s`` is the channel's data rate times its width (1 GB = 1e9 bytes);
``efficiency`` the sustained fraction of peak for well-interleaved streaming transfers;
the latencies are first-access latencies (row open: ~tCL + burst; row miss: ~tRP + tRCD +
tCL + burst); ``trefi_ns`` is the average refresh interval and ``trfc_ns`` the time one
refresh blocks the channel.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Literal

DramPresetName = Literal["lpddr4x-4266", "ddr4-3200", "gddr6-14", "hbm2e"]


@dataclass(frozen=True)
class DramPreset:
    """Values a named preset fills into ``DramConfig`` (all per channel)."""

    peak_gb_per_s: float
    efficiency: float
    row_hit_latency_ns: float
    row_miss_latency_ns: float
    trefi_ns: float
    trfc_ns: float

    def fields(self) -> dict[str, float]:
        """The preset as DramConfig keys and values."""
        return asdict(self)


DRAM_PRESETS: MappingProxyType[str, DramPreset] = MappingProxyType(
    {
        # x32 channel at 4266 MT/s: 4266e6 * 4 B = 17.064 GB/s; tREFI 3.9 us, tRFCab 280 ns.
        "lpddr4x-4266": DramPreset(
            peak_gb_per_s=17.064,
            efficiency=0.92,
            row_hit_latency_ns=28.0,
            row_miss_latency_ns=46.0,
            trefi_ns=3904.0,
            trfc_ns=280.0,
        ),
        # x64 DIMM channel at 3200 MT/s: 3200e6 * 8 B = 25.6 GB/s; tREFI 7.8 us, tRFC 350 ns.
        "ddr4-3200": DramPreset(
            peak_gb_per_s=25.6,
            efficiency=0.92,
            row_hit_latency_ns=18.0,
            row_miss_latency_ns=42.0,
            trefi_ns=7800.0,
            trfc_ns=350.0,
        ),
        # x32 device at 14 Gb/s per pin: 14e9 * 32 / 8 = 56 GB/s; tREFI 1.9 us, tRFC 120 ns.
        "gddr6-14": DramPreset(
            peak_gb_per_s=56.0,
            efficiency=0.90,
            row_hit_latency_ns=20.0,
            row_miss_latency_ns=45.0,
            trefi_ns=1900.0,
            trfc_ns=120.0,
        ),
        # One 128-bit channel at 3.2 Gb/s per pin: 3.2e9 * 128 / 8 = 51.2 GB/s;
        # tREFI 3.9 us, tRFC 260 ns.
        "hbm2e": DramPreset(
            peak_gb_per_s=51.2,
            efficiency=0.93,
            row_hit_latency_ns=20.0,
            row_miss_latency_ns=40.0,
            trefi_ns=3900.0,
            trfc_ns=260.0,
        ),
    }
)
