"""The ``archsim`` process ends with a fast exit that keeps what a normal exit guarantees:
flushed output, atexit handlers, the exit code; with a profiler, tracer or another thread
it takes the normal exit."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_output_is_flushed_and_atexit_handlers_run_before_the_exit_code() -> None:
    done = _python(
        """
        import atexit, sys
        from archsim.cli.fast_exit import exit_now
        atexit.register(lambda: print("handler", flush=False))
        print("buffered", end=" ")
        sys.stderr.write("to stderr")
        try:
            exit_now(3)
        finally:
            print("teardown")  # a normal exit would run this; os._exit does not
        """
    )
    assert done.returncode == 3
    assert done.stdout == "buffered handler\n"
    assert done.stderr == "to stderr"


def test_a_profiler_or_a_tracer_gets_the_normal_exit() -> None:
    for install in ("sys.setprofile(lambda *a: None)", "sys.settrace(lambda *a: None)"):
        done = _python(
            f"""
            import sys
            from archsim.cli.fast_exit import exit_now
            {install}
            try:
                exit_now(4)
            finally:
                print("teardown")
            """
        )
        assert done.returncode == 4
        assert done.stdout == "teardown\n"


def test_a_running_thread_gets_the_normal_exit_which_waits_for_it() -> None:
    done = _python(
        """
        import threading, time
        from archsim.cli.fast_exit import exit_now
        def late():
            time.sleep(0.2)
            print("thread done")
        threading.Thread(target=late).start()
        exit_now(0)
        """
    )
    assert done.returncode == 0
    assert done.stdout == "thread done\n"


def test_the_console_script_prints_its_whole_summary_and_keeps_exit_codes(
    tmp_path: Path,
) -> None:
    command = [sys.executable, "-m", "archsim", "run", "--json", "--quiet", "--no-trace"]
    done = subprocess.run(
        [*command, str(ROOT / "arch" / "edge_bus.yaml"), str(ROOT / "workloads" / "tiny_cnn.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["total_macs"] == summary["workload_macs"] > 0
    missing = subprocess.run(
        [sys.executable, "-m", "archsim", "validate", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert missing.returncode == 2
    assert "error:" in missing.stderr and "missing.yaml" in missing.stderr
