"""``run_bench``: the bench matrix on the sweep machinery, then the scorecard files.

Cases run as sweep points (``archsim.sweep``): on a Dask LocalCluster by default, on a
named scheduler, or in-process with ``serial``. Each case's record is kept atomically as
``points/ID.json``; at the end the folder holds ``scorecard.csv``, ``scorecard.html``
(plots inlined), ``scorecard.txt``, ``plots/*.png`` and ``bench.json`` (spec, wall time
and every record), each written to NAME.tmp and renamed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from archsim.analysis.plots import png_bytes
from archsim.bench.plan import BenchPlan, plan_bench
from archsim.bench.plots import scorecard_figures
from archsim.bench.report import scorecard_csv, scorecard_html, scorecard_table
from archsim.bench.scorecard import ScorecardRow, scorecard_rows
from archsim.config.operating_point import Corner
from archsim.files import write_atomic
from archsim.sweep.api import run_and_store
from archsim.sweep.execute import ClusterChoice
from archsim.sweep.point import PointRecord
from archsim.sweep.store import PointStore

CSV_NAME = "scorecard.csv"
HTML_NAME = "scorecard.html"
TEXT_NAME = "scorecard.txt"
JSON_NAME = "bench.json"
PLOTS_DIR = "plots"


@dataclass(frozen=True)
class BenchResult:
    """What ``run_bench`` returns: the plan, every record and row, the files, the wall time."""

    plan: BenchPlan
    records: tuple[PointRecord, ...]
    rows: tuple[ScorecardRow, ...]
    files: tuple[Path, ...]
    wall_s: float
    where: str

    @property
    def title(self) -> str:
        """Title of the scorecard."""
        return scorecard_title(self.plan, self.where, self.wall_s)


def scorecard_title(plan: BenchPlan, where: str, wall_s: float) -> str:
    """'bench NAME: N cases on WHERE in S s'."""
    return f"bench {plan.spec.name}: {len(plan.cases)} cases {where} in {wall_s:.1f} s"


def run_bench(
    path: str | Path,
    *,
    cluster: ClusterChoice | None,
    out: str | Path | None = None,
    corners: Sequence[Corner | None] | None = None,
    overrides: Sequence[str] = (),
    progress: bool = False,
) -> BenchResult:
    """Run the bench file ``path``: every case on ``cluster`` (None: in this process);
    ``overrides`` and ``corners`` change the file's keys as for ``plan_bench``.

    Every file is validated first (ConfigError). A failing case is recorded with its error
    and the others go on. Worker processes are spawned: call under ``__main__`` in scripts.
    """
    start = time.perf_counter()
    plan = plan_bench(path, out, corners, overrides)
    tasks = plan.tasks()
    store = PointStore(plan.out_dir)
    store.prepare(fresh=True)
    records = run_and_store(tasks, store, cluster, plan.spec.name, progress)
    ordered = tuple(records[task.point] for task in tasks)
    rows = tuple(scorecard_rows(plan.cases, ordered))
    wall_s = time.perf_counter() - start
    where = "in-process" if cluster is None else f"on {cluster.describe()}"
    files = write_scorecard(plan, ordered, rows, scorecard_title(plan, where, wall_s), wall_s)
    return BenchResult(plan, ordered, rows, files, wall_s, where)


def write_scorecard(
    plan: BenchPlan,
    records: tuple[PointRecord, ...],
    rows: tuple[ScorecardRow, ...],
    title: str,
    wall_s: float,
) -> tuple[Path, ...]:
    """Write the scorecard CSV, text, PNG plots, HTML page and bench.json; their paths."""
    out = plan.out_dir
    plots = out / PLOTS_DIR
    plots.mkdir(parents=True, exist_ok=True)
    table = scorecard_table(title, rows)
    images = {
        stem: png_bytes(figure) for stem, figure in scorecard_figures(rows, plan.spec.name).items()
    }
    files = [
        write_atomic(out / CSV_NAME, scorecard_csv(rows)),
        write_atomic(out / TEXT_NAME, table.to_text() + "\n"),
    ]
    files += [write_atomic(plots / f"{stem}.png", png) for stem, png in images.items()]
    notes = [f"bench file: {plan.spec_path}", "fps/TOPS divides by the nominal peak TOPS."]
    page = scorecard_html(title, plan.spec.description, table, images, notes)
    files.append(write_atomic(out / HTML_NAME, page))
    document = {
        "name": plan.spec.name,
        "spec_yaml": plan.spec_text,
        "wall_s": wall_s,
        "records": [record.to_json() for record in records],
    }
    files.append(write_atomic(out / JSON_NAME, json.dumps(document, indent=1) + "\n"))
    return tuple(files)
