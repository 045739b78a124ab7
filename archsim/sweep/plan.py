"""From a sweep spec to validated tasks: every point's arch, workload and run parameters are
resolved and checked before anything runs.

Values are applied in order base file <- ``set`` <- factors, through
``archsim.config.apply_overrides`` (values passed as JSON, which YAML reads back unchanged).
A problem caused by a value the sweep supplied is reported at that key's line in the sweep
file; other problems at their line in the arch or workload file. Each distinct problem is
reported once, naming the points it affects.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import pydantic

from archsim.config import (
    ArchConfig,
    SourceMap,
    WorkloadConfig,
    apply_overrides,
    load_yaml,
    problem_for,
    source_of,
    validate_model,
)
from archsim.config.pvt import CORNER_NAMES
from archsim.domain import Precision
from archsim.errors import ConfigError, Problem, UserError
from archsim.sweep.design import Point, expand
from archsim.sweep.locate import relocate
from archsim.sweep.point import PointTask, RunParams
from archsim.sweep.spec import (
    ARCH_PREFIX,
    RUN_ARCH,
    RUN_BATCH,
    RUN_CORNER,
    RUN_INPUT,
    RUN_PRECISION,
    RUN_SEED,
    RUN_WORKLOAD,
    WORKLOAD_PREFIX,
    SweepSpec,
    load_sweep_spec,
)
from archsim.sweep.store import trace_name
from archsim.version import __version__

DEFAULT_OUT_ROOT = Path("traces") / "sweeps"

_ATTACH = "interconnect.attach"
_ATTACH_HINT = (
    " (to vary cluster, bank or channel counts on a mesh, place endpoints automatically: "
    "set arch.interconnect.attach: null)"
)

_INPUT_SIZE = re.compile(r"([0-9]+)x([0-9]+)")
M = TypeVar("M", bound=pydantic.BaseModel)


@dataclass(frozen=True)
class SweepPlan:
    """A validated sweep: its spec, output folder and one task per point (by point id)."""

    spec: SweepSpec
    spec_path: Path
    spec_text: str
    out_dir: Path
    points: list[Point]
    tasks: list[PointTask]

    @property
    def factor_keys(self) -> list[str]:
        """The factor keys, in file order."""
        return list(self.spec.factors)


def plan_sweep(
    spec_path: str | Path, *, out: str | Path | None = None, traces: bool = True
) -> SweepPlan:
    """Load the sweep file, expand its points and validate every point's configuration.

    Raises ConfigError listing every problem (all points, all files) before anything runs.
    """
    path = Path(spec_path)
    spec = load_sweep_spec(path)
    points = expand(spec)
    if not points:
        raise ConfigError(problem_for(spec, "the constraints drop every point", "constraints"))
    out_dir = Path(out) if out is not None else Path(spec.out or DEFAULT_OUT_ROOT / spec.name)
    out_dir = out_dir.absolute()
    resolver = _Resolver(spec, path.parent)
    tasks = [resolver.task(point, out_dir if traces else None) for point in points]
    resolver.raise_problems()
    return SweepPlan(spec, path, path.read_text(encoding="utf-8"), out_dir, points, tasks)


@dataclass
class _Located:
    """A problem and the points it was found in."""

    problem: Problem
    points: list[Point]


class _Resolver:
    """Builds the task of each point, collecting (not raising) the problems found."""

    def __init__(self, spec: SweepSpec, base_dir: Path) -> None:
        self.spec = spec
        self.base_dir = base_dir
        self._files: dict[Path, tuple[Any, SourceMap] | None] = {}
        self._models: dict[str, Any] = {}
        self._digests: dict[int, str] = {}
        self._problems: dict[tuple[str | None, int | None, int | None, str, str], _Located] = {}

    def task(self, point: Point, out_dir: Path | None) -> PointTask:
        """The task of ``point`` (with placeholder configs if its problems were recorded)."""
        settings = {**self.spec.set, **point.values}
        arch = self._config(ArchConfig, RUN_ARCH, ARCH_PREFIX, settings, point)
        workload = self._config(WorkloadConfig, RUN_WORKLOAD, WORKLOAD_PREFIX, settings, point)
        run = self._run_params(settings, point)
        fingerprint = self._fingerprint(arch, workload, run)
        name = trace_name(point.id)
        return PointTask(
            point=point.id,
            values=point.values,
            arch=arch,
            workload=workload,
            run=run,
            fingerprint=fingerprint,
            trace_path=None if out_dir is None else str(out_dir / name),
            trace_name=None if out_dir is None else name,
            sources=self.sources(settings),
        )

    def raise_problems(self) -> None:
        """Raise ConfigError with every recorded problem, if any."""
        if not self._problems:
            return
        problems = []
        for located in self._problems.values():
            problem, points = located.problem, located.points
            where = points[0].label()
            if len(points) > 1:
                where = f"{len(points)} points, e.g. {where}"
            problems.append(
                Problem(
                    f"{problem.message} [{where}]",
                    problem.file,
                    problem.line,
                    problem.column,
                    problem.path,
                )
            )
        source = source_of(self.spec)
        spec_file = source.file if source is not None else None
        problems.sort(key=lambda p: (p.file != spec_file, p.file or "", p.line or 0, p.column or 0))
        raise ConfigError(problems)

    # -- configs ---------------------------------------------------------------------------

    def _config(
        self, model: type[M], file_key: str, prefix: str, settings: Mapping[str, Any], point: Point
    ) -> Any:
        field = "arch" if model is ArchConfig else "workload"
        file_value = settings.get(file_key, getattr(self.spec, field))
        if not isinstance(file_value, str) or not file_value:
            message = f"expected a file path, got {file_value!r}"
            self._add(self._sweep_problem(file_key, message, settings), point)
            return None
        path = self.base_dir / file_value
        loaded = self._load(path, file_key if file_key in settings else field, settings, point)
        if loaded is None:
            return None
        data, source = loaded
        overrides = [
            (key[len(prefix) :], value) for key, value in settings.items() if key.startswith(prefix)
        ]
        cache_key = json.dumps([str(path), overrides], sort_keys=True, default=str)
        if cache_key in self._models:
            model_or_problems = self._models[cache_key]
        else:
            model_or_problems = self._validate(model, data, source, overrides)
            self._models[cache_key] = model_or_problems
        if isinstance(model_or_problems, list):
            for problem in model_or_problems:
                self._add(self._relocate(problem, prefix, settings), point)
            return None
        return model_or_problems

    def _load(
        self, path: Path, sweep_key: str, settings: Mapping[str, Any], point: Point
    ) -> tuple[Any, SourceMap] | None:
        if path not in self._files:
            try:
                self._files[path] = load_yaml(path)
            except ConfigError as error:
                self._files[path] = None
                for problem in error.problems:
                    if problem.line is None:
                        message = f"{path}: {problem.message}"
                        problem = self._sweep_problem(sweep_key, message, settings)
                    self._add(problem, point)
        return self._files[path]

    @staticmethod
    def _validate(
        model: type[M], data: Any, source: SourceMap, overrides: list[tuple[str, Any]]
    ) -> M | list[Problem]:
        texts = [f"{key}={json.dumps(value, default=str)}" for key, value in overrides]
        try:
            updated = apply_overrides(data, texts) if texts else data
            located = source.with_overrides(key for key, _ in overrides)
            return validate_model(model, updated, located)
        except UserError as error:
            return error.problems

    def _relocate(self, problem: Problem, prefix: str, settings: Mapping[str, Any]) -> Problem:
        """A problem in a value the sweep supplied, moved to that key in the sweep file."""
        if prefix == ARCH_PREFIX and problem.path.startswith(_ATTACH):
            problem = replace(problem, message=problem.message + _ATTACH_HINT)
        return relocate(problem, (prefix,), self.sources(settings))

    def sources(self, settings: Mapping[str, Any]) -> dict[str, Problem]:
        """Where the sweep file sets each key of ``settings`` (message-less problems)."""
        return {key: self._sweep_problem(key, "", settings) for key in settings}

    # -- run parameters --------------------------------------------------------------------

    def _run_params(self, settings: Mapping[str, Any], point: Point) -> RunParams:
        width = height = batch = None
        precision = None
        seed = 0
        if RUN_INPUT in settings:
            size = self._check(
                settings, RUN_INPUT, point, _parse_input, "WIDTHxHEIGHT, e.g. 224x224"
            )
            width, height = size if size is not None else (None, None)
        if RUN_BATCH in settings:
            batch = self._check(settings, RUN_BATCH, point, _positive_int, "an integer >= 1")
        if RUN_PRECISION in settings:
            choices = ", ".join(p.value for p in Precision)
            precision = self._check(settings, RUN_PRECISION, point, _precision, f"one of {choices}")
        if RUN_SEED in settings:
            seed = self._check(settings, RUN_SEED, point, _seed, "an integer >= 0") or 0
        corner = None
        if RUN_CORNER in settings:
            names = ", ".join(CORNER_NAMES)
            corner = self._check(settings, RUN_CORNER, point, _corner, f"one of {names}")
        return RunParams(width, height, batch, precision, seed, corner=corner)

    def _check(
        self,
        settings: Mapping[str, Any],
        key: str,
        point: Point,
        parse: Callable[[Any], Any],
        expected: str,
    ) -> Any:
        value = settings[key]
        parsed = parse(value)
        if parsed is None:
            message = f"expected {expected}, got {value!r}"
            self._add(self._sweep_problem(key, message, settings), point)
        return parsed

    # -- bookkeeping -----------------------------------------------------------------------

    def _fingerprint(self, arch: Any, workload: Any, run: RunParams) -> str:
        """Digest of the resolved configs and run parameters (equal digest = same point)."""
        if arch is None or workload is None:
            return ""
        parts = [
            self._digest(arch),
            self._digest(workload),
            json.dumps(asdict(run), sort_keys=True),
            __version__,
        ]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def _digest(self, model: pydantic.BaseModel) -> str:
        if id(model) not in self._digests:
            text = json.dumps(model.model_dump(mode="json"), sort_keys=True)
            self._digests[id(model)] = hashlib.sha256(text.encode()).hexdigest()
        return self._digests[id(model)]

    def _sweep_problem(self, key: str, message: str, settings: Mapping[str, Any]) -> Problem:
        """A problem at ``key`` of the sweep file (at the offending level of a factor)."""
        factor = self.spec.factors.get(key)
        if isinstance(factor, list) and key in settings:
            value = settings[key]
            for index, level in enumerate(factor):
                if level == value and type(level) is type(value):
                    return problem_for(self.spec, message, "factors", key, index)
        if factor is not None:
            return problem_for(self.spec, message, "factors", key)
        if key in self.spec.set:
            return problem_for(self.spec, message, "set", key)
        return problem_for(self.spec, message, key)

    def _add(self, problem: Problem, point: Point) -> None:
        token = (problem.file, problem.line, problem.column, problem.path, problem.message)
        located = self._problems.setdefault(token, _Located(problem, []))
        located.points.append(point)


def _parse_input(value: Any) -> tuple[int, int] | None:
    match = _INPUT_SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is None or min(int(match[1]), int(match[2])) < 1:
        return None
    return int(match[1]), int(match[2])


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def _seed(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _corner(value: Any) -> str | None:
    return value if isinstance(value, str) and value in CORNER_NAMES else None


def _precision(value: Any) -> str | None:
    return value if isinstance(value, str) and value in {p.value for p in Precision} else None
