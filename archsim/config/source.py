"""Where each key of a configuration came from, so problems can be reported as FILE:LINE:COL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from archsim.errors import Problem

KeyPath = tuple[str | int, ...]

OVERRIDE_FILE = "--set"


def dotted(path: Sequence[str | int]) -> str:
    """Dotted form of a key path: ("layers", 3, "inputs") -> "layers.3.inputs"."""
    return ".".join(str(part) for part in path)


@dataclass(frozen=True)
class SourceMap:
    """Positions of the keys and list items of one YAML file.

    ``positions`` maps a key path to (line, column), both 1-based: for a mapping entry the
    position of its key, for a list item the position of the item, for ``()`` the document.
    ``overridden`` holds the dotted keys replaced by ``--set`` overrides; problems at or below
    them are reported against ``--set`` instead of the file.
    """

    file: str
    positions: Mapping[KeyPath, tuple[int, int]] = field(default_factory=dict)
    overridden: tuple[str, ...] = ()

    def locate(self, path: Sequence[str | int]) -> tuple[int | None, int | None]:
        """(line, column) of ``path``, else of its nearest known ancestor, else (None, None)."""
        key = tuple(path)
        while True:
            position = self.positions.get(key)
            if position is not None:
                return position
            if not key:
                return None, None
            key = key[:-1]

    def problem(self, path: Sequence[str | int], message: str) -> Problem:
        """A Problem located at ``path`` (or at ``--set`` if an override supplied it)."""
        name = dotted(path)
        if self.is_overridden(name):
            return Problem(message, OVERRIDE_FILE, None, None, name)
        line, column = self.locate(path)
        return Problem(message, self.file, line, column, name)

    def is_overridden(self, dotted_path: str) -> bool:
        """Whether a ``--set`` override supplied the value at ``dotted_path``."""
        return any(
            dotted_path == key or dotted_path.startswith(key + ".") for key in self.overridden
        )

    def with_overrides(self, keys: Iterable[str]) -> SourceMap:
        """A copy that also records the dotted ``keys`` set by overrides."""
        return replace(self, overridden=(*self.overridden, *keys))
