"""Several engines on one chip: the per-engine architecture, renumbering, frame assignment.

An arch with ``engines: N`` splits its clusters and SRAM banks into N equal contiguous
groups; DRAM channels and the interconnect stay shared. The workload is mapped once onto
one engine (``engine_arch``) and every frame's ops (made from that one program) are moved
onto its engine's clusters and banks (``EngineLayout``).

Frames go to engines round-robin in arrival order. The engines are identical and a
frame's service time does not depend on which engine runs it, so the engine that got a
frame longest ago is the one predicted to be free first: round-robin *is* the
earliest-predicted-free rule here, and it is fixed before time 0, as the in-order queues
of a program need. (Shared DRAM and interconnect make real service times differ a little;
a frame never moves to another engine once assigned.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from archsim.config import ArchConfig, problem_for
from archsim.domain import EndpointKind
from archsim.errors import MappingError
from archsim.mapping.program import Endpoint
from archsim.units import MIB

WEIGHT_QUEUE = "dma.weights"
"""The weight-fetch queue of a mapped program (engine 0)."""


def engine_arch(arch: ArchConfig) -> ArchConfig:
    """The architecture of one engine: 1/engines of the clusters and of the SRAM banks
    (so of the SRAM capacity), every DRAM channel and the interconnect settings."""
    n = arch.engines
    if n == 1:
        return arch
    return arch.model_copy(
        update={
            "engines": 1,
            "mac_clusters": arch.mac_clusters.model_copy(
                update={"count": arch.mac_clusters.count // n}
            ),
            "sram": arch.sram.model_copy(update={"banks": arch.sram.banks // n}),
        }
    )


@contextmanager
def engine_mapping_hint(arch: ArchConfig) -> Iterator[None]:
    """Add to a MappingError raised inside that the workload was mapped on one engine."""
    try:
        yield
    except MappingError as error:
        if arch.engines == 1:
            raise
        one = engine_arch(arch)
        hint = problem_for(
            arch,
            f"the workload is mapped onto one of {arch.engines} engines: "
            f"{one.mac_clusters.count} clusters and {one.sram.total_bytes / MIB:g} MiB of SRAM",
            "engines",
        )
        raise MappingError([*error.problems, hint], layer=error.layer) from None


@dataclass(frozen=True)
class EngineLayout:
    """Where engine e's clusters and banks start, for renumbering an engine-0 program."""

    engines: int
    clusters_per_engine: int
    banks_per_engine: int

    @classmethod
    def of(cls, arch: ArchConfig) -> EngineLayout:
        """The layout of an architecture's engines."""
        n = arch.engines
        return cls(n, arch.mac_clusters.count // n, arch.sram.banks // n)

    def endpoint(self, endpoint: Endpoint, engine: int) -> Endpoint:
        """An engine-0 endpoint moved to ``engine`` (DRAM channels are shared)."""
        if engine == 0 or endpoint.kind is EndpointKind.DRAM:
            return endpoint
        step = (
            self.clusters_per_engine
            if endpoint.kind is EndpointKind.CLUSTER
            else self.banks_per_engine
        )
        return Endpoint(endpoint.kind, endpoint.number + engine * step)

    def queue(self, name: str, engine: int) -> str:
        """An engine-0 queue name moved to ``engine``: cluster{c}.role, dma{e}.weights."""
        if engine == 0 or name == "sync":
            return name
        if name == WEIGHT_QUEUE:
            return f"dma{engine}.weights"
        owner, role = name.split(".")
        cluster = int(owner.removeprefix("cluster")) + engine * self.clusters_per_engine
        return f"cluster{cluster}.{role}"

    def clusters_of(self, engine: int) -> range:
        """Cluster numbers of an engine."""
        first = engine * self.clusters_per_engine
        return range(first, first + self.clusters_per_engine)


def assign_engines(frames: int, engines: int) -> list[int]:
    """Engine of each frame, in arrival order: round-robin (see the module docstring)."""
    return [frame % engines for frame in range(frames)]
