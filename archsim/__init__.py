"""archsim: discrete-event simulation of neural-network inference accelerators.

The public API is small: load configs, simulate, open traces.
"""

from archsim.api import SimulationResult, simulate
from archsim.config import load_arch, load_workload
from archsim.sweep import SweepResult, sweep
from archsim.trace import open_trace
from archsim.version import __version__

__all__ = [
    "SimulationResult",
    "SweepResult",
    "__version__",
    "load_arch",
    "load_workload",
    "open_trace",
    "simulate",
    "sweep",
]
