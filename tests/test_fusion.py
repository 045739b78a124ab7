"""Layer fusion: bands partition every member's rows, line buffers hold what each band
reads, fused intermediates never touch DRAM, MACs are unchanged and DRAM bytes fall."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from conftest import ARCH_DIR, WORKLOAD_DIR

import archsim
from archsim.cli.main import cli
from archsim.config import ArchConfig, load_workload, load_workload_text
from archsim.domain import EndpointKind
from archsim.errors import ConfigError
from archsim.mapping.fusion import FusionRequest, auto_chains, chain_problems, plan_bands
from archsim.mapping.located import fusion_request, map_run
from archsim.mapping.mapper import activation_stream, map_workload
from archsim.mapping.program import Program
from archsim.mapping.regions import Region, input_region
from archsim.workload import WorkloadGraph, build_graph

TINY = (WORKLOAD_DIR / "tiny_cnn.yaml").read_text()
TINY_GROUP = TINY + "fusion:\n  groups:\n    - [dw, pw, res]\n"


def _small_sram(arch_variant: Callable[..., ArchConfig]) -> ArchConfig:
    """edge_bus with 1 MiB of SRAM, so tiny_cnn's activations spill at 256x256."""
    return arch_variant("edge_bus", "sram.bank_kib=64", "mac_clusters.local_buffer_kib=64")


def _tiny(text: str = TINY, size: int = 256) -> tuple[Any, WorkloadGraph]:
    workload = load_workload_text(text, "tiny.yaml")
    return workload, build_graph(workload, width=size, height=size)


def _dram_bytes(program: Program) -> int:
    return sum(
        op.nbytes for op in program.transfers() if EndpointKind.DRAM in (op.src.kind, op.dst.kind)
    )


def _covered(program: Program) -> dict[int, int]:
    covered: dict[int, int] = defaultdict(int)
    for tile in program.tiles:
        rows, cols, chans = tile.rows, tile.cols, tile.channels
        covered[tile.layer] += (rows[1] - rows[0]) * (cols[1] - cols[0]) * (chans[1] - chans[0])
    return covered


@pytest.mark.parametrize("band_rows", [1, 3, 8, 64])
def test_bands_partition_rows_and_line_buffers_hold_each_band_s_reads(band_rows: int) -> None:
    _, graph = _tiny()
    members = ["dw", "pw", "res", "pool2", "up"]
    assert chain_problems(graph, ["dw", "pw", "res"]) == []
    group = plan_bands(graph, members[:3], band_rows, 1)
    for position, name in enumerate(group.members):
        spans = group.bands[position]
        assert spans[0][0] == 0 and spans[-1][1] == graph.layer(name).output_shape.height
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    for position, name in enumerate(group.intermediates):
        consumer = graph.layer(group.members[position + 1])
        slot = consumer.inputs.index(name)
        for band, (lo, hi) in enumerate(group.bands[position + 1]):
            if hi == lo:
                continue
            width = consumer.output_shape.width
            reads = input_region(consumer, slot, Region((lo, hi), (0, width), (0, 1))).rows
            produced_end = group.bands[position][band][1]
            assert reads[1] <= produced_end  # produced before the consumer's band
            # the producer's next band shares the buffer: it must not overwrite these rows
            next_end = group.bands[position][min(band + 1, group.band_count - 1)][1]
            assert next_end - reads[0] <= group.buffer_rows[position]


def test_unfusable_chains_are_explained() -> None:
    _, graph = _tiny()
    assert "is read by" in chain_problems(graph, ["res", "pool2"])[0]  # res has 3 readers
    assert "not a row-local" in chain_problems(graph, ["proj", "gap"])[0]
    assert "does not directly follow" in chain_problems(graph, ["stem", "dw"])[0]
    assert "no layer called" in chain_problems(graph, ["stem", "nope"])[0]


def test_auto_chains_follow_spilled_single_reader_tensors() -> None:
    _, graph = _tiny()
    spilled = {layer.name for layer in graph.layers}
    chains = auto_chains(graph, spilled, taken=set())
    assert ["stem", "pool1"] in chains and ["dw", "pw", "res"] in chains
    assert ["pool2", "up"] in chains
    assert auto_chains(graph, spilled, taken={"pw"}) == [["stem", "pool1"], ["pool2", "up"]]


def test_auto_fusion_keeps_macs_and_tiles_and_removes_intermediate_dram_traffic(
    arch_variant: Callable[..., ArchConfig],
) -> None:
    arch = _small_sram(arch_variant)
    _, graph = _tiny()
    unfused = map_workload(graph, arch)
    fused = map_workload(graph, arch, FusionRequest("auto"))
    assert fused.fusion_groups, "tiny_cnn at 256 on 1 MiB of SRAM must fuse something"
    assert fused.total_macs == unfused.total_macs == graph.total_macs
    assert _covered(fused) == _covered(unfused)
    fused_away = {
        activation_stream(graph, name) for g in fused.fusion_groups for name in g.intermediates
    }
    dram = [op for op in fused.transfers() if EndpointKind.DRAM in (op.src.kind, op.dst.kind)]
    assert not [op for op in dram if op.stream in fused_away]
    unfused_dram = [
        op for op in unfused.transfers() if EndpointKind.DRAM in (op.src.kind, op.dst.kind)
    ]
    assert [op for op in unfused_dram if op.stream in fused_away]  # they did spill before
    assert _dram_bytes(fused) < _dram_bytes(unfused)
    for group in fused.fusion_groups:
        assert 0 < group.sram_bytes <= arch.sram.total_bytes // 2


def test_fused_runs_simulate_on_every_interconnect_and_conserve(
    arch_variant: Callable[..., ArchConfig],
) -> None:
    workload, graph = _tiny(size=128)
    for kind in ("edge_bus", "edge_mesh", "edge_det"):
        arch = arch_variant(kind, "sram.bank_kib=16", "mac_clusters.local_buffer_kib=64")
        fused = archsim.simulate(arch, workload, width=128, height=128, fusion="auto", trace=False)
        plain = archsim.simulate(arch, workload, width=128, height=128, fusion="none", trace=False)
        summary = fused.summary
        assert summary["fusion_groups"], kind
        assert summary["total_macs"] == plain.summary["total_macs"] == graph.total_macs
        moved = summary["dram_bytes_read"] + summary["dram_bytes_written"]
        assert moved == _dram_bytes(fused.program)
        before = plain.summary["dram_bytes_read"] + plain.summary["dram_bytes_written"]
        assert before - moved == summary["dram_bytes_saved_by_fusion"] > 0
        assert all(g["dram_bytes_saved"] > 0 for g in summary["fusion_groups"])
        assert summary["latency_ms"] > 0


def test_fused_run_is_deterministic(arch_variant: Callable[..., ArchConfig]) -> None:
    arch = _small_sram(arch_variant)
    workload, _ = _tiny(TINY_GROUP, 128)
    runs = [
        archsim.simulate(arch, workload, width=128, height=128, seed=3, trace=False).summary
        for _ in range(2)
    ]
    for summary in runs:
        summary.pop("wall_s", None)
    assert runs[0] == runs[1]
    assert runs[0]["fusion_groups"][0]["layers"] == ["dw", "pw", "res"]


def test_explicit_groups_are_used_unless_fusion_is_none() -> None:
    workload, _ = _tiny(TINY_GROUP)
    assert fusion_request(workload).groups == (("dw", "pw", "res"),)
    assert fusion_request(workload, "none") == FusionRequest("none")
    assert fusion_request(workload, "auto").mode == "auto"


def test_a_group_that_cannot_fuse_is_a_located_config_error(
    arch_variant: Callable[..., ArchConfig],
) -> None:
    bad = TINY + "fusion:\n  groups:\n    - [res, pool2]\n    - [stem, ghost]\n"
    workload, graph = _tiny(bad)
    with pytest.raises(ConfigError) as raised:
        request = fusion_request(workload)
    text = str(raised.value)
    assert "tiny.yaml:" in text and "fusion.groups.1" in text and "ghost" in text
    workload, graph = _tiny(TINY + "fusion:\n  groups:\n    - [res, pool2]\n")
    request = fusion_request(workload)
    with pytest.raises(ConfigError, match=r"tiny\.yaml:\d+:\d+: fusion\.groups\.0: cannot fuse"):
        map_run(graph, _small_sram(arch_variant), workload, request)


def test_a_group_too_big_for_sram_falls_back_and_says_why(
    arch_variant: Callable[..., ArchConfig],
) -> None:
    arch = arch_variant("edge_bus", "sram.bank_kib=4", "mac_clusters.local_buffer_kib=16")
    text = """
name: wide
input: {width: 1024, height: 64, channels: 3}
layers:
  - {name: stem, op: conv2d, filters: 16, kernel: 3, padding: same}
  - {name: pool, op: maxpool, kernel: 2}
fusion: {groups: [[stem, pool]]}
"""
    workload = load_workload_text(text, "wide.yaml")
    graph = build_graph(workload)  # one row of stem's output is 16 KiB; SRAM is 64 KiB
    program = map_run(graph, arch, workload, fusion_request(workload)).program
    assert not program.fusion_groups
    [fallback] = program.fusion_fallbacks
    assert fallback.members == ("stem", "pool") and "SRAM" in fallback.reason
    assert program.total_macs == graph.total_macs


def test_cli_fusion_flag_and_bad_group_exit_2(tmp_path: Any) -> None:
    from click.testing import CliRunner

    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY + "fusion:\n  groups:\n    - [res, pool2]\n")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["run", str(ARCH_DIR / "edge_bus.yaml"), str(bad), "--no-trace", "--fusion", "auto"]
    )
    assert result.exit_code == 2
    assert "bad.yaml:" in result.output and "fusion.groups.0" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(
        cli, ["run", str(ARCH_DIR / "edge_bus.yaml"), str(bad), "--no-trace", "--fusion", "none"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli, ["run", str(ARCH_DIR / "edge_bus.yaml"), str(bad), "--fusion", "sideways"]
    )
    assert result.exit_code == 2


def test_yolov3_1080p_fusion_auto_saves_more_than_the_largest_fused_activation(
    arch_variant: Callable[..., ArchConfig],
) -> None:
    """The issue's must-hold, at mapping level: the program's DRAM bytes are what the
    simulation moves (see the conservation test above)."""
    arch = arch_variant("edge_det")
    workload = load_workload(WORKLOAD_DIR / "yolov3.yaml")
    graph = build_graph(workload, width=1920, height=1088)
    unfused = map_workload(graph, arch)
    fused = map_workload(graph, arch, FusionRequest("auto"))
    assert fused.total_macs == unfused.total_macs == graph.total_macs
    largest = max(size for g in fused.fusion_groups for size in g.intermediate_bytes)
    assert largest == 1088 * 1920 * 32  # conv_0's 63.75 MiB output never leaves the chip
    assert _dram_bytes(unfused) - _dram_bytes(fused) >= largest


BIG_WEIGHTS = """
name: big_weights
input: {width: 16, height: 16, channels: 64}
layers:
  - {name: wide, op: conv2d, filters: 512, kernel: 3, padding: same}
  - {name: head, op: conv2d, filters: 16, kernel: 1}
"""


def test_weights_larger_than_half_the_sram_stream_through_it_once(
    arch_variant: Callable[..., ArchConfig],
) -> None:
    arch = arch_variant("edge_bus", "sram.bank_kib=16")  # 256 KiB; wide has 288 KiB
    workload = load_workload_text(BIG_WEIGHTS, "big.yaml")
    graph = build_graph(workload)
    program = map_workload(graph, arch)
    wide = graph.layer("wide")
    fetches = [op for op in program.transfers() if op.kind.name == "WEIGHT_FETCH"]
    assert sum(op.nbytes for op in fetches if op.layer == wide.index) == wide.weight_elements
    assert 0 < program.sram_peak_bytes <= arch.sram.total_bytes
    for name in ("edge_bus", "edge_det"):  # det: later blocks run in the layer's own epoch
        variant = arch_variant(name, "sram.bank_kib=16")
        summary = archsim.simulate(variant, workload, trace=False, watchdog_ms=10).summary
        assert summary["total_macs"] == graph.total_macs
        assert summary["dram_weight_bytes_read"] == graph.total_weight_elements
    # a block is fetched only once every cluster has loaded the block two before it
    wide_fetches = [op for op in fetches if op.layer == wide.index]
    assert len(wide_fetches) > 2
    assert all(len(op.deps) > 1 for op in wide_fetches[2:])


def test_bf16_yolov3_maps_by_streaming_its_largest_layers(
    arch_variant: Callable[..., ArchConfig],
) -> None:
    arch = arch_variant("edge_bus")
    graph = build_graph(
        load_workload(WORKLOAD_DIR / "yolov3.yaml"), width=416, height=416, precision="bf16"
    )
    program = map_workload(graph, arch)  # conv_75 alone holds 9.4 MB of bf16 weights
    fetched = sum(op.nbytes for op in program.transfers() if op.kind.name == "WEIGHT_FETCH")
    assert fetched == graph.total_weight_elements * 2
    assert program.total_macs == graph.total_macs
    assert program.sram_peak_bytes <= arch.sram.total_bytes
