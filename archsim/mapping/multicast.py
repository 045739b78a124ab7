"""Multicast planning of one tile step: which operand blocks several clusters load at once.

With ``interconnect.multicast`` the mapper emits a layer's tiles step by step (the j-th
tile of every cluster's run, then the (j+1)-th). Before a step it lists every tile's
operand blocks (``Operand``): a block is named by what it holds (tensor, image, region,
channels and the SRAM bank it is read from, or a layer's weight block), so two clusters
that name the same block load the same bytes from the same bank. Each block that several
clusters of the step load becomes one transfer with several destinations: emitted by the
first of them (its load queue), waiting for every destination's buffer half, and every
destination's compute waits for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OperandKey = tuple[object, ...]


@dataclass(frozen=True)
class Operand:
    """One block a tile loads into its cluster.

    ``bank``: the SRAM bank it is read from; -1 for a DRAM-resident region, which is staged
    into a home bank first. ``deps``: what the load (or the staging fetch) waits for; the
    cluster's buffer-half dependency goes right after the first of them.
    """

    key: OperandKey
    nbytes: int
    stream: int
    bank: int
    deps: tuple[int, ...]

    @property
    def is_weights(self) -> bool:
        """A layer's weight block (key ``("weights", layer, block)``)."""
        return self.key[0] == "weights"


@dataclass
class StepMulticast:
    """The shared operand blocks of one tile step and the transfers emitted for them."""

    operands: dict[int, list[Operand]]  # by cluster, in emit order
    slots: dict[int, int]  # by cluster: the op freeing its buffer half (-1: none)
    shared: dict[OperandKey, list[int]] = field(default_factory=dict)  # key -> clusters
    emitted: dict[OperandKey, int] = field(default_factory=dict)  # key -> transfer op id

    def __post_init__(self) -> None:
        users: dict[OperandKey, list[int]] = {}
        for cluster, operands in self.operands.items():
            for operand in operands:
                users.setdefault(operand.key, []).append(cluster)
        self.shared = {key: clusters for key, clusters in users.items() if len(clusters) > 1}

    def destinations(self, key: OperandKey) -> list[int] | None:
        """Clusters of the step that load the block (in emit order), None if only one."""
        return self.shared.get(key)

    def slots_of(self, clusters: list[int]) -> list[int]:
        """Buffer-half dependencies of the given clusters."""
        return [self.slots[cluster] for cluster in clusters]
