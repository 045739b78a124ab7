"""An architecture at an operating point: its clocks and energies scaled by the PVT model.

``at_operating_point`` returns the arch as it behaves at a corner (see
``archsim.config.operating_point`` for the model): the MAC cluster, SRAM and interconnect
clocks (one on-chip supply) scale by the clock model and a thermal throttle factor; the
energy of on-chip actions (MAC, vector, SRAM, interconnect) by (V/Vnom)^2; the static
power of clusters and SRAM banks by the static model. DRAM (its timing, its energy per
byte and its channel's PHY power) is off-chip or on its own I/O supply and is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archsim.config.arch import ArchConfig
from archsim.config.operating_point import (
    Corner,
    OperatingPoint,
    OperatingPointConfig,
    clock_scale,
    dynamic_energy_scale,
    static_power_scale,
)
from archsim.errors import ConfigError

CORNER_NAMES = tuple(corner.value for corner in Corner)
"""Values of ``--corner``."""

THROTTLE_MARGIN = 0.995
"""Each throttle step aims this fraction below the TDP, so clock rounding lands under it."""

MAX_THERMAL_RUNS = 8
"""Runs the thermal throttle may take to bring average power under the TDP."""


@dataclass(frozen=True)
class ResolvedOperatingPoint:
    """The point a run uses and the factors the model derives from it."""

    corner: Corner | None
    point: OperatingPoint
    clock_scale: float
    throttle_scale: float
    dynamic_energy_scale: float
    static_power_scale: float
    tdp_w: float | None

    def summary(
        self,
        nominal: ArchConfig,
        effective: ArchConfig,
        nominal_peak_tops: float,
        average_power_w: float,
    ) -> dict[str, Any]:
        """The ``operating_point`` block of a run summary (``average_power_w``: the run's)."""
        return {
            "corner": None if self.corner is None else self.corner.value,
            "process": self.point.process.value,
            "voltage_v": self.point.voltage_v,
            "temperature_c": self.point.temperature_c,
            "clock_scale": self.clock_scale,
            "throttle_scale": self.throttle_scale,
            "clock_mhz": {
                "mac_clusters": effective.mac_clusters.clock_mhz,
                "sram": effective.sram.clock_mhz,
                "interconnect": effective.interconnect.clock_mhz,
            },
            "nominal_clock_mhz": nominal.mac_clusters.clock_mhz,
            "nominal_peak_tops": nominal_peak_tops,
            "dynamic_energy_scale": self.dynamic_energy_scale,
            "static_power_scale": self.static_power_scale,
            "tdp_w": self.tdp_w,
            "throttled": self.throttle_scale < 1.0,
            "tdp_met": self.tdp_w is None or average_power_w <= self.tdp_w,
        }


def parse_corner(corner: Corner | str | None) -> Corner | None:
    """``corner`` as a Corner; a ConfigError naming the choices for anything else."""
    if corner is None or isinstance(corner, Corner):
        return corner
    if corner not in CORNER_NAMES:
        raise ConfigError(f"--corner: expected one of {', '.join(CORNER_NAMES)}; got {corner!r}")
    return Corner(corner)


def operating_point_of(arch: ArchConfig, corner: Corner | None) -> OperatingPointConfig | None:
    """The arch's operating point block; the schema defaults when only a corner is asked
    for; None when neither (the arch runs exactly as its clocks and energies say)."""
    if arch.operating_point is not None:
        return arch.operating_point
    return OperatingPointConfig() if corner is not None else None


def at_operating_point(
    arch: ArchConfig, cfg: OperatingPointConfig, corner: Corner | None, throttle: float = 1.0
) -> tuple[ArchConfig, ResolvedOperatingPoint]:
    """The arch at ``corner`` (None: the block's own point), clocks times ``throttle``."""
    point = cfg.point(corner)
    resolved = ResolvedOperatingPoint(
        corner=corner,
        point=point,
        clock_scale=clock_scale(cfg, point),
        throttle_scale=throttle,
        dynamic_energy_scale=dynamic_energy_scale(cfg, point),
        static_power_scale=static_power_scale(cfg, point),
        tdp_w=cfg.tdp_w,
    )
    clock = resolved.clock_scale * throttle
    dynamic, static = resolved.dynamic_energy_scale, resolved.static_power_scale
    energy = arch.energy
    scaled_energy = energy.model_copy(
        update={
            "mac_pj": {precision: pj * dynamic for precision, pj in energy.mac_pj.items()},
            "vector_op_pj": energy.vector_op_pj * dynamic,
            "sram_pj_per_byte": energy.sram_pj_per_byte * dynamic,
            "interconnect_pj_per_byte_hop": energy.interconnect_pj_per_byte_hop * dynamic,
            "cluster_static_mw": energy.cluster_static_mw * static,
            "sram_bank_static_mw": energy.sram_bank_static_mw * static,
        }
    )
    update: dict[str, Any] = {
        "mac_clusters": _with_clock(arch.mac_clusters, clock),
        "sram": _with_clock(arch.sram, clock),
        "interconnect": _with_clock(arch.interconnect, clock),
        "energy": scaled_energy,
    }
    return arch.model_copy(update=update), resolved


def _with_clock(component: Any, scale: float) -> Any:
    return component.model_copy(update={"clock_mhz": component.clock_mhz * scale})


def next_throttle(throttle: float, power_w: float, static_w: float, tdp_w: float) -> float:
    """The throttle that brings ``power_w`` (measured at ``throttle``) under ``tdp_w``,
    taking dynamic power as proportional to the clock (static power as fixed)."""
    return throttle * (tdp_w - static_w) / (power_w - static_w) * THROTTLE_MARGIN
