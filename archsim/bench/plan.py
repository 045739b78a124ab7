"""From a bench file to one sweep task per case: every file loaded and checked first."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

from archsim.bench.spec import BenchSpec, load_bench_spec
from archsim.config import ArchConfig, WorkloadConfig, load_arch
from archsim.config.operating_point import Corner
from archsim.config.scenario import ScenarioConfig
from archsim.domain import Precision
from archsim.errors import ConfigError, Problem, UserError
from archsim.sweep.point import PointTask, RunParams
from archsim.version import __version__
from archsim.workload.importers import load_any_workload

DEFAULT_OUT_ROOT = Path("traces") / "benches"
TYPICAL_LABEL = "as given"
"""Corner column of a case run without --corner (the arch's own operating point)."""


@dataclass(frozen=True)
class BenchCase:
    """One cell of the matrix: which chip runs what, how."""

    point: int
    arch: ArchConfig
    workload: WorkloadConfig
    size: tuple[int, int] | None
    batch: int
    precision: Precision
    scenario: ScenarioConfig | None
    corner: Corner | None

    def values(self) -> dict[str, Any]:
        """The case's labels (JSON-ready), as the scorecard shows them."""
        return {
            "arch": self.arch.name,
            "workload": self.workload.name,
            "input": None if self.size is None else f"{self.size[0]}x{self.size[1]}",
            "batch": self.batch,
            "precision": self.precision.value,
            "scenario": None if self.scenario is None else self.scenario.kind.value,
            "corner": TYPICAL_LABEL if self.corner is None else self.corner.value,
        }

    def task(self, seed: int) -> PointTask:
        """The sweep task that simulates this case (summary only, no trace)."""
        width, height = self.size if self.size is not None else (None, None)
        run = RunParams(
            width=width,
            height=height,
            batch=self.batch,
            precision=self.precision.value,
            seed=seed,
            scenario=self.scenario,
            corner=None if self.corner is None else self.corner.value,
        )
        return PointTask(
            point=self.point,
            values=self.values(),
            arch=self.arch,
            workload=self.workload,
            run=run,
            fingerprint=_fingerprint(self, seed),
        )


@dataclass(frozen=True)
class BenchPlan:
    """A validated bench: its spec, output folder and cases (by point id)."""

    spec: BenchSpec
    spec_path: Path
    spec_text: str
    out_dir: Path
    cases: tuple[BenchCase, ...]

    def tasks(self) -> list[PointTask]:
        """One task per case."""
        return [case.task(self.spec.seed) for case in self.cases]


def plan_bench(
    path: str | Path,
    out: str | Path | None = None,
    corners: Sequence[Corner | None] | None = None,
    overrides: Sequence[str] = (),
) -> BenchPlan:
    """Load the bench file and every arch and workload it names (ConfigError listing every
    problem of every file before anything runs); ``overrides`` (``KEY=VALUE``, VALUE as
    YAML) change the file's keys first, and ``corners`` replaces its corners."""
    spec_path = Path(path)
    spec = load_bench_spec(spec_path, overrides)
    if corners:
        spec = spec.model_copy(update={"corners": list(corners)})
    base = spec_path.parent
    problems: list[Problem] = []
    archs = [_collect(lambda a=arch: load_arch(base / a), problems) for arch in spec.archs]
    workloads = [
        _collect(lambda w=entry.file: load_any_workload(base / w), problems)
        for entry in spec.workloads
    ]
    if problems:
        raise ConfigError(problems)
    runs = [
        (workload, size)
        for workload, entry in zip(workloads, spec.workloads, strict=True)
        for size in entry.sizes()
    ]
    matrix = product(archs, runs, spec.batches, spec.precisions, spec.scenarios, spec.corners)
    cases = tuple(
        BenchCase(point, arch, workload, size, batch, precision, scenario, corner)
        for point, (arch, (workload, size), batch, precision, scenario, corner) in enumerate(matrix)
    )
    out_dir = Path(out) if out is not None else Path(spec.out or DEFAULT_OUT_ROOT / spec.name)
    text = spec_path.read_text(encoding="utf-8")
    return BenchPlan(spec, spec_path, text, out_dir.absolute(), cases)


def _collect(load: Any, problems: list[Problem]) -> Any:
    try:
        return load()
    except UserError as error:
        problems.extend(error.problems)
        return None


def _fingerprint(case: BenchCase, seed: int) -> str:
    parts = {
        "arch": case.arch.model_dump(mode="json"),
        "workload": case.workload.model_dump(mode="json"),
        "values": case.values(),
        "scenario": None if case.scenario is None else case.scenario.model_dump(mode="json"),
        "seed": seed,
        "version": __version__,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
