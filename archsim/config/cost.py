"""Energy, power and area parameters of an architecture (optional blocks of the arch YAML).

The defaults are order-of-magnitude figures for an edge accelerator in a 7-16 nm class
process with LPDDR4x, in line with published per-operation energies (an INT8 MAC a few
tenths of a pJ, floating point several times more, on-chip SRAM about a pJ per byte, DRAM
tens of pJ per byte). They are placeholders to compare designs with, not a process model:
put your own numbers in the arch file.
"""

from __future__ import annotations

from pydantic import Field, NonNegativeFloat

from archsim.config.base import PrecisionField, StrictModel
from archsim.domain import Precision


def _default_mac_pj() -> dict[Precision, float]:
    return {
        Precision.INT8: 0.25,
        Precision.INT16: 0.8,
        Precision.BF16: 1.0,
        Precision.FP16: 1.2,
        Precision.FP32: 4.0,
    }


class EnergyConfig(StrictModel):
    """Energy per action and static power per component."""

    mac_pj: dict[PrecisionField, NonNegativeFloat] = Field(
        default_factory=_default_mac_pj,
        description="Energy of one multiply-accumulate, in pJ, per precision.",
    )
    vector_op_pj: NonNegativeFloat = Field(
        default=0.2, description="Energy of one vector-unit element operation, in pJ."
    )
    sram_pj_per_byte: NonNegativeFloat = Field(
        default=1.0, description="Energy per byte read from or written to an SRAM bank, in pJ."
    )
    dram_pj_per_byte: NonNegativeFloat = Field(
        default=40.0, description="Energy per byte read from or written to DRAM, in pJ."
    )
    interconnect_pj_per_byte_hop: NonNegativeFloat = Field(
        default=0.5,
        description="Energy per byte per hop on the interconnect (a bus transfer is one hop), "
        "in pJ.",
    )
    cluster_static_mw: NonNegativeFloat = Field(
        default=15.0, description="Static (leakage and clock) power per MAC cluster, in mW."
    )
    sram_bank_static_mw: NonNegativeFloat = Field(
        default=3.0, description="Static power per SRAM bank, in mW."
    )
    dram_channel_static_mw: NonNegativeFloat = Field(
        default=80.0, description="Static power per DRAM channel (PHY and controller), in mW."
    )


class AreaConfig(StrictModel):
    """Silicon area per component and a die-cost proxy."""

    mm2_per_mac: NonNegativeFloat = Field(
        default=0.0004, description="Area of one processing element (MAC and registers), mm2."
    )
    mm2_per_sram_kib: NonNegativeFloat = Field(
        default=0.0015, description="Area per KiB of SRAM (banks and local buffers), mm2."
    )
    mm2_per_dram_phy: NonNegativeFloat = Field(
        default=2.0, description="Area of one DRAM channel's PHY and controller, mm2."
    )
    mm2_per_router: NonNegativeFloat = Field(
        default=0.05,
        description="Area per interconnect router (a bus or crossbar counts as one per "
        "endpoint), mm2.",
    )
    cost_per_mm2: NonNegativeFloat = Field(
        default=0.10,
        description="Die-cost proxy per mm2 (any currency unit; yield and packaging aside).",
    )
