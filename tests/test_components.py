"""Exact timelines of single components against their closed forms."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import pytest
import simpy

from archsim.domain import Arbitration, Dataflow, EndpointKind, TransferKind
from archsim.hw.component import Component, ConnectError
from archsim.hw.dram import DramChannel
from archsim.hw.interconnect.bus import Bus
from archsim.hw.interconnect.crossbar import Crossbar
from archsim.hw.interconnect.mesh import Mesh
from archsim.mapping.program import Endpoint, TransferOp
from archsim.mapping.systolic import scaled_cycles, systolic_cycles
from archsim.mapping.topology import MeshTopology
from archsim.sim.resources import ArbitratedResource, FifoResource
from archsim.sim.runtime import TransferTiming
from archsim.trace import NullRecorder

CLUSTER0 = Endpoint(EndpointKind.CLUSTER, 0)
BANK0 = Endpoint(EndpointKind.BANK, 0)


def no_port(nbytes: int) -> int:
    return 0


def load(nbytes: int, src: Endpoint = BANK0, dst: Endpoint = CLUSTER0) -> TransferOp:
    """An operand load of nbytes (the interconnect reads only src, dst, size and layer)."""
    return TransferOp(0, 0, TransferKind.OPERAND_LOAD, src, dst, nbytes, 0, (), 0)


# -- systolic closed form -------------------------------------------------------------------


def test_systolic_cycles_match_scale_sim_formulas() -> None:
    # 32x32 array, M=100 output pixels, N=70 filters, K=3*3*16=144
    assert systolic_cycles(32, 32, Dataflow.OS, 100, 70, 144) == 4 * 3 * (32 + 32 + 144 - 2)
    assert systolic_cycles(32, 32, Dataflow.WS, 100, 70, 144) == 5 * 3 * (64 + 32 + 100 - 2)
    assert systolic_cycles(32, 32, Dataflow.IS, 100, 70, 144) == 5 * 4 * (64 + 32 + 70 - 2)
    assert systolic_cycles(32, 32, Dataflow.WS, 0, 70, 144) == 0


def test_lower_mac_rate_stretches_cycles() -> None:
    assert scaled_cycles(1000, 1.0) == 1000
    assert scaled_cycles(1000, 0.5) == 2000
    assert scaled_cycles(1001, 0.25) == 4004


# -- FIFO resource ----------------------------------------------------------------------------


def test_fifo_resource_grants_in_arrival_order_at_release_time() -> None:
    env = simpy.Environment()
    resource = FifoResource(env, 1)
    log: list[tuple[str, float]] = []

    def user(name: str, arrive: int, hold: int) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(arrive)
        waiting = resource.acquire()
        if waiting is not None:
            yield waiting
        log.append((name, env.now))
        yield env.timeout(hold)
        resource.release()

    env.process(user("a", 0, 10))
    env.process(user("b", 1, 5))
    env.process(user("c", 2, 5))
    env.run()
    assert log == [("a", 0), ("b", 10), ("c", 15)]
    assert resource.in_use == 0


# -- DRAM ----------------------------------------------------------------------------------------


def _dram(arch_variant: Any, *overrides: str) -> tuple[simpy.Environment, DramChannel]:
    arch = arch_variant("edge_bus", *overrides)
    env = simpy.Environment()
    channel = DramChannel(
        Component(None, "chip"), "ch0", arch.dram, env, NullRecorder(), np.random.default_rng(0)
    )
    return env, channel


def _access(
    env: simpy.Environment, channel: DramChannel, nbytes: int, stream: int
) -> TransferTiming:
    timing = TransferTiming(int(env.now))
    env.process(channel.access(nbytes, stream, False, timing, 0))
    env.run()
    return timing


def test_one_dram_transfer_takes_latency_plus_bytes_over_bandwidth(arch_variant: Any) -> None:
    env, channel = _dram(
        arch_variant,
        "dram.peak_gb_per_s=10",
        "dram.efficiency=0.8",
        "dram.trfc_ns=0",
        "dram.tcl_ns=15",
        "dram.trcd_ns=20",
        "dram.trp_ns=10",
    )
    assert channel.timing.burst == 8_000  # 64 B at 8 GB/s
    timing = _access(env, channel, 64_000, stream=7)
    # first access opens a closed bank (tRCD), 1000 bursts of 8 ns, then tCL; the other
    # banks' activates, and the next row sweep's, hide behind the data
    assert env.now == 20_000 + 8_000_000 + 15_000
    assert timing.dram == env.now and timing.dram_wait == 0
    start = env.now
    _access(env, channel, 64_000, stream=7)  # the stream continues in open rows
    assert env.now - start == 8_000_000 + 15_000
    start = env.now
    _access(env, channel, 64, stream=8)  # a new stream: another row of an open bank
    assert env.now - start == 10_000 + 20_000 + 15_000 + 8_000 == channel.timing.row_miss


def test_dram_refresh_blocks_the_channel(arch_variant: Any) -> None:
    env, channel = _dram(
        arch_variant,
        "dram.peak_gb_per_s=1",
        "dram.trefi_ns=1000",
        "dram.trfc_ns=100",
        "dram.trcd_ns=20",
    )
    offset = channel.refresh_offset_ps
    assert 0 <= offset < 1_000_000
    # 5 us of data crosses 5 refreshes: each blocks 100 ns, then the row reopens (20 ns)
    end = channel.data_end_ps(offset + 100_000, 5_000_000)
    assert end == offset + 100_000 + 5_000_000 + 5 * (100_000 + 20_000)
    # starting inside a refresh waits for it to end and for the row to reopen
    assert channel.data_end_ps(offset + 10_000, 1_000) == offset + 100_000 + 20_000 + 1_000


def test_dram_requests_queue_in_order(arch_variant: Any) -> None:
    env, channel = _dram(
        arch_variant,
        "dram.peak_gb_per_s=1",
        "dram.trfc_ns=0",
        "dram.tcl_ns=10",
        "dram.trcd_ns=5",
        "dram.trrd_ns=7.5",
    )
    timings = [TransferTiming(0) for _ in range(2)]
    for timing in timings:
        env.process(channel.access(1024, 1, False, timing, 0))
    env.run()
    # activates at 0 and 7.5 ns (tRRD); the first moves 16 bursts of 64 ns from 5 ns; the
    # second waits for its data, not its latency (tCL is outside the lock)
    assert timings[0].dram == 5_000 + 1_024_000 + 10_000
    assert timings[1].dram_wait == 5_000 + 1_024_000 - 12_500
    assert env.now == 5_000 + 2 * 1_024_000 + 10_000


# -- interconnects ---------------------------------------------------------------------------


def test_one_bus_transfer_takes_bytes_over_width_cycles(arch_variant: Any) -> None:
    arch = arch_variant(
        "edge_bus", "interconnect.hop_latency_cycles=0", "interconnect.max_packet_bytes=1048576"
    )
    env = simpy.Environment()
    bus = Bus(Component(None, "chip"), "bus", arch.interconnect, env, NullRecorder())
    timing = TransferTiming(0)
    env.process(bus.send(load(64 * 1000), timing, no_port))
    env.run()
    assert env.now == 1000 * 1000  # 1000 cycles of 1 ns
    assert timing.contention == 0 and timing.interconnect == 1_000_000


def test_bus_is_blocking_and_interleaves_packets(arch_variant: Any) -> None:
    arch = arch_variant(
        "edge_bus", "interconnect.hop_latency_cycles=0", "interconnect.max_packet_bytes=6400"
    )
    env = simpy.Environment()
    bus = Bus(Component(None, "chip"), "bus", arch.interconnect, env, NullRecorder())
    first, second = TransferTiming(0), TransferTiming(0)
    env.process(bus.send(load(12800), first, no_port))
    env.process(bus.send(load(6400), second, no_port))
    env.run()
    # packets of 100 cycles: first's packet 1, second's packet, first's packet 2
    assert second.contention == 100_000
    assert first.contention == 100_000
    assert env.now == 300_000


def test_bus_streams_at_the_slower_of_bus_and_sram_port(arch_variant: Any) -> None:
    arch = arch_variant("edge_bus", "interconnect.hop_latency_cycles=0")
    env = simpy.Environment()
    bus = Bus(Component(None, "chip"), "bus", arch.interconnect, env, NullRecorder())
    timing = TransferTiming(0)
    env.process(bus.send(load(6400), timing, lambda n: 3 * n * 1000 // 64))
    env.run()
    assert env.now == 300_000 and timing.sram == 300_000


@pytest.mark.parametrize(
    ("src", "dst", "hops"),
    [((0, 0), (0, 0), 1), ((0, 0), (3, 0), 4), ((0, 0), (3, 3), 7), ((2, 3), (1, 0), 5)],
)
def test_mesh_zero_load_latency(
    arch_variant: Any, src: tuple[int, int], dst: tuple[int, int], hops: int
) -> None:
    arch = arch_variant("edge_mesh", "interconnect.hop_latency_cycles=2")
    topology = MeshTopology(4, 4, clusters=[dst], banks=[src], dram_ports=[(0, 0)])
    env = simpy.Environment()
    mesh = Mesh(Component(None, "chip"), "noc", arch.interconnect, env, NullRecorder(), topology)
    timing = TransferTiming(0)
    env.process(mesh.send(load(4096), timing, no_port))
    env.run()
    # hops x router delay (2 cycles) + size / link bandwidth (4096 / 64 = 64 cycles), 1 ns cycles
    assert timing.hops == hops
    assert env.now == (hops * 2 + 64) * 1000


def test_mesh_route_is_xy_dimension_order() -> None:
    topology = MeshTopology(3, 3, clusters=[(2, 2)], banks=[(0, 0)], dram_ports=[(1, 1)])
    route = topology.route(BANK0, CLUSTER0)
    names = [topology.link_names[i] for i in route.links]
    assert names == [
        "inject.bank0(0,0)",
        "link(0,0)->(1,0)",
        "link(1,0)->(2,0)",
        "link(2,0)->(2,1)",
        "link(2,1)->(2,2)",
        "eject.cluster0(2,2)",
    ]


def test_dangling_port_is_an_error_before_time_zero() -> None:
    class Needy(Component):
        PORTS = ("interconnect",)

    root = Component(None, "chip")
    Needy(root, "cluster0")
    with pytest.raises(ConnectError, match="chip.cluster0: unconnected port"):
        root.elaborate()


# -- arbitration and crossbar ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "order"),
    [
        (Arbitration.FIFO, ["c2", "c0", "c1", "c0"]),
        (Arbitration.FIXED_PRIORITY, ["c0", "c0", "c1", "c2"]),
        (Arbitration.ROUND_ROBIN, ["c0", "c1", "c2", "c0"]),
    ],
)
def test_arbitration_policies_pick_the_next_requester(
    policy: Arbitration, order: list[str]
) -> None:
    env = simpy.Environment()
    resource = ArbitratedResource(env, 1, policy)
    granted: list[str] = []

    def user(key: int, arrive: int) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(arrive)
        waiting = resource.acquire_as(key)
        if waiting is not None:
            yield waiting
        granted.append(f"c{key}")
        yield env.timeout(10)
        resource.release()

    # cluster 3 holds the resource first; then 2, 0, 1 and 0 again queue up in that order
    env.process(user(3, 0))
    for arrive, key in enumerate((2, 0, 1, 0), start=1):
        env.process(user(key, arrive))
    env.run()
    assert granted[0] == "c3" and granted[1:] == order


def test_crossbar_blocks_only_at_a_shared_destination(arch_variant: Any) -> None:
    arch = arch_variant("edge_xbar", "interconnect.hop_latency_cycles=0")
    env = simpy.Environment()
    banks = [Endpoint(EndpointKind.BANK, i) for i in range(3)]
    xbar = Crossbar(
        Component(None, "chip"),
        "xbar",
        arch.interconnect,
        env,
        NullRecorder(),
        [CLUSTER0, Endpoint(EndpointKind.CLUSTER, 1), *banks],
    )
    timings = [TransferTiming(0) for _ in range(3)]
    env.process(xbar.send(load(6400, banks[0], CLUSTER0), timings[0], no_port))
    env.process(
        xbar.send(load(6400, banks[1], Endpoint(EndpointKind.CLUSTER, 1)), timings[1], no_port)
    )
    env.process(xbar.send(load(6400, banks[2], CLUSTER0), timings[2], no_port))
    env.run()
    # different destinations in parallel; the second transfer to cluster0 waits 100 cycles
    assert [t.contention for t in timings] == [0, 0, 100_000]
    assert env.now == 200_000


def test_mesh_records_links_held_while_blocked(arch_variant: Any) -> None:
    arch = arch_variant("edge_mesh", "interconnect.hop_latency_cycles=0")
    # banks at (1,0) and (0,0) both send to the cluster at (2,0): they share (1,0)->(2,0)
    topology = MeshTopology(3, 1, clusters=[(2, 0)], banks=[(1, 0), (0, 0)], dram_ports=[(0, 0)])
    env = simpy.Environment()
    mesh = Mesh(Component(None, "chip"), "noc", arch.interconnect, env, NullRecorder(), topology)
    first, second = TransferTiming(0), TransferTiming(0)
    env.process(mesh.send(load(6400, BANK0), first, no_port))
    env.process(mesh.send(load(6400, Endpoint(EndpointKind.BANK, 1)), second, no_port))
    env.run()
    link = {s.name.rsplit(".", 1)[-1]: s for s in mesh.links}
    # the second packet took inject and (0,0)->(1,0) at once, then waited 100 cycles
    assert second.contention == 100_000
    assert link["link(0,0)->(1,0)"].blocked_ps == 100_000
    assert link["link(1,0)->(2,0)"].blocked_ps == 0
    assert link["link(1,0)->(2,0)"].busy_ps == 200_000
