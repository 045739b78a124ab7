"""Every interconnect kind, by the kind its config names: the one list a new kind joins."""

from __future__ import annotations

from archsim.domain import InterconnectKind
from archsim.hw.interconnect.base import Interconnect, InterconnectSite
from archsim.hw.interconnect.bus import Bus
from archsim.hw.interconnect.crossbar import Crossbar
from archsim.hw.interconnect.deterministic import DeterministicNoc
from archsim.hw.interconnect.mesh import Mesh

INTERCONNECTS: dict[InterconnectKind, type[Interconnect]] = {
    kind.kind: kind for kind in (Bus, Crossbar, Mesh, DeterministicNoc)
}
"""Interconnect class by ``interconnect.kind``; each class declares its own ``kind``."""


def build_interconnect(site: InterconnectSite) -> Interconnect:
    """The interconnect the site's config asks for."""
    return INTERCONNECTS[site.cfg.kind].build(site)
