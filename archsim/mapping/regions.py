"""Which part of each input tensor an output tile needs, per operator.

An output tile covers rows [r0, r1) x columns [x0, x1) of one image and channels
[c0, c1). All tensors are NHWC; every span is half-open.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from archsim.workload.graph import Layer, OpKind, TensorShape

Span = tuple[int, int]

_WINDOWED = (OpKind.CONV2D, OpKind.MAXPOOL, OpKind.AVGPOOL)
_ELEMENTWISE = (OpKind.ADD, OpKind.ELTWISE)


class Region(NamedTuple):
    """A box of one image of a tensor: rows x columns x channels (a named tuple: the
    mapper makes one per tile and input, so it must be cheap)."""

    rows: Span
    cols: Span
    channels: Span

    def elements(self) -> int:
        """Elements in the box."""
        rows, cols, channels = self
        height, width, depth = rows[1] - rows[0], cols[1] - cols[0], channels[1] - channels[0]
        # max(0, height) x max(0, width) x max(0, depth) without the calls (per tile, input)
        if height <= 0 or width <= 0 or depth <= 0:
            return 0
        return height * width * depth

    def nbytes(self, element_bytes: int) -> int:
        """Bytes of the box."""
        return self.elements() * element_bytes

    def with_channels(self, channels: Span) -> Region:
        """The same rows and columns over other channels."""
        return Region(self.rows, self.cols, channels)


def block_span(index: int, size: int, total: int) -> Span:
    """The index-th block of ``size`` positions out of ``total`` (the last may be short)."""
    end = (index + 1) * size
    return index * size, end if end < total else total


def _window(span: Span, stride: int, pad: int, kernel: int, dilation: int, size: int) -> Span:
    """Input positions a sliding window reads for output positions ``span``."""
    # clipped to [0, size) and never reversed, by comparisons (per tile and input)
    first = span[0] * stride - pad
    if first < 0:
        first = 0
    last = (span[1] - 1) * stride - pad + (kernel - 1) * dilation + 1
    if last > size:
        last = size
    return first, last if last > first else first


def input_region(layer: Layer, input_index: int, out: Region) -> Region:
    """The region of input ``input_index`` that the output tile ``out`` reads."""
    shape = layer.input_shapes[input_index]
    op = layer.op
    if op in (OpKind.CONV2D, OpKind.MAXPOOL, OpKind.AVGPOOL):
        rows = _window(
            out.rows,
            layer.stride[0],
            layer.padding[0],
            layer.kernel[0],
            layer.dilation[0],
            shape.height,
        )
        cols = _window(
            out.cols,
            layer.stride[1],
            layer.padding[2],
            layer.kernel[1],
            layer.dilation[1],
            shape.width,
        )
        channels = (
            _conv_input_channels(layer, out.channels) if op is OpKind.CONV2D else out.channels
        )
        return Region(rows, cols, channels)
    if op is OpKind.FULLY_CONNECTED:
        return Region((0, shape.height), (0, shape.width), (0, shape.channels))
    if op is OpKind.MATMUL:
        return out.with_channels((0, shape.channels))
    if op is OpKind.GLOBAL_AVGPOOL:
        return Region((0, shape.height), (0, shape.width), out.channels)
    if op is OpKind.ATTENTION_SCORES:  # out: heads x queries x keys
        per_head = shape.channels // layer.groups
        head_channels = (out.rows[0] * per_head, out.rows[1] * per_head)
        positions = out.cols if input_index == 0 else out.channels
        return Region((0, 1), positions, head_channels)
    if op is OpKind.ATTENTION_CONTEXT:  # out: 1 x queries x value channels
        per_head = layer.output_shape.channels // layer.groups
        keys = layer.output_shape.width
        if input_index == 0:  # probabilities of the heads the channels belong to
            heads = (out.channels[0] // per_head, -(-out.channels[1] // per_head))
            return Region(heads, out.cols, (0, keys))
        return Region((0, 1), (0, keys), out.channels)
    if op in (OpKind.SOFTMAX, OpKind.LAYERNORM, OpKind.REDUCE):  # across their axes
        return _whole_along(out, shape, layer.axes)
    if op is OpKind.UPSAMPLE:
        return _upsampled(layer, shape, out)
    if op is OpKind.BATCH_MATMUL:  # out: groups x M x P; a: groups x M x K, b: groups x K x P
        groups = out.rows if shape.height > 1 else (0, 1)
        if input_index == 0:
            return Region(groups, out.cols, (0, shape.channels))
        return Region(groups, (0, shape.width), out.channels)
    if op is OpKind.RESHAPE:
        return _reshaped(layer, shape, out)
    if op is OpKind.SLICE:
        row, col, channel = layer.offset
        return Region(_shift(out.rows, row), _shift(out.cols, col), _shift(out.channels, channel))
    if op is OpKind.PAD:
        top, _, left, _ = layer.padding
        return Region(
            _clip(_shift(out.rows, -top), shape.height),
            _clip(_shift(out.cols, -left), shape.width),
            out.channels,
        )
    if op is OpKind.CONCAT and not layer.is_view:
        return _concatenated(layer, input_index, out)
    return _broadcast(out, shape)  # add, eltwise: the same region (size-1 axes broadcast)


def input_sides(
    layer: Layer, input_index: int, dim: int, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Vectorized ``input_region`` along one dimension (0 rows, 1 columns, 2 channels):
    the input spans [first, last) that output spans [starts, ends) read along ``dim``.

    Only for operators whose input side along ``dim`` depends on the output side along
    ``dim`` alone (convolution, pooling, element-wise ops): the other sides are then those
    of any box spanning the other output dimensions. None for every other operator (use
    ``input_region``).
    """
    shape = layer.input_shapes[input_index]
    op = layer.op
    size = (shape.height, shape.width, shape.channels)[dim]
    if op in _ELEMENTWISE:
        if size == 1:  # broadcast along the axis
            return np.zeros_like(starts), np.ones_like(ends)
        return starts, ends
    if op not in _WINDOWED:
        return None
    if dim == 2:
        if op is not OpKind.CONV2D:
            return starts, ends
        if layer.groups == 1:
            return np.zeros_like(starts), np.full_like(ends, shape.channels)
        filters_per_group = layer.output_shape.channels // layer.groups
        channels_per_group = shape.channels // layer.groups
        first_group = starts // filters_per_group
        end_group = -(-ends // filters_per_group)
        return first_group * channels_per_group, end_group * channels_per_group
    stride, kernel, dilation = layer.stride[dim], layer.kernel[dim], layer.dilation[dim]
    pad = layer.padding[2 * dim]  # top or left
    first = np.maximum(0, starts * stride - pad)
    last = np.minimum(size, (ends - 1) * stride - pad + (kernel - 1) * dilation + 1)
    return first, np.maximum(first, last)


def _shift(span: Span, offset: int) -> Span:
    return span[0] + offset, span[1] + offset


def _clip(span: Span, size: int) -> Span:
    first = min(max(span[0], 0), size)
    return first, max(first, min(span[1], size))


def _broadcast(out: Region, shape: TensorShape) -> Region:
    """`out` in an input that broadcasts along its size-1 axes."""
    return Region(
        (0, 1) if shape.height == 1 else out.rows,
        (0, 1) if shape.width == 1 else out.cols,
        (0, 1) if shape.channels == 1 else out.channels,
    )


def _whole_along(out: Region, shape: TensorShape, axes: tuple[str, ...]) -> Region:
    """`out` widened to the whole input along `axes` (what softmax or a reduction reads)."""
    return Region(
        (0, shape.height) if "height" in axes else out.rows,
        (0, shape.width) if "width" in axes else out.cols,
        (0, shape.channels) if "channels" in axes else out.channels,
    )


def _upsampled(layer: Layer, shape: TensorShape, out: Region) -> Region:
    """Input pixels behind an upsampled tile; interpolating modes read a halo of 1 (linear,
    4 taps) or 2 (cubic, 16 taps) pixels."""
    taps = layer.vector_ops // max(1, layer.output_shape.elements)
    halo = 0 if taps <= 1 else (1 if taps <= 4 else 2)
    spans = []
    for span, size, out_size in (
        (out.rows, shape.height, layer.output_shape.height),
        (out.cols, shape.width, layer.output_shape.width),
    ):
        scale = out_size // size
        spans.append(_clip((span[0] // scale - halo, -(-span[1] // scale) + halo), size))
    return Region(spans[0], spans[1], out.channels)


def _reshaped(layer: Layer, shape: TensorShape, out: Region) -> Region:
    """The smallest input box holding the span, in NHWC order, from the tile's first
    element to its last (both tensors have the same elements in the same order; a
    transpose really reads scattered elements: the bytes are comparable, the locality is
    not modelled)."""
    out_shape = layer.output_shape
    first = (out.rows[0] * out_shape.width + out.cols[0]) * out_shape.channels + out.channels[0]
    last = ((out.rows[1] - 1) * out_shape.width + out.cols[1] - 1) * out_shape.channels
    last += out.channels[1]  # one past the tile's last element
    return _flat_box(shape, first, max(first, last))


def _flat_box(shape: TensorShape, first: int, end: int) -> Region:
    """The smallest box of one image of `shape` covering flat NHWC elements [first, end)."""
    row_size = shape.width * shape.channels
    top, bottom = first // row_size, -(-end // row_size)
    if bottom - top > 1:
        return Region((top, bottom), (0, shape.width), (0, shape.channels))
    within = first - top * row_size, end - top * row_size
    left, right = within[0] // shape.channels, -(-within[1] // shape.channels)
    if right - left > 1:
        return Region((top, top + 1), (left, right), (0, shape.channels))
    base = left * shape.channels
    return Region((top, top + 1), (left, left + 1), (within[0] - base, within[1] - base))


def _concatenated(layer: Layer, input_index: int, out: Region) -> Region:
    """The part of input `input_index` inside a tile of a copying concat (along height or
    width, after its constant part)."""
    along = layer.axes[0]
    sizes = [getattr(shape, along) for shape in layer.input_shapes]
    total = getattr(layer.output_shape, along)
    start = total - sum(sizes) + sum(sizes[:input_index])
    shape = layer.input_shapes[input_index]
    if along == "height":
        return Region(_clip(_shift(out.rows, -start), shape.height), out.cols, out.channels)
    if along == "width":
        return Region(out.rows, _clip(_shift(out.cols, -start), shape.width), out.channels)
    return Region(out.rows, out.cols, _clip(_shift(out.channels, -start), shape.channels))


def _conv_input_channels(layer: Layer, channels: Span) -> Span:
    if layer.groups == 1:
        return 0, layer.input_shapes[0].channels
    filters_per_group = layer.output_shape.channels // layer.groups
    channels_per_group = layer.input_shapes[0].channels // layer.groups
    first_group = channels[0] // filters_per_group
    end_group = -(-channels[1] // filters_per_group)
    return first_group * channels_per_group, end_group * channels_per_group


def weight_bytes(layer: Layer, channels: Span, element_bytes: int) -> int:
    """Weight (and bias) bytes of output channels [c0, c1); exact over a partition."""
    total = layer.weight_elements * element_bytes
    out_channels = layer.output_shape.channels
    return total * channels[1] // out_channels - total * channels[0] // out_channels
