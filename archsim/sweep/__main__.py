"""``python -m archsim.sweep SPEC [options]``: the ``archsim sweep`` command on its own.

For environments without the console script, and for tests that run a sweep in a separate
process (to kill it). User errors print ``error: ...`` lines and exit with code 2, as in
``archsim``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from archsim.cli.sweep import sweep
from archsim.errors import UserError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def main(args: Sequence[str] | None = None) -> int:
    """Run the sweep command on ``args`` (default: sys.argv); return the exit code."""
    try:
        sweep.main(
            args=None if args is None else list(args),
            prog_name="python -m archsim.sweep",
            standalone_mode=False,
        )
    except UserError as error:
        for problem in error.problems:
            click.echo(f"error: {problem}", err=True)
        return EXIT_USER_ERROR
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("archsim: interrupted", err=True)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
