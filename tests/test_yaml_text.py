"""YAML written and read through libyaml (``archsim.yaml_text``) is what PyYAML's own safe
dumper and loader write and read: the same text, the same data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from archsim import yaml_text
from archsim.config import load_arch, load_workload
from archsim.trace import open_trace
from archsim.yaml_text import safe_dump, safe_load

REPO = Path(__file__).resolve().parents[1]
ARCHS = sorted((REPO / "arch").glob("*.yaml"))
WORKLOADS = sorted((REPO / "workloads").glob("*.yaml"))

TRICKY = {
    "name": "conv ü 日本",
    "words": ["yes", "No", "null", "~", "1e5", "012", "1.10", "2026-12-06", "*a", "&a", "- a"],
    "spaces": [" lead", "trail ", "a\nb\n", "a\tb", "", "a: b", "a #b", 'it\'s "q"'],
    "control": "\x07",
    "long": "x" * 200 + " y" * 50,
    "nested": [[], {}, [1, [2, {"k": None}]]],
    "numbers": [2**70, -5, 1e20, 0.1, float("inf"), float("-inf"), True, None],
}


def test_libyaml_is_what_runs_here() -> None:
    assert yaml_text.HAS_LIBYAML
    assert yaml_text.SAFE_DUMPER is yaml.CSafeDumper


def test_tricky_data_is_written_as_pyyaml_writes_it_and_read_back() -> None:
    text = safe_dump(TRICKY)
    assert text == yaml.safe_dump(TRICKY, sort_keys=False)
    assert list(safe_load(text)) == list(TRICKY)  # keys in their order
    assert safe_load(text) == TRICKY == yaml.safe_load(text)


@pytest.mark.parametrize("path", [*ARCHS, *WORKLOADS], ids=lambda p: p.name)
def test_every_shipped_config_is_written_as_pyyaml_writes_it(path: Path) -> None:
    load = load_arch if path.parent.name == "arch" else load_workload
    data = load(path).model_dump(mode="json")
    text = safe_dump(data)
    assert text == yaml.safe_dump(data, sort_keys=False)
    assert safe_load(text) == data


def test_a_trace_keeps_its_run_configuration(tmp_path: Path) -> None:
    from archsim import simulate

    path = tmp_path / "t.h5"
    simulate(REPO / "arch" / "edge_bus.yaml", REPO / "workloads" / "tiny_cnn.yaml", trace_path=path)
    config = open_trace(path).config
    assert config["arch"] == load_arch(REPO / "arch" / "edge_bus.yaml").model_dump(mode="json")
    assert config["workload"]["name"] == "tiny_cnn"
    assert config["run"]["seed"] == 0
