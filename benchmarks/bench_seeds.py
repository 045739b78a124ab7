"""Wall time of the seeds bench (a script, not a test: it prints figures only).

Runs ``benches/seeds.yaml`` (or the bench file given) on a LocalCluster, prints its
scorecard, the wall time of the whole bench and the sum and maximum of the cases' own wall
times. The full seeds matrix (144 cases) takes hours on 2 cores; ``--set`` shrinks it.

    python benchmarks/bench_seeds.py                                  # the whole matrix
    python benchmarks/bench_seeds.py --set 'batches=[1]' --set 'corners=[typical]'
    python benchmarks/bench_seeds.py --bench benches/quick.yaml --serial
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from archsim.bench import run_bench
from archsim.bench.report import scorecard_table
from archsim.sweep.execute import ClusterChoice

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    """Run the bench and print its scorecard and timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=REPO / "benches" / "seeds.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("-j", "--workers", type=int, default=None)
    parser.add_argument("--serial", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    cluster = None if args.serial else ClusterChoice(workers=args.workers)
    with tempfile.TemporaryDirectory(prefix="archsim-bench-") as scratch:
        result = run_bench(
            args.bench,
            cluster=cluster,
            out=args.out or Path(scratch),
            overrides=args.overrides,
            progress=True,
        )
        print(scorecard_table(result.title, result.rows).to_text())
    case_s = [record.wall_s for record in result.records]
    print(f"bench wall time: {result.wall_s:.1f} s for {len(case_s)} cases {result.where}")
    print(f"case wall times: sum {sum(case_s):.1f} s, max {max(case_s):.1f} s")


if __name__ == "__main__":
    main()
