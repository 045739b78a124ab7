"""``archsim validate FILES``: check architecture and workload files without simulating."""

from __future__ import annotations

from pathlib import Path

import click

from archsim.config import load_arch, load_workload, load_yaml
from archsim.errors import ConfigError, Problem, UserError
from archsim.workload import build_graph


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check architecture and workload FILES; report every problem of every file."""
    problems: list[Problem] = []
    for path in files:
        try:
            click.echo(f"{path}: ok ({_validate_file(path)})")
        except UserError as exc:
            problems.extend(exc.problems)
    if problems:
        raise UserError(problems)


def _validate_file(path: Path) -> str:
    """Validate one architecture or workload file; a short description if it is valid."""
    data, _ = load_yaml(path)
    if "mac_clusters" in data:
        return f"arch {load_arch(path).name}"
    if "layers" in data:
        workload = load_workload(path)
        graph = build_graph(workload)
        return f"workload {workload.name}, {len(graph.layers)} layers, {graph.total_macs:,} MACs"
    raise ConfigError(
        Problem(
            "cannot tell whether this is an architecture or a workload file "
            "(expected a top-level 'mac_clusters' or 'layers' key)",
            file=str(path),
        )
    )
