"""Workload statistics: what a network costs before any hardware is chosen.

Parameters, MACs and OPs (2 per MAC), weight bytes at the precision, the largest single
activation tensor, the peak live activation memory when the network runs layer by layer,
and the activation traffic with no fusion (every executed layer reads its inputs and
writes its output once). Views (concat, route, yolo) move no data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from archsim.workload.graph import NETWORK_INPUT, Layer, TensorShape, WorkloadGraph


@dataclass(frozen=True)
class TensorStat:
    """One tensor: the layer that produces it and its size."""

    layer: str
    shape: str
    elements: int
    bytes: int


@dataclass(frozen=True)
class LayerStat:
    """One row of the per-layer table."""

    index: int
    name: str
    op: str
    inputs: list[str]
    output: str
    kernel: str
    stride: str
    macs: int
    params: int
    weight_bytes: int
    output_bytes: int


@dataclass(frozen=True)
class WorkloadStats:
    """Totals of a workload graph at one input size, batch and precision."""

    workload: str
    input: str
    batch: int
    precision: str
    layers: int
    params: int
    macs: int
    ops: int
    weight_bytes: int
    largest_activation: TensorStat
    peak_live_activation_bytes: int
    peak_live_at: str
    activation_traffic_bytes: int
    host_ops: list[str]
    """Operations of the source model that run on the host, not simulated."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def _is_view(layer: Layer) -> bool:
    return layer.is_view


def _executes(layer: Layer) -> bool:
    return not (layer.is_view or layer.is_input)


def _physical(graph: WorkloadGraph, name: str) -> list[str]:
    """Tensors that hold data behind a name (views are looked through)."""
    if name == NETWORK_INPUT:
        return [name]
    layer = graph.layer(name)
    if not _is_view(layer):
        return [name]
    return [source for producer in layer.inputs for source in _physical(graph, producer)]


def _shape(graph: WorkloadGraph, name: str) -> TensorShape:
    return graph.input_shape if name == NETWORK_INPUT else graph.layer(name).output_shape


def workload_stats(graph: WorkloadGraph) -> WorkloadStats:
    """Statistics of a built graph (see module docstring)."""
    precision = graph.precision
    executed = [layer for layer in graph.layers if _executes(layer)]
    largest = max(executed, key=lambda layer: layer.output_shape.elements)
    last_use: dict[str, int] = {NETWORK_INPUT: 0}
    for layer in graph.layers:
        for producer in layer.inputs:
            for source in _physical(graph, producer):
                last_use[source] = max(last_use.get(source, 0), layer.index)
    live: dict[str, int] = {NETWORK_INPUT: graph.input_shape.nbytes(precision)}
    live |= {
        layer.name: layer.output_shape.nbytes(precision) for layer in graph.layers if layer.is_input
    }
    peak, peak_at = 0, NETWORK_INPUT
    traffic = 0
    for layer in executed:
        out_bytes = layer.output_shape.nbytes(precision)
        live[layer.name] = out_bytes  # inputs and output are live together
        if sum(live.values()) > peak:
            peak, peak_at = sum(live.values()), layer.name
        sources = [s for producer in layer.inputs for s in _physical(graph, producer)]
        traffic += out_bytes + sum(_shape(graph, s).nbytes(precision) for s in sources)
        for source in list(live):
            if last_use.get(source, layer.index) <= layer.index and source != layer.name:
                del live[source]
    shape = graph.input_shape
    return WorkloadStats(
        workload=graph.name,
        input=f"{shape.width}x{shape.height}",
        batch=shape.batch,
        precision=precision.value,
        layers=len(graph.layers),
        params=graph.total_params,
        macs=graph.total_macs,
        ops=2 * graph.total_macs,
        weight_bytes=graph.total_weight_elements * precision.bytes,
        largest_activation=TensorStat(
            largest.name,
            str(largest.output_shape),
            largest.output_shape.elements,
            largest.output_shape.nbytes(precision),
        ),
        peak_live_activation_bytes=peak,
        peak_live_at=peak_at,
        activation_traffic_bytes=traffic,
        host_ops=list(graph.host_ops),
    )


def _pair(values: tuple[int, int]) -> str:
    return f"{values[0]}x{values[1]}"


def layer_stats(graph: WorkloadGraph) -> list[LayerStat]:
    """The per-layer table: shapes, window, MACs, parameters and bytes."""
    precision = graph.precision
    rows = []
    for layer in graph.layers:
        windowed = layer.kernel != (1, 1) or layer.stride != (1, 1)
        rows.append(
            LayerStat(
                index=layer.index,
                name=layer.name,
                op=layer.op.value,
                inputs=[str(shape) for shape in layer.input_shapes],
                output=str(layer.output_shape),
                kernel=_pair(layer.kernel) if windowed or layer.gemm else "",
                stride=_pair(layer.stride) if windowed or layer.gemm else "",
                macs=layer.macs,
                params=layer.params,
                weight_bytes=layer.weight_elements * precision.bytes,
                output_bytes=0 if layer.is_view else layer.output_shape.nbytes(precision),
            )
        )
    return rows
