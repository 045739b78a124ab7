"""Workload config -> layer graph: resolve producers, compute shapes, report every problem.

Problems are user errors: all of them are collected and raised as one ConfigError, each at
the YAML line of the key to blame when the config was loaded from a file. Values given on the
command line (input size, batch, precision) take precedence over the file and are reported
against their option.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from archsim.config.source import KeyPath
from archsim.config.validation import problem_for
from archsim.config.workload import INPUT_NAME, InputTensorConfig, LayerConfig, WorkloadConfig
from archsim.domain import Precision
from archsim.errors import ConfigError, Problem
from archsim.workload.graph import NETWORK_INPUT, Layer, OpKind, TensorShape, WorkloadGraph
from archsim.workload.shapes import (
    AXES,
    Axis,
    LayerHead,
    OutputTooSmallError,
    ShapeError,
    shape_layer,
    side,
    spatial_extent,
)

# Largest network input side tried when looking for the smallest size a workload accepts.
_MAX_SEARCH_SIZE = 1 << 20


@dataclass(frozen=True, slots=True)
class _Issue:
    """A problem found while walking the layers, before it is located in the file."""

    path: KeyPath
    message: str
    too_small: tuple[Axis, ...] = ()  # axes along which the layer's output is < 1


def build_graph(
    cfg: WorkloadConfig,
    *,
    width: int | None = None,
    height: int | None = None,
    batch: int | None = None,
    precision: Precision | str | None = None,
) -> WorkloadGraph:
    """The layer graph of `cfg`; width, height, batch and precision override the file's.

    Raises ConfigError listing every problem: unknown, later or duplicate layer names, an
    input size that is not a multiple of `input.multiple_of`, mismatched shapes, groups that
    do not divide channels, outputs smaller than one pixel.
    """
    resolved, problems = _resolve(cfg, width, height, batch, precision)
    problems.extend(_check_input_size(cfg, resolved))
    issues = _check_names(cfg.layers)
    layers, walk_issues = _walk(cfg.layers, resolved.input_shape)
    issues.extend(walk_issues)
    problems.extend(_locate(cfg, _explain_too_small(cfg, resolved, issue)) for issue in issues)
    if problems:
        raise ConfigError(problems)
    return WorkloadGraph(
        cfg.name,
        resolved.input_shape,
        resolved.precision,
        tuple(layers),
        host_ops=tuple(cfg.host_ops),
    )


@dataclass(frozen=True, slots=True)
class _Resolved:
    """Input shape and precision after the command-line options."""

    input_shape: TensorShape
    precision: Precision
    axes_from_options: tuple[Axis, ...]  # sizes given by `--input`

    def size(self, axis: Axis) -> int:
        """Network input size along `axis`."""
        return side(self.input_shape, axis)


def _resolve(
    cfg: WorkloadConfig,
    width: int | None,
    height: int | None,
    batch: int | None,
    precision: Precision | str | None,
) -> tuple[_Resolved, list[Problem]]:
    """Apply the command-line options over the file's values; problems of bad options."""
    problems = []
    options = (("--input", "input.width", width), ("--input", "input.height", height))
    for option, key, value in (*options, ("--batch", "batch", batch)):
        if value is not None and value < 1:
            problems.append(Problem(f"must be at least 1, got {value}", option, path=key))
    shape = TensorShape(
        batch=max(cfg.batch if batch is None else batch, 1),
        height=max(cfg.input.height if height is None else height, 1),
        width=max(cfg.input.width if width is None else width, 1),
        channels=cfg.input.channels,
    )
    resolved_precision = cfg.precision
    if precision is not None:
        try:
            resolved_precision = Precision(precision)
        except ValueError:
            choices = ", ".join(p.value for p in Precision)
            message = f"unknown precision {precision!r}; expected one of {choices}"
            problems.append(Problem(message, "--precision", path="precision"))
    given: dict[Axis, int | None] = {"height": height, "width": width}
    axes_from_options = tuple(axis for axis in AXES if given[axis] is not None)
    return _Resolved(shape, resolved_precision, axes_from_options), problems


def _check_input_size(cfg: WorkloadConfig, resolved: _Resolved) -> list[Problem]:
    multiple = cfg.input.multiple_of
    problems = []
    for axis in AXES:
        size = resolved.size(axis)
        if size % multiple:
            message = (
                f"input {axis} {size} is not a multiple of input.multiple_of = {multiple} "
                f"(nearest: {_nearest_multiple(size, multiple)})"
            )
            if axis in resolved.axes_from_options:
                problems.append(Problem(message, "--input", path=f"input.{axis}"))
            else:
                problems.append(_locate(cfg, _Issue(("input", axis), message)))
    return problems


def _nearest_multiple(size: int, multiple: int) -> int:
    """The multiple of `multiple` closest to `size` (at least `multiple`)."""
    below = size // multiple * multiple
    return below + multiple if below == 0 or size - below > multiple // 2 else below


def _check_names(layers: Sequence[LayerConfig]) -> list[_Issue]:
    first: dict[str, int] = {}
    issues = []
    for index, layer in enumerate(layers):
        if layer.name in first:
            message = (
                f"duplicate layer name {layer.name!r} (first used by layers.{first[layer.name]})"
            )
            issues.append(_Issue(("layers", index, "name"), message))
        else:
            first[layer.name] = index
    return issues


def _producers(layers: Sequence[LayerConfig], index: int) -> tuple[str, ...]:
    """Producer names of layer `index`; omitted inputs mean the previous layer."""
    if isinstance(layers[index], InputTensorConfig):
        return ()
    explicit = layers[index].inputs
    if explicit is not None:
        return tuple(explicit)
    return (INPUT_NAME,) if index == 0 else (layers[index - 1].name,)


def _walk(
    layers: Sequence[LayerConfig], input_shape: TensorShape
) -> tuple[list[Layer], list[_Issue]]:
    """Build every layer whose producers were built; problems of the others as issues.

    A layer whose producer failed is skipped silently: its own problem was reported.
    """
    first_index: dict[str, int] = {}
    for index, cfg in enumerate(layers):
        first_index.setdefault(cfg.name, index)
    shapes: dict[str, TensorShape] = {INPUT_NAME: input_shape}
    built: list[Layer] = []
    issues: list[_Issue] = []
    for index, cfg in enumerate(layers):
        names = _producers(layers, index)
        resolved: list[TensorShape] = []
        for position, name in enumerate(names):
            if name in shapes:
                resolved.append(shapes[name])
                continue
            message = _unresolved(layers, index, name, first_index)
            if message:
                issues.append(_Issue(("layers", index, "inputs", position), message))
        if len(resolved) < len(names) or cfg.name in shapes:
            continue
        producers = tuple(NETWORK_INPUT if name == INPUT_NAME else name for name in names)
        head = LayerHead(len(built), cfg.name, OpKind(cfg.op), producers, tuple(resolved))
        if isinstance(cfg, InputTensorConfig):
            shape = TensorShape(input_shape.batch, cfg.height, cfg.width, cfg.channels)
            built.append(Layer(*head, output_shape=shape))
            shapes[cfg.name] = shape
            continue
        try:
            layer = shape_layer(cfg, head)
        except OutputTooSmallError as error:
            issues.append(_Issue(("layers", index), error.message, error.axes))
            continue
        except ShapeError as error:
            path: KeyPath = ("layers", index) if error.key is None else ("layers", index, error.key)
            issues.append(_Issue(path, error.message))
            continue
        built.append(layer)
        shapes[cfg.name] = layer.output_shape
    return built, issues


def _unresolved(
    layers: Sequence[LayerConfig], index: int, name: str, first_index: dict[str, int]
) -> str | None:
    """Why producer `name` of layer `index` has no shape; None if an earlier layer failed."""
    where = first_index.get(name)
    if where is None:
        message = f"unknown producer {name!r}"
        earlier = [INPUT_NAME, *(layer.name for layer in layers[:index])]
        close = difflib.get_close_matches(name, earlier, n=1)
        return message + (f" (did you mean {close[0]!r}?)" if close else "")
    if where == index:
        return f"layer {name!r} cannot consume its own output"
    if where > index:
        return (
            f"producer {name!r} is defined later (layers.{where}); "
            "producers must come before their consumers"
        )
    return None


def _explain_too_small(cfg: WorkloadConfig, resolved: _Resolved, issue: _Issue) -> _Issue:
    """Name the layer of a too-small output and the smallest network input that fits it."""
    if not issue.too_small:
        return issue
    index = issue.path[1]
    assert isinstance(index, int)
    layer = cfg.layers[index]
    minimums = []
    for axis in issue.too_small:
        needed = _smallest_input(
            cfg.layers, index, axis, cfg.input.multiple_of, resolved.size(axis)
        )
        if needed is not None:
            minimums.append(f"{axis} >= {needed}")
    message = f"layer {layer.name!r} ({layer.op}): {issue.message}"
    if minimums:
        message += f"; the network input needs {' and '.join(minimums)}"
    return _Issue(issue.path, message, issue.too_small)


def _smallest_input(
    layers: Sequence[LayerConfig], index: int, axis: Axis, multiple: int, current: int
) -> int | None:
    """Smallest network input size along `axis` (a multiple of `multiple`) for which layer
    `index` and its producers have outputs >= 1 there; None if above the search bound.

    Output sizes grow with the input size, so doubling then bisection finds it.
    """
    low = current // multiple  # in units of `multiple`; `low` is known not to fit
    high = max(low, 1)
    while not _fits(layers, index, axis, high * multiple):
        low, high = high, high * 2
        if high * multiple > _MAX_SEARCH_SIZE:
            return None
    while high - low > 1:
        middle = (low + high) // 2
        if _fits(layers, index, axis, middle * multiple):
            high = middle
        else:
            low = middle
    return high * multiple


def _fits(layers: Sequence[LayerConfig], target: int, axis: Axis, size: int) -> bool:
    """Whether layer `target` and all its producers have outputs >= 1 along `axis`."""
    extents: dict[str, int] = {INPUT_NAME: size}  # only layers that fit
    for index, layer in enumerate(layers[: target + 1]):
        names = _producers(layers, index)
        if layer.name in extents or any(name not in extents for name in names):
            continue
        extent = spatial_extent(layer, axis, extents[names[0]])
        if extent >= 1:
            extents[layer.name] = extent
    return layers[target].name in extents


def _locate(cfg: WorkloadConfig, issue: _Issue) -> Problem:
    """A Problem at the YAML line of `issue.path` if `cfg` came from a file."""
    return problem_for(cfg, issue.message, *issue.path)
