"""Element-wise ONNX ops: folded into the layer that produces their input, or vector work.

A *pointwise group* is a set of element-wise nodes computed from one tensor (its root)
alone, with one output read outside the group: SiLU (Sigmoid and Mul by the root), GELU
(Div, Erf, Add, Mul, Mul), HardSwish as x * HardSigmoid(x). A group (or a single
element-wise node) whose root is read by nothing else is folded into the root's layer as
its activation, where hardware applies it in the output stage at no cost; otherwise it is
an ``eltwise`` layer of one vector operation per node and element.

Element-wise ops of two activations (squeeze-excitation's Mul by the channel weights, Sub,
Div, Add with broadcasting) are ``eltwise`` layers; Add of two tensors of one shape is
``add``. A constant operand is a bias folded into the Gemm / MatMul / Conv before it when
it has one value per feature, a scale (Mul, Div) folded into the neighbouring weights at no
cost, else part of an ``eltwise`` layer (its elements count as parameters, e.g. a position
embedding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archsim.workload.importers.onnx_convert import Converter
from archsim.workload.importers.onnx_model import NodeIssue, OnnxModel
from archsim.workload.importers.onnx_nodes import attributes, constant_at, operands, optional_input

if TYPE_CHECKING:
    from onnx import NodeProto

UNARY = frozenset(
    {
        "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "HardSigmoid", "HardSwish", "Gelu",
        "Clip", "Elu", "Selu", "Celu", "Softplus", "Softsign", "Exp", "Log", "Sqrt", "Neg",
        "Abs", "Reciprocal", "Mish", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos",
        "ThresholdedRelu",
    }
)  # fmt: skip
BINARY = frozenset({"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "PRelu"})
POINTWISE = UNARY | BINARY
_LABELS = {
    "Relu": "relu",
    "LeakyRelu": "leaky_relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "HardSigmoid": "hardsigmoid",
    "HardSwish": "hardswish",
    "Gelu": "gelu",
}
_NO_FOLD_OPS = frozenset({"concat", "slice", "route", "yolo", "input"})
_MAC_LAYER_FEATURES = {"conv2d": "filters", "fully_connected": "units", "matmul": "units"}


@dataclass(frozen=True, slots=True)
class PointwiseGroup:
    """Element-wise nodes computed from `root` alone, in graph order; the last is the exit."""

    root: str
    nodes: tuple[NodeProto, ...]


def pointwise_groups(model: OnnxModel) -> dict[str, PointwiseGroup]:
    """The groups of two or more nodes, by the tensor they output. A node with a constant
    operand joins a group only if the constant is a scalar (GELU's 0.5, 1, sqrt(2)); a
    per-feature one is a bias or a scale of its own."""
    roots: dict[str, str] = {}
    members: dict[str, list[NodeProto]] = {}
    for node in model.graph.node:
        if model.is_constant_node(node) or node.op_type not in POINTWISE or node.domain:
            continue
        activations = [n for n in node.input if n and not model.is_constant(n)]
        try:
            shapes = {model.shape(name) for name in (*activations, node.output[0])}
        except NodeIssue:
            continue
        group_roots = {roots.get(name, name) for name in activations}
        scalars = all(
            model.constant_elements(name) == 1
            for name in node.input
            if name and model.is_constant(name)
        )
        if not activations or len(shapes) != 1 or len(group_roots) != 1 or not scalars:
            continue
        root = group_roots.pop()
        roots[node.output[0]] = root
        members.setdefault(root, []).append(node)
    groups = {}
    for root, nodes in members.items():
        inside = {node.output[0] for node in nodes}
        exits = [
            node.output[0]
            for node in nodes
            if node.output[0] in model.outputs
            or any(user.output[0] not in inside for user in model.consumers(node.output[0]))
        ]
        if len(nodes) > 1 and exits == [nodes[-1].output[0]]:
            groups[exits[0]] = PointwiseGroup(root, tuple(nodes))
    return groups


def group_label(model: OnnxModel, group: PointwiseGroup) -> str:
    """The activation a group computes: gelu, silu, hardswish, else 'pointwise'."""
    ops = [node.op_type for node in group.nodes]
    scaled = [  # Mul / Div by a constant: a scale folded into neighbouring weights
        node
        for node in group.nodes
        if node.op_type in ("Mul", "Div") and any(model.is_constant(n) for n in node.input)
    ]
    rest = [node.op_type for node in group.nodes if node not in scaled]
    if len(rest) == 1 and rest[0] in _LABELS:
        return _LABELS[rest[0]]
    products = [
        node
        for node in group.nodes
        if node.op_type == "Mul" and not any(model.is_constant(n) for n in node.input)
    ]
    if "Erf" in ops or "Gelu" in ops or ("Tanh" in ops and "Pow" in ops):
        return "gelu"
    if "HardSwish" in ops or ("HardSigmoid" in ops and products):
        return "hardswish"
    if "Sigmoid" in ops and products:
        return "silu"
    return "pointwise"


def pointwise(c: Converter, node: NodeProto) -> None:
    """Rule of every element-wise op (see the module docstring)."""
    group = c.groups.get(node.output[0])
    if group is not None:
        label = group_label(c.model, group)
        _fold_or_eltwise(c, node, group.root, label, len(group.nodes), group.nodes)
        return
    activations, constants = operands(c, node)
    if not activations:
        raise NodeIssue("computes on constants only")
    if node.op_type in UNARY or (node.op_type == "PRelu" and len(activations) == 1):
        label = _unary_label(c, node)
        _fold_or_eltwise(c, node, activations[0], label, 1, (node,))
    elif len(activations) == 1:
        _with_constant(c, node, activations[0], constants[0])
    else:
        _of_activations(c, node, activations)


def _unary_label(c: Converter, node: NodeProto) -> str:
    if node.op_type != "Clip":
        return _LABELS.get(node.op_type, "pointwise")
    values = attributes(node)
    bounds = [values.get("min", -math.inf), values.get("max", math.inf)]
    for position in (0, 1):
        if optional_input(node, position + 1) is not None:
            value = c.model.constant_value(constant_at(c, node, position + 1, "bound"))
            bounds[position] = float(value.reshape(-1)[0])
    if bounds == [0, 6]:
        return "relu6"
    if bounds == [0, math.inf]:
        return "relu"
    return "pointwise"


def _foldable(c: Converter, source: str, members: tuple[NodeProto, ...]) -> dict[str, Any] | None:
    """The layer that can absorb `members` as its activation, None if there is none: an
    executing layer without one whose output nothing else reads."""
    value = c.current(source)
    layer = c.layer(value)
    inside = {node.output[0] for node in members}
    readers_inside = all(user.output[0] in inside for user in c.model.consumers(source))
    if layer is None or layer["op"] in _NO_FOLD_OPS or not readers_inside:
        return None
    if source in c.model.outputs or layer["activation"] != "none":
        return None
    return layer


def _fold_or_eltwise(
    c: Converter,
    node: NodeProto,
    source: str,
    label: str,
    operations: int,
    members: tuple[NodeProto, ...],
) -> None:
    if _foldable(c, source, members) is not None:
        c.fold(node, source, lambda fields: fields.update(activation=label))
        return
    value = c.current(source)
    function = label if label != "pointwise" else node.op_type.lower()
    fields = {"function": function, "ops_per_element": operations}
    c.add_layer(
        node, "eltwise", fields, [source], value.axes, explicit_inputs=True, dims=value.dims
    )


def _with_constant(c: Converter, node: NodeProto, source: str, constant: str) -> None:
    """An element-wise op of an activation and a constant of at most its shape."""
    value = c.current(source)
    if c.model.shape(node.output[0]) != c.model.shape(source):
        raise NodeIssue(
            f"broadcasts the activation {source!r} {list(c.model.shape(source))} up to "
            f"{list(c.model.shape(node.output[0]))}; archsim keeps an activation's shape"
        )
    scale = c.model.constant_elements(constant) <= value.dims[3]
    if node.op_type in ("Mul", "Div") and scale:
        c.pass_through(source, node.output[0])  # a scale: folded into the weights
        return
    if node.op_type in ("Add", "Sub") and _fold_bias(c, node, source, constant):
        return
    elements = c.model.constant_elements(constant)
    fields = {
        "function": node.op_type.lower(),
        "ops_per_element": 1,
        "weights": elements if elements > 1 else 0,
    }
    c.add_layer(
        node, "eltwise", fields, [source], value.axes, explicit_inputs=True, dims=value.dims
    )


def _fold_bias(c: Converter, node: NodeProto, source: str, constant: str) -> bool:
    """Fold a per-feature constant into the MAC layer before it as its bias, if it can be."""
    value = c.current(source)
    layer = c.layer(value)
    feature_key = _MAC_LAYER_FEATURES.get(layer["op"]) if layer else None
    if layer is None or feature_key is None or layer["bias"] or layer["activation"] != "none":
        return False
    if len(c.model.consumers(source)) != 1 or source in c.model.outputs:
        return False
    features = layer[feature_key]
    shape = c.model.constant_shape(constant)
    padded = (1,) * (len(value.axes) - len(shape)) + shape
    channel = value.axes.index("C") if "C" in value.axes else -1
    per_feature = len(padded) == len(value.axes) and all(
        dim == (features if axis == channel else 1) for axis, dim in enumerate(padded)
    )
    if not per_feature:
        return False
    c.fold(node, source, lambda fields: fields.update(bias=True))
    return True


def _of_activations(c: Converter, node: NodeProto, activations: list[str]) -> None:
    """Two activations: ``add`` for a sum of one shape and layout, else ``eltwise`` with
    broadcasting (the smaller input re-laid out to line up with the larger if needed)."""
    output_shape = c.model.shape(node.output[0])
    full = next((n for n in activations if c.model.shape(n) == output_shape), None)
    if full is None:
        shapes = ", ".join(str(list(c.model.shape(n))) for n in activations)
        raise NodeIssue(
            f"broadcasts both inputs ({shapes}); archsim broadcasts one input to the other's"
        )
    axes = c.current(full).axes
    sources = [_aligned(c, name, axes, output_shape) for name in activations]
    values = [c.current(name) for name in sources]
    same = all(v.dims == values[0].dims and v.axes == values[0].axes for v in values)
    if node.op_type == "Add" and same:
        c.add_layer(
            node, "add", {}, sources, values[0].axes, explicit_inputs=True, dims=values[0].dims
        )
        return
    fields = {"function": node.op_type.lower(), "ops_per_element": 1}
    dims = c.current(full).dims
    c.add_layer(node, "eltwise", fields, sources, axes, explicit_inputs=True, dims=dims)


def _aligned(c: Converter, name: str, axes: tuple[str, ...], output_shape: tuple[int, ...]) -> str:
    """`name` laid out so that it broadcasts to a tensor of `output_shape` with `axes`."""
    value = c.current(name)
    shape = c.model.shape(name)
    offset = len(output_shape) - len(shape)
    wanted = tuple("" if dim == 1 else axes[offset + i] for i, dim in enumerate(shape))
    if (
        value.axes == wanted
        or all(len(a) <= 1 for a in value.axes)
        and _dims_fit(value.dims, wanted, shape)
    ):
        return name
    if any(len(letters) > 1 for letters in wanted):
        raise NodeIssue(f"cannot line up {name!r} with a tensor of axes {','.join(axes)}")
    return c.relayout(name, wanted)


def _dims_fit(dims: tuple[int, ...], wanted: tuple[str, ...], shape: tuple[int, ...]) -> bool:
    sizes = {"N": 1, "H": 1, "W": 1, "C": 1}
    for letters, dim in zip(wanted, shape, strict=True):
        if len(letters) == 1:
            sizes[letters] = dim
    return dims == (sizes["N"], sizes["H"], sizes["W"], sizes["C"])
