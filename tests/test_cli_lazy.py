"""The lazy ``archsim`` group: every command listed with its own help, each command's module
imported only when it runs, so ``--help`` and ``validate`` start without the heavy libraries."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from archsim.cli.main import COMMANDS, ArchsimGroup, CommandEntry, cli

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("matplotlib", "dask", "distributed", "onnx", "h5py", "simpy", "numpy")


def _load(entry: CommandEntry) -> click.Command:
    command = getattr(importlib.import_module(entry.module), entry.attribute)
    assert isinstance(command, click.Command)
    return command


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_entry_names_its_command_and_its_help(name: str) -> None:
    command = _load(COMMANDS[name])
    assert command.name == name
    stand_in = click.Command(name, help=COMMANDS[name].help)
    for limit in range(20, 121):
        assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_the_command_list_is_the_one_of_the_loaded_commands() -> None:
    lazy = ArchsimGroup(name="archsim", help=cli.help, lazy_commands=COMMANDS)
    loaded = ArchsimGroup(
        name="archsim",
        help=cli.help,
        commands={name: _load(entry) for name, entry in COMMANDS.items()},
    )
    lazy_help = CliRunner().invoke(lazy, ["--help"])
    loaded_help = CliRunner().invoke(loaded, ["--help"])
    assert lazy_help.exit_code == loaded_help.exit_code == 0
    assert lazy_help.output == loaded_help.output
    assert all(f"  {name} " in lazy_help.output for name in COMMANDS)
    assert lazy.commands == {}  # listing imported nothing


def test_a_lazy_command_is_loaded_once_it_is_looked_up() -> None:
    group = ArchsimGroup(name="archsim", lazy_commands=COMMANDS)
    command = group.get_command(click.Context(group), "validate")
    assert command is not None and list(group.commands) == ["validate"]
    assert group.get_command(click.Context(group), "no-such-command") is None


def _imported_after(args: list[str]) -> list[str]:
    """The heavy modules a fresh process has imported after ``archsim ARGS``."""
    script = (
        "import contextlib, io, json, sys\n"
        "from archsim.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main({args!r})\n"
        f"print(json.dumps([code, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    code, imported = json.loads(done.stdout)
    assert code == 0, done.stderr
    return list(imported)


def test_help_imports_no_heavy_library() -> None:
    assert _imported_after(["--help"]) == []


def test_validate_imports_no_simulation_plotting_or_trace_library() -> None:
    files = [str(ROOT / "arch" / "edge_bus.yaml"), str(ROOT / "workloads" / "tiny_cnn.yaml")]
    assert _imported_after(["validate", *files]) == []
