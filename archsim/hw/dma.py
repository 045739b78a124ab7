"""DMA engine: executes a queue of transfers in order, through DRAM, SRAM and interconnect.

Every transfer has exactly one SRAM bank at one end. Its path:
DRAM read (if from DRAM) -> SRAM port + interconnect streaming -> DRAM write (if to DRAM).
The SRAM port is taken before the network and held while the bytes stream, so a transfer
moves at the slower of port and network. Transfers of a dropped frame complete at once,
after their deps, and take no resource.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Sequence
from typing import Any, Protocol

import simpy

from archsim.domain import EndpointKind, StallCause
from archsim.hw.component import Component
from archsim.hw.dram import DramChannel
from archsim.hw.interconnect.base import Interconnect
from archsim.hw.sram import SramBank
from archsim.mapping.program import Endpoint, TransferOp
from archsim.sim.environment import PicosecondEnvironment
from archsim.sim.runtime import OpRuntime, TransferTiming
from archsim.trace.recorder import LAYER_TAG_STRIDE, Recorder


class DataPath(Protocol):
    """What a DMA engine moves bytes through: the chip's memories and interconnect.

    ``archsim.hw.chip.Chip`` provides it; the engines read it only once the run starts,
    after the chip has been assembled.
    """

    @property
    def env(self) -> PicosecondEnvironment:
        """The run's environment."""

    @property
    def recorder(self) -> Recorder:
        """Where transfers are recorded."""

    @property
    def interconnect(self) -> Interconnect:
        """The network between clusters, SRAM banks and DRAM ports."""

    @property
    def banks(self) -> Sequence[SramBank]:
        """The SRAM banks, by bank number."""

    @property
    def dram(self) -> Sequence[DramChannel]:
        """The DRAM channels, by channel number."""

    @property
    def endpoint_component_ids(self) -> Mapping[Endpoint, int]:
        """The trace's component id of each transfer endpoint."""

    def account_transfer(self, op: TransferOp, timing: TransferTiming) -> None:
        """Add a completed transfer to the run totals."""


class DmaEngine(Component):
    """Runs one queue of transfers with a fixed number of channels (transfers in flight).

    Channels take the queue's transfers in program order; each waits for its transfer's
    dependencies, so a later transfer may finish before an earlier one.
    """

    PORTS = ("interconnect",)

    def __init__(self, parent: Component, name: str, chip: DataPath, channels: int) -> None:
        super().__init__(parent, name)
        self.chip = chip
        self.channels = channels

    def start(self, op_ids: Sequence[int], rt: OpRuntime, index: int = 0) -> None:
        """Start the channel processes that execute the queue (``index``: the queue's
        position in the program, which orders processes released by a frame gate)."""
        queue = iter(op_ids)
        for _ in range(min(self.channels, len(op_ids))):
            self.chip.env.process(self._channel(queue, rt, index))

    def _channel(
        self, queue: Iterator[int], rt: OpRuntime, index: int
    ) -> Generator[simpy.Event, Any, None]:
        """One channel: take the next transfer of the queue, run it, repeat."""
        chip = self.chip
        env = chip.env
        interconnect = chip.interconnect
        ops = rt.program.ops
        recorder = chip.recorder
        ids = chip.endpoint_component_ids
        dropped = rt.dropped
        previous = -1
        for op_id in queue:
            op = ops[op_id]
            assert isinstance(op, TransferOp)
            if not rt.start_now(op_id, previous, index, op):
                yield from rt.wait_ready(op_id, previous, index, op)
            previous = op_id
            if dropped[op.frame]:
                interconnect.skip(op)
                rt.finish(op_id)
                continue
            timing = TransferTiming(env._now)
            rt.set_timing(op_id, timing)
            # the transfer's path, written out here (not a nested generator): every event of
            # a transfer resumes this one generator frame
            src, dst = op.src, op.dst
            to_bank = dst.kind is EndpointKind.BANK
            bank = chip.banks[dst.number if to_bank else src.number]
            tag = op.layer + op.frame * LAYER_TAG_STRIDE  # the layer tag of the trace's states
            if src.kind is EndpointKind.DRAM:
                yield from chip.dram[src.number].access(op.nbytes, op.stream, False, timing, tag)
            admission = interconnect.admission(op)
            if admission is not None:
                t_wait = env._now  # env.now without the property call
                yield admission
                waited = env._now - t_wait
                interconnect.admission_wait_ps += waited
                timing.interconnect_wait += waited
                timing.add_phase(t_wait, env._now, StallCause.INTERCONNECT)
            t_request = env._now
            waiting = bank.ports.acquire()
            if waiting is None:  # the usual case: the port is free, nothing to account
                t_port = t_request
            else:
                yield waiting
                t_port = env._now
                timing.sram_wait += t_port - t_request
                timing.add_phase(t_request, t_port, StallCause.SRAM)
            yield from interconnect.send(op, timing, bank.port_timer(to_bank))
            bank.ports.release()
            bank.record_access(op.nbytes, to_bank, t_request, t_port, env._now, tag)
            if dst.kind is EndpointKind.DRAM:
                yield from chip.dram[dst.number].access(op.nbytes, op.stream, True, timing, tag)
            timing.t_done = env._now
            if recorder.enabled:
                row = recorder.transfer(
                    op.layer,
                    op.kind,
                    ids[src],
                    ids[dst],
                    op.nbytes,
                    timing.hops,
                    timing.t_issue,
                    timing.t_grant,
                    timing.t_done,
                    timing.dram_wait,
                    timing.dram,
                    timing.sram_wait,
                    timing.sram,
                    timing.interconnect_wait,
                    timing.interconnect,
                    op.frame,
                )
                if op.fanout:  # a multicast: a row per destination
                    for destination in op.destinations:
                        hops = interconnect.hops(src, destination)
                        recorder.destination(row, ids[destination], hops)
            chip.account_transfer(op, timing)
            rt.finish(op_id)
