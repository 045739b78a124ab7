"""Workload YAML: schema errors and graph errors, each reported with file:line and key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from archsim.config.workload import (
    WorkloadConfig,
    load_workload,
    load_workload_text,
    workload_json_schema,
)
from archsim.errors import ConfigError, Problem
from archsim.workload import OpKind, build_graph

HEADER = """\
name: test
input: {width: 32, height: 32}
layers:
"""  # the first layer is on line 4

CONV = "{op: conv2d, filters: 8, kernel: 3, padding: 1"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "workload.yaml"
    path.write_text(text)
    return path


def load_problems(path: Path) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load_workload(path)
    return info.value.problems


def build_problems(path: Path, **options: Any) -> list[Problem]:
    cfg = load_workload(path)
    with pytest.raises(ConfigError) as info:
        build_graph(cfg, **options)
    return info.value.problems


def single(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


# Schema errors ----------------------------------------------------------------------------


def test_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + f"  - {CONV}, name: a}}\n  - {CONV}, name: b, filtrs: 4}}\n")
    problem = single(load_problems(path))
    assert (problem.file, problem.line, problem.path) == (str(path), 5, "layers.1.filtrs")
    assert "unknown key 'filtrs'" in problem.message
    assert "did you mean 'filters'" in problem.message


def test_wrong_types(tmp_path: Path) -> None:
    text = HEADER.replace("layers:", "batch: 2.5\nlayers:") + (
        "  - {op: conv2d, name: a, filters: '8', kernel: 3}\n"
        "  - {op: conv2d, name: b, filters: 8, kernel: [3, 3, 3]}\n"
        "  - {op: conv2d, name: c, filters: 8, kernel: 3, bias: 1}\n"
    )
    problems = load_problems(write(tmp_path, text))
    assert [(p.line, p.path) for p in problems] == [
        (3, "batch"),
        (5, "layers.0.filters"),
        (6, "layers.1.kernel"),
        (7, "layers.2.bias"),
    ]
    assert "valid integer" in problems[1].message
    assert "expected an integer >= 1 or [height, width]" in problems[2].message


def test_unknown_op_is_readable(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + f"  - {CONV}, name: a}}\n  - {{name: b, op: conv3d}}\n")
    problem = single(load_problems(path))
    assert (problem.file, problem.line, problem.path) == (str(path), 5, "layers.1")
    assert "'conv3d'" in problem.message
    assert "'conv2d'" in problem.message and "'fully_connected'" in problem.message


def test_layer_names(tmp_path: Path) -> None:
    text = HEADER + "  - {name: input, op: global_avgpool}\n  - {name: 'a b', op: global_avgpool}\n"
    problems = load_problems(write(tmp_path, text))
    assert [(p.line, p.path) for p in problems] == [(4, "layers.0.name"), (5, "layers.1.name")]
    assert "reserved" in problems[0].message


def test_add_needs_two_inputs(tmp_path: Path) -> None:
    text = HEADER + "  - {name: a, op: add, inputs: [input]}\n  - {name: b, op: concat}\n"
    problems = load_problems(write(tmp_path, text))
    assert [(p.line, p.path) for p in problems] == [(4, "layers.0.inputs"), (5, "layers.1.inputs")]
    assert "at least 2" in problems[0].message
    assert "missing" in problems[1].message


# Graph errors -----------------------------------------------------------------------------


def test_missing_producer(tmp_path: Path) -> None:
    text = HEADER + (
        f"  - {CONV}, name: stem}}\n"
        "  - name: b\n"
        "    op: add\n"
        "    inputs:\n"
        "      - stem\n"
        "      - stme\n"
    )
    path = write(tmp_path, text)
    problem = single(build_problems(path))
    assert (problem.file, problem.line, problem.path) == (str(path), 9, "layers.1.inputs.1")
    assert problem.message == "unknown producer 'stme' (did you mean 'stem'?)"


def test_forward_reference(tmp_path: Path) -> None:
    text = HEADER + f"  - {CONV}, name: a, inputs: [b]}}\n  - {CONV}, name: b}}\n"
    problem = single(build_problems(write(tmp_path, text)))
    assert (problem.line, problem.path) == (4, "layers.0.inputs.0")
    assert "'b' is defined later (layers.1)" in problem.message


def test_duplicate_name(tmp_path: Path) -> None:
    text = HEADER + f"  - {CONV}, name: a}}\n  - {CONV}, name: a}}\n"
    problem = single(build_problems(write(tmp_path, text)))
    assert (problem.line, problem.path) == (5, "layers.1.name")
    assert problem.message == "duplicate layer name 'a' (first used by layers.0)"


def test_add_shape_mismatch(tmp_path: Path) -> None:
    text = HEADER + f"  - {CONV}, name: a}}\n  - {{name: sum, op: add, inputs: [a, input]}}\n"
    problem = single(build_problems(write(tmp_path, text)))
    assert (problem.line, problem.path) == (5, "layers.1.inputs")
    assert "'a' 1x32x32x8, 'input' 1x32x32x3" in problem.message


def test_concat_needs_same_height_and_width(tmp_path: Path) -> None:
    text = HEADER + (
        "  - {name: pool, op: maxpool, kernel: 2}\n"
        "  - {name: cat, op: concat, inputs: [pool, input]}\n"
    )
    problem = single(build_problems(write(tmp_path, text)))
    assert (problem.line, problem.path) == (5, "layers.1.inputs")
    assert "identical height and width" in problem.message


def test_groups_must_divide_channels(tmp_path: Path) -> None:
    text = HEADER + f"  - {CONV}, name: a, groups: 2}}\n  - {CONV}, name: b, groups: 3}}\n"
    problems = build_problems(write(tmp_path, text))
    assert [(p.line, p.path) for p in problems] == [(4, "layers.0.groups")]
    assert "does not divide the 3 input channels" in problems[0].message


def test_input_not_a_multiple(tmp_path: Path) -> None:
    text = HEADER.replace("height: 32}", "height: 32, multiple_of: 8}").replace("32,", "36,", 1)
    path = write(tmp_path, text + f"  - {CONV}, name: a}}\n")
    problem = single(build_problems(path))
    assert (problem.file, problem.line, problem.path) == (str(path), 2, "input.width")
    assert "input width 36 is not a multiple of input.multiple_of = 8" in problem.message
    from_option = single(build_problems(path, width=40, height=20))
    assert (from_option.file, from_option.path) == ("--input", "input.height")


def test_output_smaller_than_one_pixel(tmp_path: Path) -> None:
    text = HEADER.replace("32", "8") + (
        "  - {name: a, op: conv2d, filters: 4, kernel: 3}\n"
        "  - {name: b, op: conv2d, filters: 4, kernel: 3, stride: 2}\n"
        "  - {name: c, op: conv2d, filters: 4, kernel: 3}\n"
        "  - {name: d, op: global_avgpool}\n"
    )
    path = write(tmp_path, text)
    problem = single(build_problems(path))  # `d` is skipped: its producer failed
    assert (problem.file, problem.line, problem.path) == (str(path), 6, "layers.2")
    # 8 -> 6 -> 2 -> 0; c needs 3, so b needs 7 and the network 9.
    assert problem.message.startswith("layer 'c' (conv2d): input 2x2 (height x width)")
    assert "output would be 0x0" in problem.message
    assert problem.message.endswith("the network input needs height >= 9 and width >= 9")
    tall = single(build_problems(path, height=16))
    assert tall.message.endswith("the network input needs width >= 9")


def test_several_problems_reported_at_once(tmp_path: Path) -> None:
    text = HEADER.replace("height: 32}", "height: 30, multiple_of: 4}") + (
        f"  - {CONV}, name: a}}\n"
        f"  - {CONV}, name: a}}\n"
        "  - {name: sum, op: add, inputs: [a, input]}\n"
        "  - {name: b, op: upsample, inputs: [nowhere]}\n"
    )
    problems = build_problems(write(tmp_path, text))
    assert [(p.line, p.path) for p in problems] == [
        (2, "input.height"),
        (5, "layers.1.name"),
        (6, "layers.2.inputs"),
        (7, "layers.3.inputs.0"),
    ]


def test_problems_without_a_source_file() -> None:
    cfg = WorkloadConfig.model_validate(
        {
            "name": "python",
            "input": {"width": 8, "height": 8},
            "layers": [{"name": "a", "op": "add", "inputs": ["input", "b"]}],
        }
    )
    with pytest.raises(ConfigError) as info:
        build_graph(cfg)
    problem = single(info.value.problems)
    assert (problem.file, problem.line, problem.path) == (None, None, "layers.0.inputs.1")


def test_single_input_ops_reject_several_inputs(tmp_path: Path) -> None:
    text = HEADER + f"  - {CONV}, name: a, inputs: [input, input]}}\n"
    problem = single(build_problems(write(tmp_path, text)))
    assert (problem.path, problem.message) == ("layers.0.inputs", "conv2d takes one input, got 2")


# Overrides and options --------------------------------------------------------------------


def test_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + f"  - {CONV}, name: a}}\n")
    cfg = load_workload(path, ["batch=4", "layers.0.filters=16", "precision=bf16"])
    assert cfg.batch == 4
    graph = build_graph(cfg)
    assert str(graph.layer("a").output_shape) == "4x32x32x16"
    assert graph.precision == "bf16"
    with pytest.raises(ConfigError) as info:
        load_workload(path, ["layers.0.filters=0"])
    problem = single(info.value.problems)
    assert (problem.file, problem.path) == ("--set", "layers.0.filters")


def test_build_options_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + f"  - {CONV}, name: a}}\n")
    problems = build_problems(path, width=0, batch=0, precision="int4")
    assert [(p.file, p.path) for p in problems] == [
        ("--input", "input.width"),
        ("--batch", "batch"),
        ("--precision", "precision"),
    ]
    assert "int8, int16, bf16, fp16, fp32" in problems[2].message


def test_load_from_text() -> None:
    cfg = load_workload_text(HEADER + f"  - {CONV}, name: a}}\n", "inline.yaml")
    assert cfg.layers[0].op == "conv2d" and cfg.precision == "int8" and cfg.batch == 1
    with pytest.raises(ConfigError) as info:
        load_workload_text(HEADER + "  - {name: a, op: maxpool}\n", "inline.yaml")
    problem = single(info.value.problems)
    assert (problem.file, problem.line, problem.path) == ("inline.yaml", 4, "layers.0.kernel")


# JSON schema ------------------------------------------------------------------------------


def test_json_schema_describes_every_field() -> None:
    schema = workload_json_schema()
    models = [schema, *(d for d in schema["$defs"].values() if d.get("type") == "object")]
    # workload, input, fusion, scenario and one model per layer kind
    assert len(models) == 4 + len(OpKind)
    for model in models:
        for name, field in model["properties"].items():
            assert field.get("description"), f"{model['title']}.{name} has no description"
    mapping = schema["properties"]["layers"]["items"]["discriminator"]["mapping"]
    assert set(mapping) == {op.value for op in OpKind}
