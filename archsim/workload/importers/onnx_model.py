"""An ONNX file loaded for import: parsed, checked, constants folded, shapes inferred.

Tensors are either *activations* (the network input and what nodes compute from it) or
*constants*: initializers, graph inputs after the first (weights given as typed graph
inputs), and the outputs of every node whose inputs are all constants or that reads only
static shapes (Shape, Size): the shape subgraphs exporters write (Shape, Gather, Concat,
Unsqueeze, ConstantOfShape, Range, Expand, Where, Cast, arithmetic...), Identity nodes on
shared weights, DequantizeLinear of quantized weights. Small constants are evaluated with
``onnx.reference`` and become initializers, then shapes are inferred again, so Reshape,
Resize, Slice or Pad driven by computed shapes get static shapes. Large constants (weights)
are never read: only their shapes matter. Values stored in external files (``.data``) are
read on demand from the model's folder.

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

FOLD_MAX_ELEMENTS = 1 << 16
"""Constants up to this many elements are evaluated while folding; larger ones are weights,
of which only the shape is used."""
SHAPE_OPS = frozenset({"Shape", "Size"})
"""Ops whose output is a constant when their input's shape is static."""
MAX_FOLD_PASSES = 8
"""Fold-and-infer rounds at most (exporters' shape subgraphs settle in two or three)."""
_NOT_FOLDED = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike"})


class NodeIssue(Exception):
    """Why one node cannot be imported; the converter adds the node's name and op."""


@dataclass(frozen=True, slots=True)
class NetworkInput:
    """The network input tensor: its name and its shape (a symbolic batch resolved to 1)."""

    name: str
    shape: Shape


class OnnxModel:
    """A checked ONNX graph with constants folded and shapes inferred; answers questions
    about its tensors."""

    def __init__(
        self,
        file: str,
        model: ModelProto,
        network_input: NetworkInput,
        constant_outputs: frozenset[str] = frozenset(),
    ) -> None:
        self.file = file
        self.folder = str(Path(file).parent)
        self.model = model
        self.graph: GraphProto = model.graph
        self.input = network_input
        self._shapes: dict[str, tuple[int | None, ...] | None] = {}
        self._types: dict[str, int] = {}
        for info in (*self.graph.input, *self.graph.value_info, *self.graph.output):
            self._shapes[info.name] = _value_info_shape(info)
            if info.type.HasField("tensor_type"):
                self._types[info.name] = info.type.tensor_type.elem_type
        self._initializers: dict[str, TensorProto] = {t.name: t for t in self.graph.initializer}
        self._constant_nodes: dict[str, NodeProto] = {}
        for node in self.graph.node:
            if node.op_type == "Constant" or any(o in constant_outputs for o in node.output):
                for output in node.output:
                    self._constant_nodes[output] = node
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
        self._values: dict[str, np.ndarray[Any, Any]] = {}

    def is_constant(self, name: str) -> bool:
        """Whether tensor `name` is a constant (initializer, folded node output, weight input)."""
        return (
            name in self._initializers
            or name in self._constant_nodes
            or name in self._weight_inputs
        )

    def is_constant_node(self, node: NodeProto) -> bool:
        """Whether `node` only computes constants (folded away: no layer, no cost)."""
        return any(output in self._constant_nodes for output in node.output)

    def constant_shape(self, name: str) -> Shape:
        """Shape of constant `name`; NodeIssue if its shape is not fully known."""
        if name in self._initializers:
            return tuple(int(d) for d in self._initializers[name].dims)
        known = self._shapes.get(name)
        if name in self._constant_nodes and (known is None or None in known):
            return tuple(self.constant_value(name).shape)
        return self.shape(name)

    def constant_elements(self, name: str) -> int:
        """Elements of constant `name`."""
        elements = 1
        for dim in self.constant_shape(name):
            elements *= dim
        return elements

    def constant_value(self, name: str) -> np.ndarray[Any, Any]:
        """Value of constant `name` (read from external data or evaluated if needed);
        NodeIssue if it cannot be had."""
        if name in self._values:
            return self._values[name]
        if name in self._initializers:
            value = _tensor_value(self._initializers[name], self.folder)
        elif name in self._constant_nodes:
            node = self._constant_nodes[name]
            inputs = [self.constant_value(n) if n else None for n in node.input]
            try:
                results = _evaluate(node, inputs, self.opsets(), self.shapes_of(node.input))
            except Exception as exc:  # onnx.reference raises anything an op raises
                raise NodeIssue(f"cannot evaluate the constant {name!r}: {exc}") from None
            for output, result in zip(node.output, results, strict=False):
                self._values[output] = result
            value = self._values[name]
        else:
            raise NodeIssue(f"needs the value of {name!r}, a graph input; make it an initializer")
        self._values[name] = value
        return value

    def opsets(self) -> dict[str, int]:
        """Opset version per domain ('' for the default domain)."""
        return {
            ("" if entry.domain == "ai.onnx" else entry.domain): entry.version
            for entry in self.model.opset_import
        }

    def shapes_of(self, names: Sequence[str]) -> list[tuple[int | None, ...] | None]:
        """Inferred shapes of `names` (None where unknown)."""
        return [self._shapes.get(name) for name in names]

    def shape(self, name: str) -> Shape:
        """Fully known shape of tensor `name`; NodeIssue naming the tensor otherwise."""
        shape = self._shapes.get(name)
        if shape is None and name in self._initializers:
            return tuple(int(d) for d in self._initializers[name].dims)
        if shape is None or any(dim is None for dim in shape):
            known = "no shape" if shape is None else f"shape {_format_shape(shape)}"
            raise NodeIssue(
                f"tensor {name!r} has {known} after constant folding and ONNX shape "
                "inference; archsim needs every size: export the model with a fixed input "
                "size (only the batch may be symbolic)"
            )
        return tuple(dim for dim in shape if dim is not None)

    def elem_type(self, name: str) -> int | None:
        """The ONNX element type (TensorProto.FLOAT...) of tensor `name`, if known."""
        if name in self._initializers:
            return self._initializers[name].data_type
        return self._types.get(name)

    def consumers(self, name: str) -> Sequence[NodeProto]:
        """Nodes that read tensor `name`, in graph order."""
        return self._consumers.get(name, ())


def load_onnx_model(path: str | Path) -> OnnxModel:
    """Parse, check, fold constants and shape-infer the ONNX file at `path`.

    Raises ConfigError (file = `path`) if the file is missing, is not an ONNX model, fails
    the ONNX checker, or has no usable input; UserError if the onnx package is missing.
    """
    file = str(path)
    try:
        import onnx
        from google.protobuf.message import DecodeError
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
    except (DecodeError, ValueError, RuntimeError, TypeError, OSError) as exc:
        raise ConfigError(Problem(f"not an ONNX model (cannot parse it: {exc})", file)) from None
    if not model.graph.node:
        raise ConfigError(Problem("not an ONNX model, or an empty one (no graph nodes)", file))
    try:  # by path, so that external data is looked for next to the model
        onnx.checker.check_model(file if _has_external_data(model) else model)
    except onnx.checker.ValidationError as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise ConfigError(Problem(f"invalid ONNX model: {first_line}", file)) from None
    network_input = _network_input(model, file)
    current = OnnxModel(file, _infer(model, file), network_input)
    for _ in range(MAX_FOLD_PASSES):  # each pass can give shapes that let more fold
        folded, constant_outputs, count = _fold_constants(current)
        current = OnnxModel(file, _infer(folded, file), network_input, constant_outputs)
        if count == 0:
            break
    return current


def _infer(model: ModelProto, file: str) -> ModelProto:
    from onnx import shape_inference

    try:
        return shape_inference.infer_shapes(model, data_prop=True)
    except (shape_inference.InferenceError, RuntimeError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise ConfigError(Problem(f"ONNX shape inference failed: {first_line}", file)) from None


def _fold_constants(model: OnnxModel) -> tuple[ModelProto, frozenset[str], int]:  # noqa: C901
    """`model` with every small constant node output turned into an initializer; the
    outputs of the nodes that still compute constants (large ones, e.g. Identity on a
    weight, DequantizeLinear of quantized weights); how many tensors were folded."""
    from onnx import numpy_helper
    from onnx.external_data_helper import uses_external_data

    known: dict[str, np.ndarray[Any, Any] | None] = {}  # constant tensor -> small value
    for name, tensor in model._initializers.items():
        small = _elements(tensor.dims) <= FOLD_MAX_ELEMENTS
        known[name] = _tensor_value(tensor, model.folder) if small else None
    for name in model._weight_inputs:
        known[name] = None
    kept, large = [], []
    folded: dict[str, np.ndarray[Any, Any]] = {}
    for node in model.graph.node:
        inputs = [name for name in node.input if name]
        static_shape = node.op_type in SHAPE_OPS and all(
            shape is not None and None not in shape for shape in model.shapes_of(inputs[:1])
        )
        constant = node.op_type not in _NOT_FOLDED and (
            static_shape
            or (node.domain in ("", "ai.onnx") and all(name in known for name in inputs))
        )
        if not constant:
            kept.append(node)
            continue
        values = [known.get(name) if name else None for name in node.input]
        needs_values = not static_shape and any(
            value is None for name, value in zip(node.input, values, strict=True) if name
        )
        results = None
        if not needs_values:
            try:
                results = _evaluate(node, values, model.opsets(), model.shapes_of(node.input))
            except Exception:  # an op onnx.reference cannot evaluate: keep it as a constant
                results = None
        small = results is not None and all(r.size <= FOLD_MAX_ELEMENTS for r in results)
        for position, output in enumerate(node.output):
            known[output] = results[position] if small and results else None
            if small and results:
                folded[output] = results[position]
        if not small:
            kept.append(node)
            large.append(node)
    new = type(model.model)()
    new.CopyFrom(model.model)
    del new.graph.node[:]
    new.graph.node.extend(kept)
    new.graph.initializer.extend(
        numpy_helper.from_array(value, name) for name, value in folded.items()
    )
    inline = 0
    for position, tensor in enumerate(new.graph.initializer):  # small external values inline,
        value = known.get(tensor.name)  # so that shape inference reads them
        if value is not None and uses_external_data(tensor):
            new.graph.initializer[position].CopyFrom(numpy_helper.from_array(value, tensor.name))
            inline += 1
    del new.graph.value_info[:]  # inferred again, now with the folded values
    large_outputs = frozenset(output for node in large for output in node.output)
    return new, large_outputs, len(folded) + inline


def _evaluate(
    node: NodeProto,
    inputs: Sequence[np.ndarray[Any, Any] | None],
    opsets: dict[str, int],
    shapes: Sequence[tuple[int | None, ...] | None],
) -> list[np.ndarray[Any, Any]]:
    """The outputs of one node on constant inputs, with onnx.reference. Shape and Size read
    the inferred shape of their input, which need not be a constant."""
    import numpy as np
    from onnx.reference import ReferenceEvaluator

    if node.op_type in SHAPE_OPS:
        shape = [int(dim or 0) for dim in shapes[0] or ()]
        if node.op_type == "Size":
            return [np.array(int(np.prod(shape)), np.int64)]
        attributes = {a.name: a.i for a in node.attribute}
        start, end = attributes.get("start", 0), attributes.get("end", len(shape))
        return [np.array(shape[start:end] if "end" in attributes else shape[start:], np.int64)]
    names = [name for name in node.input]
    feeds = {name: value for name, value in zip(names, inputs, strict=True) if name}
    evaluator = ReferenceEvaluator(node, opsets=opsets)
    return [np.asarray(result) for result in evaluator.run(None, feeds)]


def _tensor_value(tensor: TensorProto, folder: str) -> np.ndarray[Any, Any]:
    """The value of an initializer, read from its external file if it has one."""
    from onnx import numpy_helper
    from onnx.external_data_helper import load_external_data_for_tensor, uses_external_data

    if uses_external_data(tensor):
        copy = type(tensor)()
        copy.CopyFrom(tensor)
        try:
            load_external_data_for_tensor(copy, folder)
        except (OSError, ValueError) as exc:
            raise NodeIssue(
                f"cannot read the external data of {tensor.name!r} (next to the model): {exc}"
            ) from None
        tensor = copy
    return numpy_helper.to_array(tensor)


def _has_external_data(model: ModelProto) -> bool:
    from onnx.external_data_helper import uses_external_data

    return any(uses_external_data(tensor) for tensor in model.graph.initializer)


def _elements(dims: Sequence[int]) -> int:
    elements = 1
    for dim in dims:
        elements *= int(dim)
    return elements


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
