"""Which part of each input tensor an output tile needs, per operator.

An output tile covers rows [r0, r1) of one image (full width) and channels [c0, c1).
All tensors are NHWC; rows and channels are half-open ranges.
"""

from __future__ import annotations

from archsim.workload.graph import Layer, OpKind

Span = tuple[int, int]


def input_region(layer: Layer, input_index: int, rows: Span, channels: Span) -> tuple[Span, Span]:
    """Rows and channels of input ``input_index`` that the output tile (rows, channels) reads."""
    shape = layer.input_shapes[input_index]
    op = layer.op
    r0, r1 = rows
    c0, c1 = channels
    if op in (OpKind.CONV2D, OpKind.MAXPOOL, OpKind.AVGPOOL):
        stride, pad, dilation = layer.stride[0], layer.padding[0], layer.dilation[0]
        first = max(0, r0 * stride - pad)
        last = min(shape.height, (r1 - 1) * stride - pad + (layer.kernel[0] - 1) * dilation + 1)
        in_rows = (first, max(first, last))
        if op is OpKind.CONV2D:
            return in_rows, _conv_input_channels(layer, channels)
        return in_rows, channels
    if op is OpKind.FULLY_CONNECTED:
        return (0, shape.height), (0, shape.channels)
    if op is OpKind.MATMUL:
        return rows, (0, shape.channels)
    if op is OpKind.GLOBAL_AVGPOOL:
        return (0, shape.height), channels
    if op is OpKind.UPSAMPLE:
        scale = layer.output_shape.height // shape.height
        return (r0 // scale, -(-r1 // scale)), channels
    return rows, channels  # add: same region of every input


def _conv_input_channels(layer: Layer, channels: Span) -> Span:
    if layer.groups == 1:
        return 0, layer.input_shapes[0].channels
    filters_per_group = layer.output_shape.channels // layer.groups
    channels_per_group = layer.input_shapes[0].channels // layer.groups
    first_group = channels[0] // filters_per_group
    end_group = -(-channels[1] // filters_per_group)
    return first_group * channels_per_group, end_group * channels_per_group


def region_bytes(width: int, rows: Span, channels: Span, element_bytes: int) -> int:
    """Bytes of a (rows x full width x channels) region."""
    return max(0, rows[1] - rows[0]) * width * max(0, channels[1] - channels[0]) * element_bytes


def weight_bytes(layer: Layer, channels: Span, element_bytes: int) -> int:
    """Weight (and bias) bytes of output channels [c0, c1); exact over a partition."""
    total = layer.weight_elements * element_bytes
    out_channels = layer.output_shape.channels
    return total * channels[1] // out_channels - total * channels[0] // out_channels
