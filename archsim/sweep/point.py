"""One sweep point as a task for a worker, its outcome as a record, and the worker function.

``run_point`` is what runs on a Dask worker (or in-process with ``--serial``): it never
raises for a failing point but returns a record with status ``error`` and the error text.
Records are JSON-ready; ``PointStore`` keeps one per point on disk.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from archsim.api import simulate
from archsim.config import ArchConfig, WorkloadConfig
from archsim.config.scenario import ScenarioConfig
from archsim.errors import Problem, UserError
from archsim.sweep.locate import relocate
from archsim.sweep.spec import ARCH_PREFIX, WORKLOAD_PREFIX

_PREFIXES = (ARCH_PREFIX, WORKLOAD_PREFIX)


class PointStatus(StrEnum):
    """Outcome of one point."""

    OK = "ok"  # simulated; summary recorded
    ERROR = "error"  # the point raised (user error, simulation error, crash in Python)
    LOST = "lost"  # the worker running it died (twice); rerun by --resume


@dataclass(frozen=True)
class RunParams:
    """Run parameters of a point; None keeps the workload file's value."""

    width: int | None = None
    height: int | None = None
    batch: int | None = None
    precision: str | None = None
    seed: int = 0
    scenario: ScenarioConfig | None = None
    corner: str | None = None


@dataclass(frozen=True)
class PointTask:
    """Everything a worker needs to simulate one point (picklable).

    ``trace_path`` is absolute (workers must see the sweep folder at the same path) or None
    for summaries only; ``trace_name`` is the same file relative to the sweep folder.
    """

    point: int
    values: dict[str, Any]
    arch: ArchConfig
    workload: WorkloadConfig
    run: RunParams
    fingerprint: str
    trace_path: str | None = None
    trace_name: str | None = None
    sources: dict[str, Problem] = field(default_factory=dict)
    """Where the sweep file sets each key, so run-time errors point there (see locate)."""


@dataclass(frozen=True)
class PointRecord:
    """What became of one point; ``to_json``/``from_json`` give its ``points/ID.json``."""

    point: int
    fingerprint: str
    values: dict[str, Any]
    status: PointStatus
    summary: dict[str, Any] | None = None
    error: str | None = None
    error_type: str | None = None
    traceback: str | None = None
    trace: str | None = None
    wall_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON-ready dict."""
        return {
            "point": self.point,
            "fingerprint": self.fingerprint,
            "values": self.values,
            "status": self.status.value,
            "summary": self.summary,
            "error": self.error,
            "error_type": self.error_type,
            "traceback": self.traceback,
            "trace": self.trace,
            "wall_s": self.wall_s,
        }

    @classmethod
    def from_json(cls, data: Any) -> PointRecord:
        """A record from ``to_json`` output (unknown keys ignored); ValueError if malformed."""
        if not isinstance(data, dict):
            raise ValueError("a point record is a JSON object")
        try:
            return cls(
                point=int(data["point"]),
                fingerprint=str(data["fingerprint"]),
                values=dict(data["values"]),
                status=PointStatus(data["status"]),
                summary=data.get("summary"),
                error=data.get("error"),
                error_type=data.get("error_type"),
                traceback=data.get("traceback"),
                trace=data.get("trace"),
                wall_s=float(data.get("wall_s", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"malformed point record: {error!r}") from None


def run_point(task: PointTask) -> PointRecord:
    """Simulate one point; any exception becomes a record with status ``error``."""
    start = time.perf_counter()
    try:
        result = simulate(
            task.arch,
            task.workload,
            width=task.run.width,
            height=task.run.height,
            batch=task.run.batch,
            precision=task.run.precision,
            seed=task.run.seed,
            scenario=task.run.scenario,
            corner=task.run.corner,
            trace=task.trace_path is not None,
            trace_path=task.trace_path,
        )
    except Exception as error:  # noqa: BLE001 - a failing point is recorded, the sweep goes on
        return failed_record(task, error, time.perf_counter() - start)
    return PointRecord(
        point=task.point,
        fingerprint=task.fingerprint,
        values=task.values,
        status=PointStatus.OK,
        summary=result.summary,
        trace=task.trace_name if result.trace_path is not None else None,
        wall_s=time.perf_counter() - start,
    )


def failed_record(
    task: PointTask,
    error: BaseException,
    wall_s: float = 0.0,
    status: PointStatus = PointStatus.ERROR,
) -> PointRecord:
    """The record of a point that raised ``error`` (a UserError keeps its located problems)."""
    if isinstance(error, UserError):
        located = [relocate(p, _PREFIXES, task.sources) for p in error.problems]
        text, detail = "\n".join(str(problem) for problem in located), None
    else:
        text, detail = str(error) or type(error).__name__, _traceback_text(error)
    return PointRecord(
        point=task.point,
        fingerprint=task.fingerprint,
        values=task.values,
        status=status,
        error=text,
        error_type=type(error).__name__,
        traceback=detail,
        wall_s=wall_s,
    )


def _traceback_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))
