"""Error types. User errors carry every problem found, each with file, line and key path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with user input, located as precisely as the input allows."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str = ""

    def __str__(self) -> str:
        location = self.file or "<input>"
        if self.line is not None:
            location += f":{self.line}"
            if self.column is not None:
                location += f":{self.column}"
        key = f" {self.path}:" if self.path else ""
        return f"{location}:{key} {self.message}"


OUTPUT_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
"""Errors from writing outputs that are the user's to fix (bad path, no permission)."""


class ArchsimError(Exception):
    """Base of all errors archsim raises on purpose."""


class UserError(ArchsimError):
    """Bad input from the user: the CLI prints every problem and exits with code 2."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(UserError):
    """A configuration file (YAML) or override is invalid."""


class MappingError(UserError):
    """The workload cannot be mapped onto the architecture (e.g. no tiling fits SRAM).

    ``layer`` names the workload layer at fault, when there is one, so the caller can
    point at it in the workload file.
    """

    def __init__(self, problems: list[Problem] | Problem | str, layer: str | None = None) -> None:
        super().__init__(problems)
        self.layer = layer


class SramOverflowError(MappingError):
    """Weights, staging and activations of one step do not fit SRAM (smaller tiles may help)."""


class DeadlockError(UserError):
    """The run stopped making progress: ops wait on each other (or on nothing that will
    ever happen). The problems describe what is stuck, on what."""


class SimulationError(ArchsimError):
    """An internal invariant of the simulation was violated (a bug, not user input)."""
