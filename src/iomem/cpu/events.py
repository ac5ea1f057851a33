"""What the memory model did, as events on the virtual clock.

Each event is one thing a real CPU would have done out of sight: a write
posted, a posted write arriving, stores gathered or merged in a
write-combining line, a line flushed, a read answered from the cache, a
store held in the store buffer, a load answered from before a barrier.
They render as mmiotrace ``MARK`` records, so they sit in a trace next to
the accesses they explain.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    """One memory-model event at virtual time ``t_ns``."""

    t_ns: int
    kind: str
    text: str
    phys: int | None = None

    def mark_line(self) -> str:
        """The event as an mmiotrace ``MARK`` record (``MARK %u.%06lu %s``)."""
        us = self.t_ns // 1000
        return f"MARK {us // 1_000_000}.{us % 1_000_000:06d} cpu: {self.kind}: {self.text}"

    def __str__(self) -> str:
        return f"[{self.t_ns / 1000:12.3f} us] {self.kind}: {self.text}"
