"""Load a workload from any supported file: workload YAML, ONNX model or SCALE-Sim CSV."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from archsim.config.overrides import apply_overrides, overridden_keys
from archsim.config.source import SourceMap
from archsim.config.validation import validate_model
from archsim.config.workload import WorkloadConfig, load_workload
from archsim.errors import ConfigError, Problem
from archsim.workload.importers.onnx_import import import_onnx
from archsim.workload.importers.scalesim import Layout, import_scalesim_csv

ModelFormat = Literal["onnx", "scalesim"]

FORMAT_BY_SUFFIX: dict[str, ModelFormat] = {".onnx": "onnx", ".csv": "scalesim"}
"""Model formats known by file extension (lower case)."""


def model_format(path: str | Path) -> ModelFormat | None:
    """The model format of `path` by its extension; None for anything else (YAML)."""
    return FORMAT_BY_SUFFIX.get(Path(path).suffix.lower())


def import_model(
    path: str | Path,
    fmt: ModelFormat | None = None,
    *,
    name: str | None = None,
    layout: Layout | None = None,
    until: str | None = None,
    precision: str | None = None,
) -> WorkloadConfig:
    """The workload of a model file: ONNX or a SCALE-Sim CSV (`fmt`, else the extension).

    `layout` applies to SCALE-Sim files only, `until` to ONNX files only; `precision`
    overrides the model's. Raises ConfigError if the format is unknown or the model cannot
    be imported.
    """
    chosen = fmt or model_format(path)
    if chosen == "onnx":
        return import_onnx(path, name=name, until=until, precision=precision)
    if chosen == "scalesim":
        cfg = import_scalesim_csv(path, name=name, layout=layout)
        return cfg if precision is None else cfg.model_copy(update={"precision": precision})
    raise ConfigError(
        Problem(
            f"cannot tell the model format from the extension {Path(path).suffix!r}; expected "
            ".onnx (ONNX) or .csv (SCALE-Sim topology)",
            str(path),
        )
    )


def load_any_workload(
    path: str | Path, overrides: Sequence[str] = (), until: str | None = None
) -> WorkloadConfig:
    """A workload from `path` by extension, with ``--set`` overrides applied.

    .onnx: ONNX model; .csv: SCALE-Sim topology; anything else (.yaml, .yml): workload
    YAML. Overrides of an imported model are validated like those of a YAML file.
    ``until`` (ONNX only) keeps what computing that node or tensor needs.
    """
    fmt = model_format(path)
    if until is not None and fmt != "onnx":
        raise ConfigError(Problem("--until applies to ONNX models only", str(path)))
    if fmt is None:
        return load_workload(path, overrides)
    cfg = import_model(path, until=until)
    if not overrides:
        return cfg
    data = apply_overrides(cfg.model_dump(mode="json"), overrides)
    source = SourceMap(str(path)).with_overrides(overridden_keys(overrides))
    return validate_model(WorkloadConfig, data, source)
