"""ONNX model -> workload config.

``import_onnx`` loads and checks the model (``onnx_model``), turns each node into a layer,
a fold or a pass-through (``onnx_ops``), then builds the workload graph and checks every
layer against ONNX: its output shape must equal the shape ONNX infers and its MACs those
the ONNX node implies. So an imported workload has the model's MACs and parameters
(parameters as frameworks count them: batchnorm scale and shift, not its running
statistics; a Mul by a constant is folded into the weights and not counted).

Post-processing that runs on the host (NonMaxSuppression, TopK..., a Softmax of the
network's output scores, and every node after them) is not simulated: the workload lists
it in ``host_ops``, which summaries and ``archsim workload stats`` report. ``until``
cuts the model after a node or tensor: the nodes it does not need are listed the same way.

Precision: int8 for a quantized model (QuantizeLinear, QLinearConv, QLinearMatMul,
MatMulInteger, ConvInteger; int16 if its zero points are 16-bit), fp16 / bf16 for a model
whose input is, and int8 for a float32 model (as deployed on an integer accelerator);
``precision`` overrides it.

Every problem is reported at once in one ConfigError whose file is the ONNX file: first
one line per unsupported op kind naming its nodes, then the other problems by node.
"""

from __future__ import annotations

import difflib
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
from archsim.workload.importers.onnx_convert import OPAQUE, Converter, Origin
from archsim.workload.importers.onnx_model import NodeIssue, OnnxModel, load_onnx_model
from archsim.workload.importers.onnx_ops import FORMS, HANDLERS, HOST_OPS
from archsim.workload.importers.onnx_pointwise import pointwise_groups

_LAYER_PATH = re.compile(r"layers\.([0-9]+)")


def import_onnx(
    path: str | Path,
    *,
    name: str | None = None,
    until: str | None = None,
    precision: Precision | str | None = None,
) -> WorkloadConfig:
    """The workload of the ONNX model at `path`, named `name` (default: the file's stem).

    The network input is the first graph input that is not an initializer: [N, C, H, W]
    gives input {width: W, height: H, channels: C} and batch N (1 if symbolic). `until`
    (a node or tensor name) keeps only what computing it needs. Raises ConfigError
    (file = `path`) listing every problem: unsupported ops with their node names, missing
    shape information, shapes archsim cannot represent.
    """
    model = load_onnx_model(path)
    converter = Converter(model)
    host_ops = _exclude_host_side(model, converter, until)
    groups = pointwise_groups(model)
    converter.groups = groups
    for group in groups.values():
        converter.skipped.update(node.output[0] for node in group.nodes[:-1])
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
    data["host_ops"] = host_ops
    if precision is not None:
        data["precision"] = str(precision)
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
        "precision": model_precision(model).value,
        "layers": converter.layers,
    }


_QUANTIZED_OPS = frozenset(
    {"QuantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger"}
)


def model_precision(model: OnnxModel) -> Precision:
    """The precision a model implies (see the module docstring)."""
    from onnx import TensorProto

    quantized = [node for node in model.graph.node if node.op_type in _QUANTIZED_OPS]
    if quantized:
        wide = (TensorProto.INT16, TensorProto.UINT16)
        zero_points = [
            model.elem_type(node.input[2])
            for node in quantized
            if node.op_type == "QuantizeLinear" and len(node.input) > 2 and node.input[2]
        ]
        return Precision.INT16 if any(t in wide for t in zero_points) else Precision.INT8
    input_type = model.elem_type(model.input.name)
    if input_type == TensorProto.FLOAT16:
        return Precision.FP16
    if input_type == TensorProto.BFLOAT16:
        return Precision.BF16
    return Precision.INT8


def _exclude_host_side(model: OnnxModel, converter: Converter, until: str | None) -> list[str]:
    """Mark host-side nodes (and those `until` cuts) as skipped; one line per kind of them."""
    nodes = list(model.graph.node)
    excluded: list[int] = []
    reasons: list[str] = []
    if until is not None:
        needed = _ancestors(model, until)
        cut = [i for i, node in enumerate(nodes) if i not in needed and not _is_free(model, node)]
        if cut:
            reasons.append(f"{_count(nodes, cut)} after --until {until}: {_ops(nodes, cut)}")
        excluded.extend(cut)
    host_tensors: set[str] = set()
    roots, after = [], []
    for index, node in enumerate(nodes):
        if index in excluded:
            continue
        if node.op_type in HOST_OPS or _final_softmax(model, node):
            roots.append(index)
        elif not any(name in host_tensors for name in node.input if name):
            continue
        else:
            after.append(index)
        host_tensors.update(node.output)
    for index in roots:
        node = nodes[index]
        label = repr(node.name) if node.name else f"#{index}"
        reasons.append(f"{node.op_type} {label}: runs on the host, not simulated")
    if after:
        reasons.append(
            f"{_count(nodes, after)} after them: runs on the host, not simulated "
            f"({_ops(nodes, after)})"
        )
    for index in (*excluded, *roots, *after):
        converter.skipped.update(nodes[index].output)
    return reasons


def _final_softmax(model: OnnxModel, node: Any) -> bool:
    """A Softmax over the network's output scores (class probabilities for the host)."""
    output = node.output[0]
    is_final = output in model.outputs and not model.consumers(output)
    return node.op_type in ("Softmax", "LogSoftmax") and is_final


def _ancestors(model: OnnxModel, until: str) -> set[int]:
    """Indices of the nodes needed to compute node or tensor `until`."""
    nodes = list(model.graph.node)
    producer = {output: index for index, node in enumerate(nodes) for output in node.output}
    by_name = {node.name: index for index, node in enumerate(nodes) if node.name}
    if until in by_name:
        stack = list(nodes[by_name[until]].output)
    elif until in producer:
        stack = [until]
    else:
        known = [*by_name, *producer]
        close = difflib.get_close_matches(until, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            Problem(f"--until {until!r}: no node or tensor of that name{hint}", model.file)
        )
    needed: set[int] = set()
    while stack:
        index = producer.get(stack.pop())
        if index is None or index in needed:
            continue
        needed.add(index)
        stack.extend(name for name in nodes[index].input if name)
    return needed


def _is_free(model: OnnxModel, node: Any) -> bool:
    return model.is_constant_node(node) or node.op_type == "Constant"


def _count(nodes: list[Any], indices: list[int]) -> str:
    return f"{len(indices)} node" + ("s" if len(indices) != 1 else "")


def _ops(nodes: list[Any], indices: list[int]) -> str:
    counts: dict[str, int] = {}
    for index in indices:
        counts[nodes[index].op_type] = counts.get(nodes[index].op_type, 0) + 1
    return ", ".join(f"{op} x{count}" for op, count in sorted(counts.items()))


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
        got = _onnx_shape(layer, origin.axes, expected)
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


def _onnx_shape(
    layer: Layer, axes: tuple[str, ...], expected: tuple[int, ...]
) -> tuple[int, ...] | None:
    """The layer's output in the ONNX layout `axes`; None if an axis it lacks is not 1.
    Opaque axes (rank > 4) are checked by the element count only."""
    shape = layer.output_shape
    if OPAQUE in axes:
        return expected if shape.elements == math.prod(expected) else None
    sizes = {"N": shape.batch, "C": shape.channels, "H": shape.height, "W": shape.width}
    if any(sizes[letter] != 1 for letter in sizes.keys() - set("".join(axes))):
        return None
    return tuple(math.prod(sizes[letter] for letter in axis) for axis in axes)
