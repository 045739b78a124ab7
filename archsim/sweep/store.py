"""The sweep folder on disk: one ``points/ID.json`` record (and ``points/ID.h5`` trace) per
point, written atomically, and what ``--resume`` may skip.

Layout::

    OUT/points/0003.json   record of point 3 (status, error, summary, fingerprint)
    OUT/points/0003.h5     its trace (unless --no-traces)
    OUT/results.csv, OUT/results.h5, OUT/sweep.h5   rebuilt from the records at the end

A record is written only after its trace is complete, so a record on disk means the point
is done. Resume skips a point when its record exists, has the same fingerprint (same
resolved configs and run parameters), is not ``lost``, and has its trace if traces are
wanted; everything else is rerun.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

from archsim.sweep.point import PointRecord, PointStatus, PointTask

POINTS_DIR = "points"
RESULTS_CSV = "results.csv"
RESULTS_H5 = "results.h5"
SWEEP_H5 = "sweep.h5"
_POINT_FILE = re.compile(r"[0-9]+\.(json|h5)(\.tmp)?")


def point_name(point: int) -> str:
    """File stem of a point: 3 -> '0003'."""
    return f"{point:04d}"


def trace_name(point: int) -> str:
    """Trace path of a point, relative to the sweep folder."""
    return f"{POINTS_DIR}/{point_name(point)}.h5"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via ``path.tmp`` + rename: readers never see a partial file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class PointStore:
    """The point records of one sweep folder."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.points_dir = out_dir / POINTS_DIR

    def record_path(self, point: int) -> Path:
        """Where the record of ``point`` lives."""
        return self.points_dir / f"{point_name(point)}.json"

    def prepare(self, *, fresh: bool) -> None:
        """Create the folder; drop the old tables, and with ``fresh`` every point file too."""
        self.points_dir.mkdir(parents=True, exist_ok=True)
        for name in (RESULTS_CSV, RESULTS_H5, SWEEP_H5):
            (self.out_dir / name).unlink(missing_ok=True)
        for path in self.points_dir.iterdir():
            if _POINT_FILE.fullmatch(path.name) and (fresh or path.name.endswith(".tmp")):
                path.unlink(missing_ok=True)

    def save(self, record: PointRecord) -> None:
        """Write the record of one point atomically."""
        text = json.dumps(record.to_json(), indent=1)  # key order = summary order
        write_atomic(self.record_path(record.point), text + "\n")

    def load(self, point: int) -> PointRecord | None:
        """The record of ``point``, or None if there is none or it cannot be read."""
        try:
            text = self.record_path(point).read_text(encoding="utf-8")
            return PointRecord.from_json(json.loads(text))
        except (OSError, ValueError):
            return None

    def completed(self, tasks: Iterable[PointTask], *, traces: bool) -> dict[int, PointRecord]:
        """The records of ``tasks`` that resume may keep, by point id."""
        kept = {}
        for task in tasks:
            record = self.load(task.point)
            if record is not None and self._is_complete(record, task, traces):
                kept[task.point] = record
        return kept

    def _is_complete(self, record: PointRecord, task: PointTask, traces: bool) -> bool:
        if record.point != task.point or record.fingerprint != task.fingerprint:
            return False
        if record.status is PointStatus.LOST:
            return False
        if record.status is PointStatus.OK and traces:
            return record.trace is not None and (self.out_dir / record.trace).is_file()
        return True
