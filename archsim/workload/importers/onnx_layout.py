"""Layout and data-movement ONNX ops: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat,
Split, Slice, Gather, Pad, Resize.

Layout-only ops cost nothing: they give the output tensor new axis letters over the same
layer output (see ``onnx_convert``). A Reshape is layout-only when each output axis is a run
of whole input axes or splits a merged one back; any other (splitting channels into heads,
say) and a consumer that needs another layout cost one ``reshape`` layer (a re-layout).
Concat and Split / Slice along channels are views; along height or width they are copies.
A Pad read only by Conv or pooling is folded into their padding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archsim.workload.importers.onnx_convert import (
    NCHW,
    OPAQUE,
    Converter,
    canonical_axes,
    ir_dims,
)
from archsim.workload.importers.onnx_model import NodeIssue
from archsim.workload.importers.onnx_nodes import attributes, int_list, operands, optional_input

if TYPE_CHECKING:
    from onnx import NodeProto

_IR_AXIS = {"H": "height", "W": "width", "C": "channels"}
_IR_INDEX = {"H": 0, "W": 1, "C": 2}
_WINDOWED = frozenset({"Conv", "MaxPool", "AveragePool", "QLinearConv", "ConvInteger"})


def canonical(c: Converter, name: str) -> str:
    """`name` laid out in ONNX order (last axis channels), re-laid out if needed."""
    return c.relayout(name, canonical_axes(c.model.shape(name), c.batch()))


def axis_letter(c: Converter, name: str, axis: int) -> tuple[str, str]:
    """(tensor, letter) for ONNX `axis` of `name`: one IR letter of H, W, C, re-laying the
    tensor out in ONNX order if that axis is merged, opaque or of size 1."""
    rank = len(c.model.shape(name))
    axis %= rank
    letters = c.current(name).axes[axis]
    if letters in _IR_AXIS:
        return name, letters
    name = canonical(c, name)
    letters = c.current(name).axes[axis]
    if letters not in _IR_AXIS:
        raise NodeIssue(f"works along axis {axis} of {name!r}, which archsim cannot lay out")
    return name, letters


def _regroup(
    axes: tuple[str, ...], dims: tuple[int, ...], after: tuple[int, ...]
) -> tuple[str, ...] | None:
    """Letters of a reshape to `after` that only merges runs of letters or drops / adds
    size-1 axes; None if it splits a letter."""
    sizes = dict(zip("NHWC", dims, strict=True))
    atoms = [letter for letters in axes for letter in letters if sizes[letter] != 1]
    result = []
    if axes and axes[0] == "N" and after and after[0] == dims[0]:  # the batch stays first
        atoms = [letter for letter in atoms if letter != "N"]
        result.append("N")
        after = after[1:]
    for dim in after:
        if dim == 1:
            result.append("")
            continue
        taken, product = "", 1
        while atoms and product < dim:
            letter = atoms.pop(0)
            taken += letter
            product *= sizes[letter]
        if product != dim:
            return None
        result.append(taken)
    return tuple(result) if not atoms else None


def reshape(c: Converter, node: NodeProto) -> None:
    """Reshape, Flatten, Squeeze, Unsqueeze: new letters, or a re-layout."""
    source = node.input[0]
    value = c.current(source)
    after = c.model.shape(node.output[0])
    axes = None if OPAQUE in value.axes else _regroup(value.axes, value.dims, after)
    if axes is not None and not (OPAQUE in canonical_axes(after, c.batch()) and len(after) > 4):
        c.pass_through(source, node.output[0], axes)
        return
    target = canonical_axes(after, c.batch())
    moved = c.relayout_as(source, node.output[0], target)
    c.pass_through(moved, node.output[0])


def transpose(c: Converter, node: NodeProto) -> None:
    """Permuted letters over the same data; an opaque tensor is re-laid out."""
    source = node.input[0]
    value = c.current(source)
    shape = c.model.shape(source)
    perm = list(attributes(node).get("perm", reversed(range(len(shape)))))
    if OPAQUE in value.axes:
        after = c.model.shape(node.output[0])
        moved = c.relayout_as(source, node.output[0], canonical_axes(after, c.batch()))
        c.pass_through(moved, node.output[0])
        return
    c.pass_through(source, node.output[0], tuple(value.axes[p] for p in perm))


def concat(c: Converter, node: NodeProto) -> None:
    """Along one letter: ``concat`` (a view along channels); constants (a class token) are
    the layer's constant part."""
    activations, constants = operands(c, node)
    if not activations:
        raise NodeIssue("concatenates constants only")
    axis = attributes(node)["axis"] % len(c.model.shape(node.output[0]))
    if len(activations) == 1 and not constants:
        c.pass_through(activations[0], node.output[0])
        return
    first, letter = axis_letter(c, activations[0], axis)
    axes = c.current(first).axes
    if any(len(letters) > 1 for letters in axes):
        first = canonical(c, first)
        axes = c.current(first).axes
        letter = axes[axis]
    sources = [first]
    for name in activations[1:]:
        sources.append(name if c.current(name).axes == axes else c.relayout(name, axes))
    constant = sum(c.model.constant_shape(name)[axis] for name in constants)
    fields = {"axis": _IR_AXIS[letter], "constant": constant}
    value = c.current(sources[0])
    dims = list(value.dims)
    dims["NHWC".index(letter)] = c.model.shape(node.output[0])[axis]
    c.add_layer(
        node,
        "concat",
        fields,
        sources,
        value.axes,
        explicit_inputs=True,
        dims=(dims[0], dims[1], dims[2], dims[3]),
    )


def split(c: Converter, node: NodeProto) -> None:
    """One ``slice`` per output (views along channels)."""
    axis = attributes(node).get("axis", 0) % len(c.model.shape(node.input[0]))
    opaque = OPAQUE in c.current(node.input[0]).axes
    source, letter = (node.input[0], "") if opaque else axis_letter(c, node.input[0], axis)
    begin = 0
    for output in node.output:
        size = c.model.shape(output)[axis]
        if output and (c.model.consumers(output) or output in c.model.outputs):
            if opaque:
                _opaque_rows(c, node, source, axis, begin, size, output)
            else:
                _slice_layer(c, node, source, output, {letter: (begin, size)})
        begin += size


def slice_(c: Converter, node: NodeProto) -> None:
    """Slice with constant starts, ends, axes and unit steps."""
    source = node.input[0]
    rank = len(c.model.shape(source))
    starts = int_list(c, node, 1, "starts") or []
    axes = int_list(c, node, 3, "axes") or list(range(len(starts)))
    steps = int_list(c, node, 4, "steps") or [1] * len(starts)
    if any(step != 1 for step in steps):
        raise NodeIssue(f"steps {steps}: archsim slices with step 1")
    before, after = c.model.shape(source), c.model.shape(node.output[0])
    boxes: dict[str, tuple[int, int]] = {}
    for start, axis in zip(starts, axes, strict=True):
        axis %= rank
        if after[axis] == before[axis]:
            continue
        begin = start + before[axis] if start < 0 else min(start, before[axis])
        if OPAQUE in c.current(source).axes and len(boxes) == 0 and len(starts) == 1:
            _opaque_rows(c, node, source, axis, begin, after[axis])
            return
        source, letter = axis_letter(c, source, axis)
        boxes[letter] = (begin, after[axis])
    _slice_layer(c, node, source, node.output[0], boxes)


def _opaque_rows(
    c: Converter,
    node: NodeProto,
    source: str,
    axis: int,
    begin: int,
    size: int,
    output: str | None = None,
) -> None:
    """A range of the outermost axis folded into the height of a rank > 4 tensor (as
    taking q, k or v from a fused projection does): a slice of rows."""
    shape = c.model.shape(source)
    lead = 1 if shape[0] == c.batch() else 0
    if axis != lead:
        raise NodeIssue(
            f"works along axis {axis} of the rank-{len(shape)} tensor {source!r}; archsim "
            f"slices such a tensor along its first non-batch axis only"
        )
    inner = 1
    for dim in shape[lead + 1 : -2]:
        inner *= dim
    value = c.current(source)
    output = output or node.output[0]
    out_shape = c.model.shape(output)
    dims = (value.dims[0], size * inner, value.dims[2], value.dims[3])
    axes = canonical_axes(out_shape, c.batch())
    if OPAQUE not in axes and ir_dims(out_shape, axes, c.batch()) != dims:
        axes = (OPAQUE,) * len(out_shape)
    fields = {"begin": [begin * inner, 0, 0], "size": [size * inner, dims[2], dims[3]]}
    c.add_output_layer(node, output, "slice", fields, [source], axes, dims)


def gather(c: Converter, node: NodeProto) -> None:
    """Gather of an activation at constant contiguous indices: a slice (a scalar index
    drops the axis, as taking the class token does)."""
    source, indices = node.input[0], node.input[1]
    if c.is_constant(source) or not c.is_constant(indices):
        raise NodeIssue("only a Gather of an activation at constant indices is supported")
    values = [int(v) for v in c.model.constant_value(indices).reshape(-1)]
    rank = len(c.model.shape(source))
    axis = attributes(node).get("axis", 0) % rank
    size = c.model.shape(source)[axis]
    values = [v + size if v < 0 else v for v in values]
    if values != list(range(values[0], values[0] + len(values))):
        raise NodeIssue(f"gathers indices {values}; archsim gathers a contiguous range")
    if OPAQUE in c.current(source).axes:
        _opaque_rows(c, node, source, axis, values[0], len(values))
        return
    source, letter = axis_letter(c, source, axis)
    value = c.current(source)
    index_rank = len(c.model.constant_shape(indices))
    axes = value.axes
    if index_rank != 1:  # the slice's letters regrouped to the output's shape
        dims = list(value.dims)
        dims["NHWC".index(letter)] = len(values)
        regrouped = _regroup(value.axes, tuple(dims), c.model.shape(node.output[0]))
        if regrouped is None:
            raise NodeIssue(
                f"gathers with indices of shape {list(c.model.constant_shape(indices))}"
            )
        axes = regrouped
    _slice_layer(c, node, source, node.output[0], {letter: (values[0], len(values))}, axes)


def _slice_layer(
    c: Converter,
    node: NodeProto,
    source: str,
    output: str,
    boxes: dict[str, tuple[int, int]],
    axes: tuple[str, ...] | None = None,
) -> None:
    value = c.current(source)
    if not boxes:
        c.pass_through(source, output, axes)
        return
    dims = list(value.dims)
    begin, size = [0, 0, 0], [dims[1], dims[2], dims[3]]
    for letter, (first, extent) in boxes.items():
        begin[_IR_INDEX[letter]] = first
        size[_IR_INDEX[letter]] = extent
    new_dims = (dims[0], size[0], size[1], size[2])
    c.add_output_layer(
        node,
        output,
        "slice",
        {"begin": begin, "size": size},
        [source],
        axes or value.axes,
        new_dims,
    )


def pad(c: Converter, node: NodeProto) -> None:
    """Zero Pad of height and width: folded into the Conv / pool reading it, else ``pad``."""
    source = node.input[0]
    values = attributes(node)
    pads = int_list(c, node, 1, "pads") or [0] * 8
    rank = len(c.model.shape(source))
    begins, ends = pads[:rank], pads[rank:]
    mode = values.get("mode", "constant")
    fill = optional_input(node, 2)
    nonzero = fill is not None and float(c.model.constant_value(fill).reshape(-1)[0]) != 0
    name = c.relayout(source, NCHW) if rank == 4 else source
    if rank != 4 or any(begins[:2]) or any(ends[:2]) or min(pads) < 0:
        raise NodeIssue(f"pads {pads}: archsim pads height and width of an N,C,H,W image")
    top, left, bottom, right = begins[2], begins[3], ends[2], ends[3]
    readers = c.model.consumers(node.output[0])
    if (
        mode == "constant"
        and not nonzero
        and readers
        and all(reader.op_type in _WINDOWED for reader in readers)
    ):
        c.pass_through(name, node.output[0])
        c.pending_pads[node.output[0]] = (top, left, bottom, right)
        return
    c.add_layer(node, "pad", {"padding": [top, bottom, left, right]}, [name], NCHW)


def resize(c: Converter, node: NodeProto) -> None:
    """Resize / Upsample of height and width by integer factors: ``upsample``."""
    values = attributes(node)
    mode = values.get("mode", "nearest")
    mode = {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic"}.get(mode, mode)
    source = c.relayout(node.input[0], NCHW) if len(c.model.shape(node.input[0])) == 4 else None
    if source is None or mode not in ("nearest", "linear", "cubic"):
        raise NodeIssue(f"resizes a {len(c.model.shape(node.input[0]))}-D tensor in mode {mode!r}")
    before, after = c.model.shape(node.input[0]), c.model.shape(node.output[0])
    scales = [after[axis] / before[axis] for axis in (2, 3)]
    if before[:2] != after[:2] or not all(s.is_integer() and s >= 1 for s in scales):
        raise NodeIssue(
            f"resizes {list(before)} to {list(after)}; archsim upsamples height and width "
            "by integer factors"
        )
    height, width = (int(s) for s in scales)
    scale: int | list[int] = height if height == width else [height, width]
    c.add_layer(node, "upsample", {"scale": scale, "mode": mode}, [source], NCHW)
