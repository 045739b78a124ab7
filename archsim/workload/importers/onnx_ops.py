"""Per-op rules of the ONNX importer: each node becomes a layer, a fold or a pass-through.

Layers: Conv -> conv2d, Gemm -> fully_connected, MatMul by a constant -> fully_connected
(2-D input) or matmul (per position, channels last), Add of two activations -> add,
Concat along channels -> concat, MaxPool / AveragePool -> maxpool / avgpool,
GlobalAveragePool -> global_avgpool, nearest Resize / Upsample by an integer -> upsample.

Folded into the producing layer (no cost of their own): BatchNormalization after a Conv
(``batchnorm: true``), Relu / LeakyRelu / Sigmoid / Clip(0, 6) / Clip(0) (``activation``),
Add of a per-feature constant after Gemm / MatMul / Conv (``bias: true``).

Zero cost, no trace in the workload: Mul by a constant (a scale that inference folds into
the neighbouring weights), Flatten, Reshape as a flatten feeding Gemm / MatMul, Transpose
that only moves size-1 axes, feeds MatMul or restores NCHW (the data movement of the
transpose is not modelled), Softmax at the network output, Identity, Dropout, Constant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from archsim.workload.importers.names import size_value
from archsim.workload.importers.onnx_convert import (
    NCHW,
    Converter,
    FormCheck,
    Handler,
    Value,
)
from archsim.workload.importers.onnx_model import NodeIssue, OnnxModel

if TYPE_CHECKING:
    from onnx import NodeProto

_ACTIVATIONS = {"Relu": "relu", "LeakyRelu": "leaky_relu", "Sigmoid": "sigmoid"}
_MAC_LAYER_FEATURES = {"conv2d": "filters", "fully_connected": "units", "matmul": "units"}


def _attributes(node: NodeProto) -> dict[str, Any]:
    from onnx import helper

    values = {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}


def _operands(c: Converter, node: NodeProto) -> tuple[list[str], list[str]]:
    """(activation inputs, constant inputs) of `node`, omitted optional inputs dropped."""
    names = [name for name in node.input if name]
    return [n for n in names if not c.is_constant(n)], [n for n in names if c.is_constant(n)]


def _optional_input(node: NodeProto, index: int) -> str | None:
    return node.input[index] if len(node.input) > index and node.input[index] else None


def _require_image(value: Value, what: str) -> None:
    if value.axes != NCHW:
        raise NodeIssue(
            f"{what} needs an NCHW image tensor; its input has axes {','.join(value.axes)}"
        )


def _unused_extra_outputs(c: Converter, node: NodeProto, what: str) -> None:
    for name in node.output[1:]:
        if name and (c.model.consumers(name) or name in c.model.outputs):
            raise NodeIssue(f"its {what} output {name!r} is used; only the first output is")


def _constant_at(c: Converter, node: NodeProto, index: int, role: str) -> str:
    name = _optional_input(node, index)
    if name is None or not c.is_constant(name):
        raise NodeIssue(f"its {role} must be a constant (initializer)")
    return name


# --- layers ------------------------------------------------------------------------------


def _conv(c: Converter, node: NodeProto) -> None:
    source = node.input[0]
    _require_image(c.current(source), "Conv")
    weight = c.model.constant_shape(_constant_at(c, node, 1, "weight"))
    if len(weight) != 4:
        raise NodeIssue(f"only 2-D convolutions are supported (weight shape {list(weight)})")
    bias = _optional_input(node, 2)
    if bias is not None:
        _constant_at(c, node, 2, "bias")
    attributes = _attributes(node)
    strides = list(attributes.get("strides", [1, 1]))
    dilations = list(attributes.get("dilations", [1, 1]))
    output_shape = c.model.shape(node.output[0])
    padding = _conv_padding(attributes, c.model.shape(source)[2:], output_shape[2:], strides)
    filters, channels_per_group, kernel_h, kernel_w = weight
    fields = {
        "filters": filters,
        "kernel": size_value(kernel_h, kernel_w),
        "stride": size_value(*strides),
        "padding": padding,
        "dilation": size_value(*dilations),
        "groups": attributes.get("group", 1),
        "bias": bias is not None,
        "batchnorm": False,
    }
    macs = math.prod(output_shape) * channels_per_group * kernel_h * kernel_w
    c.add_layer(node, "conv2d", fields, [source], NCHW, macs=macs)


def _conv_padding(
    attributes: Mapping[str, Any],
    input_hw: Sequence[int],
    output_hw: Sequence[int],
    strides: Sequence[int],
) -> int | list[int] | str:
    """The workload padding of a Conv: symmetric pads as n or [h, w]; 'same' for auto_pad
    SAME_* and for asymmetric pads whose output 'same' reproduces; else NodeIssue."""
    auto_pad = attributes.get("auto_pad", "NOTSET")
    if auto_pad == "VALID":
        return 0
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return "same"
    top, left, bottom, right = attributes.get("pads", [0, 0, 0, 0])
    if top == bottom and left == right:
        return size_value(top, left)
    same = [-(-size // stride) for size, stride in zip(input_hw, strides, strict=True)]
    if list(output_hw) == same:
        return "same"
    raise NodeIssue(
        f"asymmetric pads [{top}, {left}, {bottom}, {right}] (top, left, bottom, right) give "
        f"an output of {output_hw[0]}x{output_hw[1]}; archsim pads symmetrically or 'same' "
        f"(output ceil(input / stride) = {same[0]}x{same[1]}), neither reproduces it"
    )


def _pool(c: Converter, node: NodeProto) -> None:
    source = node.input[0]
    _require_image(c.current(source), node.op_type)
    _unused_extra_outputs(c, node, "Indices")
    attributes = _attributes(node)
    kernel = list(attributes["kernel_shape"])
    if len(kernel) != 2:
        raise NodeIssue(f"only 2-D pooling is supported (kernel_shape {kernel})")
    if any(dilation != 1 for dilation in attributes.get("dilations", [1, 1])):
        raise NodeIssue("dilated pooling is not supported")
    strides = list(attributes.get("strides", [1, 1]))
    pads = list(attributes.get("pads", [0, 0, 0, 0]))
    if attributes.get("auto_pad", "NOTSET") != "NOTSET":
        pads = [-1, -1, -1, -1]  # no preferred padding: search
    input_hw = c.model.shape(source)[2:]
    output_hw = c.model.shape(node.output[0])[2:]
    padding = [
        _pool_padding(input_hw[axis], kernel[axis], strides[axis], output_hw[axis], pads, axis)
        for axis in (0, 1)
    ]
    fields = {
        "kernel": size_value(*kernel),
        # The workload default stride is the kernel size.
        "stride": None if strides == kernel else size_value(*strides),
        "padding": size_value(*padding),
    }
    op = "maxpool" if node.op_type == "MaxPool" else "avgpool"
    c.add_layer(node, op, fields, [source], NCHW)


def _pool_padding(
    size: int, kernel: int, stride: int, output: int, pads: list[int], axis: int
) -> int:
    """Symmetric padding that gives `output`: the node's own if symmetric, else the smallest.

    Pooling costs one operation per output element and window position, so asymmetric
    pads, auto_pad and ceil_mode are all represented by the padding with the same output.
    """
    before, after = pads[axis], pads[axis + 2]
    candidates = ([before] if before == after and before >= 0 else []) + list(
        range(kernel + max(before, after) + 1)
    )
    for padding in candidates:
        if (size + 2 * padding - kernel) // stride + 1 == output:
            return padding
    raise NodeIssue(
        f"no symmetric padding gives its output size {output} from {size} (kernel {kernel}, "
        f"stride {stride}, pads {pads})"
    )


def _global_avgpool(c: Converter, node: NodeProto) -> None:
    source = node.input[0]
    _require_image(c.current(source), "GlobalAveragePool")
    c.add_layer(node, "global_avgpool", {}, [source], NCHW)


def _gemm(c: Converter, node: NodeProto) -> None:
    source = node.input[0]
    if c.is_constant(source):
        raise NodeIssue("its first operand is a constant; only activation x weight is supported")
    attributes = _attributes(node)
    if attributes.get("transA", 0):
        raise NodeIssue("transA = 1 (a transposed activation) is not supported")
    weight = c.model.constant_shape(_constant_at(c, node, 1, "weight (B)"))
    if len(weight) != 2:
        raise NodeIssue(f"weight B must be 2-D, got shape {list(weight)}")
    units, depth = (weight[0], weight[1]) if attributes.get("transB", 0) else (weight[1], weight[0])
    bias = _optional_input(node, 2)
    if bias is not None:
        _constant_at(c, node, 2, "bias (C)")
    c.current(source)
    macs = math.prod(c.model.shape(node.output[0])) * depth
    fields = {"units": units, "bias": bias is not None}
    c.add_layer(node, "fully_connected", fields, [source], ("N", "C"), macs=macs)


def _matmul(c: Converter, node: NodeProto) -> None:
    source, weight_name = node.input[0], node.input[1]
    if c.is_constant(source):
        raise NodeIssue("its first operand is a constant; only activation x weight is supported")
    weight = c.model.constant_shape(weight_name)
    if len(weight) != 2:
        raise NodeIssue(f"the weight must be 2-D, got shape {list(weight)}")
    value = c.current(source)
    macs = math.prod(c.model.shape(node.output[0])) * weight[0]
    fields = {"units": weight[1], "bias": False}
    if len(value.axes) == 2:
        c.add_layer(node, "fully_connected", fields, [source], ("N", "C"), macs=macs)
    elif value.axes[-1] == "C":
        c.add_layer(node, "matmul", fields, [source], value.axes, macs=macs)
    else:
        raise NodeIssue(
            f"it contracts the {value.axes[-1]} axis of a {','.join(value.axes)} tensor; "
            "archsim's matmul contracts channels (Transpose to channels-last first)"
        )


def _add(c: Converter, node: NodeProto) -> None:
    activations, constants = _operands(c, node)
    if len(activations) == 1:
        _fold_bias(c, node, activations[0], constants[0])
        return
    if len(activations) != 2:
        raise NodeIssue("adds two constants; fold constants first (e.g. with onnxsim)")
    first, second = (c.current(name) for name in activations)
    shapes = [c.model.shape(name) for name in activations]
    if shapes[0] != shapes[1] or first.axes != second.axes:
        raise NodeIssue(
            f"adds tensors of shapes {list(shapes[0])} and {list(shapes[1])}; archsim adds "
            "tensors of identical shape and layout (no broadcasting)"
        )
    c.add_layer(node, "add", {}, activations, first.axes, explicit_inputs=True)


def _fold_bias(c: Converter, node: NodeProto, source: str, constant: str) -> None:
    value = c.current(source)
    layer = c.layer(value)
    feature_key = _MAC_LAYER_FEATURES.get(layer["op"]) if layer else None
    if layer is None or feature_key is None:
        what = "the network input" if layer is None else f"a {layer['op']} layer"
        raise NodeIssue(
            f"adds a constant to {what}; a constant is only supported as the bias of the "
            "Gemm, MatMul or Conv right before it"
        )
    features = layer[feature_key]
    shape = c.model.constant_shape(constant)
    padded = (1,) * (len(value.axes) - len(shape)) + shape
    channel = value.axes.index("C") if "C" in value.axes else -1
    per_feature = len(padded) == len(value.axes) and all(
        dim == (features if axis == channel else 1) for axis, dim in enumerate(padded)
    )
    if not per_feature:
        raise NodeIssue(
            f"adds a constant of shape {list(shape)} to layer {layer['name']!r}; a bias has "
            f"one value per output feature ({features})"
        )
    if layer["bias"]:
        raise NodeIssue(f"layer {layer['name']!r} already has a bias")
    if layer["activation"] != "none":
        raise NodeIssue(f"adds a bias after the activation of layer {layer['name']!r}")
    c.fold(node, source, lambda fields: fields.update(bias=True))


def _concat(c: Converter, node: NodeProto) -> None:
    activations, constants = _operands(c, node)
    if constants:
        raise NodeIssue(f"concatenates the constant {constants[0]!r}; only activations are")
    values = [c.current(name) for name in activations]
    if len(values) == 1:
        c.pass_through(activations[0], node.output[0])
        return
    if any(value.axes != values[0].axes for value in values):
        raise NodeIssue("concatenates tensors of different layouts")
    axis = _attributes(node)["axis"] % len(values[0].axes)
    if values[0].axes[axis] != "C":
        raise NodeIssue(
            f"concatenates along axis {axis} ({values[0].axes[axis]}); archsim concatenates "
            "channels (axis 1 of NCHW)"
        )
    c.add_layer(node, "concat", {}, activations, values[0].axes, explicit_inputs=True)


def _upsample(c: Converter, node: NodeProto) -> None:
    source = node.input[0]
    mode = _attributes(node).get("mode", "nearest")
    if mode != "nearest":
        raise NodeIssue(f"mode {mode!r} is not supported; archsim upsamples nearest-neighbour")
    _require_image(c.current(source), node.op_type)
    before, after = c.model.shape(source), c.model.shape(node.output[0])
    scales = {after[axis] / before[axis] for axis in (2, 3)}
    scale = scales.pop() if len(scales) == 1 else 0.0
    if before[:2] != after[:2] or not scale.is_integer() or scale < 1:
        raise NodeIssue(
            f"resizes {list(before)} to {list(after)}; archsim upsamples height and width "
            "by one integer factor"
        )
    c.add_layer(node, "upsample", {"scale": int(scale)}, [source], NCHW)


# --- folds -------------------------------------------------------------------------------


def _batchnorm(c: Converter, node: NodeProto) -> None:
    _unused_extra_outputs(c, node, "training statistics")
    source = node.input[0]
    layer = c.layer(c.current(source))
    if layer is None or layer["op"] != "conv2d":
        what = "the network input" if layer is None else f"a {layer['op']} layer"
        raise NodeIssue(
            f"its input comes from {what}; only a BatchNormalization right after a Conv is "
            "supported (folded into the convolution)"
        )
    if layer["batchnorm"] or layer["activation"] != "none":
        raise NodeIssue(
            f"layer {layer['name']!r} already has a batchnorm or an activation; only a "
            "BatchNormalization right after the Conv can be folded"
        )
    c.fold(node, source, lambda fields: fields.update(batchnorm=True))


def _activation(c: Converter, node: NodeProto) -> None:
    activation = _ACTIVATIONS.get(node.op_type) or _clip_activation(c, node)
    source = node.input[0]
    layer = c.layer(c.current(source))
    if layer is not None and layer["activation"] != "none":
        raise NodeIssue(
            f"layer {layer['name']!r} already has activation {layer['activation']!r}; "
            "archsim folds one activation per layer"
        )
    c.fold(node, source, lambda fields: fields.update(activation=activation))


def _clip_activation(c: Converter, node: NodeProto) -> str:
    """relu6 for Clip(0, 6), relu for Clip(0); NodeIssue for other bounds."""
    attributes = _attributes(node)
    bounds = [attributes.get("min", -math.inf), attributes.get("max", math.inf)]
    for position in (0, 1):
        name = _optional_input(node, position + 1)
        if name is not None:
            value = c.model.constant_value(_constant_at(c, node, position + 1, "bound"))
            bounds[position] = float(value.reshape(-1)[0])
    if bounds[0] == 0 and bounds[1] == 6:
        return "relu6"
    if bounds[0] == 0 and bounds[1] == math.inf:
        return "relu"
    raise NodeIssue(
        f"Clip({bounds[0]:g}, {bounds[1]:g}) has no archsim activation (relu6 is Clip(0, 6), "
        "relu is Clip(0))"
    )


# --- zero cost ---------------------------------------------------------------------------


def _scale(c: Converter, node: NodeProto) -> None:
    activations, _ = _operands(c, node)
    if len(activations) != 1:
        raise NodeIssue("multiplies two constants; fold constants first (e.g. with onnxsim)")
    c.pass_through(activations[0], node.output[0])


def _flatten(c: Converter, node: NodeProto) -> None:
    source = node.input[0]
    value = c.value(source)
    axis = _attributes(node).get("axis", 1) % max(len(value.axes), 1)
    if axis != 1 or value.axes[0] != "N":
        raise NodeIssue(f"only Flatten(axis=1) of a batch-first tensor is supported (axis {axis})")
    c.pass_through(source, node.output[0], _flattened(c, source, value))


def _flattened(c: Converter, source: str, value: Value) -> tuple[str, str]:
    """Axes after flattening all but the batch: the letters of the axes that are not 1."""
    shape = c.model.shape(source)
    letters = "".join(axes for axes, dim in zip(value.axes[1:], shape[1:], strict=True) if dim != 1)
    return ("N", letters or "C")


def _reshape(c: Converter, node: NodeProto) -> None:
    source = node.input[0]
    value = c.value(source)
    before, after = c.model.shape(source), c.model.shape(node.output[0])
    is_flatten = (
        value.axes[0] == "N"
        and len(after) == 2
        and after[0] == before[0]
        and after[1] == math.prod(before[1:])
    )
    consumers = c.model.consumers(node.output[0])
    feeds_gemm = bool(consumers) and all(n.op_type in ("Gemm", "MatMul") for n in consumers)
    if not (is_flatten and feeds_gemm):
        raise NodeIssue(
            f"reshapes {list(before)} to {list(after)}; only a flatten [N, ...] -> "
            "[N, features] that feeds Gemm or MatMul is supported"
        )
    c.pass_through(source, node.output[0], _flattened(c, source, value))


def _transpose(c: Converter, node: NodeProto) -> None:
    source = node.input[0]
    value = c.value(source)
    shape = c.model.shape(source)
    perm = list(_attributes(node).get("perm", reversed(range(len(shape)))))
    axes = tuple(value.axes[p] for p in perm)
    moves_only_ones = _non_unit(axes, [shape[p] for p in perm]) == _non_unit(value.axes, shape)
    consumers = c.model.consumers(node.output[0])
    feeds_matmul = bool(consumers) and all(n.op_type == "MatMul" for n in consumers)
    if not (moves_only_ones or feeds_matmul or axes == NCHW):
        raise NodeIssue(
            f"perm {perm} turns axes {','.join(value.axes)} into {','.join(axes)}; a Transpose "
            "is only supported when it moves size-1 axes, feeds MatMul or restores NCHW"
        )
    c.pass_through(source, node.output[0], axes)


def _non_unit(axes: Sequence[str], shape: Sequence[int]) -> list[str]:
    """The axes whose size is not 1, in order."""
    return [axis for axis, size in zip(axes, shape, strict=True) if size != 1]


def _softmax(c: Converter, node: NodeProto) -> None:
    output = node.output[0]
    if output not in c.model.outputs or c.model.consumers(output):
        raise NodeIssue("Softmax is only supported at the network output (where it is dropped)")
    c.pass_through(node.input[0], output)


def _identity(c: Converter, node: NodeProto) -> None:
    _unused_extra_outputs(c, node, "mask")
    c.pass_through(node.input[0], node.output[0])


def _constant(c: Converter, node: NodeProto) -> None:
    """Constant nodes only provide constants (see OnnxModel.is_constant)."""


HANDLERS: dict[str, Handler] = {
    "Conv": _conv,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "Add": _add,
    "Concat": _concat,
    "MaxPool": _pool,
    "AveragePool": _pool,
    "GlobalAveragePool": _global_avgpool,
    "Resize": _upsample,
    "Upsample": _upsample,
    "BatchNormalization": _batchnorm,
    "Relu": _activation,
    "LeakyRelu": _activation,
    "Sigmoid": _activation,
    "Clip": _activation,
    "Mul": _scale,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "Softmax": _softmax,
    "Identity": _identity,
    "Dropout": _identity,
    "Constant": _constant,
}
"""Supported ONNX ops (default domain) and their rules."""


def _two_activations(what: str) -> FormCheck:
    def check(model: OnnxModel, node: NodeProto) -> str | None:
        names = [name for name in node.input[:2] if name]
        both = len(names) == 2 and not any(model.is_constant(name) for name in names)
        return f"{what} of two activations" if both else None

    return check


FORMS: dict[str, FormCheck] = {
    "Mul": _two_activations("Mul"),
    "MatMul": _two_activations("MatMul"),
    "Gemm": _two_activations("Gemm"),
}
"""Forms of supported ops that are unsupported, reported with the unsupported ops."""
