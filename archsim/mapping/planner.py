"""Mapping decisions made before any op is emitted: fusion groups, tilings and residency.

The planner tiles every layer (see ``tiling``), plans SRAM (see ``residency``) and, when
fusion is asked for, chooses fusion groups (see ``fusion``):

- layers found to read DRAM-resident tensors are re-tiled with that traffic in the
  estimate until the set is stable;
- when a layer's DRAM staging overflows SRAM, that layer's tiles get smaller until it fits
  (or no smaller tile exists);
- fusion first plans without groups; ``auto`` then chains the layers whose outputs that
  plan spills, explicit groups are always tried; a group whose line buffers overflow SRAM
  gets smaller bands, and one that fits at no band height runs unfused (a fallback);
- a layer whose weights stream (see ``residency.streams_weights``) keeps its weight
  blocks outermost.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from archsim.config import ArchConfig
from archsim.errors import MappingError, SramOverflowError
from archsim.mapping.fusion import (
    Fallback,
    FusionGroup,
    FusionRequest,
    LineBufferOverflowError,
    auto_chains,
    chain_problems,
    largest_fitting_group,
    plan_bands,
)
from archsim.mapping.residency import (
    ResidencyPlan,
    physical_sources,
    plan_residency,
    streams_weights,
)
from archsim.mapping.tiling import (
    InputTraffic,
    LoopOrder,
    Tiling,
    TilingMode,
    choose_tiling,
    default_tile_budget,
    executes,
    scalesim_tiling,
)
from archsim.workload.graph import Layer, TensorShape, WorkloadGraph

MIN_TILE_BUDGET_BYTES = 1024
"""Smallest tile working set the planner tries before it gives up on fitting SRAM."""


@dataclass(frozen=True)
class MappingPlan:
    """What the program builder emits from: per-layer tilings, SRAM residency, the layers
    that read DRAM-resident inputs, fusion groups and the groups that fell back.
    ``unfused`` is the plan of the same workload without fusion, when groups were tried
    (what fusion is measured against)."""

    tilings: dict[str, Tiling]
    residency: ResidencyPlan
    reads_dram: set[str]
    groups: tuple[FusionGroup, ...] = ()
    fallbacks: tuple[Fallback, ...] = ()
    unfused: MappingPlan | None = None

    def group_of(self, name: str) -> FusionGroup | None:
        """The fusion group the layer belongs to, if any."""
        return next((group for group in self.groups if name in group.members), None)


class MappingPlanner:
    """Plans one mapping (see module docstring)."""

    def __init__(
        self,
        graph: WorkloadGraph,
        arch: ArchConfig,
        fusion: FusionRequest | None = None,
        tiling: TilingMode = TilingMode.SEARCH,
    ) -> None:
        self.graph = graph
        self.arch = arch
        self.fusion = fusion or FusionRequest()
        self.tiling = tiling
        self.element_bytes = graph.precision.bytes
        self.sram_bytes = arch.sram.total_bytes
        self.groups: list[FusionGroup] = []
        self.fallbacks: list[Fallback] = []
        # searches are pure: a layer (as its band sees it) re-planned under the same
        # budget, DRAM flag and loop orders gets the same tiling
        self.searched: dict[tuple[object, ...], Tiling] = {}
        self.traffic: dict[tuple[str, TensorShape], InputTraffic] = {}

    def plan(self) -> MappingPlan:
        """Plan without fusion; then, if fusion is asked for, choose groups and plan again."""
        unfused = self._plan_layers()
        chains = [list(members) for members in self.fusion.groups]
        for members in chains:
            problems = chain_problems(self.graph, members)
            if problems:
                raise MappingError(f"fusion group {members}: " + "; ".join(problems))
        if self.fusion.mode == "auto":
            spilled = {name for name, on_chip in unfused.residency.in_sram.items() if not on_chip}
            taken = {name for members in chains for name in members}
            chains += auto_chains(self.graph, spilled, taken)
        if not chains:
            return unfused
        budget = self.sram_bytes // 2
        for members in chains:
            group = largest_fitting_group(self.graph, members, self.element_bytes, budget)
            if group is None:
                need = plan_bands(self.graph, members, 1, self.element_bytes).sram_bytes
                self._fall_back(
                    members,
                    f"with one-row bands its weights and line buffers need {need} bytes of "
                    f"SRAM, more than the {budget} bytes (half the SRAM) a group may use",
                )
            else:
                self.groups.append(group)
        while True:
            try:
                return replace(self._plan_layers(), unfused=unfused)
            except LineBufferOverflowError as error:
                self._shrink_bands(error.layer or "")

    def _fall_back(self, members: list[str] | tuple[str, ...], reason: str) -> None:
        self.fallbacks.append(Fallback(tuple(members), reason))

    def _shrink_bands(self, intermediate: str) -> None:
        """Halve the bands of the group holding ``intermediate``, or run it unfused."""
        index = next(i for i, g in enumerate(self.groups) if intermediate in g.members)
        group = self.groups.pop(index)
        smaller = None
        if group.band_rows > 1:
            smaller = largest_fitting_group(
                self.graph,
                group.members,
                self.element_bytes,
                self.sram_bytes // 2,
                max_band_rows=-(-group.band_rows // 2),
            )
        if smaller is None:
            self._fall_back(group.members, "its line buffers do not fit SRAM beside the rest")
        else:
            self.groups.insert(index, smaller)

    def _band_layer(self, layer: Layer) -> Layer:
        """The layer as one band of a fusion group sees it (for choosing its tile shape)."""
        group = next((g for g in self.groups if layer.name in g.members), None)
        if group is None:
            return layer
        spans = group.bands[group.members.index(layer.name)]
        rows = max(1, max(hi - lo for lo, hi in spans))
        return replace(layer, output_shape=replace(layer.output_shape, height=rows))

    def _plan_layers(self) -> MappingPlan:
        """Tile every layer and plan SRAM with the current fusion groups."""
        full = default_tile_budget(self.arch)
        budgets: dict[str, int] = {}
        reads_dram: set[str] = set()
        while True:
            tilings = {
                layer.name: self._tiling(layer, budgets.get(layer.name, full), reads_dram)
                for layer in self.graph.layers
                if executes(layer)
            }
            try:
                residency = plan_residency(
                    self.graph,
                    tilings,
                    self.arch.mac_clusters.count,
                    self.sram_bytes,
                    self.element_bytes,
                    self.groups,
                )
            except LineBufferOverflowError:
                raise
            except SramOverflowError as error:
                if self.tiling is TilingMode.SCALESIM:
                    raise  # whole-layer tiles cannot shrink
                layer = error.layer or ""
                smaller = budgets.get(layer, full) // 2
                if smaller < MIN_TILE_BUDGET_BYTES or not self._fits(layer, smaller):
                    raise
                budgets[layer] = smaller
                continue
            now_reading = self._layers_reading_dram(residency)
            if now_reading <= reads_dram:
                return MappingPlan(
                    tilings, residency, now_reading, tuple(self.groups), tuple(self.fallbacks)
                )
            reads_dram |= now_reading

    def _tiling(self, layer: Layer, budget: int, reads_dram: set[str]) -> Tiling:
        if self.tiling is TilingMode.SCALESIM:
            return scalesim_tiling(layer, self.arch, self.graph.precision)
        searched = self._band_layer(layer)
        orders = self._orders(layer)
        key = (layer.name, searched.output_shape, budget, layer.name in reads_dram, orders)
        tiling = self.searched.get(key)
        if tiling is None:
            traffic = self.traffic.get(key[:2])
            if traffic is None:
                traffic = self.traffic[key[:2]] = InputTraffic(searched)
            tiling = choose_tiling(
                searched, self.arch, self.graph.precision, budget, key[3], orders, traffic
            )
            self.searched[key] = tiling
        return tiling

    def _orders(self, layer: Layer) -> tuple[LoopOrder, ...] | None:
        """Loop orders a layer may use: weights outermost when its weights stream."""
        if streams_weights(layer, self.element_bytes, self.sram_bytes):
            return (LoopOrder.WEIGHTS_OUTER,)
        return None

    def _fits(self, name: str, budget: int) -> bool:
        """Whether some tile of layer ``name`` fits ``budget`` bytes."""
        try:
            self._tiling(self.graph.layer(name), budget, set())
        except MappingError:
            return False
        return True

    def _layers_reading_dram(self, residency: ResidencyPlan) -> set[str]:
        """Executed layers with at least one input tensor outside SRAM."""
        return {
            layer.name
            for layer in self.graph.layers
            if executes(layer)
            and any(
                not residency.in_sram[source]
                for producer in layer.inputs
                for source in physical_sources(self.graph, producer)
            )
        }


def plan_mapping(
    graph: WorkloadGraph,
    arch: ArchConfig,
    fusion: FusionRequest | None = None,
    tiling: TilingMode = TilingMode.SEARCH,
) -> MappingPlan:
    """Tilings, residency and fusion groups of a workload on an arch (module docstring);
    ``tiling`` scalesim maps every layer as one GEMM per cluster."""
    return MappingPlanner(graph, arch, fusion, tiling).plan()
