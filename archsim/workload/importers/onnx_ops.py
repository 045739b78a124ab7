"""Per-op rules of the ONNX importer: each node becomes a layer, a fold or a pass-through.

Layers: Conv (and QLinearConv, ConvInteger) -> conv2d; Gemm -> fully_connected; MatMul (and
QLinearMatMul, MatMulInteger) by a constant -> fully_connected (2-D input) or matmul (per
position, channels last); MatMul of two activations -> batch_matmul; MaxPool / AveragePool
-> maxpool / avgpool; GlobalAveragePool -> global_avgpool; GlobalMaxPool, ReduceMean /
ReduceSum / ReduceMax... -> reduce; Softmax -> softmax over its axis; LayerNormalization ->
layernorm. Element-wise ops: ``onnx_pointwise``; layout and data movement (Reshape,
Transpose, Concat, Split, Slice, Gather, Pad, Resize): ``onnx_layout``.

Folded into the producing layer (no cost of their own): BatchNormalization after a Conv
(``batchnorm: true``), activations, a bias. Zero cost, no trace in the workload: Identity,
Dropout, Cast, QuantizeLinear / DequantizeLinear of activations (the model's precision is
the workload's), and every node that computes constants (see ``onnx_model``).

Host-side ops (NonMaxSuppression, TopK...) and every node after them are not simulated;
``onnx_import`` reports them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from archsim.workload.importers.names import size_value
from archsim.workload.importers.onnx_convert import NCHW, Converter, FormCheck, Handler
from archsim.workload.importers.onnx_layout import (
    axis_letter,
    canonical,
    concat,
    gather,
    pad,
    reshape,
    resize,
    slice_,
    split,
    transpose,
)
from archsim.workload.importers.onnx_model import NodeIssue, OnnxModel
from archsim.workload.importers.onnx_nodes import (
    attributes,
    constant_at,
    image,
    int_list,
    optional_input,
    unused_extra_outputs,
)
from archsim.workload.importers.onnx_pointwise import POINTWISE, pointwise

if TYPE_CHECKING:
    from onnx import NodeProto

HOST_OPS = frozenset(
    {
        "NonMaxSuppression", "TopK", "NonZero", "RoiAlign", "ArgMax", "ArgMin", "Loop", "If",
        "Scan", "ScatterND", "ScatterElements", "GatherND", "GatherElements", "Unique",
        "CumSum", "Multinomial", "Compress", "SequenceConstruct", "SplitToSequence",
    }
)  # fmt: skip
"""Ops that run on the host (post-processing, data-dependent control): not simulated."""

# --- layers ------------------------------------------------------------------------------


_CONV_OPERANDS = {"Conv": (0, 1, 2), "QLinearConv": (0, 3, 8), "ConvInteger": (0, 1, None)}
_MATMUL_OPERANDS = {"MatMul": (0, 1), "QLinearMatMul": (0, 3), "MatMulInteger": (0, 1)}


def _conv(c: Converter, node: NodeProto) -> None:
    data, weight_at, bias_at = _CONV_OPERANDS[node.op_type]
    source = image(c, node.input[data])
    weight = c.model.constant_shape(constant_at(c, node, weight_at, "weight"))
    if len(weight) != 4:
        raise NodeIssue(f"only 2-D convolutions are supported (weight shape {list(weight)})")
    bias = None
    if bias_at is not None:  # ConvInteger has no bias input
        bias = optional_input(node, bias_at)
        if bias is not None:
            constant_at(c, node, bias_at, "bias")
    values = _with_folded_pads(c, node.input[data], attributes(node))
    strides = list(values.get("strides", [1, 1]))
    dilations = list(values.get("dilations", [1, 1]))
    output_shape = c.model.shape(node.output[0])
    input_hw = c.model.shape(node.input[data])[2:]
    input_hw = _unpadded(c, node.input[data], input_hw)
    padding = _conv_padding(values, input_hw, output_shape[2:], strides)
    filters, channels_per_group, kernel_h, kernel_w = weight
    fields = {
        "filters": filters,
        "kernel": size_value(kernel_h, kernel_w),
        "stride": size_value(*strides),
        "padding": padding,
        "dilation": size_value(*dilations),
        "groups": values.get("group", 1),
        "bias": bias is not None,
        "batchnorm": False,
    }
    macs = math.prod(output_shape) * channels_per_group * kernel_h * kernel_w
    c.add_layer(node, "conv2d", fields, [source], NCHW, macs=macs)


def _with_folded_pads(c: Converter, source: str, values: dict[str, Any]) -> dict[str, Any]:
    """The node's attributes with the pads of a Pad folded into it added."""
    folded = c.pending_pads.get(source)
    if folded is None:
        return values
    if values.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise NodeIssue("a Pad before a Conv or pool with auto_pad cannot be folded")
    top, left, bottom, right = values.get("pads", [0, 0, 0, 0])
    extra_top, extra_left, extra_bottom, extra_right = folded
    pads = [top + extra_top, left + extra_left, bottom + extra_bottom, right + extra_right]
    return {**values, "pads": pads, "auto_pad": "NOTSET"}


def _unpadded(c: Converter, source: str, input_hw: Sequence[int]) -> tuple[int, int]:
    """Height and width before a folded Pad (what the layer reads)."""
    top, left, bottom, right = c.pending_pads.get(source, (0, 0, 0, 0))
    return (input_hw[0] - top - bottom, input_hw[1] - left - right)


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
    source = image(c, node.input[0])
    unused_extra_outputs(c, node, "Indices")
    values = _with_folded_pads(c, node.input[0], attributes(node))
    kernel = list(values["kernel_shape"])
    if len(kernel) != 2:
        raise NodeIssue(f"only 2-D pooling is supported (kernel_shape {kernel})")
    if any(dilation != 1 for dilation in values.get("dilations", [1, 1])):
        raise NodeIssue("dilated pooling is not supported")
    strides = list(values.get("strides", [1, 1]))
    pads = list(values.get("pads", [0, 0, 0, 0]))
    if values.get("auto_pad", "NOTSET") != "NOTSET":
        pads = [-1, -1, -1, -1]  # no preferred padding: search
    input_hw = _unpadded(c, node.input[0], c.model.shape(node.input[0])[2:])
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
    source = image(c, node.input[0])
    c.add_layer(node, "global_avgpool", {}, [source], NCHW)


def _global_maxpool(c: Converter, node: NodeProto) -> None:
    source = image(c, node.input[0])
    c.add_layer(node, "reduce", {"function": "max", "axes": ["height", "width"]}, [source], NCHW)


def _reduce(c: Converter, node: NodeProto) -> None:
    """ReduceMean / Sum / Max / Min... over constant axes: ``reduce``."""
    source = node.input[0]
    rank = len(c.model.shape(source))
    axes = int_list(c, node, 1, "axes")
    if not axes:
        axes = [] if attributes(node).get("noop_with_empty_axes", 0) else list(range(rank))
    axes = sorted(axis % rank for axis in axes)
    if not axes:
        c.pass_through(source, node.output[0])
        return
    value = c.current(source)
    letters = "".join(value.axes[axis] for axis in axes)
    if "N" in letters or "?" in letters:
        source = canonical(c, source)
        value = c.current(source)
        letters = "".join(value.axes[axis] for axis in axes)
    if "N" in letters or not letters and any(c.model.shape(source)[a] != 1 for a in axes):
        raise NodeIssue(f"reduces axes {axes}, which include the batch")
    function = node.op_type.removeprefix("Reduce").lower()
    ir_axes = [
        name
        for letter, name in (("H", "height"), ("W", "width"), ("C", "channels"))
        if letter in letters
    ]
    keep = attributes(node).get("keepdims", 1)
    out_axes = tuple(
        "" if axis in axes else letter
        for axis, letter in enumerate(value.axes)
        if keep or axis not in axes
    )
    dims = tuple(
        1 if letter in letters else size for letter, size in zip("NHWC", value.dims, strict=True)
    )
    if not ir_axes:
        c.pass_through(source, node.output[0], out_axes)
        return
    c.add_layer(
        node,
        "reduce",
        {"function": function, "axes": ir_axes},
        [source],
        out_axes,
        dims=(dims[0], dims[1], dims[2], dims[3]),
    )


def _gemm(c: Converter, node: NodeProto) -> None:
    source = node.input[0]
    if c.is_constant(source):
        raise NodeIssue("its first operand is a constant; only activation x weight is supported")
    values = attributes(node)
    if values.get("transA", 0):
        raise NodeIssue("transA = 1 (a transposed activation) is not supported")
    weight = c.model.constant_shape(constant_at(c, node, 1, "weight (B)"))
    if len(weight) != 2:
        raise NodeIssue(f"weight B must be 2-D, got shape {list(weight)}")
    units, depth = (weight[0], weight[1]) if values.get("transB", 0) else (weight[1], weight[0])
    bias = optional_input(node, 2)
    if bias is not None:
        constant_at(c, node, 2, "bias (C)")
    macs = math.prod(c.model.shape(node.output[0])) * depth
    fields = {"units": units, "bias": bias is not None}
    value = c.current(source)
    if value.axes[0] == "N" and value.dims[0] == c.model.shape(source)[0]:
        c.add_layer(node, "fully_connected", fields, [source], ("N", "C"), macs=macs)
        return
    # Rows that are not the batch (tokens, sequence first): a projection per row.
    source = canonical(c, source)
    value = c.current(source)
    dims = (*value.dims[:3], units)
    c.add_layer(node, "matmul", fields, [source], value.axes, macs=macs, dims=dims)


def _matmul(c: Converter, node: NodeProto) -> None:
    first, second = _MATMUL_OPERANDS[node.op_type]
    source, weight_name = node.input[first], node.input[second]
    if c.is_constant(source):
        raise NodeIssue("its first operand is a constant; only activation x weight is supported")
    if not c.is_constant(weight_name):
        _batch_matmul(c, node, source, weight_name)
        return
    weight = c.model.constant_shape(weight_name)
    if len(weight) != 2:
        raise NodeIssue(f"the weight must be 2-D, got shape {list(weight)}")
    macs = math.prod(c.model.shape(node.output[0])) * weight[0]
    fields = {"units": weight[1], "bias": False}
    value = c.current(source)
    batch_rows = value.axes[0] == "N" and value.dims[0] == c.model.shape(source)[0]
    if len(value.axes) == 2 and batch_rows:
        c.add_layer(node, "fully_connected", fields, [source], ("N", "C"), macs=macs)
        return
    if value.axes[-1] != "C":
        source = canonical(c, source)
        value = c.current(source)
    dims = (*value.dims[:3], weight[1])
    c.add_layer(node, "matmul", fields, [source], value.axes, macs=macs, dims=dims)


def _batch_matmul(c: Converter, node: NodeProto, first: str, second: str) -> None:
    """A product of two activations (attention): both in ONNX order, batch dims leading."""
    shapes = [c.model.shape(first), c.model.shape(second)]
    if any(len(shape) not in (3, 4) for shape in shapes) or len(shapes[0]) != len(shapes[1]):
        raise NodeIssue(
            f"multiplies activations of shapes {list(shapes[0])} and {list(shapes[1])}; "
            "archsim multiplies (B, M, K) or (B, G, M, K) by one of the same rank"
        )
    sources = [canonical(c, first), canonical(c, second)]
    output = c.model.shape(node.output[0])
    macs = math.prod(output) * shapes[0][-1]
    value = c.current(sources[0])
    dims = (*value.dims[:3], output[-1])
    c.add_layer(
        node, "batch_matmul", {}, sources, value.axes, macs=macs, explicit_inputs=True, dims=dims
    )


def _softmax(c: Converter, node: NodeProto) -> None:
    rank = len(c.model.shape(node.input[0]))
    axis = attributes(node).get("axis", -1 if c.model.opsets().get("", 13) >= 13 else 1) % rank
    if c.model.opsets().get("", 13) < 13 and axis != rank - 1:
        raise NodeIssue("Softmax before opset 13 over more than the last axis is not supported")
    source, letter = axis_letter(c, node.input[0], axis)
    value = c.current(source)
    axis_name = {"H": "height", "W": "width", "C": "channels"}[letter]
    c.add_layer(node, "softmax", {"axis": axis_name}, [source], value.axes, dims=value.dims)


def _layernorm(c: Converter, node: NodeProto) -> None:
    rank = len(c.model.shape(node.input[0]))
    axis = attributes(node).get("axis", -1) % rank
    if axis != rank - 1:
        raise NodeIssue(f"normalizes axes {list(range(axis, rank))}; archsim normalizes one axis")
    unused_extra_outputs(c, node, "statistics")
    source, letter = axis_letter(c, node.input[0], axis)
    if letter != "C":
        source = canonical(c, node.input[0])
    value = c.current(source)
    constant_at(c, node, 1, "scale")
    fields = {"bias": optional_input(node, 2) is not None}
    c.add_layer(node, "layernorm", fields, [source], value.axes, dims=value.dims)


# --- folds -------------------------------------------------------------------------------


def _batchnorm(c: Converter, node: NodeProto) -> None:
    unused_extra_outputs(c, node, "training statistics")
    source = node.input[0]
    value = c.current(source)
    layer = c.layer(value)
    alone = len(c.model.consumers(source)) == 1 and source not in c.model.outputs
    if (
        layer is not None
        and layer["op"] == "conv2d"
        and not layer["batchnorm"]
        and layer["activation"] == "none"
        and alone
    ):
        c.fold(node, source, lambda fields: fields.update(batchnorm=True))
        return
    # Elsewhere (DenseNet's pre-activation): a scale and shift per channel, on the lanes.
    source = image(c, source) if len(c.model.shape(source)) == 4 else source
    value = c.current(source)
    channels = c.model.constant_elements(constant_at(c, node, 1, "scale"))
    fields = {"function": "batchnorm", "ops_per_element": 2, "weights": 2 * channels}
    c.add_layer(
        node, "eltwise", fields, [source], value.axes, explicit_inputs=True, dims=value.dims
    )


# --- zero cost ---------------------------------------------------------------------------


def _identity(c: Converter, node: NodeProto) -> None:
    unused_extra_outputs(c, node, "mask")
    c.pass_through(node.input[0], node.output[0])


def _constant(c: Converter, node: NodeProto) -> None:
    """Constant nodes only provide constants (see OnnxModel.is_constant)."""


HANDLERS: dict[str, Handler] = {
    "Conv": _conv,
    "QLinearConv": _conv,
    "ConvInteger": _conv,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "QLinearMatMul": _matmul,
    "MatMulInteger": _matmul,
    "MaxPool": _pool,
    "AveragePool": _pool,
    "GlobalAveragePool": _global_avgpool,
    "GlobalMaxPool": _global_maxpool,
    "ReduceMean": _reduce,
    "ReduceSum": _reduce,
    "ReduceMax": _reduce,
    "ReduceMin": _reduce,
    "ReduceProd": _reduce,
    "ReduceL2": _reduce,
    "Resize": resize,
    "Upsample": resize,
    "BatchNormalization": _batchnorm,
    "LayerNormalization": _layernorm,
    "Softmax": _softmax,
    "Concat": concat,
    "Split": split,
    "Slice": slice_,
    "Gather": gather,
    "Pad": pad,
    "Flatten": reshape,
    "Reshape": reshape,
    "Squeeze": reshape,
    "Unsqueeze": reshape,
    "Transpose": transpose,
    "Identity": _identity,
    "Dropout": _identity,
    "Cast": _identity,
    "QuantizeLinear": _identity,
    "DequantizeLinear": _identity,
    "Constant": _constant,
    **{op: pointwise for op in sorted(POINTWISE)},
}
"""Supported ONNX ops (default domain) and their rules."""


FORMS: dict[str, FormCheck] = {}
"""Forms of supported ops that are unsupported, reported with the unsupported ops."""


def _two_activation_gemm(model: OnnxModel, node: NodeProto) -> str | None:
    names = [name for name in node.input[:2] if name]
    both = len(names) == 2 and not any(model.is_constant(name) for name in names)
    return "Gemm of two activations" if both else None


FORMS["Gemm"] = _two_activation_gemm
