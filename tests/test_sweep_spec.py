"""Sweep specs: validation with file:line errors, expansion (grid, zip, random, lhs),
constraints, and the per-point configs built from dotted keys, all before anything runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from archsim.errors import ConfigError
from archsim.sweep import expand, load_sweep_spec, plan_sweep, sweep, sweep_json_schema

ROOT = Path(__file__).resolve().parents[1]
EDGE_MESH = ROOT / "arch" / "edge_mesh.yaml"
EDGE_DET = ROOT / "arch" / "edge_det.yaml"
TINY_CNN = ROOT / "workloads" / "tiny_cnn.yaml"


def write_spec(tmp_path: Path, body: str, *, arch: Path = EDGE_MESH, name: str = "s") -> Path:
    """A sweep file in tmp_path with base files set; ``body`` is the rest of the YAML."""
    head = f"name: {name}\narch: {arch}\nworkload: {TINY_CNN}\n"
    path = tmp_path / f"{name}.yaml"
    path.write_text(head + textwrap.dedent(body))
    return path


def config_error(call: object, *args: object, **kwargs: object) -> list[str]:
    """The problems (as text) of the ConfigError that ``call(*args)`` raises."""
    with pytest.raises(ConfigError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return [str(problem) for problem in caught.value.problems]


def test_grid_is_the_full_factorial_in_file_order(tmp_path: Path) -> None:
    spec = load_sweep_spec(
        write_spec(
            tmp_path,
            """
            factors:
              arch.sram.banks: [8, 16, 32]
              run.batch: [1, 2]
            """,
        )
    )
    points = expand(spec)
    assert [p.id for p in points] == list(range(6))
    assert [(p.values["arch.sram.banks"], p.values["run.batch"]) for p in points] == [
        (8, 1), (8, 2), (16, 1), (16, 2), (32, 1), (32, 2),
    ]  # fmt: skip


def test_zip_groups_move_together_inside_a_grid(tmp_path: Path) -> None:
    spec = load_sweep_spec(
        write_spec(
            tmp_path,
            """
            factors:
              arch.interconnect.kind: [bus, mesh, deterministic]
              arch.mac_clusters.count: [4, 8]
              arch.interconnect.mesh: [null, {cols: 4, rows: 4}, {cols: 2, rows: 2}]
            design:
              zip: [[arch.interconnect.kind, arch.interconnect.mesh]]
            """,
        )
    )
    points = expand(spec)
    assert len(points) == 6
    pairs = {
        (p.values["arch.interconnect.kind"], str(p.values["arch.interconnect.mesh"]))
        for p in points
    }
    assert pairs == {
        ("bus", "None"),
        ("mesh", "{'cols': 4, 'rows': 4}"),
        ("deterministic", "{'cols': 2, 'rows': 2}"),
    }
    assert list(points[0].values) == list(spec.factors)


def test_zip_design_pairs_levels_by_position(tmp_path: Path) -> None:
    spec = load_sweep_spec(
        write_spec(
            tmp_path,
            """
            factors:
              arch.sram.banks: [8, 16, 32]
              run.input: [32x32, 64x64, 128x128]
            design: {kind: zip}
            """,
        )
    )
    assert [tuple(p.values.values()) for p in expand(spec)] == [
        (8, "32x32"), (16, "64x64"), (32, "128x128"),
    ]  # fmt: skip


@pytest.mark.parametrize("kind", ["random", "lhs"])
def test_sampled_designs_are_reproducible_and_within_range(tmp_path: Path, kind: str) -> None:
    body = f"""
        factors:
          arch.sram.banks: [8, 16, 32]
          arch.dram.efficiency: {{low: 0.5, high: 0.95}}
          arch.mac_clusters.count: {{low: 1, high: 16, integer: true, log: true}}
        design: {{kind: {kind}, samples: 12, seed: SEED}}
        """
    first = expand(load_sweep_spec(write_spec(tmp_path, body.replace("SEED", "3"), name="a")))
    again = expand(load_sweep_spec(write_spec(tmp_path, body.replace("SEED", "3"), name="b")))
    other = expand(load_sweep_spec(write_spec(tmp_path, body.replace("SEED", "4"), name="c")))
    assert [p.values for p in first] == [p.values for p in again]
    assert [p.values for p in first] != [p.values for p in other]
    assert len(first) == 12  # continuous factors make repeats practically impossible
    for point in first:
        assert point.values["arch.sram.banks"] in (8, 16, 32)
        assert 0.5 <= point.values["arch.dram.efficiency"] <= 0.95
        count = point.values["arch.mac_clusters.count"]
        assert isinstance(count, int) and 1 <= count <= 16


def test_latin_hypercube_uses_each_stratum_once(tmp_path: Path) -> None:
    spec = load_sweep_spec(
        write_spec(
            tmp_path,
            """
            factors:
              arch.dram.efficiency: {low: 0.0001, high: 1.0}
              arch.sram.banks: [4, 8, 12, 16]
            design: {kind: lhs, samples: 4, seed: 9}
            """,
        )
    )
    points = expand(spec)
    strata = sorted(int(p.values["arch.dram.efficiency"] * 4) for p in points)
    assert strata == [0, 1, 2, 3]
    assert sorted(p.values["arch.sram.banks"] for p in points) == [4, 8, 12, 16]


def test_random_samples_of_levels_drop_repeats(tmp_path: Path) -> None:
    spec = load_sweep_spec(
        write_spec(
            tmp_path,
            """
            factors:
              arch.sram.banks: [8, 16]
            design: {kind: random, samples: 20}
            """,
        )
    )
    assert sorted(p.values["arch.sram.banks"] for p in expand(spec)) == [8, 16]


def test_constraints_drop_points(tmp_path: Path) -> None:
    spec = load_sweep_spec(
        write_spec(
            tmp_path,
            """
            factors:
              arch.mac_clusters.count: [4, 8, 16]
              arch.sram.banks: [4, 8, 16, 32]
              arch.interconnect.kind: [bus, mesh]
            constraints:
              - {key: arch.sram.banks, op: ">=", other: arch.mac_clusters.count}
              - {key: arch.sram.banks, op: not in, value: [32]}
              - any:   # bus implies at most 8 clusters
                  - {key: arch.interconnect.kind, op: "!=", value: bus}
                  - {key: arch.mac_clusters.count, op: "<=", value: 8}
            """,
        )
    )
    kept = [tuple(p.values.values()) for p in expand(spec)]
    assert kept == [
        (4, 4, "bus"), (4, 4, "mesh"), (4, 8, "bus"), (4, 8, "mesh"), (4, 16, "bus"),
        (4, 16, "mesh"), (8, 8, "bus"), (8, 8, "mesh"), (8, 16, "bus"), (8, 16, "mesh"),
        (16, 16, "mesh"),
    ]  # fmt: skip
    assert [p.id for p in expand(spec)] == list(range(len(kept)))


def test_a_constraint_that_cannot_be_compared_is_located(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """
        factors:
          arch.interconnect.kind: [bus, mesh]
        constraints:
          - {key: arch.interconnect.kind, op: "<", value: 3}
        """,
    )
    problems = config_error(expand, load_sweep_spec(path))
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:8:5: constraints.0: cannot evaluate")
    assert "cannot compare 'bus' with 3" in problems[0]


def test_spec_errors_are_all_reported_with_lines(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """
        set:
          sram.banks: 4
          run.inputs: 32x32
        factors:
          arch.sram.banks: 8
          arch.mac_clusters.count: {low: 1, high: 4}
        design: {kind: grid, zip: [[arch.mac_clusters.count, run.seed]]}
        constraints:
          - {key: arch.sram.bankz, op: ==, value: 8}
        scenario: offline
        """,
    )
    problems = config_error(load_sweep_spec, path)
    text = "\n".join(problems)
    assert f"{path}:9:3: factors.arch.sram.banks: Input should be a valid list (got 8)" in text
    assert f"{path}:14:1: scenario: unknown key 'scenario'" in text
    problems = config_error(
        load_sweep_spec, _fixed(path, "arch.sram.banks: 8", "arch.sram.banks: [8]")
    )
    text = "\n".join(problems)
    assert f"{path}:6:3: set.sram.banks: unknown key 'sram.banks'" in text
    assert "did you mean 'run.input'?" in text
    assert f"{path}:10:3: factors.arch.mac_clusters.count: a range needs design kind random" in text
    assert "'run.seed' is not a factor" in text
    assert "'arch.sram.bankz' is not a factor; did you mean 'arch.sram.banks'?" in text


def _fixed(path: Path, old: str, new: str) -> Path:
    path.write_text(path.read_text().replace(old, new).replace("scenario: offline\n", ""))
    return path


def test_design_keys_must_match_the_kind(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """
        factors:
          arch.sram.banks: [8, 16]
          run.batch: [1]
        design: {kind: zip, samples: 3}
        """,
    )
    text = "\n".join(config_error(load_sweep_spec, path))
    assert "samples is only used by kinds random and lhs" in text
    path = write_spec(tmp_path, "factors:\n  arch.sram.banks: [8]\ndesign: {kind: lhs}\n")
    assert "samples is required for kind lhs" in "\n".join(config_error(load_sweep_spec, path))


def test_every_point_is_validated_before_anything_runs(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """
        factors:
          arch.sram.banks: [8, 16, "many"]
          arch.mac_clusters.count: [4, 16]
          run.input: [32x32, 32]
          run.precision: [int8, fp64]
        """,
        arch=EDGE_DET,
    )
    out = tmp_path / "out"
    problems = config_error(sweep, path, serial=True, out=out)
    text = "\n".join(problems)
    assert not out.exists()
    # Bad values are located at the offending level of the factor in the sweep file.
    assert f"{path}:6:28: factors.arch.sram.banks.2: Input should be a valid integer" in text
    assert f"{path}:8:22: factors.run.input.1: expected WIDTHxHEIGHT" in text
    assert f"{path}:9:25: factors.run.precision.1: expected one of int8" in text
    # A problem in the base arch caused by a combination names the points it affects.
    assert f"{EDGE_DET}:" in text and "interconnect.attach.sram_banks: has 16 entries" in text
    assert "points, e.g. point 0 (arch.sram.banks=8" in text


def test_dotted_keys_reach_the_point_configs(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        """
        set:
          arch.interconnect.attach: null
          workload.input.channels: 4
          run.seed: 5
        factors:
          arch.sram.banks: [8, 32]
          arch.interconnect.kind: [mesh, deterministic]
          run.input: [32x32, 64x48]
          run.batch: [2]
          run.precision: [bf16]
        """,
        arch=EDGE_DET,
    )
    plan = plan_sweep(path, out=tmp_path / "out")
    assert len(plan.tasks) == 8
    last = plan.tasks[-1]
    assert last.arch.sram.banks == 32 and last.arch.interconnect.kind == "deterministic"
    assert last.arch.interconnect.attach is None
    assert last.workload.input.channels == 4
    assert (last.run.width, last.run.height, last.run.batch) == (64, 48, 2)
    assert (last.run.precision, last.run.seed) == ("bf16", 5)
    assert last.trace_path == str((tmp_path / "out" / "points" / "0007.h5").absolute())
    assert len({task.fingerprint for task in plan.tasks}) == 8


def test_run_workload_sweeps_several_files(tmp_path: Path) -> None:
    other = tmp_path / "wide.yaml"
    other.write_text(TINY_CNN.read_text().replace("name: tiny_cnn", "name: wide"))
    path = tmp_path / "s.yaml"
    levels = f"[{TINY_CNN}, wide.yaml, nothere.yaml]"
    path.write_text(f"name: s\narch: {EDGE_MESH}\nfactors:\n  run.workload: {levels}\n")
    problems = config_error(plan_sweep, path)
    column = len("  run.workload: ") + levels.index("nothere") + 1
    missing = tmp_path / "nothere.yaml"
    assert problems == [
        f"{path}:4:{column}: factors.run.workload.2: {missing}: file not found "
        "[point 2 (run.workload=nothere.yaml)]"
    ]
    path.write_text(path.read_text().replace(", nothere.yaml", ""))
    plan = plan_sweep(path)
    assert [task.workload.name for task in plan.tasks] == ["tiny_cnn", "wide"]


def test_the_sweep_json_schema_describes_the_keys() -> None:
    schema = sweep_json_schema()
    assert schema["title"] == "archsim sweep"
    assert {"name", "arch", "workload", "set", "factors", "design", "constraints"} <= set(
        schema["properties"]
    )


def test_shipped_sweeps_are_valid() -> None:
    for path in sorted((ROOT / "sweeps").glob("*.yaml")):
        plan = plan_sweep(path)
        assert plan.tasks, path
