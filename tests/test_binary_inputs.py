"""Binary, non-UTF-8 and empty files given where YAML is expected: one located error, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EDGE_BUS = ROOT / "arch" / "edge_bus.yaml"
TINY_CNN = ROOT / "workloads" / "tiny_cnn.yaml"

BAD_FILES = {
    "nul_bytes": (b"\x00\x00\x01\x02payload", "1:1: not a YAML text file: binary data"),
    "not_utf8": (b"\x89PNG\r\n\x1a\n\xff\xfe", "1:1: not a YAML text file: not UTF-8"),
    "compressed": (b"x\x9c\xcbH\xcd\xc9\xc9\x07\x00", "1:2: not a YAML text file: not UTF-8"),
    "control": (b"name: a\n\x07\n", "2:1: not a YAML text file: a control character"),
    "empty": (b"", "1:1: the file is empty"),
}


def _archsim(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The installed CLI in a subprocess, so a traceback would reach stderr."""
    command = [sys.executable, "-m", "archsim", *(str(arg) for arg in args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
@pytest.mark.parametrize("role", ["arch", "workload", "sweep"])
def test_bad_yaml_file_is_one_located_error(tmp_path: Path, kind: str, role: str) -> None:
    data, expected = BAD_FILES[kind]
    bad = tmp_path / f"{kind}.yaml"
    bad.write_bytes(data)
    args = {
        "arch": ("run", bad, TINY_CNN, "--no-trace"),
        "workload": ("run", EDGE_BUS, bad, "--no-trace"),
        "sweep": ("sweep", bad, "--out", tmp_path / "out"),
    }[role]
    result = _archsim(*args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: {bad}:{expected}" + lines[0].split(expected, 1)[1]]
    assert not (tmp_path / "out").exists()
