"""The lean events and processes (archsim.sim.events) behave as SimPy's own, in the same
order: a randomized network of processes logs the same steps on SimEnvironment (lean) and
on a plain simpy.Environment (SimPy's classes)."""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

import pytest
import simpy

from archsim.sim.environment import SimEnvironment
from archsim.sim.events import LeanEvent, LeanProcess, LeanTimeout, process_now
from archsim.sim.resources import FifoResource

Log = list[tuple[int, int, str]]


def _worker(
    env: simpy.Environment,
    me: int,
    rng: random.Random,
    port: FifoResource,
    signals: list[simpy.Event],
    log: Log,
    event_class: type[simpy.Event],
) -> Generator[simpy.Event, Any, int]:
    """Timeouts (zero-length ones too), a contended resource, signals other workers give
    and take, and events already processed when yielded."""
    for step in range(12):
        choice = rng.randrange(5)
        if choice == 0:
            yield env.timeout(rng.choice((0, 1, 2, 5)))
            log.append((int(env.now), me, f"timeout {step}"))
        elif choice == 1:
            waiting = port.acquire()
            if waiting is not None:
                yield waiting
            log.append((int(env.now), me, f"port {step}"))
            yield env.timeout(rng.randrange(1, 4))
            port.release()
        elif choice == 2:
            signal = signals[rng.randrange(len(signals))]
            if signal.triggered:
                signals[signals.index(signal)] = event_class(env)
            else:
                signal.succeed(me)
            log.append((int(env.now), me, f"signal {step}"))
        elif choice == 3:
            signal = signals[rng.randrange(len(signals))]
            value = yield signal | env.timeout(3)
            log.append((int(env.now), me, f"woken {step} {sorted(value.values(), key=str)}"))
        else:
            done = env.timeout(0)
            yield env.timeout(1)
            value = yield done  # processed already: the process goes on at once
            log.append((int(env.now), me, f"late {step} {value}"))
    return me


def _network(env: simpy.Environment, seed: int, event_class: type[simpy.Event]) -> Log:
    rng = random.Random(seed)
    log: Log = []
    port = FifoResource(env, 2)
    signals = [event_class(env) for _ in range(3)]
    workers = [
        env.process(_worker(env, me, random.Random(rng.random()), port, signals, log, event_class))
        for me in range(8)
    ]

    def collector() -> Generator[simpy.Event, Any, None]:
        values = yield env.all_of(workers)
        log.append((int(env.now), -1, f"all done {sorted(values.values())}"))

    env.process(collector())
    env.run()
    return log


@pytest.mark.parametrize("seed", range(6))
def test_lean_classes_run_a_network_as_simpy_does(seed: int) -> None:
    lean_env = SimEnvironment(0)
    lean = _network(lean_env, seed, LeanEvent)
    simpy_env = simpy.Environment()
    reference = _network(simpy_env, seed, simpy.Event)
    assert lean == reference
    assert len(lean) > 40
    assert isinstance(lean_env.process(iter_nothing()), LeanProcess)
    assert isinstance(lean_env.timeout(1), LeanTimeout)


def iter_nothing() -> Generator[simpy.Event, Any, None]:
    return
    yield  # a generator that ends at once


def test_a_failed_event_is_thrown_into_the_process_and_can_be_caught() -> None:
    env = SimEnvironment(0)
    caught: list[str] = []
    failing = LeanEvent(env)

    def waiter() -> Generator[simpy.Event, Any, str]:
        try:
            yield failing
        except ValueError as error:
            caught.append(str(error))
        yield env.timeout(2)
        return "after"

    process = env.process(waiter())
    failing.fail(ValueError("broken"))
    env.run_counting()
    assert caught == ["broken"]
    assert process.value == "after" and env.now == 2


def test_an_uncaught_failure_ends_the_run_with_it() -> None:
    env = SimEnvironment(0)

    def crasher() -> Generator[simpy.Event, Any, None]:
        yield env.timeout(1)
        raise KeyError("lost")

    env.process(crasher())
    with pytest.raises(KeyError, match="lost"):
        env.run_counting()


def test_yielding_something_that_is_not_an_event_is_an_error() -> None:
    env = SimEnvironment(0)

    def wrong() -> Generator[Any, Any, None]:
        yield 5

    env.process(wrong())
    with pytest.raises(RuntimeError, match="Invalid yield value"):
        env.run_counting()


def test_lean_events_refuse_a_second_trigger_and_a_negative_delay() -> None:
    env = SimEnvironment(0)
    event = LeanEvent(env).succeed(1)
    with pytest.raises(RuntimeError, match="already been triggered"):
        event.succeed(2)
    with pytest.raises(ValueError, match="Negative delay"):
        env.timeout(-1)


def test_process_now_resumes_the_waiter_at_once_without_a_queue_slot() -> None:
    env = SimEnvironment(0)
    event = env.event()
    got: list[tuple[int, Any]] = []

    def waiter() -> Generator[simpy.Event, Any, None]:
        value = yield event
        got.append((env._now, value))

    def trigger() -> Generator[simpy.Event, Any, None]:
        yield env.timeout(5)
        process_now(event, "value")
        assert got == [(5, "value")]  # resumed inside this step
        assert all(entry[3] is not event for entry in env._queue)  # it took no queue slot
        with pytest.raises(RuntimeError, match="already been triggered"):
            process_now(event)

    env.process(waiter())
    env.process(trigger())
    env.run_counting()
    assert event.processed and got == [(5, "value")]
