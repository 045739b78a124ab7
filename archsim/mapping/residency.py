"""Which activation tensors stay in SRAM and which spill to DRAM.

SRAM holds, at each step of the layer order: the live activation tensors kept on chip,
the weights of the next two weighted layers (the current one and the prefetched one;
a layer whose weights exceed half the SRAM streams them, holding two blocks at a time),
and staging space for tiles that read from or write to DRAM (two tiles per cluster).
Tensors are considered greedily in production order; one that would overflow SRAM at any
step of its lifetime (producer to last consumer, plus one step for overlap) spills to
DRAM. Staging depends on those decisions, so the plan is re-checked and the largest
on-chip tensor at an overflowing step is spilled until every step fits.

A fusion group (see ``fusion``) counts as one weighted unit (all its members' weights are
held together), and each of its intermediates occupies its line buffer, not the whole
tensor; line buffers are placed first and never spill (the mapper shrinks the group's
bands or runs it unfused when they do not fit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from archsim.errors import MappingError, SramOverflowError
from archsim.mapping.fusion import FusionGroup, LineBufferOverflowError
from archsim.mapping.regions import Span
from archsim.mapping.tiling import Tiling, executes, is_view
from archsim.workload.graph import Layer, OpKind, WorkloadGraph

NETWORK_INPUT = "input"


@dataclass(frozen=True)
class ResidencyPlan:
    """On-chip decisions, the SRAM each step needs, and weight prefetch per layer."""

    in_sram: dict[str, bool]  # physical tensor -> kept in SRAM
    usage_bytes: list[int]  # SRAM bytes planned at each layer step
    prefetch: list[bool]  # per layer: weights may be fetched one weighted layer ahead
    streamed: list[bool]  # per layer: weights stream through SRAM two blocks at a time

    @property
    def peak_bytes(self) -> int:
        """Largest planned SRAM use over the run."""
        return max(self.usage_bytes, default=0)


def physical_sources(graph: WorkloadGraph, name: str) -> list[str]:
    """Physical tensors behind a tensor name (views such as concat are looked through)."""
    if name == NETWORK_INPUT:
        return [name]
    layer = graph.layer(name)
    if not is_view(layer):
        return [name]
    sources: list[str] = []
    for producer in layer.inputs:
        sources.extend(physical_sources(graph, producer))
    return sources


def view_sources(graph: WorkloadGraph, name: str, channels: Span) -> list[tuple[str, Span]]:
    """Physical tensors and channel ranges behind channels ``channels`` of a (possibly view)
    tensor: a slice is a channel range of its one producer, a channel concat the
    producers' channels side by side."""
    if name == NETWORK_INPUT or not is_view(graph.layer(name)):
        return [(name, channels)]
    layer = graph.layer(name)
    if layer.op is OpKind.SLICE:
        begin = layer.offset[2]
        return view_sources(graph, layer.inputs[0], (channels[0] + begin, channels[1] + begin))
    parts: list[tuple[str, Span]] = []
    offset = 0
    for producer, shape in zip(layer.inputs, layer.input_shapes, strict=True):
        lo, hi = max(channels[0], offset), min(channels[1], offset + shape.channels)
        if hi > lo:
            parts.extend(view_sources(graph, producer, (lo - offset, hi - offset)))
        offset += shape.channels
    return parts


def network_outputs(graph: WorkloadGraph) -> set[str]:
    """Physical tensors that leave the chip: those behind every layer nothing consumes
    (a view such as a yolo head or a final concat passes the role to its producers)."""
    outputs: set[str] = set()
    for layer in graph.layers:
        if not graph.consumers(layer.name):
            outputs.update(physical_sources(graph, layer.name))
    return {name for name in outputs if name != NETWORK_INPUT and executes(graph.layer(name))}


def dram_inputs(graph: WorkloadGraph) -> list[str]:
    """Tensors that start in DRAM: the network input and every extra input layer."""
    return [NETWORK_INPUT] + [layer.name for layer in graph.layers if layer.is_input]


def streams_weights(layer: Layer, element_bytes: int, sram_bytes: int) -> bool:
    """Whether a layer's weights exceed half the SRAM, so they stream through it block by
    block (channel blocks outermost, two blocks held at a time) instead of being held."""
    return layer.weight_elements * element_bytes > sram_bytes // 2


def plan_residency(
    graph: WorkloadGraph,
    tilings: dict[str, Tiling],
    clusters: int,
    sram_bytes: int,
    element_bytes: int,
    groups: Sequence[FusionGroup] = (),
) -> ResidencyPlan:
    """Decide SRAM residency of every physical tensor (see module docstring).

    Raises SramOverflowError naming a fused intermediate when a group's line buffers do
    not fit beside the weights and staging of its steps.
    """
    layers = graph.layers
    steps = len(layers)
    size: dict[str, int] = {}
    produced: dict[str, int] = {}
    last_use: dict[str, int] = {}
    for layer in layers:
        if executes(layer):
            size[layer.name] = layer.output_shape.nbytes(graph.precision)
            produced[layer.name] = layer.index
            last_use[layer.name] = layer.index
        for producer in layer.inputs:
            for source in physical_sources(graph, producer):
                if source in last_use:
                    last_use[source] = max(last_use[source], layer.index)
    final = network_outputs(graph)

    line_buffers = {
        name: nbytes
        for group in groups
        for name, nbytes in zip(group.intermediates, group.buffer_bytes, strict=True)
    }
    size.update(line_buffers)
    weights = [layer.weight_elements * element_bytes for layer in layers]
    streamed = [streams_weights(layer, element_bytes, sram_bytes) for layer in layers]
    held = [
        2 * tilings[layer.name].weight_bytes if stream else weight
        for weight, stream, layer in zip(weights, streamed, layers, strict=True)
    ]
    weight_reserve, prefetch = _weight_reserve(
        graph, held, _weighted_units(graph, groups), sram_bytes
    )

    in_sram = dict.fromkeys(dram_inputs(graph), False) | {name: name not in final for name in size}
    order = sorted(size, key=lambda n: (n not in line_buffers, produced[n]))
    while True:
        staging = _staging(graph, tilings, in_sram, clusters)
        base = [weight_reserve[s] + staging[s] for s in range(steps)]
        usage = list(base)
        for name in order:
            if not in_sram[name]:
                continue
            span = range(produced[name], min(steps, last_use[name] + 2))
            if all(usage[s] + size[name] <= sram_bytes for s in span):
                for s in span:
                    usage[s] += size[name]
            elif name in line_buffers:
                raise LineBufferOverflowError(
                    f"the line buffer of fused layer {name!r} ({size[name]} bytes) does not "
                    "fit SRAM beside the weights and staging of its steps",
                    layer=name,
                )
            else:
                in_sram[name] = False
        recheck = _staging(graph, tilings, in_sram, clusters)
        if recheck == staging:
            break
    if any(b > sram_bytes for b in base):
        step = max(range(steps), key=lambda s: base[s])
        raise SramOverflowError(
            f"layer {layers[step].name!r} needs {base[step]} bytes of SRAM for weights and "
            f"DRAM staging alone, more than the {sram_bytes} bytes the arch has (sram)",
            layer=layers[step].name,
        )
    return ResidencyPlan(in_sram, usage, prefetch, streamed)


def _weighted_units(graph: WorkloadGraph, groups: Sequence[FusionGroup]) -> list[list[int]]:
    """Layer indexes whose weights are fetched together: a fusion group's weighted members,
    or one weighted layer."""
    group_of = {name: group for group in groups for name in group.members}
    units: list[list[int]] = []
    seen: set[tuple[str, ...]] = set()
    for layer in graph.layers:
        group = group_of.get(layer.name)
        if not layer.weight_elements or (group is not None and group.members in seen):
            continue
        if group is None:
            units.append([layer.index])
            continue
        seen.add(group.members)
        members = [graph.layer(name) for name in group.members]
        units.append([member.index for member in members if member.weight_elements])
    return units


def _weight_reserve(
    graph: WorkloadGraph, weights: list[int], units: list[list[int]], sram_bytes: int
) -> tuple[list[int], list[bool]]:
    """SRAM held by weights at each step, and whether each layer's weights are prefetched
    (a unit's weights are fetched together, during the previous unit when SRAM allows)."""
    steps = len(graph.layers)
    reserve = [0] * steps
    prefetch = [False] * steps
    for position, unit in enumerate(units):
        for layer_index in unit:
            prefetch[layer_index] = position > 0
    for step in range(steps):
        upcoming = [unit for unit in units if unit[-1] >= step][:2]
        current = sum(weights[i] for unit in upcoming[:1] for i in unit)
        ahead = sum(weights[i] for unit in upcoming[1:] for i in unit)
        if upcoming and current > sram_bytes:
            layer = graph.layers[upcoming[0][0]]
            raise MappingError(
                f"layer {layer.name!r} holds {current} bytes of weights, more than "
                f"the {sram_bytes} bytes of SRAM (sram)",
                layer=layer.name,
            )
        if len(upcoming) == 2 and current + ahead > sram_bytes // 2:
            for layer_index in upcoming[1]:
                prefetch[layer_index] = False
            ahead = 0
        reserve[step] = current + ahead
    return reserve, prefetch


def _staging(
    graph: WorkloadGraph, tilings: dict[str, Tiling], in_sram: dict[str, bool], clusters: int
) -> list[int]:
    """SRAM staging each step needs for tiles that read or write DRAM-resident tensors."""
    staging = []
    for layer in graph.layers:
        tiling = tilings.get(layer.name)
        if tiling is None:
            staging.append(0)
            continue
        reads_dram = any(
            not in_sram[source]
            for producer in layer.inputs
            for source in physical_sources(graph, producer)
        )
        writes_dram = not in_sram[layer.name]
        per_tile = (tiling.input_bytes if reads_dram else 0) + (
            tiling.output_bytes if writes_dram else 0
        )
        staging.append(2 * min(clusters, tiling.tiles) * per_tile)
    return staging
