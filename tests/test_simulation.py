"""Whole-run invariants: conservation, roofline, bounds, contention, determinism."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ARCH_DIR, WORKLOAD_DIR

import archsim
from archsim.config import load_workload_text
from archsim.domain import Dataflow
from archsim.mapping.program import ComputeOp, Program
from archsim.mapping.systolic import systolic_cycles
from archsim.sim.engine import run_program
from archsim.trace import NullRecorder

RESNET50_MACS = 4_089_184_256


@pytest.fixture(scope="module")
def resnet_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """ResNet-50 at 224x224 on the bus and the deterministic NoC, with traces."""
    folder = tmp_path_factory.mktemp("resnet")
    runs = {}
    for arch in ("edge_bus", "edge_det"):
        result = archsim.simulate(
            ARCH_DIR / f"{arch}.yaml",
            WORKLOAD_DIR / "resnet50.yaml",
            trace_path=folder / f"{arch}.h5",
        )
        runs[arch] = (result, archsim.open_trace(result.trace_path))
    return runs


def test_single_tile_on_one_cluster_takes_exactly_the_systolic_time(arch_variant: Any) -> None:
    arch = arch_variant("edge_bus", "mac_clusters.count=1")
    program = Program()
    program.add("cluster0.compute", ComputeOp(0, 0, 0, macs=1000, cycles=158, deps=()))
    outcome = run_program(program, arch, seed=0, recorder=NullRecorder())
    assert outcome.latency_ps == 158 * 1000
    assert outcome.chip.clusters[0].busy_ps == 158 * 1000


def test_single_layer_with_near_ideal_memory_is_compute_bound(arch_variant: Any) -> None:
    arch = arch_variant(
        "edge_bus",
        "mac_clusters.count=1",
        "dram.peak_gb_per_s=1000000",
        "dram.efficiency=1.0",
        "dram.tcl_ns=0",
        "dram.trcd_ns=0",
        "dram.trp_ns=0",
        "dram.tras_ns=0",
        "dram.trrd_ns=0",
        "dram.tfaw_ns=0",
        "dram.trfc_ns=0",
        "interconnect.link_bytes_per_cycle=1048576",
        "interconnect.hop_latency_cycles=0",
        "interconnect.max_packet_bytes=1048576",
        "sram.port_bytes_per_cycle=1048576",
    )
    workload = load_workload_text(
        "name: one_conv\ninput: {width: 8, height: 8, channels: 16}\n"
        "layers:\n  - {name: conv, op: conv2d, filters: 32, kernel: 1}\n"
    )
    result = archsim.simulate(arch, workload, trace=False)
    expected = systolic_cycles(32, 32, Dataflow.WS, 64, 32, 16) * 1000
    assert result.summary["total_macs"] == 64 * 32 * 16
    assert result.summary["busy_ps"] == expected
    # every transfer takes one 1 ns bus cycle: at most a few on the critical path
    assert expected <= result.summary["latency_ps"] <= expected + 8 * 1000


@pytest.mark.parametrize("arch", ["edge_bus", "edge_det"])
def test_resnet50_conserves_macs_and_bytes(resnet_runs: dict[str, Any], arch: str) -> None:
    result, trace = resnet_runs[arch]
    summary = result.summary
    assert summary["total_macs"] == RESNET50_MACS == summary["workload_macs"]
    assert int(trace.layers["macs"].sum()) == RESNET50_MACS
    kinds = trace.components["kind"]
    src_kind = kinds[trace.transfers["src"]]
    dst_kind = kinds[trace.transfers["dst"]]
    nbytes = trace.transfers["bytes"]
    from_dram = src_kind == "dram_channel"
    # bytes leaving DRAM all arrive in SRAM banks, and match the summary
    assert np.all(dst_kind[from_dram] == "sram_bank")
    assert (
        int(nbytes[from_dram].sum())
        == summary["dram_bytes_read"]
        == summary["sram_bytes_from_dram"]
    )
    assert int(nbytes[dst_kind == "dram_channel"].sum()) == summary["dram_bytes_written"]
    # every transfer has a bank at one end
    assert np.all((src_kind == "sram_bank") | (dst_kind == "sram_bank"))
    # weights and network input are read, network outputs written, at least once
    moved = summary["dram_bytes_read"] + summary["dram_bytes_written"]
    assert moved >= summary["compulsory_dram_bytes"]
    assert summary["dram_bytes_written"] == 1000  # the 1000-class output at INT8, nothing spilled
    assert summary["dram_weight_bytes_read"] == 25_530_472


@pytest.mark.parametrize("arch", ["edge_bus", "edge_det"])
def test_resnet50_is_physically_bounded(resnet_runs: dict[str, Any], arch: str) -> None:
    result, trace = resnet_runs[arch]
    summary = result.summary
    assert summary["latency_ps"] >= summary["roofline_bound_ps"]
    assert 0.0 < summary["mac_utilization"] <= 1.0
    assert 0.0 < summary["dram_bandwidth_utilization"] <= 1.0
    assert 0.0 <= summary["interconnect"]["max_link_utilization"] <= 1.0
    assert np.all((trace.layers["mac_utilization"] >= 0) & (trace.layers["mac_utilization"] <= 1))
    fractions = trace.utilization["busy_fraction"]
    assert fractions.min() >= 0.0 and fractions.max() <= 1.0
    assert summary["effective_tops"] <= summary["peak_tops"]


@pytest.mark.parametrize("arch", ["edge_bus", "edge_det"])
def test_every_cluster_picosecond_is_busy_stalled_or_idle(
    resnet_runs: dict[str, Any], arch: str
) -> None:
    result, trace = resnet_runs[arch]
    latency = result.summary["latency_ps"]
    states = trace.states
    clusters = np.flatnonzero(trace.components["kind"] == "mac_cluster")
    for cluster in clusters:
        mine = states["component"] == cluster
        start, end = states["t_start_ps"][mine], states["t_end_ps"][mine]
        order = np.argsort(start, kind="stable")
        start, end = start[order], end[order]
        assert start[0] == 0 and end[-1] == latency
        assert np.array_equal(start[1:], end[:-1])  # contiguous, no overlap, no gap
    summary = result.summary
    total = summary["busy_ps"] + sum(summary["stall_ps"].values())
    assert total == latency * len(clusters)


def test_blocking_bus_contends_and_deterministic_noc_does_not(resnet_runs: dict[str, Any]) -> None:
    bus, _ = resnet_runs["edge_bus"]
    det, det_trace = resnet_runs["edge_det"]
    assert bus.summary["interconnect"]["contention_ps"] > 0
    assert bus.summary["stall_ps"]["interconnect"] > 0
    assert det.summary["interconnect"]["contention_ps"] == 0
    # the plan foresees DRAM refresh (plan_dram exact): nothing late, every window used
    ic = det.summary["interconnect"]
    assert ic["schedule"] == "time_triggered" and ic["plan_dram"] == "exact"
    assert ic["late_transfers"] == 0 and ic["reserved_unused_fraction"] == 0.0
    links = det_trace.links
    latency = det.summary["latency_ps"]
    reserved = links["reserved_ps"]
    assert reserved.min() >= 0 and reserved.max() <= latency and reserved.sum() > 0
    assert np.all(links["busy_ps"] <= reserved)  # a link is held only in reserved windows
    # no transfer is faster than its bytes at full link width
    transfers = det_trace.transfers
    on_link = transfers["interconnect_ps"] + transfers["sram_ps"]
    assert np.all(on_link >= -(-transfers["bytes"] // 64) * 1000)


def test_mesh_bytes_in_equal_bytes_out(tmp_path: Path) -> None:
    result = archsim.simulate(
        ARCH_DIR / "edge_mesh.yaml", WORKLOAD_DIR / "tiny_cnn.yaml", trace_path=tmp_path / "m.h5"
    )
    trace = archsim.open_trace(result.trace_path)
    names = trace.components["name"][trace.links["component"]]
    injected = trace.links["bytes"][np.char.find(names.astype(str), ".inject.") >= 0].sum()
    ejected = trace.links["bytes"][np.char.find(names.astype(str), ".eject.") >= 0].sum()
    assert injected == ejected == result.summary["interconnect"]["bytes"] > 0


@pytest.mark.parametrize("arch", ["edge_bus", "edge_mesh", "edge_det"])
def test_same_inputs_and_seed_give_identical_results(tmp_path: Path, arch: str) -> None:
    runs = [
        archsim.simulate(
            ARCH_DIR / f"{arch}.yaml",
            WORKLOAD_DIR / "tiny_cnn.yaml",
            seed=3,
            trace_path=tmp_path / f"{i}.h5",
        )
        for i in range(2)
    ]
    first, second = ({k: v for k, v in r.summary.items() if k != "wall_s"} for r in runs)
    assert first == second
    a, b = (archsim.open_trace(r.trace_path) for r in runs)
    for table in ("components", "states", "transfers", "layers", "links"):
        left, right = getattr(a, table), getattr(b, table)
        assert left.keys() == right.keys()
        for column in left:
            assert np.array_equal(left[column], right[column]), (table, column)
    assert np.array_equal(a.utilization["busy_fraction"], b.utilization["busy_fraction"])


def test_stored_summary_equals_returned_summary(resnet_runs: dict[str, Any]) -> None:
    result, trace = resnet_runs["edge_bus"]
    assert trace.summary == result.summary
    assert trace.attrs["seed"] == 0
    assert "mac_clusters" in trace.attrs["config_yaml"]
