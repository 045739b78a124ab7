"""An ONNX file loaded for import: parsed, checked, shapes inferred, tensors classified.

Tensors are either *activations* (the network input and what nodes compute from it) or
*constants*: initializers, outputs of Constant nodes, and graph inputs after the first
(weights given as typed graph inputs, e.g. a model exported with its initializers as
inputs). Only shapes are needed for weights; values are read only for the few small
constants that change the mapping (Clip bounds).

The first graph input that is not an initializer is the network input. A symbolic or
unknown batch dimension is fixed to 1 before shape inference, so every shape is concrete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archsim.errors import ConfigError, Problem, UserError

if TYPE_CHECKING:
    import numpy as np
    from onnx import GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto

Shape = tuple[int, ...]


class NodeIssue(Exception):
    """Why one node cannot be imported; the converter adds the node's name and op."""


@dataclass(frozen=True, slots=True)
class NetworkInput:
    """The network input tensor: its name and its shape (a symbolic batch resolved to 1)."""

    name: str
    shape: Shape


class OnnxModel:
    """A checked ONNX graph with inferred shapes; answers questions about its tensors."""

    def __init__(self, file: str, model: ModelProto, network_input: NetworkInput) -> None:
        self.file = file
        self.model = model
        self.graph: GraphProto = model.graph
        self.input = network_input
        self._shapes: dict[str, tuple[int | None, ...] | None] = {}
        for info in (*self.graph.input, *self.graph.value_info, *self.graph.output):
            self._shapes[info.name] = _value_info_shape(info)
        self._initializers: dict[str, TensorProto] = {t.name: t for t in self.graph.initializer}
        self._constant_nodes: dict[str, NodeProto] = {
            node.output[0]: node for node in self.graph.node if node.op_type == "Constant"
        }
        self._weight_inputs = {
            info.name
            for info in self.graph.input
            if info.name != network_input.name and info.name not in self._initializers
        }
        self._consumers: dict[str, list[NodeProto]] = {}
        for node in self.graph.node:
            for name in dict.fromkeys(node.input):
                if name:
                    self._consumers.setdefault(name, []).append(node)
        self.outputs = frozenset(info.name for info in self.graph.output)

    def is_constant(self, name: str) -> bool:
        """Whether tensor `name` is a constant (initializer, Constant output, weight input)."""
        return (
            name in self._initializers
            or name in self._constant_nodes
            or name in self._weight_inputs
        )

    def constant_shape(self, name: str) -> Shape:
        """Shape of constant `name`; NodeIssue if its shape is not fully known."""
        if name in self._initializers:
            return tuple(int(d) for d in self._initializers[name].dims)
        if name in self._constant_nodes:
            return tuple(self.constant_value(name).shape)
        return self.shape(name)

    def constant_value(self, name: str) -> np.ndarray[Any, Any]:
        """Value of constant `name`; NodeIssue if the file does not hold it."""
        from onnx import helper, numpy_helper

        if name in self._initializers:
            tensor = self._initializers[name]
            if tensor.data_location == tensor.EXTERNAL:
                raise NodeIssue(f"needs the value of {name!r}, which is stored outside the file")
            return numpy_helper.to_array(tensor)
        if name in self._constant_nodes:
            import numpy as np

            attribute = self._constant_nodes[name].attribute[0]
            value = helper.get_attribute_value(attribute)
            if attribute.name in ("value", "sparse_value"):
                return numpy_helper.to_array(value)
            return np.asarray(value)
        raise NodeIssue(f"needs the value of {name!r}, a graph input; make it an initializer")

    def shape(self, name: str) -> Shape:
        """Fully known shape of tensor `name`; NodeIssue naming the tensor otherwise."""
        shape = self._shapes.get(name)
        if shape is None or any(dim is None for dim in shape):
            known = "no shape" if shape is None else f"shape {_format_shape(shape)}"
            raise NodeIssue(
                f"tensor {name!r} has {known} after ONNX shape inference; archsim needs every "
                "size: export the model with a fixed input size (only the batch may be "
                "symbolic) and constant shapes and scales (e.g. simplify it with onnxsim)"
            )
        return tuple(dim for dim in shape if dim is not None)

    def consumers(self, name: str) -> Sequence[NodeProto]:
        """Nodes that read tensor `name`, in graph order."""
        return self._consumers.get(name, ())


def load_onnx_model(path: str | Path) -> OnnxModel:
    """Parse, check and shape-infer the ONNX file at `path`.

    Raises ConfigError (file = `path`) if the file is missing, is not an ONNX model, fails
    the ONNX checker, or has no usable input; UserError if the onnx package is missing.
    """
    file = str(path)
    try:
        import onnx
        from google.protobuf.message import DecodeError
        from onnx import shape_inference
    except ImportError:
        raise UserError(
            Problem("importing ONNX models needs the onnx package: pip install onnx", file)
        ) from None
    if not Path(path).is_file():
        message = (
            "is a directory, expected an ONNX file" if Path(path).is_dir() else "file not found"
        )
        raise ConfigError(Problem(message, file))
    try:
        model = onnx.load(file, load_external_data=False)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ConfigError(Problem(f"not an ONNX model (cannot parse it: {exc})", file)) from None
    if not model.graph.node:
        raise ConfigError(Problem("not an ONNX model, or an empty one (no graph nodes)", file))
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise ConfigError(Problem(f"invalid ONNX model: {first_line}", file)) from None
    network_input = _network_input(model, file)
    try:
        inferred = shape_inference.infer_shapes(model, data_prop=True)
    except (onnx.shape_inference.InferenceError, RuntimeError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise ConfigError(Problem(f"ONNX shape inference failed: {first_line}", file)) from None
    return OnnxModel(file, inferred, network_input)


def _network_input(model: ModelProto, file: str) -> NetworkInput:
    """The first non-initializer graph input; fixes a symbolic batch to 1 in `model`."""
    initializers = {tensor.name for tensor in model.graph.initializer}
    candidates = [info for info in model.graph.input if info.name not in initializers]
    if not candidates:
        raise ConfigError(Problem("the model has no input (every graph input is a weight)", file))
    info = candidates[0]
    shape = _value_info_shape(info)
    if shape is None or len(shape) not in (2, 3, 4):
        got = "no shape" if shape is None else f"shape {_format_shape(shape)}"
        raise ConfigError(
            Problem(
                f"network input {info.name!r} has {got}; expected [N, C, H, W] "
                "(or [N, features], [N, positions, features])",
                file,
            )
        )
    unknown = [axis for axis, dim in enumerate(shape[1:], start=1) if dim is None]
    if unknown:
        raise ConfigError(
            Problem(
                f"network input {info.name!r} has shape {_format_shape(shape)}: only the "
                "batch (first) dimension may be symbolic; export the model with a fixed "
                "input size",
                file,
            )
        )
    if shape[0] is None:
        batch_dim = info.type.tensor_type.shape.dim[0]
        batch_dim.Clear()
        batch_dim.dim_value = 1
    dims = tuple(1 if dim is None else dim for dim in shape)
    return NetworkInput(info.name, dims)


def _value_info_shape(info: ValueInfoProto) -> tuple[int | None, ...] | None:
    """Dimensions of a tensor value info (None for a symbolic one); None if no shape."""
    if not info.type.HasField("tensor_type") or not info.type.tensor_type.HasField("shape"):
        return None
    return tuple(
        dim.dim_value if dim.HasField("dim_value") and dim.dim_value > 0 else None
        for dim in info.type.tensor_type.shape.dim
    )


def _format_shape(shape: Sequence[int | None]) -> str:
    return "[" + ", ".join("?" if dim is None else str(dim) for dim in shape) + "]"
