"""Base of every configuration model: strict, frozen, unknown keys rejected.

Field types that YAML can only spell as strings (the domain StrEnums) or lists (coordinates)
have lenient aliases here; everything else is strict, so e.g. ``true`` is not an int and
``"3"`` is not a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import pydantic
from pydantic import ConfigDict, PrivateAttr, Strict
from pydantic_core import PydanticCustomError

from archsim.config.source import KeyPath, SourceMap, dotted
from archsim.domain import (
    Arbitration,
    Dataflow,
    DramPlanMode,
    InterconnectKind,
    MeshShape,
    NocScheduleMode,
    Precision,
)

# Enum fields accept their string values (strict mode would accept only enum members).
PrecisionField = Annotated[Precision, Strict(False)]
DataflowField = Annotated[Dataflow, Strict(False)]
InterconnectKindField = Annotated[InterconnectKind, Strict(False)]
ArbitrationField = Annotated[Arbitration, Strict(False)]
MeshShapeField = Annotated[MeshShape, Strict(False)]
NocScheduleModeField = Annotated[NocScheduleMode, Strict(False)]
DramPlanModeField = Annotated[DramPlanMode, Strict(False)]

# Error type that carries several located problems out of one model validator.
CROSS_CHECK_ERROR = "cross_checks"


class StrictModel(pydantic.BaseModel):
    """Frozen pydantic model that forbids unknown keys and coercion.

    ``_source`` and ``_path`` are set by ``attach_source`` after validation so later stages
    can report problems at the YAML line of any sub-config (see ``problem_for``).
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, validate_default=True, allow_inf_nan=False
    )

    _source: SourceMap | None = PrivateAttr(default=None)
    _path: KeyPath = PrivateAttr(default=())

    def __eq__(self, other: object) -> bool:
        """Equal when of the same type with equal field values; the source does not count."""
        if not isinstance(other, StrictModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__


class CrossChecks:
    """Collects the problems of a model validator so all are reported, each at its own key.

    Use in a ``model_validator(mode="after")`` (or "before"): ``add`` each failed check with
    its path relative to the model, then ``raise_if_any``. ``validate_model`` turns the
    single pydantic error this raises back into one located problem per check.
    """

    def __init__(self) -> None:
        self.problems: list[tuple[KeyPath, str]] = []

    def add(self, path: Sequence[str | int], message: str) -> None:
        """Record a failed check at ``path`` (relative to the validated model)."""
        self.problems.append((tuple(path), message))

    def raise_if_any(self) -> None:
        """Raise the collected problems as one pydantic error, if there are any."""
        if self.problems:
            raise_cross_checks(self.problems)


def raise_cross_checks(problems: Sequence[tuple[KeyPath, str]]) -> NoReturn:
    """Raise ``problems`` ((relative path, message) pairs) as one pydantic error."""
    summary = "; ".join(f"{dotted(path)}: {message}" for path, message in problems)
    context: dict[str, Any] = {"summary": summary, "problems": list(problems)}
    raise PydanticCustomError(CROSS_CHECK_ERROR, "{summary}", context)
