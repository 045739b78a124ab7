"""The import structure of archsim: no circles between modules, and every import points down
the layer order below (docs/ARCHITECTURE.md explains what each layer owns).

Imports are read with ``ast`` from the source (including imports inside functions and under
``TYPE_CHECKING``), so a circle cannot hide in a function body.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "archsim"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "archsim.errors",
            "archsim.units",
            "archsim.domain",
            "archsim.version",
            "archsim.files",
            "archsim.collector",
            "archsim.yaml_text",
        ),
    ),
    ("config", ("archsim.config",)),
    ("workload", ("archsim.workload",)),
    ("mapping", ("archsim.mapping",)),
    ("trace", ("archsim.trace",)),
    ("sim", ("archsim.sim",)),
    ("hw", ("archsim.hw",)),
    ("engine", ("archsim.sim.engine",)),
    ("analysis", ("archsim.analysis",)),
    ("noc", ("archsim.noc",)),
    ("scenario", ("archsim.scenario",)),
    ("api", ("archsim.api",)),
    ("sweep", ("archsim.sweep",)),
    ("bench", ("archsim.bench",)),
    ("cli", ("archsim.cli", "archsim.sweep.__main__")),
    ("package", ("archsim", "archsim.__main__")),
)
"""The allowed order, lowest first: a module may import its own layer and those before it.
A module belongs to the layer of its longest matching prefix (``archsim`` only exactly)."""


def module_names() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imported(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """The dotted names an import statement names (relative imports resolved); for
    ``from X import y`` that is ``X.y``, a module or an attribute of module X."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, list[str]]:
    """Module -> the archsim modules it imports (each name resolved to its module)."""
    modules = module_names()
    graph: dict[str, list[str]] = {}
    for module, path in modules.items():
        targets: dict[str, None] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for name in _imported(node, module, path.name == "__init__.py"):
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name and name != module:
                    targets[name] = None
        graph[module] = sorted(targets)
    return graph


def layer_of(module: str) -> int | None:
    """Position in LAYERS of the module's layer (None: the module is in no layer)."""
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            exact = prefix == "archsim" or prefix.endswith("__main__")
            if module == prefix or (not exact and module.startswith(prefix + ".")):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), index)
    return None if best is None else best[1]


def circles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, []):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_every_module_is_in_a_layer() -> None:
    unplaced = [module for module in module_names() if layer_of(module) is None]
    assert unplaced == [], f"add these modules to LAYERS in {__file__}: {unplaced}"


def test_no_import_circles() -> None:
    found = [" <-> ".join(circle) for circle in circles(import_graph())]
    assert found == [], "modules that import each other (directly or not):\n" + "\n".join(found)


def test_imports_point_down_the_layers() -> None:
    upward = []
    for module, targets in import_graph().items():
        own = layer_of(module)
        for target in targets:
            theirs = layer_of(target)
            if own is not None and theirs is not None and theirs > own:
                upward.append(f"{module} ({LAYERS[own][0]}) -> {target} ({LAYERS[theirs][0]})")
    assert upward == [], "imports up the layer order:\n" + "\n".join(upward)


def test_the_checks_see_a_circle_and_an_upward_import() -> None:
    """The checks themselves: a made-up circle is found, and layers order as listed."""
    assert circles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert layer_of("archsim.sim.engine") == layer_of("archsim.hw") + 1  # type: ignore[operator]
    assert layer_of("archsim.sim.runtime") == layer_of("archsim.sim")
    assert layer_of("archsim.sweep.__main__") == layer_of("archsim.cli.main")
    assert layer_of("archsim") == len(LAYERS) - 1
    assert layer_of("archsimulator") is None
    graph = import_graph()
    assert "archsim.cli.options" in graph["archsim.cli.run"]
    assert "archsim.trace.recorder" in graph["archsim.hw.dma"]
