"""Benches: a matrix of chips, workloads, sizes, batches, precisions, scenarios and PVT
corners, run on the sweep machinery, reported as a buyer's scorecard."""

from archsim.bench.plan import BenchCase, BenchPlan, plan_bench
from archsim.bench.run import BenchResult, run_bench
from archsim.bench.spec import BenchSpec, bench_json_schema, load_bench_spec

__all__ = [
    "BenchCase",
    "BenchPlan",
    "BenchResult",
    "BenchSpec",
    "bench_json_schema",
    "load_bench_spec",
    "plan_bench",
    "run_bench",
]
