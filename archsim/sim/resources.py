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
from typing import Any

import simpy

from archsim.domain import Arbitration
from archsim.sim.events import LeanEvent


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
        event = LeanEvent(self.env)
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


class ArbitratedResource(FifoResource):
    """A FifoResource whose hand-over follows an arbitration policy over requester keys.

    Requesters name themselves with a sortable key (e.g. an Endpoint). ``fifo`` keeps
    arrival order; ``round_robin`` serves the waiting requester whose key follows the last
    one granted (cyclically); ``fixed_priority`` serves the smallest key.
    """

    __slots__ = ("policy", "keys", "last_key")

    def __init__(self, env: simpy.Environment, capacity: int, policy: Arbitration) -> None:
        super().__init__(env, capacity)
        self.policy = policy
        self.keys: deque[Any] = deque()
        self.last_key: Any = None

    def acquire_as(self, key: Any) -> simpy.Event | None:
        """Take a slot now (None) or wait for one, as requester ``key``."""
        if self.free and not self.waiters:
            self.free -= 1
            self.last_key = key
            return None
        event = LeanEvent(self.env)
        self.waiters.append(event)
        self.keys.append(key)
        return event

    def release(self) -> None:
        """Give a slot back, handing it to the waiter the policy picks."""
        waiters = self.waiters
        if not waiters:
            self.free += 1
            return
        if len(waiters) == 1 or self.policy is Arbitration.FIFO:  # what _pick would say
            self.last_key = self.keys.popleft()
            waiters.popleft().succeed()
            return
        index = self._pick()
        key = self.keys[index]
        event = self.waiters[index]
        del self.keys[index]
        del self.waiters[index]
        self.last_key = key
        event.succeed()

    def _pick(self) -> int:
        if self.policy is Arbitration.FIFO or len(self.keys) == 1:
            return 0
        if self.policy is Arbitration.FIXED_PRIORITY:
            return min(range(len(self.keys)), key=lambda i: self.keys[i])
        # round robin: the smallest key after the last granted one, else the smallest key
        last = self.last_key
        later = [] if last is None else [i for i, key in enumerate(self.keys) if key > last]
        candidates = later or range(len(self.keys))
        return min(candidates, key=lambda i: (self.keys[i], i))
