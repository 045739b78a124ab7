"""Workload config -> readable workload YAML (one flow mapping per layer), written atomically.

The text reads back with ``archsim.config.load_workload`` to an equal config: keys equal to
their schema default are left out, and every string is checked to read back as itself
(a name like ``1e5``, ``true`` or ``null`` is quoted).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from archsim.config.workload import WorkloadConfig
from archsim.config.yaml_loader import parse_value
from archsim.errors import ConfigError
from archsim.files import write_atomic
from archsim.version import __version__
from archsim.workload.build import build_graph

# Layer keys that come first, in this order; `activation` comes last (resnet50.yaml style).
_LEADING_KEYS = ("name", "op", "inputs")
_TRAILING_KEYS = ("activation",)


def export_yaml(cfg: WorkloadConfig, *, source: str | None = None) -> str:
    """The workload YAML text of `cfg`; the header comment names `source` (the imported file).

    The header also states layers, MACs and parameters when the graph builds.
    """
    lines = [*_header(cfg, source), f"name: {_scalar(cfg.name)}"]
    if cfg.description:
        lines.append(f"description: {_scalar(cfg.description)}")
    lines += [
        f"input: {_flow(_input_size(cfg) | cfg.input.model_dump(exclude_defaults=True))}",
        f"batch: {cfg.batch}",
        f"precision: {cfg.precision.value}",
        "layers:",
    ]
    lines += [
        f"  - {_flow(_layer_items(layer.model_dump(exclude_defaults=True)))}"
        for layer in cfg.layers
    ]
    return "\n".join(lines) + "\n"


def write_workload_yaml(
    cfg: WorkloadConfig, path: str | os.PathLike[str], *, source: str | None = None
) -> Path:
    """Write ``export_yaml(cfg, source=source)`` to `path` atomically (PATH.tmp, then renamed).

    Raises OSError if the folder does not exist or is not writable; returns the path.
    """
    return write_atomic(path, export_yaml(cfg, source=source))


def _header(cfg: WorkloadConfig, source: str | None) -> list[str]:
    origin = f"Imported from {source}" if source else "Workload"
    lines = [f"# {origin}; written by archsim {__version__}."]
    try:
        graph = build_graph(cfg)
    except ConfigError:
        return lines
    shape = graph.input_shape
    lines.append(
        f"# At {shape.width}x{shape.height} (width x height), batch {shape.batch}: "
        f"{len(graph.layers)} layers, {graph.total_macs:,} MACs, "
        f"{graph.total_params:,} parameters."
    )
    return lines


def _input_size(cfg: WorkloadConfig) -> dict[str, Any]:
    """Width, height and channels always, even when channels is the default."""
    return {"width": cfg.input.width, "height": cfg.input.height, "channels": cfg.input.channels}


def _layer_items(fields: dict[str, Any]) -> dict[str, Any]:
    """Layer keys in reading order: name, op, inputs, the op's own keys, activation."""
    ordered = {key: fields[key] for key in _LEADING_KEYS if key in fields}
    middle = (key for key in fields if key not in _LEADING_KEYS + _TRAILING_KEYS)
    ordered.update((key, fields[key]) for key in middle)
    ordered.update((key, fields[key]) for key in _TRAILING_KEYS if key in fields)
    return ordered


def _flow(mapping: dict[str, Any]) -> str:
    """A flow mapping ``{key: value, ...}``."""
    return "{" + ", ".join(f"{key}: {_value(value)}" for key, value in mapping.items()) + "}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, str):
        return _scalar(value)
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as workload YAML")


def _scalar(text: str) -> str:
    """`text` plain if it reads back as itself inside a flow mapping, else double-quoted."""
    try:
        plain_ok = parse_value(f"{{key: {text}}}") == {"key": text}
    except yaml.YAMLError:
        plain_ok = False
    return text if plain_ok else _double_quoted(text)


def _double_quoted(text: str) -> str:
    """A YAML double-quoted scalar: printable ASCII as is, everything else escaped."""
    parts = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            parts.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            parts.append(char)
        elif code <= 0xFFFF:
            parts.append(f"\\u{code:04x}")
        else:
            parts.append(f"\\U{code:08x}")
    return '"' + "".join(parts) + '"'
