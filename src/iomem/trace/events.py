"""The records of an MMIO trace, one class per kind of line the kernel prints.

The kinds and their fields are mmiotrace's (kernel/trace/trace_mmiotrace.c,
Documentation/trace/mmiotrace.rst): ``VERSION``, ``PCIDEV``, ``MAP``,
``UNMAP``, ``R``/``W``, ``UNKNOWN``, ``MARK`` and the lost-events mark, plus
:class:`Info` for what iomem knows beyond them (barriers, interrupts, DMA,
sanitizer findings, CPU memory-model events).  Every record is an immutable
tuple, so reading a million lines makes a million small tuples and nothing
more; ``extra`` holds what only the structured form (JSON lines) keeps: the
driver's source line, the accessor's ordering, the mapping's memory type.

Times are nanoseconds.  mmiotrace prints microseconds, rounded as the
kernel's ``ns2usecs`` rounds; a trace read from text has whole microseconds.
"""

from __future__ import annotations

import zlib
from typing import Any, NamedTuple

#: what ``VERSION`` says in every mmiotrace log
MMIOTRACE_VERSION = "20070824"
#: mmiotrace's PCIDEV lines mask resource flags with this (include/linux/pci.h)
PCI_REGION_FLAG_MASK = 0x0F


class Version(NamedTuple):
    """``VERSION 20070824``: the first line of every mmiotrace log."""

    version: str = MMIOTRACE_VERSION


class PciDev(NamedTuple):
    """``PCIDEV``: one PCI function as the kernel listed it when the log was opened.

    ``starts`` are the seven resource starts with the low flag bits or-ed in
    (as printed); ``sizes`` the seven sizes (0: unused).  ``driver`` is empty
    when no driver was bound.
    """

    bus: int
    devfn: int
    vendor: int
    device: int
    irq: int
    starts: tuple[int, ...]
    sizes: tuple[int, ...]
    driver: str = ""

    @property
    def bdf(self) -> str:
        """``bb:dd.f`` (mmiotrace does not print the PCI domain)."""
        return f"{self.bus:02x}:{self.devfn >> 3:02x}.{self.devfn & 7}"

    @property
    def ident(self) -> str:
        """``vvvv:dddd``."""
        return f"{self.vendor:04x}:{self.device:04x}"

    def bars(self) -> list[tuple[int, int, int]]:
        """(index, base, size) of each memory resource (I/O-port ones have bit 0 set)."""
        out = []
        for i, (start, size) in enumerate(zip(self.starts, self.sizes, strict=True)):
            if size and not start & 1:
                out.append((i, start & ~PCI_REGION_FLAG_MASK, size))
        return out

    def bar_of(self, phys: int) -> tuple[int, int] | None:
        """(BAR index, offset into it) of ``phys``, or None when no memory BAR holds it."""
        for i, base, size in self.bars():
            if base <= phys < base + size:
                return i, phys - base
        return None


class Map(NamedTuple):
    """``MAP``: an ioremap (or, from iomem's recorder, a userspace mapping) was made."""

    t_ns: int
    map_id: int
    phys: int
    virt: int
    length: int
    pc: int = 0
    pid: int = 0
    extra: dict[str, Any] | None = None


class Unmap(NamedTuple):
    """``UNMAP``: the mapping ``map_id`` went away."""

    t_ns: int
    map_id: int
    pc: int = 0
    pid: int = 0
    extra: dict[str, Any] | None = None


class Rw(NamedTuple):
    """``R``/``W``: one access of ``width`` bytes at physical address ``phys``."""

    op: str  # "R" or "W"
    width: int
    t_ns: int
    map_id: int
    phys: int
    value: int
    pc: int = 0
    pid: int = 0
    extra: dict[str, Any] | None = None


class Unknown(NamedTuple):
    """``UNKNOWN``: mmiotrace saw an access it could not decode (three opcode bytes)."""

    t_ns: int
    map_id: int
    phys: int
    opcode: tuple[int, int, int]
    pc: int = 0
    pid: int = 0
    extra: dict[str, Any] | None = None


class Mark(NamedTuple):
    """``MARK``: free text, from ``trace_marker`` (or :func:`iomem.trace.mark`)."""

    t_ns: int
    text: str
    extra: dict[str, Any] | None = None


class Lost(NamedTuple):
    """``MARK 0.000000 Lost N events.``: the ring buffer overflowed."""

    count: int


class Info(NamedTuple):
    """What iomem knows beyond mmiotrace: ``kind`` (``irq``, ``dma``, ``barrier``,
    ``report``, ``cpu``, ...) and its fields, at ``t_ns``."""

    kind: str
    t_ns: int
    fields: dict[str, Any]


Event = Version | PciDev | Map | Unmap | Rw | Unknown | Mark | Lost | Info

#: kinds an :class:`Info` may not take: they are mmiotrace's own records
RESERVED_KINDS = frozenset({"VERSION", "PCIDEV", "MAP", "UNMAP", "R", "W", "UNKNOWN", "MARK",
                            "LOST"})


def site_pc(file: str, line: int) -> int:
    """A stable stand-in for the instruction address of a driver line: a module-text
    address (0xffffffffc0000000 up, where x86-64 loads modules) made from the file's
    name and the line, so the same line gets the same pc on every run and machine."""
    base = file.replace("\\", "/").rsplit("/", 1)[-1]
    return 0xFFFFFFFFC0000000 | (zlib.crc32(f"{base}:{line}".encode()) & 0x3FFFFFFF)


def usecs(t_ns: int) -> int:
    """``ns2usecs``: nanoseconds to microseconds, rounded to nearest."""
    return (t_ns + 500) // 1000


def fmt_time(t_ns: int) -> str:
    """``%u.%06lu``: seconds and microseconds, as mmiotrace prints a timestamp."""
    us = (t_ns + 500) // 1000
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def is_access(ev: object) -> bool:
    return type(ev) is Rw


__all__ = ["Event", "Info", "Lost", "MMIOTRACE_VERSION", "Map", "Mark", "PCI_REGION_FLAG_MASK",
           "PciDev", "RESERVED_KINDS", "Rw", "Unknown", "Unmap", "Version", "fmt_time",
           "is_access", "site_pc", "usecs"]
