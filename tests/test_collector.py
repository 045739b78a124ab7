"""The collector pause around program building restores the collector's state, also when
pauses nest or a build fails; the ``archsim`` process keeps the collector off while it
starts, then freezes start-up's objects and turns it on again, except for the commands that
end after one run."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from archsim.cli.main import COMMANDS, main
from archsim.collector import collector_paused

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def collector_enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


@pytest.mark.usefixtures("collector_enabled")
def test_nested_pauses_restore_the_collector_when_the_last_ends() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_enabled")
def test_a_failing_body_restores_the_collector() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("mapping failed")
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_enabled")
def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def _collector_at_exit(*args: str) -> tuple[int, dict[str, object]]:
    """Run ``archsim ARGS`` through the console script's entry point; its exit code and
    the collector's state when it exits (written by an atexit handler to stderr)."""
    code = textwrap.dedent(
        f"""
        import atexit, gc, json, sys
        atexit.register(lambda: sys.stderr.write("\\n" + json.dumps(
            {{"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}})))
        sys.argv = ["archsim", *{list(args)!r}]
        from archsim.cli.main import console_main
        console_main()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    return done.returncode, json.loads(done.stderr.strip().splitlines()[-1])


def test_a_run_command_keeps_the_collector_off_to_its_end_with_start_up_frozen() -> None:
    code, state = _collector_at_exit(
        "run", "--no-trace", "--json", "--quiet", "arch/edge_bus.yaml", "workloads/tiny_cnn.yaml"
    )
    assert code == 0
    assert state["enabled"] is False
    assert isinstance(state["frozen"], int) and state["frozen"] > 10_000  # modules, classes


def test_other_commands_turn_the_collector_on_after_start_up() -> None:
    code, state = _collector_at_exit("validate", "arch/edge_bus.yaml")
    assert code == 0
    assert state["enabled"] is True
    assert isinstance(state["frozen"], int) and state["frozen"] > 10_000
    code, state = _collector_at_exit("validate", "missing.yaml")  # a user error: exit 2
    assert code == 2
    assert state["enabled"] is True


def test_only_single_run_commands_keep_the_collector_off() -> None:
    kept_off = sorted(name for name, entry in COMMANDS.items() if entry.ends_after_one_run)
    assert kept_off == ["compare", "map", "run"]  # not sweep or bench: many runs


@pytest.mark.usefixtures("collector_enabled")
def test_main_called_in_process_leaves_the_collector_alone(capsys) -> None:
    frozen = gc.get_freeze_count()
    assert main(["validate", str(ROOT / "arch" / "edge_bus.yaml")]) == 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
