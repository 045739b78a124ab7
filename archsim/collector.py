"""Pausing Python's cyclic garbage collector while a program is built or run.

Building a program allocates hundreds of thousands of small, acyclic, long-lived objects
(ops, their dependency tuples, tile records), and a run allocates an event, a timing
record and phase tuples per operation. Each allocation burst makes the collector traverse
every live object again, which costs about a third of a build at megapixel inputs and a
sixth of a run, and frees nothing: reference counting alone reclaims what they drop. The
pause is process-wide, so it is reference-counted under a lock: nested or concurrent
pauses (threads of one process) restore the collector's state only when the last ends.

A process that archsim owns (the ``archsim`` command) also keeps the collector off while
it starts: importing numpy, pydantic, h5py and archsim allocates only long-lived modules,
classes and functions, and the passes over them (about 50 ms of a ResNet-50 224 run's
command) free nothing. ``end_start_up`` then freezes them (``gc.freeze``: no later pass
looks at them again) and turns the collector back on, or leaves it off for a command that
ends once its one simulation or mapping is done (the pass that would otherwise follow it
traverses the whole program: 0.35 s after YOLOv3 at 1920x1088).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _CollectorPause:
    """How many builds hold the pause, and whether the collector ran before the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders = 0
        self.was_enabled = False

    def enter(self) -> None:
        with self.lock:
            if self.holders == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.holders += 1

    def leave(self) -> None:
        with self.lock:
            self.holders -= 1
            if self.holders == 0 and self.was_enabled:
                gc.enable()


_PAUSE = _CollectorPause()


def pause_start_up() -> None:
    """Turn the collector off for a process's start (the process's entry point only)."""
    gc.disable()


def end_start_up(keep_off: bool) -> None:
    """After ``pause_start_up``: freeze every object alive now (start-up's modules and
    classes) and turn the collector on again, unless ``keep_off`` (for a command that ends
    once its run is done; the collector pauses around a run anyway)."""
    gc.freeze()
    if not keep_off:
        gc.enable()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the body with the cyclic garbage collector off (as it was afterwards)."""
    _PAUSE.enter()
    try:
        yield
    finally:
        _PAUSE.leave()
