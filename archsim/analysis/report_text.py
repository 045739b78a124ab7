"""Plain-text rendering of a run summary for the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archsim.analysis.report_scenario import scenario_rows
from archsim.units import PS_PER_MS, PS_PER_NS, PS_PER_S, PS_PER_US

_LABEL_WIDTH = 18
_TIME_UNITS = ((PS_PER_S, "s"), (PS_PER_MS, "ms"), (PS_PER_US, "µs"))
_BYTE_UNITS = ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"))


def format_duration(ps: float) -> str:
    """A picosecond duration in the largest unit (s, ms, µs, ns) that keeps it >= 1."""
    for scale, unit in _TIME_UNITS:
        if abs(ps) >= scale:
            return f"{ps / scale:.3f} {unit}"
    return f"{ps / PS_PER_NS:.3f} ns"


def format_bytes(count: float) -> str:
    """A byte count in decimal units (kB, MB, GB), plain bytes below 1 kB."""
    for scale, unit in _BYTE_UNITS:
        if abs(count) >= scale:
            return f"{count / scale:.2f} {unit}"
    return f"{count:.0f} B"


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.1f} %"


def _fusion_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """A line on fusion when groups were formed or fell back."""
    groups = summary.get("fusion_groups", [])
    fallbacks = summary.get("fusion_fallbacks", [])
    if not groups and not fallbacks:
        return []
    text = (
        f"{len(groups)} groups, {sum(len(g['layers']) for g in groups)} layers; "
        f"{format_bytes(summary['dram_bytes_saved_by_fusion'])} of DRAM traffic saved"
    )
    if fallbacks:
        text += f"; {len(fallbacks)} groups unfused (see fusion_fallbacks in --json)"
    return [("fusion", text)]


def _operating_point_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The PVT line of a run at an operating point (none otherwise)."""
    point = summary.get("operating_point")
    if point is None:
        return []
    corner = f"{point['corner']} corner: " if point["corner"] else ""
    throttle = (
        f", throttled x{point['throttle_scale']:.3f} to the {point['tdp_w']:g} W TDP"
        if point["throttled"]
        else ""
    )
    text = (
        f"{corner}{point['process']}, {point['voltage_v']:.3g} V, {point['temperature_c']:g} C: "
        f"clock {point['clock_mhz']['mac_clusters']:.1f} MHz (x{point['clock_scale']:.3f} of "
        f"{point['nominal_clock_mhz']:g}){throttle}; dynamic energy "
        f"x{point['dynamic_energy_scale']:.3f}, static power x{point['static_power_scale']:.3f}; "
        f"{summary['average_power_w']:.3g} W average"
    )
    return [("operating point", text)]


def format_summary(summary: dict[str, Any], clusters: int, trace: str | Path | None = None) -> str:
    """The human-readable report of a run summary (as built by ``build_summary``).

    ``clusters`` is the number of MAC clusters: cluster time shares are busy and stall
    time divided by ``latency_ps * clusters``. ``trace`` adds a line naming the trace file.
    """
    latency = summary["latency_ps"]
    cluster_ps = latency * clusters
    ic = summary["interconnect"]
    rows = [
        *scenario_rows(summary, format_duration),
        (
            "duration" if "scenario" in summary else "latency",  # a scenario: the whole run
            f"{format_duration(latency)}   (roofline bound "
            f"{format_duration(summary['roofline_bound_ps'])}, "
            f"{summary['roofline_limiter']}-bound)",
        ),
        ("throughput", f"{summary['throughput_fps']:,.1f} fps"),
        (
            "TOPS",
            f"{summary['effective_tops']:.2f} effective of {summary['peak_tops']:.2f} peak  "
            f"(MAC utilization {_percent(summary['mac_utilization'])})",
        ),
        ("MACs", f"{summary['total_macs']:,}"),
        (
            "DRAM",
            f"{format_bytes(summary['dram_bytes_read'])} read, "
            f"{format_bytes(summary['dram_bytes_written'])} written  (bandwidth utilization "
            f"{_percent(summary['dram_bandwidth_utilization'])})",
        ),
        *_fusion_rows(summary),
        (
            "cluster time",
            "  ".join(
                f"{name} {_percent(ps / cluster_ps if cluster_ps else 0.0)}"
                for name, ps in [("busy", summary["busy_ps"]), *summary["stall_ps"].items()]
            ),
        ),
        (
            "interconnect",
            f"{ic['kind']}: contention {format_duration(ic['contention_ps'])} "
            f"(summed over transfers), mean link utilization "
            f"{_percent(ic['mean_link_utilization'])}",
        ),
    ]
    if ic.get("multicast"):
        rows.append(
            (
                "multicast",
                f"{ic['multicast_transfers']:,} transfers to {ic['multicast_deliveries']:,} "
                f"destinations; byte-hops {ic['byte_hops']:,} (sent one by one: "
                f"{ic['unicast_byte_hops']:,})",
            )
        )
    if ic.get("schedule") == "time_triggered":
        rows.append(
            (
                "schedule",
                f"time-triggered: {ic['planned_packets']:,} packets planned; "
                f"{ic['late_transfers']:,} transfers late (slip, summed over them, "
                f"{format_duration(ic['slip_ps'])}); reserved but unused "
                f"{_percent(ic['reserved_unused_fraction'])}{_plan_note(ic)}",
            )
        )
    elif ic["kind"] == "deterministic":
        rows.append(
            (
                "schedule",
                f"{ic['epochs']} epochs, {ic['flows']:,} flows, period up to "
                f"{ic['max_period_slots']} slots; reserved but unused "
                f"{_percent(ic['reserved_unused_fraction'])}, mean flow bandwidth "
                f"{_percent(ic['mean_flow_bandwidth_fraction'])} of a link, epoch waits "
                f"{format_duration(ic['epoch_wait_ps'])}",
            )
        )
    rows.extend(_operating_point_rows(summary))
    events, wall_s = summary["events"], summary["wall_s"]
    rate = f" ({events / wall_s / 1e3:,.0f}k events/s)" if wall_s > 0 else ""
    rows.append(("simulation", f"{events:,} events in {wall_s:.2f} s{rate}"))
    rows.extend(("host", f"{line}") for line in summary.get("host_ops", ()))
    if trace is not None:
        rows.append(("trace", str(trace)))
    title = (
        f"{summary['workload']} on {summary['arch']} — input {summary['input']}, "
        f"batch {summary['batch']}, {summary['precision']}, seed {summary['seed']}"
    )
    return "\n".join([title, *(f"  {label:<{_LABEL_WIDTH}} {text}" for label, text in rows)])


def _plan_note(ic: dict[str, Any]) -> str:
    """How the time-triggered plan saw DRAM (absent from summaries of older traces)."""
    if "plan_dram" not in ic:
        return ""
    itself = " (the run was its planning pass)" if ic.get("run_is_planning_pass") else ""
    return f"; DRAM planned {ic['plan_dram']}{itself}"
