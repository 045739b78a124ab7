"""Per-operator rules: output shape, GEMM view, MACs, weights, parameters and vector work.

Each rule turns one validated layer config plus the shapes of its inputs into a `Layer`.
A rule raises `ShapeError` naming the config key to blame when the inputs do not fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple, assert_never

from archsim.config.workload import (
    AddConfig,
    AttentionContextConfig,
    AttentionScoresConfig,
    AvgPoolConfig,
    BatchMatmulConfig,
    ConcatConfig,
    Conv2dConfig,
    EltwiseConfig,
    FullyConnectedConfig,
    GlobalAvgPoolConfig,
    InputTensorConfig,
    LayerConfig,
    LayerNormConfig,
    MatmulConfig,
    MaxPoolConfig,
    PadConfig,
    ReduceConfig,
    ReshapeConfig,
    RouteConfig,
    SliceConfig,
    SoftmaxConfig,
    TensorAxis,
    UpsampleConfig,
    YoloConfig,
)
from archsim.workload.graph import Gemm, Layer, OpKind, TensorShape

Axis = Literal["height", "width"]
AXES: tuple[Axis, ...] = ("height", "width")
_AXIS_INDEX: dict[Axis, int] = {"height": 0, "width": 1}


class ShapeError(ValueError):
    """A layer does not fit its inputs; `key` is the config key to blame (None: the layer)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.key = key


class OutputTooSmallError(ShapeError):
    """A windowed layer would produce an output of less than one pixel along `axes`."""

    def __init__(self, message: str, axes: tuple[Axis, ...]) -> None:
        super().__init__(message, None)
        self.axes = axes


def side(shape: TensorShape, axis: Axis) -> int:
    """Size of `shape` along `axis`."""
    return shape.height if axis == "height" else shape.width


class LayerHead(NamedTuple):
    """The identity of a layer and its resolved inputs: the first fields of `Layer`, in order.

    Rules build a layer as `Layer(*head, output_shape=..., ...)`.
    """

    layer_index: int  # `index` would shadow tuple.index
    name: str
    op: OpKind
    inputs: tuple[str, ...]
    input_shapes: tuple[TensorShape, ...]


@dataclass(frozen=True, slots=True)
class _AxisWindow:
    """A sliding window along one axis."""

    kernel: int
    stride: int
    dilation: int
    pad_before: int
    pad_after: int

    @property
    def reach(self) -> int:
        """Input pixels one output pixel covers (dilated kernel extent)."""
        return self.dilation * (self.kernel - 1) + 1

    def output(self, size: int) -> int:
        """Output size from an input of `size` pixels (floor, as frameworks compute it)."""
        return (size + self.pad_before + self.pad_after - self.reach) // self.stride + 1


def _pick(value: int | list[int], axis: Axis) -> int:
    """The value of an `n` or `[height, width]` setting along `axis`."""
    return value if isinstance(value, int) else value[_AXIS_INDEX[axis]]


def _axis_window(
    cfg: Conv2dConfig | MaxPoolConfig | AvgPoolConfig, axis: Axis, size: int
) -> _AxisWindow:
    """Kernel, stride, dilation and padding of a windowed layer along one axis."""
    kernel = _pick(cfg.kernel, axis)
    if isinstance(cfg, Conv2dConfig):
        stride, dilation, padding = _pick(cfg.stride, axis), _pick(cfg.dilation, axis), cfg.padding
    else:
        stride = kernel if cfg.stride is None else _pick(cfg.stride, axis)
        dilation, padding = 1, cfg.padding
    if padding == "valid":
        before = after = 0
    elif padding == "same":
        # TensorFlow: output = ceil(size / stride); the odd pixel of padding goes after.
        reach = dilation * (kernel - 1) + 1
        total = max((-(-size // stride) - 1) * stride + reach - size, 0)
        before, after = total // 2, total - total // 2
    else:
        before = after = _pick(padding, axis)
    return _AxisWindow(kernel, stride, dilation, before, after)


def spatial_extent(cfg: LayerConfig, axis: Axis, size: int) -> int:
    """Output size along `axis` of a layer whose (first) input has `size` pixels there.

    May be < 1 for windowed layers whose input is too small; used to find the smallest
    network input a workload accepts.
    """
    match cfg:
        case Conv2dConfig() | MaxPoolConfig() | AvgPoolConfig():
            return _axis_window(cfg, axis, size).output(size)
        case UpsampleConfig():
            return size * _pick(cfg.scale, axis)
        case GlobalAvgPoolConfig() | FullyConnectedConfig():
            return 1
        case PadConfig():
            return size + sum(cfg.padding[:2] if axis == "height" else cfg.padding[2:])
        case ReshapeConfig():
            return cfg.height if axis == "height" else cfg.width
        case SliceConfig():
            return cfg.size[_AXIS_INDEX[axis]]
        case ReduceConfig():
            return 1 if axis in cfg.axes else size
        case (
            MatmulConfig()
            | AddConfig()
            | ConcatConfig()
            | EltwiseConfig()
            | BatchMatmulConfig()
            | RouteConfig()
            | YoloConfig()
            | SoftmaxConfig()
            | LayerNormConfig()
            | AttentionContextConfig()
        ):
            return size
        case AttentionScoresConfig():
            return cfg.heads if axis == "height" else size
        case InputTensorConfig():
            return cfg.height if axis == "height" else cfg.width
        case _:
            assert_never(cfg)


@dataclass(frozen=True, slots=True)
class _Window:
    """A sliding window over height and width and the output size it produces."""

    height: _AxisWindow
    width: _AxisWindow
    output_height: int
    output_width: int

    @property
    def kernel(self) -> tuple[int, int]:
        return (self.height.kernel, self.width.kernel)

    @property
    def stride(self) -> tuple[int, int]:
        return (self.height.stride, self.width.stride)

    @property
    def dilation(self) -> tuple[int, int]:
        return (self.height.dilation, self.width.dilation)

    @property
    def padding(self) -> tuple[int, int, int, int]:
        h, w = self.height, self.width
        return (h.pad_before, h.pad_after, w.pad_before, w.pad_after)


def _window(cfg: Conv2dConfig | MaxPoolConfig | AvgPoolConfig, source: TensorShape) -> _Window:
    """The window of a windowed layer over `source`; raises if an output side is < 1."""
    height = _axis_window(cfg, "height", source.height)
    width = _axis_window(cfg, "width", source.width)
    window = _Window(height, width, height.output(source.height), width.output(source.width))
    outputs = {"height": window.output_height, "width": window.output_width}
    too_small = tuple(axis for axis in AXES if outputs[axis] < 1)
    if too_small:
        needed = [max(w.reach - w.pad_before - w.pad_after, 1) for w in (height, width)]
        raise OutputTooSmallError(
            f"input {source.height}x{source.width} (height x width) is too small for a kernel "
            f"reach of {height.reach}x{width.reach} with padding {window.padding} (top, "
            f"bottom, left, right): output would be {max(window.output_height, 0)}x"
            f"{max(window.output_width, 0)}; this layer needs an input of at least "
            f"{needed[0]}x{needed[1]}",
            too_small,
        )
    return window


def _single_input(head: LayerHead) -> TensorShape:
    if len(head.input_shapes) != 1:
        raise ShapeError(f"{head.op} takes one input, got {len(head.input_shapes)}", "inputs")
    return head.input_shapes[0]


def _conv2d(cfg: Conv2dConfig, head: LayerHead) -> Layer:
    source = _single_input(head)
    if source.channels % cfg.groups:
        raise ShapeError(
            f"groups = {cfg.groups} does not divide the {source.channels} input channels",
            "groups",
        )
    if cfg.filters % cfg.groups:
        raise ShapeError(f"groups = {cfg.groups} does not divide filters = {cfg.filters}", "groups")
    window = _window(cfg, source)
    kernel_h, kernel_w = window.kernel
    gemm = Gemm(
        m=source.batch * window.output_height * window.output_width,
        n=cfg.filters // cfg.groups,
        k=kernel_h * kernel_w * source.channels // cfg.groups,
        groups=cfg.groups,
    )
    weights = gemm.k * cfg.filters
    bias = cfg.filters if cfg.bias else 0
    # Inference folds batchnorm into the weights plus one bias per filter (shared with `bias`).
    stored_bias = cfg.filters if cfg.bias or cfg.batchnorm else 0
    batchnorm = 2 * cfg.filters if cfg.batchnorm else 0  # gamma and beta
    return Layer(
        *head,
        output_shape=TensorShape(
            source.batch, window.output_height, window.output_width, cfg.filters
        ),
        kernel=window.kernel,
        stride=window.stride,
        padding=window.padding,
        dilation=window.dilation,
        groups=cfg.groups,
        gemm=gemm,
        macs=gemm.macs,
        weight_elements=weights + stored_bias,
        params=weights + bias + batchnorm,
    )


def _fully_connected(cfg: FullyConnectedConfig, head: LayerHead) -> Layer:
    source = _single_input(head)
    gemm = Gemm(
        m=source.batch, n=cfg.units, k=source.height * source.width * source.channels, groups=1
    )
    weights = gemm.k * cfg.units + (cfg.units if cfg.bias else 0)
    return Layer(
        *head,
        output_shape=TensorShape(source.batch, 1, 1, cfg.units),
        gemm=gemm,
        macs=gemm.macs,
        weight_elements=weights,
        params=weights,
    )


def _matmul(cfg: MatmulConfig, head: LayerHead) -> Layer:
    source = _single_input(head)
    gemm = Gemm(
        m=source.batch * source.height * source.width, n=cfg.units, k=source.channels, groups=1
    )
    weights = gemm.k * cfg.units + (cfg.units if cfg.bias else 0)
    return Layer(
        *head,
        output_shape=TensorShape(source.batch, source.height, source.width, cfg.units),
        gemm=gemm,
        macs=gemm.macs,
        weight_elements=weights,
        params=weights,
    )


# Vector-unit operations per element (a model choice, documented in docs/MODEL.md).
SOFTMAX_OPS_PER_ELEMENT = 3  # exponent, running sum, divide
LAYERNORM_OPS_PER_ELEMENT = 4  # mean, variance, normalize, scale and shift


def _tokens(head: LayerHead, index: int, what: str) -> TensorShape:
    shape = head.input_shapes[index]
    if shape.height != 1:
        raise ShapeError(
            f"{what} must be a token tensor of height 1 (B, 1, S, C), got {shape}", "inputs"
        )
    return shape


def _heads(channels: int, heads: int) -> int:
    if channels % heads:
        raise ShapeError(f"heads = {heads} does not divide the {channels} channels", "heads")
    return channels // heads


def _attention_scores(cfg: AttentionScoresConfig, head: LayerHead) -> Layer:
    q, k = _tokens(head, 0, "queries"), _tokens(head, 1, "keys")
    if q != k:
        raise ShapeError(f"queries and keys differ: {_describe_inputs(head)}", "inputs")
    per_head = _heads(q.channels, cfg.heads)
    gemm = Gemm(m=q.batch * q.width, n=k.width, k=per_head, groups=cfg.heads)
    return Layer(
        *head,
        output_shape=TensorShape(q.batch, cfg.heads, q.width, k.width),
        groups=cfg.heads,
        gemm=gemm,
        macs=gemm.macs,
    )


def _attention_context(cfg: AttentionContextConfig, head: LayerHead) -> Layer:
    probs, v = head.input_shapes[0], _tokens(head, 1, "values")
    expected = TensorShape(v.batch, cfg.heads, v.width, v.width)
    if probs != expected:
        raise ShapeError(
            f"probabilities must be {expected} for values {v} and {cfg.heads} heads, got {probs}",
            "inputs",
        )
    per_head = _heads(v.channels, cfg.heads)
    gemm = Gemm(m=v.batch * v.width, n=per_head, k=v.width, groups=cfg.heads)
    return Layer(*head, output_shape=v, groups=cfg.heads, gemm=gemm, macs=gemm.macs)


def _softmax(cfg: SoftmaxConfig, head: LayerHead) -> Layer:
    source = _single_input(head)
    return Layer(
        *head,
        output_shape=source,
        vector_ops=source.elements * SOFTMAX_OPS_PER_ELEMENT,
        axes=(cfg.axis,),
    )


def _layernorm(cfg: LayerNormConfig, head: LayerHead) -> Layer:
    source = _single_input(head)
    params = (2 if cfg.bias else 1) * source.channels
    return Layer(
        *head,
        output_shape=source,
        vector_ops=source.elements * LAYERNORM_OPS_PER_ELEMENT,
        weight_elements=params,
        params=params,
        axes=("channels",),
    )


def _pool(cfg: MaxPoolConfig | AvgPoolConfig, head: LayerHead) -> Layer:
    source = _single_input(head)
    window = _window(cfg, source)
    kernel_h, kernel_w = window.kernel
    output = TensorShape(source.batch, window.output_height, window.output_width, source.channels)
    return Layer(
        *head,
        output_shape=output,
        kernel=window.kernel,
        stride=window.stride,
        padding=window.padding,
        vector_ops=output.elements * kernel_h * kernel_w,
    )


def _global_avgpool(head: LayerHead) -> Layer:
    source = _single_input(head)
    return Layer(
        *head,
        output_shape=TensorShape(source.batch, 1, 1, source.channels),
        kernel=(source.height, source.width),
        stride=(source.height, source.width),
        vector_ops=source.elements,
    )


def _describe_inputs(head: LayerHead) -> str:
    return ", ".join(
        f"{name!r} {shape}" for name, shape in zip(head.inputs, head.input_shapes, strict=True)
    )


def _add(head: LayerHead) -> Layer:
    output = head.input_shapes[0]
    if any(shape != output for shape in head.input_shapes):
        raise ShapeError(
            f"add needs inputs of identical shape, got {_describe_inputs(head)}", "inputs"
        )
    return Layer(*head, output_shape=output, vector_ops=output.elements * (len(head.inputs) - 1))


def _concat(
    head: LayerHead, op: str = "concat", axis: TensorAxis = "channels", constant: int = 0
) -> Layer:
    """Channels (no constant part): a view; other axes or a constant part: a copy."""
    first = head.input_shapes[0]
    index = _NHWC_FIELDS.index(axis)
    others = [i for i in range(4) if i != index]
    if any(
        [_dims(s)[i] for i in others] != [_dims(first)[i] for i in others]
        for s in head.input_shapes
    ):
        kept = " and ".join(_NHWC_FIELDS[i] for i in others[1:])
        raise ShapeError(
            f"{op} along {axis} needs inputs of identical {kept}, got {_describe_inputs(head)}",
            "inputs",
        )
    dims = list(_dims(first))
    dims[index] = constant + sum(_dims(shape)[index] for shape in head.input_shapes)
    output = TensorShape(*dims)
    view = axis == "channels" and constant == 0
    weights = output.elements // output.batch // dims[index] * constant
    return Layer(
        *head,
        output_shape=output,
        is_view=view,
        vector_ops=0 if view else output.elements,
        weight_elements=weights,
        params=weights,
        axes=(axis,),
    )


UPSAMPLE_TAPS = {"nearest": 1, "linear": 4, "cubic": 16}
"""Input pixels read (one vector operation each) per output element of an upsample."""


def _upsample(cfg: UpsampleConfig, head: LayerHead) -> Layer:
    source = _single_input(head)
    output = TensorShape(
        source.batch,
        source.height * _pick(cfg.scale, "height"),
        source.width * _pick(cfg.scale, "width"),
        source.channels,
    )
    return Layer(*head, output_shape=output, vector_ops=output.elements * UPSAMPLE_TAPS[cfg.mode])


_NHWC_FIELDS = ("batch", "height", "width", "channels")


def _dims(shape: TensorShape) -> tuple[int, int, int, int]:
    return (shape.batch, shape.height, shape.width, shape.channels)


def _eltwise(cfg: EltwiseConfig, head: LayerHead) -> Layer:
    """Inputs broadcast to one shape: along each axis, every size is 1 or the largest."""
    dims = [max(sizes) for sizes in zip(*map(_dims, head.input_shapes), strict=True)]
    for shape in head.input_shapes:
        if any(size not in (1, full) for size, full in zip(_dims(shape), dims, strict=True)):
            raise ShapeError(
                f"inputs do not broadcast to one shape: {_describe_inputs(head)}", "inputs"
            )
    output = TensorShape(*dims)
    return Layer(
        *head,
        output_shape=output,
        vector_ops=output.elements * cfg.ops_per_element,
        weight_elements=cfg.weights,
        params=cfg.weights,
    )


def _reshape(cfg: ReshapeConfig, head: LayerHead) -> Layer:
    source = _single_input(head)
    output = TensorShape(source.batch, cfg.height, cfg.width, cfg.channels)
    if output.elements != source.elements:
        raise ShapeError(
            f"reshape to {cfg.height}x{cfg.width}x{cfg.channels} (height x width x channels) "
            f"changes the element count of its input {source}; a reshape has a fixed size, "
            "so the workload runs only at the input size it was made for (an imported "
            "model: its exported size)"
        )
    return Layer(*head, output_shape=output, vector_ops=output.elements)


def _slice(cfg: SliceConfig, head: LayerHead) -> Layer:
    source = _single_input(head)
    extents = (source.height, source.width, source.channels)
    for axis, (begin, size, extent) in enumerate(zip(cfg.begin, cfg.size, extents, strict=True)):
        if begin + size > extent:
            raise ShapeError(
                f"the box [{begin}, {begin + size}) along {_NHWC_FIELDS[axis + 1]} exceeds the "
                f"input's {extent}",
                "size",
            )
    output = TensorShape(source.batch, *cfg.size)
    channels_only = cfg.size[:2] == [source.height, source.width]
    return Layer(
        *head,
        output_shape=output,
        offset=(cfg.begin[0], cfg.begin[1], cfg.begin[2]),
        is_view=channels_only,
        vector_ops=0 if channels_only else output.elements,
    )


def _pad(cfg: PadConfig, head: LayerHead) -> Layer:
    source = _single_input(head)
    top, bottom, left, right = cfg.padding
    output = TensorShape(
        source.batch, source.height + top + bottom, source.width + left + right, source.channels
    )
    return Layer(
        *head,
        output_shape=output,
        padding=(top, bottom, left, right),
        vector_ops=output.elements,
    )


def _reduce(cfg: ReduceConfig, head: LayerHead) -> Layer:
    source = _single_input(head)
    kept = {axis: 1 if axis in cfg.axes else side_or_channels(source, axis) for axis in _AXES3}
    output = TensorShape(source.batch, kept["height"], kept["width"], kept["channels"])
    return Layer(
        *head,
        output_shape=output,
        vector_ops=source.elements,
        axes=tuple(axis for axis in _AXES3 if axis in cfg.axes),
    )


_AXES3: tuple[TensorAxis, ...] = ("height", "width", "channels")


def side_or_channels(shape: TensorShape, axis: TensorAxis) -> int:
    """Size of `shape` along height, width or channels."""
    return shape.channels if axis == "channels" else side(shape, axis)


def _batch_matmul(head: LayerHead) -> Layer:
    a, b = head.input_shapes
    groups_fit = b.height in (1, a.height) and b.batch in (1, a.batch)
    if b.width != a.channels or not groups_fit:
        raise ShapeError(
            f"batch_matmul needs a (B, G, M, K) and b (B or 1, G or 1, K, P), got "
            f"{_describe_inputs(head)}",
            "inputs",
        )
    gemm = Gemm(m=a.batch * a.width, n=b.channels, k=a.channels, groups=a.height)
    return Layer(
        *head,
        output_shape=TensorShape(a.batch, a.height, a.width, b.channels),
        groups=a.height,
        gemm=gemm,
        macs=gemm.macs,
    )


def shape_layer(cfg: LayerConfig, head: LayerHead) -> Layer:
    """The IR layer of `cfg` given its identity and input shapes; raises ShapeError."""
    match cfg:
        case Conv2dConfig():
            return _conv2d(cfg, head)
        case FullyConnectedConfig():
            return _fully_connected(cfg, head)
        case MatmulConfig():
            return _matmul(cfg, head)
        case MaxPoolConfig() | AvgPoolConfig():
            return _pool(cfg, head)
        case GlobalAvgPoolConfig():
            return _global_avgpool(head)
        case AddConfig():
            return _add(head)
        case ConcatConfig():
            return _concat(head, axis=cfg.axis, constant=cfg.constant)
        case RouteConfig():
            return _concat(head, "route")
        case YoloConfig():
            return Layer(*head, output_shape=_single_input(head), is_view=True)
        case AttentionScoresConfig():
            return _attention_scores(cfg, head)
        case AttentionContextConfig():
            return _attention_context(cfg, head)
        case SoftmaxConfig():
            return _softmax(cfg, head)
        case LayerNormConfig():
            return _layernorm(cfg, head)
        case InputTensorConfig():
            raise AssertionError("input layers are built by the graph walk, not by a rule")
        case UpsampleConfig():
            return _upsample(cfg, head)
        case EltwiseConfig():
            return _eltwise(cfg, head)
        case ReshapeConfig():
            return _reshape(cfg, head)
        case SliceConfig():
            return _slice(cfg, head)
        case PadConfig():
            return _pad(cfg, head)
        case ReduceConfig():
            return _reduce(cfg, head)
        case BatchMatmulConfig():
            return _batch_matmul(head)
        case _:
            assert_never(cfg)
