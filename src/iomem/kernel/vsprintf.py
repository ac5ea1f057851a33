"""The kernel's pointer formats used in messages (lib/vsprintf.c): ``%pR``, ``%pr``, ``%pa``.

Every message that prints a resource or a physical address goes through
these, so simulated dmesg lines read exactly as the kernel's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ioport as F

if TYPE_CHECKING:
    from .resource import Resource


def _num(value: int, width: int, special: bool = True) -> str:
    """``number()`` with SPECIAL|SMALL|ZEROPAD: ``0x`` counts toward the field width."""
    digits = f"{value:x}"
    if special:
        return "0x" + digits.rjust(max(0, width - 2), "0")
    return digits.rjust(width, "0")


def pR(res: Resource, decode: bool = True) -> str:  # noqa: N802 - the format's name
    """``%pR`` (decoded) or, with ``decode=False``, ``%pr`` (raw flags)."""
    flags = res.flags
    if flags & F.IORESOURCE_IO:
        kind, fmt = "io  ", ("hex", 6)
    elif flags & F.IORESOURCE_MEM:
        kind, fmt = "mem ", ("hex", 10)
    elif flags & F.IORESOURCE_IRQ:
        kind, fmt = "irq ", ("dec", 0)
    elif flags & F.IORESOURCE_DMA:
        kind, fmt = "dma ", ("dec", 0)
    elif flags & F.IORESOURCE_BUS:
        kind, fmt = "bus ", ("bus", 2)
    else:
        kind, fmt = "??? ", ("hex", 10)
        decode = False

    def n(v: int) -> str:
        if fmt[0] == "hex":
            return _num(v, fmt[1])
        if fmt[0] == "bus":
            return _num(v, 2, special=False)
        return str(v)

    out = "[" + kind
    if decode and flags & F.IORESOURCE_UNSET:
        out += "size " + n(res.end - res.start + 1)
    else:
        out += n(res.start)
        if res.start != res.end:
            out += "-" + n(res.end)
    if decode:
        for bit, word in ((F.IORESOURCE_MEM_64, " 64bit"), (F.IORESOURCE_PREFETCH, " pref"),
                          (F.IORESOURCE_WINDOW, " window"), (F.IORESOURCE_DISABLED, " disabled")):
            if flags & bit:
                out += word
    else:
        out += f" flags {flags:#x}"
    return out + "]"


def pa(addr: int) -> str:
    """``%pa`` for a 64-bit phys_addr_t/resource_size_t: ``0x`` and 16 hex digits."""
    return f"0x{addr & 0xFFFFFFFFFFFFFFFF:016x}"
