"""The run's progress bar on stderr: what it shows, when it is drawn, and that it changes
nothing simulated."""

from __future__ import annotations

import io
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import archsim
import archsim.sim.progress as progress
from archsim.cli.main import cli
from archsim.config import load_arch
from archsim.config.scenario import ScenarioConfig
from archsim.sim.environment import SimEnvironment
from archsim.sim.progress import RunProgress, wants_bar

REPO = Path(__file__).resolve().parents[1]


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def eager_bar(monkeypatch: pytest.MonkeyPatch) -> _Terminal:
    """Draw bars at once, redraw them at every update (however fast the run) and update
    them every 64 events; the test redirects stderr to the terminal returned (inside the
    test: pytest sets its own stderr after the fixtures)."""
    monkeypatch.setattr(progress, "DELAY_S", 0.0)
    monkeypatch.setattr(progress, "REFRESH_S", 0.0)
    monkeypatch.setattr("archsim.sim.engine.CHUNK_EVENTS", 64)
    return _Terminal()


def _summary(result: archsim.SimulationResult) -> dict[str, Any]:
    return {key: value for key, value in result.summary.items() if key != "wall_s"}


def test_bar_shows_ops_simulated_time_and_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "DELAY_S", 0.0)
    stream = io.StringIO()
    bar = RunProgress("simulate", 2000, 8, stream=stream)
    bar.update(500, 3_250_000_000, 2)
    bar._bar.refresh()
    text = stream.getvalue()
    bar.close()
    assert "simulate" in text
    assert "500/2.00k" in text
    assert "sim=3.250 ms" in text
    assert "frames=2/8" in text


def test_bar_only_when_asked_and_on_a_terminal() -> None:
    assert wants_bar(True, _Terminal())
    assert not wants_bar(False, _Terminal())
    assert not wants_bar(True, io.StringIO())


def test_chunked_run_counts_every_event() -> None:
    def run(chunked: bool) -> tuple[int, int]:
        env = SimEnvironment(0)
        ticks: list[int] = []

        def ticker() -> Any:
            for _ in range(1000):
                yield env.timeout(3)

        env.process(ticker())
        if chunked:
            env.run_counting(lambda: ticks.append(env.events_processed), 64)
        else:
            env.run_counting()
        return env.events_processed, len(ticks)

    plain, _ = run(False)
    chunked, ticks = run(True)
    assert chunked == plain == 1002  # the process start, 1000 timeouts, its end
    assert ticks == plain // 64


@pytest.mark.parametrize(
    ("arch", "overrides", "planning_bar"),
    [
        ("edge_bus", [], False),
        ("edge_det", [], False),  # DRAM planned exact: the run is its own planning pass
        ("edge_det", ["interconnect.plan_dram=average"], True),
    ],
)
def test_run_with_bar_simulates_the_same(
    eager_bar: _Terminal, arch: str, overrides: list[str], planning_bar: bool
) -> None:
    args = (
        load_arch(REPO / "arch" / f"{arch}.yaml", overrides),
        REPO / "workloads" / "tiny_cnn.yaml",
    )
    with redirect_stderr(eager_bar):
        quiet = archsim.simulate(*args, trace=False)
        assert eager_bar.getvalue() == ""
        shown = archsim.simulate(*args, trace=False, progress=True)
    text = eager_bar.getvalue()
    assert "simulate" in text and "op/s" in text
    assert ("plan:" in text) == planning_bar  # a separate planning pass has its own bar
    assert _summary(shown) == _summary(quiet)


def test_scenario_bar_counts_frames(eager_bar: _Terminal) -> None:
    with redirect_stderr(eager_bar):
        archsim.simulate(
            REPO / "arch" / "edge_bus.yaml",
            REPO / "workloads" / "tiny_cnn.yaml",
            trace=False,
            progress=True,
            scenario=ScenarioConfig(kind="stream", frames=4, fps=2000),
        )
    assert "frames=" in eager_bar.getvalue()
    assert "/4" in eager_bar.getvalue()


@pytest.mark.parametrize(
    ("flags", "expected"), [((), True), (("--quiet",), False), (("--json",), False)]
)
def test_cli_asks_for_a_bar_unless_quiet_or_json(
    monkeypatch: pytest.MonkeyPatch, flags: tuple[str, ...], expected: bool
) -> None:
    asked: list[bool] = []
    real = archsim.simulate

    def spy(*args: Any, **kwargs: Any) -> archsim.SimulationResult:
        asked.append(kwargs["progress"])
        return real(*args, **kwargs)

    monkeypatch.setattr("archsim.cli.run.simulate", spy)
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(REPO / "arch" / "edge_bus.yaml"),
            str(REPO / "workloads" / "tiny_cnn.yaml"),
            "--no-trace",
            *flags,
        ],
    )
    assert result.exit_code == 0, result.output
    assert asked == [expected]
