"""Terminal lines for a scenario run and for several engines (see ``archsim.scenario``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archsim.units import PS_PER_MS


def scenario_rows(
    summary: dict[str, Any], duration: Callable[[float], str]
) -> list[tuple[str, str]]:
    """(label, text) rows: scenario, latency percentiles, queue; engines when several.

    ``duration`` formats a time in picoseconds."""

    def _ms(value: float) -> str:
        return duration(value * PS_PER_MS)

    rows: list[tuple[str, str]] = []
    if "scenario" in summary:
        offered = summary["offered_fps"]
        rate = f", {offered:,.2f} fps offered" if offered else ""
        rows.append(
            (
                "scenario",
                f"{summary['scenario']}{rate}: {summary['frames']} frames, "
                f"{summary['dropped']} dropped, {summary['queued']} queued; achieved "
                f"{summary['achieved_fps']:,.2f} fps",
            )
        )
        latency = summary["latency_ms"]
        unit = "query" if summary["queries"] != summary["frames"] else "frame"
        rows.append(
            (
                f"{unit} latency",
                f"p50 {_ms(latency['p50'])}  p90 {_ms(latency['p90'])}  "
                f"p99 {_ms(latency['p99'])}  (min {_ms(latency['min'])}, "
                f"mean {_ms(latency['mean'])}, max {_ms(latency['max'])})",
            )
        )
        depth = summary["queue_depth"]
        rows.append(
            ("queue", f"up to {depth['max']} frames waiting, {depth['mean']:.2f} on average")
        )
    engines = summary.get("engines")
    if engines:
        per = engines["per_engine"]
        rows.append(
            (
                "engines",
                f"{engines['count']} x {engines['clusters_per_engine']} clusters; frames "
                + "/".join(str(e["frames"]) for e in per)
                + "; MAC utilization "
                + "/".join(f"{100 * e['mac_utilization']:.1f}" for e in per)
                + " %; a frame runs on one engine: engines add throughput, not speed",
            )
        )
    return rows
