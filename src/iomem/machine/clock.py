"""Deterministic virtual time.

Device delays, timers and DMA completion run on this clock, advanced by bus
accesses, ``udelay``/``msleep`` and explicit steps; never by the wall clock,
so the same program gives the same trace and the same dmesg timestamps.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(order=True)
class Timer:
    """A callback due at ``when`` (ns); ``cancel()`` before it fires to drop it."""

    when: int
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """Nanoseconds since power-on, with a queue of timers."""

    def __init__(self, start_ns: int = 0) -> None:
        self.now = start_ns
        #: when the earliest pending timer is due (inf when none): lets the hot
        #: access path advance time with one comparison
        self.next_due: float = float("inf")
        self._queue: list[Timer] = []
        self._seq = 0
        self._running = False

    def after(self, delay_ns: int, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` once ``delay_ns`` of virtual time has passed."""
        if delay_ns < 0:
            raise ValueError("a timer cannot be set in the past")
        t = Timer(self.now + delay_ns, self._seq, callback)
        self._seq += 1
        heapq.heappush(self._queue, t)
        if t.when < self.next_due:
            self.next_due = t.when
        return t

    def at(self, when_ns: int, callback: Callable[[], None]) -> Timer:
        return self.after(max(0, when_ns - self.now), callback)

    def advance(self, ns: int) -> None:
        """Let ``ns`` nanoseconds pass, firing due timers in time order."""
        if ns < 0:
            raise ValueError("time does not run backwards")
        target = self.now + ns
        while self._queue and self._queue[0].when <= target:
            t = heapq.heappop(self._queue)
            if t.cancelled:
                continue
            self.now = max(self.now, t.when)
            t.callback()
        self.now = target
        self.next_due = self._queue[0].when if self._queue else float("inf")

    def tick(self, ns: int) -> None:
        """Advance by ``ns``; the cheap form for the access path."""
        t = self.now + ns
        if t >= self.next_due:
            self.advance(ns)
        else:
            self.now = t

    def run_until_idle(self, limit_ns: int = 10**12) -> None:
        """Advance to each pending timer in turn (bounded by ``limit_ns``)."""
        deadline = self.now + limit_ns
        while self._queue:
            nxt = self._queue[0]
            if nxt.cancelled:
                heapq.heappop(self._queue)
                continue
            if nxt.when > deadline:
                break
            self.advance(nxt.when - self.now)

    def pending(self) -> int:
        return sum(1 for t in self._queue if not t.cancelled)

    @property
    def seconds(self) -> float:
        return self.now / 1e9
