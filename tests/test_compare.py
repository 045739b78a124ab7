"""``archsim compare``: table, JSON, PNG, and user errors (through the CLI's error handling)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

import archsim
from archsim.analysis.compare import (
    METRICS,
    LayerData,
    column_labels,
    metrics_for,
    ratio,
)
from archsim.analysis.compare_plot import align
from archsim.analysis.report import CAUSES
from archsim.cli.compare import compare_command
from archsim.cli.main import ArchsimGroup

ROOT = Path(__file__).resolve().parents[1]
MESH = ROOT / "arch" / "edge_mesh.yaml"
DET = ROOT / "arch" / "edge_det.yaml"
TINY = ROOT / "workloads" / "tiny_cnn.yaml"
PNG_NAME = "compare-edge_mesh-vs-edge_det-tiny_cnn.png"


def invoke(*args: str | Path) -> Result:
    """Run ``archsim compare`` as the CLI group would."""
    group = ArchsimGroup(commands=[compare_command])
    return CliRunner().invoke(group, ["compare", *(str(arg) for arg in args)])


def _without_wall(summary: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in summary.items() if key != "wall_s"}


def test_table_has_both_columns_and_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(MESH, DET, TINY)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(line for line in lines if line.strip().startswith("metric"))
    assert "edge_mesh" in header and "edge_det" in header and "edge_det/edge_mesh" in header
    labels = [m.label for m in METRICS] + ["reserved but unused", "mean flow bandwidth"]
    for label in [*labels, "epoch waits"]:
        assert any(line.strip().startswith(label) for line in lines), label
    png = tmp_path / "traces" / PNG_NAME
    assert png.stat().st_size > 1000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((tmp_path / "traces").iterdir()) == [png]  # traces went to a temporary folder


def test_json_matches_separate_runs(tmp_path: Path) -> None:
    result = invoke(MESH, DET, TINY, "--json", "--out", tmp_path, "--seed", "3")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    for key, arch in (("a", MESH), ("b", DET)):
        alone = archsim.simulate(arch, TINY, seed=3, trace=False).summary
        assert _without_wall(payload[key]) == _without_wall(alone)
    a, b = payload["a"], payload["b"]
    assert payload["ratios"]["latency_ps"] == pytest.approx(b["latency_ps"] / a["latency_ps"])
    assert payload["ratios"]["interconnect.epoch_wait_ps"] is None  # the mesh has none
    assert (tmp_path / PNG_NAME).read_bytes()[:4] == b"\x89PNG"
    assert Path(payload["traces"]["a"]).is_file() and Path(payload["traces"]["b"]).is_file()


def test_options_reach_both_runs(tmp_path: Path) -> None:
    result = invoke(
        MESH,
        DET,
        TINY,
        "--json",
        "--out",
        tmp_path,
        "--input",
        "48x48",
        "--set",
        "sram.bank_kib=1024",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    alone = archsim.simulate(
        archsim.config.load_arch(MESH, ["sram.bank_kib=1024"]),
        TINY,
        width=48,
        height=48,
        trace=False,
    ).summary
    assert _without_wall(payload["a"]) == _without_wall(alone)
    assert payload["b"]["input"] == "48x48"


def test_same_arch_name_uses_file_stems(tmp_path: Path) -> None:
    copy = tmp_path / "mesh_copy.yaml"
    copy.write_text(MESH.read_text())
    result = invoke(MESH, copy, TINY, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "mesh_copy/edge_mesh" in result.output
    assert (tmp_path / "compare-edge_mesh-vs-mesh_copy-tiny_cnn.png").is_file()


def test_missing_file_exits_2_without_traceback(tmp_path: Path) -> None:
    result = invoke(MESH, tmp_path / "nope.yaml", TINY, "--out", tmp_path)
    assert result.exit_code == 2
    assert "nope.yaml" in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_bad_set_key_exits_2(tmp_path: Path) -> None:
    result = invoke(MESH, DET, TINY, "--out", tmp_path, "--set", "nosuch.key=1")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_ratio_and_labels() -> None:
    assert ratio(2.0, 3.0) == 1.5
    assert ratio(0, 3.0) is None and ratio(None, 1.0) is None
    assert column_labels(("x", "y"), (Path("a.yaml"), Path("b.yaml"))) == ("x", "y")
    assert column_labels(("x", "x"), (Path("a.yaml"), Path("b.yaml"))) == ("a", "b")
    assert column_labels(("x", "x"), (Path("1/a.yaml"), Path("2/a.yaml"))) == ("A:a", "B:a")
    mesh = {"interconnect": {"kind": "mesh"}}
    assert metrics_for(mesh, mesh) == METRICS


def test_align_matches_layers_by_index() -> None:
    def layers(index: list[int], time: list[int]) -> LayerData:
        n = len(index)
        return LayerData(
            index=np.array(index),
            name=[f"l{i}" for i in index],
            time_ps=np.array(time),
            span_ps=np.array(time),
            stall_ps={c: np.ones(n, np.int64) for c in CAUSES},
        )

    aligned = align(layers([0, 2], [5, 7]), layers([0, 1, 2], [1, 2, 3]))
    assert aligned.index.tolist() == [0, 1, 2]
    assert aligned.time_ps[0].tolist() == [5, 0, 7]
    assert aligned.time_ps[1].tolist() == [1, 2, 3]
