"""Validation of loaded YAML data against a model, with every error located in the file.

After validation each StrictModel in the tree carries the SourceMap and its own key path,
so later stages (mapper, chip assembly) can report problems at the YAML line of any
sub-config with ``problem_for``.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pydantic
from pydantic_core import ErrorDetails

from archsim.config.base import CROSS_CHECK_ERROR, StrictModel
from archsim.config.overrides import apply_overrides, overridden_keys
from archsim.config.source import KeyPath, SourceMap, dotted
from archsim.config.yaml_loader import load_yaml, load_yaml_text
from archsim.errors import ConfigError, Problem

M = TypeVar("M", bound=pydantic.BaseModel)

_ABSENT = object()
_MESSAGE_PREFIXES = ("Value error, ", "Assertion failed, ")
_MAPPING_ERRORS = {"model_type", "model_attributes_type", "dict_type"}


def validate_model(model_cls: type[M], data: Any, source: SourceMap) -> M:
    """Validate ``data`` as ``model_cls`` and attach ``source`` to the resulting tree.

    Raises ConfigError with one located Problem per pydantic error (and per cross-check a
    model validator collected), sorted by line.
    """
    try:
        model = model_cls.model_validate(data)
    except pydantic.ValidationError as exc:
        problems: list[Problem] = []
        for error in exc.errors():
            problems.extend(_error_problems(model_cls, error, data, source))
        raise ConfigError(sorted(problems, key=_line_order)) from None
    attach_source(model, source)
    return model


def load_model(model_cls: type[M], path: str | Path, overrides: Sequence[str] = ()) -> M:
    """Load a YAML file, apply ``--set`` overrides and validate it as ``model_cls``."""
    data, source = load_yaml(path)
    return _validate_with_overrides(model_cls, data, source, overrides)


def load_model_text(
    model_cls: type[M], text: str, file: str = "<string>", overrides: Sequence[str] = ()
) -> M:
    """Like ``load_model`` for YAML held in a string; ``file`` names it in problems."""
    data, source = load_yaml_text(text, file)
    return _validate_with_overrides(model_cls, data, source, overrides)


def attach_source(model: pydantic.BaseModel, source: SourceMap | None, path: KeyPath = ()) -> None:
    """Record ``source`` and each sub-model's key path on every StrictModel in the tree."""
    if isinstance(model, StrictModel):
        model._source = source
        model._path = path
    for name in type(model).model_fields:
        _attach_value(getattr(model, name), source, (*path, name))


def source_of(model: pydantic.BaseModel) -> SourceMap | None:
    """The SourceMap the model (or the tree it belongs to) was loaded from, if any."""
    return model._source if isinstance(model, StrictModel) else None


def path_of(model: pydantic.BaseModel) -> KeyPath:
    """Key path of a sub-model within its file, e.g. ("layers", 3); () for the root."""
    return model._path if isinstance(model, StrictModel) else ()


def problem_for(model: pydantic.BaseModel, message: str, *path: str | int) -> Problem:
    """A Problem at key ``path`` below ``model``, located in its file when known."""
    full = (*path_of(model), *path)
    source = source_of(model)
    if source is None:
        return Problem(message, path=dotted(full))
    return source.problem(full, message)


def _validate_with_overrides(
    model_cls: type[M], data: Any, source: SourceMap, overrides: Sequence[str]
) -> M:
    if overrides:
        data = apply_overrides(data, overrides)
        source = source.with_overrides(overridden_keys(overrides))
    return validate_model(model_cls, data, source)


def _attach_value(value: Any, source: SourceMap | None, path: KeyPath) -> None:
    if isinstance(value, pydantic.BaseModel):
        attach_source(value, source, path)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _attach_value(item, source, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str | int):
                _attach_value(item, source, (*path, key))


def _line_order(problem: Problem) -> tuple[bool, int, int]:
    return problem.line is None, problem.line or 0, problem.column or 0


def _error_problems(
    model_cls: type[pydantic.BaseModel], error: ErrorDetails, data: Any, source: SourceMap
) -> list[Problem]:
    """The located problems one pydantic error stands for."""
    loc = error["loc"]
    if error["type"] == CROSS_CHECK_ERROR:
        base = _data_path(loc, data, keep_missing_last=False)
        return [source.problem((*base, *path), msg) for path, msg in error["ctx"]["problems"]]
    path = _data_path(loc, data, keep_missing_last=error["type"] == "missing")
    return [source.problem(path, _message(model_cls, error, path))]


def _data_path(loc: Sequence[str | int], data: Any, keep_missing_last: bool) -> KeyPath:
    """``loc`` without the segments that are not keys of ``data`` (union tags, '[key]').

    A missing key, the last segment of a 'missing' error, is kept.
    """
    path: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        child = _child(node, part)
        if child is not _ABSENT:
            path.append(part)
            node = child
        elif keep_missing_last and index == len(loc) - 1:
            path.append(part)
    return tuple(path)


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, Mapping):
        return node.get(part, _ABSENT)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _ABSENT


def _message(model_cls: type[pydantic.BaseModel], error: ErrorDetails, path: KeyPath) -> str:
    """A readable message for one pydantic error at ``path``."""
    kind, loc = error["type"], error["loc"]
    key = path[-1] if path else ""
    if kind == "missing":
        return f"missing required key '{key}'"
    if kind == "extra_forbidden":
        return _unknown_key_message(str(key), _allowed_keys(model_cls, loc[:-1]))
    message = error["msg"]
    for prefix in _MESSAGE_PREFIXES:
        message = message.removeprefix(prefix)
    if kind in _MAPPING_ERRORS:
        message = "expected a mapping of keys"
    got = error.get("input")
    if isinstance(got, str | int | float | bool) or got is None:
        message += f" (got {_yaml_repr(got)})"
    elif isinstance(got, list):
        message += " (got a list)"
    if loc and loc[-1] == "[key]":
        message = f"invalid key: {message}"
    return message


def _unknown_key_message(key: str, allowed: list[str]) -> str:
    message = f"unknown key '{key}'"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        message += f"; did you mean '{close[0]}'?"
    if allowed:
        message += f" (allowed: {', '.join(allowed)})"
    return message


def _yaml_repr(value: Any) -> str:
    """How a scalar was spelled in YAML (near enough for messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(model_cls: type[pydantic.BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names of the model that ``loc`` points into, if it can be told unambiguously."""
    candidates: list[Any] = [model_cls]
    for part in loc:
        following: list[Any] = []
        for kind in _concrete_types(candidates):
            following.extend(_step(kind, part))
        # A union tag matches no field: keep the members it names, or all if it names none.
        candidates = following or _tagged_members(_concrete_types(candidates), part)
    models = [kind for kind in _concrete_types(candidates) if _is_model(kind)]
    return list(models[0].model_fields) if len(models) == 1 else []


def _step(kind: Any, part: str | int) -> list[Any]:
    """The types one key path segment leads to from ``kind``."""
    if _is_model(kind):
        field = kind.model_fields.get(part) if isinstance(part, str) else None
        return [field.annotation] if field is not None else []
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (list, tuple) and isinstance(part, int):
        return [arg for arg in args if arg is not Ellipsis]
    if origin is dict and len(args) == 2:
        return [args[1]]
    return []


def _tagged_members(members: list[Any], tag: str | int) -> list[Any]:
    models = [kind for kind in members if _is_model(kind)]
    named = [kind for kind in models if kind.__name__ == tag or _has_literal(kind, tag)]
    return named or models


def _has_literal(model: type[pydantic.BaseModel], value: str | int) -> bool:
    """Whether a field of ``model`` is a Literal that allows ``value`` (a union tag)."""
    for field in model.model_fields.values():
        if typing.get_origin(field.annotation) is typing.Literal:
            if value in typing.get_args(field.annotation):
                return True
    return False


def _concrete_types(kinds: list[Any]) -> list[Any]:
    """``kinds`` with Annotated unwrapped and unions expanded into their members."""
    result: list[Any] = []
    for kind in kinds:
        origin = typing.get_origin(kind)
        if origin is typing.Annotated:
            result.extend(_concrete_types([typing.get_args(kind)[0]]))
        elif origin is typing.Union or origin is types.UnionType:
            result.extend(_concrete_types(list(typing.get_args(kind))))
        else:
            result.append(kind)
    return result


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, pydantic.BaseModel)
