"""State of one ONNX -> workload conversion: the layers built so far and what each tensor is.

Every activation tensor maps to a `Value`: the workload layer whose output it is, and the
meaning of each of its ONNX axes (letters N, H, W, C of the layer's NHWC output; a merged
axis joins letters, e.g. ``CHW``; a size-1 axis with no counterpart is ``""``; ``"?"``
marks the axes of a tensor of rank > 4, whose layout archsim does not follow). Ops that
archsim folds into a layer (batchnorm, activations, a bias) change the layer and bump its
*version*; a tensor from before a fold that is read by a later layer cannot be represented
(the layer only has its folded output), which `current` reports. Layout-only ops (Flatten,
Reshape that merges or splits axes, Transpose, Squeeze) map their output to the same value
with new letters; when a consumer needs another layout (a Conv needs N,C,H,W; a product of
two activations needs the ONNX order), `relayout` adds a ``reshape`` layer that moves the
data, merged with the previous one when nothing else reads that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from archsim.config.workload import INPUT_NAME
from archsim.errors import Problem
from archsim.workload.importers.names import LayerNamer
from archsim.workload.importers.onnx_model import NodeIssue, OnnxModel

if TYPE_CHECKING:
    from onnx import NodeProto

NCHW = ("N", "C", "H", "W")
"""Axes of an image tensor in ONNX's layout."""

_INPUT_AXES = {4: NCHW, 3: ("N", "H", "C"), 2: ("N", "C")}
OPAQUE = "?"
"""The letter of every axis of a tensor of rank > 4."""
_MAX_LISTED_NODES = 8

Handler = Callable[["Converter", "NodeProto"], None]
"""Turns one node into a layer, a fold or a pass-through; raises NodeIssue if it cannot."""
FormCheck = Callable[[OnnxModel, "NodeProto"], str | None]
"""Names an unsupported form of an op (e.g. 'Mul of two activations'), or None."""


class _Skipped(Exception):
    """A node that reads the output of a node that failed (already reported)."""


@dataclass(frozen=True, slots=True)
class Value:
    """An activation tensor: output of workload layer `layer` after `version` folds."""

    layer: str
    version: int
    axes: tuple[str, ...]
    dims: tuple[int, int, int, int]
    """(N, H, W, C) of the layer's output."""


@dataclass(frozen=True, slots=True)
class Origin:
    """The node a layer came from: for messages and the final check against ONNX."""

    node: str
    tensor: str
    axes: tuple[str, ...]
    macs: int


class Converter:
    """Walks the ONNX nodes in order, building workload layers (plain dicts)."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model
        self.layers: list[dict[str, Any]] = []
        self.origins: dict[str, Origin] = {}
        self._by_name: dict[str, dict[str, Any]] = {}
        input_axes = _INPUT_AXES[len(model.input.shape)]
        input_dims = ir_dims(model.input.shape, input_axes)
        self._values = {model.input.name: Value(INPUT_NAME, 0, input_axes, input_dims)}
        self._folds: dict[str, list[str]] = {INPUT_NAME: []}
        self._failed: set[str] = set()
        self._namer = LayerNamer()
        self._unsupported: dict[str, list[str]] = {}
        self._issues: list[Problem] = []
        self._node_label = ""
        self._position: dict[str, int] = {}  # node output -> node index
        for index, node in enumerate(model.graph.node):
            for output in node.output:
                self._position[output] = index
        self._index = 0
        self._relayout_tensors: dict[str, list[str]] = {}  # reshape layer -> tensors on it
        self.skipped: set[str] = set()  # outputs of nodes absorbed by a later node
        self.pending_pads: dict[str, tuple[int, int, int, int]] = {}  # folded Pad outputs
        self._stale: set[str] = set()  # tensors of a reshape layer that was retargeted
        self.groups: Mapping[str, Any] = {}  # pointwise groups by exit tensor (onnx_pointwise)

    def convert(self, handlers: Mapping[str, Handler], forms: Mapping[str, FormCheck]) -> None:
        """Convert every node; problems are collected (see `problems`), not raised."""
        for index, node in enumerate(self.model.graph.node):
            self._index = index
            op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
            self._node_label = repr(node.name) if node.name else f"#{index}"
            if self.model.is_constant_node(node) or node.output[0] in self.skipped:
                continue
            form = forms[op](self.model, node) if op in forms else None
            handler = handlers.get(op)
            if form is not None or handler is None:
                self._unsupported.setdefault(form or op, []).append(self._node_label)
                self._failed.update(node.output)
                continue
            try:
                if any(name in self._failed for name in node.input):
                    raise _Skipped
                handler(self, node)
            except _Skipped:
                self._failed.update(node.output)
            except NodeIssue as exc:
                self._issues.append(
                    Problem(f"node {self._node_label} ({op}): {exc}", self.model.file)
                )
                self._failed.update(node.output)

    def problems(self) -> list[Problem]:
        """Unsupported ops (one problem per kind, naming its nodes), then other problems."""
        problems = []
        for kind, nodes in self._unsupported.items():
            listed = ", ".join(nodes[:_MAX_LISTED_NODES])
            if len(nodes) > _MAX_LISTED_NODES:
                listed += f" and {len(nodes) - _MAX_LISTED_NODES} more"
            count = f"{len(nodes)} node" + ("s" if len(nodes) > 1 else "")
            problems.append(
                Problem(f"unsupported ONNX op {kind} ({count}: {listed})", self.model.file)
            )
        return problems + self._issues

    # --- reading tensors -------------------------------------------------------------

    def is_constant(self, name: str) -> bool:
        """Whether tensor `name` is a constant (a weight), not an activation."""
        return self.model.is_constant(name)

    def value(self, name: str) -> Value:
        """The value of activation `name`, from before or after later folds of its layer."""
        if name in self._failed:
            raise _Skipped
        if name in self._stale:
            raise NodeIssue(
                f"reads {name!r} in a layout that a later re-layout replaced; archsim keeps "
                "one layout per tensor"
            )
        found = self._values.get(name)
        if found is not None:
            return found
        if self.is_constant(name):
            raise NodeIssue(
                f"computes on the constant {name!r} where an activation is expected; fold "
                "constants first (e.g. with onnxsim)"
            )
        raise NodeIssue(f"reads {name!r}, which no earlier node computes")

    def current(self, name: str) -> Value:
        """The value of activation `name`, which must include every fold of its layer."""
        found = self.value(name)
        folds = self._folds[found.layer]
        if found.version != len(folds):
            later = ", ".join(folds[found.version :])
            raise NodeIssue(
                f"reads {name!r}, the output of layer {found.layer!r} before {later}; archsim "
                "folds those into the layer, so the unfolded output cannot be read"
            )
        return found

    def layer(self, value: Value) -> dict[str, Any] | None:
        """The layer dict a value comes from; None for the network input."""
        return self._by_name.get(value.layer)

    def batch(self) -> int:
        """The network's batch."""
        return self.model.input.shape[0]

    def relayout(self, name: str, axes: tuple[str, ...]) -> str:
        """A tensor holding `name` laid out with `axes` (a new name), `name` itself if it
        already is: a ``reshape`` layer moves the data, or the one that produced `name` is
        retargeted when nothing else reads what it holds."""
        return self.relayout_as(name, name, axes)

    def relayout_as(self, name: str, like: str, axes: tuple[str, ...]) -> str:
        """`relayout` of `name` into the shape of tensor `like` (a Reshape's output)."""
        value = self.current(name)
        if value.axes == axes and like == name:
            return name
        shape = self.model.shape(like)
        dims = ir_dims(shape, axes, self.batch())
        _, height, width, channels = dims
        fields = {"height": height, "width": width, "channels": channels}
        if dims[0] != value.dims[0]:
            raise NodeIssue(
                f"tensor {name!r} of shape {list(shape)} would need another batch size; "
                "archsim keeps the batch axis first"
            )
        synthetic = f"{like}#{''.join(a or '1' for a in axes)}"
        layer = self.layer(value)
        if layer is not None and self._retargetable(layer, value):
            layer.update(fields)
            self._relayout_tensors[layer["name"]].append(synthetic)
            self.origins[layer["name"]] = replace(
                self.origins[layer["name"]], tensor=like, axes=axes
            )
            self._values[synthetic] = Value(value.layer, value.version, axes, dims)
            for tensor in self._relayout_tensors[layer["name"]][:-1]:
                self._stale.add(tensor)
            return synthetic
        producer = layer["name"] if layer is not None else INPUT_NAME
        namer_base = f"{producer}.relayout"
        layer_name = self._namer.claim(namer_base, namer_base)
        new = {"name": layer_name, "op": "reshape", "inputs": [producer], **fields}
        new["activation"] = "none"
        self.layers.append(new)
        self._by_name[layer_name] = new
        self._folds[layer_name] = []
        self._relayout_tensors[layer_name] = [synthetic]
        self._values[synthetic] = Value(layer_name, 0, axes, dims)
        self.origins[layer_name] = Origin(f"{self._node_label} (relayout)", like, axes, 0)
        return synthetic

    def _retargetable(self, layer: dict[str, Any], value: Value) -> bool:
        """Whether a reshape layer made by `relayout` can take another target: no layer
        reads it yet and no tensor on it is read by a node after the current one."""
        tensors = self._relayout_tensors.get(layer["name"])
        if tensors is None or value.version != 0:
            return False
        if any(layer["name"] in (other.get("inputs") or ()) for other in self.layers):
            return False
        if self.layers[-1] is not layer:
            return False
        for tensor in tensors:
            onnx_name = tensor.split("#", 1)[0]
            if onnx_name in self.model.outputs:
                return False
            later = [
                n
                for n in self.model.consumers(onnx_name)
                if self._position.get(n.output[0], -1) > self._index
            ]
            if later:
                return False
        return True

    def map_tensor(self, name: str, output: str) -> None:
        """Record that ONNX tensor `output` lives on the same reshape layer as `name`."""
        value = self.value(name)
        tensors = self._relayout_tensors.get(value.layer)
        if tensors is not None:
            tensors.append(output)

    # --- building ----------------------------------------------------------------------

    def add_layer(
        self,
        node: NodeProto,
        op: str,
        fields: dict[str, Any],
        sources: Sequence[str],
        axes: tuple[str, ...],
        *,
        macs: int = 0,
        explicit_inputs: bool = False,
        dims: tuple[int, int, int, int] | None = None,
    ) -> None:
        """Add a layer reading activations `sources` (already checked with `current`).

        Its output is `node`'s first output, with ONNX axes `axes` and IR sizes `dims`
        (default: from the output's shape, for axes of one letter each); `macs` is what
        ONNX implies, checked against archsim's count at the end.
        """
        output = node.output[0]
        if dims is None:
            dims = ir_dims(self.model.shape(output), axes, self.batch())
        producers = [self.current(source).layer for source in sources]
        previous = self.layers[-1]["name"] if self.layers else INPUT_NAME
        name = self._namer.claim(node.name, f"{node.op_type.lower()}{len(self.layers)}")
        layer: dict[str, Any] = {"name": name, "op": op}
        if explicit_inputs or producers != [previous]:
            layer["inputs"] = producers
        layer.update(fields)
        layer.setdefault("activation", "none")
        self.layers.append(layer)
        self._by_name[name] = layer
        self._folds[name] = []
        self._values[output] = Value(name, 0, axes, dims)
        self.origins[name] = Origin(
            f"{self._node_label} ({node.op_type})", node.output[0], axes, macs
        )

    def add_output_layer(
        self,
        node: NodeProto,
        output: str,
        op: str,
        fields: dict[str, Any],
        sources: Sequence[str],
        axes: tuple[str, ...],
        dims: tuple[int, int, int, int],
    ) -> None:
        """`add_layer` for output `output` of `node` (one of several, as Split has)."""
        producers = [self.current(source).layer for source in sources]
        name = self._namer.claim(
            node.name and f"{node.name}.{list(node.output).index(output)}",
            f"{node.op_type.lower()}{len(self.layers)}",
        )
        layer: dict[str, Any] = {"name": name, "op": op, "inputs": producers, **fields}
        layer.setdefault("activation", "none")
        self.layers.append(layer)
        self._by_name[name] = layer
        self._folds[name] = []
        self._values[output] = Value(name, 0, axes, dims)
        self.origins[name] = Origin(f"{self._node_label} ({node.op_type})", output, axes, 0)

    def fold(self, node: NodeProto, source: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Fold `node` into the layer producing `source`: apply `change` to its fields."""
        found = self.current(source)
        layer = self.layer(found)
        if layer is None:
            raise NodeIssue(
                f"applies to the network input; archsim folds {node.op_type} into the layer "
                "that produces its input"
            )
        change(layer)
        folds = self._folds[found.layer]
        folds.append(f"{node.op_type} {self._node_label}")
        self._values[node.output[0]] = replace(found, version=len(folds))

    def pass_through(self, source: str, output: str, axes: tuple[str, ...] | None = None) -> None:
        """Let tensor `output` stand for `source` (zero cost), optionally with new axes."""
        found = self.value(source)
        self._values[output] = found if axes is None else replace(found, axes=axes)
        self.map_tensor(source, output)


def canonical_axes(shape: Sequence[int], batch: int) -> tuple[str, ...]:
    """Letters of a tensor laid out in ONNX order: the last axis channels, the one before
    width, then height; a first axis of the batch's size is the batch. Rank > 4 (or > 3
    without a batch axis) is opaque."""
    rank = len(shape)
    lead = ("N",) if rank >= 2 and shape[0] == batch else ()
    rest = rank - len(lead)
    if rest > 3:
        return (OPAQUE,) * rank
    return lead + ("H", "W", "C")[3 - rest :]


def ir_dims(shape: Sequence[int], axes: Sequence[str], batch: int = 1) -> tuple[int, int, int, int]:
    """(N, H, W, C) of a tensor of ONNX `shape` whose axes have the letters `axes`.

    Opaque axes: N the first axis if it has the batch's size (else N is the batch), C and
    W the last two, H the product of the rest."""
    if OPAQUE in axes:
        lead = 1 if shape[0] == batch else 0
        middle = 1
        for dim in shape[lead:-2]:
            middle *= dim
        return (shape[0] if lead else batch, middle, shape[-2], shape[-1])
    sizes = {"N": 1, "H": 1, "W": 1, "C": 1}
    for letters, dim in zip(axes, shape, strict=True):
        if len(letters) > 1:
            raise AssertionError(f"merged axes {axes} need explicit dims")
        if letters:
            sizes[letters] = dim
    return (sizes["N"], sizes["H"], sizes["W"], sizes["C"])
