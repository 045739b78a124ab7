"""Workload YAML schema (a network as a list of layers) and its loader.

The schema checks each layer on its own; checks that need the whole graph or the input size
(producer names, shapes, channel counts) happen when the graph is built
(`archsim.workload.build_graph`), because the input size can be overridden on the command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError

from archsim.config.base import PrecisionField, StrictModel
from archsim.config.scenario import ScenarioConfig
from archsim.config.schema import json_schema_for
from archsim.config.validation import load_model, load_model_text
from archsim.domain import Precision

INPUT_NAME = "input"
"""Reserved producer name of the network input."""

LAYER_NAME_PATTERN = r"^[A-Za-z0-9_.\-]+$"


def _one_error(expected: str) -> WrapValidator:
    """Report a value that fits no member of a union as one error naming the accepted forms."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError(
                "invalid_form", "expected {expected}", {"expected": expected}
            ) from None

    return WrapValidator(validate)


_Pair = Annotated[list[PositiveInt], Field(min_length=2, max_length=2)]
_PaddingPair = Annotated[list[NonNegativeInt], Field(min_length=2, max_length=2)]
_SIZE_FORMS = "an integer >= 1 or [height, width] (two integers >= 1)"
_PADDING_FORMS = "an integer >= 0 or [height, width] (two integers >= 0)"

Size = Annotated[PositiveInt | _Pair, _one_error(_SIZE_FORMS)]
"""n, or [height, width]."""
OptionalSize = Annotated[PositiveInt | _Pair | None, _one_error(f"{_SIZE_FORMS} or null")]
"""n, [height, width] or None."""
Padding = Annotated[NonNegativeInt | _PaddingPair, _one_error(_PADDING_FORMS)]
"""Padding on both sides: n, or [height, width]."""
ConvPadding = Annotated[
    NonNegativeInt | _PaddingPair | Literal["same", "valid"],
    _one_error("an integer >= 0, [height, width] (two integers >= 0), 'same' or 'valid'"),
]
"""Padding on both sides: n, [height, width], 'same' or 'valid'."""

Activation = Literal[
    "none",
    "relu",
    "relu6",
    "leaky_relu",
    "sigmoid",
    "silu",
    "gelu",
    "hardswish",
    "hardsigmoid",
    "tanh",
    "pointwise",
]
"""Element-wise functions a layer applies to its output at no extra cost ('pointwise': any
other chain of element-wise operations the hardware fuses into the layer's output stage)."""

TensorAxis = Literal["height", "width", "channels"]
"""An axis of an NHWC tensor other than the batch."""
_Triple = Annotated[list[NonNegativeInt], Field(min_length=3, max_length=3)]
_PositiveTriple = Annotated[list[PositiveInt], Field(min_length=3, max_length=3)]
_Pads = Annotated[list[NonNegativeInt], Field(min_length=4, max_length=4)]


class InputConfig(StrictModel):
    """The network input tensor (one image of the batch)."""

    width: PositiveInt = Field(description="Input width in pixels.")
    height: PositiveInt = Field(description="Input height in pixels.")
    channels: PositiveInt = Field(default=3, description="Input channels (3 for RGB).")
    multiple_of: PositiveInt = Field(
        default=1,
        description="Width and height must be multiples of this (e.g. 32 for YOLO).",
    )


class _LayerBase(StrictModel):
    """Fields common to every layer."""

    name: str = Field(
        pattern=LAYER_NAME_PATTERN,
        description=f"Unique layer name: letters, digits, '_', '.', '-' ('{INPUT_NAME}' is "
        "reserved for the network input).",
    )
    inputs: list[str] | None = Field(
        default=None,
        min_length=1,
        description=f"Producer layer names, or '{INPUT_NAME}' for the network input. Omitted: "
        f"the previous layer ('{INPUT_NAME}' for the first layer).",
    )
    activation: Activation = Field(
        default="none",
        description="Element-wise activation, folded into this layer (no extra cost).",
    )

    @field_validator("name")
    @classmethod
    def _name_not_reserved(cls, name: str) -> str:
        if name == INPUT_NAME:
            raise ValueError(f"'{INPUT_NAME}' is reserved for the network input")
        return name


class Conv2dConfig(_LayerBase):
    """2D convolution (grouped and dilated allowed)."""

    op: Literal["conv2d"] = Field(description="Operator.")
    filters: PositiveInt = Field(description="Output channels.")
    kernel: Size = Field(description="Kernel size: n or [height, width].")
    stride: Size = Field(default=1, description="Stride: n or [height, width].")
    padding: ConvPadding = Field(
        default=0,
        description="Zero padding on each side: n, [height, width], 'same' (output = "
        "ceil(input / stride), extra padding at bottom/right as in TensorFlow) or 'valid' (0).",
    )
    dilation: Size = Field(default=1, description="Kernel dilation: n or [height, width].")
    groups: PositiveInt = Field(
        default=1,
        description="Channel groups; must divide input channels and filters "
        "(groups = channels = filters is a depthwise convolution).",
    )
    bias: bool = Field(default=False, description="Add a bias per filter.")
    batchnorm: bool = Field(
        default=False,
        description="Batch normalization after the convolution (folded into weights and a "
        "bias for inference).",
    )


class FullyConnectedConfig(_LayerBase):
    """Dense layer; flattens its input (B, H*W*C) -> (B, units)."""

    op: Literal["fully_connected"] = Field(description="Operator.")
    units: PositiveInt = Field(description="Output features.")
    bias: bool = Field(default=True, description="Add a bias per unit.")


class MatmulConfig(_LayerBase):
    """Per-position projection (B, H, W, C) -> (B, H, W, units), e.g. a transformer linear."""

    op: Literal["matmul"] = Field(description="Operator.")
    units: PositiveInt = Field(description="Output features per position.")
    bias: bool = Field(default=False, description="Add a bias per unit.")


class _PoolBase(_LayerBase):
    """Windowed pooling."""

    kernel: Size = Field(description="Window size: n or [height, width].")
    stride: OptionalSize = Field(
        default=None, description="Stride: n or [height, width]; omitted = the kernel size."
    )
    padding: ConvPadding = Field(
        default=0,
        description="Padding on each side: n, [height, width], 'same' (output = "
        "ceil(input / stride), extra padding at bottom/right, as darknet's stride-1 2x2 "
        "maxpool) or 'valid' (0).",
    )


class MaxPoolConfig(_PoolBase):
    """Max pooling."""

    op: Literal["maxpool"] = Field(description="Operator.")


class AvgPoolConfig(_PoolBase):
    """Average pooling."""

    op: Literal["avgpool"] = Field(description="Operator.")


class GlobalAvgPoolConfig(_LayerBase):
    """Average over height and width: (B, H, W, C) -> (B, 1, 1, C)."""

    op: Literal["global_avgpool"] = Field(description="Operator.")


class AddConfig(_LayerBase):
    """Element-wise sum of tensors of identical shape (residual connection)."""

    op: Literal["add"] = Field(description="Operator.")
    inputs: list[str] = Field(min_length=2, description="Producer layer names (two or more).")


class ConcatConfig(_LayerBase):
    """Concatenation of tensors along one axis (channels by default: a view, producers write
    in place; along height or width, or with a constant part, a copy on the vector lanes)."""

    op: Literal["concat"] = Field(description="Operator.")
    inputs: list[str] = Field(min_length=1, description="Producer layer names.")
    axis: TensorAxis = Field(default="channels", description="Axis to concatenate along.")
    constant: NonNegativeInt = Field(
        default=0,
        description="Extent along `axis` of a constant part placed first (e.g. a class "
        "token), stored with the layer's weights and counted as parameters.",
    )


class EltwiseConfig(_LayerBase):
    """Element-wise operation on tensors that broadcast to one shape (each size equal or 1),
    e.g. a product with squeeze-excitation weights, a difference, a decoded box."""

    op: Literal["eltwise"] = Field(description="Operator.")
    inputs: list[str] = Field(min_length=1, description="Producer layer names (one or more).")
    function: str = Field(
        pattern=r"^[a-z0-9_]+$", description="What it computes (mul, sub, div, sigmoid...)."
    )
    ops_per_element: PositiveInt = Field(
        default=1, description="Vector-lane operations per output element."
    )
    weights: NonNegativeInt = Field(
        default=0,
        description="Elements of constant operands (e.g. a position embedding), stored with "
        "the layer and counted as parameters.",
    )


class ReshapeConfig(_LayerBase):
    """Re-layout of a tensor into another shape of as many elements (a transpose or reshape
    that moves data): every element read and written once."""

    op: Literal["reshape"] = Field(description="Operator.")
    height: PositiveInt = Field(description="Output height.")
    width: PositiveInt = Field(description="Output width.")
    channels: PositiveInt = Field(description="Output channels.")


class SliceConfig(_LayerBase):
    """A box of the input: rows, columns and channels from `begin`, `size` of each. A slice
    of channels only is a view; any other a copy."""

    op: Literal["slice"] = Field(description="Operator.")
    begin: _Triple = Field(description="First [row, column, channel] of the box.")
    size: _PositiveTriple = Field(description="[height, width, channels] of the box.")


class PadConfig(_LayerBase):
    """Zero padding of height and width (a copy into a larger tensor)."""

    op: Literal["pad"] = Field(description="Operator.")
    padding: _Pads = Field(description="[top, bottom, left, right] pixels.")


class ReduceConfig(_LayerBase):
    """Reduction (mean, sum, max...) over some axes, which become 1."""

    op: Literal["reduce"] = Field(description="Operator.")
    function: str = Field(pattern=r"^[a-z0-9_]+$", description="mean, sum, max, min...")
    axes: list[TensorAxis] = Field(min_length=1, description="Axes reduced.")


class BatchMatmulConfig(_LayerBase):
    """Product of two activations per batch and group: [a (B, G, M, K), b (B, G, K, P)] ->
    (B, G, M, P), as attention's Q . K^T and P . V (b's B and G may be 1: broadcast)."""

    op: Literal["batch_matmul"] = Field(description="Operator.")
    inputs: list[str] = Field(min_length=2, max_length=2, description="[a, b].")


class AttentionScoresConfig(_LayerBase):
    """Scaled dot-product scores of multi-head attention: for each head, Q . K^T.

    Inputs [queries, keys] are (B, 1, S, C) token tensors; the output is (B, heads, S, S).
    """

    op: Literal["attention_scores"] = Field(description="Operator.")
    inputs: list[str] = Field(
        min_length=2, max_length=2, description="Query and key tensors: [q, k]."
    )
    heads: PositiveInt = Field(description="Attention heads; must divide the channels.")


class AttentionContextConfig(_LayerBase):
    """Attention-weighted values: for each head, P . V.

    Inputs [probabilities (B, heads, S, S), values (B, 1, S, C)]; output (B, 1, S, C).
    """

    op: Literal["attention_context"] = Field(description="Operator.")
    inputs: list[str] = Field(
        min_length=2, max_length=2, description="Probabilities and value tensors: [p, v]."
    )
    heads: PositiveInt = Field(description="Attention heads; must divide the channels.")


class SoftmaxConfig(_LayerBase):
    """Softmax over one axis (vector unit: exponent, sum and divide per element)."""

    op: Literal["softmax"] = Field(description="Operator.")
    axis: TensorAxis = Field(default="channels", description="Axis normalized over.")


class LayerNormConfig(_LayerBase):
    """Layer normalization over channels with a learned scale (and shift) per channel."""

    op: Literal["layernorm"] = Field(description="Operator.")
    bias: bool = Field(default=True, description="A learned shift per channel.")


class InputTensorConfig(_LayerBase):
    """An extra input tensor read from DRAM, e.g. the IFMAP of a layer that SCALE-Sim
    simulates on its own. It has no producers, does no work and has the network's batch."""

    op: Literal["input"] = Field(description="Operator.")
    inputs: None = Field(default=None, description="Not allowed: an input has no producers.")
    width: PositiveInt = Field(description="Width of the tensor.")
    height: PositiveInt = Field(description="Height of the tensor.")
    channels: PositiveInt = Field(description="Channels of the tensor.")


class RouteConfig(_LayerBase):
    """Darknet route: one or more earlier tensors, concatenated along channels (a view)."""

    op: Literal["route"] = Field(description="Operator.")
    inputs: list[str] = Field(min_length=1, description="Producer layer names (one or more).")


class YoloConfig(_LayerBase):
    """Darknet yolo detection head: decodes boxes from its input; no MACs. Its input is a
    network output (written to DRAM)."""

    op: Literal["yolo"] = Field(description="Operator.")


class UpsampleConfig(_LayerBase):
    """Upsampling of height and width by integer factors (nearest, bilinear or bicubic)."""

    op: Literal["upsample"] = Field(description="Operator.")
    scale: Size = Field(default=2, description="Factor: n or [height, width].")
    mode: Literal["nearest", "linear", "cubic"] = Field(
        default="nearest",
        description="Interpolation: input pixels read per output pixel "
        "1 (nearest), 4 (linear) or 16 (cubic).",
    )


LayerConfig = Annotated[
    Conv2dConfig
    | FullyConnectedConfig
    | MatmulConfig
    | MaxPoolConfig
    | AvgPoolConfig
    | GlobalAvgPoolConfig
    | AddConfig
    | ConcatConfig
    | RouteConfig
    | YoloConfig
    | InputTensorConfig
    | AttentionScoresConfig
    | AttentionContextConfig
    | SoftmaxConfig
    | LayerNormConfig
    | UpsampleConfig
    | EltwiseConfig
    | ReshapeConfig
    | SliceConfig
    | PadConfig
    | ReduceConfig
    | BatchMatmulConfig,
    Field(discriminator="op"),
]
"""One layer; the `op` key selects the kind."""


FusionMode = Literal["none", "auto"]


class FusionConfig(StrictModel):
    """Layer fusion: chains of layers run band by band so their intermediates stay on chip."""

    mode: FusionMode = Field(
        default="none",
        description="none: every layer runs on its own; auto: the mapper fuses chains whose "
        "intermediate activations would otherwise go to DRAM (explicit groups first).",
    )
    groups: list[Annotated[list[str], Field(min_length=2)]] = Field(
        default_factory=list,
        description="Explicit fusion groups: each a list of consecutive layer names, every "
        "layer consuming the previous one's output. Used unless fusion is 'none' on the "
        "command line.",
    )


class WorkloadConfig(StrictModel):
    """A neural network to simulate: input, batch, precision and layers in order."""

    name: str = Field(min_length=1, description="Workload name.")
    description: str = Field(default="", description="Free text.")
    input: InputConfig = Field(description="Network input size.")
    batch: PositiveInt = Field(default=1, description="Images per inference.")
    precision: PrecisionField = Field(
        default=Precision.INT8, description="Precision of weights and activations."
    )
    layers: list[LayerConfig] = Field(
        min_length=1, description="Layers in order; producers come before their consumers."
    )
    fusion: FusionConfig = Field(
        default_factory=FusionConfig, description="Layer fusion (default: none)."
    )
    host_ops: list[str] = Field(
        default_factory=list,
        description="Operations of the source model that run on the host and are not "
        "simulated (e.g. an imported model's NonMaxSuppression), reported in summaries.",
    )
    scenario: ScenarioConfig | None = Field(
        default=None,
        description="How frames arrive (single-stream, stream, multi-stream, server, offline); "
        "omitted = one inference. `archsim run --scenario ...` overrides it.",
    )


def load_workload(path: str | Path, overrides: Sequence[str] = ()) -> WorkloadConfig:
    """Load and validate a workload YAML file, applying ``--set`` overrides first.

    Raises ConfigError listing every problem, each with file, line and dotted key path
    (problems in overridden values name ``--set`` instead of the file). Checks that need the
    whole graph happen in ``archsim.workload.build_graph``.
    """
    return load_model(WorkloadConfig, path, overrides)


def load_workload_text(
    text: str, file: str = "<string>", overrides: Sequence[str] = ()
) -> WorkloadConfig:
    """Like ``load_workload`` for YAML held in a string; ``file`` names it in problems."""
    return load_model_text(WorkloadConfig, text, file, overrides)


def workload_json_schema() -> dict[str, Any]:
    """The JSON Schema of workload YAML files (for editors and documentation)."""
    return json_schema_for(WorkloadConfig, "archsim workload")
