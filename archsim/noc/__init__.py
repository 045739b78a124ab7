"""Synthetic-traffic mode: drive an architecture's interconnect alone.

``archsim noc ARCH --traffic uniform --rates 0.05:0.5:0.05`` measures a load-latency
curve: offered vs accepted throughput, packet and network latency, link utilization.
"""

from archsim.noc.report import curve_document, curve_figure, format_table, write_curve_trace
from archsim.noc.synthetic import (
    CurvePoint,
    NetworkSpec,
    RunOptions,
    SyntheticRun,
    run_curve,
    run_point,
    single_packet_latency_cycles,
)
from archsim.noc.traffic import Grid, Pattern, Traffic, parse_rates

__all__ = [
    "CurvePoint",
    "Grid",
    "NetworkSpec",
    "Pattern",
    "RunOptions",
    "SyntheticRun",
    "Traffic",
    "curve_document",
    "curve_figure",
    "format_table",
    "parse_rates",
    "run_curve",
    "run_point",
    "single_packet_latency_cycles",
    "write_curve_trace",
]
