"""SRAM banks: read-modify-write of partial write granules and bank conflicts, timed
exactly through the DMA path (port, then bus) against their closed forms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import simpy
from conftest import WORKLOAD_DIR

import archsim
from archsim.config import ArchConfig
from archsim.domain import EndpointKind, TransferKind
from archsim.hw.chip import Chip
from archsim.mapping.program import Endpoint, Program, TransferOp
from archsim.sim.runtime import OpRuntime
from archsim.trace import NullRecorder

BANK0 = Endpoint(EndpointKind.BANK, 0)
NS = 1000  # ps per cycle at 1000 MHz

# A slow port (8 B/cycle, one per bank) behind a 64 B/cycle bus without hop latency: the
# port sets every transfer's time, so port time is transfer time.
SLOW_PORT = (
    "sram.port_bytes_per_cycle=8",
    "sram.ports_per_bank=1",
    "interconnect.hop_latency_cycles=0",
)

ArchVariant = Callable[..., ArchConfig]


def store(nbytes: int, cluster: int = 0) -> TransferOp:
    """A result store of nbytes from a cluster into bank 0 (a write at the bank)."""
    src = Endpoint(EndpointKind.CLUSTER, cluster)
    return TransferOp(0, 0, TransferKind.RESULT_STORE, src, BANK0, nbytes, 0, (), 0)


def load(nbytes: int) -> TransferOp:
    """An operand load of nbytes from bank 0 into cluster 0 (a read at the bank)."""
    dst = Endpoint(EndpointKind.CLUSTER, 0)
    return TransferOp(0, 0, TransferKind.OPERAND_LOAD, BANK0, dst, nbytes, 0, (), 0)


def run_transfers(arch: ArchConfig, *ops: TransferOp, together: bool = True) -> tuple[Chip, int]:
    """Execute the ops on one DMA engine of a fresh chip, all at time 0 (one channel each)
    or one after another (one channel); returns the chip and the time the last one
    finished."""
    env = simpy.Environment()
    chip = Chip(arch, env, NullRecorder(), np.random.SeedSequence(0))
    program = Program()
    for op in ops:
        program.add("store_dma0", replace(op, id=program.next_id))
    engine = chip.store_dma[0]
    engine.channels = len(ops) if together else 1
    runtime = OpRuntime(env, program)
    engine.start(program.queues["store_dma0"], runtime)
    env.run()
    assert runtime.completed == len(ops)
    return chip, int(env.now)


def test_a_partial_granule_write_costs_one_granule_read(arch_variant: ArchVariant) -> None:
    arch = arch_variant("edge_bus", *SLOW_PORT, "sram.write_granule_bytes=64")
    chip, took = run_transfers(arch, store(100))
    bank = chip.banks[0]
    # 100 B at 8 B/cycle = 13 cycles, plus reading back one 64 B granule = 8 cycles
    assert took == (13 + 8) * NS
    assert (bank.rmw_writes, bank.rmw_extra_ps) == (1, 8 * NS)


def test_whole_granules_and_reads_cost_no_read_modify_write(arch_variant: ArchVariant) -> None:
    arch = arch_variant("edge_bus", *SLOW_PORT, "sram.write_granule_bytes=64")
    chip, took = run_transfers(arch, store(128), load(100), together=False)
    assert took == (16 + 13) * NS
    assert (chip.banks[0].rmw_writes, chip.banks[0].rmw_extra_ps) == (0, 0)


def test_no_granule_means_no_read_modify_write(arch_variant: ArchVariant) -> None:
    chip, took = run_transfers(arch_variant("edge_bus", *SLOW_PORT), store(100))
    assert took == 13 * NS and chip.banks[0].rmw_extra_ps == 0


def test_two_requesters_at_one_bank_conflict(arch_variant: ArchVariant) -> None:
    arch = arch_variant("edge_bus", *SLOW_PORT)
    chip, took = run_transfers(arch, store(80, cluster=0), store(80, cluster=1))
    bank = chip.banks[0]
    # the second waits for the only port while the first streams 10 cycles
    assert (bank.conflicts, bank.conflict_ps) == (1, 10 * NS)
    assert took == 20 * NS


def test_one_requester_never_conflicts(arch_variant: ArchVariant) -> None:
    arch = arch_variant("edge_bus", *SLOW_PORT)
    chip, took = run_transfers(arch, store(80), store(80), together=False)
    assert (chip.banks[0].conflicts, chip.banks[0].conflict_ps) == (0, 0)
    assert took == 20 * NS


def test_the_summary_reports_conflicts_and_read_modify_writes(arch_variant: ArchVariant) -> None:
    tiny = WORKLOAD_DIR / "tiny_cnn.yaml"
    plain = archsim.simulate(arch_variant("edge_bus"), tiny, trace=False).summary
    arch = arch_variant("edge_bus", "sram.write_granule_bytes=256")
    granular = archsim.simulate(arch, tiny, trace=False).summary
    assert plain["sram_rmw_writes"] == plain["sram_rmw_extra_ps"] == 0
    assert granular["sram_rmw_writes"] > 0
    # each read-modify-write reads one 256 B granule: 4 cycles of a 64 B/cycle port
    assert granular["sram_rmw_extra_ps"] == granular["sram_rmw_writes"] * 4 * NS
    assert granular["sram_conflicts"] > 0 and granular["sram_conflict_ps"] > 0
