"""The shipped example scripts and the Python examples of docs/TRACES.md run as documented."""

from __future__ import annotations

import csv
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import archsim

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DOC = ROOT / "docs" / "TRACES.md"
NEEDS_PANDAS = "# requires pandas"


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A Python script in a subprocess; fails the test with its output if it fails."""
    done = subprocess.run(
        [sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with traces/tiny.h5 (edge_bus) and traces/tiny-mesh.h5 (edge_mesh)."""
    folder = tmp_path_factory.mktemp("examples")
    workload = ROOT / "workloads" / "tiny_cnn.yaml"
    for arch, name in (("edge_bus", "tiny"), ("edge_mesh", "tiny-mesh")):
        archsim.simulate(
            ROOT / "arch" / f"{arch}.yaml", workload, trace_path=folder / "traces" / f"{name}.h5"
        )
    return folder


def test_every_example_is_tested() -> None:
    tested = {"stall_breakdown", "compare_layers", "utilization_timeline", "sweep_results"}
    assert {path.stem for path in EXAMPLES.glob("*.py")} == tested


def test_stall_breakdown(traces: Path) -> None:
    out = run(
        EXAMPLES / "stall_breakdown.py", "traces/tiny.h5", "traces/tiny-mesh.h5", cwd=traces
    ).stdout
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["trace", "busy", "dram"] and len(lines) == 3
    shares = [float(cell.rstrip("%")) for cell in lines[1].split()[1:8]]
    assert sum(shares) == pytest.approx(100, abs=7 * 0.05)  # seven shares, each rounded to 0.1


def test_compare_layers(traces: Path) -> None:
    out = run(
        EXAMPLES / "compare_layers.py",
        "traces/tiny.h5",
        "traces/tiny-mesh.h5",
        "--sort",
        "change",
        cwd=traces,
    ).stdout
    assert "stem" in out and "latency" in out
    assert sum(line.startswith("*") for line in out.splitlines()) == 5


def test_utilization_timeline(traces: Path) -> None:
    run(EXAMPLES / "utilization_timeline.py", "traces/tiny.h5", cwd=traces)
    assert (traces / "traces" / "tiny-utilization.png").read_bytes().startswith(b"\x89PNG")
    run(EXAMPLES / "utilization_timeline.py", "traces/tiny.h5", "-o", "u.png", cwd=traces)
    assert (traces / "u.png").stat().st_size > 10_000


def test_sweep_results(tmp_path: Path) -> None:
    columns = [
        "arch.sram.banks",
        "workload.batch",
        "archsim_version",
        "latency_ms",
        "throughput_fps",
        "status",
        "error",
        "wall_s",
    ]
    rows = [
        [8, 1, "0.1.0", 2.5, 400.0, "ok", "", 1.2],
        [16, 1, "0.1.0", 1.5, 666.7, "ok", "", 1.1],
        [4, 2, "", "", "", "error", "SramOverflowError: does not fit", 0.2],
        [32, 1, "0.1.0", 1.9, 526.3, "ok", "", 1.0],
    ]
    with open(tmp_path / "results.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)
    out = run(EXAMPLES / "sweep_results.py", "results.csv", cwd=tmp_path).stdout.splitlines()
    assert out[0].split() == ["arch.sram.banks", "workload.batch", "latency_ms", "wall_s"]
    assert [line.split()[0] for line in out[1:4]] == ["16", "32", "8"]  # by latency, ascending
    assert "3 ok point(s) sorted by latency_ms (ascending); 1 failed" in out[4]
    assert "SramOverflowError" in out[5]
    out = run(
        EXAMPLES / "sweep_results.py",
        "results.csv",
        "--sort",
        "throughput_fps",
        "--descending",
        "--top",
        "1",
        cwd=tmp_path,
    ).stdout
    assert out.splitlines()[1].split()[0] == "16"


def test_sweep_results_reads_the_sweep_layout(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("sweep_results", EXAMPLES / "sweep_results.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    columns = ["point", "arch.interconnect.kind", "status", "error", "point_wall_s", "latency_ms"]
    assert module.factor_columns(columns) == ["arch.interconnect.kind"]


def test_docs_python_examples_run(traces: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 6
    if importlib.util.find_spec("pandas") is None:
        blocks = [block for block in blocks if not block.startswith(NEEDS_PANDAS)]
    script = traces / "doc_examples.py"
    script.write_text("\n\n".join(blocks))
    out = run(script, cwd=traces).stdout
    assert "corrupt or truncated trace" in out and "['report.txt', 'report.html']" in out
