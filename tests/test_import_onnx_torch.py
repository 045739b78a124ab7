"""Models exported by torch.onnx (when torch is installed; skipped otherwise): imported MACs
equal torch.utils.flop_counter's (FLOPs / 2 of matrix products and convolutions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from archsim.workload import build_graph
from archsim.workload.importers import import_onnx


def _reference_macs(torch: Any, model: Any, example: Any) -> int:
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    # The math kernel of scaled_dot_product_attention is matmuls the counter sees.
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as count:
        model(example)
    return int(count.get_total_flops()) // 2


def _vit_block(torch: Any) -> Any:
    from torchvision.models.vision_transformer import EncoderBlock

    class Block(torch.nn.Module):
        """Patch embedding, class token, one encoder block, the class token's head."""

        def __init__(self) -> None:
            super().__init__()
            self.patch = torch.nn.Conv2d(3, 64, 8, stride=8)
            self.cls = torch.nn.Parameter(torch.zeros(1, 1, 64))
            self.block = EncoderBlock(4, 64, 128, 0.0, 0.0)
            self.head = torch.nn.Linear(64, 10)

        def forward(self, x: Any) -> Any:
            tokens = self.patch(x).flatten(2).transpose(1, 2)
            tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], dim=1)
            return self.head(self.block(tokens)[:, 0])

    return Block()


@pytest.fixture(scope="module")
def torch() -> Any:
    """torch with torchvision (the tests skip without them)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    torch.backends.mha.set_fastpath_enabled(False)  # the fused kernel has no ONNX form
    return torch


class TestTorchExports:
    """torchvision ResNet-18, MobileNetV3-small and a ViT block through torch.onnx.export."""

    @pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "vit_block"])
    @pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
    def test_macs_equal_the_flop_counter(
        self, torch: Any, tmp_path: Path, name: str, dynamo: bool
    ) -> None:
        import torchvision

        torch.manual_seed(0)
        if name == "vit_block":
            model, example = _vit_block(torch).eval(), torch.randn(1, 3, 32, 32)
        else:
            model = torchvision.models.get_model(name, weights=None).eval()
            example = torch.randn(1, 3, 64, 64)
        path = tmp_path / f"{name}.onnx"
        with torch.no_grad():
            if dynamo:
                torch.onnx.export(model, (example,), dynamo=True).save(str(path))
            else:
                torch.onnx.export(model, (example,), str(path), dynamo=False, opset_version=17)
        graph = build_graph(import_onnx(path))
        assert graph.total_macs == _reference_macs(torch, model, example)
        assert graph.total_params >= sum(p.numel() for p in model.parameters()) * 0.99
