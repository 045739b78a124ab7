"""The run's SimPy environment: the one place run state lives (seed, event count)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from heapq import heappop
from types import MethodType
from typing import Any, cast

import numpy as np
import simpy

from archsim.sim.events import LeanEvent, LeanProcess, LeanTimeout

_UNCHUNKED = 1 << 20  # events between counter updates when nobody asks for chunks


class PicosecondEnvironment(simpy.Environment):
    """A SimPy environment whose clock is int picoseconds: the environment the hardware
    models (``archsim.hw``) and the op runtime run in, reading ``_now`` directly.

    It adds nothing to ``simpy.Environment`` but the type of the clock: SimPy types it
    ``int | float``, and it stays an int as long as every delay is an int of ps, as every
    delay archsim schedules is. Plain ``simpy.Environment`` instances (e.g. in tests)
    work the same at run time.
    """

    _now: int  # SimPy's SimTime, narrowed: int picoseconds


class SimEnvironment(PicosecondEnvironment):
    """A SimPy environment that owns the run's seed and counts the events it processes."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = seed
        self.seed_sequence = np.random.SeedSequence(seed)
        self.events_processed = 0
        self.timeout = MethodType(LeanTimeout, self)  # type: ignore[method-assign]
        self.event = MethodType(LeanEvent, self)  # type: ignore[method-assign]

    def process(self, generator: Generator[simpy.Event, Any, Any]) -> simpy.Process:
        """Start ``generator`` as a ``LeanProcess``."""
        return LeanProcess(self, generator)

    def run_counting(self, on_chunk: Callable[[], None] | None = None, chunk: int = 0) -> None:
        """Run until no event is left (as ``run()`` does), counting processed events; with
        ``on_chunk``, call it after every ``chunk`` events (a progress bar).

        The loop body is ``simpy.Environment.step`` (SimPy 4.1) written out, which saves a
        call per event; a run has no ``until`` event, so ``StopSimulation`` never occurs.
        """
        if on_chunk is None or chunk < 1:
            chunk = _UNCHUNKED
        # SimPy types the queue's times SimTime (int | float); archsim's are int ps
        queue = cast("list[tuple[int, int, int, simpy.Event]]", self._queue)
        stepped = 0  # events processed in the current chunk
        try:
            while queue:
                for stepped in range(chunk):  # noqa: B007 (counted when the run stops)
                    if not queue:
                        return
                    self._now, _, _, event = heappop(queue)
                    # SimPy types callbacks a list; a processed event's are None (as in
                    # SimPy's own step, which ignores the same error)
                    callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
                    for callback in callbacks:
                        callback(event)
                    if not event._ok and not hasattr(event, "_defused"):
                        raise _failure(event)
                stepped = 0
                self.events_processed += chunk
                if on_chunk is not None:
                    on_chunk()
        finally:
            self.events_processed += stepped


def _failure(event: simpy.Event) -> BaseException:
    """The exception an undefused failed event crashes the run with (as SimPy raises it:
    a copy of the event's exception, caused by the original)."""
    value: BaseException = event._value  # a failed event's value is its exception
    exc = type(value)(*value.args)
    exc.__cause__ = value
    return exc
