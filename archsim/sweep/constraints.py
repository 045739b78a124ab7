"""Evaluation of sweep constraints: plain comparisons, never ``eval``."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from archsim.sweep.spec import AnyOf, Comparison, Operator

_ORDERED: dict[Operator, Callable[[Any, Any], bool]] = {
    Operator.EQ: operator.eq,
    Operator.NE: operator.ne,
    Operator.LT: operator.lt,
    Operator.LE: operator.le,
    Operator.GT: operator.gt,
    Operator.GE: operator.ge,
}


def holds(comparison: Comparison, values: Mapping[str, Any]) -> bool:
    """Whether ``comparison`` holds for the factor ``values`` of a point.

    Raises TypeError (with a readable message) when the operands cannot be compared.
    """
    left = values[comparison.key]
    right = comparison.value if comparison.other is None else values[comparison.other]
    if comparison.op is Operator.IN:
        return _member(left, right)
    if comparison.op is Operator.NOT_IN:
        return not _member(left, right)
    try:
        return bool(_ORDERED[comparison.op](left, right))
    except TypeError:
        raise TypeError(
            f"{comparison.key} {comparison.op} {right!r}: cannot compare {left!r} with {right!r}"
        ) from None


def violated(constraint: Comparison | AnyOf, values: Mapping[str, Any]) -> bool:
    """Whether a point with factor ``values`` violates ``constraint``."""
    if isinstance(constraint, AnyOf):
        return not any(holds(comparison, values) for comparison in constraint.any)
    return not holds(constraint, values)


def _member(item: Any, collection: Any) -> bool:
    if not isinstance(collection, list):
        raise TypeError(f"'in' needs a list, got {collection!r}")
    return any(item == candidate for candidate in collection)
