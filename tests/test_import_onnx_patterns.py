"""The graphs real exporters write (torch.onnx, ultralytics, HuggingFace), built with
onnx.helper: each imports with the MACs and parameters counted here independently, and
runs end to end with `archsim run` on every shipped architecture."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from archsim.cli.main import cli  # noqa: E402
from archsim.errors import ConfigError  # noqa: E402
from archsim.workload import build_graph  # noqa: E402
from archsim.workload.importers import import_onnx  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARCHS = sorted((ROOT / "arch").glob("*.yaml"))


class Graph:
    """A float32 ONNX graph built node by node, weights as initializers (random values)."""

    def __init__(self, shape: list[int]) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)]
        self.params = 0  # counted as frameworks count them, by the builder
        self.macs = 0
        self._rng = np.random.default_rng(0)

    def weight(self, name: str, shape: list[int], *, param: bool = True) -> str:
        array = self._rng.standard_normal(shape).astype(np.float32)
        self.initializers.append(numpy_helper.from_array(array, name))
        self.params += math.prod(shape) if param else 0
        return name

    def const(self, name: str, values: Any, dtype: Any = np.int64) -> str:
        self.initializers.append(numpy_helper.from_array(np.array(values, dtype), name))
        return name

    def node(self, op: str, inputs: list[str], name: str, outputs: int = 1, **attrs: Any) -> Any:
        names = [f"{name}:{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, names, name=name, **attrs))
        return names[0] if outputs == 1 else names

    def conv(
        self, name: str, x: str, cin: int, cout: int, k: int, out_hw: int, **attrs: Any
    ) -> str:
        """A Conv with bias; `out_hw` is its output side (for the MAC count)."""
        group = attrs.get("group", 1)
        w = self.weight(f"{name}.w", [cout, cin // group, k, k])
        b = self.weight(f"{name}.b", [cout])
        self.macs += out_hw * out_hw * cout * (cin // group) * k * k
        return self.node("Conv", [x, w, b], name, kernel_shape=[k, k], **attrs)

    def linear(self, name: str, x: str, rows: int, din: int, dout: int) -> str:
        """MatMul by a weight then Add of a bias, as torch exports nn.Linear on tokens."""
        self.macs += rows * din * dout
        y = self.node("MatMul", [x, self.weight(f"{name}.w", [din, dout])], name)
        return self.node("Add", [y, self.weight(f"{name}.b", [dout])], f"{name}.bias")

    def save(self, path: Path, output: str, *, opset: int = 17, **save_args: Any) -> Path:
        graph = helper.make_graph(
            self.nodes, "g", self.inputs, [helper.make_empty_tensor_value_info(output)],
            self.initializers,
        )  # fmt: skip
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        inferred = onnx.shape_inference.infer_shapes(model)  # the output's type and shape
        known = {info.name: info for info in inferred.graph.value_info}
        if output in known:
            model.graph.output[0].CopyFrom(known[output])
        onnx.save(model, str(path), **save_args)
        return path


def points_elements(anchors: int) -> int:
    """Elements of the anchor-point grid: (x, y) per anchor."""
    return 2 * anchors


def _silu(g: Graph, x: str, name: str) -> str:
    return g.node("Mul", [x, g.node("Sigmoid", [x], f"{name}.sig")], f"{name}.silu")


def _conv_bn_silu(g: Graph, name: str, x: str, cin: int, cout: int, k: int, hw: int) -> str:
    y = g.conv(name, x, cin, cout, k, hw, pads=[k // 2] * 4)
    scale, shift = g.weight(f"{name}.gamma", [cout]), g.weight(f"{name}.beta", [cout])
    mean = g.weight(f"{name}.mean", [cout], param=False)
    var = g.weight(f"{name}.var", [cout], param=False)
    y = g.node("BatchNormalization", [y, scale, shift, mean, var], f"{name}.bn")
    return _silu(g, y, name)


# --- the patterns --------------------------------------------------------------------------


def shared_initializers(path: Path) -> Graph:
    """torch writes Identity nodes on constants it deduplicated (equal batchnorm statistics
    of two layers, a weight) and a shape subgraph (Shape, Gather, Unsqueeze, Concat) before
    the classifier's Reshape."""
    g = Graph([1, 3, 16, 16])
    mean = g.weight("running_mean", [8], param=False)
    var = g.weight("running_var", [8], param=False)
    x = "x"
    for name, cin in (("a", 3), ("b", 8)):
        weight = g.weight(f"{name}.w", [8, cin, 3, 3])
        g.macs += 16 * 16 * 8 * cin * 9
        x = g.node("Conv", [x, g.node("Identity", [weight], f"{name}.w.copy")], name,
                   pads=[1] * 4)  # fmt: skip
        stats = [g.node("Identity", [t], f"{name}.{t}.copy") for t in (mean, var)]
        affine = [g.weight(f"{name}.gamma", [8]), g.weight(f"{name}.beta", [8])]
        x = g.node("BatchNormalization", [x, *affine, *stats], f"{name}.bn")
        x = g.node("Relu", [x], f"{name}.relu")
    pooled = g.node("GlobalAveragePool", [x], "gap")
    batch = g.node("Gather", [g.node("Shape", [pooled], "shape"), g.const("zero", 0)], "n")
    size = g.node("Concat", [g.node("Unsqueeze", [batch, g.const("ax", [0])], "u"),
                             g.const("minus1", [-1])], "size", axis=0)  # fmt: skip
    flat = g.node("Reshape", [pooled, size], "flatten")
    out = g.node("Gemm", [flat, g.weight("fc.w", [10, 8]), g.weight("fc.b", [10])], "fc",
                 transB=1)  # fmt: skip
    g.macs += 8 * 10
    g.save(path, out)
    return g


def pad_before_pool(path: Path) -> Graph:
    """nn.ZeroPad2d before MaxPool and an asymmetric ZeroPad2d((0, 1, 0, 1)) before a
    stride-2 Conv (TensorFlow-style 'same'), both folded; a reflect Pad stays a pad."""
    g = Graph([1, 3, 16, 16])
    x = g.node("Pad", ["x", g.const("p1", [0, 0, 1, 1, 0, 0, 1, 1])], "pad1")
    x = g.node("MaxPool", [x], "pool", kernel_shape=[3, 3], strides=[1, 1])
    x = g.node("Pad", [x, g.const("p2", [0, 0, 0, 0, 0, 0, 1, 1])], "pad2")
    x = g.conv("down", x, 3, 8, 3, 8, strides=[2, 2])
    x = g.node("Pad", [x, g.const("p3", [0, 0, 1, 1, 0, 0, 1, 1])], "pad3", mode="reflect")
    x = g.conv("c", x, 8, 8, 3, 8)
    g.save(path, x)
    return g


def squeeze_excitation(path: Path) -> Graph:
    """MobileNetV3's block: HardSwish, then SE (GlobalAveragePool, Relu, HardSigmoid) and the
    Mul of the activation by the channel weights; and x * HardSigmoid(x) (opset < 14)."""
    g = Graph([1, 16, 8, 8])
    x = g.node("HardSwish", [g.conv("expand", "x", 16, 32, 1, 8)], "expand.hswish")
    x = g.conv("dw", x, 32, 32, 3, 8, pads=[1] * 4, group=32)
    x = g.node("Mul", [x, g.node("HardSigmoid", [x], "dw.hsig")], "dw.hswish")
    s = g.node("GlobalAveragePool", [x], "se.pool")
    s = g.node("Relu", [g.conv("se.reduce", s, 32, 8, 1, 1)], "se.relu")
    s = g.node("HardSigmoid", [g.conv("se.expand", s, 8, 32, 1, 1)], "se.gate")
    x = g.node("Mul", [x, s], "se.scale")
    x = g.conv("project", x, 32, 16, 1, 8)
    x = g.node("Add", [x, "x"], "residual")
    g.save(path, x)
    return g


def c2f_and_decode_head(path: Path) -> Graph:
    """A YOLOv8 C2f block (Split, bottleneck, Concat) on SiLU convs and the decode head:
    Reshape, Concat of scales, Split into boxes and classes, Slice, Sub / Add of anchor
    points, Div, Mul by strides, Sigmoid, Concat; NonMaxSuppression after it."""
    g = Graph([1, 3, 32, 32])
    x = _conv_bn_silu(g, "stem", "x", 3, 16, 3, 32)
    x = _conv_bn_silu(g, "c2f.cv1", x, 16, 16, 1, 32)
    first, second = g.node("Split", [x, g.const("halves", [8, 8])], "c2f.split", 2, axis=1)
    y = _conv_bn_silu(g, "c2f.m.cv1", second, 8, 8, 3, 32)
    y = g.node("Add", [second, _conv_bn_silu(g, "c2f.m.cv2", y, 8, 8, 3, 32)], "c2f.m.add")
    x = g.node("Concat", [first, second, y], "c2f.cat", axis=1)
    p3 = _conv_bn_silu(g, "c2f.cv2", x, 24, 16, 1, 32)
    p4 = g.conv("down", p3, 16, 16, 3, 16, strides=[2, 2], pads=[1] * 4)
    nc = 3
    heads = []
    for name, feature, hw in (("h3", p3, 32), ("h4", p4, 16)):
        out = g.conv(name, feature, 16, 4 + nc, 1, hw)
        flat = g.const(f"{name}.s", [1, 4 + nc, -1])
        heads.append(g.node("Reshape", [out, flat], f"{name}.flat"))
    anchors = 32 * 32 + 16 * 16
    cat = g.node("Concat", heads, "head.cat", axis=2)
    box, cls = g.node("Split", [cat, g.const("bc", [4, nc])], "head.split", 2, axis=1)
    lt, rb = g.node("Split", [box, g.const("lr", [2, 2])], "head.ltrb", 2, axis=1)
    points = g.weight("anchor_points", [1, 2, anchors], param=False)
    g.params += 2 * points_elements(anchors)  # constants of element-wise layers, per use
    x1y1 = g.node("Sub", [points, lt], "head.x1y1")
    x2y2 = g.node("Add", [points, rb], "head.x2y2")
    center = g.node("Div", [g.node("Add", [x1y1, x2y2], "head.sum"), g.const("two", [2.0],
                    np.float32)], "head.center")  # fmt: skip
    size = g.node("Sub", [x2y2, x1y1], "head.size")
    boxes = g.node("Concat", [center, size], "head.xywh", axis=1)
    strides = g.weight("strides", [1, 1, anchors], param=False)
    boxes = g.node("Mul", [boxes, strides], "head.scale")
    decoded = g.node("Concat", [boxes, g.node("Sigmoid", [cls], "head.cls")], "head.out", axis=1)
    scores = g.node("Transpose", [decoded], "head.t", perm=[0, 2, 1])
    g.nodes.append(
        helper.make_node(
            "NonMaxSuppression",
            [scores, scores],
            ["nms:0"],
            name="nms",
        )
    )
    g.save(path, "nms:0")
    return g


def vit_block(path: Path) -> Graph:
    """A ViT encoder block as torch exports it: patch embedding, class token (Concat of a
    constant), position embedding, LayerNormalization, multi-head attention with Reshape /
    Transpose and MatMuls of two activations, Softmax, GELU via Erf, class-token Gather."""
    dim, heads, patch, side = 32, 4, 4, 16
    tokens = (side // patch) ** 2
    seq, head_dim = tokens + 1, dim // heads
    g = Graph([1, 3, side, side])
    x = g.conv("patch", "x", 3, dim, patch, side // patch, strides=[patch, patch])
    x = g.node("Reshape", [x, g.const("flat", [1, dim, tokens])], "patch.flat")
    x = g.node("Transpose", [x], "patch.t", perm=[0, 2, 1])
    x = g.node("Concat", [g.weight("cls_token", [1, 1, dim]), x], "cls", axis=1)
    x = g.node("Add", [x, g.weight("pos_embed", [1, seq, dim])], "pos")

    def norm(name: str, y: str) -> str:
        weights = [g.weight(f"{name}.w", [dim]), g.weight(f"{name}.b", [dim])]
        return g.node("LayerNormalization", [y, *weights], name, axis=-1)

    h = norm("ln1", x)
    q, k, v = (g.linear(n, h, seq, dim, dim) for n in ("q", "k", "v"))
    split = g.const("heads", [1, seq, heads, head_dim])
    q = g.node("Transpose", [g.node("Reshape", [q, split], "q.r")], "q.t", perm=[0, 2, 1, 3])
    k = g.node("Transpose", [g.node("Reshape", [k, split], "k.r")], "k.t", perm=[0, 2, 3, 1])
    v = g.node("Transpose", [g.node("Reshape", [v, split], "v.r")], "v.t", perm=[0, 2, 1, 3])
    scores = g.node("MatMul", [q, k], "scores")
    scale = g.const("sqrt_d", [math.sqrt(head_dim)], np.float32)
    probs = g.node("Softmax", [g.node("Div", [scores, scale], "scaled")], "softmax", axis=-1)
    ctx = g.node("MatMul", [probs, v], "context")
    g.macs += 2 * heads * seq * seq * head_dim
    ctx = g.node("Transpose", [ctx], "ctx.t", perm=[0, 2, 1, 3])
    ctx = g.node("Reshape", [ctx, g.const("merge", [1, seq, dim])], "ctx.r")
    x = g.node("Add", [x, g.linear("proj", ctx, seq, dim, dim)], "res1")
    h = g.linear("fc1", norm("ln2", x), seq, dim, 4 * dim)
    half = g.const("half", [0.5], np.float32)
    erf = g.node("Erf", [g.node("Div", [h, g.const("sqrt2", [math.sqrt(2)], np.float32)],
                  "gelu.div")], "gelu.erf")  # fmt: skip
    one = g.const("one", [1.0], np.float32)
    h = g.node("Mul", [g.node("Mul", [h, g.node("Add", [erf, one], "gelu.add")], "gelu.mul"),
                       half], "gelu.half")  # fmt: skip
    x = g.node("Add", [x, g.linear("fc2", h, seq, 4 * dim, dim)], "res2")
    token = g.node("Gather", [x, g.const("first", 0)], "cls.take", axis=1)
    out = g.node("Gemm", [token, g.weight("head.w", [dim, 10]), g.weight("head.b", [10])],
                 "head")  # fmt: skip
    g.macs += dim * 10
    g.save(path, out)
    return g


def qdq_conv(path: Path) -> Graph:
    """A QDQ-quantized conv (onnxruntime's quantizer): QuantizeLinear / DequantizeLinear
    around the activations, DequantizeLinear of int8 weights; then QLinearConv."""
    g = Graph([1, 8, 8, 8])
    scale, zero = g.const("s", 0.02, np.float32), g.const("z", 0, np.int8)
    xq = g.node("DequantizeLinear", [g.node("QuantizeLinear", ["x", scale, zero], "xq"),
                scale, zero], "xdq")  # fmt: skip
    weights = np.ones([16, 8, 3, 3], np.int8)
    g.initializers.append(numpy_helper.from_array(weights, "w.q"))
    g.params += weights.size
    w = g.node("DequantizeLinear", ["w.q", scale, zero], "w.dq")
    y = g.node("Conv", [xq, w], "conv", kernel_shape=[3, 3], pads=[1] * 4)
    g.macs += 8 * 8 * 16 * 8 * 9
    y = g.node("QuantizeLinear", [g.node("Relu", [y], "relu"), scale, zero], "yq")
    w2 = np.ones([16, 16, 1, 1], np.int8)
    g.initializers.append(numpy_helper.from_array(w2, "w2.q"))
    g.params += w2.size
    y = g.node("QLinearConv", [y, scale, zero, "w2.q", scale, zero, scale, zero], "qconv",
               kernel_shape=[1, 1])  # fmt: skip
    g.macs += 8 * 8 * 16 * 16
    out = g.node("DequantizeLinear", [y, scale, zero], "out")
    g.save(path, out, opset=13)
    return g


def external_data(path: Path) -> Graph:
    """A dynamo-style export: every initializer (a shape constant too) in one .data file,
    opset 18 (ReduceMean axes as an input)."""
    g = Graph([1, 3, 8, 8])
    x = g.conv("c", "x", 3, 8, 3, 8, pads=[1] * 4)
    x = g.node("ReduceMean", [x, g.const("hw", [2, 3])], "mean", keepdims=1)
    x = g.node("Reshape", [x, g.const("flat", [1, 8])], "flat")
    x = g.linear("fc", x, 1, 8, 4)
    g.save(
        path,
        x,
        opset=18,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=f"{path.name}.data",
        size_threshold=0,
    )
    return g


PATTERNS = {
    "shared_initializers": shared_initializers,
    "pad_before_pool": pad_before_pool,
    "squeeze_excitation": squeeze_excitation,
    "c2f_and_decode_head": c2f_and_decode_head,
    "vit_block": vit_block,
    "qdq_conv": qdq_conv,
    "external_data": external_data,
}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Graph]]:
    folder = tmp_path_factory.mktemp("patterns")
    return {name: (folder / f"{name}.onnx", build(folder / f"{name}.onnx"))
            for name, build in PATTERNS.items()}  # fmt: skip


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_imports_with_the_macs_and_parameters_counted_here(
    models: dict[str, tuple[Path, Graph]], pattern: str
) -> None:
    path, built = models[pattern]
    graph = build_graph(import_onnx(path))
    assert (graph.total_macs, graph.total_params) == (built.macs, built.params)


def test_folds_where_hardware_fuses(models: dict[str, tuple[Path, Graph]]) -> None:
    cfg = import_onnx(models["squeeze_excitation"][0])
    ops = {layer.name: (layer.op, layer.activation) for layer in cfg.layers}
    assert ops["expand"] == ("conv2d", "hardswish")
    assert ops["dw"] == ("conv2d", "hardswish")
    assert ops["se.expand"] == ("conv2d", "hardsigmoid")
    assert ops["se.scale"] == ("eltwise", "none")
    graph = build_graph(cfg)
    assert graph.layer("se.scale").vector_ops == 8 * 8 * 32
    assert graph.layer("se.scale").input_shapes[1].elements == 32  # broadcast channel weights
    pads = import_onnx(models["pad_before_pool"][0])
    layers = {layer.name: layer.model_dump(exclude_defaults=True) for layer in pads.layers}
    assert layers["pool"]["padding"] == 1 and layers["down"]["padding"] == "same"
    assert layers["pad3"]["op"] == "pad"


def test_c2f_split_is_a_view_and_the_head_vector_work(
    models: dict[str, tuple[Path, Graph]],
) -> None:
    cfg = import_onnx(models["c2f_and_decode_head"][0])
    graph = build_graph(cfg)
    slices = [layer for layer in graph.layers if layer.name.startswith("c2f.split")]
    assert [layer.is_view for layer in slices] == [True, True]
    assert all(layer.activation == "silu" for layer in cfg.layers if layer.name.endswith("cv1"))
    head = [layer for layer in graph.layers if layer.name.startswith("head.")]
    assert head and all(not layer.is_mac_layer for layer in head)
    assert sum(layer.vector_ops for layer in head) > 0
    assert cfg.host_ops[0] == "NonMaxSuppression 'nms': runs on the host, not simulated"


def test_attention_is_two_products_of_activations(
    models: dict[str, tuple[Path, Graph]],
) -> None:
    cfg = import_onnx(models["vit_block"][0])
    graph = build_graph(cfg)
    products = [layer for layer in graph.layers if layer.op == "batch_matmul"]
    assert [layer.macs for layer in products] == [4 * 17 * 17 * 8] * 2
    assert graph.layer("softmax").vector_ops == 3 * 4 * 17 * 17
    assert next(layer for layer in cfg.layers if layer.name == "fc1").activation == "gelu"
    assert {layer.op for layer in graph.layers} >= {"layernorm", "reshape", "concat"}


def test_precision_comes_from_the_model(models: dict[str, tuple[Path, Graph]]) -> None:
    assert import_onnx(models["qdq_conv"][0]).precision == "int8"
    assert import_onnx(models["qdq_conv"][0], precision="int16").precision == "int16"


def test_until_cuts_the_post_processing(models: dict[str, tuple[Path, Graph]]) -> None:
    path = models["c2f_and_decode_head"][0]
    cut = import_onnx(path, until="head.cat")
    assert cut.layers[-1].name == "head.cat"
    assert cut.host_ops[0].startswith("13 nodes after --until head.cat: Add x2, Concat x2")
    assert "NonMaxSuppression x1" in cut.host_ops[0]
    with pytest.raises(ConfigError) as excinfo:
        import_onnx(path, until="head.kat")
    assert "no node or tensor of that name (did you mean 'head.cat'?)" in str(excinfo.value)


@pytest.mark.parametrize("arch", ARCHS, ids=lambda path: path.stem)
def test_every_pattern_runs_on_every_arch(
    models: dict[str, tuple[Path, Graph]], arch: Path
) -> None:
    for pattern, (path, built) in sorted(models.items()):
        result = CliRunner().invoke(cli, ["run", str(arch), str(path), "--json", "--no-trace"])
        assert result.exit_code == 0, (pattern, result.output)
        summary = json.loads(result.stdout)
        assert summary["total_macs"] == built.macs, pattern
        if pattern == "c2f_and_decode_head":
            assert summary["host_ops"][0].startswith("NonMaxSuppression 'nms'")


def test_run_until_simulates_only_the_kept_part(models: dict[str, tuple[Path, Graph]]) -> None:
    path = models["c2f_and_decode_head"][0]
    cut = build_graph(import_onnx(path, until="head.cat"))
    assert len(cut.layers) < len(build_graph(import_onnx(path)).layers)
    arch = str(ARCHS[0])
    args = ["run", arch, str(path), "--until", "head.cat", "--json", "--no-trace"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["total_macs"] == cut.total_macs
    assert summary["host_ops"][0].startswith("13 nodes after --until head.cat")
    yaml_workload = str(Path(__file__).resolve().parents[1] / "workloads" / "tiny_cnn.yaml")
    refused = CliRunner().invoke(cli, ["run", arch, yaml_workload, "--until", "x", "--no-trace"])
    assert refused.exit_code == 2
    assert "--until applies to ONNX models only" in refused.stderr


def test_stats_report_host_ops(models: dict[str, tuple[Path, Graph]]) -> None:
    path = models["c2f_and_decode_head"][0]
    result = CliRunner().invoke(cli, ["workload", "stats", str(path)])
    assert result.exit_code == 0, result.output
    host = [line.split(None, 1) for line in result.stdout.splitlines() if "host " in line]
    assert host == [["host", "NonMaxSuppression 'nms': runs on the host, not simulated"]]


def test_what_cannot_be_imported_is_one_error_and_nothing_is_written(tmp_path: Path) -> None:
    g = Graph([1, 3, 8, 8])
    x = g.conv("c", "x", 3, 4, 3, 6)
    x = g.node("LpNormalization", [x], "lp")
    x = g.node("Slice", [x, g.const("b", [0]), g.const("e", [6]), g.const("a", [3]),
                         g.const("st", [2])], "strided")  # fmt: skip
    path = g.save(tmp_path / "bad.onnx", g.node("Hardmax", [x], "hm"))
    out = tmp_path / "out.yaml"
    result = CliRunner().invoke(cli, ["workload", "import", str(path), "-o", str(out)])
    assert result.exit_code == 2
    assert "unsupported ONNX op LpNormalization (1 node: 'lp')" in result.stderr
    assert "unsupported ONNX op Hardmax (1 node: 'hm')" in result.stderr
    assert not out.exists() and not list(tmp_path.glob("out*"))
