"""Architecture schema: shipped presets, located errors, DRAM presets, mesh checks, schema."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pydantic
import pytest

from archsim.config import (
    DRAM_PRESETS,
    ArchConfig,
    arch_json_schema,
    endpoint_coordinates,
    load_arch,
    load_arch_text,
)
from archsim.config.dram_presets import DramPresetName
from archsim.domain import Dataflow, InterconnectKind, Precision
from archsim.errors import ConfigError

ARCH_DIR = Path(__file__).resolve().parent.parent / "arch"


def with_line(text: str, number: int, line: str) -> str:
    """``text`` with its 1-based line ``number`` replaced by ``line`` (may hold newlines)."""
    lines = text.splitlines()
    lines[number - 1] = line
    return "\n".join(lines) + "\n"


# Line numbers matter: tests assert them.
BUS = """\
name: t
mac_clusters:
  count: 4
  rows: 8
  cols: 8
  clock_mhz: 1000
sram:
  banks: 4
  bank_kib: 64
  clock_mhz: 1000
dram:
  preset: ddr4-3200
interconnect:
  kind: bus
  link_bytes_per_cycle: 32
  clock_mhz: 1000
"""

MESH = (
    with_line(BUS, 14, "  kind: mesh")
    + """\
  mesh:
    cols: 2
    rows: 2
  attach:
    clusters: [[0, 0], [1, 0], [0, 1], [1, 1]]
    sram_banks: [[0, 0], [1, 0], [0, 1], [1, 1]]
    dram_ports: [[0, 0]]
"""
)


def problems_of(text: str, overrides: tuple[str, ...] = ()) -> list[tuple[int | None, str, str]]:
    """(line, path, message) of each problem loading ``text``."""
    with pytest.raises(ConfigError) as excinfo:
        load_arch_text(text, "a.yaml", overrides)
    return [(p.line, p.path, p.message) for p in excinfo.value.problems]


# --- shipped presets --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["edge_bus", "edge_mesh", "edge_det"])
def test_shipped_arch_loads(name: str) -> None:
    arch = load_arch(ARCH_DIR / f"{name}.yaml")
    assert arch.name == name
    clusters = arch.mac_clusters
    assert (clusters.count, clusters.rows, clusters.cols) == (16, 32, 32)
    assert (clusters.dataflow, clusters.clock_mhz) == (Dataflow.WS, 1000.0)
    assert (clusters.local_buffer_kib, clusters.vector_lanes) == (256, 64)
    assert clusters.mac_rate[Precision.BF16] == 0.5
    assert arch.sram.total_bytes == 8 * 1024 * 1024
    assert (arch.sram.ports_per_bank, arch.sram.port_bytes_per_cycle) == (2, 64)
    assert (arch.dram.preset, arch.dram.channels, arch.dram.peak_gb_per_s) == (
        "lpddr4x-4266",
        1,
        17.064,
    )
    link = arch.interconnect
    assert (link.link_bytes_per_cycle, link.clock_mhz, link.hop_latency_cycles) == (64, 1000.0, 1)


def test_shipped_archs_share_raw_hardware() -> None:
    bus, mesh, det = (load_arch(ARCH_DIR / f"edge_{n}.yaml") for n in ("bus", "mesh", "det"))
    assert bus.mac_clusters == mesh.mac_clusters == det.mac_clusters
    assert bus.sram == mesh.sram == det.sram
    assert bus.dram == mesh.dram == det.dram
    assert mesh.interconnect.model_dump(exclude={"kind"}) == det.interconnect.model_dump(
        exclude={"kind"}
    )
    assert [a.interconnect.kind for a in (bus, mesh, det)] == [
        InterconnectKind.BUS,
        InterconnectKind.MESH,
        InterconnectKind.DETERMINISTIC,
    ]
    assert bus.interconnect.mesh is None


def test_shipped_mesh_attach_matches_row_major_placement() -> None:
    arch = load_arch(ARCH_DIR / "edge_mesh.yaml")
    clusters, banks, ports = endpoint_coordinates(arch)
    expected = [(i % 4, i // 4) for i in range(16)]
    assert clusters == banks == expected
    assert ports == [(0, 0)]
    automatic = arch.model_copy(
        update={"interconnect": arch.interconnect.model_copy(update={"attach": None})}
    )
    assert endpoint_coordinates(automatic) == (clusters, banks, ports)


# --- located errors ---------------------------------------------------------------------


def test_unknown_key_is_located(tmp_path: Path) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text(BUS.replace("  cols: 8", "  colz: 8"), encoding="utf-8")
    with pytest.raises(ConfigError) as excinfo:
        load_arch(path)
    assert [str(p) for p in excinfo.value.problems] == [
        f"{path}:2:1: mac_clusters.cols: missing required key 'cols'",
        f"{path}:5:3: mac_clusters.colz: unknown key 'colz'; did you mean 'cols'? (allowed: "
        "count, rows, cols, dataflow, clock_mhz, mac_rate, local_buffer_kib, vector_lanes, "
        "dma_channels)",
    ]


def test_missing_key_is_located_at_its_parent() -> None:
    assert problems_of(BUS.replace("  count: 4\n", "")) == [
        (2, "mac_clusters.count", "missing required key 'count'")
    ]


def test_string_for_int_is_located() -> None:
    assert problems_of(BUS.replace("rows: 8", "rows: '8'")) == [
        (4, "mac_clusters.rows", "Input should be a valid integer (got '8')")
    ]


def test_bool_is_not_an_int() -> None:
    assert problems_of(BUS.replace("count: 4", "count: true")) == [
        (3, "mac_clusters.count", "Input should be a valid integer (got true)")
    ]


def test_int_is_accepted_as_float() -> None:
    arch = load_arch_text(BUS)
    assert isinstance(arch.mac_clusters.clock_mhz, float)


AT_LEAST_ONE = "greater than or equal to 1"
AT_LEAST_ZERO = "greater than or equal to 0"


@pytest.mark.parametrize(
    ("line", "path", "value", "bound"),
    [
        (3, "mac_clusters.count", "0", AT_LEAST_ONE),
        (4, "mac_clusters.rows", "-8", AT_LEAST_ONE),
        (6, "mac_clusters.clock_mhz", "0", "greater than 0"),
        (8, "sram.banks", "0", AT_LEAST_ONE),
        (9, "sram.bank_kib", "-1", AT_LEAST_ONE),
        (10, "sram.clock_mhz", "-1.5", "greater than 0"),
        (15, "interconnect.link_bytes_per_cycle", "0", AT_LEAST_ONE),
    ],
)
def test_non_positive_sizes_rejected(line: int, path: str, value: str, bound: str) -> None:
    text = with_line(BUS, line, f"  {path.split('.')[-1]}: {value}")
    assert problems_of(text) == [(line, path, f"Input should be {bound} (got {value})")]


def test_infinite_clock_rejected() -> None:
    assert problems_of(with_line(BUS, 6, "  clock_mhz: .inf")) == [
        (6, "mac_clusters.clock_mhz", "Input should be a finite number (got inf)")
    ]


def test_mac_rate_keys_and_values_checked() -> None:
    text = with_line(BUS, 6, "  clock_mhz: 1000\n  mac_rate: {int8: 1.5, int4: 1}")
    assert problems_of(text) == [
        (7, "mac_clusters.mac_rate.int8", "Input should be less than or equal to 1 (got 1.5)"),
        (
            7,
            "mac_clusters.mac_rate.int4",
            "invalid key: Input should be 'int8', 'int16', 'bf16', 'fp16' or 'fp32' (got 'int4')",
        ),
    ]


def test_partial_mac_rate_means_unsupported_precisions() -> None:
    text = with_line(BUS, 6, "  clock_mhz: 1000\n  mac_rate: {int8: 1}")
    assert load_arch_text(text).mac_clusters.mac_rate == {Precision.INT8: 1.0}


def test_several_errors_sorted_by_line() -> None:
    text = BUS.replace("name: t", "name: ''").replace("kind: bus", "kind: ring")
    text = text.replace("banks: 4", "banks: four")
    assert problems_of(text) == [
        (1, "name", "String should have at least 1 character (got '')"),
        (8, "sram.banks", "Input should be a valid integer (got 'four')"),
        (
            14,
            "interconnect.kind",
            "Input should be 'bus', 'crossbar', 'mesh' or 'deterministic' (got 'ring')",
        ),
    ]


def test_override_problems_name_set() -> None:
    assert problems_of(BUS, ("sram.banks=0", "sram.bank=1")) == [
        (None, "sram.banks", "Input should be greater than or equal to 1 (got 0)"),
        (
            None,
            "sram.bank",
            "unknown key 'bank'; did you mean 'banks'? "
            "(allowed: banks, bank_kib, ports_per_bank, port_bytes_per_cycle, clock_mhz, "
            "write_granule_bytes)",
        ),
    ]
    arch = load_arch_text(BUS, overrides=("sram.banks=8", "mac_clusters.dataflow=os"))
    assert (arch.sram.banks, arch.mac_clusters.dataflow) == (8, Dataflow.OS)


# --- DRAM presets -----------------------------------------------------------------------


def test_preset_fills_unset_fields_and_explicit_keys_win() -> None:
    arch = load_arch_text(
        with_line(BUS, 12, "  preset: ddr4-3200\n  efficiency: 0.8\n  channels: 2")
    )
    dram = arch.dram
    assert (dram.channels, dram.efficiency, dram.peak_gb_per_s) == (2, 0.8, 25.6)
    assert (dram.banks, dram.bank_groups, dram.trcd_ns) == (16, 4, 13.75)
    # derived: tCL + burst (64 B at 25.6 GB/s x 0.8 = 3.125 ns); miss adds tRP + tRCD
    assert dram.row_hit_latency_ns == pytest.approx(13.75 + 3.125)
    assert dram.row_miss_latency_ns == pytest.approx(3 * 13.75 + 3.125)
    assert (dram.trefi_ns, dram.trfc_ns) == (7800.0, 350.0)


@pytest.mark.parametrize("name", list(DRAM_PRESETS))
def test_every_preset_loads(name: str) -> None:
    arch = load_arch_text(BUS.replace("ddr4-3200", name))
    dump = arch.dram.model_dump(exclude={"preset", "channels", "interleave_bytes", "efficiency"})
    assert dump == DRAM_PRESETS[name].fields()


def test_preset_table_matches_schema_literal() -> None:
    assert list(DRAM_PRESETS) == list(typing.get_args(DramPresetName))
    assert DRAM_PRESETS["hbm2e"].peak_gb_per_s == 51.2


def test_no_preset_requires_every_field() -> None:
    text = with_line(BUS, 12, "  channels: 2\n  peak_gb_per_s: 10\n  efficiency: 0.9")
    assert problems_of(text) == [
        (11, f"dram.{key}", f"missing required key '{key}'")
        for key in (
            "burst_bytes",
            "banks",
            "bank_groups",
            "row_bytes",
            "tcl_ns",
            "trcd_ns",
            "trp_ns",
            "tras_ns",
            "trrd_ns",
            "tfaw_ns",
            "trefi_ns",
            "trfc_ns",
        )
    ]


def test_unknown_preset() -> None:
    assert problems_of(BUS.replace("ddr4-3200", "ddr5-6400")) == [
        (
            12,
            "dram.preset",
            "unknown DRAM preset 'ddr5-6400'; known: lpddr4x-4266, ddr4-3200, gddr6-14, hbm2e",
        ),
    ]


def test_dram_timing_cross_checks() -> None:
    text = with_line(BUS, 12, "  preset: ddr4-3200\n  bank_groups: 3\n  trfc_ns: 7800")
    assert problems_of(text) == [
        (13, "dram.bank_groups", "must divide banks (16)"),
        (14, "dram.trfc_ns", "must be less than trefi_ns (7800)"),
    ]


# --- interconnect -----------------------------------------------------------------------


def test_mesh_arch_loads() -> None:
    arch = load_arch_text(MESH)
    assert arch.interconnect.mesh is not None
    assert arch.interconnect.mesh.routers == 4
    assert arch.interconnect.attach is not None
    assert arch.interconnect.attach.clusters[3] == (1, 1)
    assert arch.interconnect.max_packet_bytes == 8192


@pytest.mark.parametrize("kind", ["mesh", "deterministic"])
def test_mesh_required_for_mesh_kinds(kind: str) -> None:
    assert problems_of(BUS.replace("kind: bus", f"kind: {kind}")) == [
        (13, "interconnect.mesh", f"mesh is required for kind {kind}")
    ]


def test_mesh_and_attach_not_used_by_bus() -> None:
    assert problems_of(MESH.replace("kind: mesh", "kind: bus")) == [
        (17, "interconnect.mesh", "mesh is not used by kind bus"),
        (20, "interconnect.attach", "attach places endpoints on a mesh; kind bus has none"),
    ]


def test_attach_length_must_match_counts() -> None:
    text = MESH.replace("clusters: [[0, 0], [1, 0], [0, 1], [1, 1]]", "clusters: [[0, 0]]")
    text = text.replace("dram_ports: [[0, 0]]", "dram_ports: [[0, 0], [0, 1]]")
    assert problems_of(text) == [
        (21, "interconnect.attach.clusters", "has 1 entries but mac_clusters.count is 4"),
        (23, "interconnect.attach.dram_ports", "has 2 entries but dram.channels is 1"),
    ]


def test_coordinates_must_lie_inside_the_mesh() -> None:
    text = with_line(MESH, 22, "    sram_banks: [[0, -1], [1, 0], [0, 1], [1, 1]]")
    assert problems_of(text) == [
        (22, "interconnect.attach.sram_banks.0.1", "Input should be " + AT_LEAST_ZERO + " (got -1)")
    ]
    text = with_line(MESH, 21, "    clusters: [[0, 0], [2, 0], [0, 1], [1, 5]]")
    assert problems_of(text) == [
        (21, "interconnect.attach.clusters.1", "[2, 0] is outside the 2x2 mesh (x < 2, y < 2)"),
        (21, "interconnect.attach.clusters.3", "[1, 5] is outside the 2x2 mesh (x < 2, y < 2)"),
    ]


def test_coordinate_columns_located() -> None:
    text = MESH.replace("[1, 1]]\n    sram", "[1, 9]]\n    sram")
    with pytest.raises(ConfigError) as excinfo:
        load_arch_text(text, "a.yaml")
    assert [str(p) for p in excinfo.value.problems] == [
        "a.yaml:21:40: interconnect.attach.clusters.3: [1, 9] is outside the 2x2 mesh "
        "(x < 2, y < 2)"
    ]


def test_endpoint_coordinates_automatic_placement() -> None:
    text = MESH.split("  attach:")[0].replace("cols: 2\n    rows: 2", "cols: 3\n    rows: 4")
    text = with_line(with_line(text, 12, "  preset: hbm2e\n  channels: 3"), 3, "  count: 14")
    arch = load_arch_text(text)
    clusters, banks, ports = endpoint_coordinates(arch)
    grid = [(x, y) for y in range(4) for x in range(3)]
    assert clusters == [*grid, (0, 0), (1, 0)]
    assert banks == [(0, 0), (1, 0), (2, 0), (0, 1)]
    assert ports == [(0, 0), (0, 1), (0, 2)]


def test_endpoint_coordinates_needs_a_mesh() -> None:
    with pytest.raises(ValueError, match="kind bus has no mesh"):
        endpoint_coordinates(load_arch_text(BUS))


# --- models and schema ------------------------------------------------------------------


def test_models_are_frozen() -> None:
    arch = load_arch_text(BUS)
    with pytest.raises(pydantic.ValidationError):
        arch.name = "other"
    with pytest.raises(pydantic.ValidationError):
        arch.sram.banks = 2


def test_defaults_come_from_the_schema() -> None:
    arch = load_arch_text(BUS)
    assert arch.mac_clusters.mac_rate == {
        Precision.INT8: 1.0,
        Precision.INT16: 0.5,
        Precision.BF16: 0.5,
        Precision.FP16: 0.5,
        Precision.FP32: 0.25,
    }
    assert (arch.mac_clusters.dataflow, arch.mac_clusters.local_buffer_kib) == (Dataflow.WS, 256)
    assert (arch.sram.ports_per_bank, arch.sram.port_bytes_per_cycle) == (2, 64)
    assert (arch.dram.channels, arch.interconnect.hop_latency_cycles) == (1, 1)
    assert (arch.interconnect.mesh, arch.interconnect.attach, arch.description) == (None, None, "")


def test_json_schema_is_json_with_descriptions() -> None:
    schema = json.loads(json.dumps(arch_json_schema()))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "archsim architecture"
    models = [schema, *schema["$defs"].values()]
    assert {name for name in schema["$defs"]} >= {"MacClusterConfig", "DramConfig", "MeshConfig"}
    for model in models:
        if "properties" not in model:
            continue
        for name, prop in model["properties"].items():
            assert prop.get("description"), f"{model.get('title')}.{name} has no description"
    dram = schema["$defs"]["DramConfig"]
    assert "required" not in dram or "peak_gb_per_s" not in dram["required"]
    assert {"required": ["preset"]} in dram["anyOf"]
    assert schema["required"] == ["name", "mac_clusters", "sram", "dram", "interconnect"]
    assert ArchConfig.model_json_schema()["additionalProperties"] is False


def test_equality_and_hash_ignore_the_source_file() -> None:
    first = load_arch_text(BUS, "first.yaml")
    second = load_arch_text(BUS, "second.yaml")
    assert first == second
    assert first.sram == second.sram
    assert hash(first.sram) == hash(second.sram)
    assert first != load_arch_text(BUS.replace("banks: 4", "banks: 8"))
