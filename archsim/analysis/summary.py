"""The run summary: one flat JSON-ready dict of the numbers a user asks for first."""

from __future__ import annotations

from typing import Any

from archsim.analysis.cost import cost_summary
from archsim.analysis.roofline import peak_macs_per_s, roofline_bound
from archsim.config import ArchConfig
from archsim.domain import InterconnectKind, NocScheduleMode, StallCause, TransferKind
from archsim.hw.interconnect.time_triggered import TimeTriggeredNoc
from archsim.mapping.noc_schedule import NocSchedule
from archsim.sim.engine import RunOutcome
from archsim.units import PS_PER_MS, PS_PER_S
from archsim.workload.graph import WorkloadGraph


def interconnect_summary(outcome: RunOutcome, arch: ArchConfig) -> dict[str, Any]:
    """Link utilization, contention and (deterministic NoC) reservation cost."""
    ic = outcome.chip.interconnect
    latency = max(1, outcome.latency_ps)
    counters = outcome.chip.counters
    used = [link for link in ic.links if link.bytes > 0]
    utilizations = [link.busy_ps / latency for link in used]
    summary: dict[str, Any] = {
        "kind": ic.kind.value,
        "links": len(ic.links),
        "links_used": len(used),
        "mean_link_utilization": sum(utilizations) / len(utilizations) if utilizations else 0.0,
        "max_link_utilization": max(utilizations, default=0.0),
        "contention_ps": counters.contention_ps,
        "wait_ps": counters.interconnect_wait_ps,
        "bytes": ic.bytes_moved,
        "byte_hops": ic.byte_hops,
    }
    if ic.multicast:
        summary.update(multicast_summary(outcome))
    schedule = outcome.schedule
    if isinstance(ic, TimeTriggeredNoc):
        summary.update(time_triggered_cost(ic, latency))
    elif ic.kind is InterconnectKind.DETERMINISTIC and isinstance(schedule, NocSchedule):
        summary.update(deterministic_cost(outcome, arch, schedule, latency))
    return summary


def multicast_summary(outcome: RunOutcome) -> dict[str, Any]:
    """What multicast saved (``interconnect.multicast``): ``bytes`` and ``byte_hops`` count
    a multicast once, on every link of its tree; these say what it delivered and what the
    same deliveries would have cost sent to each destination separately."""
    ic = outcome.chip.interconnect
    return {
        "multicast": True,
        "multicast_transfers": ic.multicast_transfers,
        "multicast_deliveries": ic.multicast_deliveries,
        "bytes_delivered": ic.bytes_moved + ic.fanout_bytes,
        "unicast_byte_hops": ic.byte_hops + ic.byte_hops_saved,
    }


def time_triggered_cost(ic: TimeTriggeredNoc, latency: int) -> dict[str, Any]:
    """What the time-triggered schedule cost: late transfers, their slip, unused windows."""
    plan = ic.plan
    reserved = [link for link in ic.links if link.reserved_ps > 0]
    reserved_ps = sum(link.reserved_ps for link in reserved)
    return {
        "schedule": NocScheduleMode.TIME_TRIGGERED.value,
        "plan_dram": ic.plan_dram.value,
        "run_is_planning_pass": plan.planned_by_run,
        "planned_transfers": plan.planned_transfers,
        "planned_packets": plan.planned_packets,
        "planned_latency_ps": plan.latency_ps,
        "planning_events": plan.events,
        "late_transfers": ic.late_transfers,
        "late_packets": ic.late_packets,
        "unplanned_transfers": ic.unplanned_transfers,
        "slip_ps": ic.slip_ps,
        "slip_by_cause_ps": {cause.value: ps for cause, ps in ic.slip_by_cause.items()},
        "window_wait_ps": ic.admission_wait_ps,
        "reserved_ps": reserved_ps,
        "reserved_unused_ps": ic.reserved_unused_ps,
        "reserved_unused_fraction": ic.reserved_unused_ps / reserved_ps if reserved_ps else 0.0,
        "mean_reserved_fraction": reserved_ps / (latency * len(reserved)) if reserved else 0.0,
    }


def deterministic_cost(
    outcome: RunOutcome, arch: ArchConfig, schedule: NocSchedule, latency: int
) -> dict[str, Any]:
    """What determinism costs: reserved-but-unused link time, per-flow rate, epoch waits."""
    ic = outcome.chip.interconnect
    reserved = [link for link in ic.links if link.reserved_ps > 0]
    reserved_ps = sum(link.reserved_ps for link in reserved)
    used_ps = sum(min(link.busy_ps, link.reserved_ps) for link in reserved)
    tables = list(schedule.tables.values())
    lanes = schedule.lanes  # engines: each owns 1/lanes of every link
    rates = [slots / (table.period * lanes) for table in tables for slots in table.slots.values()]
    return {
        "schedule": NocScheduleMode.PER_LAYER_SHARE.value,
        "epochs": len(tables),
        "flows": len({flow for table in tables for flow in table.slots}),
        "mean_flows_per_epoch": _mean([len(table.slots) for table in tables]),
        "max_period_slots": max((table.period * lanes for table in tables), default=0),
        "mean_reserved_fraction": reserved_ps / (latency * len(reserved)) if reserved else 0.0,
        "reserved_unused_fraction": 1 - used_ps / reserved_ps if reserved_ps else 0.0,
        "mean_flow_bandwidth_fraction": _mean(rates),
        "epoch_wait_ps": ic.admission_wait_ps,
        "flow_queue_ps": getattr(ic, "flow_queue_ps", 0),
        "link_bytes_per_cycle": arch.interconnect.link_bytes_per_cycle,
    }


def _mean(values: list[float] | list[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def build_summary(
    outcome: RunOutcome,
    graph: WorkloadGraph,
    arch: ArchConfig,
    *,
    arch_name: str,
    workload_name: str,
    seed: int,
    version: str,
) -> dict[str, Any]:
    """Summary of a finished run (keys documented in the README)."""
    chip = outcome.chip
    counters = chip.counters
    precision = graph.precision
    latency = outcome.latency_ps
    latency_s = latency / PS_PER_S
    total_macs = sum(cluster.macs for cluster in chip.clusters)
    peak = peak_macs_per_s(arch, precision)
    bound = roofline_bound(arch, precision, total_macs, outcome.program.compulsory_dram_bytes)
    stall = {cause.value: sum(c.stall_ps[cause] for c in chip.clusters) for cause in StallCause}
    dram_busy = sum(channel.busy_ps for channel in chip.dram)
    batch = graph.input_shape.batch
    shape = graph.input_shape
    host = {"host_ops": list(graph.host_ops)} if graph.host_ops else {}
    return host | {
        "archsim_version": version,
        "arch": arch_name,
        "workload": workload_name,
        "input": f"{shape.width}x{shape.height}",
        "batch": batch,
        "precision": precision.value,
        "seed": seed,
        "latency_ps": latency,
        "latency_ms": latency / PS_PER_MS,
        "throughput_fps": batch / latency_s if latency else 0.0,
        "peak_tops": 2 * peak / 1e12,
        "effective_tops": 2 * total_macs / latency_s / 1e12 if latency else 0.0,
        "mac_utilization": total_macs / (peak * latency_s) if latency else 0.0,
        "total_macs": total_macs,
        "workload_macs": graph.total_macs,
        "roofline_bound_ps": bound.bound_ps,
        "roofline_limiter": bound.limiter,
        "compute_bound_ps": bound.compute_ps,
        "dram_bound_ps": bound.dram_ps,
        "compulsory_dram_bytes": outcome.program.compulsory_dram_bytes,
        "dram_bytes_read": counters.dram_bytes_read,
        "dram_bytes_written": counters.dram_bytes_written,
        "dram_weight_bytes_read": counters.dram_read_by_kind[TransferKind.WEIGHT_FETCH],
        "dram_activation_bytes_read": counters.dram_read_by_kind[TransferKind.INPUT_FETCH],
        "activation_dram_bytes_per_mac": (
            counters.dram_read_by_kind[TransferKind.INPUT_FETCH] + counters.dram_bytes_written
        )
        / max(1, total_macs),
        "dram_bandwidth_utilization": dram_busy / (latency * len(chip.dram)) if latency else 0.0,
        "sram_bytes_from_dram": counters.sram_bytes_from_dram,
        "sram_peak_bytes": outcome.program.sram_peak_bytes,
        "sram_capacity_bytes": arch.sram.total_bytes,
        "sram_conflicts": sum(bank.conflicts for bank in chip.banks),
        "sram_conflict_ps": sum(bank.conflict_ps for bank in chip.banks),
        "sram_rmw_writes": sum(bank.rmw_writes for bank in chip.banks),
        "sram_rmw_extra_ps": sum(bank.rmw_extra_ps for bank in chip.banks),
        "busy_ps": sum(c.busy_ps for c in chip.clusters),
        "stall_ps": stall,
        "interconnect": interconnect_summary(outcome, arch),
        **cost_summary(outcome, graph, arch),
        "tiles": len(outcome.program.tiles),
        "transfers": counters.transfers,
        "events": outcome.events,
        "wall_s": outcome.wall_s,
    }
