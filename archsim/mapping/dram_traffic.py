"""DRAM bytes the program of an unfused mapping plan moves, per stream, without building it.

What fusion saved is measured against the same workload mapped without fusion. Building
that program only to add up its DRAM transfers costs as much as the fused mapping itself,
so the bytes are counted from the plan instead. For a plan without fusion groups the
program builder (``mapper``) moves DRAM bytes in three ways, each countable without ops:

- weight fetches: every weight block of every weighted layer once; the blocks partition
  the output channels, so a layer fetches exactly its weight bytes (stream 2i + 1);
- result stores of a layer whose output is not in SRAM: every tile once; the tiles
  partition the output, so the layer writes exactly its output bytes;
- input staging of a layer reading a DRAM-resident tensor: one fetch per distinct staged
  copy among the layer's tiles, keyed as the builder keys them (source tensor, image,
  input box, source channels, and the channel block when channel blocks are outermost).
  Tiles of different images read the same boxes, so one image is enumerated.

``tests/test_dram_traffic.py`` checks the counts against built programs.
"""

from __future__ import annotations

from collections import Counter

from archsim.mapping.mapper import activation_stream
from archsim.mapping.planner import MappingPlan
from archsim.mapping.regions import Region, Span, block_span, input_region
from archsim.mapping.residency import view_sources
from archsim.mapping.tiling import LoopOrder, Tiling, executes
from archsim.workload.graph import Layer, WorkloadGraph


def unfused_dram_bytes(graph: WorkloadGraph, plan: MappingPlan) -> Counter[int]:
    """DRAM bytes per stream of the program built from ``plan`` (which has no fusion
    groups), as ``mapper.map_workload`` would emit it."""
    if plan.groups:
        raise ValueError("unfused_dram_bytes counts plans without fusion groups")
    element_bytes = graph.precision.bytes
    in_sram = plan.residency.in_sram
    by_stream: Counter[int] = Counter()
    for layer in graph.layers:
        if not executes(layer):
            continue
        if layer.weight_elements:
            by_stream[2 * layer.index + 1] += layer.weight_elements * element_bytes
        if not in_sram[layer.name]:
            by_stream[activation_stream(graph, layer.name)] += layer.output_shape.elements * (
                element_bytes
            )
        if layer.name in plan.reads_dram:
            by_stream.update(_staging_bytes(graph, layer, plan.tilings[layer.name], in_sram))
    return by_stream


def _staging_bytes(
    graph: WorkloadGraph, layer: Layer, tiling: Tiling, in_sram: dict[str, bool]
) -> Counter[int]:
    """Bytes of the distinct staged copies of DRAM-resident inputs the layer's tiles read."""
    element_bytes = graph.precision.bytes
    out = layer.output_shape
    shape = tiling.shape
    per_block = tiling.loop_order is LoopOrder.WEIGHTS_OUTER
    rows = [block_span(i, shape.rows, out.height) for i in range(tiling.row_blocks)]
    cols = [block_span(i, shape.cols, out.width) for i in range(tiling.col_blocks)]
    sources: dict[tuple[str, Span], list[tuple[str, Span]]] = {}
    staged: dict[tuple[object, ...], tuple[int, int]] = {}  # copy -> (stream, bytes)
    for block in range(tiling.channel_blocks):
        channels = block_span(block, shape.channels, out.channels)
        scope = block if per_block else -1
        for index, producer in enumerate(layer.inputs):
            for row_span in rows:
                for col_span in cols:
                    needed = input_region(layer, index, Region(row_span, col_span, channels))
                    key = (producer, needed.channels)
                    parts = sources.get(key)
                    if parts is None:
                        parts = sources[key] = view_sources(graph, producer, needed.channels)
                    area = max(0, needed.rows[1] - needed.rows[0]) * max(
                        0, needed.cols[1] - needed.cols[0]
                    )
                    for source, source_channels in parts:
                        depth = max(0, source_channels[1] - source_channels[0])
                        nbytes = area * depth * element_bytes
                        if nbytes <= 0 or in_sram[source]:
                            continue
                        copy = (source, needed.rows, needed.cols, source_channels, scope)
                        if copy not in staged:
                            staged[copy] = (activation_stream(graph, source), nbytes)
    by_stream: Counter[int] = Counter()
    for stream, nbytes in staged.values():
        by_stream[stream] += nbytes * out.batch
    return by_stream
