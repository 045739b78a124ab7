"""Layer fusion: chains of layers that run band by band, their intermediates on chip.

A fusion group is a chain of consecutive layers, each consuming the previous one's output,
whose intermediate tensors nobody else reads. The group runs depth-first in horizontal
bands of the last layer's output rows: for each band, every member produces the rows the
next member needs for that band, no more (line buffering: rows already produced for the
previous band are kept, so no MAC is computed twice and the halo is held, not recomputed).

Each intermediate lives in a line buffer in SRAM instead of a full tensor: the rows one
band of the consumer reads plus the rows the producer writes for the next band meanwhile.
A producer's band may only overwrite rows once the consumer's band two back is done (the
mapper adds that dependency). A group's SRAM is the weights of all its members plus its
line buffers; a group that does not fit at any band height falls back to unfused layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from archsim.errors import SramOverflowError
from archsim.mapping.regions import Region, Span, input_region
from archsim.workload.graph import Layer, OpKind, WorkloadGraph

ROW_LOCAL_OPS = frozenset(
    {OpKind.CONV2D, OpKind.MAXPOOL, OpKind.AVGPOOL, OpKind.ADD, OpKind.UPSAMPLE}
)
"""Operators whose output rows depend on a bounded window of input rows (line-bufferable)."""


FusionMode = Literal["none", "auto"]


@dataclass(frozen=True)
class FusionRequest:
    """What the user asked for: auto grouping or not, and explicit groups (always tried)."""

    mode: FusionMode = "none"
    groups: tuple[tuple[str, ...], ...] = ()


class LineBufferOverflowError(SramOverflowError):
    """A fused intermediate's line buffer does not fit SRAM (smaller bands may help)."""


@dataclass(frozen=True)
class FusionGroup:
    """A chain of layers mapped band by band, and the SRAM its line buffers need."""

    members: tuple[str, ...]
    band_rows: int  # output rows of the last member per band
    bands: tuple[tuple[Span, ...], ...]  # per member: the output rows it produces per band
    buffer_rows: tuple[int, ...]  # per intermediate (all members but the last)
    buffer_bytes: tuple[int, ...]  # per intermediate, one image
    intermediate_bytes: tuple[int, ...]  # per intermediate: the whole tensor, all images
    weight_bytes: int

    @property
    def intermediates(self) -> tuple[str, ...]:
        """Tensors kept on chip in line buffers instead of whole."""
        return self.members[:-1]

    @property
    def sram_bytes(self) -> int:
        """SRAM the group holds while it runs: its weights and its line buffers."""
        return self.weight_bytes + sum(self.buffer_bytes)

    @property
    def band_count(self) -> int:
        """Bands per image."""
        return len(self.bands[0])


@dataclass(frozen=True)
class Fallback:
    """A requested or candidate group that runs unfused, and why."""

    members: tuple[str, ...]
    reason: str


def unfusable_reason(graph: WorkloadGraph, producer: Layer, consumer: Layer) -> str | None:
    """Why ``consumer`` cannot be fused after ``producer`` (None when it can)."""
    for layer in (producer, consumer):
        if layer.op not in ROW_LOCAL_OPS:
            return f"{layer.name!r} ({layer.op.value}) is not a row-local operator"
    if consumer.index != producer.index + 1:
        return f"{consumer.name!r} does not directly follow {producer.name!r} in the file"
    if producer.name not in consumer.inputs:
        return f"{consumer.name!r} does not read the output of {producer.name!r}"
    readers = graph.consumers(producer.name)
    if len(readers) != 1:
        names = ", ".join(repr(layer.name) for layer in readers) or "nothing"
        return f"the output of {producer.name!r} is read by {names}, not only the next layer"
    return None


def chain_problems(graph: WorkloadGraph, members: Sequence[str]) -> list[str]:
    """Problems that stop ``members`` from being a fusion group (empty when it can be)."""
    problems = []
    for name in members:
        try:
            graph.layer(name)
        except KeyError:
            problems.append(f"no layer called {name!r}")
    if problems:
        return problems
    layers = [graph.layer(name) for name in members]
    for producer, consumer in zip(layers, layers[1:], strict=False):
        reason = unfusable_reason(graph, producer, consumer)
        if reason is not None:
            problems.append(reason)
    return problems


def auto_chains(graph: WorkloadGraph, spilled: set[str], taken: set[str]) -> list[list[str]]:
    """Maximal chains of fusable layers whose intermediates would otherwise spill to DRAM.

    ``spilled`` are the tensors an unfused plan keeps in DRAM; ``taken`` layers already
    belong to explicit groups.
    """
    chains: list[list[str]] = []
    current: list[str] = []
    layers = graph.layers
    for producer, consumer in zip(layers, layers[1:], strict=False):
        linked = (
            producer.name in spilled
            and producer.name not in taken
            and consumer.name not in taken
            and unfusable_reason(graph, producer, consumer) is None
        )
        if linked:
            current = current or [producer.name]
            current.append(consumer.name)
        elif current:
            chains.append(current)
            current = []
    if current:
        chains.append(current)
    return chains


def _full_width(layer: Layer, rows: Span) -> Region:
    shape = layer.output_shape
    return Region(rows, (0, shape.width), (0, shape.channels))


def plan_bands(
    graph: WorkloadGraph, members: Sequence[str], band_rows: int, element_bytes: int
) -> FusionGroup:
    """Band ranges and line buffers of a chain when its last layer makes ``band_rows`` rows
    per band (see module docstring)."""
    layers = [graph.layer(name) for name in members]
    height = layers[-1].output_shape.height
    count = -(-height // band_rows)
    # produced[i][b]: rows of member i's output done after band b (cumulative end)
    produced = [[0] * count for _ in layers]
    needed_from = [[0] * count for _ in layers]  # first row the consumer's band b reads
    for band in range(count):
        produced[-1][band] = min(height, (band + 1) * band_rows)
    for position in range(len(layers) - 2, -1, -1):
        consumer = layers[position + 1]
        slot = consumer.inputs.index(layers[position].name)
        own_height = layers[position].output_shape.height
        done = 0
        for band in range(count):
            start = produced[position + 1][band - 1] if band else 0
            end = produced[position + 1][band]
            if end > start:
                reads = input_region(consumer, slot, _full_width(consumer, (start, end))).rows
                needed_from[position][band] = reads[0]
                done = max(done, reads[1])
            else:
                needed_from[position][band] = done
            produced[position][band] = own_height if band == count - 1 else done
    bands = tuple(
        tuple(
            (produced[position][band - 1] if band else 0, produced[position][band])
            for band in range(count)
        )
        for position in range(len(layers))
    )
    buffer_rows = []
    for position in range(len(layers) - 1):
        ends = produced[position]
        window = max(
            ends[min(band + 1, count - 1)] - needed_from[position][band] for band in range(count)
        )
        buffer_rows.append(min(layers[position].output_shape.height, window))
    buffer_bytes = tuple(
        rows * layer.output_shape.width * layer.output_shape.channels * element_bytes
        for rows, layer in zip(buffer_rows, layers, strict=False)
    )
    return FusionGroup(
        members=tuple(members),
        band_rows=band_rows,
        bands=bands,
        buffer_rows=tuple(buffer_rows),
        buffer_bytes=buffer_bytes,
        intermediate_bytes=tuple(
            layer.output_shape.elements * element_bytes for layer in layers[:-1]
        ),
        weight_bytes=sum(layer.weight_elements for layer in layers) * element_bytes,
    )


def largest_fitting_group(
    graph: WorkloadGraph,
    members: Sequence[str],
    element_bytes: int,
    budget: int,
    max_band_rows: int | None = None,
) -> FusionGroup | None:
    """The group with the tallest band (halving from the full height) whose weights and line
    buffers fit ``budget`` bytes, or None when not even one-row bands fit."""
    rows = graph.layer(members[-1]).output_shape.height
    if max_band_rows is not None:
        rows = min(rows, max_band_rows)
    while True:
        group = plan_bands(graph, members, rows, element_bytes)
        if group.sram_bytes <= budget:
            return group
        if rows == 1:
            return None
        rows = -(-rows // 2)
