"""Sweeps on Dask distributed: the default LocalCluster, an existing scheduler on loopback
(--scheduler, DASK_SCHEDULER_ADDRESS), and a worker that dies."""

from __future__ import annotations

import logging
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import dask
import distributed
import pytest
from click.testing import CliRunner

from archsim.cli.main import ArchsimGroup
from archsim.cli.sweep import sweep as sweep_command
from archsim.sweep import WALL_TIME_COLUMNS, PointStatus, ResultsTable, execute, read_results, sweep
from archsim.sweep.execute import LOCAL_SCHEDULER_CONFIG
from archsim.sweep.point import PointRecord, PointTask, run_point

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "sweeps" / "tiny_smoke.yaml"
EDGE_MESH = ROOT / "arch" / "edge_mesh.yaml"
TINY_CNN = ROOT / "workloads" / "tiny_cnn.yaml"
CRASHING_POINT = 2


def comparable(table: ResultsTable) -> ResultsTable:
    """The table without columns that differ between identical runs (wall times)."""
    return table.without(WALL_TIME_COLUMNS)


@pytest.fixture(scope="module")
def scheduler_address() -> Iterator[str]:
    """A Dask scheduler with one worker process on 127.0.0.1, set up like the sweep's own."""
    with dask.config.set(LOCAL_SCHEDULER_CONFIG):
        cluster = distributed.LocalCluster(
            host="127.0.0.1",
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close(timeout=20)


@pytest.fixture(scope="module")
def mixed_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six tiny_cnn points; the two at 36x36 fail (not a multiple of 8)."""
    path = tmp_path_factory.mktemp("spec") / "mixed.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: mixed
            arch: {EDGE_MESH}
            workload: {TINY_CNN}
            set:
              arch.interconnect.attach: null
              workload.input.multiple_of: 8
            factors:
              arch.interconnect.kind: [mesh, deterministic]
              run.input: [32x32, 36x36, 64x64]
            """
        )
    )
    return path


@pytest.fixture(scope="module")
def serial_table(mixed_spec: Path, tmp_path_factory: pytest.TempPathFactory) -> ResultsTable:
    """The reference: the mixed sweep run in-process."""
    return sweep(mixed_spec, serial=True, out=tmp_path_factory.mktemp("serial")).table


def test_local_cluster_gives_the_serial_table(
    mixed_spec: Path, serial_table: ResultsTable, tmp_path: Path
) -> None:
    result = sweep(mixed_spec, workers=2, out=tmp_path)
    assert comparable(result.table) == comparable(serial_table)
    assert comparable(read_results(tmp_path)) == comparable(serial_table)
    assert result.counts == {"ok": 4, "error": 2, "lost": 0}
    assert all(
        (tmp_path / str(record.trace)).is_file() for record in result.records if record.trace
    )


def test_scheduler_option_uses_an_existing_cluster(
    scheduler_address: str, mixed_spec: Path, serial_table: ResultsTable, tmp_path: Path
) -> None:
    cli = ArchsimGroup(commands={"sweep": sweep_command})
    args = ["sweep", str(mixed_spec), "--scheduler", scheduler_address, "--out", str(tmp_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"on {scheduler_address}" in result.stderr
    assert "mixed: 6 points (4 ok, 2 error)" in result.stdout
    assert "point 1 error: " in result.stderr and "not a multiple of" in result.stderr
    assert comparable(read_results(tmp_path)) == comparable(serial_table)


def test_scheduler_address_from_the_environment(
    scheduler_address: str,
    monkeypatch: pytest.MonkeyPatch,
    mixed_spec: Path,
    serial_table: ResultsTable,
    tmp_path: Path,
) -> None:
    def no_local_cluster(*args: object, **kwargs: object) -> None:
        raise AssertionError("a LocalCluster was started despite DASK_SCHEDULER_ADDRESS")

    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", scheduler_address)
    monkeypatch.setattr(distributed, "LocalCluster", no_local_cluster)
    result = sweep(mixed_spec, traces=False, out=tmp_path)
    expected = comparable(serial_table).without(["trace"])
    assert comparable(result.table).without(["trace"]) == expected


def test_an_unreachable_scheduler_is_a_user_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(execute, "CONNECT_TIMEOUT_S", 0.5)
    cli = ArchsimGroup(commands={"sweep": sweep_command})
    args = ["sweep", str(SMOKE), "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "error: tcp://127.0.0.1:9: cannot connect to the Dask scheduler" in result.stderr


def crash_on_one_point(task: PointTask) -> PointRecord:
    """A runner whose process dies (like a segfault) on one point."""
    if task.point == CRASHING_POINT:
        os._exit(13)
    return run_point(task)


def test_a_dying_worker_loses_only_its_point(
    scheduler_address: str, mixed_spec: Path, serial_table: ResultsTable, tmp_path: Path
) -> None:
    result = sweep(
        mixed_spec,
        scheduler=scheduler_address,
        traces=False,
        out=tmp_path,
        runner=crash_on_one_point,
    )
    statuses = [record.status for record in result.records]
    assert statuses.count(PointStatus.LOST) == 1
    lost = result.records[CRASHING_POINT]
    assert lost.status is PointStatus.LOST
    assert "worker running this point died" in (lost.error or "")
    others = [row for row in result.table.rows if row["point"] != CRASHING_POINT]
    expected = [row for row in serial_table.rows if row["point"] != CRASHING_POINT]
    assert [row["latency_ps"] for row in others] == [row["latency_ps"] for row in expected]
    # Resume reruns the lost point (here with the normal runner, on the restarted worker).
    resumed = sweep(
        mixed_spec, scheduler=scheduler_address, traces=False, resume=True, out=tmp_path
    )
    assert (resumed.ran, resumed.skipped) == (1, 5)
    assert resumed.records[CRASHING_POINT].status is PointStatus.OK
