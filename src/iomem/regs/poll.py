"""Poll a value until a condition holds, with a timeout, on virtual or wall time.

The kernel's ``readx_poll_timeout(op, addr, val, cond, sleep_us, timeout_us)``
(include/linux/iopoll.h): read, test, sleep, and once the timeout has passed
read one last time before giving up with -ETIMEDOUT.  On the simulator's
virtual clock the "sleep" advances time, so device timers fire and the same
program gives the same result every run; on real hardware it sleeps.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

T = TypeVar("T")


@runtime_checkable
class TimeSource(Protocol):
    """Something with a time in nanoseconds that can be waited on."""

    @property
    def now(self) -> int: ...

    def advance(self, ns: int) -> None: ...


class WallClock:
    """Real time (``time.monotonic_ns``); ``advance`` sleeps."""

    @property
    def now(self) -> int:
        return time.monotonic_ns()

    def advance(self, ns: int) -> None:
        if ns > 0:
            time.sleep(ns / 1e9)


class PollTimeout(TimeoutError):
    """The condition did not hold before the timeout; ``value`` is the last value read."""

    def __init__(self, value: object, timeout_us: int, what: str = "") -> None:
        self.value = value
        self.timeout_us = timeout_us
        desc = f"{what}: " if what else ""
        super().__init__(errno.ETIMEDOUT,
                         f"{desc}condition not met after {timeout_us} us (last value {value!s})")


def poll_until(read: Callable[[], T], cond: Callable[[T], bool], *, timeout_us: int,
               sleep_us: int = 10, clock: TimeSource | None = None, what: str = "") -> T:
    """Call ``read`` until ``cond(value)`` is true; return that value.

    ``clock`` is a :class:`~iomem.machine.VirtualClock` (time advances by
    ``sleep_us`` between reads) or None for wall time.  ``timeout_us`` 0
    waits forever, as in the kernel; on a virtual clock a zero ``sleep_us``
    still advances 1 us so the devices get to move.  Raises
    :class:`PollTimeout` (errno ETIMEDOUT) carrying the last value.
    """
    src: TimeSource = clock if clock is not None else WallClock()
    virtual = clock is not None
    step_ns = sleep_us * 1000
    if virtual and step_ns <= 0:
        step_ns = 1000
    deadline = src.now + timeout_us * 1000
    while True:
        value = read()
        if cond(value):
            return value
        if timeout_us and src.now >= deadline:
            value = read()  # one last look, as readx_poll_timeout does
            if cond(value):
                return value
            raise PollTimeout(value, timeout_us, what)
        wait = step_ns
        if timeout_us:
            wait = min(step_ns, max(deadline - src.now, 0)) or step_ns
        src.advance(wait)
