"""``archsim workload ...``: the group of commands that inspect, list and import workloads."""

from __future__ import annotations

import click

from archsim.cli.workload_import import import_command
from archsim.cli.workload_info import list_command, stats_command


@click.group()
def workload() -> None:
    """Inspect, list and import workloads."""


workload.add_command(stats_command)
workload.add_command(list_command)
workload.add_command(import_command)
