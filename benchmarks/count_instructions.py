"""Instructions one `archsim.simulate` call executes, counted by Valgrind (a script, not a
test). Wall and CPU times on a shared 2-core machine vary by several per cent from run to
run; the instruction count of a deterministic run varies far less (repeats agree to about
0.5 %: the child runs with PYTHONHASHSEED=0, but object addresses still differ), so it
shows a change of 1-2 % in the cost of the hot path that timing cannot. Needs `valgrind` on
PATH; a run takes about 40 times as long as without it.

    python benchmarks/count_instructions.py arch/edge_bus.yaml workloads/resnet50.yaml
    python benchmarks/count_instructions.py arch/edge_det.yaml workloads/tiny_cnn.yaml --input 64x64

Prints the instructions of the whole process, of importing archsim alone, and their
difference (the call: loading, mapping, the SimPy run and the summary; no trace written).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions(code: str) -> int:
    """Instructions a fresh `python -c code` executes (Valgrind's cachegrind, no cache model)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "cachegrind.out"
        done = subprocess.run(
            [
                "valgrind",
                "--tool=cachegrind",
                "--cache-sim=no",
                f"--cachegrind-out-file={out}",
                sys.executable,
                "-c",
                code,
            ],
            cwd=folder,  # so PYTHONPATH, not the current folder, picks the archsim run
            env={**os.environ, "PYTHONHASHSEED": "0"},  # string hashes as in every repeat
            capture_output=True,
            text=True,
            check=True,
        )
    match = _REFS.search(done.stderr)
    if match is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{done.stderr}")
    return int(match.group(1).replace(",", ""))


def main() -> None:
    """Count and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("arch")
    parser.add_argument("workload")
    parser.add_argument("--input", help="WIDTHxHEIGHT")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not on PATH")
    size = ""
    if args.input:
        width, height = (int(part) for part in args.input.lower().split("x"))
        size = f", width={width}, height={height}"
    arch, workload = (str(Path(name).resolve()) for name in (args.arch, args.workload))
    run = f"import archsim; archsim.simulate({arch!r}, {workload!r}, trace=False{size})"
    whole = instructions(run)
    imports = instructions("import archsim.api")
    print(f"whole process  {whole:>16,}")
    print(f"import only    {imports:>16,}")
    print(f"the call       {whole - imports:>16,}")


if __name__ == "__main__":
    main()
