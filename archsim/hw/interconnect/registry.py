"""Every interconnect kind, by the kind its config names: the one list a new kind joins."""

from __future__ import annotations

from archsim.config import InterconnectConfig
from archsim.domain import InterconnectKind, NocScheduleMode
from archsim.hw.interconnect.base import Interconnect, InterconnectSite
from archsim.hw.interconnect.bus import Bus
from archsim.hw.interconnect.crossbar import Crossbar
from archsim.hw.interconnect.deterministic import DeterministicNoc
from archsim.hw.interconnect.mesh import Mesh
from archsim.hw.interconnect.time_triggered import TimeTriggeredNoc

INTERCONNECTS: dict[InterconnectKind, type[Interconnect]] = {
    kind.kind: kind for kind in (Bus, Crossbar, Mesh, DeterministicNoc)
}
"""Interconnect class by ``interconnect.kind``; each class declares its own ``kind``."""


DETERMINISTIC_SCHEDULES: dict[NocScheduleMode, type[Interconnect]] = {
    NocScheduleMode.TIME_TRIGGERED: TimeTriggeredNoc,
    NocScheduleMode.PER_LAYER_SHARE: DeterministicNoc,
}
"""Deterministic NoC class by ``interconnect.schedule``: how its static schedule is built."""


def interconnect_class(cfg: InterconnectConfig) -> type[Interconnect]:
    """The class of the interconnect a config asks for (kind, and schedule for deterministic)."""
    if cfg.kind is InterconnectKind.DETERMINISTIC:
        return DETERMINISTIC_SCHEDULES[cfg.schedule]
    return INTERCONNECTS[cfg.kind]


def build_interconnect(site: InterconnectSite) -> Interconnect:
    """The interconnect the site's config asks for."""
    return interconnect_class(site.cfg).build(site)
