"""Running sweeps in-process (--serial): records, the results table and its files, failing
points, resume, and the `sweep` / `sweep-report` commands."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import h5py
import pytest
from click.testing import CliRunner, Result

from archsim.cli.main import ArchsimGroup
from archsim.cli.sweep import sweep as sweep_command
from archsim.cli.sweep_report import sweep_report
from archsim.sweep import WALL_TIME_COLUMNS, PointStatus, SweepResult, read_results, sweep
from archsim.sweep.__main__ import main as module_main

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "sweeps" / "tiny_smoke.yaml"
EDGE_MESH = ROOT / "arch" / "edge_mesh.yaml"
TINY_CNN = ROOT / "workloads" / "tiny_cnn.yaml"

# The group `archsim.cli.main` registers the sweep commands on (user errors -> exit code 2).
cli = ArchsimGroup(commands={"sweep": sweep_command, "sweep-report": sweep_report})


def invoke(*args: str | Path) -> Result:
    """Run a sweep command in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(cli, [str(arg) for arg in args])


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> SweepResult:
    """tiny_smoke.yaml run in-process once for the module."""
    return sweep(SMOKE, serial=True, out=tmp_path_factory.mktemp("smoke"))


def failing_spec(tmp_path: Path) -> Path:
    """tiny_cnn at 32x32 (fine) and 36x36 (not a multiple of 8), int8 and fp32 (unsupported)."""
    path = tmp_path / "failing.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: failing
            arch: {EDGE_MESH}
            workload: {TINY_CNN}
            set:
              arch.mac_clusters.mac_rate: {{int8: 1.0}}
              workload.input.multiple_of: 8
            factors:
              run.input: [32x32, 36x36]
              run.precision: [int8, fp32]
            """
        )
    )
    return path


def test_the_table_has_one_row_per_point_with_factors_status_and_flat_metrics(
    smoke: SweepResult,
) -> None:
    table = smoke.table
    assert table.columns[:9] == (
        "point",
        "arch.interconnect.kind",
        "arch.interconnect.mesh",
        "arch.mac_clusters.count",
        "arch.sram.banks",
        "status",
        "error",
        "point_wall_s",
        "trace",
    )
    assert {"latency_ms", "throughput_fps", "stall_ps.dram", "interconnect.contention_ps"} <= set(
        table.metrics
    )
    assert "interconnect.late_transfers" in table.columns  # reported by the deterministic NoC only
    assert table.column("point") == list(range(8))
    assert set(table.column("status")) == {"ok"}
    assert table.column("arch.interconnect.kind") == ["bus"] * 4 + ["deterministic"] * 4
    assert table.column("arch.interconnect.mesh")[:2] == [None, None]
    assert table.column("arch.interconnect.mesh")[4] == '{"cols": 4, "rows": 4}'
    assert table.column("interconnect.late_transfers")[0] is None
    assert table.column("interconnect.kind") == table.column("arch.interconnect.kind")
    assert table.column("sram_capacity_bytes")[:2] == [8 * 512 * 1024, 16 * 512 * 1024]
    for record, row in zip(smoke.records, table.rows, strict=True):
        assert record.summary is not None
        assert row["stall_ps.dram"] == record.summary["stall_ps"]["dram"]
        assert row["latency_ps"] == record.summary["latency_ps"]
    assert smoke.counts == {"ok": 8, "error": 0, "lost": 0}
    assert (smoke.ran, smoke.skipped) == (8, 0)


def test_point_files_and_results_files(smoke: SweepResult) -> None:
    out = smoke.out_dir
    for point in range(8):
        record = json.loads((out / "points" / f"{point:04d}.json").read_text())
        assert record["status"] == "ok" and record["trace"] == f"points/{point:04d}.h5"
        assert (out / record["trace"]).is_file()
    assert not list(out.rglob("*.tmp"))
    assert read_results(out) == smoke.table
    lines = smoke.results_csv.read_text().splitlines()
    assert lines[0].split(",") == list(smoke.table.columns)
    assert len(lines) == 9
    with h5py.File(smoke.sweep_h5, "r") as index:
        assert index.attrs["points_ok"] == 8
        assert index.attrs["name"] == "tiny_smoke"
        assert "factors:" in index.attrs["spec_yaml"]
        link = index["points"].get("0003", getlink=True)
        assert isinstance(link, h5py.ExternalLink) and link.filename == "points/0003.h5"
        assert "transfers" in index["points/0003"]
        assert list(index["results"].attrs["columns"]) == list(smoke.table.columns)


def test_a_failing_point_is_recorded_and_the_others_complete(tmp_path: Path) -> None:
    spec = failing_spec(tmp_path)
    result = sweep(spec, serial=True, traces=False, out=tmp_path / "out")
    statuses = [record.status for record in result.records]
    assert statuses == [PointStatus.OK, PointStatus.ERROR, PointStatus.ERROR, PointStatus.ERROR]
    unsupported, bad_size = result.records[1], result.records[2]
    # Run-time errors in values the sweep supplied point at the sweep file.
    assert unsupported.error_type == "ConfigError"
    assert (unsupported.error or "").startswith(
        f"{spec}:5:3: set.arch.mac_clusters.mac_rate: precision fp32 is not supported"
    )
    assert bad_size.error_type == "ConfigError"
    assert f"{spec}:8:22: factors.run.input.1: input.width: input width 36 is not a multiple" in (
        bad_size.error or ""
    )
    row = result.table.rows[2]
    assert row["status"] == "error" and row["latency_ms"] is None
    assert "is not a multiple of input.multiple_of = 8" in str(row["error"])


def test_resume_reruns_only_missing_lost_or_changed_points(smoke: SweepResult) -> None:
    out = smoke.out_dir
    before = smoke.table.without(WALL_TIME_COLUMNS)
    (out / "points" / "0003.json").unlink()
    (out / "points" / "0005.h5").unlink()
    (out / "points" / "0006.json").write_text("{not json")
    lost = json.loads((out / "points" / "0001.json").read_text())
    (out / "points" / "0001.json").write_text(json.dumps({**lost, "status": "lost"}))
    resumed = sweep(SMOKE, serial=True, resume=True, out=out)
    assert (resumed.ran, resumed.skipped) == (4, 4)
    assert resumed.table.without(WALL_TIME_COLUMNS) == before
    assert read_results(out).without(WALL_TIME_COLUMNS) == before


def test_resume_reruns_points_whose_configuration_changed(tmp_path: Path) -> None:
    spec = failing_spec(tmp_path)
    out = tmp_path / "out"
    sweep(spec, serial=True, traces=False, out=out)
    again = sweep(spec, serial=True, traces=False, resume=True, out=out)
    assert (again.ran, again.skipped) == (0, 4)
    spec.write_text(spec.read_text().replace("{int8: 1.0}", "{int8: 1.0, fp32: 0.25}"))
    changed = sweep(spec, serial=True, traces=False, resume=True, out=out)
    assert (changed.ran, changed.skipped) == (4, 0)
    assert changed.records[1].status is PointStatus.OK


def test_no_traces_keeps_summaries_only(tmp_path: Path) -> None:
    result = sweep(SMOKE, serial=True, traces=False, out=tmp_path)
    assert not list((tmp_path / "points").glob("*.h5"))
    assert set(result.table.column("trace")) == {None}
    with h5py.File(result.sweep_h5, "r") as index:
        assert list(index["points"]) == []


def test_a_fresh_run_replaces_old_point_files(tmp_path: Path) -> None:
    (tmp_path / "points").mkdir()
    (tmp_path / "points" / "0042.json").write_text("{}")
    (tmp_path / "points" / "0000.h5.tmp").write_text("partial")
    (tmp_path / "notes.txt").write_text("mine")
    sweep(failing_spec(tmp_path), serial=True, traces=False, out=tmp_path)
    names = sorted(path.name for path in (tmp_path / "points").iterdir())
    assert names == ["0000.json", "0001.json", "0002.json", "0003.json"]
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_sweep_command_runs_serial_and_reports(tmp_path: Path) -> None:
    result = invoke("sweep", SMOKE, "-j", "1", "--serial", "--no-traces", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "tiny_smoke: 8 points (8 ok); ran 8, kept 0" in result.stdout
    assert f"results: {tmp_path / 'results.csv'}" in result.stdout
    assert "8 of 8 points to run in-process" in result.stderr
    again = invoke("sweep", SMOKE, "--serial", "--no-traces", "--resume", "-q", "--out", tmp_path)
    assert again.exit_code == 0, again.output
    assert "ran 0, kept 8" in again.stdout

    report = invoke(
        "sweep-report", tmp_path, "--sort", "latency_ms", "--descending",
        "--x", "arch.sram.banks", "--y", "throughput_fps", "--group", "arch.interconnect.kind",
    )  # fmt: skip
    assert report.exit_code == 0, report.output
    lines = report.stdout.splitlines()
    assert lines[0].split()[:5] == [
        "point",
        "interconnect.kind",
        "mac_clusters.count",
        "sram.banks",
        "status",
    ]
    latencies = [float(line.split()[5]) for line in lines[2:10]]
    assert latencies == sorted(latencies, reverse=True)
    plots = sorted(path.name for path in (tmp_path / "plots").glob("*.png"))
    assert plots == [
        "pareto_fps_vs_area.png",
        "pareto_fps_vs_dram_bytes.png",
        "pareto_fps_vs_energy.png",
        "throughput_fps_vs_sram.banks_by_interconnect.kind.png",
    ]
    assert all((tmp_path / "plots" / name).stat().st_size > 10_000 for name in plots)


def test_sweep_command_dry_run_lists_points(tmp_path: Path) -> None:
    result = invoke("sweep", SMOKE, "--dry-run", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"sweep tiny_smoke: 8 points -> {tmp_path / 'out'}"
    assert "point 7 (arch.interconnect.kind=deterministic" in result.stdout
    assert not (tmp_path / "out").exists()


def test_sweep_command_user_errors_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"name: bad\narch: {EDGE_MESH}\nworkload: {TINY_CNN}\nfactors:\n  sram.banks: [8]\n"
    )
    result = invoke("sweep", bad, "--serial")
    assert result.exit_code == 2
    assert f"error: {bad}:5:3: factors.sram.banks: unknown key 'sram.banks'" in result.stderr
    assert module_main([str(bad), "--serial"]) == 2
    usage = invoke("sweep", SMOKE, "--serial", "--scheduler", "tcp://127.0.0.1:1")
    assert usage.exit_code == 2 and "--serial runs in-process" in usage.stderr
    report = invoke("sweep-report", tmp_path)
    assert report.exit_code == 2 and "no results.h5 here" in report.stderr


def test_sweep_report_rejects_unknown_columns(smoke: SweepResult) -> None:
    result = invoke("sweep-report", smoke.out_dir, "--sort", "latency", "--no-plots")
    assert result.exit_code == 2
    assert "no column 'latency'" in result.stderr
