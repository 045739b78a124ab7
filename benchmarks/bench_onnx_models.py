"""Real exported models through the ONNX importer: MACs against torch's flop counter, fps.

Two steps, each run by hand (never by the tests):

    # 1. export, in an environment with torch, torchvision, timm, ultralytics, transformers
    #    and onnxscript (random weights: nothing is downloaded):
    python benchmarks/bench_onnx_models.py export --out /tmp/models [--only NAME ...]
    # 2. import and simulate, in archsim's environment:
    python benchmarks/bench_onnx_models.py measure --models /tmp/models [--arch ARCH]

`export` writes NAME-EXPORTER.onnx (EXPORTER: torchscript, dynamo) per model and
manifest.json with the reference MACs (torch.utils.flop_counter: FLOPs / 2 of the matrix
products and convolutions) and parameter counts. `measure` prints one row per file: whether
it imports, archsim's MACs against the reference (%), and frames per second on ARCH
(default edge_bus), simulated at the exported size (imported models keep it: their
re-layouts have fixed sizes); --no-run imports only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ModelSpec:
    """A model to export: how to build it (random weights) and its input shape."""

    name: str
    family: str
    build: Callable[[], Any]
    shape: tuple[int, ...]


def _torchvision(name: str, **kwargs: Any) -> Callable[[], Any]:
    def build() -> Any:
        import torchvision

        return torchvision.models.get_model(name, weights=None, **kwargs)

    return build


def _timm(name: str) -> Callable[[], Any]:
    def build() -> Any:
        import timm

        return timm.create_model(name, pretrained=False)

    return build


def _ultralytics(yaml_name: str) -> Callable[[], Any]:
    def build() -> Any:
        from ultralytics import YOLO

        model = YOLO(yaml_name).model
        for module in model.modules():  # export mode: the decode head returns boxes
            if hasattr(module, "export"):
                module.export = True
            if hasattr(module, "format"):
                module.format = "onnx"
        return model

    return build


def _bert_encoder() -> Any:
    import torch
    from transformers import BertConfig, BertModel

    class Encoder(torch.nn.Module):
        """BERT-base's encoder stack on token embeddings (no token-id lookup)."""

        def __init__(self) -> None:
            super().__init__()
            config = BertConfig(attn_implementation="eager")
            self.encoder = BertModel(config).encoder

        def forward(self, hidden: Any) -> Any:
            return self.encoder(hidden).last_hidden_state

    return Encoder()


def _detection_heads(name: str) -> Callable[[], Any]:
    """A torchvision detector's backbone and heads: box and class maps (anchors, decoding
    and NMS run on the host; torchvision's own wrapper is not exportable)."""

    def build() -> Any:
        import torch
        import torchvision

        class Heads(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = torchvision.models.get_model(name, weights=None, weights_backbone=None)

            def forward(self, images: Any) -> Any:
                features = list(self.model.backbone(images).values())
                head = self.model.head(features)
                return head["bbox_regression"], head["cls_logits"]

        return Heads()

    return build


def _segmentation(name: str) -> Callable[[], Any]:
    def build() -> Any:
        import torch
        import torchvision

        class Out(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = torchvision.models.get_model(
                    name, weights=None, weights_backbone=None, aux_loss=False
                )

            def forward(self, images: Any) -> Any:
                return self.model(images)["out"]

        return Out()

    return build


IMAGE = (1, 3, 224, 224)
MODELS = [
    ModelSpec("resnet18", "torchvision", _torchvision("resnet18"), IMAGE),
    ModelSpec("resnet50", "torchvision", _torchvision("resnet50"), IMAGE),
    ModelSpec("mobilenet_v2", "torchvision", _torchvision("mobilenet_v2"), IMAGE),
    ModelSpec("mobilenet_v3_small", "torchvision", _torchvision("mobilenet_v3_small"), IMAGE),
    ModelSpec("efficientnet_b0", "torchvision", _torchvision("efficientnet_b0"), IMAGE),
    ModelSpec("regnet_y_400mf", "torchvision", _torchvision("regnet_y_400mf"), IMAGE),
    ModelSpec("shufflenet_v2_x1_0", "torchvision", _torchvision("shufflenet_v2_x1_0"), IMAGE),
    ModelSpec("densenet121", "torchvision", _torchvision("densenet121"), IMAGE),
    ModelSpec("convnext_tiny", "torchvision", _torchvision("convnext_tiny"), IMAGE),
    ModelSpec("vit_b_16", "torchvision", _torchvision("vit_b_16"), IMAGE),
    ModelSpec(
        "ssdlite320_mobilenet_v3",
        "torchvision detection",
        _detection_heads("ssdlite320_mobilenet_v3_large"),
        (1, 3, 320, 320),
    ),
    ModelSpec(
        "retinanet_resnet50_fpn",
        "torchvision detection",
        _detection_heads("retinanet_resnet50_fpn"),
        (1, 3, 512, 512),
    ),
    ModelSpec(
        "deeplabv3_mobilenet_v3",
        "torchvision segmentation",
        _segmentation("deeplabv3_mobilenet_v3_large"),
        (1, 3, 320, 320),
    ),
    ModelSpec(
        "lraspp_mobilenet_v3",
        "torchvision segmentation",
        _segmentation("lraspp_mobilenet_v3_large"),
        (1, 3, 320, 320),
    ),
    ModelSpec("timm_efficientnet_lite0", "timm", _timm("efficientnet_lite0"), IMAGE),
    ModelSpec("timm_mobilenetv3_large_100", "timm", _timm("mobilenetv3_large_100"), IMAGE),
    ModelSpec("timm_vit_tiny_patch16_224", "timm", _timm("vit_tiny_patch16_224"), IMAGE),
    ModelSpec("timm_convnext_atto", "timm", _timm("convnext_atto"), IMAGE),
    ModelSpec("timm_resnet26d", "timm", _timm("resnet26d"), IMAGE),
    ModelSpec("yolov5n_640", "ultralytics", _ultralytics("yolov5n.yaml"), (1, 3, 640, 640)),
    ModelSpec("yolov8n_640", "ultralytics", _ultralytics("yolov8n.yaml"), (1, 3, 640, 640)),
    ModelSpec("yolo11n_640", "ultralytics", _ultralytics("yolo11n.yaml"), (1, 3, 640, 640)),
    ModelSpec("yolov5n_1088p", "ultralytics", _ultralytics("yolov5n.yaml"), (1, 3, 1088, 1920)),
    ModelSpec("yolov8n_1088p", "ultralytics", _ultralytics("yolov8n.yaml"), (1, 3, 1088, 1920)),
    ModelSpec("yolo11n_1088p", "ultralytics", _ultralytics("yolo11n.yaml"), (1, 3, 1088, 1920)),
    ModelSpec("bert_base_encoder_s128", "huggingface", _bert_encoder, (1, 128, 768)),
]
EXPORTERS = ("torchscript", "dynamo")


def _reference(model: Any, example: Any) -> tuple[int, int]:
    """(MACs, parameters): FLOPs / 2 of torch.utils.flop_counter, parameters() elements."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    # The math kernel of scaled_dot_product_attention is two matmuls the counter sees; the
    # fused CPU kernel is not counted at all.
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(example)
    params = sum(p.numel() for p in model.parameters())
    return counter.get_total_flops() // 2, params


def _export(model: Any, example: Any, file: Path, exporter: str) -> None:
    import torch

    with torch.no_grad():
        if exporter == "torchscript":
            torch.onnx.export(model, (example,), str(file), dynamo=False, opset_version=17)
        else:
            program = torch.onnx.export(model, (example,), dynamo=True)
            program.save(str(file), external_data=True)


def export(out: Path, only: list[str]) -> None:
    """Export every model with both exporters; write manifest.json as it goes."""
    import torch

    torch.manual_seed(0)
    torch.backends.mha.set_fastpath_enabled(False)  # the fused kernel has no ONNX form
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for spec in MODELS:
        if only and spec.name not in only:
            continue
        model = spec.build().eval()
        example = torch.randn(*spec.shape)
        macs, params = _reference(model, example)
        for exporter in EXPORTERS:
            key = f"{spec.name}-{exporter}"
            file = out / f"{key}.onnx"
            entry: dict[str, Any] = {
                "model": spec.name,
                "family": spec.family,
                "exporter": exporter,
                "file": file.name,
                "shape": list(spec.shape),
                "reference_macs": macs,
                "reference_params": params,
            }
            start = time.perf_counter()
            try:
                _export(model, example, file, exporter)
            except Exception as exc:  # record and go on: one failed export is a result
                entry["export_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
                traceback.print_exc()
            entry["export_s"] = round(time.perf_counter() - start, 1)
            manifest[key] = entry
            manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
            print(key, entry.get("export_error", "ok"), entry["export_s"], "s", flush=True)


def measure(models: Path, arch: Path | None, only: list[str]) -> None:
    """Import every exported file, compare MACs, simulate on `arch`; print the table."""
    from archsim.api import simulate
    from archsim.errors import ArchsimError
    from archsim.workload import build_graph
    from archsim.workload.importers import import_onnx

    manifest = json.loads((models / "manifest.json").read_text())
    header = f"{'model':28} {'exporter':11} {'imports':8} {'MACs':>15} {'vs ref':>8} {'fps':>9}"
    print(header)
    print("-" * len(header))
    for key in sorted(manifest):
        entry = manifest[key]
        if only and entry["model"] not in only:
            continue
        row = f"{entry['model']:28} {entry['exporter']:11}"
        if "export_error" in entry:
            print(f"{row} {'export failed: ' + entry['export_error'][:60]}", flush=True)
            continue
        try:
            workload = import_onnx(models / entry["file"])
        except Exception as exc:  # an internal error is a result of the table too
            first = str(exc).strip().splitlines()
            print(f"{row} {'no':8} {first[0][:150] if first else ''}", flush=True)
            for line in first[1:6]:
                print(" " * 50 + line[:150])
            continue
        macs = build_graph(workload).total_macs
        delta = 100.0 * (macs - entry["reference_macs"]) / max(entry["reference_macs"], 1)
        fps = "-"
        try:
            if arch is None:
                raise _NotRun
            result = simulate(arch, workload, trace=None)
            fps = f"{result.summary['throughput_fps']:.1f}"
        except _NotRun:
            pass
        except ArchsimError as exc:
            fps = f"error: {str(exc).splitlines()[0][-80:]}"
        print(f"{row} {'yes':8} {macs:15,} {delta:+7.2f}% {fps:>9}", flush=True)


class _NotRun(Exception):
    """--no-run: import only."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export_parser = commands.add_parser("export", help="export the models (needs torch)")
    export_parser.add_argument("--out", type=Path, required=True)
    export_parser.add_argument("--only", nargs="*", default=[])
    measure_parser = commands.add_parser("measure", help="import and simulate the exports")
    measure_parser.add_argument("--models", type=Path, required=True)
    measure_parser.add_argument("--arch", type=Path, default=ROOT / "arch" / "edge_bus.yaml")
    measure_parser.add_argument("--only", nargs="*", default=[])
    measure_parser.add_argument("--no-run", action="store_true", help="import only, no fps")
    args = parser.parse_args()
    if args.command == "export":
        export(args.out, args.only)
    else:
        measure(args.models, None if args.no_run else args.arch, args.only)


if __name__ == "__main__":
    sys.exit(main())
