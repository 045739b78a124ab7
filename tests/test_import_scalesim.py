"""SCALE-Sim topology import: layouts, SCALE-Sim's output sizes and MACs, chaining, bad rows."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from archsim.cli.main import ArchsimGroup
from archsim.cli.workload_import import import_command, load_any_workload
from archsim.config import load_workload, load_workload_text
from archsim.errors import ConfigError
from archsim.workload import TensorShape, build_graph
from archsim.workload.importers import import_scalesim_csv

CONV_HEADER = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
    "Num Filter, Strides,\n"
)


def write(tmp_path: Path, text: str, name: str = "topo.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def scalesim_macs(row: str) -> int:
    """MACs of a conv row as SCALE-Sim counts them (topology_utils.topo_calc_hyperparams)."""
    values = [int(cell) for cell in row.split(",")[1:] if cell.strip()]
    height, width, kernel_h, kernel_w, channels, filters, stride_h = values[:7]
    stride_w = values[7] if len(values) > 7 else stride_h
    out_h = math.ceil((height - kernel_h + stride_h) / stride_h)
    out_w = math.ceil((width - kernel_w + stride_w) / stride_w)
    return out_h * out_w * kernel_h * kernel_w * channels * filters


def layer_fields(path: Path, **options: Any) -> list[dict[str, Any]]:
    cfg = import_scalesim_csv(path, **options)
    return [layer.model_dump(exclude_defaults=True) for layer in cfg.layers]


CHAIN_ROWS = [
    "Conv1, 32, 32, 3, 3, 3, 16, 1,",  # -> 30x30x16
    "Conv2, 30, 30, 3, 3, 16, 32, 2,",  # SCALE-Sim rounds 13.5 up: 15x15x32 (padding 1)
    "Side, 30, 30, 1, 1, 16, 8, 1,",  # a branch on Conv1's output
    "Conv3, 15, 15, 1, 1, 32, 64, 1,",  # reads Conv2, not the row before
    "DP4, 15, 15, 3, 3, 64, 1, 1,",  # 'DP' in the name: depthwise -> 13x13x64
    "Wide, 13, 13, 1, 3, 64, 16, 1, 2,",  # 9th value: stride along the width -> 13x6x16
    "Again, 32, 32, 1, 1, 3, 4, 1,",  # reads the network input
]


def test_conv_rows_connect_by_shape_with_scalesim_sizes(tmp_path: Path) -> None:
    path = write(tmp_path, CONV_HEADER + "\n".join(CHAIN_ROWS) + "\n")
    cfg = import_scalesim_csv(path)
    assert (cfg.name, cfg.batch, cfg.precision) == ("topo", 1, "int8")
    assert cfg.input.model_dump() == {"width": 32, "height": 32, "channels": 3, "multiple_of": 1}
    assert layer_fields(path) == [
        {"name": "Conv1", "op": "conv2d", "filters": 16, "kernel": 3},
        {"name": "Conv2", "op": "conv2d", "filters": 32, "kernel": 3, "stride": 2, "padding": 1},
        {"name": "Side", "op": "conv2d", "inputs": ["Conv1"], "filters": 8, "kernel": 1},
        {"name": "Conv3", "op": "conv2d", "inputs": ["Conv2"], "filters": 64, "kernel": 1},
        {"name": "DP4", "op": "conv2d", "filters": 64, "kernel": 3, "groups": 64},
        {"name": "Wide", "op": "conv2d", "filters": 16, "kernel": [1, 3], "stride": [1, 2]},
        {"name": "Again", "op": "conv2d", "inputs": ["input"], "filters": 4, "kernel": 1},
    ]
    graph = build_graph(cfg)
    assert [layer.macs for layer in graph.layers] == [scalesim_macs(row) for row in CHAIN_ROWS]
    assert str(graph.layer("Wide").output_shape) == "1x13x6x16"


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize("kernel", [1, 2, 3, 5, 7, 11])
def test_every_output_size_is_scalesims(tmp_path: Path, kernel: int, stride: int) -> None:
    for size in range(kernel, kernel + 2 * stride + 1):
        row = f"L, {size}, {size + 1}, {kernel}, {kernel}, 3, 4, {stride},"
        graph = build_graph(import_scalesim_csv(write(tmp_path, CONV_HEADER + row + "\n")))
        assert graph.total_macs == scalesim_macs(row), row


def test_the_quirks_of_shipped_topology_files(tmp_path: Path) -> None:
    text = (
        "\ufeffLayer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
        "Num Filter, Strides,,,Eh,Ew,e2\r\n"
        ",,,,,,,,,,,,\r\n"
        "\r\n"
        "Conv1,16,16,3,3,3,8,1,,,14,14,196\r\n"
        "\tConv2 ,14,14,3,3,8,8,1,#dw\r\n"
        "Conv3,12,12,1,1,8,4,1\r\n"
    )
    assert [layer["name"] for layer in layer_fields(write(tmp_path, text))] == [
        "Conv1",
        "Conv2",
        "Conv3",
    ]


def test_gemm_rows_become_matmuls(tmp_path: Path) -> None:
    rows = ["QKT, 64, 64, 16,", "QKTV, 64, 16, 64,", "Proj, 64, 32, 16,", "Head, 64, 8, 16,"]
    path = write(tmp_path, "Layer, M, N, K,\n" + "\n".join(rows) + "\n", "attn.csv")
    cfg = import_scalesim_csv(path)
    assert cfg.input.model_dump() == {"width": 1, "height": 64, "channels": 16, "multiple_of": 1}
    assert layer_fields(path) == [
        {"name": "QKT", "op": "matmul", "units": 64},
        {"name": "QKTV", "op": "matmul", "units": 16},
        {"name": "Proj", "op": "matmul", "units": 32},
        {"name": "Head", "op": "matmul", "inputs": ["QKTV"], "units": 8},
    ]
    gemms = [layer.gemm for layer in build_graph(cfg).layers]
    assert [(g.m, g.n, g.k) for g in gemms if g] == [
        (64, 64, 16),
        (64, 16, 64),
        (64, 32, 16),
        (64, 8, 16),
    ]


def test_the_layout_argument(tmp_path: Path) -> None:
    path = write(tmp_path, "name, rows, cols, depth\nFC, 4, 10, 32\n")
    assert layer_fields(path, layout="gemm") == [{"name": "FC", "op": "matmul", "units": 10}]
    with pytest.raises(ConfigError, match="cannot tell the layout from the header") as excinfo:
        import_scalesim_csv(path)
    assert excinfo.value.problems[0].line == 1
    gemm = write(tmp_path, "Layer, M, N, K,\nFC, 4, 10, 32,\n", "gemm.csv")
    with pytest.raises(ConfigError, match="header is that of a gemm topology, but layout 'conv'"):
        import_scalesim_csv(gemm, layout="conv")


def test_bad_rows_are_all_reported_at_their_lines(tmp_path: Path) -> None:
    rows = [
        "Good, 8, 8, 3, 3, 3, 4, 1,",
        "Short, 8, 8, 3, 3,",
        "Letters, 8, eight, 3, 3, 3, 4, 1,",
        "Zero, 8, 8, 3, 3, 0, 4, 1,",
        "Big, 8, 8, 9, 3, 3, 4, 1,",
        "Stray, 8, 8, 3, 3, 3, 4, 1, 1, 7,",
        "Float, 8, 8, 3, 3, 3, 4, 1.5,",
    ]
    path = write(tmp_path, CONV_HEADER + "\n".join(rows) + "\n")
    with pytest.raises(ConfigError) as excinfo:
        import_scalesim_csv(path)
    columns = (
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
        "Num Filter, Strides"
    )
    assert [str(problem) for problem in excinfo.value.problems] == [
        f"{path}:3: expected 8 values ({columns}), got 5",
        f"{path}:4: IFMAP Width: expected an integer, got 'eight'",
        f"{path}:5: Channels: must be at least 1, got 0",
        f"{path}:6: Filter Height 9 is larger than IFMAP Height 8",
        f"{path}:7: value '7' in column 10, which the header does not name; expected 8 values "
        f"({columns})",
        f"{path}:8: Strides: expected an integer, got '1.5'",
    ]


def test_rows_that_do_not_connect_read_their_own_input(tmp_path: Path) -> None:
    # As in SCALE-Sim's ResNet files: the maxpool after Conv1 is not listed, and each row
    # states an IFMAP that SCALE-Sim reads from memory.
    rows = [
        "Conv1,224,224,7,7,3,64,2,",
        "Conv2_1a,56,56,3,3,64,64,1,",
        "Conv2_1b,56,56,3,3,64,64,1,",
    ]
    cfg = import_scalesim_csv(write(tmp_path, CONV_HEADER + "\n".join(rows) + "\n"))
    assert [layer.name for layer in cfg.layers] == [
        "Conv1",
        "Conv2_1a.ifmap",
        "Conv2_1a",
        "Conv2_1b",
    ]
    graph = build_graph(cfg)
    assert graph.layer("Conv2_1a.ifmap").output_shape == TensorShape(1, 56, 56, 64)
    assert graph.layer("Conv2_1a").inputs == ("Conv2_1a.ifmap",)
    assert graph.layer("Conv2_1b").inputs == ("Conv2_1a.ifmap",)  # same IFMAP: shared
    # SCALE-Sim's MACs per row: output pixels (rounded up) x filters x window x channels
    assert graph.total_macs == 110 * 110 * 64 * 7 * 7 * 3 + 2 * 54 * 54 * 64 * 3 * 3 * 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", "empty topology file"), ("\n" + CONV_HEADER, "a header but no layer rows")],
)
def test_empty_topologies(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        import_scalesim_csv(write(tmp_path, text))


def invoke_import(*args: str | Path) -> Result:
    group = ArchsimGroup("workload", commands={"import": import_command})
    return CliRunner().invoke(group, ["import", *(str(arg) for arg in args)])


def test_import_command(tmp_path: Path) -> None:
    model = write(tmp_path, CONV_HEADER + "\n".join(CHAIN_ROWS) + "\n", "net.csv")
    out = tmp_path / "net.yaml"
    result = invoke_import(model, "-o", out)
    assert result.exit_code == 0, result.output
    graph = build_graph(import_scalesim_csv(model))
    assert result.output == (
        f"wrote {out}: workload net, 7 layers, {graph.total_macs:,} MACs, "
        f"{graph.total_params:,} parameters\n"
    )
    text = out.read_text()
    assert text.startswith("# Imported from net.csv; written by archsim ")
    assert load_workload(out) == import_scalesim_csv(model)
    assert load_workload_text(text) == load_any_workload(model)


def test_import_command_options(tmp_path: Path) -> None:
    model = write(tmp_path, "name, rows, cols, depth\nFC, 4, 10, 32\n", "fc.txt")
    out = tmp_path / "fc.yaml"
    options = ["--format", "scalesim", "--layout", "gemm", "--name", "tiny fc"]
    result = invoke_import(model, "-o", out, *options)
    assert result.exit_code == 0, result.output
    assert load_workload(out).name == "tiny fc"
    result = invoke_import(model, "-o", model, "--format", "scalesim", "--layout", "gemm")
    assert result.exit_code == 2
    assert "the output would overwrite the model" in result.output
