"""The tiling search over tile shapes and loop orders: its estimate of DRAM, weight and
operand traffic is exactly what the mapper then emits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import pytest
from conftest import WORKLOAD_DIR

from archsim.config import ArchConfig, load_workload, load_workload_text
from archsim.domain import TransferKind
from archsim.mapping.mapper import ProgramBuilder
from archsim.mapping.program import Program
from archsim.mapping.regions import Region, input_region
from archsim.mapping.residency import physical_sources
from archsim.mapping.tiling import InputTraffic, LoopOrder, TileShape, choose_tiling, executes
from archsim.workload import WorkloadGraph, build_graph
from archsim.workload.graph import Layer

ArchVariant = Callable[..., ArchConfig]

ONE_CONV = """
name: one_conv
input: {width: 64, height: 64, channels: 64}
layers:
  - {name: conv, op: conv2d, filters: 512, kernel: 3, padding: 1}
"""
# DRAM to spare, SRAM ports scarce: reloading weights costs more than re-staging inputs.
SRAM_BOUND = ("dram.channels=8", "sram.banks=2", "sram.ports_per_bank=1")


def bytes_by_layer(program: Program) -> dict[int, dict[TransferKind, int]]:
    """Bytes the program moves, per layer and transfer kind."""
    moved: dict[int, dict[TransferKind, int]] = defaultdict(lambda: defaultdict(int))
    for op in program.transfers():
        moved[op.layer][op.kind] += op.nbytes
    return moved


def assert_estimates_are_emitted(graph: WorkloadGraph, builder: ProgramBuilder) -> int:
    """Every layer's estimated weight fetches and operand loads, and for layers reading
    only DRAM-resident tensors its input staging, equal the emitted bytes; returns how
    many layers had their staging checked."""
    moved = bytes_by_layer(builder.build())
    staged = 0
    for layer in graph.layers:
        if not executes(layer):
            continue
        estimate = builder.tilings[layer.name].estimate
        got = moved[layer.index]
        assert got[TransferKind.WEIGHT_FETCH] == estimate.dram_weight_bytes, layer.name
        assert got[TransferKind.OPERAND_LOAD] == estimate.load_bytes, layer.name
        sources = [s for name in layer.inputs for s in physical_sources(graph, name)]
        if not any(builder.residency.in_sram[source] for source in sources):
            assert got[TransferKind.INPUT_FETCH] == estimate.dram_input_bytes, layer.name
            staged += 1
    return staged


@pytest.mark.parametrize(
    ("sets", "order"),
    [((), LoopOrder.INPUTS_OUTER), (SRAM_BOUND, LoopOrder.WEIGHTS_OUTER)],
)
def test_the_cheaper_loop_order_wins_and_is_emitted_as_estimated(
    arch_variant: ArchVariant, sets: tuple[str, ...], order: LoopOrder
) -> None:
    graph = build_graph(load_workload_text(ONE_CONV))
    builder = ProgramBuilder(graph, arch_variant("edge_bus", *sets))
    tiling = builder.tilings["conv"]
    assert tiling.loop_order is order and tiling.channel_blocks > 1
    assert assert_estimates_are_emitted(graph, builder) == 1


def test_weights_outer_stages_a_dram_input_once_per_channel_block(
    arch_variant: ArchVariant,
) -> None:
    graph = build_graph(load_workload_text(ONE_CONV))
    tiling = ProgramBuilder(graph, arch_variant("edge_bus", *SRAM_BOUND)).tilings["conv"]
    traffic = InputTraffic(graph.layer("conv"))
    every, once = traffic.bytes(tiling.shape, graph.precision.bytes)
    assert tiling.loop_order is LoopOrder.WEIGHTS_OUTER
    assert every == tiling.channel_blocks * once
    assert tiling.estimate.dram_input_bytes == every


def test_inputs_in_sram_keep_weights_outermost(arch_variant: ArchVariant) -> None:
    arch = arch_variant("edge_bus")
    graph = build_graph(load_workload_text(ONE_CONV))
    layer = graph.layer("conv")
    in_sram = choose_tiling(layer, arch, graph.precision, inputs_in_dram=False)
    in_dram = choose_tiling(layer, arch, graph.precision, inputs_in_dram=True)
    assert in_sram.loop_order is LoopOrder.WEIGHTS_OUTER
    assert in_sram.estimate.dram_input_bytes == 0
    assert in_dram.loop_order is LoopOrder.INPUTS_OUTER
    input_bytes = layer.input_shapes[0].nbytes(graph.precision)
    assert input_bytes <= in_dram.estimate.dram_input_bytes < 2 * input_bytes  # halos only


def test_estimates_match_the_program_on_resnet50(arch_variant: ArchVariant) -> None:
    graph = build_graph(load_workload(WORKLOAD_DIR / "resnet50.yaml"), width=640, height=640)
    builder = ProgramBuilder(graph, arch_variant("edge_bus"))
    orders = {tiling.loop_order for tiling in builder.tilings.values()}
    assert orders == {LoopOrder.WEIGHTS_OUTER, LoopOrder.INPUTS_OUTER}
    assert assert_estimates_are_emitted(graph, builder) >= 5


@pytest.mark.parametrize("workload", ["tiny_cnn", "bert_base", "mobilenet_v2", "yolov3_tiny"])
def test_input_traffic_sums_equal_tile_by_tile_sums(workload: str) -> None:
    graph = build_graph(load_workload(WORKLOAD_DIR / f"{workload}.yaml"))
    for layer in graph.layers:
        if not executes(layer):
            continue
        out = layer.output_shape
        shape = TileShape(
            max(1, out.height // 3), max(1, out.width // 2), max(1, out.channels // 4)
        )
        every, once = tile_by_tile(layer, shape)
        assert InputTraffic(layer).bytes(shape, 1) == (every * out.batch, once * out.batch)


def tile_by_tile(layer: Layer, shape: TileShape) -> tuple[int, int]:
    """Input elements of one image over every tile, and over each spatial block's
    distinct regions."""
    out = layer.output_shape

    def spans(size: int, block: int) -> list[tuple[int, int]]:
        return [(start, min(size, start + block)) for start in range(0, size, block)]

    every = once = 0
    for index in range(len(layer.input_shapes)):
        for rows in spans(out.height, shape.rows):
            for cols in spans(out.width, shape.cols):
                regions = [
                    input_region(layer, index, Region(rows, cols, channels))
                    for channels in spans(out.channels, shape.channels)
                ]
                every += sum(region.elements() for region in regions)
                once += sum(region.elements() for region in dict.fromkeys(regions))
    return every, once
