"""Layer-graph IR: the workload as the mapper sees it (shapes, GEMM view, MACs, weights).

Tensors are NHWC. Every count (MACs, vector operations) is for the whole batch; weight and
parameter counts do not depend on the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from archsim.domain import Precision

NETWORK_INPUT = "input"
"""Producer name of the network input tensor (reserved: no layer may use it)."""


class OpKind(StrEnum):
    """Operator of a layer (the `op` word of the workload YAML)."""

    CONV2D = "conv2d"
    FULLY_CONNECTED = "fully_connected"
    MATMUL = "matmul"
    MAXPOOL = "maxpool"
    AVGPOOL = "avgpool"
    GLOBAL_AVGPOOL = "global_avgpool"
    ADD = "add"
    CONCAT = "concat"
    ROUTE = "route"
    INPUT = "input"
    YOLO = "yolo"
    ATTENTION_SCORES = "attention_scores"
    ATTENTION_CONTEXT = "attention_context"
    SOFTMAX = "softmax"
    LAYERNORM = "layernorm"
    UPSAMPLE = "upsample"
    ELTWISE = "eltwise"
    RESHAPE = "reshape"
    SLICE = "slice"
    PAD = "pad"
    REDUCE = "reduce"
    BATCH_MATMUL = "batch_matmul"


MAC_OPS = frozenset(
    {
        OpKind.CONV2D,
        OpKind.FULLY_CONNECTED,
        OpKind.MATMUL,
        OpKind.ATTENTION_SCORES,
        OpKind.ATTENTION_CONTEXT,
        OpKind.BATCH_MATMUL,
    }
)
"""Operators that run on the MAC arrays (they carry a GEMM view)."""


@dataclass(frozen=True, slots=True)
class TensorShape:
    """Shape of an activation tensor in NHWC order."""

    batch: int
    height: int
    width: int
    channels: int

    @property
    def elements(self) -> int:
        """Number of elements of the tensor."""
        return self.batch * self.height * self.width * self.channels

    def nbytes(self, precision: Precision) -> int:
        """Size of the tensor in bytes at the given precision."""
        return self.elements * precision.bytes

    def __str__(self) -> str:
        return f"{self.batch}x{self.height}x{self.width}x{self.channels}"


@dataclass(frozen=True, slots=True)
class Gemm:
    """A MAC layer as `groups` independent GEMMs of M x K times K x N.

    conv2d: M = batch * Ho * Wo output positions, N = filters / groups,
    K = kh * kw * Cin / groups. fully_connected: M = batch, N = units, K = H * W * C.
    matmul: M = batch * H * W, N = units, K = C.
    """

    m: int
    n: int
    k: int
    groups: int

    @property
    def macs(self) -> int:
        """Multiply-accumulates of all groups."""
        return self.m * self.n * self.k * self.groups


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer of the workload graph with its shapes and operation counts."""

    index: int
    name: str
    op: OpKind
    inputs: tuple[str, ...]
    """Producer layer names; `NETWORK_INPUT` is the network input."""
    input_shapes: tuple[TensorShape, ...]
    output_shape: TensorShape
    kernel: tuple[int, int] = (1, 1)
    """(height, width)."""
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    """(top, bottom, left, right)."""
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    gemm: Gemm | None = None
    """GEMM view of MAC layers (conv2d, fully_connected, matmul); None otherwise."""
    macs: int = 0
    weight_elements: int = 0
    """Weights and biases as stored for inference (batchnorm folded into a bias)."""
    params: int = 0
    """Trainable parameters as frameworks count them (batchnorm gamma and beta included)."""
    vector_ops: int = 0
    """Element operations of non-MAC layers (pooling, add, upsample)."""
    is_view: bool = False
    """True for a channel concat or slice: producers write in place (consumers read in
    place), no compute and no data movement."""
    offset: tuple[int, int, int] = (0, 0, 0)
    """(row, column, channel) of the output's origin in the input: a slice's begin."""
    axes: tuple[str, ...] = ()
    """Axes ('height', 'width', 'channels') an op works across: softmax, reduce, concat."""

    @property
    def is_input(self) -> bool:
        """An extra input tensor (read from DRAM; no work)."""
        return self.op is OpKind.INPUT

    @property
    def is_mac_layer(self) -> bool:
        """True if the layer runs on the MAC arrays."""
        return self.op in MAC_OPS


@dataclass(frozen=True, slots=True)
class WorkloadGraph:
    """A workload as a list of layers in file order (producers precede consumers)."""

    name: str
    input_shape: TensorShape
    precision: Precision
    layers: tuple[Layer, ...]
    host_ops: tuple[str, ...] = ()
    """Operations of the source model that run on the host, not simulated (one line each)."""
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _consumers: dict[str, tuple[Layer, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {layer.name: position for position, layer in enumerate(self.layers)}
        consumers: dict[str, list[Layer]] = {NETWORK_INPUT: []}
        consumers.update((layer.name, []) for layer in self.layers)
        for layer in self.layers:
            for producer in dict.fromkeys(layer.inputs):
                consumers[producer].append(layer)
        object.__setattr__(self, "_index", index)
        object.__setattr__(
            self, "_consumers", {name: tuple(users) for name, users in consumers.items()}
        )

    @property
    def total_macs(self) -> int:
        """Multiply-accumulates of the whole network for the whole batch."""
        return sum(layer.macs for layer in self.layers)

    @property
    def total_params(self) -> int:
        """Trainable parameters as frameworks count them."""
        return sum(layer.params for layer in self.layers)

    @property
    def total_weight_elements(self) -> int:
        """Weights and biases stored for inference."""
        return sum(layer.weight_elements for layer in self.layers)

    def layer(self, name: str) -> Layer:
        """The layer called `name` (KeyError if there is none)."""
        try:
            return self.layers[self._index[name]]
        except KeyError:
            raise KeyError(f"workload {self.name!r} has no layer {name!r}") from None

    def consumers(self, name: str) -> tuple[Layer, ...]:
        """Layers that read the output of `name` (or of the network input), in file order."""
        try:
            return self._consumers[name]
        except KeyError:
            raise KeyError(f"workload {self.name!r} has no layer {name!r}") from None
