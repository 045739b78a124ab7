"""Running point tasks: in-process (``--serial``) or on Dask distributed.

With Dask, a LocalCluster of one single-threaded worker process per core is started unless
a scheduler is named (``--scheduler``, ``--scheduler-file`` or DASK_SCHEDULER_ADDRESS).
Records stream back as points complete (``distributed.as_completed``), in any order; the
caller stores them by point id. A point whose worker dies is retried on another worker; the
LocalCluster gives up after the second death (an external scheduler after its own
``distributed.scheduler.allowed-failures``) and the point is recorded as ``lost``.

``distributed`` is imported only when a cluster is used: importing this module has no
process-wide effects.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archsim.errors import Problem, UserError
from archsim.sweep.point import PointRecord, PointStatus, PointTask, failed_record, run_point

Runner = Callable[[PointTask], PointRecord]
"""Runs one task; must be importable by workers (a module-level function)."""
OnRecord = Callable[[PointRecord], None]

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
CONNECT_TIMEOUT_S = 10
LOCAL_SCHEDULER_CONFIG = {
    # A point is lost when its worker dies a second time (Dask's default allows 3 deaths).
    "distributed.scheduler.allowed-failures": 1,
    # Hand each worker thread one point at a time, so a worker that dies takes down only
    # the point it was running, not others queued on it.
    "distributed.scheduler.worker-saturation": 1.0,
    # The statistical profiler samples the running thread every 10 ms; it slows points
    # down by 10-25 % (the GIL) and nobody looks at its dashboard here.
    "distributed.worker.profile.enabled": False,
}
"""Settings of the LocalCluster's scheduler and workers (set while it is created)."""


@dataclass(frozen=True)
class ClusterChoice:
    """Where to run: an existing scheduler (address or file) or a LocalCluster of ``workers``."""

    address: str | None = None
    scheduler_file: Path | None = None
    workers: int | None = None

    def describe(self) -> str:
        """Human-readable target, e.g. 'tcp://host:8786' or 'local cluster, 2 workers'."""
        if self.address is not None:
            return self.address
        if self.scheduler_file is not None:
            return f"scheduler file {self.scheduler_file}"
        return f"local cluster, {self.local_workers()} workers"

    def local_workers(self) -> int:
        """Workers of the LocalCluster: ``workers`` or one per core."""
        return self.workers or os.cpu_count() or 1


def choose_cluster(
    address: str | None, scheduler_file: str | Path | None, workers: int | None
) -> ClusterChoice:
    """The cluster to use; without an address or file, DASK_SCHEDULER_ADDRESS if set."""
    if address is None and scheduler_file is None:
        address = os.environ.get(SCHEDULER_ENV) or None
    if workers is not None and (address is not None or scheduler_file is not None):
        raise UserError(
            "the number of workers is the cluster's to decide: -j is only for the local cluster"
        )
    file = None if scheduler_file is None else Path(scheduler_file)
    return ClusterChoice(address, file, workers)


def run_serial(tasks: Sequence[PointTask], on_record: OnRecord, runner: Runner = run_point) -> None:
    """Run ``tasks`` one after the other in this process."""
    for task in tasks:
        on_record(runner(task))


def run_dask(
    tasks: Sequence[PointTask],
    on_record: OnRecord,
    cluster: ClusterChoice,
    runner: Runner = run_point,
) -> None:
    """Run ``tasks`` on Dask; ``on_record`` gets each record as its point completes."""
    with _client(cluster) as client:
        run_id = uuid.uuid4().hex[:8]
        by_key: dict[str, PointTask] = {}
        futures = []
        for task in tasks:
            key = f"archsim-point-{task.point}-{run_id}"
            by_key[key] = task
            futures.append(client.submit(runner, task, key=key, pure=False, retries=1))
        for future in _distributed().as_completed(futures):
            task = by_key[future.key]
            on_record(_record_of(future, task))
            future.release()


def _record_of(future: Any, task: PointTask) -> PointRecord:
    """The record a finished future holds; a lost or failed task becomes a record."""
    try:
        record = future.result()
    except _distributed().KilledWorker as error:
        message = RuntimeError(
            f"the worker running this point died repeatedly ({error.allowed_failures + 1} "
            "times); it may crash the process (segfault, out of memory)"
        )
        return failed_record(task, message, status=PointStatus.LOST)
    except Exception as error:  # noqa: BLE001 - e.g. the task could not be unpickled
        return failed_record(task, error)
    if not isinstance(record, PointRecord):
        return failed_record(task, TypeError(f"the runner returned {type(record).__name__}"))
    return record


@contextmanager
def _client(cluster: ClusterChoice) -> Iterator[Any]:
    """A connected ``distributed.Client``, with a LocalCluster if no scheduler is named."""
    import dask

    distributed = _distributed()
    if cluster.address is None and cluster.scheduler_file is None:
        with dask.config.set(LOCAL_SCHEDULER_CONFIG):  # read when the scheduler is created
            local = distributed.LocalCluster(
                n_workers=cluster.local_workers(),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        with local, distributed.Client(local) as client:
            yield client
        return
    try:
        if cluster.scheduler_file is not None:
            file = str(cluster.scheduler_file)
            client = distributed.Client(scheduler_file=file, timeout=CONNECT_TIMEOUT_S)
        else:
            client = distributed.Client(cluster.address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as error:
        raise UserError(
            Problem(f"cannot connect to the Dask scheduler: {error}", file=cluster.describe())
        ) from None
    with client:
        yield client


def _distributed() -> Any:
    """The ``distributed`` module, imported on first use (it configures logging on import)."""
    import distributed

    return distributed
