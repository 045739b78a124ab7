"""Safe YAML loading that records the position of every key and list item.

Only ``yaml.SafeLoader``'s rules are used: no Python tags, nothing is ever evaluated. The
node tree is composed first, walked once to record positions and reject duplicate keys (at
any depth, all reported at once), and only then constructed into plain dicts, lists and
scalars. The file is parsed by libyaml where PyYAML has it, and read again by PyYAML's own
parser only when it holds a problem, so that problems are reported in PyYAML's words.

One deviation from PyYAML's YAML 1.1 rules: exponent numbers without a dot (``1e5``) are
floats, as in YAML 1.2, instead of strings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from archsim.config.source import KeyPath, SourceMap, dotted
from archsim.errors import ConfigError, Problem
from archsim.yaml_text import HAS_LIBYAML, SAFE_LOADER

# A bound on the walked node count, so an alias bomb fails fast instead of exhausting memory.
MAX_NODES = 1_000_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
_BAD_KEY = object()  # stands for a key that was reported and must be skipped


class SafeLoader(yaml.SafeLoader):  # type: ignore[misc,unused-ignore]
    """``yaml.SafeLoader`` that also reads ``1e5`` and ``-2E-3`` as floats (YAML 1.2)."""


class _FastSafeLoader(SAFE_LOADER):  # type: ignore[misc]
    """The same on libyaml's parser where PyYAML has it (about 15 times as fast to parse):
    the same resolvers and constructors, nodes with the same positions. Its error messages
    are libyaml's, so a file it finds a problem in is read again with ``SafeLoader``."""


for _loader in (SafeLoader, _FastSafeLoader):
    _loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"),
    )


def parse_value(text: str) -> Any:
    """A YAML scalar or flow value (``3``, ``bf16``, ``[1, 2]``) read with SafeLoader."""
    return yaml.load(text, Loader=SafeLoader)


def load_yaml(path: str | Path) -> tuple[Any, SourceMap]:
    """Load a YAML file whose top level is a mapping; return the data and its positions.

    Raises ConfigError (with every problem found, located) if the file cannot be read, is
    not valid YAML, has duplicate keys, is empty or its top level is not a mapping.
    """
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(Problem("file not found", file)) from None
    except IsADirectoryError:
        raise ConfigError(Problem("is a directory, expected a YAML file", file)) from None
    except OSError as exc:
        raise ConfigError(Problem(f"cannot read file: {exc.strerror or exc}", file)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        message = (
            f"not a YAML text file: not UTF-8 (byte {exc.start}: {exc.reason}); is it a "
            "binary file?"
        )
        raise ConfigError(Problem(message, file, line, column)) from None
    return load_yaml_text(text, file)


def load_yaml_text(text: str, file: str) -> tuple[Any, SourceMap]:
    """Like ``load_yaml`` for YAML held in a string; ``file`` names it in problems."""
    if HAS_LIBYAML:
        try:
            return _load_with(_FastSafeLoader, text, file)
        except (ConfigError, yaml.YAMLError, UnicodeEncodeError):
            pass  # reported below, in PyYAML's words (libyaml cannot even encode surrogates)
    return _load_with(SafeLoader, text, file)


def _load_with(loader_class: type[SafeLoader], text: str, file: str) -> tuple[Any, SourceMap]:
    """``load_yaml_text`` with the given loader class."""
    try:
        loader = loader_class(text)  # PyYAML's reader rejects control characters up front
    except yaml.reader.ReaderError as exc:
        raise ConfigError(_reader_problem(exc, text, file)) from None
    try:
        root = _compose(loader, text, file)
        walker = _PositionWalker(loader, file)
        walker.walk(root, ())
        if walker.problems:
            raise ConfigError(walker.problems)
        try:
            data = loader.construct_document(root)
        except yaml.MarkedYAMLError as exc:
            raise ConfigError(_marked_problem(exc, file, "invalid value")) from None
    finally:
        loader.dispose()
    return data, SourceMap(file, walker.positions)


def _compose(loader: SafeLoader, text: str, file: str) -> MappingNode:
    """The root node of the single document, which must be a non-empty mapping."""
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(_marked_problem(exc, file, "YAML syntax error")) from None
    except yaml.reader.ReaderError as exc:
        raise ConfigError(_reader_problem(exc, text, file)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(Problem(f"YAML syntax error: {exc}", file)) from None
    if root is None or (isinstance(root, ScalarNode) and root.tag == _NULL_TAG):
        raise ConfigError(Problem("the file is empty, expected a mapping of keys", file, 1, 1))
    if not isinstance(root, MappingNode):
        kind = "list" if isinstance(root, SequenceNode) else "single value"
        line, column = _position(root)
        message = f"the top level must be a mapping of keys, not a {kind}"
        raise ConfigError(Problem(message, file, line, column))
    return root


def _reader_problem(exc: yaml.reader.ReaderError, text: str, file: str) -> Problem:
    """A located problem for a character YAML never allows (binary data, control codes)."""
    line = text.count("\n", 0, exc.position) + 1
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    character = exc.character if isinstance(exc.character, int) else ord(exc.character)
    kind = "binary data" if character == 0 else "a control character"
    message = (
        f"not a YAML text file: {kind} (character #x{character:04x}) where YAML allows "
        "only printable text"
    )
    return Problem(message, file, line, column)


def _marked_problem(exc: yaml.MarkedYAMLError, file: str, prefix: str) -> Problem:
    """A Problem at the YAML mark of ``exc``, with its context in the message."""
    mark = exc.problem_mark or exc.context_mark
    message = f"{prefix}: {exc.problem or exc.context}"
    if exc.problem and exc.context:
        message += f" ({exc.context}"
        if exc.context_mark is not None and exc.context_mark is not mark:
            message += f" at line {exc.context_mark.line + 1}"
        message += ")"
    if mark is None:
        return Problem(message, file)
    return Problem(message, file, mark.line + 1, mark.column + 1)


def _position(node: Node) -> tuple[int, int]:
    """1-based (line, column) where ``node`` starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1


class _PositionWalker:
    """Records the position of each key path and collects duplicate-key problems."""

    def __init__(self, loader: SafeLoader, file: str) -> None:
        self._loader = loader
        self._file = file
        self.positions: dict[KeyPath, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self._checked: set[int] = set()  # mapping nodes already checked for duplicates
        self._active: set[int] = set()  # nodes on the current walk stack (alias cycles)
        self._count = 0

    def walk(self, node: Node, path: KeyPath) -> None:
        """Record ``node`` at ``path`` and walk its children."""
        self._count += 1
        if self._count > MAX_NODES:
            message = f"too many values (over {MAX_NODES}); are aliases expanding recursively?"
            raise ConfigError(Problem(message, self._file, *_position(node)))
        self.positions.setdefault(path, _position(node))
        if id(node) in self._active:
            line, column = self.positions[path]
            message = "an alias refers to a mapping or list that contains it"
            self.problems.append(Problem(message, self._file, line, column, dotted(path)))
            return
        self._active.add(id(node))
        if isinstance(node, MappingNode):
            self._walk_mapping(node, path)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(item, (*path, index))
        self._active.discard(id(node))

    def _walk_mapping(self, node: MappingNode, path: KeyPath) -> None:
        check = id(node) not in self._checked
        self._checked.add(id(node))
        first_line: dict[Any, int] = {}
        merged: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.append(value_node)
                continue
            key = self._key(key_node, path)
            if key is _BAD_KEY:
                continue
            line, column = _position(key_node)
            if key in first_line:
                if check:
                    message = f"duplicate key '{key}' (first defined on line {first_line[key]})"
                    name = dotted((*path, _path_part(key)))
                    self.problems.append(Problem(message, self._file, line, column, name))
                continue
            first_line[key] = line
            self.positions[(*path, _path_part(key))] = (line, column)
            self.walk(value_node, (*path, _path_part(key)))
        # Keys merged in with "<<" are located where their anchor defines them.
        for source in merged:
            sources = source.value if isinstance(source, SequenceNode) else [source]
            for mapping in sources:
                if isinstance(mapping, MappingNode):
                    self._walk_merged(mapping, path, first_line)

    def _walk_merged(self, node: MappingNode, path: KeyPath, seen: dict[Any, int]) -> None:
        for key_node, value_node in node.value:
            key = _BAD_KEY if key_node.tag == _MERGE_TAG else self._key(key_node, path)
            if key is _BAD_KEY or key in seen:
                continue
            seen[key] = _position(key_node)[0]
            self.positions[(*path, _path_part(key))] = _position(key_node)
            self.walk(value_node, (*path, _path_part(key)))

    def _key(self, key_node: Node, path: KeyPath) -> Any:
        """The constructed value of a scalar key, or _BAD_KEY after reporting a bad key."""
        if not isinstance(key_node, ScalarNode):
            self._report(key_node, path, "a mapping key must be a single value")
            return _BAD_KEY
        try:
            return self._loader.construct_object(key_node, deep=True)
        except yaml.MarkedYAMLError as exc:
            self.problems.append(_marked_problem(exc, self._file, "invalid key"))
            return _BAD_KEY

    def _report(self, node: Node, path: KeyPath, message: str) -> None:
        line, column = _position(node)
        self.problems.append(Problem(message, self._file, line, column, dotted(path)))


def _path_part(key: Any) -> str | int:
    """The key-path form of a mapping key (str and int kept, anything else as text)."""
    if isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool)):
        return key
    return str(key)
