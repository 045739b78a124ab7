"""A lean FIFO resource for the hot path.

Same semantics as ``simpy.Resource`` (capacity slots, first come first served, a waiter
is granted at the moment a slot is released), but an uncontended request is granted
immediately without creating or scheduling an event. Most SRAM-port, link and DRAM
requests are uncontended, and skipping their events is the largest single saving in a run.

Usage inside a process::

    waiting = resource.acquire()
    if waiting is not None:
        yield waiting
    ...
    resource.release()
"""

from __future__ import annotations

from collections import deque

import simpy


class FifoResource:
    """Counted slots with FIFO hand-over."""

    __slots__ = ("env", "capacity", "free", "waiters")

    def __init__(self, env: simpy.Environment, capacity: int = 1) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.env = env
        self.capacity = capacity
        self.free = capacity
        self.waiters: deque[simpy.Event] = deque()

    def acquire(self) -> simpy.Event | None:
        """Take a slot now (returns None) or get an event that fires when one is handed over."""
        if self.free and not self.waiters:
            self.free -= 1
            return None
        event = simpy.Event(self.env)
        self.waiters.append(event)
        return event

    def release(self) -> None:
        """Give a slot back, handing it to the longest waiter if there is one."""
        if self.waiters:
            self.waiters.popleft().succeed()
        else:
            self.free += 1

    @property
    def in_use(self) -> int:
        """Slots currently held."""
        return self.capacity - self.free
