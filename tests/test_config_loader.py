"""YAML loading with positions, duplicate keys, overrides and located validation errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

import pytest
from pydantic import Field, model_validator

from archsim.config import (
    CrossChecks,
    SourceMap,
    StrictModel,
    apply_overrides,
    dotted,
    load_model_text,
    load_yaml,
    load_yaml_text,
    path_of,
    problem_for,
    source_of,
    validate_model,
)
from archsim.config.base import PrecisionField
from archsim.domain import Precision
from archsim.errors import ConfigError, Problem

NESTED = """\
top:
  a: 1
  items:
    - x
    - name: y
      size: 2
  "quoted": 3
other: [1, 2]
"""


def problems(excinfo: pytest.ExceptionInfo[ConfigError]) -> list[tuple[int | None, str, str]]:
    """(line, path, message) of each problem."""
    return [(p.line, p.path, p.message) for p in excinfo.value.problems]


# --- positions --------------------------------------------------------------------------


def test_positions_of_keys_and_list_items() -> None:
    data, source = load_yaml_text(NESTED, "n.yaml")
    assert data == {
        "top": {"a": 1, "items": ["x", {"name": "y", "size": 2}], "quoted": 3},
        "other": [1, 2],
    }
    assert source.file == "n.yaml"
    assert dict(source.positions) == {
        (): (1, 1),
        ("top",): (1, 1),
        ("top", "a"): (2, 3),
        ("top", "items"): (3, 3),
        ("top", "items", 0): (4, 7),
        ("top", "items", 1): (5, 7),
        ("top", "items", 1, "name"): (5, 7),
        ("top", "items", 1, "size"): (6, 7),
        ("top", "quoted"): (7, 3),
        ("other",): (8, 1),
        ("other", 0): (8, 9),
        ("other", 1): (8, 12),
    }


def test_locate_falls_back_to_nearest_ancestor() -> None:
    _, source = load_yaml_text(NESTED, "n.yaml")
    assert source.locate(["top", "items", 1, "size"]) == (6, 7)
    assert source.locate(["top", "items", 1, "missing", "deeper"]) == (5, 7)
    assert source.locate(["nowhere"]) == (1, 1)
    assert SourceMap("x.yaml", {}).locate(["a"]) == (None, None)


def test_source_problem_and_str_format() -> None:
    _, source = load_yaml_text(NESTED, "n.yaml")
    problem = source.problem(("top", "items", 1, "size"), "too big")
    assert problem == Problem("too big", "n.yaml", 6, 7, "top.items.1.size")
    assert str(problem) == "n.yaml:6:7: top.items.1.size: too big"
    assert dotted(["layers", 3, "inputs"]) == "layers.3.inputs"


def test_merge_keys_are_located_at_their_anchor() -> None:
    text = "base: &b\n  x: 1\n  y: 2\nuse:\n  <<: *b\n  y: 3\n"
    data, source = load_yaml_text(text, "m.yaml")
    assert data["use"] == {"x": 1, "y": 3}
    assert source.locate(("use", "x")) == (2, 3)
    assert source.locate(("use", "y")) == (6, 3)


def test_exponent_without_dot_is_a_float() -> None:
    data, _ = load_yaml_text("a: 1e5\nb: -2E-3\nc: 1e\n", "f.yaml")
    assert data == {"a": 100000.0, "b": -0.002, "c": "1e"}


def test_load_yaml_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "n.yaml"
    path.write_text(NESTED, encoding="utf-8")
    data, source = load_yaml(path)
    assert data["top"]["a"] == 1
    assert source.file == str(path)
    assert source.locate(("other", 1)) == (8, 12)


# --- rejected documents -----------------------------------------------------------------


def test_duplicate_keys_rejected_at_every_depth() -> None:
    text = "name: x\nfoo:\n  a: 1\n  a: 2\n  b: [1, {c: 1, c: 2}]\nname: y\n"
    with pytest.raises(ConfigError) as excinfo:
        load_yaml_text(text, "d.yaml")
    assert problems(excinfo) == [
        (4, "foo.a", "duplicate key 'a' (first defined on line 3)"),
        (5, "foo.b.1.c", "duplicate key 'c' (first defined on line 5)"),
        (6, "name", "duplicate key 'name' (first defined on line 1)"),
    ]
    assert [p.column for p in excinfo.value.problems] == [3, 17, 1]
    assert all(p.file == "d.yaml" for p in excinfo.value.problems)


def test_syntax_error_is_located() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_yaml_text("a: [1, 2\nb: 3\n", "s.yaml")
    (problem,) = excinfo.value.problems
    assert (problem.file, problem.line, problem.column) == ("s.yaml", 2, 2)
    assert problem.message.startswith("YAML syntax error: expected ',' or ']'")


def test_tab_indentation_is_located() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_yaml_text("a:\n\tb: 1\n", "t.yaml")
    (problem,) = excinfo.value.problems
    assert (problem.line, problem.column) == (2, 1)
    assert "'\\t'" in problem.message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as excinfo:
        load_yaml(path)
    assert excinfo.value.problems == [Problem("file not found", str(path))]


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_yaml(tmp_path)
    assert excinfo.value.problems == [
        Problem("is a directory, expected a YAML file", str(tmp_path))
    ]


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError) as excinfo:
        load_yaml(path)
    problem = excinfo.value.problems[0]
    assert problem.message.startswith("not a YAML text file: not UTF-8 (byte 9")
    assert (problem.line, problem.column) == (1, 10)


@pytest.mark.parametrize(
    ("data", "position", "kind"),
    [
        (b"\x00\x01\x02binary", (1, 1), "binary data (character #x0000)"),
        (b"name: a\nkey: \x07bell\n", (2, 6), "a control character (character #x0007)"),
    ],
)
def test_binary_or_control_characters_are_located(
    tmp_path: Path, data: bytes, position: tuple[int, int], kind: str
) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as excinfo:
        load_yaml(path)
    [problem] = excinfo.value.problems
    assert problem.message.startswith(f"not a YAML text file: {kind}")
    assert (problem.file, problem.line, problem.column) == (str(path), *position)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "~\n"])
def test_empty_document(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as excinfo:
        load_yaml(path)
    assert excinfo.value.problems == [
        Problem("the file is empty, expected a mapping of keys", str(path), 1, 1)
    ]


@pytest.mark.parametrize(("text", "kind"), [("- 1\n- 2\n", "list"), ("\n\n42\n", "single value")])
def test_top_level_must_be_a_mapping(text: str, kind: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_yaml_text(text, "top.yaml")
    (problem,) = excinfo.value.problems
    assert problem.message == f"the top level must be a mapping of keys, not a {kind}"
    assert problem.line == text.count("\n", 0, len(text) - len(text.lstrip("\n"))) + 1


def test_several_documents_rejected() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_yaml_text("a: 1\n---\nb: 2\n", "two.yaml")
    assert excinfo.value.problems[0].line == 2
    assert "expected a single document" in excinfo.value.problems[0].message


def test_python_tags_are_never_constructed() -> None:
    text = "a: 1\nb: !!python/object/apply:os.system ['echo unsafe']\n"
    with pytest.raises(ConfigError) as excinfo:
        load_yaml_text(text, "evil.yaml")
    (problem,) = excinfo.value.problems
    assert (problem.line, problem.column) == (2, 4)
    assert "could not determine a constructor" in problem.message


def test_recursive_alias_rejected() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_yaml_text("a: &x\n  b: *x\n", "r.yaml")
    assert problems(excinfo) == [
        (2, "a.b", "an alias refers to a mapping or list that contains it")
    ]


def test_complex_key_rejected() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_yaml_text("? [1, 2]\n: x\n", "k.yaml")
    assert problems(excinfo) == [(1, "", "a mapping key must be a single value")]


# --- overrides --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("1.5", 1.5),
        ("1e5", 100000.0),
        ("bf16", "bf16"),
        ("[1, 2]", [1, 2]),
        ("{a: 1}", {"a": 1}),
        ("true", True),
        ("null", None),
        ("'3'", "3"),
        ("a=b", "a=b"),
        ("__import__('os').system('true')", "__import__('os').system('true')"),
    ],
)
def test_override_values_are_parsed_as_yaml(text: str, value: object) -> None:
    assert apply_overrides({"x": 0}, [f"x={text}"]) == {"x": value}


def test_overrides_index_lists_and_create_keys() -> None:
    data = {"layers": [{"filters": 8}, {"filters": 16}], "mesh": None}
    result = apply_overrides(
        data, ["layers.1.filters=32", "new.deep.key=1", "mesh.cols=4", " layers.0 = {a: 1}"]
    )
    assert result == {
        "layers": [{"a": 1}, {"filters": 32}],
        "mesh": {"cols": 4},
        "new": {"deep": {"key": 1}},
    }
    assert data == {"layers": [{"filters": 8}, {"filters": 16}], "mesh": None}


def test_overrides_copy_aliased_values_independently() -> None:
    data, _ = load_yaml_text("a: &x {k: 1}\nb: *x\n", "a.yaml")
    assert apply_overrides(data, ["a.k=2"]) == {"a": {"k": 2}, "b": {"k": 1}}


def test_integer_mapping_keys_can_be_overridden() -> None:
    assert apply_overrides({"m": {0: "a"}}, ["m.0=b"]) == {"m": {0: "b"}}


def test_malformed_overrides_all_reported() -> None:
    data = {"name": "x", "layers": [{"filters": 8}], "sram": {"banks": 4}}
    overrides = [
        "name",
        "=3",
        "a..b=1",
        "sram.0=1",
        "layers.x=1",
        "layers.5.filters=1",
        "name.first=1",
        "sram.banks=[1",
        "sram.banks=!!python/object/apply:os.system ['true']",
    ]
    with pytest.raises(ConfigError) as excinfo:
        apply_overrides(data, overrides)
    assert all(p.file == "--set" and p.line is None for p in excinfo.value.problems)
    assert [(p.path, p.message) for p in excinfo.value.problems] == [
        ("name", "expected KEY=VALUE, got 'name'"),
        ("", "missing key before '=' in '=3'"),
        ("a..b", "empty part in key 'a..b'"),
        ("sram.0", "sram is a mapping, not a list: cannot index it"),
        ("layers.x", "layers is a list: use an integer index, not 'x'"),
        ("layers.5.filters", "index 5 is out of range: layers has 1 items"),
        ("name.first", "name is a single value ('x'), not a mapping or list"),
        (
            "sram.banks",
            "cannot parse value '[1' as YAML: expected ',' or ']', but got '<stream end>'",
        ),
        (
            "sram.banks",
            "cannot parse value \"!!python/object/apply:os.system ['true']\" as YAML: could not "
            "determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
        ),
    ]
    assert str(excinfo.value.problems[0]) == "--set: name: expected KEY=VALUE, got 'name'"


# --- validate_model ---------------------------------------------------------------------


class Part(StrictModel):
    """A test sub-model."""

    size: int = Field(ge=1, description="size")
    precision: PrecisionField = Field(default=Precision.INT8, description="precision")


class Conv(StrictModel):
    """A tagged union member."""

    op: Literal["conv"] = Field(description="tag")
    filters: int = Field(description="filters")


class Pool(StrictModel):
    """A tagged union member."""

    op: Literal["pool"] = Field(description="tag")
    window: int = Field(description="window")


class Whole(StrictModel):
    """A test root model with a cross-check that reports two keys."""

    name: str = Field(description="name")
    part: Part = Field(description="part")
    parts: list[Part] = Field(default_factory=list, description="parts")
    layers: list[Annotated[Conv | Pool, Field(discriminator="op")]] = Field(
        default_factory=list, description="layers"
    )
    limit: int = Field(default=10, description="limit")

    @model_validator(mode="after")
    def _check_limit(self) -> Self:
        checks = CrossChecks()
        if self.part.size > self.limit:
            checks.add(("part", "size"), f"exceeds limit {self.limit}")
        for index, part in enumerate(self.parts):
            if part.size > self.limit:
                checks.add(("parts", index, "size"), f"exceeds limit {self.limit}")
        checks.raise_if_any()
        return self


WHOLE = """\
name: w
part:
  size: 2
parts:
  - size: 3
  - size: 4
    precision: bf16
layers:
  - op: conv
    filters: 8
  - op: pool
    window: 2
"""


def test_validate_model_returns_model_with_source() -> None:
    data, source = load_yaml_text(WHOLE, "w.yaml")
    model = validate_model(Whole, data, source)
    assert model.parts[1].precision is Precision.BF16
    assert isinstance(model.layers[1], Pool)
    assert source_of(model) is source
    assert source_of(model.parts[1]) is source
    assert path_of(model.parts[1]) == ("parts", 1)
    assert path_of(model.layers[0]) == ("layers", 0)
    assert problem_for(model.parts[1], "odd", "precision") == Problem(
        "odd", "w.yaml", 7, 5, "parts.1.precision"
    )
    assert problem_for(Part(size=1), "no file", "size") == Problem("no file", path="size")


SIZE_KEYS = "(allowed: size, precision)"
CONV_KEYS = "(allowed: op, filters)"
PRECISIONS = "'int8', 'int16', 'bf16', 'fp16' or 'fp32'"
TAGS = "expected tags: 'conv', 'pool'"


def test_validate_model_reports_every_error_located() -> None:
    text = (
        WHOLE.replace("  size: 2", "  size: '2'\n  colour: red")
        .replace("  - size: 3", "  - sizes: 3")
        .replace("precision: bf16", "precision: int4")
        .replace("filters: 8", "filterz: 8")
        .replace("op: pool", "op: max")
    )
    with pytest.raises(ConfigError) as excinfo:
        load_model_text(Whole, text, "w.yaml")
    assert problems(excinfo) == [
        (3, "part.size", "Input should be a valid integer (got '2')"),
        (4, "part.colour", "unknown key 'colour' (allowed: size, precision)"),
        (6, "parts.0.size", "missing required key 'size'"),
        (6, "parts.0.sizes", "unknown key 'sizes'; did you mean 'size'? " + SIZE_KEYS),
        (8, "parts.1.precision", "Input should be " + PRECISIONS + " (got 'int4')"),
        (10, "layers.0.filters", "missing required key 'filters'"),
        (11, "layers.0.filterz", "unknown key 'filterz'; did you mean 'filters'? " + CONV_KEYS),
        (12, "layers.1", "Input tag 'max' found using 'op' does not match any of the " + TAGS),
    ]
    assert str(excinfo.value.problems[0]) == (
        "w.yaml:3:3: part.size: Input should be a valid integer (got '2')"
    )


def test_cross_checks_report_each_key() -> None:
    text = WHOLE.replace("size: 2", "size: 12").replace("size: 4", "size: 14")
    with pytest.raises(ConfigError) as excinfo:
        load_model_text(Whole, text, "w.yaml")
    assert problems(excinfo) == [
        (3, "part.size", "exceeds limit 10"),
        (6, "parts.1.size", "exceeds limit 10"),
    ]


def test_problems_in_overridden_values_name_the_override() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_model_text(Whole, WHOLE, "w.yaml", overrides=["parts.0.size=0", "part.size=x"])
    assert [str(p) for p in excinfo.value.problems] == [
        "--set: part.size: Input should be a valid integer (got 'x')",
        "--set: parts.0.size: Input should be greater than or equal to 1 (got 0)",
    ]


def test_bool_and_float_are_not_ints() -> None:
    with pytest.raises(ConfigError) as excinfo:
        text = WHOLE.replace("size: 2", "size: true").replace("size: 3", "size: 3.0")
        load_model_text(Whole, text, "w.yaml")
    assert problems(excinfo) == [
        (3, "part.size", "Input should be a valid integer (got true)"),
        (5, "parts.0.size", "Input should be a valid integer (got 3.0)"),
    ]


def test_alias_expansion_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("archsim.config.yaml_loader.MAX_NODES", 50)
    text = "a: &a [1, 1, 1, 1]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\n"
    with pytest.raises(ConfigError) as excinfo:
        load_yaml_text(text, "bomb.yaml")
    assert excinfo.value.problems[0].message.startswith("too many values (over 50)")


REPO = Path(__file__).resolve().parents[1]
SHIPPED_YAML = sorted(
    path
    for folder in ("arch", "workloads", "benches", "sweeps")
    for path in (REPO / folder).rglob("*.yaml")
)
TRICKY = """\
base: &base {a: 1, b: [1e5, -2E-3, 0x1f, 1_000, .5, ~, yes, '2']}
merged:
  <<: *base
  b: "text with: colon"
list:
  - - nested
    - {k: v}
  - |
    block text
  - 2026-12-06
"""


@pytest.mark.parametrize("path", SHIPPED_YAML, ids=lambda p: p.relative_to(REPO).as_posix())
def test_libyaml_reads_every_shipped_file_as_pyyaml_does(path: Path) -> None:
    from archsim.config import yaml_loader

    text = path.read_text()
    fast = yaml_loader._load_with(yaml_loader._FastSafeLoader, text, str(path))
    pure = yaml_loader._load_with(yaml_loader.SafeLoader, text, str(path))
    assert fast[0] == pure[0]
    assert fast[1].positions == pure[1].positions and fast[1].positions


def test_libyaml_reads_anchors_merges_and_scalars_as_pyyaml_does() -> None:
    from archsim.config import yaml_loader

    fast = yaml_loader._load_with(yaml_loader._FastSafeLoader, TRICKY, "t.yaml")
    pure = yaml_loader._load_with(yaml_loader.SafeLoader, TRICKY, "t.yaml")
    assert fast[0] == pure[0] and fast[0]["base"]["b"][:2] == [1e5, -2e-3]
    assert fast[1].positions == pure[1].positions
    assert yaml_loader.HAS_LIBYAML  # the fast path is what runs here


def test_problems_are_reported_in_pyyaml_words_with_libyaml_present() -> None:
    for text, start in (
        ("a: [1, 2\nb: 3\n", "YAML syntax error: expected ',' or ']'"),
        ("a: 1\na: 2\n", "duplicate key 'a'"),
        ("a: \x07\n", "not a YAML text file: a control character"),
        ("a: \udc80\n", "not a YAML text file: a control character (character #xdc80)"),
    ):
        with pytest.raises(ConfigError) as excinfo:
            load_yaml_text(text, "p.yaml")
        assert excinfo.value.problems[0].message.startswith(start)
