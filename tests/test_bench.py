"""``archsim bench``: the matrix, the scorecard figures, serial vs Dask, the output files."""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ARCH_DIR, ROOT, WORKLOAD_DIR

from archsim.bench import plan_bench, run_bench
from archsim.bench.scorecard import COLUMNS
from archsim.cli.main import cli
from archsim.sweep.execute import ClusterChoice

TINY_BENCH = """\
name: tiny
description: two archs x two inputs of tiny_cnn
archs: [{bus}, {det}]
workloads:
  - file: {tiny}
    inputs: [32x32, 48x48]
"""


@pytest.fixture
def tiny_bench(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    text = TINY_BENCH.format(
        bus=ARCH_DIR / "edge_bus.yaml",
        det=ARCH_DIR / "edge_det.yaml",
        tiny=WORKLOAD_DIR / "tiny_cnn.yaml",
    )
    path.write_text(text, encoding="utf-8")
    return path


def comparable(rows: object) -> list[dict]:
    return [{k: v for k, v in row.cells.items() if k != "wall_s"} for row in rows]


def test_a_2x2_bench_gives_the_same_scorecard_serially_and_on_dask(
    tiny_bench: Path, tmp_path: Path
) -> None:
    serial = run_bench(tiny_bench, cluster=None, out=tmp_path / "serial")
    dask = run_bench(tiny_bench, cluster=ClusterChoice(workers=2), out=tmp_path / "dask")
    assert len(serial.rows) == 4
    assert all(row.ok for row in serial.rows)
    assert comparable(serial.rows) == comparable(dask.rows)
    assert [(row["arch"], row["input"]) for row in serial.rows] == [
        ("edge_bus", "32x32"),
        ("edge_bus", "48x48"),
        ("edge_det", "32x32"),
        ("edge_det", "48x48"),
    ]
    for out in (tmp_path / "serial", tmp_path / "dask"):
        with open(out / "scorecard.csv", encoding="utf-8") as handle:
            table = list(csv.DictReader(handle))
        assert list(table[0]) == list(COLUMNS)
        assert len(table) == 4
        page = (out / "scorecard.html").read_text(encoding="utf-8")
        assert page.count("data:image/png;base64,") == 3
        assert "edge_det" in page
        plots = sorted(path.name for path in (out / "plots").glob("*.png"))
        assert plots == [
            "fps-int8-single-as_given.png",
            "fps_per_w-int8-single-as_given.png",
            "tops_vs_dram-int8-single-as_given.png",
        ]
        assert all((out / "plots" / name).read_bytes()[:4] == b"\x89PNG" for name in plots)
        assert not list(out.rglob("*.tmp"))
        assert len(json.loads((out / "bench.json").read_text())["records"]) == 4


def test_scorecard_figures_follow_from_the_summary(tiny_bench: Path, tmp_path: Path) -> None:
    result = run_bench(tiny_bench, cluster=None, out=tmp_path)
    for row, record in zip(result.rows, result.records, strict=True):
        summary = record.summary
        assert summary is not None
        fps = summary["throughput_fps"]
        assert row["fps"] == fps
        assert row["latency_ms"] == summary["latency_ms"]
        assert row["peak_tops"] == pytest.approx(32.768)  # 16 x 32 x 32 MACs at 1 GHz
        assert row["fps_per_tops"] == pytest.approx(fps / 32.768)
        assert row["fps_per_dram_channel"] == fps  # one channel
        assert row["fps_per_w"] == pytest.approx(fps / summary["average_power_w"])
        assert row["fps_per_mm2"] == pytest.approx(fps / summary["area_mm2"])
        assert row["fps_per_cost"] == pytest.approx(fps / summary["die_cost"])
        assert 0 < row["mac_utilization"] <= 1


def test_corners_and_batches_multiply_the_matrix(tiny_bench: Path) -> None:
    plan = plan_bench(tiny_bench, overrides=["batches=[1, 2]", "corners=[typical, worst]"])
    assert len(plan.cases) == 16
    assert {case.values()["corner"] for case in plan.cases} == {"typical", "worst"}


def test_the_worst_corner_scores_lower(tiny_bench: Path, tmp_path: Path) -> None:
    result = run_bench(
        tiny_bench, cluster=None, out=tmp_path, overrides=["corners=[typical, worst]"]
    )
    rows = {(r["arch"], r["input"], r["corner"]): r for r in result.rows}
    for arch in ("edge_bus", "edge_det"):
        for size in ("32x32", "48x48"):
            typical, worst = rows[arch, size, "typical"], rows[arch, size, "worst"]
            assert worst["fps"] < typical["fps"]
            assert worst["peak_tops"] == typical["peak_tops"]  # the nominal datasheet figure
            assert worst["clock_mhz"] < typical["clock_mhz"]


def test_cli_bench_prints_the_scorecard_and_lists_cases(tiny_bench: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["bench", str(tiny_bench), "--dry-run", "--corner", "worst"])
    assert listed.exit_code == 0, listed.output
    assert "4 cases" in listed.output
    assert listed.output.count("corner=worst") == 4
    ran = runner.invoke(cli, ["bench", str(tiny_bench), "--serial", "-q", "--out", str(tmp_path)])
    assert ran.exit_code == 0, ran.output
    assert "bench tiny: 4 cases in-process" in ran.output
    assert "fps/DRAM ch" in ran.output
    assert (tmp_path / "scorecard.html").is_file()


def test_a_bad_bench_file_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: bad
            archs: [{ARCH_DIR / "edge_bus.yaml"}, missing.yaml]
            workloads:
              - file: {WORKLOAD_DIR / "tiny_cnn.yaml"}
                inputs: [32x32, big]
            batches: [0]
            """
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["bench", str(path), "--serial", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{path}:5" in result.output  # the input size
    assert f"{path}:6" in result.output  # batch 0
    assert not (tmp_path / "scorecard.csv").exists()


def test_shipped_bench_files_validate() -> None:
    for path in sorted((ROOT / "benches").glob("*.yaml")):
        plan = plan_bench(path)
        assert plan.cases, path
    seeds = plan_bench(ROOT / "benches" / "seeds.yaml")
    assert len(seeds.cases) == 9 * 4 * 2 * 2


def test_a_failing_case_is_recorded_and_the_others_go_on(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: mixed
            archs: [{ARCH_DIR / "edge_bus.yaml"}, {ARCH_DIR / "presets" / "eyeriss_v1.yaml"}]
            workloads:
              - file: {WORKLOAD_DIR / "tiny_cnn.yaml"}
            precisions: [bf16]
            """
        ),
        encoding="utf-8",
    )
    result = run_bench(path, cluster=None, out=tmp_path / "out")
    ok, failed = result.rows
    assert ok.ok and ok["fps"] > 0
    assert failed["status"] == "error" and failed["fps"] is None
    assert "bf16 is not supported" in str(failed["error"])
    text = (tmp_path / "out" / "scorecard.txt").read_text(encoding="utf-8")
    assert "point 1 error" in text


def test_a_scenario_case_scores_its_frames(tmp_path: Path) -> None:
    path = tmp_path / "offline.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: offline
            archs: [{ARCH_DIR / "multi_engine.yaml"}]
            workloads:
              - file: {WORKLOAD_DIR / "tiny_cnn.yaml"}
            scenarios: [null, {{kind: offline, frames: 4}}]
            """
        ),
        encoding="utf-8",
    )
    single, offline = run_bench(path, cluster=None, out=tmp_path / "out").rows
    assert single["scenario"] is None and single["latency_p99_ms"] is None
    assert offline["scenario"] == "offline"
    assert offline["latency_p99_ms"] >= offline["latency_ms"] > 0
    assert offline["fps"] > single["fps"]  # 4 engines run frames side by side
