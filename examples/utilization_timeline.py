"""Plot the busy percentage of each component class over time to a PNG.

Uses the trace's /utilization table (busy fraction per component and time bin) and
averages it over the components of each class.

    python examples/utilization_timeline.py traces/run.h5     # writes traces/run-utilization.png
    python examples/utilization_timeline.py traces/run.h5 -o util.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import archsim

CLASSES = ("mac_cluster", "sram_bank", "dram_channel", "interconnect", "link")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace", help="HDF5 trace written by archsim run")
    parser.add_argument("-o", "--out", help="PNG to write (default: TRACE-utilization.png)")
    args = parser.parse_args()
    path = Path(args.trace)
    out = Path(args.out) if args.out else path.with_name(f"{path.stem}-utilization.png")
    with archsim.open_trace(path) as trace:
        end_us = trace.run_end_ps / 1e6
        figure = Figure(figsize=(10, 4), layout="constrained")
        axes = figure.subplots()
        for kind in CLASSES:
            rows = trace.utilization_where(kind=kind)
            if len(rows["component"]) == 0:
                continue
            edges_us = np.append(rows["t_start_ps"], trace.run_end_ps) / 1e6
            mean = 100 * rows["busy_fraction"].mean(axis=0)
            axes.stairs(mean, edges_us, label=f"{kind} ({len(rows['component'])})")
        meta = trace.metadata
    axes.set_xlim(0, end_us)
    axes.set_ylim(0, 105)
    axes.set_xlabel("time (µs)")
    axes.set_ylabel("busy (% of time, class mean)")
    axes.set_title(f"Utilization over time: {meta['workload']} on {meta['arch']}")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    axes.grid(alpha=0.3)
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
