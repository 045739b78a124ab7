"""Leaner SimPy events and processes for the hot path.

Each does what its SimPy 4.1 counterpart does and queues the same entries (time,
priority, the environment's next event id), so a run processes the same events in the
same order; they only take fewer steps: a timeout or a succeeding event pushes itself on
the queue without the ``schedule`` call, and a process's resume takes the common case
(the awaited event succeeded, the generator yields a pending event) directly.
"""

from __future__ import annotations

from collections.abc import Generator
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL, PENDING


class LeanEvent(simpy.Event):
    """A ``simpy.Event`` whose ``succeed`` queues it without the ``schedule`` call."""

    def succeed(self, value: Any = None) -> LeanEvent:
        """Trigger the event now with ``value`` (as ``simpy.Event.succeed``)."""
        if self._value is not PENDING:
            raise RuntimeError(f"{self} has already been triggered")
        self._ok = True
        self._value = value
        env = self.env
        heappush(env._queue, (env._now, NORMAL, next(env._eid), self))
        return self


class LeanTimeout(simpy.Timeout):
    """A ``simpy.Timeout`` that puts itself on the queue without the ``schedule`` call
    (the same entry: time, NORMAL priority, the next event id)."""

    def __init__(self, env: simpy.Environment, delay: int, value: Any = None) -> None:
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        self.env = env
        self.callbacks = []
        self._value = value
        self._delay = delay
        self._ok = True
        heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), self))


class LeanProcess(simpy.Process):
    """A ``simpy.Process`` whose resume takes the common case (the awaited event succeeded
    and the generator yields a pending event) with fewer steps; everything else goes the
    way SimPy 4.1 goes. The waits it registers and the events it schedules are the same.
    """

    def __init__(self, env: simpy.Environment, generator: Generator[simpy.Event, Any, Any]):
        super().__init__(env, generator)
        self._resume_callback = self._resume  # one bound method, registered at every wait

    def _resume(self, event: simpy.Event) -> None:
        """Send the event's value into the generator until it waits on a pending event."""
        env = self.env
        env._active_proc = self
        generator = self._generator
        while True:
            if not event._ok:  # a failed event: SimPy's own handling
                env._active_proc = None
                super()._resume(event)
                return
            try:
                event = generator.send(event._value)
            except StopIteration as stop:
                self._ok = True
                self._value = stop.args[0] if stop.args else None
                env.schedule(self)
                event = None  # type: ignore[assignment]
                break
            except BaseException as error:
                self._ok = False
                error.__traceback__ = error.__traceback__.tb_next  # type: ignore[union-attr]
                self._value = error
                env.schedule(self)
                event = None  # type: ignore[assignment]
                break
            try:
                callbacks = event.callbacks
            except AttributeError:
                env._active_proc = None
                raise RuntimeError(f"Invalid yield value {event!r} in {self.name}") from None
            if callbacks is not None:
                callbacks.append(self._resume_callback)
                break
        self._target = event
        env._active_proc = None


def process_now(event: simpy.Event, value: Any = None) -> None:
    """Succeed the pending ``event`` with ``value`` and run its callbacks at once, as the
    run loop does when it takes an event off the queue, but without a queue slot: for a
    caller that runs at the very slot the event would have taken (``DramChannel._retry``).
    """
    if event._value is not PENDING:
        raise RuntimeError(f"{event} has already been triggered")
    event._ok = True
    event._value = value
    callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
    for callback in callbacks:
        callback(event)
