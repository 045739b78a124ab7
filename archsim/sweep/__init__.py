"""Design-space sweeps: a YAML spec of factors expanded into points, run on Dask (or
in-process), stored one record per point (resumable), summarized in a results table.

Importing this package starts nothing and imports neither ``distributed`` nor matplotlib.
"""

from archsim.sweep.api import SweepResult, sweep
from archsim.sweep.design import Point, expand
from archsim.sweep.plan import SweepPlan, plan_sweep
from archsim.sweep.point import PointRecord, PointStatus
from archsim.sweep.results import read_results
from archsim.sweep.spec import SweepSpec, load_sweep_spec, sweep_json_schema
from archsim.sweep.table import WALL_TIME_COLUMNS, ResultsTable

__all__ = [
    "WALL_TIME_COLUMNS",
    "Point",
    "PointRecord",
    "PointStatus",
    "ResultsTable",
    "SweepPlan",
    "SweepResult",
    "SweepSpec",
    "expand",
    "load_sweep_spec",
    "plan_sweep",
    "read_results",
    "sweep",
    "sweep_json_schema",
]
