"""A sweep killed with SIGKILL mid-way and resumed gives the table of an uninterrupted run."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from archsim.sweep import WALL_TIME_COLUMNS, read_results, sweep

ROOT = Path(__file__).resolve().parents[1]
EDGE_MESH = ROOT / "arch" / "edge_mesh.yaml"
TINY_CNN = ROOT / "workloads" / "tiny_cnn.yaml"
POINTS = 24
KILL_AFTER = 3
TIMEOUT_S = 60


def write_spec(folder: Path) -> Path:
    """24 tiny_cnn points of ~0.1 s each (with traces): slow enough to kill mid-way."""
    path = folder / "kill.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: kill
            arch: {EDGE_MESH}
            workload: {TINY_CNN}
            set:
              arch.interconnect.attach: null
            factors:
              arch.mac_clusters.count: [2, 4, 8, 16]
              arch.sram.banks: [8, 16, 32]
              run.input: [384x384, 512x512]
            """
        )
    )
    return path


def records(out: Path) -> list[Path]:
    return sorted((out / "points").glob("*.json")) if (out / "points").is_dir() else []


def test_kill_and_resume_gives_the_uninterrupted_table(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    killed_out = tmp_path / "killed"
    command = [sys.executable, "-m", "archsim.sweep", str(spec), "--serial", "-q"]
    process = subprocess.Popen(
        [*command, "--out", str(killed_out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while len(records(killed_out)) < KILL_AFTER and process.poll() is None:
            assert time.monotonic() < deadline, "the sweep did not start"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=TIMEOUT_S)
        assert process.stderr is not None
        stderr = process.stderr.read().decode()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL, stderr
    done = len(records(killed_out))
    assert KILL_AFTER <= done < POINTS
    assert not (killed_out / "results.h5").exists()

    resumed = subprocess.run(
        [*command, "--resume", "--out", str(killed_out)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"ran {POINTS - done}, kept {done}" in resumed.stdout

    uninterrupted = sweep(spec, serial=True, out=tmp_path / "whole")
    assert uninterrupted.counts["ok"] > 0
    after_resume = read_results(killed_out).without(WALL_TIME_COLUMNS)
    assert after_resume == uninterrupted.table.without(WALL_TIME_COLUMNS)
    assert not list(killed_out.rglob("*.tmp"))
