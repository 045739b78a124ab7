"""Chip: structural assembly of clusters, SRAM banks, DRAM channels, DMA engines and the
interconnect from an architecture config. Holds no behaviour of its own."""

from __future__ import annotations

import numpy as np

from archsim.config import ArchConfig, endpoint_coordinates
from archsim.domain import ComponentKind, EndpointKind
from archsim.hw.component import Component
from archsim.hw.dma import DmaEngine
from archsim.hw.dram import DramChannel
from archsim.hw.interconnect.base import InterconnectSite
from archsim.hw.interconnect.registry import build_interconnect
from archsim.hw.mac_cluster import MacCluster
from archsim.hw.sram import SramBank
from archsim.mapping.noc_schedule import NocSchedule
from archsim.mapping.program import Endpoint, TransferOp
from archsim.mapping.topology import MeshTopology, make_topology
from archsim.mapping.transfer_plan import TransferPlan
from archsim.sim.counters import TransferCounters
from archsim.sim.environment import PicosecondEnvironment
from archsim.sim.runtime import TransferTiming
from archsim.trace import Recorder


def mesh_topology(arch: ArchConfig) -> MeshTopology | None:
    """The mesh topology of a mesh or deterministic interconnect (None for a bus)."""
    mesh = arch.interconnect.mesh
    if mesh is None:  # the config allows a mesh block exactly for the mesh kinds
        return None
    clusters, banks, dram_ports = endpoint_coordinates(arch)
    return make_topology(mesh.topology, mesh.cols, mesh.rows, clusters, banks, dram_ports)


def endpoints(arch: ArchConfig) -> tuple[Endpoint, ...]:
    """Every endpoint of the chip: clusters, then SRAM banks, then DRAM ports."""
    return tuple(
        Endpoint(kind, number)
        for kind, count in (
            (EndpointKind.CLUSTER, arch.mac_clusters.count),
            (EndpointKind.BANK, arch.sram.banks),
            (EndpointKind.DRAM, arch.dram.channels),
        )
        for number in range(count)
    )


class Chip(Component):
    """The accelerator: every component, connected and checked before time 0."""

    def __init__(
        self,
        arch: ArchConfig,
        env: PicosecondEnvironment,
        recorder: Recorder,
        seed_sequence: np.random.SeedSequence,
        schedule: NocSchedule | TransferPlan | None = None,
    ) -> None:
        super().__init__(None, "chip")
        self.env = env
        self.recorder = recorder
        self.counters = TransferCounters()
        recorder.add_component(self.path, ComponentKind.CHIP.value)
        self.clusters = [
            MacCluster(self, f"cluster{i}", arch.mac_clusters, env, recorder)
            for i in range(arch.mac_clusters.count)
        ]
        dma_channels = arch.mac_clusters.dma_channels
        self.load_dma = [DmaEngine(c, "load", self, dma_channels) for c in self.clusters]
        self.store_dma = [DmaEngine(c, "store", self, dma_channels) for c in self.clusters]
        # one weight-fetch engine per engine: chip.dma, then chip.dma1, chip.dma2, ...
        self.weight_dmas = [
            DmaEngine(self, f"dma{e}" if e else "dma", self, dma_channels)
            for e in range(arch.engines)
        ]
        self.weight_dma = self.weight_dmas[0]
        sram = Component(self, "sram")
        self.banks = [
            SramBank(sram, f"bank{j}", arch.sram, env, recorder) for j in range(arch.sram.banks)
        ]
        dram = Component(self, "dram")
        channel_seeds = seed_sequence.spawn(arch.dram.channels)
        self.dram = [
            DramChannel(dram, f"ch{k}", arch.dram, env, recorder, np.random.default_rng(seed))
            for k, seed in enumerate(channel_seeds)
        ]
        self.topology = mesh_topology(arch)
        self.interconnect = build_interconnect(
            InterconnectSite(
                self, arch.interconnect, env, recorder, endpoints(arch), self.topology, schedule
            )
        )
        self.endpoint_component_ids: dict[Endpoint, int] = {}
        for kind, ids in (
            (EndpointKind.CLUSTER, [c.component_id for c in self.clusters]),
            (EndpointKind.BANK, [b.component_id for b in self.banks]),
            (EndpointKind.DRAM, [d.component_id for d in self.dram]),
        ):
            for number, component_id in enumerate(ids):
                self.endpoint_component_ids[Endpoint(kind, number)] = component_id
        for node in self.walk():
            if "interconnect" in node.PORTS:
                node.connect("interconnect", self.interconnect)
        self.elaborate()

    def account_transfer(self, op: TransferOp, timing: TransferTiming) -> None:
        """Add a completed transfer to the run totals."""
        self.counters.add(op, timing)
