"""The kernel's pointer formats used in messages (lib/vsprintf.c): ``%pR``, ``%pr``, ``%pa``.

Every message that prints a resource or a physical address goes through
these, so simulated dmesg lines read exactly as the kernel's.
"""

from __future__ import annotations

import re
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


# -- printk-style formatting -----------------------------------------------------
#
# Driver code written like its C twin passes C format strings to dev_info(),
# pr_warn() and friends.  Python's % operator understands the plain
# conversions once the C length modifiers are gone, but not the kernel's %p
# extensions, so those are handled here.

_SPEC = re.compile(r"%(?P<flags>[-+ #0]*)(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d+))?"
                   r"(?P<len>hh|h|ll|l|z|t|j|L)?(?P<conv>[diouxXcsp%])"
                   r"(?P<ext>(?:(?<=p)(?:R|r|a|e|S|s|B|K|x|h))?)")


def _pointer(ext: str, arg: object) -> str:
    from .errno import ErrPtr, errname

    if ext == "R":
        return pR(arg)  # type: ignore[arg-type]
    if ext == "r":
        return pR(arg, decode=False)  # type: ignore[arg-type]
    if ext == "a":
        return pa(int(arg))  # type: ignore[call-overload]
    if ext == "e":
        err = arg.err if isinstance(arg, ErrPtr) else int(arg)  # type: ignore[call-overload]
        return f"-{errname(err)}"
    if ext in ("S", "s", "B"):
        return getattr(arg, "__name__", str(arg))
    vaddr = getattr(arg, "vaddr", arg)
    if ext == "x" and isinstance(vaddr, int):
        return f"{vaddr:016x}"
    return "(____ptrval____)" if arg is not None else "(null)"


def kvsprintf(fmt: str, args: tuple) -> str:
    """Format like the kernel's vsnprintf: C conversions plus %pR, %pr, %pa, %pe, %pS."""
    if not args:
        return fmt
    out: list[str] = []
    pos = 0
    it = iter(args)
    for m in _SPEC.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        conv = m.group("conv")
        if conv == "%":
            out.append("%")
            continue
        spec = "%" + m.group("flags")
        for part, sep in (("width", ""), ("prec", ".")):
            v = m.group(part)
            if v == "*":
                v = str(next(it))
            if v is not None:
                spec += sep + v
        arg = next(it)
        if conv == "p":
            out.append((spec + "s") % _pointer(m.group("ext"), arg))
        elif conv in "iu":
            out.append((spec + "d") % arg)
        else:
            out.append((spec + conv) % arg)
    out.append(fmt[pos:])
    return "".join(out)
