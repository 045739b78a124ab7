"""Operating point of an architecture: process corner, supply voltage and temperature.

The optional ``operating_point`` block of an arch file says at which process corner
(ss, tt, ff), supply voltage and junction temperature the chip runs, and optionally its
thermal design power. Every ``clock_mhz`` of the arch file is the clock at the *nominal*
point (tt, ``nominal_voltage_v``, ``nominal_temperature_c``). The model, with every
coefficient settable here:

- clock (alpha-power law, Sakurai-Newton, with a temperature-dependent threshold and
  mobility)::

      speed(V, T, p) = mu(T) * (V - Vth(T, p)) ** alpha / V
      Vth(T, p)      = vth_v + vth_shift_v[p] + vth_temperature_v_per_c * (T - Tnom)
      mu(T)          = ((T + 273.15) / (Tnom + 273.15)) ** -mobility_temperature_exponent
      clock_mhz(V, T, p) = clock_mhz * speed(V, T, p) / speed(Vnom, Tnom, tt)

- dynamic energy per action (C V^2): ``(V / Vnom) ** 2``;
- static power: ``(V / Vnom) * leakage_process_factor[p] * 2 ** ((T - Tnom) /
  leakage_doubling_c)``.

``corners`` names the points ``--corner worst|typical|best`` select (by default: ss at 0.9
Vnom and 125 C; tt at the nominal point; ff at 1.1 Vnom and -40 C). Worst and best are
speed corners (timing sign-off), not power corners.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, PositiveFloat, Strict, model_validator

from archsim.config.base import CrossChecks, StrictModel

KELVIN_OFFSET = 273.15


class ProcessCorner(StrEnum):
    """Process corner of the silicon: slow, typical or fast transistors."""

    SS = "ss"
    TT = "tt"
    FF = "ff"


class Corner(StrEnum):
    """Named operating points ``--corner`` selects."""

    WORST = "worst"
    TYPICAL = "typical"
    BEST = "best"


ProcessCornerField = Annotated[ProcessCorner, Strict(False)]
CornerField = Annotated[Corner, Strict(False)]


def _default_vth_shift() -> dict[ProcessCorner, float]:
    return {ProcessCorner.SS: 0.03, ProcessCorner.TT: 0.0, ProcessCorner.FF: -0.03}


def _default_leakage_factor() -> dict[ProcessCorner, float]:
    return {ProcessCorner.SS: 0.5, ProcessCorner.TT: 1.0, ProcessCorner.FF: 2.0}


class ClockModelConfig(StrictModel):
    """Coefficients of the alpha-power clock model (see the module docstring)."""

    alpha: PositiveFloat = Field(
        default=1.3, description="Velocity-saturation index of the alpha-power law (1 to 2)."
    )
    vth_v: PositiveFloat = Field(
        default=0.35, description="Threshold voltage at the tt corner and nominal temperature, V."
    )
    vth_shift_v: dict[ProcessCornerField, float] = Field(
        default_factory=_default_vth_shift,
        description="Threshold shift of each process corner from tt, V (slow: higher).",
    )
    vth_temperature_v_per_c: float = Field(
        default=-0.0008, description="Change of the threshold voltage per degree C, V/C."
    )
    mobility_temperature_exponent: float = Field(
        default=1.5,
        ge=0,
        description="Carrier mobility falls as (T/Tnom)^-exponent (T in kelvin).",
    )


class PowerModelConfig(StrictModel):
    """Coefficients of the static power model (see the module docstring)."""

    leakage_process_factor: dict[ProcessCornerField, PositiveFloat] = Field(
        default_factory=_default_leakage_factor,
        description="Static power of each process corner relative to tt.",
    )
    leakage_doubling_c: PositiveFloat = Field(
        default=25.0, description="Temperature rise that doubles static power, in C."
    )


class CornerConfig(StrictModel):
    """One named corner: process, supply relative to nominal, temperature."""

    process: ProcessCornerField = Field(description="Process corner: ss, tt or ff.")
    voltage_scale: PositiveFloat = Field(description="Supply voltage over nominal_voltage_v.")
    temperature_c: float | None = Field(
        default=None, description="Junction temperature in C; null: nominal_temperature_c."
    )


def _default_corners() -> dict[Corner, CornerConfig]:
    return {
        Corner.WORST: CornerConfig(
            process=ProcessCorner.SS, voltage_scale=0.9, temperature_c=125.0
        ),
        Corner.TYPICAL: CornerConfig(process=ProcessCorner.TT, voltage_scale=1.0),
        Corner.BEST: CornerConfig(process=ProcessCorner.FF, voltage_scale=1.1, temperature_c=-40.0),
    }


class OperatingPointConfig(StrictModel):
    """Where the chip runs (process, voltage, temperature) and its thermal limit."""

    process: ProcessCornerField = Field(
        default=ProcessCorner.TT, description="Process corner the chip runs at: ss, tt or ff."
    )
    voltage_v: PositiveFloat | None = Field(
        default=None, description="Supply voltage in V; null: nominal_voltage_v."
    )
    temperature_c: float | None = Field(
        default=None, description="Junction temperature in C; null: nominal_temperature_c."
    )
    nominal_voltage_v: PositiveFloat = Field(
        default=0.8, description="Supply at which the arch file's clock_mhz values hold, V."
    )
    nominal_temperature_c: float = Field(
        default=25.0, description="Temperature at which the arch file's clock_mhz values hold."
    )
    tdp_w: PositiveFloat | None = Field(
        default=None,
        description="Thermal design power in W: a run whose average power exceeds it has its "
        "on-chip clocks throttled until it does not. null: no thermal limit.",
    )
    clock_model: ClockModelConfig = Field(
        default_factory=ClockModelConfig, description="Alpha-power clock model coefficients."
    )
    power_model: PowerModelConfig = Field(
        default_factory=PowerModelConfig, description="Static power model coefficients."
    )
    corners: dict[CornerField, CornerConfig] = Field(
        default_factory=_default_corners,
        description="The points --corner worst|typical|best selects.",
    )

    @model_validator(mode="after")
    def _check_points(self) -> Self:
        checks = CrossChecks()
        for process in ProcessCorner:
            if process not in self.clock_model.vth_shift_v:
                checks.add(("clock_model", "vth_shift_v"), f"needs a value for {process}")
            if process not in self.power_model.leakage_process_factor:
                checks.add(
                    ("power_model", "leakage_process_factor"), f"needs a value for {process}"
                )
        for corner in Corner:
            if corner not in self.corners:
                checks.add(("corners",), f"needs the corner {corner}")
        checks.raise_if_any()
        points = [((), self.point())] + [
            (("corners", corner.value), self.point(corner)) for corner in Corner
        ]
        for path, point in points:
            margin = point.voltage_v - threshold_v(self, point)
            if margin <= 0:
                checks.add(
                    path,
                    f"supply {point.voltage_v:g} V is not above the threshold voltage "
                    f"{threshold_v(self, point):g} V at {point.process}, "
                    f"{point.temperature_c:g} C: the chip would not switch",
                )
        checks.raise_if_any()
        return self

    def point(self, corner: Corner | None = None) -> OperatingPoint:
        """The (process, voltage, temperature) of ``corner``, or of the block itself."""
        if corner is None:
            voltage = self.voltage_v if self.voltage_v is not None else self.nominal_voltage_v
            temperature = self.temperature_c
            process = self.process
        else:
            named = self.corners[corner]
            voltage = self.nominal_voltage_v * named.voltage_scale
            temperature = named.temperature_c
            process = named.process
        if temperature is None:
            temperature = self.nominal_temperature_c
        return OperatingPoint(process=process, voltage_v=voltage, temperature_c=temperature)


class OperatingPoint(StrictModel):
    """A resolved point: process corner, supply voltage (V), temperature (C)."""

    process: ProcessCornerField
    voltage_v: PositiveFloat
    temperature_c: float


def threshold_v(cfg: OperatingPointConfig, point: OperatingPoint) -> float:
    """Threshold voltage at ``point``: vth_v + process shift + temperature drift."""
    model = cfg.clock_model
    drift = model.vth_temperature_v_per_c * (point.temperature_c - cfg.nominal_temperature_c)
    return model.vth_v + model.vth_shift_v[point.process] + drift


def _speed(cfg: OperatingPointConfig, point: OperatingPoint) -> float:
    model = cfg.clock_model
    kelvin = (point.temperature_c + KELVIN_OFFSET) / (cfg.nominal_temperature_c + KELVIN_OFFSET)
    # float ** float is typed Any (a negative base gives a complex); both bases are
    # positive here (kelvin, and the overdrive the config validation keeps above 0)
    mobility: float = kelvin ** (-model.mobility_temperature_exponent)
    overdrive = point.voltage_v - threshold_v(cfg, point)
    drive: float = overdrive**model.alpha
    return mobility * drive / point.voltage_v


def nominal_point(cfg: OperatingPointConfig) -> OperatingPoint:
    """The point at which the arch file's clocks hold: tt, nominal voltage and temperature."""
    return OperatingPoint(
        process=ProcessCorner.TT,
        voltage_v=cfg.nominal_voltage_v,
        temperature_c=cfg.nominal_temperature_c,
    )


def clock_scale(cfg: OperatingPointConfig, point: OperatingPoint) -> float:
    """Clock at ``point`` over the clock at the nominal point (alpha-power law)."""
    return _speed(cfg, point) / _speed(cfg, nominal_point(cfg))


def dynamic_energy_scale(cfg: OperatingPointConfig, point: OperatingPoint) -> float:
    """Energy per on-chip action at ``point`` over nominal: (V / Vnom)^2."""
    return (point.voltage_v / cfg.nominal_voltage_v) ** 2


def static_power_scale(cfg: OperatingPointConfig, point: OperatingPoint) -> float:
    """On-chip static power at ``point`` over nominal (voltage, process, temperature)."""
    power = cfg.power_model
    heat = 2 ** ((point.temperature_c - cfg.nominal_temperature_c) / power.leakage_doubling_c)
    voltage = point.voltage_v / cfg.nominal_voltage_v
    return voltage * power.leakage_process_factor[point.process] * heat
