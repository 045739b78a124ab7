"""``sweep()``: plan, run (serial or Dask), store each point, write the results table."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from archsim.sweep.execute import ClusterChoice, Runner, choose_cluster, run_dask, run_serial
from archsim.sweep.plan import SweepPlan, plan_sweep
from archsim.sweep.point import PointRecord, PointStatus, PointTask, run_point
from archsim.sweep.progress import Progress
from archsim.sweep.results import write_results
from archsim.sweep.store import RESULTS_CSV, RESULTS_H5, SWEEP_H5, PointStore
from archsim.sweep.table import ResultsTable, build_table


@dataclass(frozen=True)
class SweepResult:
    """What ``sweep`` returns: the table, the folder and how many points ran or were kept."""

    name: str
    out_dir: Path
    table: ResultsTable
    records: tuple[PointRecord, ...]
    ran: int
    skipped: int
    wall_s: float
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def results_csv(self) -> Path:
        """``results.csv`` of the sweep."""
        return self.out_dir / RESULTS_CSV

    @property
    def results_h5(self) -> Path:
        """``results.h5`` of the sweep."""
        return self.out_dir / RESULTS_H5

    @property
    def sweep_h5(self) -> Path:
        """``sweep.h5``, linking the results table and every point's trace."""
        return self.out_dir / SWEEP_H5


def run_and_store(
    tasks: Sequence[PointTask],
    store: PointStore,
    cluster: ClusterChoice | None,
    description: str,
    progress: bool = False,
    runner: Runner = run_point,
) -> dict[int, PointRecord]:
    """Run ``tasks`` in this process (``cluster`` None) or on Dask, saving each record
    atomically as its point completes; the records by point id."""
    records: dict[int, PointRecord] = {}
    with Progress(len(tasks), enabled=progress, description=description) as bar:

        def keep(record: PointRecord) -> None:
            store.save(record)
            records[record.point] = record
            bar.update(record)

        if cluster is None:
            run_serial(tasks, keep, runner)
        elif tasks:
            run_dask(tasks, keep, cluster, runner)
    return records


def sweep(
    spec_path: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    scheduler_file: str | Path | None = None,
    serial: bool = False,
    resume: bool = False,
    traces: bool = True,
    out: str | Path | None = None,
    progress: bool = False,
    on_start: Callable[[SweepPlan, int], None] | None = None,
    runner: Runner = run_point,
) -> SweepResult:
    """Run the design-space sweep described by the YAML file ``spec_path``.

    Every point's configuration is validated first (ConfigError lists all problems). Points
    then run on Dask: a LocalCluster with ``workers`` single-threaded worker processes
    (default: one per core), or the scheduler at ``scheduler`` / ``scheduler_file`` /
    DASK_SCHEDULER_ADDRESS; ``serial`` runs them in this process instead. Each point writes
    ``points/ID.json`` (and ``points/ID.h5`` unless ``traces`` is off) under ``out``
    (default: the spec's ``out``, else ``traces/sweeps/NAME``). With ``resume``, points
    already complete are kept. A failing point is recorded with its error; the others go on.
    ``on_start(plan, points_to_run)`` is called once before the first point runs; ``runner``
    replaces the function that runs a point (for tests). Worker processes are spawned: call
    this under ``if __name__ == "__main__":`` in a script.
    """
    if serial and (scheduler is not None or scheduler_file is not None):
        raise ValueError("serial runs in-process: give no scheduler")
    if serial and workers not in (None, 1):
        raise ValueError("serial runs one point at a time: workers must be 1 or None")
    cluster = None if serial else choose_cluster(scheduler, scheduler_file, workers)
    start = time.perf_counter()
    plan = plan_sweep(spec_path, out=out, traces=traces)
    store = PointStore(plan.out_dir)
    store.prepare(fresh=not resume)
    done = store.completed(plan.tasks, traces=traces) if resume else {}
    todo = [task for task in plan.tasks if task.point not in done]
    if on_start is not None:
        on_start(plan, len(todo))
    records = dict(done)
    records.update(run_and_store(todo, store, cluster, plan.spec.name, progress, runner))
    ordered = tuple(records[task.point] for task in plan.tasks)
    table = build_table(plan.factor_keys, ordered)
    write_results(
        plan.out_dir, table, ordered, {"name": plan.spec.name, "spec_yaml": plan.spec_text}
    )
    counts = {status.value: sum(r.status is status for r in ordered) for status in PointStatus}
    return SweepResult(
        name=plan.spec.name,
        out_dir=plan.out_dir,
        table=table,
        records=ordered,
        ran=len(todo),
        skipped=len(done),
        wall_s=time.perf_counter() - start,
        counts=counts,
    )
