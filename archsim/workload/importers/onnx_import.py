"""ONNX model -> workload config.

``import_onnx`` loads and checks the model (``onnx_model``), turns each node into a layer,
a fold or a pass-through (``onnx_ops``), then builds the workload graph and checks every
layer against ONNX: its output shape must equal the shape ONNX infers and its MACs those
the ONNX node implies. So an imported workload has the model's MACs and parameters
(parameters as frameworks count them: batchnorm scale and shift, not its running
statistics; a Mul by a constant is folded into the weights and not counted).

Every problem is reported at once in one ConfigError whose file is the ONNX file: first
one line per unsupported op kind naming its nodes, then the other problems by node.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from archsim.config.source import SourceMap
from archsim.config.validation import validate_model
from archsim.config.workload import WorkloadConfig
from archsim.domain import Precision
from archsim.errors import ConfigError, Problem
from archsim.workload.build import build_graph
from archsim.workload.graph import Layer, WorkloadGraph
from archsim.workload.importers.onnx_convert import Converter, Origin
from archsim.workload.importers.onnx_model import NodeIssue, OnnxModel, load_onnx_model
from archsim.workload.importers.onnx_ops import FORMS, HANDLERS

_LAYER_PATH = re.compile(r"layers\.([0-9]+)")


def import_onnx(path: str | Path, *, name: str | None = None) -> WorkloadConfig:
    """The workload of the ONNX model at `path`, named `name` (default: the file's stem).

    The network input is the first graph input that is not an initializer: [N, C, H, W]
    gives input {width: W, height: H, channels: C} and batch N (1 if symbolic). Precision
    is int8. Raises ConfigError (file = `path`) listing every problem: unsupported ops
    with their node names, missing shape information, shapes archsim cannot represent.
    """
    model = load_onnx_model(path)
    converter = Converter(model)
    converter.convert(HANDLERS, FORMS)
    problems = converter.problems()
    if problems:
        raise ConfigError(problems)
    if not converter.layers:
        raise ConfigError(
            Problem(
                "the model has no layer archsim simulates (no Conv, Gemm, MatMul...)", model.file
            )
        )
    names = [layer["name"] for layer in converter.layers]
    data = _workload_data(model, converter, name or Path(path).stem)
    try:
        cfg = validate_model(WorkloadConfig, data, SourceMap(model.file))
        graph = build_graph(cfg)
    except ConfigError as exc:
        raise ConfigError(_by_node(exc.problems, names, converter.origins, model.file)) from None
    problems = _check_against_onnx(graph, converter.origins, model)
    if problems:
        raise ConfigError(problems)
    return cfg


def _workload_data(model: OnnxModel, converter: Converter, name: str) -> dict[str, Any]:
    shape = model.input.shape
    if len(shape) == 4:
        size = {"width": shape[3], "height": shape[2], "channels": shape[1]}
    elif len(shape) == 3:
        size = {"width": 1, "height": shape[1], "channels": shape[2]}
    else:
        size = {"width": 1, "height": 1, "channels": shape[1]}
    return {
        "name": name,
        "description": f"Imported from {Path(model.file).name} (ONNX)",
        "input": size,
        "batch": shape[0],
        "precision": Precision.INT8.value,
        "layers": converter.layers,
    }


def _by_node(
    problems: list[Problem], names: list[str], origins: dict[str, Origin], file: str
) -> list[Problem]:
    """`problems` of the workload (at key paths layers.N...) told as the ONNX nodes'."""
    located = []
    for problem in problems:
        match = _LAYER_PATH.match(problem.path)
        node = f"node {origins[names[int(match[1])]].node}: " if match else ""
        located.append(Problem(f"{node}{problem.message}", file))
    return located


def _check_against_onnx(
    graph: WorkloadGraph, origins: dict[str, Origin], model: OnnxModel
) -> list[Problem]:
    """A problem per layer whose output shape or MACs differ from what ONNX gives."""
    problems = []
    for layer in graph.layers:
        origin = origins[layer.name]
        try:
            expected = model.shape(origin.tensor)
        except NodeIssue as exc:
            problems.append(Problem(f"node {origin.node}: {exc}", model.file))
            continue
        got = _onnx_shape(layer, origin.axes)
        if got != expected:
            problems.append(
                Problem(
                    f"node {origin.node}: archsim's {layer.op} outputs {layer.output_shape} "
                    f"(NHWC) where ONNX infers {list(expected)}; this use of the op cannot be "
                    "represented",
                    model.file,
                )
            )
        elif layer.is_mac_layer and layer.macs != origin.macs:
            problems.append(
                Problem(
                    f"node {origin.node}: archsim counts {layer.macs:,} MACs where ONNX "
                    f"implies {origin.macs:,}; this use of the op cannot be represented",
                    model.file,
                )
            )
    return problems


def _onnx_shape(layer: Layer, axes: tuple[str, ...]) -> tuple[int, ...] | None:
    """The layer's output in the ONNX layout `axes`; None if an axis it lacks is not 1."""
    shape = layer.output_shape
    sizes = {"N": shape.batch, "C": shape.channels, "H": shape.height, "W": shape.width}
    if any(sizes[letter] != 1 for letter in sizes.keys() - set("".join(axes))):
        return None
    return tuple(math.prod(sizes[letter] for letter in axis) for axis in axes)
