"""Peak RSS of a child process: for tests that bound how memory grows with a run's length.

The child reports its own peak. The parent's view of it (``os.wait4``, ``ru_maxrss``) is no
good here: on Linux a child's ``ru_maxrss`` keeps the high-water mark of the image it was
forked from, so under a test session of a few hundred MiB every child would seem as large
as the session and a bound on growth could never fail.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEAK_MARK = "peak-rss-kib:"
"""Prefix of the line the child writes last on stderr: its own peak RSS in KiB."""

_REPORT_PEAK = f"""
import atexit, resource, sys

def _report_peak() -> None:
    kib = None
    try:  # this process image's own high-water mark (Linux)
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    kib = int(line.split()[1])
    except OSError:
        pass
    if kib is None:  # bytes on macOS
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    sys.stderr.write("\\n{PEAK_MARK} %d\\n" % kib)

atexit.register(_report_peak)
"""


def archsim_command(*args: str, prelude: str = "") -> list[str]:
    """A child command that runs the ``archsim`` CLI with ``args`` (after the Python
    statements of ``prelude``) and reports its own peak RSS when it exits."""
    code = f"{_REPORT_PEAK}\n{prelude}\nfrom archsim.cli.main import cli\ncli(sys.argv[1:])\n"
    return [sys.executable, "-c", code, *args]


def run_measured(command: list[str]) -> tuple[float, str]:
    """Run ``command`` (from ``archsim_command``) in the repository; its own peak RSS in
    MiB and its stdout. Fails the test with the child's stderr when it exits non-zero."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.run(command, stdout=out, stderr=err, cwd=ROOT, check=False)
        out.seek(0)
        err.seek(0)
        stderr = err.read()
        assert child.returncode == 0, stderr
        stdout = out.read()
    reports = [line for line in stderr.splitlines() if line.startswith(PEAK_MARK)]
    assert reports, f"the child reported no peak RSS:\n{stderr}"
    return int(reports[-1].removeprefix(PEAK_MARK)) / 1024, stdout


def tiny_stream_run(frames: int, arch: str = "edge_bus") -> list[str]:
    """``archsim run`` arguments of tiny_cnn 64x64 on ``arch`` as a stream far beyond
    capacity, so frames queue up and wait on the frames before them."""
    return [
        "run",
        str(ROOT / "arch" / f"{arch}.yaml"),
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
