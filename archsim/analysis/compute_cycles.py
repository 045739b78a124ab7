"""Per-layer compute cycles: the closed-form cycles of a layer's busiest MAC cluster.

A layer's compute cycles are, for each cluster, the cycles of the layer's tiles it ran
(summed over images and frames), maximised over the clusters: the layer's compute time
without any stall. With one cluster and ``--tiling scalesim`` they are SCALE-Sim's compute
cycles of the layer. ``archsim map`` reads them from the mapped program, ``archsim report``
from the trace's busy intervals (which last exactly cycles x clock period).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from archsim.domain import ComponentKind, State
from archsim.mapping.program import ComputeOp, Program
from archsim.trace import Trace
from archsim.units import clock_period_ps


def program_compute_cycles(program: Program) -> dict[int, int]:
    """Per layer index: compute cycles of its busiest cluster in the program."""
    per_cluster: dict[tuple[int, int], int] = defaultdict(int)
    for op in program.ops:
        if isinstance(op, ComputeOp):
            per_cluster[op.layer, op.cluster] += op.cycles
    busiest: dict[int, int] = {}
    for (layer, _), cycles in sorted(per_cluster.items()):
        busiest[layer] = max(busiest.get(layer, 0), cycles)
    return busiest


def trace_compute_cycles(trace: Trace) -> dict[int, int] | None:
    """Per layer index: compute cycles of its busiest cluster, from the trace's busy states
    and the cluster clock in its resolved config (None when the config has no clock)."""
    try:
        clock_mhz = float(trace.config["arch"]["mac_clusters"]["clock_mhz"])
    except (KeyError, TypeError, ValueError):
        return None
    period_ps = clock_period_ps(clock_mhz)
    rows = trace.states_where(kind=ComponentKind.MAC_CLUSTER.value, state=State.BUSY)
    if not len(rows["layer"]):
        return {}
    layers = rows["layer"].astype(np.int64)
    components = rows["component"].astype(np.int64)
    durations = (rows["t_end_ps"] - rows["t_start_ps"]).astype(np.int64)
    width = int(components.max()) + 1
    busy = np.zeros((int(layers.max()) + 1) * width, dtype=np.int64)
    np.add.at(busy, layers * width + components, durations)
    per_layer = busy.reshape(-1, width).max(axis=1)
    return {
        int(layer): int(ps) // period_ps for layer, ps in enumerate(per_layer.tolist()) if ps > 0
    }
