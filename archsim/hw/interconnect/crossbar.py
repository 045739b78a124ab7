"""Crossbar: every destination endpoint has its own input port, so transfers to different
destinations never meet; transfers to the same destination are blocking there.

A packet holds its destination's port for ceil(bytes / width) + hop_latency cycles; waiting
packets are served by the configured arbitration. Transfers are packetized like on a bus,
so several sources interleave at a busy destination.
"""

from __future__ import annotations

from archsim.config import InterconnectConfig
from archsim.domain import ComponentKind, InterconnectKind
from archsim.hw.component import Component
from archsim.hw.interconnect.base import InterconnectSite, LinkStats
from archsim.hw.interconnect.single_stage import SingleStageInterconnect
from archsim.mapping.program import Endpoint, TransferOp
from archsim.sim.environment import PicosecondEnvironment
from archsim.sim.resources import ArbitratedResource
from archsim.trace import Recorder


class Crossbar(SingleStageInterconnect):
    """A blocking crossbar with one port per destination endpoint."""

    kind = InterconnectKind.CROSSBAR

    def __init__(
        self,
        parent: Component,
        name: str,
        cfg: InterconnectConfig,
        env: PicosecondEnvironment,
        recorder: Recorder,
        endpoints: list[Endpoint],
    ) -> None:
        super().__init__(parent, name, cfg, env, recorder)
        self.ports = {
            endpoint: ArbitratedResource(env, 1, cfg.arbitration) for endpoint in endpoints
        }
        self.port_stats = {
            endpoint: self._add_link(f"{self.path}.port.{endpoint}", ComponentKind.LINK.value)
            for endpoint in endpoints
        }

    @classmethod
    def build(cls, site: InterconnectSite) -> Crossbar:
        """The chip's crossbar, ``chip.xbar``: one port per endpoint."""
        return cls(site.parent, "xbar", site.cfg, site.env, site.recorder, list(site.endpoints))

    def stage(self, op: TransferOp) -> tuple[ArbitratedResource, LinkStats]:
        """A transfer crosses its destination's port."""
        return self.ports[op.dst], self.port_stats[op.dst]
