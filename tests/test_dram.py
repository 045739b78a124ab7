"""DRAM channel model: presets, derived latencies, bank timing and ``archsim dram``."""

from __future__ import annotations

import json
from collections.abc import Generator
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import simpy
from click.testing import CliRunner, Result

from archsim.analysis.dram_char import Pattern, characterise, run_pattern, unloaded_latencies
from archsim.cli.main import cli
from archsim.config import DramConfig, load_arch, load_arch_text
from archsim.config.dram_presets import DRAM_PRESETS
from archsim.errors import ConfigError
from archsim.hw.component import Component
from archsim.hw.dram import DramChannel
from archsim.sim.runtime import TransferTiming
from archsim.trace import NullRecorder
from archsim.units import PS_PER_S, ceil_div, ns_to_ps

EDGE_BUS = Path(__file__).resolve().parents[1] / "arch" / "edge_bus.yaml"
PRESETS = list(DRAM_PRESETS)


def _dram(*overrides: str) -> DramConfig:
    return load_arch(EDGE_BUS, list(overrides)).dram


def _channel(cfg: DramConfig) -> tuple[simpy.Environment, DramChannel]:
    env = simpy.Environment()
    rng = np.random.default_rng(0)
    return env, DramChannel(Component(None, "dram"), "ch0", cfg, env, NullRecorder(), rng)


# -- characterisation of every preset -----------------------------------------------------


@pytest.mark.parametrize("preset", PRESETS)
def test_streaming_is_near_peak_and_refresh_costs_a_few_percent(preset: str) -> None:
    result = characterise(_dram(f"dram.preset={preset}"), Pattern.STREAM, 4096)
    assert 0.85 <= result.efficiency <= 0.97
    assert 1 <= result.refresh_cost_percent <= 10


@pytest.mark.parametrize("preset", PRESETS)
def test_random_64_byte_reads_are_activate_bound(preset: str) -> None:
    result = characterise(_dram(f"dram.preset={preset}"), Pattern.RANDOM, 64, requests=8000)
    assert 0.2 <= result.efficiency <= 0.6
    assert 1 <= result.refresh_cost_percent <= 10
    assert result.refreshed.activates >= 0.99 * 8000  # nearly every random read opens a row


@pytest.mark.parametrize("preset", PRESETS)
def test_unloaded_latency_of_one_request_is_the_closed_form(preset: str) -> None:
    cfg = _dram(f"dram.preset={preset}")
    burst_ps = ceil_div(cfg.burst_bytes * PS_PER_S, round(cfg.peak_gb_per_s * 1e9))
    row_hit_ps = ns_to_ps(cfg.tcl_ns) + burst_ps
    row_miss_ps = ns_to_ps(cfg.trp_ns) + ns_to_ps(cfg.trcd_ns) + row_hit_ps
    hit, miss = unloaded_latencies(cfg)
    assert (hit.closed_form_ps, hit.measured_ps) == (row_hit_ps, row_hit_ps)
    assert (miss.closed_form_ps, miss.measured_ps) == (row_miss_ps, row_miss_ps)
    assert cfg.row_hit_latency_ns == pytest.approx(row_hit_ps / 1000, abs=1e-3)
    assert cfg.row_miss_latency_ns == pytest.approx(row_miss_ps / 1000, abs=1e-3)


def test_same_seed_same_result_and_the_seed_sets_the_refresh_phase() -> None:
    cfg = _dram()
    runs = [run_pattern(cfg, Pattern.RANDOM, 64, 3000, seed) for seed in (5, 5, 6)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


# -- timing of the channel ----------------------------------------------------------------


def test_a_stream_rotates_over_the_banks_and_continues_in_open_rows() -> None:
    cfg = _dram("dram.preset=ddr4-3200", "dram.trfc_ns=0")
    env, channel = _channel(cfg)
    env.process(channel.access(4096, 3, False, TransferTiming(0), 0))
    env.run()
    # 16 granules of 256 B: one in each of the 16 banks, all in row 0
    assert channel.open_row == [0] * 16 and channel.activates == 16
    start = env.now
    env.process(channel.access(4096, 3, False, TransferTiming(start), 0))
    env.run()
    assert channel.activates == 16  # the next piece hits the open rows
    assert env.now - start == 64 * channel.timing.burst + channel.timing.tcl


def test_activates_keep_trrd_and_tfaw() -> None:
    cfg = _dram("dram.preset=gddr6-14", "dram.trfc_ns=0")
    env, channel = _channel(cfg)
    env.process(channel.access_at(0, 8192, False, TransferTiming(0), 0))
    env.run()
    acts, timing = channel.acts, channel.timing
    assert len(acts) == 16
    assert min(b - a for a, b in zip(acts, acts[1:], strict=False)) >= timing.trrd
    assert min(e - a for a, e in zip(acts, acts[4:], strict=False)) >= timing.tfaw


def test_the_next_row_of_a_bank_is_a_row_miss() -> None:
    cfg = _dram("dram.trfc_ns=0")
    env, channel = _channel(cfg)
    env.process(channel.access_at(0, 64, False, TransferTiming(0), 0))
    env.run(until=1_000_000)
    timing = TransferTiming(1_000_000)
    env.process(channel.access_at(cfg.banks * cfg.row_bytes, 64, False, timing, 0))
    env.run()
    assert env.now - 1_000_000 == timing.dram == channel.timing.row_miss
    assert channel.open_row[0] == 1


# -- configuration ------------------------------------------------------------------------


def test_explicit_keys_override_the_preset() -> None:
    cfg = _dram(
        "dram.preset=ddr4-3200", "dram.trcd_ns=20", "dram.banks=8", "dram.interleave_bytes=512"
    )
    assert (cfg.trcd_ns, cfg.banks, cfg.bank_groups, cfg.interleave_bytes) == (20.0, 8, 4, 512)
    assert (cfg.tcl_ns, cfg.trp_ns, cfg.peak_gb_per_s) == (13.75, 13.75, 25.6)
    assert cfg.row_miss_latency_ns == pytest.approx(13.75 + 20 + 13.75 + 2.5)


def test_invalid_timing_is_a_located_config_error() -> None:
    keys = "  bank_groups: 3\n  trfc_ns: 4000\n  interleave_bytes: 96\n"
    text = EDGE_BUS.read_text().replace("  preset: lpddr4x-4266", f"  preset: lpddr4x-4266\n{keys}")
    lines = text.splitlines()
    line_of = {key: lines.index(f"  {key}") + 1 for key in keys.strip().split("\n  ")}
    with pytest.raises(ConfigError) as excinfo:
        load_arch_text(text, "a.yaml")
    assert [(p.file, p.line, p.path, p.message) for p in excinfo.value.problems] == [
        ("a.yaml", line_of["bank_groups: 3"], "dram.bank_groups", "must divide banks (8)"),
        ("a.yaml", line_of["trfc_ns: 4000"], "dram.trfc_ns", "must be less than trefi_ns (3904)"),
        (
            "a.yaml",
            line_of["interleave_bytes: 96"],
            "dram.interleave_bytes",
            "must be a multiple of burst_bytes (64) that divides row_bytes (4096)",
        ),
    ]


def test_refresh_plus_reopen_must_fit_the_refresh_interval() -> None:
    with pytest.raises(ConfigError, match="plus trcd_ns"):
        _dram("dram.trfc_ns=3900", "dram.trcd_ns=18")


# -- archsim dram -------------------------------------------------------------------------


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["dram", str(EDGE_BUS), *args])


def test_cli_prints_bandwidth_refresh_cost_and_latencies() -> None:
    result = _invoke("--pattern", "stream", "--size", "4096", "--requests", "400")
    assert result.exit_code == 0, result.output
    hit, miss = unloaded_latencies(_dram())
    for text in ("stream pattern: 400 reads of 4096 B", "17.064 GB/s peak", "refresh cost"):
        assert text in result.output
    assert f"{hit.closed_form_ps / 1000:.3f} ns" in result.output
    assert f"{miss.measured_ps / 1000:.3f} ns" in result.output


def test_cli_json_and_overrides() -> None:
    result = _invoke(
        "--pattern", "random", "--size", "64", "--requests", "2000", "--seed", "3",
        "--set", "dram.preset=hbm2e", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["preset"], data["pattern"], data["requests"], data["seed"]) == (
        "hbm2e",
        "random",
        2000,
        3,
    )
    assert data["efficiency"] == pytest.approx(data["achieved_gb_per_s"] / 51.2)
    assert 0 < data["refresh_cost_percent"] < 100
    for latency in data["latency_ns"].values():
        assert latency["closed_form"] == latency["measured"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--pattern", "zigzag", "--size", "64"), "'zigzag' is not one of 'stream', 'random'"),
        (("--pattern", "stream", "--size", "0"), "Invalid value for '--size'"),
        (("--pattern", "stream", "--size", "4k"), "'4k' is not a valid integer"),
        (("--pattern", "stream", "--size", "64", "--set", "batch=2"), "takes no workload"),
        (
            ("--pattern", "stream", "--size", "64", "--set", "dram.bank_groups=3"),
            "error: --set: dram.bank_groups: must divide banks (8)",
        ),
    ],
)
def test_cli_bad_input_exits_2_without_traceback(args: tuple[str, ...], message: str) -> None:
    result = _invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def _feasible_activate(acts: list[int], t: int, trrd: int, tfaw: int) -> bool:
    """Whether an activate at t keeps tRRD to every booked one and at most four activates
    in any tFAW window (brute force over the sorted times)."""
    if any(abs(t - a) < trrd for a in acts):
        return False
    times = sorted([*acts, t])
    return all(times[k + 4] - times[k] >= tfaw for k in range(len(times) - 4))


def test_activates_are_booked_at_the_earliest_time_that_keeps_trrd_and_tfaw() -> None:
    cfg = _dram("dram.preset=gddr6-14", "dram.trfc_ns=0")
    rng = np.random.default_rng(3)
    for _ in range(20):
        env, channel = _channel(cfg)
        trrd, tfaw = channel.timing.trrd, channel.timing.tfaw
        for _ in range(60):  # mostly later and later, sometimes back among the booked ones
            t = int(rng.integers(0, 40 * tfaw)) if rng.random() < 0.3 else None
            if t is None:
                t = (channel.acts[-1] if channel.acts else 0) + int(rng.integers(0, 2 * trrd))
            acts = list(channel.acts)
            # the earliest feasible time lies at t or where a constraint of a booked one ends
            candidates = sorted({t} | {a + d for a in acts for d in (trrd, tfaw) if a + d > t})
            expected = next(c for c in candidates if _feasible_activate(acts, c, trrd, tfaw))
            assert channel._book_activate(t) == expected
            assert channel.acts == sorted([*acts, expected])


# -- waiting for a bank: one retry event for all waiters ----------------------------------


class _WakeEachWaiter(DramChannel):
    """The channel as it was: every request waiting for a bank is retried at its own
    event (consecutive queue slots), instead of all of them at one."""

    def _wake(self, bank: int) -> None:
        waiters = self.waiters[bank]
        while waiters:
            retry = self.env.event()
            retry.callbacks.append(partial(self._retry, bank, [waiters.popleft()]))
            retry.succeed()


def _bank_conflict_run(channel_class: type[DramChannel], seed: int) -> tuple[list, int]:
    """Requests of random size to rows of few banks, issued from several processes at
    random gaps: each request's end and DRAM phases, and the events processed."""
    from archsim.sim.environment import SimEnvironment

    cfg = _dram("dram.banks=4", "dram.bank_groups=2")
    env = SimEnvironment(0)
    channel = channel_class(
        Component(None, "dram"), "ch0", cfg, env, NullRecorder(), np.random.default_rng(0)
    )
    rng = np.random.default_rng(seed)
    sweep = cfg.banks * cfg.row_bytes
    done: list[tuple[int, int, int, int, int]] = []

    def requester(index: int) -> Generator[simpy.Event, None, None]:
        for n in range(40):
            yield env.timeout(int(rng.integers(0, 40_000)))
            row = int(rng.integers(0, 6))  # few rows: the banks are contended
            address = row * sweep + int(rng.integers(0, sweep // 64)) * 64
            timing = TransferTiming(env._now)
            yield from channel.access_at(address, int(rng.integers(1, 8)) * 512, False, timing, 0)
            done.append((index, n, env._now, timing.dram_wait, timing.dram))

    for index in range(6):
        env.process(requester(index))
    env.run_counting()
    return sorted(done), env.events_processed


def test_waiters_retried_at_one_event_end_as_with_an_event_each() -> None:
    saved = 0
    for seed in range(12):
        batched, batched_events = _bank_conflict_run(DramChannel, seed)
        each, each_events = _bank_conflict_run(_WakeEachWaiter, seed)
        assert batched == each, f"seed {seed}"
        assert len(batched) == 6 * 40
        assert batched_events <= each_events
        saved += each_events - batched_events
    assert saved > 0  # requests did wait for a bank together
