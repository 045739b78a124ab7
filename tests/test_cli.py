"""The archsim command line: every command run through click's CliRunner or a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from archsim.cli.main import cli, main
from archsim.config import load_workload
from archsim.workload import build_graph

ROOT = Path(__file__).resolve().parents[1]
EDGE_BUS = ROOT / "arch" / "edge_bus.yaml"
TINY_CNN = ROOT / "workloads" / "tiny_cnn.yaml"
SUMMARY_KEYS = {
    "archsim_version",
    "arch",
    "workload",
    "input",
    "batch",
    "precision",
    "seed",
    "latency_ps",
    "latency_ms",
    "throughput_fps",
    "peak_tops",
    "effective_tops",
    "mac_utilization",
    "total_macs",
    "dram_bytes_read",
    "dram_bytes_written",
    "stall_ps",
    "interconnect",
    "events",
    "wall_s",
    "trace",
}
STALL_CAUSES = {"dram", "interconnect", "sram", "dependency", "backpressure", "idle"}


def invoke(*args: str | Path) -> Result:
    """Run the CLI in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def run_json(*args: str | Path) -> dict:
    """`archsim run --json --no-trace` on edge_bus + tiny_cnn; the parsed summary."""
    result = invoke("run", EDGE_BUS, TINY_CNN, "--json", "--no-trace", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def edited_arch(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of edge_bus.yaml in tmp_path with ``old`` replaced by ``new``."""
    text = EDGE_BUS.read_text()
    assert old in text
    path = tmp_path / "arch.yaml"
    path.write_text(text.replace(old, new))
    return path


def assert_user_error(result: Result, *fragments: str) -> None:
    """Exit code 2, no traceback, and every fragment in stderr."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for fragment in fragments:
        assert fragment in result.stderr


def test_run_prints_a_human_summary_and_writes_the_default_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("run", EDGE_BUS, TINY_CNN)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tiny_cnn on edge_bus")
    for label in ("latency", "throughput", "TOPS", "MACs", "DRAM", "cluster time", "trace"):
        assert any(line.startswith(f"  {label} ") for line in lines), label
    trace = tmp_path / "traces" / "tiny_cnn-edge_bus-32x32-b1-int8.h5"
    assert trace.is_file()
    assert "traces/tiny_cnn-edge_bus-32x32-b1-int8.h5" in result.stdout


def test_run_on_a_deterministic_noc_reports_its_schedule() -> None:
    result = invoke("run", ROOT / "arch" / "edge_det.yaml", TINY_CNN, "--no-trace")
    assert result.exit_code == 0, result.output
    assert "  interconnect       deterministic: " in result.stdout
    assert "  schedule " in result.stdout


def test_run_json_prints_one_object_with_the_summary_keys() -> None:
    summary = run_json()
    assert SUMMARY_KEYS <= summary.keys()
    assert set(summary["stall_ps"]) == STALL_CAUSES
    assert {"kind", "mean_link_utilization", "contention_ps"} <= summary["interconnect"].keys()
    assert summary["trace"] is None
    assert (summary["arch"], summary["workload"], summary["seed"]) == ("edge_bus", "tiny_cnn", 0)


def test_run_out_writes_exactly_that_file(tmp_path: Path) -> None:
    out = tmp_path / "x.h5"
    result = invoke("run", EDGE_BUS, TINY_CNN, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["trace"] == str(out)
    assert list(tmp_path.iterdir()) == [out]


def test_run_no_trace_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("run", EDGE_BUS, TINY_CNN, "--no-trace")
    assert result.exit_code == 0, result.output
    assert "latency" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_run_options_reach_the_summary() -> None:
    summary = run_json("--input", "64x48", "--batch", "2", "--precision", "bf16", "--seed", "3")
    assert (summary["input"], summary["batch"], summary["precision"], summary["seed"]) == (
        "64x48",
        2,
        "bf16",
        3,
    )


@pytest.mark.parametrize(
    ("override", "key", "expected"),
    [
        ("workload.batch=2", "batch", 2),
        ("batch=2", "batch", 2),
        ("arch.name=foo", "arch", "foo"),
        ("workload.name=bar", "workload", "bar"),
    ],
)
def test_run_set_overrides_route_to_the_right_file(
    override: str, key: str, expected: object
) -> None:
    assert run_json("--set", override)[key] == expected


def test_run_set_arch_override_changes_the_hardware() -> None:
    summary = run_json("--set", "sram.banks=8", "--set", "sram.bank_kib=256")
    assert summary["sram_capacity_bytes"] == 8 * 256 * 1024


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("name=x", ("arch.name=x", "workload.name=x")),
        ("foo.bar=1", ("unknown top-level key 'foo'", "mac_clusters", "layers")),
        ("sram.banks", ("expected KEY=VALUE",)),
    ],
)
def test_run_rejects_unroutable_overrides(override: str, fragments: tuple[str, ...]) -> None:
    result = invoke("run", EDGE_BUS, TINY_CNN, "--no-trace", "--set", override)
    assert result.exit_code == 2
    assert "--set" in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def test_run_reports_a_bad_override_value_against_set() -> None:
    result = invoke("run", EDGE_BUS, TINY_CNN, "--no-trace", "--set", "sram.banks=-1")
    assert_user_error(result, "error: --set: sram.banks:")


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ("  banks: 16\n", "  banks: 16\n  bankz: 2\n", "sram.bankz", "did you mean 'banks'"),
        ("ports_per_bank: 2", "ports_per_bank: two", "sram.ports_per_bank", "valid integer"),
        ("bank_kib: 512", "bank_kib: -512", "sram.bank_kib", "-512"),
        ("  rows: 32 ", "  rows: 32\n  rows: 16 ", "mac_clusters.rows", "duplicate key"),
    ],
)
def test_run_reports_arch_errors_with_location(
    tmp_path: Path, old: str, new: str, key: str, message: str
) -> None:
    arch = edited_arch(tmp_path, old, new)
    edited_line = new.splitlines()[-1]
    line = next(n for n, text in enumerate(arch.read_text().splitlines(), 1) if edited_line in text)
    out = tmp_path / "t.h5"
    result = invoke("run", arch, TINY_CNN, "--out", out)
    assert_user_error(result, f"error: {arch}:{line}:3: {key}: ", message)
    assert not out.exists()


def test_run_reports_a_missing_producer(tmp_path: Path) -> None:
    workload = tmp_path / "workload.yaml"
    text = TINY_CNN.read_text().replace("[pw, pool1]", "[pw, pool9]")
    workload.write_text(text)
    line = text.splitlines().index(next(row for row in text.splitlines() if "pool9" in row)) + 1
    out = tmp_path / "t.h5"
    result = invoke("run", EDGE_BUS, workload, "--out", out)
    assert_user_error(result, f"workload.yaml:{line}:", "layers.4.inputs.1:", "'pool9'")
    assert not out.exists()


def test_run_reports_a_missing_file(tmp_path: Path) -> None:
    out = tmp_path / "t.h5"
    result = invoke("run", tmp_path / "nope.yaml", TINY_CNN, "--out", out)
    assert_user_error(result, "nope.yaml: file not found")
    assert not out.exists()


def test_run_reports_a_workload_no_tiling_fits(tmp_path: Path) -> None:
    # one output of a 3x3x64 conv needs 576 inputs and 576 weights: more than 512 B
    arch = edited_arch(tmp_path, "local_buffer_kib: 256", "local_buffer_kib: 1")
    out = tmp_path / "t.h5"
    result = invoke("run", arch, ROOT / "workloads" / "resnet50.yaml", "--out", out)
    assert_user_error(
        result, "resnet50.yaml:16:5: layers.3:", "'layer1.0.conv2'", "local_buffer_kib"
    )
    assert not out.exists()


def test_run_reports_an_unsupported_precision(tmp_path: Path) -> None:
    arch = edited_arch(tmp_path, "    bf16: 0.5\n", "")
    out = tmp_path / "t.h5"
    result = invoke("run", arch, TINY_CNN, "--precision", "bf16", "--out", out)
    assert_user_error(result, "bf16 is not supported", "mac_clusters.mac_rate")
    assert not out.exists()


@pytest.mark.parametrize("size", ["224", "axb", "0x32", "32x", "32x32x3", "32X32"])
def test_run_rejects_a_malformed_input_size(tmp_path: Path, size: str) -> None:
    out = tmp_path / "t.h5"
    result = invoke("run", EDGE_BUS, TINY_CNN, "--input", size, "--out", out)
    assert result.exit_code == 2
    assert "--input" in result.stderr and "WIDTHxHEIGHT" in result.stderr
    assert not out.exists()


def test_run_reports_an_input_size_the_workload_rejects(tmp_path: Path) -> None:
    result = invoke("run", EDGE_BUS, TINY_CNN, "--input", "64x49", "--no-trace")
    assert_user_error(result, "--input", "multiple_of")


def test_run_reports_an_unwritable_trace_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = invoke("run", EDGE_BUS, TINY_CNN, "--out", blocker / "x.h5")
    assert_user_error(result, "cannot write the trace")


def test_run_rejects_out_with_no_trace(tmp_path: Path) -> None:
    result = invoke("run", EDGE_BUS, TINY_CNN, "--out", tmp_path / "x.h5", "--no-trace")
    assert result.exit_code == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("raised", "exit_code"), [(KeyboardInterrupt(), 130), (RuntimeError("bug"), 1)]
)
def test_run_interrupts_exit_130_and_bugs_keep_their_exception(
    monkeypatch: pytest.MonkeyPatch, raised: BaseException, exit_code: int
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setattr("archsim.cli.run.simulate", fail)
    result = invoke("run", EDGE_BUS, TINY_CNN, "--no-trace")
    assert result.exit_code == exit_code
    if isinstance(raised, RuntimeError):
        assert result.exception is raised
    else:
        assert "interrupted" in result.stderr


def test_validate_accepts_every_shipped_config() -> None:
    files = sorted((ROOT / "arch").glob("*.yaml")) + sorted((ROOT / "workloads").glob("*.yaml"))
    result = invoke("validate", *files)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(files)
    assert all(line.startswith(f"{path}: ok (") for line, path in zip(lines, files, strict=True))
    tiny = build_graph(load_workload(TINY_CNN))
    summary = f"{len(tiny.layers)} layers, {tiny.total_macs:,} MACs"
    assert f"{TINY_CNN}: ok (workload tiny_cnn, {summary})" in lines
    assert f"{EDGE_BUS}: ok (arch edge_bus)" in lines


def test_validate_reports_every_bad_file_and_goes_on(tmp_path: Path) -> None:
    bad_arch = edited_arch(tmp_path, "ports_per_bank: 2", "ports_per_bank: two")
    other = tmp_path / "other.yaml"
    other.write_text("name: x\n")
    result = invoke("validate", bad_arch, EDGE_BUS, other)
    assert_user_error(result, "sram.ports_per_bank", "cannot tell whether this is an architecture")
    assert result.stdout == f"{EDGE_BUS}: ok (arch edge_bus)\n"


def test_validate_builds_the_workload_graph(tmp_path: Path) -> None:
    workload = tmp_path / "w.yaml"
    workload.write_text(TINY_CNN.read_text().replace("multiple_of: 8", "multiple_of: 3"))
    assert_user_error(invoke("validate", workload), "w.yaml", "multiple_of")


@pytest.mark.parametrize("kind", ["arch", "workload"])
def test_schema_prints_json(kind: str) -> None:
    result = invoke("schema", kind)
    assert result.exit_code == 0, result.output
    assert "properties" in json.loads(result.stdout)


def test_schema_rejects_an_unknown_kind() -> None:
    assert invoke("schema", "foo").exit_code == 2


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert "0.1.0" in result.stdout


def test_main_returns_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "arch"]) == 0
    assert main(["schema", "foo"]) == 2
    assert main(["run", "missing.yaml", str(TINY_CNN), "--no-trace"]) == 2
    assert "error: missing.yaml: file not found" in capsys.readouterr().err


def test_python_m_archsim_reports_user_errors_without_traceback(tmp_path: Path) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "archsim", "run", str(EDGE_BUS), str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert process.returncode == 2
    assert "Traceback" not in process.stderr
    assert "nope.yaml: file not found" in process.stderr
    assert process.stdout == ""
