"""The three CPU memory models and what each memory type does under them.

``strict`` puts nothing between an accessor and the bus: every access
reaches the device at once, in program order (the fastest model, and the
default for library use).  ``realistic`` behaves like a plausible arm64 or
x86 machine: posted writes land one to two microseconds late, write-combined
stores gather in a few line buffers, a cacheable mapping of registers keeps
lines, and the CPU's store buffer drains normal-memory stores within tens of
nanoseconds.  ``adversarial`` delays and reorders as far as the kernel's
rules allow, so code that leans on luck rather than on a documented
guarantee fails every time: stores wait for a barrier, write-combining
buffers leave in reverse order, caches never evict, posted writes arrive
only when pushed or after a long time, and loads of DMA buffers may have
been satisfied before an unordered MMIO read.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..kernel import arch as A

MODES = ("strict", "realistic", "adversarial")


@dataclass(frozen=True)
class Policy:
    """The knobs a mode sets (virtual nanoseconds, line counts)."""

    name: str
    #: a posted write arrives one to two of these after it is issued (arrivals fall on a
    #: grid of this step, so writes issued together drain together); None: at once
    posted_ns: int | None
    #: normal-memory stores become visible this long after they are made
    #: (0: at once; None: only when a barrier or an ordered MMIO write drains them)
    store_ns: int | None
    #: write-combining line buffers before the oldest is evicted
    wc_lines: int
    #: the order lines leave the write-combining buffers at a flush: ``fifo``
    #: (the order they were opened) or ``reverse``; inside a line, ascending or
    #: descending addresses to match
    wc_order: str
    #: lines the cache keeps before evicting the least recently used (None: never)
    cache_lines: int | None
    #: loads of DMA buffers may be satisfied before an unordered read (speculation)
    speculate: bool


POLICIES: dict[str, Policy] = {
    "strict": Policy("strict", None, 0, 0, "fifo", 0, False),
    "realistic": Policy("realistic", 1_000, 50, 4, "fifo", 64, False),
    "adversarial": Policy("adversarial", 100_000, None, 64, "reverse", None, True),
}

LINE = 64  # cache and write-combining line size in bytes


class Kind(enum.Enum):
    """What the CPU does with accesses through a mapping of one memory type."""

    DIRECT = "direct"    #: nothing in between (port I/O, coherent RAM, strict model)
    DEVICE = "device"    #: non-posted device memory: in order, each write acknowledged on arrival
    POSTED = "posted"    #: device memory whose writes are acknowledged before they arrive
    WC = "wc"            #: write-combining / Normal-NC: gathered, merged, reordered writes
    WB = "wb"            #: cacheable, write-back: reads may hit, writes stay in the cache
    WT = "wt"            #: cacheable, write-through: reads may hit, writes go out at once


def is_pci(region: object) -> bool:
    """Whether a region is a PCI BAR (its writes are posted by the PCI rules)."""
    ops = getattr(region, "ops", None)
    return ops is not None and (getattr(ops, "posted", False)
                                or type(ops).__name__ == "BarOps")


def classify(memtype: str, region: object, pio: bool = False) -> Kind:
    """The :class:`Kind` of a mapping with ``memtype`` onto ``region`` (None: nothing there).

    Cacheable mappings of RAM stay coherent (the caches snoop DMA), so only a
    cacheable mapping of a register file (a region with a device model) caches.
    """
    if pio:
        return Kind.DIRECT
    if memtype in A.CACHED_TYPES:
        if region is None or getattr(region, "ops", None) is None:
            return Kind.DIRECT
        return Kind.WT if memtype == A.WT else Kind.WB
    if memtype in A.WC_TYPES:
        return Kind.WC
    if memtype == A.DEVICE_nGnRE:
        return Kind.POSTED
    if memtype in (A.UC, A.UC_MINUS):
        return Kind.POSTED if is_pci(region) else Kind.DEVICE
    return Kind.DEVICE
