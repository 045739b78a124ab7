"""The places a new interconnect kind or IR op is registered agree with each other
(docs/ARCHITECTURE.md lists the steps)."""

from __future__ import annotations

import typing
from pathlib import Path

import simpy

from archsim.config import load_arch
from archsim.config.workload import LayerConfig
from archsim.domain import InterconnectKind
from archsim.hw.component import Component
from archsim.hw.interconnect.base import InterconnectSite
from archsim.hw.interconnect.registry import INTERCONNECTS, build_interconnect
from archsim.trace import NullRecorder
from archsim.workload import OpKind

ROOT = Path(__file__).resolve().parents[1]


def test_every_interconnect_kind_has_exactly_its_class() -> None:
    assert list(INTERCONNECTS) == list(InterconnectKind)
    assert all(cls.kind is kind for kind, cls in INTERCONNECTS.items())


def test_the_registry_builds_the_kind_the_config_names() -> None:
    arch = load_arch(ROOT / "arch" / "edge_xbar.yaml")
    site = InterconnectSite(
        Component(None, "chip"), arch.interconnect, simpy.Environment(), NullRecorder(), ()
    )
    built = build_interconnect(site)
    assert type(built) is INTERCONNECTS[InterconnectKind.CROSSBAR]
    assert built.path == "chip.xbar"


def test_every_layer_config_op_is_an_ir_op_and_back() -> None:
    (union, *_) = typing.get_args(LayerConfig)
    config_ops = [
        typing.get_args(cls.model_fields["op"].annotation)[0] for cls in typing.get_args(union)
    ]
    assert sorted(config_ops) == sorted(op.value for op in OpKind)
