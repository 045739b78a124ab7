"""SCALE-Sim parity: with --ideal-memory --tiling scalesim on one 32x32 array, every layer of
SCALE-Sim's own ResNet-50 topology (tests/data/scalesim_resnet50.csv, the
topologies/conv_nets/Resnet50.csv of scale-sim-v2) computes in exactly SCALE-Sim's closed
form, for each dataflow."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ARCH_DIR, ROOT, WORKLOAD_DIR

import archsim
from archsim.analysis.compute_cycles import trace_compute_cycles
from archsim.cli.main import cli
from archsim.config import load_arch
from archsim.trace import open_trace
from archsim.workload.importers import import_scalesim_csv

TOPOLOGY = ROOT / "tests" / "data" / "scalesim_resnet50.csv"
ARRAY = 32


def scalesim_layers() -> list[tuple[str, int, int, int]]:
    """(name, M, N, K) of every row, as SCALE-Sim computes them (no padding, ceil)."""
    layers = []
    with open(TOPOLOGY, encoding="utf-8") as handle:
        for row in list(csv.reader(handle))[1:]:
            if not row[0].strip():
                continue
            height, width, fh, fw, channels, filters, stride = (int(v) for v in row[1:8])
            out_h = math.ceil((height - fh + stride) / stride)
            out_w = math.ceil((width - fw + stride) / stride)
            layers.append((row[0].strip(), out_h * out_w, filters, fh * fw * channels))
    return layers


def closed_form(dataflow: str, m: int, n: int, k: int, r: int = ARRAY, c: int = ARRAY) -> int:
    """SCALE-Sim's compute cycles: folds x cycles per fold (fill, steady state, drain)."""
    if dataflow == "os":
        return math.ceil(m / r) * math.ceil(n / c) * (r + c + k - 2)
    if dataflow == "ws":
        return math.ceil(k / r) * math.ceil(n / c) * (2 * r + c + m - 2)
    return math.ceil(k / r) * math.ceil(m / c) * (2 * r + c + n - 2)


def array_arch(dataflow: str) -> archsim.config.ArchConfig:
    return load_arch(
        ARCH_DIR / "edge_bus.yaml",
        [
            "mac_clusters.count=1",
            f"mac_clusters.rows={ARRAY}",
            f"mac_clusters.cols={ARRAY}",
            f"mac_clusters.dataflow={dataflow}",
        ],
    )


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_per_layer_compute_cycles_equal_scalesim_closed_form(dataflow: str, tmp_path: Path) -> None:
    workload = import_scalesim_csv(TOPOLOGY)
    path = tmp_path / f"resnet50-{dataflow}.h5"
    result = archsim.simulate(
        array_arch(dataflow), workload, ideal_memory=True, tiling="scalesim", trace_path=path
    )
    expected = {name: closed_form(dataflow, m, n, k) for name, m, n, k in scalesim_layers()}
    assert len(expected) == 54
    layer_index = {layer.name: layer.index for layer in result.graph.layers}
    with open_trace(path) as trace:
        measured = trace_compute_cycles(trace)
    assert {name: measured[layer_index[name]] for name in expected} == expected
    summary = result.summary
    assert summary["ideal_memory"] is True and summary["tiling"] == "scalesim"
    assert summary["busy_ps"] == sum(expected.values()) * 1000  # 1 GHz: 1,000 ps a cycle
    # Ideal memory: the run is its compute, up to a few picoseconds per layer.
    assert summary["latency_ps"] - summary["busy_ps"] < 100 * len(expected)


def test_archsim_map_shows_the_same_compute_cycles() -> None:
    expected = [closed_form("os", m, n, k) for _, m, n, k in scalesim_layers()]
    result = CliRunner().invoke(
        cli,
        ["map", str(ARCH_DIR / "edge_bus.yaml"), str(TOPOLOGY), "--json", "--ideal-memory"]
        + ["--tiling", "scalesim", "--set", "mac_clusters.count=1"]
        + ["--set", "mac_clusters.dataflow=os"],
    )
    assert result.exit_code == 0, result.output
    layers = json.loads(result.output)["layers"]
    assert [layer["compute_cycles"] for layer in layers] == expected
    assert all(layer["tiles"] == 1 for layer in layers)


def test_scalesim_tiling_splits_filters_over_clusters() -> None:
    arch = load_arch(ARCH_DIR / "edge_bus.yaml", ["mac_clusters.dataflow=os"])  # 16 clusters
    result = archsim.simulate(
        arch, import_scalesim_csv(TOPOLOGY), ideal_memory=True, tiling="scalesim", trace=False
    )
    summary = result.summary
    # Each layer's filters in 16 blocks of ceil(N / 16): one GEMM per cluster that has one.
    blocks = [math.ceil(n / math.ceil(n / 16)) for _, _, n, _ in scalesim_layers()]
    assert summary["tiles"] == sum(blocks)
    assert summary["total_macs"] == summary["workload_macs"]


def test_whole_layer_tiles_need_buffers_that_hold_them() -> None:
    result = CliRunner().invoke(
        cli,
        ["run", str(ARCH_DIR / "edge_bus.yaml"), str(TOPOLOGY), "--tiling", "scalesim"]
        + ["--no-trace"],
    )
    assert result.exit_code == 2
    assert "--ideal-memory" in result.output
    assert "Traceback" not in result.output


def test_ideal_memory_is_never_slower_and_never_beats_the_compute_roof() -> None:
    tiny = WORKLOAD_DIR / "tiny_cnn.yaml"
    arch = ARCH_DIR / "edge_mesh.yaml"
    real = archsim.simulate(arch, tiny, trace=False).summary
    ideal = archsim.simulate(arch, tiny, trace=False, ideal_memory=True).summary
    assert ideal["latency_ps"] <= real["latency_ps"]
    assert ideal["latency_ps"] >= ideal["compute_bound_ps"]
    assert ideal["total_macs"] == real["total_macs"]
    assert ideal["stall_ps"]["dram"] < real["stall_ps"]["dram"]
