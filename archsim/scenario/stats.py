"""Latency statistics and the time-weighted queue depth."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from archsim.units import PS_PER_MS

PERCENTILES = (50, 90, 99)


def latency_stats_ms(latencies_ps: Sequence[int]) -> dict[str, float]:
    """p50, p90, p99 (linear interpolation between ranks), mean, max and min, in ms.

    All zero when there is no latency (every frame dropped)."""
    keys = [f"p{p}" for p in PERCENTILES] + ["mean", "max", "min"]
    if not latencies_ps:
        return dict.fromkeys(keys, 0.0)
    ms = np.asarray(latencies_ps, dtype=np.float64) / PS_PER_MS
    values = [*np.percentile(ms, PERCENTILES).tolist(), ms.mean(), ms.max(), ms.min()]
    return {key: float(value) for key, value in zip(keys, values, strict=True)}


def queue_depth_stats(depth: Sequence[tuple[int, int]], t_end_ps: int) -> dict[str, float]:
    """Maximum and time-weighted mean of a step function [(t_ps, depth), ...] over
    [0, t_end_ps); the depth is 0 before its first point."""
    total, maximum = 0, 0
    for (t, value), (t_next, _) in zip(depth, [*depth[1:], (t_end_ps, 0)], strict=True):
        total += value * max(0, min(t_next, t_end_ps) - t)
        maximum = max(maximum, value)
    return {"max": maximum, "mean": total / t_end_ps if t_end_ps > 0 else 0.0}
