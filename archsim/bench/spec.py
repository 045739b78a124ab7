"""Bench YAML: the matrix of architectures, workloads (with their input sizes), batches,
precisions, scenarios and PVT corners a scorecard is built from.

Every combination runs (a full factorial): archs x (workload, input) x batches x
precisions x scenarios x corners. Paths are relative to the bench file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, Strict, model_validator

from archsim.config import CrossChecks, StrictModel, json_schema_for, load_model
from archsim.config.base import PrecisionField
from archsim.config.operating_point import Corner, CornerField
from archsim.config.scenario import ScenarioConfig
from archsim.domain import Precision

INPUT_PATTERN = r"^[1-9][0-9]*x[1-9][0-9]*$"
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"

InputSize = Annotated[str, Field(pattern=INPUT_PATTERN)]


class BenchWorkload(StrictModel):
    """One workload of the bench and the input sizes it runs at."""

    file: str = Field(
        min_length=1, description="Workload YAML, ONNX model or SCALE-Sim topology CSV."
    )
    inputs: list[InputSize] = Field(
        default_factory=list,
        description="Input sizes WIDTHxHEIGHT, e.g. [224x224, 1440x1440]; empty: the "
        "workload file's own input.",
    )

    def sizes(self) -> list[tuple[int, int] | None]:
        """(width, height) of each input, or [None] for the workload's own."""
        if not self.inputs:
            return [None]
        return [_size(text) for text in self.inputs]


def _size(text: str) -> tuple[int, int]:
    width, height = text.split("x")  # the schema's pattern holds
    return int(width), int(height)


def _one_inference() -> list[ScenarioConfig | None]:
    return [None]


def _arch_as_written() -> list[Corner | None]:
    return [None]


class BenchSpec(StrictModel):
    """A bench: what to run, and where the scorecard goes."""

    name: str = Field(pattern=NAME_PATTERN, description="Name of the bench (output folder).")
    description: str = Field(default="", description="Free text shown on the scorecard.")
    archs: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1, description="Architecture YAML files, one scorecard chip each."
    )
    workloads: list[BenchWorkload] = Field(
        min_length=1, description="Workloads and the input sizes each runs at."
    )
    batches: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [1], min_length=1, description="Batch sizes."
    )
    precisions: list[PrecisionField] = Field(
        default_factory=lambda: [Precision.INT8], min_length=1, description="Precisions."
    )
    scenarios: list[ScenarioConfig | None] = Field(
        default_factory=_one_inference,
        min_length=1,
        description="Scenarios (the scenario block of a workload file), null: one inference.",
    )
    corners: list[Annotated[CornerField, Strict(False)] | None] = Field(
        default_factory=_arch_as_written,
        min_length=1,
        description="PVT corners (worst, typical, best); null: the arch as its file says.",
    )
    seed: int = Field(default=0, ge=0, description="Seed of every run.")
    out: str | None = Field(
        default=None, description="Output folder (default: traces/benches/NAME)."
    )

    @model_validator(mode="after")
    def _check_unique(self) -> Self:
        checks = CrossChecks()
        for key in ("archs", "batches", "precisions", "corners"):
            values = getattr(self, key)
            for index, value in enumerate(values):
                if value in values[:index]:
                    checks.add((key, index), f"{value!r} is listed twice")
        checks.raise_if_any()
        return self


def load_bench_spec(path: str | Path, overrides: Sequence[str] = ()) -> BenchSpec:
    """Load and validate a bench YAML file, ``--set KEY=VALUE`` overrides applied first
    (ConfigError with file:line, or ``--set``, for every problem)."""
    return load_model(BenchSpec, path, overrides)


def bench_json_schema() -> dict[str, object]:
    """JSON Schema of bench files."""
    return json_schema_for(BenchSpec, "archsim bench")
