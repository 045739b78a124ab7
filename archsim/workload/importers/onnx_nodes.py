"""Small readers of ONNX nodes shared by the op rules: attributes, operands, constants."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archsim.workload.importers.onnx_convert import NCHW, Converter, Value
from archsim.workload.importers.onnx_model import NodeIssue

if TYPE_CHECKING:
    from onnx import NodeProto


def attributes(node: NodeProto) -> dict[str, Any]:
    """The node's attributes as Python values (strings decoded)."""
    from onnx import helper

    values = {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}


def operands(c: Converter, node: NodeProto) -> tuple[list[str], list[str]]:
    """(activation inputs, constant inputs) of `node`, omitted optional inputs dropped."""
    names = [name for name in node.input if name]
    return [n for n in names if not c.is_constant(n)], [n for n in names if c.is_constant(n)]


def optional_input(node: NodeProto, index: int) -> str | None:
    """Input `index` of `node`, None if omitted."""
    return node.input[index] if len(node.input) > index and node.input[index] else None


def constant_at(c: Converter, node: NodeProto, index: int, role: str) -> str:
    """Input `index`, which must be a constant; NodeIssue naming its `role` otherwise."""
    name = optional_input(node, index)
    if name is None or not c.is_constant(name):
        raise NodeIssue(f"its {role} must be a constant (initializer)")
    return name


def int_list(c: Converter, node: NodeProto, index: int, attribute: str) -> list[int] | None:
    """Integers from constant input `index` (newer opsets) or attribute `attribute`."""
    name = optional_input(node, index)
    if name is not None:
        return [
            int(v)
            for v in c.model.constant_value(constant_at(c, node, index, attribute)).reshape(-1)
        ]
    value = attributes(node).get(attribute)
    return None if value is None else [int(v) for v in value]


def require_image(value: Value, what: str) -> None:
    """NodeIssue unless `value` is an N,C,H,W image tensor."""
    if value.axes != NCHW:
        raise NodeIssue(
            f"{what} needs an NCHW image tensor; its input has axes {','.join(value.axes)}"
        )


def image(c: Converter, name: str) -> str:
    """A tensor holding `name` as an N,C,H,W image (re-laid out if it is not one)."""
    if len(c.model.shape(name)) != 4:
        raise NodeIssue(f"needs a 4-D (N, C, H, W) input, got shape {list(c.model.shape(name))}")
    return c.relayout(name, NCHW)


def unused_extra_outputs(c: Converter, node: NodeProto, what: str) -> None:
    """NodeIssue if an output after the first is read."""
    for name in node.output[1:]:
        if name and (c.model.consumers(name) or name in c.model.outputs):
            raise NodeIssue(f"its {what} output {name!r} is used; only the first output is")
