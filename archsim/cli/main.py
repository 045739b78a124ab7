"""The ``archsim`` command line: a thin click layer over the public API.

User errors (``archsim.errors.UserError``) are printed one problem per line on stderr,
prefixed with ``error:``, and exit with code 2; internal errors keep their traceback.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import click

from archsim.cli.fast_exit import exit_now
from archsim.collector import end_start_up, pause_start_up
from archsim.errors import UserError
from archsim.version import __version__

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class CommandEntry:
    """Where a command lives, and its help as the command list shows it (the first
    paragraph of the command's docstring; tests/test_cli.py checks they agree)."""

    module: str
    attribute: str
    help: str
    ends_after_one_run: bool = False  # its process keeps the collector off (see collector)


COMMANDS: dict[str, CommandEntry] = {
    "bench": CommandEntry(
        "archsim.cli.bench",
        "bench",
        "Run the bench SPEC (archs x workloads x inputs x batches x precisions x scenarios x "
        "corners) and print and write its scorecard (CSV, HTML, PNG plots).",
    ),
    "compare": CommandEntry(
        "archsim.cli.compare",
        "compare_command",
        "Run WORKLOAD on architectures A and B; print both side by side and plot per layer.",
        ends_after_one_run=True,
    ),
    "dram": CommandEntry(
        "archsim.cli.dram",
        "dram_command",
        "Bandwidth, refresh cost and unloaded latency of one DRAM channel of ARCH.",
    ),
    "export": CommandEntry(
        "archsim.cli.trace", "export", "Export TRACE (an HDF5 trace) for a trace viewer."
    ),
    "map": CommandEntry(
        "archsim.cli.map",
        "map_command",
        "Map WORKLOAD onto ARCH and report, per layer, tiling, loop order, compute cycles, "
        "reuse and DRAM traffic (no simulation).",
        ends_after_one_run=True,
    ),
    "noc": CommandEntry(
        "archsim.cli.noc",
        "noc_command",
        "Load-latency curve of ARCH's interconnect under synthetic traffic.",
    ),
    "report": CommandEntry(
        "archsim.cli.trace",
        "report",
        "Report on TRACE (an HDF5 trace): summary, per-layer table, utilization, plots.",
    ),
    "run": CommandEntry(
        "archsim.cli.run",
        "run",
        "Simulate WORKLOAD (a workload YAML) on ARCH (an architecture YAML): one inference, "
        "or the frames of a scenario (--scenario, or the workload file's scenario block).",
        ends_after_one_run=True,
    ),
    "schema": CommandEntry(
        "archsim.cli.schema",
        "schema",
        "Print the JSON Schema of KIND files: arch, workload or sweep.",
    ),
    "sweep": CommandEntry(
        "archsim.cli.sweep",
        "sweep",
        "Run the design-space sweep described by SPEC (a sweep YAML).",
    ),
    "sweep-report": CommandEntry(
        "archsim.cli.sweep_report",
        "sweep_report",
        "Print the results table of the sweep in FOLDER and plot Pareto fronts and a metric.",
    ),
    "validate": CommandEntry(
        "archsim.cli.validate",
        "validate",
        "Check architecture and workload FILES; report every problem of every file.",
    ),
    "workload": CommandEntry(
        "archsim.cli.workload", "workload", "Inspect, list and import workloads."
    ),
}
"""The commands of ``archsim``, by name. A command's module is imported only when the
command runs (or its own help is shown), so start-up stays fast; adding a command is one
module plus one entry here."""


class ArchsimGroup(click.Group):
    """A click group that turns user errors and Ctrl-C into messages and exit codes.

    Besides the commands added to it, it offers those of ``lazy_commands``, each imported
    from its module the first time it is looked up; the command list is drawn from their
    entries without importing them.

    ``starting``: set by the process's entry point, which turned the collector off for
    the start (``archsim.collector.pause_start_up``); the start ends once the command is
    imported.
    """

    def __init__(
        self,
        *args: Any,
        lazy_commands: Mapping[str, CommandEntry] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})
        self.starting = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, loaded or not, sorted."""
        return sorted(dict.fromkeys([*self.commands, *self.lazy_commands]))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, importing its module if it is not loaded yet."""
        entry = self.lazy_commands.get(cmd_name)
        if cmd_name not in self.commands and entry is not None:
            command = getattr(importlib.import_module(entry.module), entry.attribute)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """The command ``args`` name, imported; ends the process's start (see the class)."""
        name, command, rest = super().resolve_command(ctx, args)
        if self.starting:
            self.starting = False
            entry = self.lazy_commands.get(name or "")
            end_start_up(keep_off=entry is not None and entry.ends_after_one_run)
        return name, command, rest

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list as click writes it, without importing unloaded commands."""
        listed = {name: self._listed(name) for name in self.list_commands(ctx)}
        shown = {name: command for name, command in listed.items() if not command.hidden}
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name in shown)
        rows = [(name, command.get_short_help_str(limit)) for name, command in shown.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _listed(self, name: str) -> click.Command:
        """The loaded command, or a stand-in carrying the entry's help."""
        if name in self.commands:
            return self.commands[name]
        return click.Command(name, help=self.lazy_commands[name].help)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; report a UserError (exit 2) or an interrupt (exit 130)."""
        try:
            return super().invoke(ctx)
        except UserError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            ctx.exit(EXIT_USER_ERROR)
        except KeyboardInterrupt:
            click.echo("archsim: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(cls=ArchsimGroup, lazy_commands=COMMANDS)
@click.version_option(__version__, prog_name="archsim")
def cli() -> None:
    """Simulate neural-network inference on an accelerator architecture."""


def console_main() -> NoReturn:
    """The ``archsim`` console script: ``main`` on sys.argv with the collector off while
    the command starts (``archsim.collector``), then a fast exit (``archsim.cli.fast_exit``)."""
    pause_start_up()
    cli.starting = True
    exit_now(main())


def main(args: Sequence[str] | None = None) -> int:
    """Console entry point: run the CLI on ``args`` (default: sys.argv) and return the exit code."""
    try:
        code = cli.main(
            args=None if args is None else list(args), prog_name="archsim", standalone_mode=False
        )
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("archsim: interrupted", err=True)
        return EXIT_INTERRUPTED
    return code if isinstance(code, int) else 0
