"""archsim: discrete-event simulation of neural-network inference accelerators.

The public API is small: load configs, simulate, open traces. Each public name loads its
module on first use, so importing one part of archsim (the command line, say) does not
import all of it.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from archsim.version import __version__

if TYPE_CHECKING:
    from archsim.api import SimulationResult, simulate
    from archsim.config import load_arch, load_workload
    from archsim.sweep import SweepResult, sweep
    from archsim.trace import open_trace

_HOMES = {
    "SimulationResult": "archsim.api",
    "simulate": "archsim.api",
    "load_arch": "archsim.config",
    "load_workload": "archsim.config",
    "SweepResult": "archsim.sweep",
    "open_trace": "archsim.trace",
}
"""Public name -> the module that defines it (``sweep``: see _Package.sweep)."""

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


def __getattr__(name: str) -> Any:
    """A public name, imported from its module the first time it is asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'archsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(dict.fromkeys([*globals(), *__all__]))


class _Package(types.ModuleType):
    """The archsim module, whose ``sweep`` is the function ``archsim.sweep.sweep``.

    The subpackage of the same name would otherwise shadow it: importing a submodule binds
    it on its parent package, and the package keeps the function instead.
    """

    @property
    def sweep(self) -> Any:
        """``archsim.sweep.sweep``: run a design-space sweep."""
        return importlib.import_module("archsim.sweep").sweep

    @sweep.setter
    def sweep(self, subpackage: types.ModuleType) -> None:
        """Ignore the import system binding the ``archsim.sweep`` subpackage here."""


sys.modules[__name__].__class__ = _Package
