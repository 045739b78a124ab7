"""Shared fixtures: shipped configs and small arch variants."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import archsim
from archsim.cli.main import ArchsimGroup
from archsim.cli.trace import export, report
from archsim.config import ArchConfig, load_arch
from archsim.trace import Trace, open_trace

ROOT = Path(__file__).resolve().parents[1]
ARCH_DIR = ROOT / "arch"
WORKLOAD_DIR = ROOT / "workloads"


@pytest.fixture
def arch_variant() -> Callable[..., ArchConfig]:
    """Load a shipped arch with --set style overrides: arch_variant("edge_bus", "sram.banks=4")."""

    def load(name: str, *overrides: str) -> ArchConfig:
        return load_arch(ARCH_DIR / f"{name}.yaml", list(overrides))

    return load


def invoke_trace_command(*args: str | Path) -> Result:
    """Run `archsim report` / `archsim export` through the CLI's error handling."""
    group = ArchsimGroup(commands=[report, export])
    return CliRunner().invoke(group, [str(arg) for arg in args])


def tiny_trace(folder: Path, arch: str) -> Trace:
    """tiny_cnn simulated on a shipped arch, traced into ``folder``, opened."""
    path = folder / f"tiny-{arch}.h5"
    archsim.simulate(ARCH_DIR / f"{arch}.yaml", WORKLOAD_DIR / "tiny_cnn.yaml", trace_path=path)
    return open_trace(path)
