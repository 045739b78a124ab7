"""Run totals accumulated as transfers complete (per run, never global)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from archsim.domain import EndpointKind, TransferKind
from archsim.mapping.program import TransferOp
from archsim.sim.runtime import TransferTiming


@dataclass
class LayerTraffic:
    """Bytes one layer moved."""

    dram_read: int = 0
    dram_written: int = 0
    sram: int = 0
    interconnect: int = 0
    t_first_ps: int = -1


@dataclass
class TransferCounters:
    """Totals over all completed transfers of a run."""

    dram_bytes_read: int = 0
    dram_bytes_written: int = 0
    dram_read_by_kind: dict[TransferKind, int] = field(default_factory=lambda: defaultdict(int))
    sram_bytes_from_dram: int = 0
    interconnect_bytes: int = 0
    interconnect_wait_ps: int = 0
    contention_ps: int = 0
    transfers: int = 0
    layers: dict[int, LayerTraffic] = field(default_factory=lambda: defaultdict(LayerTraffic))

    def add(self, op: TransferOp, timing: TransferTiming) -> None:
        """Account one completed transfer."""
        nbytes = op.nbytes
        layer = self.layers[op.layer]
        if layer.t_first_ps < 0 or timing.t_issue < layer.t_first_ps:
            layer.t_first_ps = timing.t_issue
        if op.src.kind is EndpointKind.DRAM:
            self.dram_bytes_read += nbytes
            self.dram_read_by_kind[op.kind] += nbytes
            self.sram_bytes_from_dram += nbytes
            layer.dram_read += nbytes
        if op.dst.kind is EndpointKind.DRAM:
            self.dram_bytes_written += nbytes
            layer.dram_written += nbytes
        layer.sram += nbytes
        layer.interconnect += nbytes
        self.interconnect_bytes += nbytes
        self.interconnect_wait_ps += timing.interconnect_wait
        self.contention_ps += timing.contention
        self.transfers += 1
