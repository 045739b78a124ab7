"""``archsim schema KIND``: the JSON Schema of architecture, workload or sweep files."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from archsim.config import arch_json_schema, workload_json_schema
from archsim.sweep.spec import sweep_json_schema

_SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "arch": arch_json_schema,
    "workload": workload_json_schema,
    "sweep": sweep_json_schema,
}


@click.command()
@click.argument("kind", metavar="KIND", type=click.Choice(list(_SCHEMAS)))
def schema(kind: str) -> None:
    """Print the JSON Schema of KIND files: arch, workload or sweep."""
    click.echo(json.dumps(_SCHEMAS[kind](), indent=2))
