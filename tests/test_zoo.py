"""The shipped workload zoo: published MAC and parameter counts, layer structure, and every
workload running end to end on every shipped architecture."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ARCH_DIR, WORKLOAD_DIR

import archsim
from archsim.cli.main import cli
from archsim.config import load_workload, load_workload_text
from archsim.errors import ConfigError
from archsim.workload import TensorShape, build_graph

SHIPPED_ARCHS = sorted(ARCH_DIR.glob("*.yaml"))
SHIPPED_WORKLOADS = sorted(WORKLOAD_DIR.glob("*.yaml"))
SMALL_INPUT = {"tiny_cnn": (32, 32), "resnet50": (64, 64), "bert_base": (16, 1)}
"""Input (width, height) per workload for the all-archs run; others 64x64 (multiples of 32)."""


def graph(
    name: str, size: int | None = None, height: int | None = None
) -> archsim.workload.WorkloadGraph:
    return build_graph(
        load_workload(WORKLOAD_DIR / f"{name}.yaml"), width=size, height=height or size
    )


@pytest.mark.parametrize(
    ("name", "size", "macs", "params"),
    [
        ("yolov3", 416, 32_932_037_632, 61_949_149),  # darknet: 65.864 BFLOPs = 2 x MACs
        ("yolov3", 608, 70_345_950_208, 61_949_149),  # darknet: 140.692 BFLOPs
        ("yolov3_tiny", 416, 2_782_480_896, 8_852_366),  # darknet: 5.571 BFLOPs
        ("mobilenet_v2", 224, 300_774_272, 3_504_872),
        ("resnet50", 224, 4_089_184_256, 25_557_032),
        ("bert_base", 128, 11_173_625_856, 85_054_464),  # encoder layers, sequence 128
    ],
)
def test_published_macs_and_parameters(name: str, size: int, macs: int, params: int) -> None:
    network = graph(name, size, 1 if name == "bert_base" else size)
    assert network.total_macs == macs
    assert network.total_params == params


def test_yolov3_has_darknet_layer_structure() -> None:
    ops = Counter(layer.op.value for layer in graph("yolov3").layers)
    assert ops == {"conv2d": 75, "add": 23, "route": 4, "upsample": 2, "yolo": 3}
    network = graph("yolov3")
    assert network.layer("route_86").inputs == ("upsample_85", "shortcut_61")
    assert network.layer("route_83").inputs == ("conv_79",)
    heads = [layer.input_shapes[0] for layer in network.layers if layer.op.value == "yolo"]
    assert [(s.height, s.width, s.channels) for s in heads] == [
        (13, 13, 255),
        (26, 26, 255),
        (52, 52, 255),
    ]


def test_yolov3_largest_activation_at_1920x1088_is_the_first_conv() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "workload",
            "stats",
            str(WORKLOAD_DIR / "yolov3.yaml"),
            "--input",
            "1920x1088",
            "--precision",
            "int8",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    largest = json.loads(result.stdout)["largest_activation"]
    assert largest == {
        "layer": "conv_0",
        "shape": "1x1088x1920x32",
        "elements": 32 * 1088 * 1920,
        "bytes": 32 * 1088 * 1920,
    }
    text = (
        CliRunner()
        .invoke(
            cli, ["workload", "stats", str(WORKLOAD_DIR / "yolov3.yaml"), "--input", "1920x1088"]
        )
        .stdout
    )
    assert "conv_0 1x1088x1920x32: 66,846,720 elements, 63.75 MiB" in text


def test_stats_layer_table_and_json_layers() -> None:
    runner = CliRunner()
    path = str(WORKLOAD_DIR / "yolov3.yaml")
    table = runner.invoke(cli, ["workload", "stats", path, "--input", "608x608", "--layers"])
    assert table.exit_code == 0
    assert "conv_0" in table.stdout and "yolo_106" in table.stdout and "route_98" in table.stdout
    payload = json.loads(
        runner.invoke(
            cli, ["workload", "stats", path, "--input", "608x608", "--layers", "--json"]
        ).stdout
    )
    rows = payload["layer_table"]
    assert len(rows) == 107 and sum(row["macs"] for row in rows) == payload["macs"]
    assert payload["ops"] == 2 * payload["macs"]


def test_peak_live_activation_counts_tensors_alive_together() -> None:
    payload = json.loads(
        CliRunner()
        .invoke(cli, ["workload", "stats", str(WORKLOAD_DIR / "resnet50.yaml"), "--json"])
        .stdout
    )
    # at layer1.0.add: conv3 output, downsample output and the sum (3 x 56x56x256 bytes)
    assert payload["peak_live_activation_bytes"] == 3 * 56 * 56 * 256
    assert payload["peak_live_at"] == "layer1.0.add"


def test_yolo_input_must_be_a_multiple_of_32(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        graph("yolov3", 1000)
    # the root cause comes first (problems are sorted by line; --input has none)
    assert [str(p) for p in error.value.problems[:2]] == [
        f"--input: input.{axis}: input {axis} 1000 is not a multiple of input.multiple_of = 32 "
        "(nearest: 992)"
        for axis in ("height", "width")
    ]
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(ARCH_DIR / "edge_bus.yaml"),
            str(WORKLOAD_DIR / "yolov3.yaml"),
            "--input",
            "1000x1000",
            "--out",
            str(tmp_path / "t.h5"),
        ],
    )
    assert result.exit_code == 2 and "multiple_of = 32" in result.stderr
    assert not (tmp_path / "t.h5").exists()


def test_workload_list_describes_every_shipped_file() -> None:
    result = CliRunner().invoke(cli, ["workload", "list"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [path.name for path in SHIPPED_WORKLOADS]
    assert all("GMACs" in line for line in lines)


@pytest.mark.parametrize("arch", SHIPPED_ARCHS, ids=lambda p: p.stem)
@pytest.mark.parametrize("workload", SHIPPED_WORKLOADS, ids=lambda p: p.stem)
def test_every_shipped_workload_runs_on_every_shipped_arch(arch: Path, workload: Path) -> None:
    width, height = SMALL_INPUT.get(workload.stem, (64, 64))
    summary = archsim.simulate(arch, workload, width=width, height=height, trace=False).summary
    assert summary["total_macs"] == summary["workload_macs"] > 0
    assert summary["latency_ps"] >= summary["roofline_bound_ps"]


def test_bert_sequence_length_is_the_size_parameter() -> None:
    for sequence in (128, 384):
        network = graph("bert_base", sequence, 1)
        scores = network.layer("encoder0.scores")
        assert scores.output_shape == TensorShape(1, 12, sequence, sequence)
        assert scores.macs == network.layer("encoder0.context").macs == 12 * sequence**2 * 64
        projections = 4 * sequence * 768 * 768 + 2 * sequence * 768 * 3072
        assert network.total_macs == 12 * (projections + 2 * scores.macs)


def test_attention_heads_must_divide_the_channels() -> None:
    text = (WORKLOAD_DIR / "bert_base.yaml").read_text().replace("heads: 12", "heads: 7", 1)
    cfg = load_workload_text(text, file="bert.yaml")
    with pytest.raises(ConfigError) as error:
        build_graph(cfg)
    problem = error.value.problems[0]
    assert (problem.path, problem.message) == (
        "layers.3.heads",
        "heads = 7 does not divide the 768 channels",
    )
