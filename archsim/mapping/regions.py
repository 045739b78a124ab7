"""Which part of each input tensor an output tile needs, per operator.

An output tile covers rows [r0, r1) x columns [x0, x1) of one image and channels
[c0, c1). All tensors are NHWC; every span is half-open.
"""

from __future__ import annotations

from dataclasses import dataclass

from archsim.workload.graph import Layer, OpKind

Span = tuple[int, int]


@dataclass(frozen=True)
class Region:
    """A box of one image of a tensor: rows x columns x channels."""

    rows: Span
    cols: Span
    channels: Span

    def elements(self) -> int:
        """Elements in the box."""
        return (
            max(0, self.rows[1] - self.rows[0])
            * max(0, self.cols[1] - self.cols[0])
            * max(0, self.channels[1] - self.channels[0])
        )

    def nbytes(self, element_bytes: int) -> int:
        """Bytes of the box."""
        return self.elements() * element_bytes

    def with_channels(self, channels: Span) -> Region:
        """The same rows and columns over other channels."""
        return Region(self.rows, self.cols, channels)


def _window(span: Span, stride: int, pad: int, kernel: int, dilation: int, size: int) -> Span:
    """Input positions a sliding window reads for output positions ``span``."""
    first = max(0, span[0] * stride - pad)
    last = min(size, (span[1] - 1) * stride - pad + (kernel - 1) * dilation + 1)
    return first, max(first, last)


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
    if op in (OpKind.SOFTMAX, OpKind.LAYERNORM):  # normalize over all channels
        return out.with_channels((0, shape.channels))
    if op is OpKind.UPSAMPLE:
        scale = layer.output_shape.height // shape.height
        return Region(
            (out.rows[0] // scale, -(-out.rows[1] // scale)),
            (out.cols[0] // scale, -(-out.cols[1] // scale)),
            out.channels,
        )
    return out  # add: the same region of every input


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
