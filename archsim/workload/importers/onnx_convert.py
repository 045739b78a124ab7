"""State of one ONNX -> workload conversion: the layers built so far and what each tensor is.

Every activation tensor maps to a `Value`: the workload layer whose output it is, and the
meaning of each of its ONNX axes (letters N, C, H, W; a flattened axis joins letters, e.g.
``CHW``). Ops that archsim folds into a layer (batchnorm, activations, a bias) change the
layer and bump its *version*; a tensor from before a fold that is read by a later layer
cannot be represented (the layer only has its folded output), which `current` reports.
Zero-cost ops (Flatten, a scale by a constant, layout changes) map their output to the
same value without a fold.
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
        self._values = {model.input.name: Value(INPUT_NAME, 0, input_axes)}
        self._folds: dict[str, list[str]] = {INPUT_NAME: []}
        self._failed: set[str] = set()
        self._namer = LayerNamer()
        self._unsupported: dict[str, list[str]] = {}
        self._issues: list[Problem] = []
        self._node_label = ""

    def convert(self, handlers: Mapping[str, Handler], forms: Mapping[str, FormCheck]) -> None:
        """Convert every node; problems are collected (see `problems`), not raised."""
        for index, node in enumerate(self.model.graph.node):
            op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
            self._node_label = repr(node.name) if node.name else f"#{index}"
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
    ) -> None:
        """Add a layer reading activations `sources` (already checked with `current`).

        Its output is `node`'s first output, with ONNX axes `axes`; `macs` is what ONNX
        implies, checked against archsim's count at the end.
        """
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
        self._values[node.output[0]] = Value(name, 0, axes)
        self.origins[name] = Origin(
            f"{self._node_label} ({node.op_type})", node.output[0], axes, macs
        )

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
        self._values[node.output[0]] = Value(found.layer, len(folds), found.axes)

    def pass_through(self, source: str, output: str, axes: tuple[str, ...] | None = None) -> None:
        """Let tensor `output` stand for `source` (zero cost), optionally with new axes."""
        found = self.value(source)
        self._values[output] = found if axes is None else replace(found, axes=axes)
