"""Loading a command's input files: every problem of every file reported in one error."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from archsim.config import ArchConfig, WorkloadConfig, load_arch
from archsim.errors import Problem, UserError
from archsim.workload.importers import load_any_workload


def load_inputs(
    archs: Sequence[Path],
    workload: Path,
    arch_sets: list[str],
    workload_sets: list[str],
    until: str | None = None,
) -> tuple[list[ArchConfig], WorkloadConfig]:
    """Load the architectures and the workload (YAML or an importable model file, cut
    at ``until`` for ONNX) with their ``--set`` overrides; a UserError lists the problems
    of all files at once."""
    problems: list[Problem] = []
    loaded: list[ArchConfig] = []
    for path in archs:
        try:
            loaded.append(load_arch(path, arch_sets))
        except UserError as exc:
            problems.extend(exc.problems)
    try:
        workload_cfg = load_any_workload(workload, workload_sets, until)
    except UserError as exc:
        problems.extend(exc.problems)
    if problems:
        raise UserError(problems)
    return loaded, workload_cfg
