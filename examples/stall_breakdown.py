"""Where does MAC-cluster time go? One row per trace: busy time and each stall cause.

Reads the MAC clusters' state intervals of each trace and prints, per trace, the share of
all cluster time spent busy, stalled by each cause and idle, and the largest stall cause.

    python examples/stall_breakdown.py traces/a.h5 traces/b.h5

Copy this file and change it: everything it uses is in archsim.open_trace (see
docs/TRACES.md).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import archsim
from archsim.domain import State


def breakdown(path: str) -> dict[str, float]:
    """Share of MAC-cluster time per state name (busy, stall_dram, ..., idle), in %."""
    with archsim.open_trace(path) as trace:
        clusters = trace.states_where(kind="mac_cluster")
    duration = clusters["t_end_ps"] - clusters["t_start_ps"]
    per_state = np.bincount(clusters["state"], weights=duration, minlength=len(State))
    total = per_state.sum() or 1.0
    return {state.name.lower(): 100 * per_state[state] / total for state in State}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("traces", nargs="+", help="HDF5 traces written by archsim run")
    args = parser.parse_args()
    names = [state.name.lower() for state in State]
    labels = [name.removeprefix("stall_") for name in names]
    width = max(len(path) for path in args.traces)
    print(f"{'trace':<{width}}  " + "  ".join(f"{label:>12}" for label in labels) + "  top stall")
    for path in args.traces:
        shares = breakdown(path)
        stalls = {name: share for name, share in shares.items() if name.startswith("stall_")}
        top = max(stalls, key=stalls.__getitem__).removeprefix("stall_")
        cells = "  ".join(f"{shares[name]:>11.1f}%" for name in names)
        print(f"{path:<{width}}  {cells}  {top}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
