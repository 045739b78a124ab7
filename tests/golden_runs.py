"""Golden runs: the summaries and trace checksums every refactor must reproduce exactly.

A fixed set of runs (every shipped arch x tiny_cnn, ResNet-50 224, YOLOv3-tiny 416, plus a
stream scenario and YOLOv3-tiny 608 fused on bus and det) is simulated with tracing on. Its
`--json` summaries (``wall_s`` and ``trace`` aside) and a SHA-256 of every trace dataset are
kept in ``tests/golden/summaries.json``. `tests/test_golden.py` compares a fresh run with them.

A commit that changes a simulated number on purpose re-records the file and says why:

    python tests/golden_runs.py --record            # every case
    python tests/golden_runs.py --record CASE ...   # only these cases
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_FILE = ROOT / "tests" / "golden" / "summaries.json"
VOLATILE_KEYS = ("wall_s", "trace")
"""Summary keys that differ between identical runs (wall time, output path)."""

ARCHES = ("edge_bus", "edge_xbar", "edge_mesh", "edge_det", "multi_engine")


@dataclass(frozen=True)
class GoldenCase:
    """One golden run: arch and workload file stems plus `simulate` keyword arguments."""

    arch: str
    workload: str
    options: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def name(self) -> str:
        """Stable identifier: ``WORKLOAD-ARCH[-LABEL]``."""
        return "-".join(part for part in (self.workload, self.arch, self.label) if part)


def golden_cases() -> list[GoldenCase]:
    """The fixed set of runs."""
    from archsim.config.scenario import ScenarioConfig

    cases = [GoldenCase(arch, "tiny_cnn") for arch in ARCHES]
    cases += [GoldenCase(arch, "resnet50", {"width": 224, "height": 224}) for arch in ARCHES]
    cases += [GoldenCase(arch, "yolov3_tiny", {"width": 416, "height": 416}) for arch in ARCHES]
    stream = ScenarioConfig.model_validate({"kind": "stream", "fps": 2000, "frames": 4})
    cases.append(GoldenCase("edge_bus", "tiny_cnn", {"scenario": stream}, "stream"))
    fused = {"width": 608, "height": 608, "fusion": "auto"}
    cases += [GoldenCase(arch, "yolov3_tiny", fused, "fused") for arch in ("edge_bus", "edge_det")]
    return cases


def trace_checksums(path: Path) -> dict[str, str]:
    """SHA-256 of every dataset in an HDF5 trace (dtype, shape and bytes), by dataset path."""
    sums: dict[str, str] = {}

    def visit(name: str, item: object) -> None:
        if isinstance(item, h5py.Dataset):
            data = np.ascontiguousarray(item[()])
            digest = hashlib.sha256(f"{data.dtype.str}{data.shape}".encode())
            if data.dtype.kind == "O":  # variable-length strings: hash their bytes
                for value in data.ravel():
                    text = value if isinstance(value, bytes) else str(value).encode()
                    digest.update(len(text).to_bytes(8, "little") + text)
            else:
                digest.update(data.tobytes())
            sums[name] = digest.hexdigest()

    with h5py.File(path, "r") as file:
        file.visititems(visit)
    return dict(sorted(sums.items()))


def run_case(case: GoldenCase, folder: Path) -> dict[str, Any]:
    """Simulate one case with a trace; its stable summary and trace checksums."""
    import archsim

    path = folder / f"{case.name}.h5"
    result = archsim.simulate(
        ROOT / "arch" / f"{case.arch}.yaml",
        ROOT / "workloads" / f"{case.workload}.yaml",
        trace_path=path,
        **case.options,
    )
    summary = {k: v for k, v in result.summary.items() if k not in VOLATILE_KEYS}
    # JSON round trip: the golden file holds what `archsim run --json` prints.
    return {"summary": json.loads(json.dumps(summary)), "trace": trace_checksums(path)}


def load_golden() -> dict[str, Any]:
    """The recorded golden results, by case name."""
    return json.loads(GOLDEN_FILE.read_text())


def record(names: list[str]) -> None:
    """Re-run the named cases (all if none) and write them into the golden file."""
    cases = {case.name: case for case in golden_cases()}
    unknown = sorted(set(names) - set(cases))
    if unknown:
        sys.exit(f"unknown golden case(s): {', '.join(unknown)}; known: {', '.join(cases)}")
    golden = load_golden() if names and GOLDEN_FILE.exists() else {}
    with tempfile.TemporaryDirectory() as folder:
        for name in names or list(cases):
            print(f"recording {name}", file=sys.stderr)
            golden[name] = run_case(cases[name], Path(folder))
    ordered = {name: golden[name] for name in cases if name in golden}
    GOLDEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    tmp = GOLDEN_FILE.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(ordered, indent=1, sort_keys=True) + "\n")
    tmp.replace(GOLDEN_FILE)


def main() -> None:
    """Command line: --record [CASE ...]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="re-record the golden file")
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    args = parser.parse_args()
    if not args.record:
        parser.error("nothing to do: pass --record (the comparison is tests/test_golden.py)")
    sys.path.insert(0, str(ROOT))
    record(args.cases)


if __name__ == "__main__":
    main()
