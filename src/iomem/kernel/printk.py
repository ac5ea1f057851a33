"""The kernel log (kernel/printk/printk.c) on the virtual clock.

Lines look like ``[    0.000123] message``: seconds with six decimals,
right-aligned in five digits, from the machine's virtual clock, so the same
run prints the same log.  ``dev_*`` helpers prefix ``<driver> <device>: ``
as ``dev_printk`` does (``<bus> <device>: `` when no driver is bound).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# console log levels (include/linux/kern_levels.h)
KERN_EMERG, KERN_ALERT, KERN_CRIT, KERN_ERR, KERN_WARNING, KERN_NOTICE, KERN_INFO, KERN_DEBUG = (
    range(8))


@dataclass(frozen=True)
class LogRecord:
    ts_ns: int
    level: int
    text: str

    def line(self) -> str:
        sec, ns = divmod(self.ts_ns, 1_000_000_000)
        return f"[{sec:5d}.{ns // 1000:06d}] {self.text}"


class Printk:
    """The log buffer; ``now`` reads the virtual clock."""

    def __init__(self, now: Callable[[], int], debug: bool = False) -> None:
        #: log pr_debug()/dev_dbg() lines (a kernel booted with dyndbg enabled)
        self.debug = debug
        self._now = now
        self.records: list[LogRecord] = []
        self.listeners: list[Callable[[LogRecord], None]] = []

    def printk(self, level: int, text: str) -> None:
        if level == KERN_DEBUG and not self.debug:
            return  # pr_debug/dev_dbg are off unless dynamic debug turns them on
        for part in text.rstrip("\n").split("\n"):
            rec = LogRecord(self._now(), level, part)
            self.records.append(rec)
            for fn in self.listeners:
                fn(rec)

    def dmesg(self, since: int = 0) -> str:
        return "".join(r.line() + "\n" for r in self.records[since:])

    def __len__(self) -> int:
        return len(self.records)
