"""Shared bus: one arbitrated medium for every transfer. A packet holds the whole bus for
ceil(bytes / width) + hop_latency cycles; waiting requesters (source endpoints) are served
by the configured arbitration (first come first served, round robin or fixed priority),
so long transfers interleave packet by packet. A multicast (``interconnect.multicast``)
is a broadcast: every destination reads the one transfer off the bus, timed as a unicast."""

from __future__ import annotations

from archsim.config import InterconnectConfig
from archsim.domain import ComponentKind, InterconnectKind
from archsim.hw.component import Component
from archsim.hw.interconnect.base import InterconnectSite, LinkStats
from archsim.hw.interconnect.single_stage import SingleStageInterconnect
from archsim.mapping.program import TransferOp
from archsim.sim.environment import PicosecondEnvironment
from archsim.sim.resources import ArbitratedResource
from archsim.trace import Recorder


class Bus(SingleStageInterconnect):
    """A blocking shared bus."""

    kind = InterconnectKind.BUS

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: InterconnectConfig,
        env: PicosecondEnvironment,
        recorder: Recorder,
    ) -> None:
        super().__init__(parent, name, cfg, env, recorder)
        self.medium = ArbitratedResource(env, 1, cfg.arbitration)
        self.stats = self._add_link(self.path, ComponentKind.INTERCONNECT.value)

    @classmethod
    def build(cls, site: InterconnectSite) -> Bus:
        """The chip's bus, ``chip.bus``."""
        return cls(site.parent, "bus", site.cfg, site.env, site.recorder)

    def stage(self, op: TransferOp) -> tuple[ArbitratedResource, LinkStats]:
        """Every transfer crosses the one bus."""
        return self.medium, self.stats
