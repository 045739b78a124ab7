"""Command-line overrides: ``--set dotted.key.path=value`` applied to loaded YAML data.

Values are parsed as YAML with the safe loader of ``yaml_loader``: ``3`` is an int, ``1.5``
and ``1e5`` floats, ``bf16`` a string, ``[1, 2]`` a list, ``true`` a bool. Nothing is ever
evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from archsim.config.source import OVERRIDE_FILE
from archsim.config.yaml_loader import parse_value
from archsim.errors import ConfigError, Problem


class _OverrideError(Exception):
    """One override that cannot be applied; becomes a Problem."""


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A deep copy of ``data`` with each ``key.path=value`` override applied in order.

    Integer parts index lists (``layers.0.filters=32``); a missing mapping key (or a null
    value on the way) is created as a mapping, and validation later rejects unknown keys.
    Raises ConfigError listing every malformed override (file ``--set``, path = the key).
    """
    result: dict[str, Any] = _copy_tree(data)
    problems: list[Problem] = []
    for override in overrides:
        key, _, _ = override.partition("=")
        key = key.strip()
        try:
            parts, value = _parse(override)
            _assign(result, parts, value)
        except _OverrideError as exc:
            problems.append(Problem(str(exc), OVERRIDE_FILE, None, None, key))
    if problems:
        raise ConfigError(problems)
    return result


def overridden_keys(overrides: Sequence[str]) -> list[str]:
    """The dotted keys that ``overrides`` set, in order."""
    return [override.partition("=")[0].strip() for override in overrides]


def _parse(override: str) -> tuple[list[str], Any]:
    key, equals, text = override.partition("=")
    key = key.strip()
    if not equals:
        raise _OverrideError(f"expected KEY=VALUE, got {override!r}")
    if not key:
        raise _OverrideError(f"missing key before '=' in {override!r}")
    parts = key.split(".")
    if any(not part for part in parts):
        raise _OverrideError(f"empty part in key {key!r}")
    try:
        value = parse_value(text)
    except yaml.YAMLError as exc:
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _OverrideError(f"cannot parse value {text.strip()!r} as YAML: {reason}") from None
    return parts, value


def _assign(tree: dict[str, Any], parts: list[str], value: Any) -> None:
    """Set ``value`` at ``parts`` inside ``tree``, creating missing mappings on the way."""
    node: Any = tree
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth]) or "the top level"
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit():
                raise _OverrideError(f"{where} is a list: use an integer index, not {part!r}")
            index = int(part)
            if index >= len(node):
                raise _OverrideError(
                    f"index {index} is out of range: {where} has {len(node)} items"
                )
            if last:
                node[index] = value
            else:
                node[index] = _descend_into(node[index], ".".join(parts[: depth + 1]))
                node = node[index]
        elif isinstance(node, dict):
            key: str | int = part
            if part not in node and part.isdigit():
                if int(part) not in node:
                    raise _OverrideError(f"{where} is a mapping, not a list: cannot index it")
                key = int(part)
            if last:
                node[key] = value
            else:
                node[key] = _descend_into(node.get(key), ".".join(parts[: depth + 1]))
                node = node[key]


def _descend_into(child: Any, where: str) -> Any:
    """``child`` if keys can be set inside it; a new mapping for a missing or null value."""
    if child is None:
        return {}
    if isinstance(child, dict | list):
        return child
    raise _OverrideError(f"{where} is a single value ({child!r}), not a mapping or list")


def _copy_tree(value: Any) -> Any:
    """Copy nested dicts and lists; YAML aliases become independent copies."""
    if isinstance(value, dict):
        return {key: _copy_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_tree(item) for item in value]
    return value
