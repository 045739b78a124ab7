"""Architecture schema: MAC clusters, SRAM, DRAM and the interconnect. All defaults live here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import ConfigDict, Field, Strict, model_validator

from archsim.config.base import (
    ArbitrationField,
    CrossChecks,
    DataflowField,
    DramPlanModeField,
    InterconnectKindField,
    MeshShapeField,
    NocScheduleModeField,
    PrecisionField,
    StrictModel,
    raise_cross_checks,
)
from archsim.config.cost import AreaConfig, EnergyConfig
from archsim.config.dram_presets import DRAM_PRESETS, DramPreset, DramPresetName
from archsim.config.operating_point import OperatingPointConfig
from archsim.config.validation import load_model, load_model_text
from archsim.domain import (
    Arbitration,
    Dataflow,
    DramPlanMode,
    InterconnectKind,
    MeshShape,
    NocScheduleMode,
    Precision,
)
from archsim.units import KIB

Coordinate = tuple[int, int]
"""A router position on the mesh: (x, y), x = column, y = row, both from 0."""

_CoordinateField = Annotated[
    tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]], Strict(False)
]
_MacRate = Annotated[float, Field(gt=0, le=1)]
_MESH_KINDS = (InterconnectKind.MESH, InterconnectKind.DETERMINISTIC)


def _default_mac_rate() -> dict[Precision, float]:
    return {
        Precision.INT8: 1.0,
        Precision.INT16: 0.5,
        Precision.BF16: 0.5,
        Precision.FP16: 0.5,
        Precision.FP32: 0.25,
    }


class MacClusterConfig(StrictModel):
    """Identical MAC clusters, each a systolic array with a local buffer and a vector unit."""

    count: int = Field(ge=1, description="Number of MAC clusters.")
    rows: int = Field(ge=1, description="Rows of processing elements in each systolic array.")
    cols: int = Field(ge=1, description="Columns of processing elements in each systolic array.")
    dataflow: DataflowField = Field(
        default=Dataflow.WS,
        description="What stays in the processing elements: ws (weights), os (outputs), "
        "is (inputs).",
    )
    clock_mhz: float = Field(gt=0, description="Cluster clock in MHz.")
    mac_rate: dict[PrecisionField, _MacRate] = Field(
        default_factory=_default_mac_rate,
        min_length=1,
        description="MACs per processing element per cycle for each precision, in (0, 1]. "
        "A precision missing from the map is not supported by this architecture.",
    )
    local_buffer_kib: int = Field(
        default=256,
        ge=1,
        description="KiB of operand and result buffer per cluster (double buffered).",
    )
    vector_lanes: int = Field(
        default=64,
        ge=1,
        description="Elements per cycle of the cluster's vector unit (pooling, add, upsample).",
    )
    dma_channels: int = Field(
        default=4,
        ge=1,
        description="Transfers each DMA engine keeps in flight (cluster load and store engines "
        "and the weight DMA): outstanding requests, issued in program order.",
    )


class SramConfig(StrictModel):
    """On-chip SRAM split into banks; each bank serves its ports independently."""

    banks: int = Field(ge=1, description="Number of SRAM banks.")
    bank_kib: int = Field(ge=1, description="Capacity of each bank in KiB.")
    ports_per_bank: int = Field(default=2, ge=1, description="Read/write ports per bank.")
    port_bytes_per_cycle: int = Field(
        default=64, ge=1, description="Bytes each port moves per SRAM clock cycle."
    )
    clock_mhz: float = Field(gt=0, description="SRAM clock in MHz.")
    write_granule_bytes: int = Field(
        default=0,
        ge=0,
        description="Smallest unit a bank writes whole (e.g. an ECC word); a write whose "
        "size is not a multiple of it first reads the partial granule back "
        "(read-modify-write). 0: no read-modify-write.",
    )

    @property
    def total_bytes(self) -> int:
        """Capacity of all banks in bytes."""
        return self.banks * self.bank_kib * KIB


_PRESET_FIELDS = list(DramPreset.__dataclass_fields__)


def _dram_schema_extra(schema: dict[str, Any]) -> None:
    """In the JSON schema, preset-filled keys are required only when no preset is named."""
    required = [key for key in schema.pop("required", []) if key not in _PRESET_FIELDS]
    if required:
        schema["required"] = required
    schema["anyOf"] = [{"required": ["preset"]}, {"required": _PRESET_FIELDS}]


class DramConfig(StrictModel):
    """Off-chip DRAM channels. A named preset fills every key not given explicitly.

    The timing model (``archsim.hw.dram``) derives row-hit and row-miss latencies and the
    sustained bandwidth from the organisation and timings below.
    """

    model_config = ConfigDict(json_schema_extra=_dram_schema_extra)

    preset: DramPresetName | None = Field(
        default=None,
        description="Memory standard whose per-channel values fill the keys not given here.",
    )
    channels: int = Field(default=1, ge=1, description="Number of independent DRAM channels.")
    peak_gb_per_s: float = Field(
        gt=0, description="Peak bandwidth per channel in GB/s (1e9 bytes per second)."
    )
    burst_bytes: int = Field(
        ge=1, description="Bytes one burst moves (burst length x channel width in bytes)."
    )
    banks: int = Field(ge=1, description="Banks per channel.")
    bank_groups: int = Field(ge=1, description="Bank groups per channel (must divide banks).")
    row_bytes: int = Field(
        ge=1, description="Row (page) size of one bank across the channel width, in bytes."
    )
    tcl_ns: float = Field(ge=0, description="Read latency, read command to data (tCL), in ns.")
    trcd_ns: float = Field(ge=0, description="Activate to read delay (tRCD) in ns.")
    trp_ns: float = Field(ge=0, description="Precharge time (tRP) in ns.")
    tras_ns: float = Field(ge=0, description="Activate to precharge of one bank (tRAS) in ns.")
    trrd_ns: float = Field(ge=0, description="Activate to activate of two banks (tRRD) in ns.")
    tfaw_ns: float = Field(
        ge=0, description="Window in which at most four activates may issue (tFAW) in ns."
    )
    trefi_ns: float = Field(gt=0, description="Refresh interval (tREFI) in ns.")
    trfc_ns: float = Field(
        ge=0,
        description="Time one refresh blocks the channel (tRFC) in ns; 0 disables refresh; "
        "tRFC + tRCD must be below tREFI.",
    )
    interleave_bytes: int = Field(
        default=256,
        ge=1,
        description="Address granule that rotates over the banks (bank groups first): a "
        "multiple of burst_bytes that divides row_bytes.",
    )
    efficiency: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="Extra derate of the data rate for controller overhead, in (0, 1]; the "
        "timing model itself produces the sustained bandwidth, so 1.0 means none.",
    )

    @property
    def burst_ns(self) -> float:
        """Time one burst occupies the data bus in ns (at peak x efficiency)."""
        return self.burst_bytes / (self.peak_gb_per_s * self.efficiency)

    @property
    def row_hit_latency_ns(self) -> float:
        """Unloaded latency of a one-burst read to an open row: tCL + burst time."""
        return self.tcl_ns + self.burst_ns

    @property
    def row_miss_latency_ns(self) -> float:
        """Unloaded one-burst read when another row is open: tRP + tRCD + tCL + burst time."""
        return self.trp_ns + self.trcd_ns + self.row_hit_latency_ns

    @property
    def streaming_efficiency(self) -> float:
        """Closed-form sustained fraction of peak for long sequential streams.

        Refresh takes tRFC plus one reopened row (tRCD) per tREFI; everything else of a
        well-interleaved stream hides behind data. ``archsim dram`` measures it.
        """
        return self.efficiency * (1 - (self.trfc_ns + self.trcd_ns) / self.trefi_ns)

    @model_validator(mode="before")
    @classmethod
    def _fill_from_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("preset") is None:
            return data
        name = data["preset"]
        preset = DRAM_PRESETS.get(name) if isinstance(name, str) else None
        if preset is None:
            known = ", ".join(DRAM_PRESETS)
            raise_cross_checks([(("preset",), f"unknown DRAM preset {name!r}; known: {known}")])
        return {**preset.fields(), **data}

    @model_validator(mode="after")
    def _check_timing(self) -> Self:
        checks = CrossChecks()
        if self.trfc_ns >= self.trefi_ns:
            checks.add(("trfc_ns",), f"must be less than trefi_ns ({self.trefi_ns:g})")
        elif self.trfc_ns and self.trfc_ns + self.trcd_ns >= self.trefi_ns:
            checks.add(
                ("trfc_ns",),
                f"plus trcd_ns ({self.trcd_ns:g}) must be less than trefi_ns ({self.trefi_ns:g})",
            )
        if self.banks % self.bank_groups:
            checks.add(("bank_groups",), f"must divide banks ({self.banks})")
        if self.interleave_bytes % self.burst_bytes or self.row_bytes % self.interleave_bytes:
            checks.add(
                ("interleave_bytes",),
                f"must be a multiple of burst_bytes ({self.burst_bytes}) "
                f"that divides row_bytes ({self.row_bytes})",
            )
        checks.raise_if_any()
        return self


class MeshConfig(StrictModel):
    """Size of a 2D mesh of routers."""

    cols: int = Field(ge=1, description="Routers per row (x runs from 0 to cols - 1).")
    rows: int = Field(ge=1, description="Routers per column (y runs from 0 to rows - 1).")
    topology: MeshShapeField = Field(
        default=MeshShape.MESH,
        description="mesh: links between neighbouring routers only; torus: also a wraparound "
        "link from the last router of every row and column to the first (kind mesh only; "
        "dimension-order routing takes the shorter way round, dateline virtual channels keep "
        "it deadlock-free when virtual_channels >= 2).",
    )

    @property
    def routers(self) -> int:
        """Number of routers."""
        return self.cols * self.rows


class AttachConfig(StrictModel):
    """The router each endpoint sits on, as [x, y] (x = column, y = row)."""

    clusters: list[_CoordinateField] = Field(
        description="Router of each MAC cluster, one entry per cluster."
    )
    sram_banks: list[_CoordinateField] = Field(
        description="Router of each SRAM bank, one entry per bank."
    )
    dram_ports: list[_CoordinateField] = Field(
        description="Router of each DRAM channel's port, one entry per channel."
    )


class InterconnectConfig(StrictModel):
    """How clusters, SRAM banks and DRAM ports exchange data."""

    kind: InterconnectKindField = Field(
        description="bus: one shared arbitrated medium; crossbar: one port per destination "
        "(blocking at the destination); mesh: 2D mesh with XY routing (blocking); "
        "deterministic: mesh with a static schedule computed before time 0 (see schedule).",
    )
    schedule: NocScheduleModeField = Field(
        default=NocScheduleMode.TIME_TRIGGERED,
        description="How the deterministic NoC's static schedule is built before time 0: "
        "time_triggered (a planning run of the program books every packet a window on each "
        "link of its route; layers and frames overlap, no two windows share a link) or "
        "per_layer_share (one table per layer epoch: every flow owns a demand-proportional "
        "share of every link of its route for the whole epoch; epochs run one after another). "
        "Only for kind deterministic.",
    )
    plan_dram: DramPlanModeField = Field(
        default=DramPlanMode.EXACT,
        description="How the time-triggered schedule's planning pass models DRAM: exact (the "
        "run's own DRAM model, refresh at the run's seeded phase included, as a compiler "
        "that owns the memory controller's refresh schedule plans it: the run goes as "
        "planned, and is its own planning pass) or average (no refresh events, the data rate "
        "derated by refresh's average cost: the plan does not foresee refresh, late "
        "transfers take new windows and leave their planned ones unused). Only for kind "
        "deterministic with schedule time_triggered.",
    )
    arbitration: ArbitrationField = Field(
        default=Arbitration.FIFO,
        description="How a bus or crossbar port picks the next of several waiting transfers: "
        "fifo (first come, first served), round_robin (source endpoints take turns) or "
        "fixed_priority (clusters before SRAM banks before DRAM ports, lower index first).",
    )
    link_bytes_per_cycle: int = Field(
        ge=1, description="Width of the bus, or of each mesh link, in bytes per cycle."
    )
    clock_mhz: float = Field(gt=0, description="Interconnect clock in MHz.")
    hop_latency_cycles: int = Field(
        default=1, ge=0, description="Router (or bus arbitration) delay per hop, in cycles."
    )
    max_packet_bytes: int = Field(
        default=8192,
        ge=64,
        description="Transfers are split into packets of at most this many bytes, so several "
        "transfers interleave on a bus, a crossbar port or a mesh route.",
    )
    buffer_flits: int = Field(
        default=8,
        ge=1,
        description="Kind mesh: depth of each virtual channel's input buffer, in flits "
        "(a flit is link_bytes_per_cycle bytes). Credits stop a link when the buffer at its "
        "far end is full. The default models a typical 8-flit router buffer; it must be at "
        "least hop_latency_cycles (the buffer covers the router pipeline).",
    )
    virtual_channels: int = Field(
        default=2,
        ge=1,
        description="Kind mesh: virtual channels per link. A packet blocked in a router holds "
        "one channel (its buffer); others pass it on the remaining ones. The default models "
        "a router with 2 virtual channels per port; a torus needs at least 2 to be "
        "deadlock-free (dateline classes).",
    )
    multicast: bool = Field(
        default=False,
        description="Send an operand block that several clusters load at the same tile step "
        "(a layer's weights for every cluster of a spatial split, an input region for "
        "clusters splitting output channels) once, to all of them: along a tree of links "
        "(the XY routes merged, a shared link carrying the bytes once) on kinds mesh and "
        "deterministic, as one broadcast on a bus. Not for kind crossbar.",
    )
    mesh: MeshConfig | None = Field(
        default=None, description="Mesh size; required for kinds mesh and deterministic."
    )
    attach: AttachConfig | None = Field(
        default=None,
        description="Where endpoints sit on the mesh; omitted = automatic placement.",
    )

    def _check_plan_dram(self, checks: CrossChecks) -> None:
        if "plan_dram" not in self.model_fields_set:
            return
        if self.kind is not InterconnectKind.DETERMINISTIC:
            checks.add(
                ("plan_dram",),
                f"plan_dram applies to kind deterministic; kind {self.kind} has no planning pass",
            )
        elif self.schedule is not NocScheduleMode.TIME_TRIGGERED:
            checks.add(
                ("plan_dram",),
                f"plan_dram applies to schedule time_triggered; schedule {self.schedule} "
                "has no planning pass",
            )

    @model_validator(mode="after")
    def _check_topology(self) -> Self:
        checks = CrossChecks()
        uses_mesh = self.kind in _MESH_KINDS
        if self.arbitration is not Arbitration.FIFO and self.kind in _MESH_KINDS:
            checks.add(
                ("arbitration",),
                f"arbitration applies to a bus or a crossbar; kind {self.kind} routes "
                "packets link by link (first come, first served)",
            )
        self._check_router(checks)
        if self.kind is not InterconnectKind.DETERMINISTIC and "schedule" in self.model_fields_set:
            checks.add(
                ("schedule",),
                f"schedule applies to kind deterministic; kind {self.kind} has no static schedule",
            )
        if self.multicast and self.kind is InterconnectKind.CROSSBAR:
            checks.add(
                ("multicast",),
                "a crossbar port serves one destination at a time; multicast needs kind bus, "
                "mesh or deterministic",
            )
        if self.multicast and self.mesh is not None and self.mesh.topology is MeshShape.TORUS:
            checks.add(
                ("multicast",),
                "multicast trees are modelled on a mesh only, not on a torus (the rank order "
                "that keeps branching packets deadlock-free has no place for wraparound links)",
            )
        self._check_plan_dram(checks)
        if uses_mesh and self.mesh is None:
            checks.add(("mesh",), f"mesh is required for kind {self.kind}")
        if not uses_mesh and self.mesh is not None:
            checks.add(("mesh",), f"mesh is not used by kind {self.kind}")
        if not uses_mesh and self.attach is not None:
            checks.add(("attach",), f"attach places endpoints on a mesh; kind {self.kind} has none")
        if self.mesh is not None and self.attach is not None:
            cols, rows = self.mesh.cols, self.mesh.rows
            for group, coordinates in _attach_groups(self.attach):
                for index, (x, y) in enumerate(coordinates):
                    if x >= cols or y >= rows:
                        checks.add(
                            ("attach", group, index),
                            f"[{x}, {y}] is outside the {cols}x{rows} mesh "
                            f"(x < {cols}, y < {rows})",
                        )
        checks.raise_if_any()
        return self

    def _check_router(self, checks: CrossChecks) -> None:
        """Router settings: only kind mesh has buffers, virtual channels and a torus."""
        if self.kind is InterconnectKind.MESH:
            if self.buffer_flits < self.hop_latency_cycles:
                checks.add(
                    ("buffer_flits",),
                    f"must be at least hop_latency_cycles ({self.hop_latency_cycles}): a "
                    "buffer shallower than the router pipeline throttles every packet",
                )
            return
        fields = type(self).model_fields
        for key in ("buffer_flits", "virtual_channels"):
            if getattr(self, key) != fields[key].default:
                checks.add((key,), f"applies to kind mesh; kind {self.kind} has no router buffers")
        if self.mesh is not None and self.mesh.topology is MeshShape.TORUS:
            checks.add(
                ("mesh", "topology"), f"torus is supported by kind mesh only, not {self.kind}"
            )


def _attach_groups(attach: AttachConfig) -> list[tuple[str, list[Coordinate]]]:
    return [
        ("clusters", attach.clusters),
        ("sram_banks", attach.sram_banks),
        ("dram_ports", attach.dram_ports),
    ]


class ArchConfig(StrictModel):
    """An accelerator: MAC clusters, SRAM banks, DRAM channels and their interconnect."""

    name: str = Field(min_length=1, description="Name of the architecture, used in reports.")
    description: str = Field(default="", description="Free text describing the architecture.")
    mac_clusters: MacClusterConfig = Field(description="The MAC clusters (systolic arrays).")
    sram: SramConfig = Field(description="The on-chip SRAM banks.")
    dram: DramConfig = Field(description="The off-chip DRAM channels.")
    interconnect: InterconnectConfig = Field(
        description="The bus or network linking clusters, SRAM banks and DRAM ports."
    )
    energy: EnergyConfig = Field(
        default_factory=EnergyConfig,
        description="Energy per action and static power (defaults: edge-class placeholders).",
    )
    area: AreaConfig = Field(
        default_factory=AreaConfig,
        description="Area per component and a die-cost proxy (defaults: placeholders).",
    )
    operating_point: OperatingPointConfig | None = Field(
        default=None,
        description="Process corner, voltage and temperature the chip runs at, the PVT model "
        "that scales its clocks and power, and its thermal design power. null: the clocks "
        "and energies above hold as given (and --corner uses the block's defaults).",
    )
    engines: int = Field(
        default=1,
        ge=1,
        description="Independent engines: the clusters and SRAM banks are split into this many "
        "equal contiguous groups, each running whole frames on its own; DRAM channels and the "
        "interconnect are shared. Must divide mac_clusters.count and sram.banks.",
    )

    @model_validator(mode="after")
    def _check_engines(self) -> Self:
        checks = CrossChecks()
        for count, key in (
            (self.mac_clusters.count, "mac_clusters.count"),
            (self.sram.banks, "sram.banks"),
        ):
            if count % self.engines:
                checks.add(("engines",), f"{self.engines} engines do not divide {key} ({count})")
        checks.raise_if_any()
        return self

    @model_validator(mode="after")
    def _check_attach_counts(self) -> Self:
        attach = self.interconnect.attach
        if attach is None:
            return self
        expected = {
            "clusters": (self.mac_clusters.count, "mac_clusters.count"),
            "sram_banks": (self.sram.banks, "sram.banks"),
            "dram_ports": (self.dram.channels, "dram.channels"),
        }
        checks = CrossChecks()
        for group, coordinates in _attach_groups(attach):
            count, count_key = expected[group]
            if len(coordinates) != count:
                checks.add(
                    ("interconnect", "attach", group),
                    f"has {len(coordinates)} entries but {count_key} is {count}",
                )
        checks.raise_if_any()
        return self


def endpoint_coordinates(
    arch: ArchConfig,
) -> tuple[list[Coordinate], list[Coordinate], list[Coordinate]]:
    """Mesh routers of the (clusters, SRAM banks, DRAM ports).

    ``interconnect.attach`` if given; otherwise cluster i and bank i sit at router i in
    row-major order (modulo the router count) and DRAM port j at (0, j * rows // channels),
    down the left column. Raises ValueError for an interconnect without a mesh.
    """
    interconnect = arch.interconnect
    mesh = interconnect.mesh
    if mesh is None:
        raise ValueError(f"interconnect kind {interconnect.kind} has no mesh to place endpoints")
    attach = interconnect.attach
    if attach is not None:
        return list(attach.clusters), list(attach.sram_banks), list(attach.dram_ports)

    def router(index: int) -> Coordinate:
        position = index % mesh.routers
        return position % mesh.cols, position // mesh.cols

    channels = arch.dram.channels
    return (
        [router(i) for i in range(arch.mac_clusters.count)],
        [router(i) for i in range(arch.sram.banks)],
        [(0, j * mesh.rows // channels) for j in range(channels)],
    )


def load_arch(path: str | Path, overrides: Sequence[str] = ()) -> ArchConfig:
    """Load and validate an architecture YAML file, applying ``--set`` overrides first.

    Raises ConfigError listing every problem, each with file, line and dotted key path
    (problems in overridden values name ``--set`` instead of the file).
    """
    return load_model(ArchConfig, path, overrides)


def load_arch_text(text: str, file: str = "<string>", overrides: Sequence[str] = ()) -> ArchConfig:
    """Like ``load_arch`` for YAML held in a string; ``file`` names it in problems."""
    return load_model_text(ArchConfig, text, file, overrides)
