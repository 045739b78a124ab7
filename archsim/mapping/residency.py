"""Which activation tensors stay in SRAM and which spill to DRAM.

SRAM holds, at each step of the layer order: the live activation tensors kept on chip,
the weights of the next two weighted layers (the current one and the prefetched one),
and staging space for tiles that read from or write to DRAM (two tiles per cluster).
Tensors are considered greedily in production order; one that would overflow SRAM at any
step of its lifetime (producer to last consumer, plus one step for overlap) spills to
DRAM. Staging depends on those decisions, so the plan is re-checked and the largest
on-chip tensor at an overflowing step is spilled until every step fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from archsim.errors import MappingError, SramOverflowError
from archsim.mapping.tiling import Tiling, executes, is_view
from archsim.workload.graph import WorkloadGraph

NETWORK_INPUT = "input"


@dataclass(frozen=True)
class ResidencyPlan:
    """On-chip decisions, the SRAM each step needs, and weight prefetch per layer."""

    in_sram: dict[str, bool]  # physical tensor -> kept in SRAM
    usage_bytes: list[int]  # SRAM bytes planned at each layer step
    prefetch: list[bool]  # per layer: weights may be fetched one weighted layer ahead

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


def plan_residency(
    graph: WorkloadGraph,
    tilings: dict[str, Tiling],
    clusters: int,
    sram_bytes: int,
    element_bytes: int,
) -> ResidencyPlan:
    """Decide SRAM residency of every physical tensor (see module docstring)."""
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

    weights = [layer.weight_elements * element_bytes for layer in layers]
    weighted = [layer.index for layer in layers if layer.weight_elements]
    weight_reserve, prefetch = _weight_reserve(graph, weights, weighted, sram_bytes)

    in_sram = dict.fromkeys(dram_inputs(graph), False) | {name: name not in final for name in size}
    while True:
        staging = _staging(graph, tilings, in_sram, clusters)
        base = [weight_reserve[s] + staging[s] for s in range(steps)]
        usage = list(base)
        for name in sorted(size, key=lambda n: produced[n]):
            if not in_sram[name]:
                continue
            span = range(produced[name], min(steps, last_use[name] + 2))
            if all(usage[s] + size[name] <= sram_bytes for s in span):
                for s in span:
                    usage[s] += size[name]
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
    return ResidencyPlan(in_sram, usage, prefetch)


def _weight_reserve(
    graph: WorkloadGraph, weights: list[int], weighted: list[int], sram_bytes: int
) -> tuple[list[int], list[bool]]:
    """SRAM held by weights at each step, and whether each layer's weights are prefetched."""
    steps = len(graph.layers)
    reserve = [0] * steps
    prefetch = [False] * steps
    for position, layer_index in enumerate(weighted):
        prefetch[layer_index] = position > 0
    for step in range(steps):
        upcoming = [i for i in weighted if i >= step][:2]
        current = sum(weights[i] for i in upcoming[:1])
        ahead = sum(weights[i] for i in upcoming[1:])
        if upcoming and weights[upcoming[0]] > sram_bytes:
            layer = graph.layers[upcoming[0]]
            raise MappingError(
                f"layer {layer.name!r} has {weights[upcoming[0]]} bytes of weights, more than "
                f"the {sram_bytes} bytes of SRAM (sram); weight streaming is not modelled",
                layer=layer.name,
            )
        if len(upcoming) == 2 and current + ahead > sram_bytes // 2:
            prefetch[upcoming[1]] = False
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
