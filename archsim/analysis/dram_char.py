"""Characterisation of one DRAM channel under a synthetic pattern (``archsim dram``).

Requests go through the real ``DramChannel``: IN_FLIGHT requesters each issue their next
request when the previous one completes, so the controller sees that many at once. The
``stream`` pattern reads consecutive addresses of one stream; ``random`` reads at uniform
random addresses within RANDOM_SPAN_BYTES, aligned to the request size rounded up to whole
bursts (as cache lines or DMA blocks are). Each pattern runs twice, with and
without refresh (same addresses, same refresh phase), and the unloaded row-hit and row-miss
latencies are measured with single one-burst reads on an idle channel.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from enum import StrEnum
from math import ceil
from typing import Any

import numpy as np
import simpy

from archsim.config import DramConfig
from archsim.hw.component import Component
from archsim.hw.dram import DramChannel
from archsim.sim.environment import PicosecondEnvironment
from archsim.sim.runtime import TransferTiming
from archsim.trace import NullRecorder
from archsim.units import PS_PER_NS

IN_FLIGHT = 32
"""Requests the characterisation keeps outstanding at the channel."""
RANDOM_SPAN_BYTES = 1 << 30
"""Address range of the random pattern (1 GiB: practically every access opens a row)."""
REFRESH_INTERVALS = 20
"""Default run length: this many tREFI of data at peak bandwidth."""
MIN_REQUESTS, MAX_REQUESTS = 200, 200_000


class Pattern(StrEnum):
    """Address pattern of a characterisation run."""

    STREAM = "stream"
    RANDOM = "random"


@dataclass(frozen=True)
class PatternRun:
    """What one run of a pattern moved and how long it took."""

    requests: int
    bytes_moved: int
    elapsed_ps: int
    activates: int

    @property
    def gb_per_s(self) -> float:
        """Achieved bandwidth in GB/s (1e9 bytes per second)."""
        return self.bytes_moved / self.elapsed_ps * 1000


@dataclass(frozen=True)
class Latency:
    """An unloaded latency: the closed form and what a single request measured."""

    closed_form_ps: int
    measured_ps: int


@dataclass(frozen=True)
class DramCharacterisation:
    """Bandwidth, refresh cost and unloaded latency of one channel for one pattern."""

    config: DramConfig
    pattern: Pattern
    size_bytes: int
    seed: int
    refreshed: PatternRun
    unrefreshed: PatternRun
    row_hit: Latency
    row_miss: Latency

    @property
    def efficiency(self) -> float:
        """Achieved over peak bandwidth, refresh included."""
        return self.refreshed.gb_per_s / self.config.peak_gb_per_s

    @property
    def refresh_cost_percent(self) -> float:
        """Bandwidth lost to refresh, in percent of the bandwidth without it."""
        return 100 * (1 - self.refreshed.gb_per_s / self.unrefreshed.gb_per_s)


def default_requests(cfg: DramConfig, size_bytes: int) -> int:
    """Requests that span REFRESH_INTERVALS refresh intervals at peak bandwidth (clamped)."""
    per_request_ns = size_bytes / cfg.peak_gb_per_s
    wanted = ceil(REFRESH_INTERVALS * cfg.trefi_ns / per_request_ns)
    return min(MAX_REQUESTS, max(MIN_REQUESTS, wanted))


def characterise(
    cfg: DramConfig, pattern: Pattern, size_bytes: int, requests: int | None = None, seed: int = 0
) -> DramCharacterisation:
    """Characterise one channel of ``cfg`` for ``pattern`` at ``size_bytes`` per request."""
    count = default_requests(cfg, size_bytes) if requests is None else requests
    no_refresh = cfg.model_copy(update={"trfc_ns": 0.0})
    row_hit, row_miss = unloaded_latencies(cfg)
    return DramCharacterisation(
        config=cfg,
        pattern=pattern,
        size_bytes=size_bytes,
        seed=seed,
        refreshed=run_pattern(cfg, pattern, size_bytes, count, seed),
        unrefreshed=run_pattern(no_refresh, pattern, size_bytes, count, seed),
        row_hit=row_hit,
        row_miss=row_miss,
    )


def _channel(
    cfg: DramConfig, env: PicosecondEnvironment, seed: np.random.SeedSequence
) -> DramChannel:
    return DramChannel(
        Component(None, "dram"), "ch0", cfg, env, NullRecorder(), np.random.default_rng(seed)
    )


def run_pattern(
    cfg: DramConfig, pattern: Pattern, size_bytes: int, requests: int, seed: int
) -> PatternRun:
    """Issue ``requests`` reads of ``size_bytes`` with IN_FLIGHT outstanding; time them all."""
    env = PicosecondEnvironment()
    refresh_seed, address_seed = np.random.SeedSequence(seed).spawn(2)
    channel = _channel(cfg, env, refresh_seed)
    addresses = None
    if pattern is Pattern.RANDOM:
        align = ceil(size_bytes / cfg.burst_bytes) * cfg.burst_bytes
        rng = np.random.default_rng(address_seed)
        slots = max(1, RANDOM_SPAN_BYTES // align)
        addresses = rng.integers(0, slots, size=requests, dtype=np.int64) * align
    issue_order = iter(range(requests))

    def requester(order: Iterator[int]) -> Generator[simpy.Event, Any, None]:
        for index in order:  # shared: each requester takes the next request in issue order
            timing = TransferTiming(int(env.now))
            if addresses is None:
                yield from channel.access(size_bytes, 0, False, timing, 0)
            else:
                yield from channel.access_at(int(addresses[index]), size_bytes, False, timing, 0)

    for _ in range(min(IN_FLIGHT, requests)):
        env.process(requester(issue_order))
    env.run()
    return PatternRun(requests, requests * size_bytes, int(env.now), channel.activates)


def unloaded_latencies(cfg: DramConfig) -> tuple[Latency, Latency]:
    """Row-hit and row-miss latency of a one-burst read on an idle channel (no refresh)."""
    env = PicosecondEnvironment()
    channel = _channel(cfg.model_copy(update={"trfc_ns": 0.0}), env, np.random.SeedSequence(0))
    timing = channel.timing
    # idle long enough that no earlier activate, read or tRAS still constrains the next
    settle_ps = 2 * (timing.tras + timing.trp + timing.trcd + timing.tfaw + timing.row_hit) + 1

    def measure(address: int) -> int:
        env.run(until=int(env.now) + settle_ps)
        start = int(env.now)
        env.process(channel.access_at(address, cfg.burst_bytes, False, TransferTiming(start), 0))
        env.run()
        return int(env.now) - start

    measure(0)  # opens row 0 of bank 0
    hit = measure(0)
    miss = measure(cfg.banks * cfg.row_bytes)  # bank 0 again, next row
    return Latency(timing.row_hit, hit), Latency(timing.row_miss, miss)


def to_json(result: DramCharacterisation, arch_name: str) -> dict[str, Any]:
    """The characterisation as a JSON-ready dict (bandwidths in GB/s, latencies in ns)."""
    cfg = result.config
    return {
        "arch": arch_name,
        "preset": cfg.preset,
        "pattern": result.pattern.value,
        "size_bytes": result.size_bytes,
        "requests": result.refreshed.requests,
        "in_flight": IN_FLIGHT,
        "seed": result.seed,
        "peak_gb_per_s": cfg.peak_gb_per_s,
        "achieved_gb_per_s": result.refreshed.gb_per_s,
        "efficiency": result.efficiency,
        "no_refresh_gb_per_s": result.unrefreshed.gb_per_s,
        "no_refresh_efficiency": result.unrefreshed.gb_per_s / cfg.peak_gb_per_s,
        "refresh_cost_percent": result.refresh_cost_percent,
        "activates": result.refreshed.activates,
        "latency_ns": {
            name: {
                "closed_form": latency.closed_form_ps / PS_PER_NS,
                "measured": latency.measured_ps / PS_PER_NS,
            }
            for name, latency in (("row_hit", result.row_hit), ("row_miss", result.row_miss))
        },
    }


def format_text(result: DramCharacterisation, arch_name: str) -> str:
    """A short report of the characterisation."""
    cfg = result.config
    on, off = result.refreshed, result.unrefreshed
    peak = cfg.peak_gb_per_s
    lines = [
        f"DRAM channel of {arch_name}: {cfg.preset or 'custom'} (1 of {cfg.channels} channels)",
        f"  {peak:g} GB/s peak, {cfg.burst_bytes} B bursts of {cfg.burst_ns:.3f} ns, "
        f"{cfg.banks} banks in {cfg.bank_groups} groups, {cfg.row_bytes} B rows, "
        f"{cfg.interleave_bytes} B interleave",
        f"  tCL {cfg.tcl_ns:g}, tRCD {cfg.trcd_ns:g}, tRP {cfg.trp_ns:g}, tRAS {cfg.tras_ns:g}, "
        f"tRRD {cfg.trrd_ns:g}, tFAW {cfg.tfaw_ns:g}, tREFI {cfg.trefi_ns:g}, "
        f"tRFC {cfg.trfc_ns:g} ns",
        f"{result.pattern.value} pattern: {on.requests} reads of {result.size_bytes} B, "
        f"{IN_FLIGHT} in flight, seed {result.seed}",
        "                     GB/s  of peak",
        f"  with refresh    {on.gb_per_s:7.2f}   {on.gb_per_s / peak:6.3f}",
        f"  without refresh {off.gb_per_s:7.2f}   {off.gb_per_s / peak:6.3f}",
        f"  refresh cost    {result.refresh_cost_percent:7.2f} %",
        "unloaded latency   closed form  measured",
    ]
    for name, latency in (("row hit", result.row_hit), ("row miss", result.row_miss)):
        lines.append(
            f"  {name:<15} {latency.closed_form_ps / PS_PER_NS:8.3f} ns "
            f"{latency.measured_ps / PS_PER_NS:8.3f} ns"
        )
    return "\n".join(lines)
