"""The Program: what the mapper produces and the engine executes.

A program is a dependency graph of operations, each owned by one in-order queue:

- ``cluster{c}.compute``: ComputeOps of MAC cluster c (one per tile)
- ``cluster{c}.load``: TransferOps that bring tile operands into cluster c
- ``cluster{c}.store``: TransferOps that take tile results out of cluster c
- ``dma.weights``: weight fetches from DRAM into SRAM, in layer order (``dma{e}.weights``
  for engine e > 0 of a multi-engine arch)
- ``sync``: BarrierOps, one per layer, done when every result of the layer has landed
- ``arrivals``, ``frames`` and ``frame_ends``: ArrivalOps, frame start gates and frame end
  barriers of a multi-frame program (``archsim.scenario.frames``); a mapped program has none

Ops carry the ``frame`` they belong to (0 in a mapped program).

Ops are read-only once made, by convention: they are slotted dataclasses, hashed and
compared by value, but not frozen, because a frozen dataclass takes several times as long
to make (``object.__setattr__`` per field) and a run makes one op per tile and transfer of
every frame (``archsim.scenario.frames``).

An op starts when its queue predecessor is done and every op in ``deps`` is done.
Double buffering, backpressure and layer dependencies are all expressed as deps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from archsim.domain import EndpointKind, TransferKind
from archsim.mapping.fusion import Fallback, FusionGroup


class Endpoint(NamedTuple):
    """One end of a transfer: a cluster, an SRAM bank or a DRAM channel, by number."""

    kind: EndpointKind
    number: int

    def __str__(self) -> str:
        return f"{self.kind.name.lower()}{self.number}"


@dataclass(slots=True, unsafe_hash=True)
class ComputeOp:
    """One tile on one MAC cluster: a closed-form number of cycles."""

    id: int
    layer: int
    cluster: int
    macs: int
    cycles: int
    deps: tuple[int, ...]
    frame: int = 0


@dataclass(slots=True, unsafe_hash=True)
class TransferOp:
    """Bytes moving from src to dst.

    ``stream`` names the tensor (DRAM row-hit tracking). ``epoch`` is the layer during
    which the transfer is planned to run: its own layer, or the layer before it for a
    weight prefetch (a deterministic NoC reserves bandwidth per epoch). ``fanout``: the
    further destinations of a multicast (an operand load sent once to several clusters,
    ``interconnect.multicast``), after ``dst``; empty for a transfer to one destination.
    """

    id: int
    layer: int
    kind: TransferKind
    src: Endpoint
    dst: Endpoint
    nbytes: int
    stream: int
    deps: tuple[int, ...]
    epoch: int
    frame: int = 0
    fanout: tuple[Endpoint, ...] = ()

    @property
    def destinations(self) -> tuple[Endpoint, ...]:
        """Every destination: ``dst``, then the fanout of a multicast."""
        return (self.dst, *self.fanout)


@dataclass(slots=True, unsafe_hash=True)
class BarrierOp:
    """Completes when all of a layer's results are stored."""

    id: int
    layer: int
    deps: tuple[int, ...]
    frame: int = 0


@dataclass(slots=True, unsafe_hash=True)
class ArrivalOp:
    """A frame arrives: completes at ``time_ps`` once its deps are done (or at once, if later)."""

    id: int
    frame: int
    time_ps: int
    deps: tuple[int, ...]


Op = ComputeOp | TransferOp | BarrierOp | ArrivalOp


@dataclass(frozen=True)
class TileRecord:
    """Where one tile ran and what it covered (for the trace and tests)."""

    layer: int
    cluster: int
    image: int
    rows: tuple[int, int]
    cols: tuple[int, int]
    channels: tuple[int, int]


@dataclass(frozen=True)
class LayerPlan:
    """Mapping decisions for one layer."""

    index: int
    name: str
    op: str
    macs: int
    tile_rows: int
    tile_cols: int
    tile_channels: int
    tiles: int
    output_in_sram: bool
    weight_bytes: int
    barrier: int  # op id of the layer's barrier (-1 for views)


@dataclass
class Program:
    """Ops, their queues and the per-layer plan. Built once by the mapper, then read-only."""

    ops: list[Op] = field(default_factory=list)
    queues: dict[str, list[int]] = field(default_factory=dict)
    layers: list[LayerPlan] = field(default_factory=list)
    tiles: list[TileRecord] = field(default_factory=list)
    compulsory_dram_bytes: int = 0
    sram_peak_bytes: int = 0
    sram_usage_bytes: list[int] = field(default_factory=list)  # planned SRAM per layer step
    fusion_groups: list[FusionGroup] = field(default_factory=list)
    fusion_fallbacks: list[Fallback] = field(default_factory=list)

    def add(self, queue: str, op: Op) -> int:
        """Append an op (whose id must be the next index) to a queue; returns its id."""
        ops, op_id = self.ops, op.id
        if op_id != len(ops):
            raise ValueError(f"op id {op_id} is not the next id {len(ops)}")
        ops.append(op)
        ids = self.queues.get(queue)
        if ids is None:
            ids = self.queues[queue] = []
        ids.append(op_id)
        return op_id

    @property
    def next_id(self) -> int:
        """The id the next op must carry."""
        return len(self.ops)

    def transfers(self) -> list[TransferOp]:
        """All transfer ops, in id order."""
        return [op for op in self.ops if isinstance(op, TransferOp)]

    @property
    def total_macs(self) -> int:
        """MACs summed over all compute ops (the conservation check compares this)."""
        return sum(op.macs for op in self.ops if isinstance(op, ComputeOp))
