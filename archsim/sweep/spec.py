"""Sweep spec YAML: base files, fixed settings, factors, design and constraints.

Keys of ``set``, ``factors`` and ``constraints`` name what they change:

- ``arch.<dotted key>``: a key of the architecture file (``arch.sram.banks``);
- ``workload.<dotted key>``: a key of the workload file (``workload.input.channels``);
- ``run.input`` (``WxH``), ``run.batch``, ``run.precision``, ``run.seed``, ``run.corner``
  (``worst``, ``typical``, ``best``): run parameters;
- ``run.arch``, ``run.workload``: the architecture or workload file itself (relative to the
  sweep file), e.g. to sweep several workloads.

Values are plain YAML values; nothing is ever evaluated. Constraints are comparisons
between a factor and a value or another factor (see ``Comparison``).
"""

from __future__ import annotations

import difflib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import Discriminator, Field, Strict, Tag, model_validator

from archsim.config import CrossChecks, StrictModel, json_schema_for, load_model

ARCH_PREFIX = "arch."
WORKLOAD_PREFIX = "workload."
RUN_ARCH = "run.arch"
RUN_WORKLOAD = "run.workload"
RUN_INPUT = "run.input"
RUN_BATCH = "run.batch"
RUN_PRECISION = "run.precision"
RUN_SEED = "run.seed"
RUN_CORNER = "run.corner"
RUN_KEYS = (RUN_ARCH, RUN_WORKLOAD, RUN_INPUT, RUN_BATCH, RUN_PRECISION, RUN_SEED, RUN_CORNER)
"""The run parameters a sweep can set or vary."""

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"


class DesignKind(StrEnum):
    """How factor levels are combined into points."""

    GRID = "grid"  # every combination (full factorial)
    ZIP = "zip"  # the i-th level of every factor together
    RANDOM = "random"  # independent uniform samples
    LHS = "lhs"  # Latin-hypercube samples


class Operator(StrEnum):
    """Comparison operators of constraints."""

    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "in"
    NOT_IN = "not in"


_MEMBERSHIP = (Operator.IN, Operator.NOT_IN)


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be set by a sweep, or None if it can."""
    for prefix in (ARCH_PREFIX, WORKLOAD_PREFIX):
        if key.startswith(prefix):
            rest = key[len(prefix) :]
            if not rest or any(not part for part in rest.split(".")):
                return f"{key!r} has an empty part; expected {prefix}<dotted key>"
            return None
    if key in RUN_KEYS:
        return None
    message = (
        f"unknown key {key!r}: expected arch.<dotted key>, workload.<dotted key> "
        f"or one of {', '.join(RUN_KEYS)}"
    )
    close = difflib.get_close_matches(key, RUN_KEYS, n=1)
    return message + (f"; did you mean {close[0]!r}?" if close else "")


class Design(StrictModel):
    """How the factors are combined into points."""

    kind: Annotated[DesignKind, Strict(False)] = Field(
        default=DesignKind.GRID,
        description="grid: every combination; zip: the i-th level of every factor together "
        "(all factors need the same number of levels); random: independent uniform samples; "
        "lhs: Latin-hypercube samples (each factor's range cut into `samples` strata, each "
        "stratum used once).",
    )
    zip: list[list[str]] = Field(
        default_factory=list,
        description="grid only: groups of factors that move together (same number of levels), "
        "e.g. [[arch.interconnect.kind, arch.interconnect.mesh]]; each group counts as one "
        "factor of the grid.",
    )
    samples: int | None = Field(
        default=None, ge=1, description="random and lhs: number of samples to draw."
    )
    seed: int = Field(
        default=0,
        ge=0,
        description="random and lhs: seed of the sampling (the same seed gives the same points).",
    )

    @model_validator(mode="after")
    def _check_kind_keys(self) -> Self:
        checks = CrossChecks()
        sampled = self.kind in (DesignKind.RANDOM, DesignKind.LHS)
        if sampled and self.samples is None:
            checks.add(("samples",), f"samples is required for kind {self.kind}")
        if not sampled and self.samples is not None:
            checks.add(
                ("samples",), f"samples is only used by kinds random and lhs, not {self.kind}"
            )
        if self.zip and self.kind is not DesignKind.GRID:
            checks.add(("zip",), f"zip groups are only used by kind grid, not {self.kind}")
        checks.raise_if_any()
        return self


class FactorRange(StrictModel):
    """A continuous range ``[low, high]``, sampled by the random and lhs designs."""

    low: int | float = Field(description="Lowest value.")
    high: int | float = Field(description="Highest value (included).")
    integer: bool = Field(default=False, description="Draw integers (low and high included).")
    log: bool = Field(default=False, description="Sample uniformly in log space (low > 0).")

    @model_validator(mode="after")
    def _check_bounds(self) -> Self:
        checks = CrossChecks()
        if self.high <= self.low:
            checks.add(("high",), f"must be greater than low ({self.low})")
        if self.log and self.low <= 0:
            checks.add(("low",), "must be > 0 when log is true")
        if self.integer:
            for name in ("low", "high"):
                if not isinstance(getattr(self, name), int):
                    checks.add((name,), "must be an integer when integer is true")
        checks.raise_if_any()
        return self


def _factor_form(value: Any) -> str:
    return "range" if isinstance(value, dict) else "levels"


Levels = Annotated[list[Any], Field(min_length=1)]
Factor = Annotated[
    Annotated[Levels, Tag("levels")] | Annotated[FactorRange, Tag("range")],
    Discriminator(_factor_form),
]
"""A factor: a list of levels (any YAML values) or a range {low, high, integer, log}."""


class Comparison(StrictModel):
    """``key op value`` or ``key op other``: a point is kept only if it holds.

    ``key`` and ``other`` are factor keys. ``in`` and ``not in`` take a list ``value``.
    Comparing values that have no order (e.g. a string with a number using ``<``) is an
    error reported before anything runs.
    """

    key: str = Field(description="A factor key, e.g. arch.sram.banks.")
    op: Annotated[Operator, Strict(False)] = Field(
        description="One of ==, !=, <, <=, >, >=, in, not in."
    )
    value: Any = Field(default=None, description="The value to compare with (a list for in).")
    other: str | None = Field(
        default=None, description="Another factor key to compare with, instead of a value."
    )

    @model_validator(mode="after")
    def _check_operands(self) -> Self:
        checks = CrossChecks()
        has_value = "value" in self.model_fields_set
        if has_value == (self.other is not None):
            checks.add((), "give exactly one of value and other")
        elif self.op in _MEMBERSHIP:
            if self.other is not None:
                checks.add(("other",), f"op '{self.op.value}' takes a list value, not a key")
            elif not isinstance(self.value, list):
                checks.add(("value",), f"op '{self.op.value}' needs a list value")
        checks.raise_if_any()
        return self

    def keys(self) -> list[str]:
        """The factor keys this comparison reads."""
        return [self.key] if self.other is None else [self.key, self.other]


class AnyOf(StrictModel):
    """Holds when at least one of its comparisons holds (e.g. an implication)."""

    any: list[Comparison] = Field(min_length=1, description="Comparisons, any of which holds.")


def _constraint_form(value: Any) -> str:
    return "any" if isinstance(value, dict) and "any" in value else "comparison"


Constraint = Annotated[
    Annotated[Comparison, Tag("comparison")] | Annotated[AnyOf, Tag("any")],
    Discriminator(_constraint_form),
]
"""A comparison, or {any: [comparisons]}; a point must satisfy every constraint."""


class SweepSpec(StrictModel):
    """A design-space sweep: base files, fixed settings, factors, design and constraints."""

    name: str = Field(
        pattern=NAME_PATTERN,
        description="Name of the sweep; names the output folder (letters, digits, '_', '.', "
        "'-'; not starting with '.' or '-').",
    )
    description: str = Field(default="", description="Free text.")
    arch: str | None = Field(
        default=None,
        description="Base architecture YAML, relative to this file. Required unless run.arch "
        "is set or a factor.",
    )
    workload: str | None = Field(
        default=None,
        description="Base workload YAML, relative to this file. Required unless run.workload "
        "is set or a factor.",
    )
    out: str | None = Field(
        default=None,
        description="Output folder, relative to the current directory "
        "(default: traces/sweeps/NAME).",
    )
    set: dict[str, Any] = Field(
        default_factory=dict,
        description="Fixed values applied to every point, by key (arch.KEY, workload.KEY or "
        "run.*), e.g. {arch.interconnect.attach: null}.",
    )
    factors: dict[str, Factor] = Field(
        min_length=1,
        description="What varies, by key (arch.KEY, workload.KEY or run.*): a list of levels, "
        "or {low, high, integer, log} for the random and lhs designs.",
    )
    design: Design = Field(
        default_factory=Design, description="How factors are combined (default: grid)."
    )
    constraints: list[Constraint] = Field(
        default_factory=list,
        description="Comparisons every kept point satisfies; the others are dropped.",
    )

    @model_validator(mode="after")
    def _check_keys(self) -> Self:
        checks = CrossChecks()
        for section, keys in (("set", list(self.set)), ("factors", list(self.factors))):
            for key in keys:
                problem = key_problem(key)
                if problem is not None:
                    checks.add((section, key), problem)
        for key in self.set:
            if key in self.factors:
                checks.add(("set", key), f"{key!r} is also a factor; a key is either set or varied")
        self._check_base_files(checks)
        self._check_design(checks)
        self._check_constraints(checks)
        checks.raise_if_any()
        return self

    def _check_base_files(self, checks: CrossChecks) -> None:
        for field, key in (("arch", RUN_ARCH), ("workload", RUN_WORKLOAD)):
            if getattr(self, field) is None and key not in self.set and key not in self.factors:
                checks.add((field,), f"missing required key '{field}' (or set or vary {key})")

    def _check_design(self, checks: CrossChecks) -> None:
        design = self.design
        if design.kind in (DesignKind.GRID, DesignKind.ZIP):
            for key, factor in self.factors.items():
                if isinstance(factor, FactorRange):
                    checks.add(
                        ("factors", key),
                        f"a range needs design kind random or lhs; kind {design.kind} needs a "
                        "list of levels",
                    )
        if design.kind is DesignKind.ZIP:
            self._check_same_length(list(self.factors), ("factors",), checks)
        grouped: set[str] = set()
        for index, group in enumerate(design.zip):
            where = ("design", "zip", index)
            if len(group) < 2:
                checks.add(where, "a zip group needs at least two factor keys")
            for position, key in enumerate(group):
                if key not in self.factors:
                    checks.add((*where, position), self._not_a_factor(key))
                elif key in grouped:
                    checks.add((*where, position), f"{key!r} is already in a zip group")
                grouped.add(key)
            self._check_same_length(group, where, checks)

    def _check_same_length(
        self, keys: list[str], where: tuple[str | int, ...], checks: CrossChecks
    ) -> None:
        lengths = {
            key: len(factor) for key in keys if isinstance(factor := self.factors.get(key), list)
        }
        if len(set(lengths.values())) > 1:
            listed = ", ".join(f"{key} has {count}" for key, count in lengths.items())
            checks.add(where, f"zipped factors need the same number of levels ({listed})")

    def _check_constraints(self, checks: CrossChecks) -> None:
        for index, constraint in enumerate(self.constraints):
            comparisons: list[tuple[tuple[str | int, ...], Comparison]]
            if isinstance(constraint, AnyOf):
                comparisons = [
                    (("constraints", index, "any", i), c) for i, c in enumerate(constraint.any)
                ]
            else:
                comparisons = [(("constraints", index), constraint)]
            for where, comparison in comparisons:
                for field, key in (("key", comparison.key), ("other", comparison.other)):
                    if key is not None and key not in self.factors:
                        checks.add((*where, field), self._not_a_factor(key))

    def _not_a_factor(self, key: str) -> str:
        message = f"{key!r} is not a factor"
        close = difflib.get_close_matches(key, list(self.factors), n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
        return message + f" (factors: {', '.join(self.factors)})"


def load_sweep_spec(path: str | Path) -> SweepSpec:
    """Load and validate a sweep YAML file.

    Raises ConfigError listing every problem, each with file, line and dotted key path.
    """
    return load_model(SweepSpec, path)


def sweep_json_schema() -> dict[str, Any]:
    """The JSON Schema of sweep YAML files (for editors and documentation)."""
    return json_schema_for(SweepSpec, "archsim sweep")
