"""Layer names for imported models (sanitized to the workload name pattern, unique) and the
n-or-[height, width] size values of the workload YAML."""

from __future__ import annotations

import re

from archsim.config.workload import INPUT_NAME

_INVALID = re.compile(r"[^A-Za-z0-9_.\-]+")
_EDGES = "._-"


def sanitize(text: str) -> str:
    """`text` as a layer name: '/' becomes '.', other invalid runs '_'; may return ''.

    ``/layer1/layer1.0/conv1/Conv`` (a PyTorch export) -> ``layer1.layer1.0.conv1.Conv``.
    """
    return _INVALID.sub("_", text.replace("/", ".")).strip(_EDGES)


class LayerNamer:
    """Hands out unique layer names, never the reserved network input name."""

    def __init__(self) -> None:
        self._taken: set[str] = {INPUT_NAME}

    def claim(self, wanted: str, fallback: str) -> str:
        """`wanted` sanitized (or `fallback` if that is empty), suffixed _2, _3... if taken."""
        base = sanitize(wanted) or sanitize(fallback)
        name, counter = base, 1
        while name in self._taken:
            counter += 1
            name = f"{base}_{counter}"
        self._taken.add(name)
        return name


def size_value(height: int, width: int) -> int | list[int]:
    """`n` when both sides are equal, else [height, width] (the workload YAML forms)."""
    return height if height == width else [height, width]
