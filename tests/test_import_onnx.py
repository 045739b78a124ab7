"""ONNX import: models built with onnx.helper, imported and compared with shipped workloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

onnx = pytest.importorskip("onnx")
from onnx import NodeProto, TensorProto, helper, numpy_helper  # noqa: E402

from archsim.cli.main import ArchsimGroup  # noqa: E402
from archsim.cli.workload_import import import_command, load_any_workload  # noqa: E402
from archsim.config import WorkloadConfig, load_workload, load_workload_text  # noqa: E402
from archsim.errors import ConfigError  # noqa: E402
from archsim.workload import build_graph  # noqa: E402
from archsim.workload.importers import (  # noqa: E402
    export_yaml,
    import_onnx,
    write_workload_yaml,
)

ROOT = Path(__file__).resolve().parents[1]
RESNET50 = ROOT / "workloads" / "resnet50.yaml"
# The layers of workloads/tiny_cnn.yaml that `tiny_cnn` builds in ONNX (every layer op).
TINY_CNN = """
name: tiny_cnn
input: {width: 32, height: 32, channels: 3}
layers:
  - {name: stem, op: conv2d, filters: 16, kernel: 3, padding: same, batchnorm: true, activation: relu}
  - {name: pool1, op: maxpool, kernel: 2}
  - {name: dw, op: conv2d, filters: 16, kernel: 3, padding: 1, groups: 16, batchnorm: true, activation: relu6}
  - {name: pw, op: conv2d, filters: 16, kernel: 1, batchnorm: true}
  - {name: res, op: add, inputs: [pw, pool1], activation: relu}
  - {name: pool2, op: avgpool, kernel: 2}
  - {name: up, op: upsample, scale: 2}
  - {name: cat, op: concat, inputs: [up, res]}
  - {name: mix, op: conv2d, filters: 32, kernel: 3, padding: 1, groups: 2, bias: true, activation: relu}
  - {name: proj, op: matmul, units: 32, bias: true}
  - {name: gap, op: global_avgpool}
  - {name: fc, op: fully_connected, units: 10}
"""  # noqa: E501


class OnnxNet:
    """Builds an ONNX graph node by node. Weights are typed graph inputs (shape, no data)
    unless `initializers` is set, in which case they are zero-filled initializers."""

    def __init__(self, shape: list[Any], *, initializers: bool = False) -> None:
        self.nodes: list[NodeProto] = []
        self.inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)]
        self.initializers: list[TensorProto] = []
        self._as_initializers = initializers

    def weight(self, name: str, shape: list[int]) -> str:
        if self._as_initializers:
            array = np.zeros(shape, np.float32)
            self.initializers.append(numpy_helper.from_array(array, name))
        else:
            self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        return name

    def constant(self, name: str, values: list[float] | list[int], dtype: Any = np.float32) -> str:
        """An initializer holding `values` (always stored: its value may matter)."""
        self.initializers.append(numpy_helper.from_array(np.array(values, dtype), name))
        return name

    def node(self, op: str, inputs: list[str], name: str, **attributes: Any) -> str:
        output = f"{name}:out"
        self.nodes.append(helper.make_node(op, inputs, [output], name=name, **attributes))
        return output

    def conv(
        self,
        name: str,
        x: str,
        cin: int,
        cout: int,
        kernel: int,
        *,
        bias: bool = False,
        group: int = 1,
        **attributes: Any,
    ) -> str:
        weight = self.weight(f"{name}.weight", [cout, cin // group, kernel, kernel])
        inputs = [x, weight] + ([self.weight(f"{name}.bias", [cout])] if bias else [])
        return self.node("Conv", inputs, name, group=group, **attributes)

    def batchnorm(self, name: str, x: str, channels: int) -> str:
        parts = [
            self.weight(f"{name}.{part}", [channels]) for part in ("scale", "B", "mean", "var")
        ]
        return self.node("BatchNormalization", [x, *parts], name)

    def conv_bn(
        self,
        name: str,
        x: str,
        cin: int,
        cout: int,
        kernel: int,
        stride: int = 1,
        pad: int = 0,
        *,
        relu: bool = True,
    ) -> str:
        y = self.conv(name, x, cin, cout, kernel, strides=[stride] * 2, pads=[pad] * 4)
        y = self.batchnorm(f"{name}.bn", y, cout)
        return self.node("Relu", [y], f"{name}.relu") if relu else y

    def save(self, path: Path, outputs: dict[str, list[Any]], opset: int = 17) -> Path:
        infos = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()]
        graph = helper.make_graph(self.nodes, "net", self.inputs, infos, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        onnx.save(model, str(path))
        return path


def resnet50(path: Path, batch: int | str = "N") -> Path:
    """torchvision's ResNet-50 v1.5: BN after every conv, ReLU, Add, MaxPool, GAP, Gemm."""
    net = OnnxNet([batch, 3, 224, 224])
    x = net.conv_bn("conv1", "x", 3, 64, 7, 2, 3)
    x = net.node("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4)
    channels = 64
    stages = zip([3, 4, 6, 3], [64, 128, 256, 512], strict=True)
    for stage, (blocks, width) in enumerate(stages, start=1):
        for block in range(blocks):
            stride = 2 if block == 0 and stage > 1 else 1
            prefix = f"layer{stage}.{block}"
            y = net.conv_bn(f"{prefix}.conv1", x, channels, width, 1)
            y = net.conv_bn(f"{prefix}.conv2", y, width, width, 3, stride, 1)
            y = net.conv_bn(f"{prefix}.conv3", y, width, width * 4, 1, relu=False)
            shortcut = x
            if block == 0:
                shortcut = net.conv_bn(
                    f"{prefix}.downsample", x, channels, width * 4, 1, stride, relu=False
                )
            x = net.node(
                "Relu", [net.node("Add", [y, shortcut], f"{prefix}.add")], f"{prefix}.relu"
            )
            channels = width * 4
    x = net.node("GlobalAveragePool", [x], "avgpool")
    x = net.node("Flatten", [x], "flatten", axis=1)
    weights = [net.weight("fc.weight", [1000, 2048]), net.weight("fc.bias", [1000])]
    x = net.node("Gemm", [x, *weights], "fc", transB=1)
    x = net.node("Softmax", [x], "softmax", axis=1)
    return net.save(path, {x: [batch, 1000]})


def tiny_cnn(path: Path) -> Path:
    """`TINY_CNN` as ONNX, with real (zero) initializers."""
    net = OnnxNet(["batch", 3, 32, 32], initializers=True)
    x = net.conv("stem", "x", 3, 16, 3, auto_pad="SAME_UPPER")
    x = net.node("Relu", [net.batchnorm("stem.bn", x, 16)], "stem.relu")
    pool1 = net.node("MaxPool", [x], "pool1", kernel_shape=[2, 2], strides=[2, 2])
    x = net.conv("dw", pool1, 16, 16, 3, group=16, pads=[1] * 4)
    bounds = [net.constant("zero", [0.0]), net.constant("six", [6.0])]
    x = net.node("Clip", [net.batchnorm("dw.bn", x, 16), *bounds], "dw.relu6")
    x = net.batchnorm("pw.bn", net.conv("pw", x, 16, 16, 1), 16)
    res = net.node("Relu", [net.node("Add", [x, pool1], "res")], "res.relu")
    x = net.node("AveragePool", [res], "pool2", kernel_shape=[2, 2], strides=[2, 2])
    scales = net.constant("scales", [1.0, 1.0, 2.0, 2.0])
    x = net.node("Resize", [x, "", scales], "up", mode="nearest")
    x = net.node("Concat", [x, res], "cat", axis=1)
    x = net.node("Relu", [net.conv("mix", x, 32, 32, 3, bias=True, group=2, pads=[1] * 4)], "r")
    x = net.node("Transpose", [x], "to_nhwc", perm=[0, 2, 3, 1])
    x = net.node("MatMul", [x, net.weight("proj.weight", [32, 32])], "proj")
    x = net.node("Add", [x, net.weight("proj.bias", [32])], "proj.bias")
    x = net.node("Transpose", [x], "to_nchw", perm=[0, 3, 1, 2])
    x = net.node("Flatten", [net.node("GlobalAveragePool", [x], "gap")], "flatten")
    x = net.node("Gemm", [x, net.weight("fc.weight", [32, 10]), net.weight("fc.bias", [10])], "fc")
    return net.save(path, {x: ["batch", 10]})


def error_messages(excinfo: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return [problem.message for problem in excinfo.value.problems]


def test_resnet50_equals_the_shipped_workload(tmp_path: Path) -> None:
    cfg = import_onnx(resnet50(tmp_path / "resnet50.onnx"))
    graph, shipped = build_graph(cfg), build_graph(load_workload(RESNET50))
    assert (graph.total_macs, graph.total_params) == (4_089_184_256, 25_557_032)
    assert (shipped.total_macs, shipped.total_params) == (4_089_184_256, 25_557_032)
    assert cfg.layers == load_workload(RESNET50).layers
    assert (cfg.name, cfg.batch, cfg.precision, cfg.input) == (
        "resnet50",
        1,
        "int8",
        load_workload(RESNET50).input,
    )


def test_a_fixed_batch_is_kept(tmp_path: Path) -> None:
    cfg = import_onnx(resnet50(tmp_path / "r.onnx", batch=2), name="resnet50 b2")
    assert (cfg.name, cfg.batch) == ("resnet50 b2", 2)
    assert build_graph(cfg).total_macs == 2 * 4_089_184_256


def test_tiny_cnn_covers_every_layer_op(tmp_path: Path) -> None:
    cfg = import_onnx(tiny_cnn(tmp_path / "tiny.onnx"))
    expected = load_workload_text(TINY_CNN)
    assert (cfg.layers, cfg.input) == (expected.layers, expected.input)
    graph, expected_graph = build_graph(cfg), build_graph(expected)
    assert (graph.total_macs, graph.total_params) == (
        expected_graph.total_macs,
        expected_graph.total_params,
    )


def test_folds_and_pass_throughs(tmp_path: Path) -> None:
    net = OnnxNet([1, 3, 16, 16])
    # Asymmetric pads whose output 'same' reproduces: floor((16 + 1 - 3) / 2) + 1 = 8.
    x = net.conv("a", "x", 3, 8, 3, strides=[2, 2], pads=[0, 0, 1, 1])
    x = net.node("LeakyRelu", [x], "a.act", alpha=0.1)
    x = net.node("Sigmoid", [net.conv("b", x, 8, 8, 3, dilations=[2, 2], pads=[2] * 4)], "b.act")
    x = net.node("Mul", [x, net.constant("gain", [0.5])], "scale")
    x = net.node("Clip", [net.conv("c", x, 8, 4, 1), net.constant("lo", [0.0])], "c.relu")
    # ceil_mode: ceil((8 - 3) / 2) + 1 = 4, which symmetric padding 1 gives.
    x = net.node("MaxPool", [x], "pool", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    x = net.node("Dropout", [net.node("Identity", [x], "id")], "drop")
    shape = net.node("Constant", [], "shape", value=numpy_helper.from_array(np.array([1, -1])))
    x = net.node("Reshape", [x, shape], "flat")
    x = net.node("MatMul", [x, net.weight("fc.weight", [64, 10])], "fc")
    x = net.node("Add", [x, net.weight("fc.b", [10])], "fc.bias")
    x = net.node("Softmax", [net.node("Relu", [x], "fc.relu")], "prob")
    cfg = import_onnx(net.save(tmp_path / "folds.onnx", {x: [1, 10]}))
    layers = [layer.model_dump(exclude_defaults=True) for layer in cfg.layers]
    assert layers == [
        {
            "name": "a",
            "op": "conv2d",
            "filters": 8,
            "kernel": 3,
            "stride": 2,
            "padding": "same",
            "activation": "leaky_relu",
        },
        {
            "name": "b",
            "op": "conv2d",
            "filters": 8,
            "kernel": 3,
            "padding": 2,
            "dilation": 2,
            "activation": "sigmoid",
        },
        {"name": "c", "op": "conv2d", "filters": 4, "kernel": 1, "activation": "relu"},
        {"name": "pool", "op": "maxpool", "kernel": 3, "stride": 2, "padding": 1},
        {"name": "fc", "op": "fully_connected", "units": 10, "activation": "relu"},
    ]
    macs = 8 * 8 * 8 * 27 + 8 * 8 * 8 * 72 + 8 * 8 * 4 * 8 + 64 * 10
    assert build_graph(cfg).total_macs == macs


def test_a_flat_input_is_one_pixel_of_features(tmp_path: Path) -> None:
    net = OnnxNet(["N", 64])
    x = net.node("Relu", [net.node("Gemm", ["x", net.weight("w1", [64, 32])], "fc1")], "r1")
    x = net.node("MatMul", [x, net.weight("w2", [32, 10])], "fc2")
    cfg = import_onnx(net.save(tmp_path / "mlp.onnx", {x: ["N", 10]}))
    assert cfg.input.model_dump() == {"width": 1, "height": 1, "channels": 64, "multiple_of": 1}
    assert [(layer.op, layer.units, layer.bias) for layer in cfg.layers] == [  # type: ignore[union-attr]
        ("fully_connected", 32, False),
        ("fully_connected", 10, False),
    ]
    assert build_graph(cfg).total_macs == 64 * 32 + 32 * 10


def test_a_transpose_of_size_1_axes_is_free(tmp_path: Path) -> None:
    net = OnnxNet([1, 3, 8, 8])
    x = net.node("GlobalAveragePool", [net.conv("conv", "x", 3, 16, 3)], "gap")
    x = net.node("Transpose", [x], "to_nhwc", perm=[0, 2, 3, 1])  # [1, 1, 1, 16]
    x = net.node("Flatten", [x], "flatten", axis=1)
    x = net.node("Gemm", [x, net.weight("w", [16, 4])], "fc")
    cfg = import_onnx(net.save(tmp_path / "gap.onnx", {x: [1, 4]}))
    assert [layer.op for layer in cfg.layers] == ["conv2d", "global_avgpool", "fully_connected"]
    assert build_graph(cfg).total_macs == 6 * 6 * 16 * 27 + 16 * 4


def test_unsupported_ops_are_listed_in_one_error(tmp_path: Path) -> None:
    net = OnnxNet([1, 3, 8, 8])
    x = net.node("Relu", [net.conv("conv", "x", 3, 4, 3, pads=[1] * 4)], "relu")
    gate = net.node("Sigmoid", [net.conv("gate", "x", 3, 4, 3, pads=[1] * 4)], "gate.act")
    x = net.node("Mul", [x, gate], "mul")
    x = net.node("Reshape", [x, net.constant("seq", [64, 1, 4], np.int64)], "to_seq")
    lstm_weights = [net.weight("W", [1, 32, 4]), net.weight("R", [1, 32, 8])]
    x = net.node("LSTM", [x, *lstm_weights], "lstm", hidden_size=8)
    x = net.node("Gemm", [x, net.node("Relu", [x], "other")], "gemm")
    path = net.save(tmp_path / "lstm.onnx", {x: [64, 1, 1, 8]})
    with pytest.raises(ConfigError) as excinfo:
        import_onnx(path)
    assert error_messages(excinfo) == [
        "unsupported ONNX op LSTM (1 node: 'lstm')",
        "unsupported ONNX op Gemm of two activations (1 node: 'gemm')",
    ]
    assert {problem.file for problem in excinfo.value.problems} == {str(path)}


@pytest.mark.parametrize(
    "content",
    [b"name: resnet\nlayers: []\n", b"", b"\x08\x07\x12\x04junk"],
    ids=["yaml", "empty", "garbage"],
)
def test_a_non_onnx_file_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as excinfo:
        import_onnx(path)
    (problem,) = excinfo.value.problems
    assert problem.file == str(path)
    assert "ONNX model" in problem.message


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        import_onnx(tmp_path / "nope.onnx")


def test_a_symbolic_input_size_is_an_error(tmp_path: Path) -> None:
    net = OnnxNet(["N", 3, "H", "W"])
    x = net.conv("conv", "x", 3, 4, 3)
    with pytest.raises(ConfigError) as excinfo:
        import_onnx(net.save(tmp_path / "dynamic.onnx", {x: ["N", 4, "H2", "W2"]}))
    assert "only the batch (first) dimension may be symbolic" in error_messages(excinfo)[0]


def test_a_tensor_without_shape_is_named(tmp_path: Path) -> None:
    net = OnnxNet([1, 3, 8, 8])
    # Scales given as a graph input: shape inference cannot know the output size.
    x = net.node("Resize", [net.conv("conv", "x", 3, 4, 1), "", net.weight("scales", [4])], "up")
    x = net.conv("after", x, 4, 4, 1)
    with pytest.raises(ConfigError) as excinfo:
        import_onnx(net.save(tmp_path / "resize.onnx", {x: [1, 4, 16, 16]}))
    (message,) = error_messages(excinfo)
    assert message.startswith("node 'up' (Resize): tensor 'up:out' has shape [?, ?, ?, ?]")


def _single_node_error(tmp_path: Path, net: OnnxNet, x: str, shape: list[int]) -> str:
    with pytest.raises(ConfigError) as excinfo:
        import_onnx(net.save(tmp_path / "bad.onnx", {x: shape}))
    (message,) = error_messages(excinfo)
    return message


def test_asymmetric_conv_pads_that_same_does_not_reproduce(tmp_path: Path) -> None:
    net = OnnxNet([1, 3, 8, 8])
    x = net.conv("conv", "x", 3, 4, 3, pads=[0, 0, 1, 1])
    message = _single_node_error(tmp_path, net, x, [1, 4, 7, 7])
    assert message.startswith("node 'conv' (Conv): asymmetric pads [0, 0, 1, 1]")


def test_an_attribute_the_schema_rejects_is_told_at_its_node(tmp_path: Path) -> None:
    net = OnnxNet([1, 3, 8, 8])
    x = net.node("Conv", ["x", net.weight("w", [4, 3, 1, 1])], "conv", group=0)
    message = _single_node_error(tmp_path, net, x, [1, 4, 8, 8])
    assert message == "node 'conv' (Conv): Input should be greater than 0 (got 0)"


def test_a_batchnorm_not_after_a_conv_is_a_scale_and_shift(tmp_path: Path) -> None:
    net = OnnxNet([1, 3, 8, 8])
    x = net.node(
        "MaxPool", [net.conv("conv", "x", 3, 4, 1)], "pool", kernel_shape=[2, 2], strides=[2, 2]
    )
    x = net.batchnorm("bn", x, 4)
    graph = build_graph(import_onnx(net.save(tmp_path / "m.onnx", {x: [1, 4, 4, 4]})))
    bn = graph.layer("bn")
    assert (bn.op, bn.vector_ops, bn.params, bn.weight_elements) == ("eltwise", 2 * 64, 8, 8)


def test_an_activation_read_before_it_applies_is_vector_work(tmp_path: Path) -> None:
    net = OnnxNet([1, 3, 8, 8])
    conv = net.conv("conv", "x", 3, 4, 1)
    act = net.node("Relu", [conv], "relu")
    raw = net.conv("raw", conv, 4, 4, 1)  # reads the conv output before its ReLU
    x = net.node("Add", [net.conv("after", act, 4, 4, 1), raw], "add")
    cfg = import_onnx(net.save(tmp_path / "m.onnx", {x: [1, 4, 8, 8]}))
    layers = [layer.model_dump(exclude_defaults=True) for layer in cfg.layers]
    assert [layer["op"] for layer in layers] == ["conv2d", "eltwise", "conv2d", "conv2d", "add"]
    assert layers[1] == {"name": "relu", "op": "eltwise", "inputs": ["conv"], "function": "relu"}
    assert build_graph(cfg).layer("relu").vector_ops == 4 * 8 * 8


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("Slice", "steps [2]: archsim slices with step 1"),
        ("Gather", "gathers indices [0, 2]; archsim gathers a contiguous range"),
        ("Resize", "archsim upsamples height and width by integer factors"),
    ],
)
def test_unsupported_uses_of_supported_ops(tmp_path: Path, op: str, expected: str) -> None:
    net = OnnxNet([1, 3, 8, 8])
    x = net.conv("conv", "x", 3, 4, 1)
    if op == "Slice":
        ints = [net.constant(n, v, np.int64) for n, v in (("b", [0]), ("e", [8]), ("a", [3]))]
        x = net.node("Slice", [x, *ints, net.constant("st", [2], np.int64)], "op")
        shape = [1, 4, 8, 4]
    elif op == "Gather":
        x = net.node("Gather", [x, net.constant("i", [0, 2], np.int64)], "op", axis=1)
        shape = [1, 2, 8, 8]
    else:
        scales = net.constant("scales", [1.0, 1.0, 1.5, 1.5])
        x = net.node("Resize", [x, "", scales], "op")
        shape = [1, 4, 12, 12]
    x = net.node("Relu", [x], "after")
    with pytest.raises(ConfigError) as excinfo:
        import_onnx(net.save(tmp_path / "m.onnx", {x: shape}))
    [message] = error_messages(excinfo)
    assert message.startswith(f"node 'op' ({op}): ") and expected in message


def test_export_reads_back_equal(tmp_path: Path) -> None:
    cfg = import_onnx(tiny_cnn(tmp_path / "tiny.onnx"))
    text = export_yaml(cfg, source="tiny.onnx")
    assert text.startswith("# Imported from tiny.onnx; written by archsim ")
    assert "  - {name: stem, op: conv2d, filters: 16, kernel: 3, padding: same, " in text
    assert load_workload_text(text) == cfg
    path = write_workload_yaml(cfg, tmp_path / "tiny.yaml", source="tiny.onnx")
    assert load_workload(path) == cfg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.onnx", "tiny.yaml"]


def test_export_quotes_strings_that_would_read_back_otherwise() -> None:
    names = ["1e5", "true", "null", "123", "0x1F", "1_000", "on", "-"]
    cfg = WorkloadConfig.model_validate(
        {
            "name": "odd: name #1",
            "description": 'quotes " and \\ backslash\nnew line, ünïcode, emoji \U0001f600',
            "input": {"width": 8, "height": 8},
            "layers": [{"name": n, "op": "conv2d", "filters": 4, "kernel": 1} for n in names],
        }
    )
    assert load_workload_text(export_yaml(cfg)) == cfg


def invoke_import(*args: str | Path) -> Any:
    group = ArchsimGroup("workload", commands={"import": import_command})
    return CliRunner().invoke(group, ["import", *(str(arg) for arg in args)])


def test_import_command_writes_the_workload(tmp_path: Path) -> None:
    model = resnet50(tmp_path / "resnet50.onnx")
    result = invoke_import(model, "-o", tmp_path / "out.yaml", "--name", "r50")
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"wrote {tmp_path / 'out.yaml'}: workload r50, 72 layers, 4,089,184,256 MACs, "
        "25,557,032 parameters\n"
        "  not simulated: Softmax 'softmax': runs on the host, not simulated\n"
    )
    assert load_workload(tmp_path / "out.yaml").layers == load_workload(RESNET50).layers


def test_import_command_reports_problems_and_writes_nothing(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_text("not a model")
    result = invoke_import(model, "-o", tmp_path / "out.yaml")
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {model}: not an ONNX model")
    assert not (tmp_path / "out.yaml").exists()


def test_import_command_needs_a_known_format(tmp_path: Path) -> None:
    result = invoke_import(tmp_path / "model.pb", "-o", tmp_path / "out.yaml")
    assert result.exit_code == 2
    assert "cannot tell the model format from the extension '.pb'" in result.output


def test_load_any_workload_dispatches_on_the_extension(tmp_path: Path) -> None:
    model = tiny_cnn(tmp_path / "tiny.onnx")
    assert load_any_workload(model) == import_onnx(model)
    assert load_any_workload(RESNET50) == load_workload(RESNET50)
    overridden = load_any_workload(model, ["batch=3", "layers.0.filters=8"])
    assert (overridden.batch, overridden.layers[0].filters) == (3, 8)  # type: ignore[union-attr]
    with pytest.raises(ConfigError) as excinfo:
        load_any_workload(model, ["batch=0"])
    (problem,) = excinfo.value.problems
    assert (problem.file, problem.path) == ("--set", "batch")


def test_archsim_run_takes_an_onnx_model_directly(tmp_path: Path) -> None:
    """The real CLI: `archsim run ARCH model.onnx` simulates the imported graph."""
    from archsim.cli.main import cli

    model = tiny_cnn(tmp_path / "tiny.onnx")
    expected = build_graph(load_any_workload(model)).total_macs
    result = CliRunner().invoke(
        cli, ["run", str(ROOT / "arch" / "edge_bus.yaml"), str(model), "--no-trace", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["total_macs"] == summary["workload_macs"] == expected > 0
    stats = CliRunner().invoke(cli, ["workload", "stats", str(model), "--json"])
    assert json.loads(stats.stdout)["macs"] == expected
