"""Shared fixtures: shipped configs and small arch variants."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from archsim.config import ArchConfig, load_arch

ROOT = Path(__file__).resolve().parents[1]
ARCH_DIR = ROOT / "arch"
WORKLOAD_DIR = ROOT / "workloads"


@pytest.fixture
def arch_variant() -> Callable[..., ArchConfig]:
    """Load a shipped arch with --set style overrides: arch_variant("edge_bus", "sram.banks=4")."""

    def load(name: str, *overrides: str) -> ArchConfig:
        return load_arch(ARCH_DIR / f"{name}.yaml", list(overrides))

    return load
