"""Expansion of a sweep spec into points: grid, zip, random and Latin-hypercube designs.

Points are numbered from 0 in expansion order, after constraints dropped the points that
violate them. Grid order is that of ``itertools.product`` over the factors in file order
(the first factor varies slowest; a zip group sits at the place of its first key). Random
and lhs samples draw each factor from its own generator spawned from
``numpy.random.SeedSequence(design.seed)``, so the same seed gives the same points; samples
that repeat an earlier point are dropped.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from archsim.config import problem_for
from archsim.errors import ConfigError, Problem
from archsim.sweep.constraints import violated
from archsim.sweep.spec import DesignKind, FactorRange, SweepSpec


@dataclass(frozen=True)
class Point:
    """One point of a sweep: its id and the value of every factor (in factor order)."""

    id: int
    values: dict[str, Any]

    def label(self) -> str:
        """``point 3 (arch.sram.banks=8, run.input=224x224)``."""
        settings = ", ".join(f"{key}={_short(value)}" for key, value in self.values.items())
        return f"point {self.id} ({settings})"


def expand(spec: SweepSpec) -> list[Point]:
    """The points of ``spec`` that satisfy its constraints, numbered in expansion order.

    Raises ConfigError if a constraint cannot be evaluated (e.g. ``<`` between a string and
    a number), located at that constraint.
    """
    kind = spec.design.kind
    if kind is DesignKind.GRID:
        combos = _grid(spec)
    elif kind is DesignKind.ZIP:
        combos = _zip(spec)
    else:
        combos = _unique(_sample(spec, latin_hypercube=kind is DesignKind.LHS))
    kept: list[dict[str, Any]] = []
    problems: dict[tuple[str, int | None], Problem] = {}
    for values in combos:
        failed = False
        for index, constraint in enumerate(spec.constraints):
            try:
                failed = violated(constraint, values)
            except TypeError as error:
                problem = problem_for(spec, f"cannot evaluate: {error}", "constraints", index)
                problems.setdefault((problem.path, problem.line), problem)
                failed = True
            if failed:
                break
        if not failed:
            kept.append(values)
    if problems:
        raise ConfigError(list(problems.values()))
    return [Point(index, values) for index, values in enumerate(kept)]


def _grid(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every combination of levels; each zip group is one axis."""
    group_of = {key: tuple(group) for group in spec.design.zip for key in group}
    axes: list[tuple[tuple[str, ...], list[tuple[Any, ...]]]] = []
    placed: set[tuple[str, ...]] = set()
    for key in spec.factors:
        keys = group_of.get(key, (key,))
        if keys in placed:
            continue
        placed.add(keys)
        columns = [_levels(spec, member) for member in keys]
        axes.append((keys, list(zip(*columns, strict=True))))
    combos = []
    for choice in itertools.product(*(levels for _, levels in axes)):
        by_key = {
            k: v
            for (keys, _), row in zip(axes, choice, strict=True)
            for k, v in zip(keys, row, strict=True)
        }
        combos.append({key: by_key[key] for key in spec.factors})
    return combos


def _zip(spec: SweepSpec) -> list[dict[str, Any]]:
    columns = {key: _levels(spec, key) for key in spec.factors}
    count = len(next(iter(columns.values())))
    return [{key: levels[i] for key, levels in columns.items()} for i in range(count)]


def _levels(spec: SweepSpec, key: str) -> list[Any]:
    factor = spec.factors[key]
    if isinstance(factor, FactorRange):  # excluded by SweepSpec validation
        raise ValueError(f"factor {key} is a range; grid and zip designs need levels")
    return list(factor)


def _sample(spec: SweepSpec, *, latin_hypercube: bool) -> list[dict[str, Any]]:
    """``design.samples`` draws: uniform in [0, 1) per factor, then mapped to a value."""
    count = spec.design.samples or 0
    generators = [
        np.random.default_rng(child)
        for child in np.random.SeedSequence(spec.design.seed).spawn(len(spec.factors))
    ]
    columns: dict[str, list[Any]] = {}
    for (key, factor), generator in zip(spec.factors.items(), generators, strict=True):
        if latin_hypercube:
            strata = generator.permutation(count)
            fractions = (strata + generator.random(count)) / count
        else:
            fractions = generator.random(count)
        columns[key] = [_value_at(factor, float(u)) for u in fractions]
    return [{key: column[i] for key, column in columns.items()} for i in range(count)]


def _value_at(factor: FactorRange | Sequence[Any], fraction: float) -> Any:
    """The value at ``fraction`` (in [0, 1)) of a factor's levels or range."""
    if not isinstance(factor, FactorRange):
        return factor[min(int(fraction * len(factor)), len(factor) - 1)]
    low, high = float(factor.low), float(factor.high)
    if factor.integer:
        if factor.log:
            value = math.exp(math.log(low) + fraction * (math.log(high + 1) - math.log(low)))
        else:
            value = low + fraction * (high - low + 1)
        return min(int(math.floor(value)), int(factor.high))
    if factor.log:
        return math.exp(math.log(low) + fraction * (math.log(high) - math.log(low)))
    return low + fraction * (high - low)


def _unique(combos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``combos`` without repeats (first occurrence kept)."""
    seen: set[str] = set()
    unique = []
    for values in combos:
        token = repr(sorted(values.items()))
        if token not in seen:
            seen.add(token)
            unique.append(values)
    return unique


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."
