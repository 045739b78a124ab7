"""What the mapper decided for every layer, and the DRAM traffic that follows, without
simulating (``archsim map``).

Every number is read from the mapped Program and its tilings: tile shape, loop order,
tiles and clusters per layer, reuse (MACs per byte moved into the clusters), DRAM bytes
read (weights, activations) and written (activations), whether weights or activations
cross the DRAM interface more than once, and whether the layer's output stays in SRAM.
The DRAM totals are exactly what a simulation of the same mapping reads and writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from archsim.analysis.compute_cycles import program_compute_cycles
from archsim.analysis.report_text import format_bytes
from archsim.analysis.table import ReportTable
from archsim.config import ArchConfig, WorkloadConfig
from archsim.domain import Precision, TransferKind
from archsim.errors import MappingError
from archsim.mapping.located import check_precision_supported, fusion_request, map_run
from archsim.mapping.mapper import ProgramBuilder
from archsim.mapping.program import Program
from archsim.mapping.residency import NETWORK_INPUT, physical_sources
from archsim.mapping.tiling import TilingMode, parse_tiling
from archsim.sim.ideal_memory import ideal_memory_arch
from archsim.workload import WorkloadGraph, build_graph

FUSED = "fused"
"""Loop order shown for layers of a fusion group (they run band by band)."""

_DRAM_WRITES = (TransferKind.SPILL, TransferKind.OUTPUT_WRITE)


@dataclass(frozen=True)
class LayerMapping:
    """One executed layer: the mapper's choices and the bytes its program moves."""

    index: int
    name: str
    op: str
    tile_rows: int
    tile_cols: int
    tile_channels: int
    loop_order: str
    tiles: int
    clusters: int
    macs: int
    load_bytes: int  # moved from SRAM into clusters (operand loads)
    dram_weight_bytes_read: int
    dram_activation_bytes_read: int
    dram_activation_bytes_written: int
    weight_bytes: int  # the layer's weights and biases
    dram_input_tensor_bytes: int  # the DRAM-resident tensors it reads, once each
    output_in_sram: bool
    estimated_cycles: int
    estimated_dram_bytes: int
    compute_cycles: int  # the busiest cluster's compute cycles of the layer

    @property
    def reuse(self) -> float:
        """MACs per byte moved into the clusters (0 for vector layers)."""
        return self.macs / self.load_bytes if self.load_bytes else 0.0

    @property
    def weights_refetched(self) -> bool:
        """Weights crossed the DRAM interface more than once."""
        return self.dram_weight_bytes_read > self.weight_bytes

    @property
    def activations_refetched(self) -> bool:
        """More activation bytes came from DRAM than the tensors read hold (halos, or a
        tensor staged again for each channel block)."""
        return self.dram_activation_bytes_read > self.dram_input_tensor_bytes

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, derived flags included."""
        return {
            **asdict(self),
            "reuse": self.reuse,
            "weights_refetched": self.weights_refetched,
            "activations_refetched": self.activations_refetched,
        }


@dataclass(frozen=True)
class MappingReport:
    """Per-layer mapping of one workload on one architecture, with totals."""

    arch: str
    workload: str
    input: str
    batch: int
    precision: str
    compulsory_dram_bytes: int
    layers: tuple[LayerMapping, ...]

    def totals(self) -> dict[str, int]:
        """Sums over the layers of the additive per-layer numbers."""
        keys = (
            "tiles",
            "compute_cycles",
            "macs",
            "load_bytes",
            "dram_weight_bytes_read",
            "dram_activation_bytes_read",
            "dram_activation_bytes_written",
            "weight_bytes",
        )
        return {key: sum(getattr(layer, key) for layer in self.layers) for key in keys}

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-ready object."""
        totals = self.totals()
        return {
            "arch": self.arch,
            "workload": self.workload,
            "input": self.input,
            "batch": self.batch,
            "precision": self.precision,
            "compulsory_dram_bytes": self.compulsory_dram_bytes,
            "totals": {
                **totals,
                "dram_bytes_read": totals["dram_weight_bytes_read"]
                + totals["dram_activation_bytes_read"],
                "dram_bytes_written": totals["dram_activation_bytes_written"],
                "reuse": totals["macs"] / totals["load_bytes"] if totals["load_bytes"] else 0.0,
            },
            "layers": [layer.to_dict() for layer in self.layers],
        }

    def table(self) -> ReportTable:
        """The per-layer table with a totals row."""
        totals = self.totals()
        reuse = totals["macs"] / totals["load_bytes"] if totals["load_bytes"] else 0.0
        footer = (
            "",
            "total",
            "",
            "",
            "",
            f"{totals['tiles']:,}",
            f"{totals['compute_cycles']:,}",
            "",
            f"{reuse:.1f}",
            format_bytes(totals["dram_weight_bytes_read"]),
            format_bytes(totals["dram_activation_bytes_read"]),
            format_bytes(totals["dram_activation_bytes_written"]),
            "",
            "",
        )
        return ReportTable(
            title=(
                f"{self.workload} on {self.arch}: input {self.input}, batch {self.batch}, "
                f"{self.precision}"
            ),
            headers=(
                ">#",
                "layer",
                "op",
                ">tile RxCxK",
                "order",
                ">tiles",
                ">compute cyc",
                ">clusters",
                ">reuse",
                ">DRAM rd W",
                ">DRAM rd A",
                ">DRAM wr A",
                "re-read",
                "output",
            ),
            rows=[_row(layer) for layer in self.layers],
            footer=[footer],
            notes=(
                "reuse: MACs per byte moved from SRAM into the clusters; W weights, A activations",
                "compute cyc: closed-form cycles of the layer's busiest cluster (the layer's "
                "compute time without stalls); the total adds layers up",
                "re-read: W weights read from DRAM more than once; A more activation bytes "
                "read than the DRAM tensors hold (halos, staging per channel block)",
                f"compulsory DRAM bytes (weights, network input and outputs): "
                f"{format_bytes(self.compulsory_dram_bytes)}",
            ),
        )


def _row(layer: LayerMapping) -> tuple[str, ...]:
    flags = "+".join(
        flag
        for flag, on in (("W", layer.weights_refetched), ("A", layer.activations_refetched))
        if on
    )
    return (
        str(layer.index),
        layer.name,
        layer.op,
        f"{layer.tile_rows}x{layer.tile_cols}x{layer.tile_channels}",
        layer.loop_order,
        f"{layer.tiles:,}",
        f"{layer.compute_cycles:,}",
        str(layer.clusters),
        f"{layer.reuse:.1f}",
        format_bytes(layer.dram_weight_bytes_read),
        format_bytes(layer.dram_activation_bytes_read),
        format_bytes(layer.dram_activation_bytes_written),
        flags or "-",
        "SRAM" if layer.output_in_sram else "DRAM",
    )


def map_for_report(
    arch: ArchConfig,
    workload: WorkloadConfig,
    *,
    width: int | None = None,
    height: int | None = None,
    batch: int | None = None,
    precision: Precision | str | None = None,
    fusion: str | None = None,
    ideal_memory: bool = False,
    tiling: TilingMode | str = TilingMode.SEARCH,
) -> MappingReport:
    """Map ``workload`` on ``arch`` as ``archsim.simulate`` would (same overrides, same
    checks, fusion request, ideal memory and tiling mode) and report every executed layer."""
    graph = build_graph(workload, width=width, height=height, batch=batch, precision=precision)
    check_precision_supported(arch, graph.precision)
    request = fusion_request(workload, fusion)
    mode = parse_tiling(tiling)
    if ideal_memory:
        arch = ideal_memory_arch(arch, graph)
    try:
        builder = ProgramBuilder(graph, arch, request, mode)
        program = builder.build()
    except MappingError:
        map_run(graph, arch, workload, request, mode)  # raises it again, located
        raise
    return mapping_report(graph, program, builder, arch.name, workload.name)


def mapping_report(
    graph: WorkloadGraph,
    program: Program,
    builder: ProgramBuilder,
    arch_name: str,
    workload_name: str,
) -> MappingReport:
    """The report of a built program (``builder`` holds its tilings and residency)."""
    moved: dict[tuple[int, TransferKind], int] = defaultdict(int)
    for op in program.transfers():
        moved[op.layer, op.kind] += op.nbytes
    clusters: dict[int, set[int]] = defaultdict(set)
    for tile in program.tiles:
        clusters[tile.layer].add(tile.cluster)
    cycles = program_compute_cycles(program)
    layers = []
    for plan in program.layers:
        tiling = builder.tilings.get(plan.name)
        if tiling is None:  # views and extra inputs run nothing
            continue
        layer = graph.layer(plan.name)
        fused = builder.group_of_layer(plan.name) is not None
        layers.append(
            LayerMapping(
                index=plan.index,
                name=plan.name,
                op=plan.op,
                tile_rows=plan.tile_rows,
                tile_cols=plan.tile_cols,
                tile_channels=plan.tile_channels,
                loop_order=FUSED if fused else tiling.loop_order.value,
                tiles=plan.tiles,
                clusters=len(clusters[plan.index]),
                macs=plan.macs,
                load_bytes=moved[plan.index, TransferKind.OPERAND_LOAD],
                dram_weight_bytes_read=moved[plan.index, TransferKind.WEIGHT_FETCH],
                dram_activation_bytes_read=moved[plan.index, TransferKind.INPUT_FETCH],
                dram_activation_bytes_written=sum(moved[plan.index, kind] for kind in _DRAM_WRITES),
                weight_bytes=plan.weight_bytes,
                dram_input_tensor_bytes=_dram_input_bytes(graph, builder, layer.inputs),
                output_in_sram=plan.output_in_sram,
                estimated_cycles=tiling.estimate.cycles,
                estimated_dram_bytes=tiling.estimate.dram_bytes,
                compute_cycles=cycles.get(plan.index, 0),
            )
        )
    shape = graph.input_shape
    return MappingReport(
        arch=arch_name,
        workload=workload_name,
        input=f"{shape.width}x{shape.height}",
        batch=shape.batch,
        precision=graph.precision.value,
        compulsory_dram_bytes=program.compulsory_dram_bytes,
        layers=tuple(layers),
    )


def _dram_input_bytes(graph: WorkloadGraph, builder: ProgramBuilder, inputs: Sequence[str]) -> int:
    """Bytes of the DRAM-resident physical tensors behind ``inputs``, each once."""
    sources = dict.fromkeys(s for name in inputs for s in physical_sources(graph, name))
    in_sram = builder.residency.in_sram
    return sum(_tensor_bytes(graph, source) for source in sources if not in_sram.get(source, False))


def _tensor_bytes(graph: WorkloadGraph, name: str) -> int:
    shape = graph.input_shape if name == NETWORK_INPUT else graph.layer(name).output_shape
    return shape.nbytes(graph.precision)
