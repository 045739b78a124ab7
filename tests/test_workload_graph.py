"""Layer-graph builder: shapes, GEMM views and counts, checked against hand computations
and the published ResNet-50 figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from archsim.config.workload import WorkloadConfig, load_workload
from archsim.domain import Precision
from archsim.workload import NETWORK_INPUT, Gemm, Layer, OpKind, TensorShape, build_graph

WORKLOADS = Path(__file__).resolve().parents[1] / "workloads"

RESNET50_MACS = 4_089_184_256  # conv + fc at 224x224
RESNET50_PARAMS = 25_557_032  # torchvision count: weights, fc bias, batchnorm gamma and beta
# 53 batchnorms over 26,560 channels: folding keeps one bias per channel instead of two.
RESNET50_WEIGHT_ELEMENTS = RESNET50_PARAMS - 26_560  # = 25,530,472


@pytest.fixture(scope="module")
def resnet50() -> WorkloadConfig:
    return load_workload(WORKLOADS / "resnet50.yaml")


@pytest.fixture(scope="module")
def tiny_cnn() -> WorkloadConfig:
    return load_workload(WORKLOADS / "tiny_cnn.yaml")


def network(
    *layers: dict[str, Any],
    height: int = 16,
    width: int = 16,
    channels: int = 8,
    batch: int = 1,
) -> WorkloadConfig:
    """A workload built in Python (no source file)."""
    return WorkloadConfig.model_validate(
        {
            "name": "test",
            "input": {"width": width, "height": height, "channels": channels},
            "batch": batch,
            "layers": list(layers),
        }
    )


def only_layer(layer: dict[str, Any], **input_shape: int) -> Layer:
    graph = build_graph(network({"name": "x", **layer}, **input_shape))
    return graph.layer("x")


# ResNet-50 --------------------------------------------------------------------------------


def test_resnet50_totals_at_224(resnet50: WorkloadConfig) -> None:
    graph = build_graph(resnet50)
    assert graph.total_macs == RESNET50_MACS
    assert graph.total_params == RESNET50_PARAMS
    assert graph.total_weight_elements == RESNET50_WEIGHT_ELEMENTS
    assert graph.input_shape == TensorShape(1, 224, 224, 3)
    assert graph.precision is Precision.INT8
    assert len(graph.layers) == 72  # 53 conv, 1 maxpool, 16 add, 1 global pool, 1 fc
    assert sum(layer.op is OpKind.CONV2D for layer in graph.layers) == 53
    assert sum(layer.op is OpKind.ADD for layer in graph.layers) == 16


def test_resnet50_shapes_at_224(resnet50: WorkloadConfig) -> None:
    graph = build_graph(resnet50)
    shapes = {layer.name: str(layer.output_shape) for layer in graph.layers}
    assert shapes["conv1"] == "1x112x112x64"
    assert shapes["maxpool"] == "1x56x56x64"
    assert shapes["layer1.0.add"] == "1x56x56x256"
    assert shapes["layer2.0.conv1"] == "1x56x56x128"  # v1.5: the stride is on conv2
    assert shapes["layer2.0.conv2"] == "1x28x28x128"
    assert shapes["layer2.0.downsample"] == "1x28x28x512"
    assert shapes["layer3.5.add"] == "1x14x14x1024"
    assert shapes["layer4.2.add"] == "1x7x7x2048"
    assert shapes["avgpool"] == "1x1x1x2048"
    assert shapes["fc"] == "1x1x1x1000"
    conv1 = graph.layer("conv1")
    assert conv1.gemm == Gemm(m=112 * 112, n=64, k=7 * 7 * 3, groups=1)
    assert conv1.padding == (3, 3, 3, 3)
    assert conv1.macs == 118_013_952
    assert graph.layer("fc").gemm == Gemm(m=1, n=1000, k=2048, groups=1)


def test_resnet50_builds_at_1440(resnet50: WorkloadConfig) -> None:
    graph = build_graph(resnet50, width=1440, height=1440)
    assert graph.input_shape == TensorShape(1, 1440, 1440, 3)
    assert graph.layer("conv1").output_shape == TensorShape(1, 720, 720, 64)
    assert graph.layer("maxpool").output_shape == TensorShape(1, 360, 360, 64)
    assert graph.layer("layer4.2.add").output_shape == TensorShape(1, 45, 45, 2048)
    assert graph.layer("avgpool").input_shapes == (TensorShape(1, 45, 45, 2048),)
    assert graph.total_params == RESNET50_PARAMS


def test_resnet50_non_square_input_keeps_width_and_height_apart(
    resnet50: WorkloadConfig,
) -> None:
    graph = build_graph(resnet50, width=1920, height=1088)
    assert graph.input_shape == TensorShape(1, 1088, 1920, 3)
    assert graph.layer("conv1").output_shape == TensorShape(1, 544, 960, 64)
    assert graph.layer("layer2.0.add").output_shape == TensorShape(1, 136, 240, 512)
    assert graph.layer("layer4.2.add").output_shape == TensorShape(1, 34, 60, 2048)


def test_batch_multiplies_macs_not_params(resnet50: WorkloadConfig) -> None:
    graph = build_graph(resnet50, batch=4)
    assert graph.total_macs == 4 * RESNET50_MACS
    assert graph.total_params == RESNET50_PARAMS
    assert graph.total_weight_elements == RESNET50_WEIGHT_ELEMENTS
    assert graph.layer("fc").gemm == Gemm(m=4, n=1000, k=2048, groups=1)
    assert graph.layer("layer1.0.add").vector_ops == 4 * 56 * 56 * 256


def test_precision_changes_bytes_not_counts(resnet50: WorkloadConfig) -> None:
    int8 = build_graph(resnet50)
    bf16 = build_graph(resnet50, precision="bf16")
    assert bf16.precision is Precision.BF16
    assert bf16.total_macs == int8.total_macs
    shape = bf16.layer("conv1").output_shape
    assert shape.nbytes(Precision.INT8) == 112 * 112 * 64
    assert shape.nbytes(bf16.precision) == 2 * 112 * 112 * 64
    assert shape.nbytes(Precision.FP32) == 4 * 112 * 112 * 64


def test_graph_navigation(resnet50: WorkloadConfig) -> None:
    graph = build_graph(resnet50)
    assert [layer.index for layer in graph.layers] == list(range(len(graph.layers)))
    assert graph.layers[0].inputs == (NETWORK_INPUT,)
    assert [layer.name for layer in graph.consumers(NETWORK_INPUT)] == ["conv1"]
    assert [layer.name for layer in graph.consumers("maxpool")] == [
        "layer1.0.conv1",
        "layer1.0.downsample",
    ]
    assert graph.consumers("fc") == ()
    assert graph.layer("layer1.1.add").inputs == ("layer1.1.conv3", "layer1.0.add")
    with pytest.raises(KeyError, match="no layer 'nope'"):
        graph.layer("nope")


# Per-operator rules -----------------------------------------------------------------------


def test_conv_with_padding_stride_and_dilation() -> None:
    layer = only_layer(
        {
            "op": "conv2d",
            "filters": 4,
            "kernel": [3, 5],
            "stride": [2, 3],
            "padding": [1, 2],
            "dilation": [2, 1],
        },
        height=20,
        width=30,
    )
    # height: reach 2*(3-1)+1 = 5, (20 + 2 - 5) // 2 + 1 = 9
    # width:  reach 5,             (30 + 4 - 5) // 3 + 1 = 10
    assert layer.output_shape == TensorShape(1, 9, 10, 4)
    assert (layer.kernel, layer.stride, layer.dilation) == ((3, 5), (2, 3), (2, 1))
    assert layer.padding == (1, 1, 2, 2)
    assert layer.gemm == Gemm(m=90, n=4, k=3 * 5 * 8, groups=1)
    assert layer.macs == 43_200
    assert layer.weight_elements == layer.params == 480
    assert layer.is_mac_layer and layer.vector_ops == 0


def test_depthwise_conv() -> None:
    layer = only_layer(
        {"op": "conv2d", "filters": 32, "kernel": 3, "padding": 1, "groups": 32, "bias": True},
        channels=32,
    )
    assert layer.output_shape == TensorShape(1, 16, 16, 32)
    assert layer.gemm == Gemm(m=256, n=1, k=9, groups=32)
    assert layer.macs == 256 * 9 * 32
    assert layer.weight_elements == layer.params == 9 * 32 + 32


def test_grouped_conv_with_batchnorm() -> None:
    layer = only_layer(
        {
            "op": "conv2d",
            "filters": 32,
            "kernel": 3,
            "padding": 1,
            "groups": 4,
            "batchnorm": True,
        },
        height=8,
        width=8,
        channels=16,
    )
    assert layer.gemm == Gemm(m=64, n=8, k=36, groups=4)
    assert layer.macs == 64 * 8 * 36 * 4
    assert layer.weight_elements == 36 * 32 + 32  # folded bias
    assert layer.params == 36 * 32 + 2 * 32  # gamma and beta


def test_same_padding_splits_like_tensorflow() -> None:
    layer = only_layer(
        {"op": "conv2d", "filters": 8, "kernel": 3, "stride": 2, "padding": "same"},
        height=16,
        width=15,
    )
    # output = ceil(in / 2) = 8 both ways; total padding 1 (height: after) and 2 (width).
    assert layer.output_shape == TensorShape(1, 8, 8, 8)
    assert layer.padding == (0, 1, 1, 1)
    stride_one = only_layer({"op": "conv2d", "filters": 8, "kernel": 5, "padding": "same"})
    assert stride_one.output_shape == TensorShape(1, 16, 16, 8)
    assert stride_one.padding == (2, 2, 2, 2)
    valid = only_layer({"op": "conv2d", "filters": 8, "kernel": 3, "padding": "valid"})
    assert valid.output_shape == TensorShape(1, 14, 14, 8)
    assert valid.padding == (0, 0, 0, 0)


def test_fully_connected_flattens() -> None:
    layer = only_layer({"op": "fully_connected", "units": 10}, height=7, width=7, channels=64)
    assert layer.output_shape == TensorShape(1, 1, 1, 10)
    assert layer.gemm == Gemm(m=1, n=10, k=7 * 7 * 64, groups=1)
    assert layer.macs == 31_360
    assert layer.weight_elements == layer.params == 31_370
    batched = build_graph(
        network({"name": "x", "op": "fully_connected", "units": 10, "bias": False}, batch=4)
    ).layer("x")
    assert batched.gemm == Gemm(m=4, n=10, k=16 * 16 * 8, groups=1)
    assert batched.params == 16 * 16 * 8 * 10


def test_matmul_projects_each_position() -> None:
    layer = only_layer({"op": "matmul", "units": 16}, height=4, width=6, batch=2)
    assert layer.output_shape == TensorShape(2, 4, 6, 16)
    assert layer.gemm == Gemm(m=48, n=16, k=8, groups=1)
    assert layer.macs == 6_144
    assert layer.params == 128


def test_pools() -> None:
    maxpool = only_layer(
        {"op": "maxpool", "kernel": 3, "stride": 2, "padding": 1}, height=9, width=9, channels=4
    )
    assert maxpool.output_shape == TensorShape(1, 5, 5, 4)
    assert maxpool.vector_ops == 100 * 9
    assert (maxpool.macs, maxpool.params, maxpool.gemm, maxpool.is_mac_layer) == (0, 0, None, False)
    avgpool = only_layer({"op": "avgpool", "kernel": [2, 3]}, height=9, width=9, channels=4)
    assert avgpool.stride == (2, 3)  # stride defaults to the kernel
    assert avgpool.output_shape == TensorShape(1, 4, 3, 4)
    assert avgpool.vector_ops == 48 * 6
    pooled = only_layer({"op": "global_avgpool"}, height=9, width=9, channels=4)
    assert pooled.output_shape == TensorShape(1, 1, 1, 4)
    assert pooled.vector_ops == 324


def test_upsample() -> None:
    layer = only_layer({"op": "upsample", "scale": 3}, height=4, width=5, channels=2)
    assert layer.output_shape == TensorShape(1, 12, 15, 2)
    assert layer.vector_ops == 360


def test_add_and_concat() -> None:
    cfg = network(
        {"name": "a", "op": "conv2d", "filters": 4, "kernel": 1, "inputs": ["input"]},
        {"name": "b", "op": "conv2d", "filters": 4, "kernel": 1, "inputs": ["input"]},
        {"name": "c", "op": "conv2d", "filters": 4, "kernel": 1, "inputs": ["input"]},
        {"name": "sum", "op": "add", "inputs": ["a", "b", "c"]},
        {"name": "cat", "op": "concat", "inputs": ["sum", "input"]},
    )
    graph = build_graph(cfg)
    total = graph.layer("sum")
    assert total.output_shape == TensorShape(1, 16, 16, 4)
    assert total.vector_ops == 2 * 16 * 16 * 4
    cat = graph.layer("cat")
    assert cat.output_shape == TensorShape(1, 16, 16, 12)
    assert cat.is_view and cat.vector_ops == 0 and cat.macs == 0
    assert cat.input_shapes == (TensorShape(1, 16, 16, 4), TensorShape(1, 16, 16, 8))
    assert [layer.name for layer in graph.consumers("input")] == ["a", "b", "c", "cat"]


def test_tensor_shape() -> None:
    shape = TensorShape(batch=1, height=56, width=56, channels=256)
    assert str(shape) == "1x56x56x256"
    assert shape.elements == 802_816
    assert shape.nbytes(Precision.FP16) == 1_605_632


# tiny_cnn ---------------------------------------------------------------------------------


TRANSFORMER_OPS = {
    OpKind.ATTENTION_SCORES,
    OpKind.ATTENTION_CONTEXT,
    OpKind.SOFTMAX,
    OpKind.LAYERNORM,
}
IMPORTED_MODEL_OPS = {  # covered by the imported graphs of test_import_onnx
    OpKind.ELTWISE,
    OpKind.RESHAPE,
    OpKind.SLICE,
    OpKind.PAD,
    OpKind.REDUCE,
    OpKind.BATCH_MATMUL,
}


def test_tiny_cnn_covers_every_convolutional_op(tiny_cnn: WorkloadConfig) -> None:
    graph = build_graph(tiny_cnn)
    assert {layer.op for layer in graph.layers} == (
        set(OpKind) - TRANSFORMER_OPS - IMPORTED_MODEL_OPS - {OpKind.INPUT}
    )
    assert graph.layer("cat").output_shape == TensorShape(1, 16, 16, 32)
    assert graph.layer("fc").output_shape == TensorShape(1, 1, 1, 10)


@pytest.mark.parametrize(("width", "height"), [(8, 8), (64, 48), (320, 240)])
def test_tiny_cnn_builds_at_multiples_of_8(
    tiny_cnn: WorkloadConfig, width: int, height: int
) -> None:
    graph = build_graph(tiny_cnn, width=width, height=height)
    assert graph.layer("stem").output_shape == TensorShape(1, height, width, 16)
    assert graph.layer("cat").output_shape == TensorShape(1, height // 2, width // 2, 32)
