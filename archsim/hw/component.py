"""Structural base of the component tree: dotted names, declared ports, elaboration.

A component is built with an explicit ``(parent, name, ...)`` constructor, declares the
ports it needs in ``PORTS``, and is connected by the structural code that assembles it
(``Chip``). ``elaborate()`` checks the whole tree before time 0: a dangling port is a
``ConnectError``, never a failure in the middle of a run.
"""

from __future__ import annotations

from typing import Any, ClassVar

from archsim.errors import SimulationError


class ConnectError(SimulationError):
    """A component's declared port was left unconnected (a bug in chip assembly)."""


class Component:
    """A named node of the component tree with declared ports."""

    PORTS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, parent: Component | None, name: str) -> None:
        self.parent = parent
        self.name = name
        self.path: str = f"{parent.path}.{name}" if parent is not None else name
        self.children: list[Component] = []
        self._ports: dict[str, Any] = {}
        if parent is not None:
            parent.children.append(self)

    def connect(self, port: str, target: Any) -> None:
        """Bind one of this component's declared ports to its target."""
        if port not in self.PORTS:
            raise ConnectError(f"{self.path} has no port {port!r} (ports: {self.PORTS})")
        self._ports[port] = target

    def port(self, port: str) -> Any:
        """The target bound to a port."""
        return self._ports[port]

    def elaborate(self) -> None:
        """Check that every port in this subtree is connected."""
        missing = [p for p in self.PORTS if p not in self._ports]
        if missing:
            raise ConnectError(f"{self.path}: unconnected port(s) {', '.join(missing)}")
        for child in self.children:
            child.elaborate()

    def walk(self) -> list[Component]:
        """This component and all descendants, depth first, in construction order."""
        nodes: list[Component] = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return nodes
