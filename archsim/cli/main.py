"""The ``archsim`` command line: a thin click layer over the public API.

User errors (``archsim.errors.UserError``) are printed one problem per line on stderr,
prefixed with ``error:``, and exit with code 2; internal errors keep their traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from archsim.cli.compare import compare_command
from archsim.cli.dram import dram_command
from archsim.cli.map import map_command
from archsim.cli.noc import noc_command
from archsim.cli.run import run
from archsim.cli.schema import schema
from archsim.cli.sweep import sweep
from archsim.cli.sweep_report import sweep_report
from archsim.cli.trace import export, report
from archsim.cli.validate import validate
from archsim.cli.workload import workload
from archsim.errors import UserError
from archsim.version import __version__

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class ArchsimGroup(click.Group):
    """A click group that turns user errors and Ctrl-C into messages and exit codes."""

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


@click.group(cls=ArchsimGroup)
@click.version_option(__version__, prog_name="archsim")
def cli() -> None:
    """Simulate neural-network inference on an accelerator architecture."""


for command in (
    run,
    validate,
    schema,
    report,
    export,
    sweep,
    sweep_report,
    compare_command,
    map_command,
    noc_command,
    dram_command,
    workload,
):
    cli.add_command(command)


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
