"""DRAM presets: per-channel organisation and timing of common memory standards.

``peak_gb_per_s`` is the channel's data rate times its width (1 GB = 1e9 bytes);
``burst_bytes`` what one burst moves (burst length x width); ``row_bytes`` the row (page)
of one bank across the channel width. Timings are datasheet-level minimums in ns: tCL
(read latency), tRCD (activate to read), tRP (precharge), tRAS (activate to precharge),
tRRD (activate to activate, different banks), tFAW (window holding at most four
activates), tREFI (average refresh interval) and tRFC (time one all-bank refresh blocks
the channel). Row-hit and row-miss latencies are derived from them (see
``archsim.hw.dram``). Where a channel gangs two device channels (LPDDR4X x32, GDDR6 x32,
HBM2E pseudo-channels), burst and row are those of the pair.
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
    burst_bytes: int
    banks: int
    bank_groups: int
    row_bytes: int
    tcl_ns: float
    trcd_ns: float
    trp_ns: float
    tras_ns: float
    trrd_ns: float
    tfaw_ns: float
    trefi_ns: float
    trfc_ns: float

    def fields(self) -> dict[str, float]:
        """The preset as DramConfig keys and values."""
        return asdict(self)


DRAM_PRESETS: MappingProxyType[str, DramPreset] = MappingProxyType(
    {
        # JESD209-4B LPDDR4X-4266, 8 Gb per x16 channel; two x16 channels in lockstep
        # (x32): 4266e6 * 4 B = 17.064 GB/s, BL16 * 4 B = 64 B, 2 x 2 KiB pages, 8 banks.
        # RL 36 nCK (tCK 0.469 ns), tRCD/tRPpb 18 ns, tRAS 42 ns, tRRD 7.5 ns, tFAW 30 ns,
        # tREFI 3.904 us, tRFCab 280 ns.
        "lpddr4x-4266": DramPreset(
            peak_gb_per_s=17.064,
            burst_bytes=64,
            banks=8,
            bank_groups=1,
            row_bytes=4096,
            tcl_ns=16.9,
            trcd_ns=18.0,
            trp_ns=18.0,
            tras_ns=42.0,
            trrd_ns=7.5,
            tfaw_ns=30.0,
            trefi_ns=3904.0,
            trfc_ns=280.0,
        ),
        # JESD79-4 DDR4-3200AA (22-22-22, tCK 0.625 ns), x64 channel of 8 Gb x8 devices:
        # 3200e6 * 8 B = 25.6 GB/s, BL8 * 8 B = 64 B, 8 x 1 KiB pages, 16 banks in 4 groups.
        # tRAS 32 ns, tRRD_S 2.5 ns, tFAW 21 ns (1 KiB page), tREFI 7.8 us, tRFC1 350 ns.
        "ddr4-3200": DramPreset(
            peak_gb_per_s=25.6,
            burst_bytes=64,
            banks=16,
            bank_groups=4,
            row_bytes=8192,
            tcl_ns=13.75,
            trcd_ns=13.75,
            trp_ns=13.75,
            tras_ns=32.0,
            trrd_ns=2.5,
            tfaw_ns=21.0,
            trefi_ns=7800.0,
            trfc_ns=350.0,
        ),
        # JESD250 GDDR6 at 14 Gb/s, 8 Gb x32 device (two x16 channels in lockstep):
        # 14e9 * 32 / 8 = 56 GB/s, BL16 * 4 B = 64 B, 2 x 2 KiB pages, 16 banks in 4 groups.
        # CK 1.75 GHz: CL 24 nCK, tRCD/tRP 26 nCK, tRRD 7 nCK, tFAW 28 nCK; tRAS 30 ns,
        # tREFI 1.9 us, tRFCab 120 ns.
        "gddr6-14": DramPreset(
            peak_gb_per_s=56.0,
            burst_bytes=64,
            banks=16,
            bank_groups=4,
            row_bytes=4096,
            tcl_ns=13.7,
            trcd_ns=14.9,
            trp_ns=14.9,
            tras_ns=30.0,
            trrd_ns=4.0,
            tfaw_ns=16.0,
            trefi_ns=1900.0,
            trfc_ns=120.0,
        ),
        # JESD235C HBM2E at 3.2 Gb/s, one 128-bit channel as its two 64-bit pseudo-channels
        # in lockstep: 3.2e9 * 128 / 8 = 51.2 GB/s, BL4 * 16 B = 64 B, 2 x 1 KiB pages,
        # 16 banks in 4 groups. tCL/tRCD/tRP 14 ns, tRAS 33 ns, tRRD_S 2.5 ns, tFAW 15 ns,
        # tREFI 3.9 us, tRFC 260 ns (8 Gb dies).
        "hbm2e": DramPreset(
            peak_gb_per_s=51.2,
            burst_bytes=64,
            banks=16,
            bank_groups=4,
            row_bytes=2048,
            tcl_ns=14.0,
            trcd_ns=14.0,
            trp_ns=14.0,
            tras_ns=33.0,
            trrd_ns=2.5,
            tfaw_ns=15.0,
            trefi_ns=3900.0,
            trfc_ns=260.0,
        ),
    }
)
