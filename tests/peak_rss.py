"""Peak RSS of a child process: for tests that bound how memory grows with a run's length."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_measured(command: list[str]) -> tuple[float, str]:
    """Run ``command`` in the repository; its own peak RSS in MiB and its stdout. Fails the
    test with the child's stderr when it exits non-zero."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)  # this process's own peak
        out.seek(0)
        err.seek(0)
        assert os.waitstatus_to_exitcode(status) == 0, err.read()
        stdout = out.read()
    scale = 1 / 2**20 if sys.platform == "darwin" else 1 / 2**10  # bytes / KiB
    return usage.ru_maxrss * scale, stdout


def tiny_stream_run(frames: int) -> list[str]:
    """``archsim run`` arguments of tiny_cnn 64x64 on edge_bus as a stream far beyond
    capacity, so frames queue up and wait on the frames before them."""
    return [
        "run",
        str(ROOT / "arch" / "edge_bus.yaml"),
        str(ROOT / "workloads" / "tiny_cnn.yaml"),
        "--input",
        "64x64",
        "--scenario",
        "stream",
        "--fps",
        "1000000",
        "--frames",
        str(frames),
    ]
