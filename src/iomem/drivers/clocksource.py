"""Clocksource and sched_clock registration (kernel/time/clocksource.c,
kernel/time/sched_clock.c, drivers/clocksource/mmio.c): the integer arithmetic
behind the lines timer drivers make the kernel print, e.g.
``clocksource: timer: mask: 0xffffffff max_cycles: 0xffffffff, max_idle_ns:
1911260446275 ns`` and ``sched_clock: 32 bits at 1000kHz, resolution 1000ns,
wraps every 2147483647500ns``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..kernel.kernel import Kernel

NSEC_PER_SEC = 1_000_000_000
U32 = 0xFFFFFFFF
U64 = (1 << 64) - 1


def CLOCKSOURCE_MASK(bits: int) -> int:  # noqa: N802 - the kernel's macro
    return U64 if bits >= 64 else (1 << bits) - 1


def clocks_calc_mult_shift(from_: int, to: int, maxsec: int) -> tuple[int, int]:
    """(mult, shift) converting ``from_`` Hz to ``to`` Hz with the best accuracy that
    still covers ``maxsec`` seconds."""
    tmp = ((maxsec * from_) & U64) >> 32
    sftacc = 32
    while tmp:
        tmp >>= 1
        sftacc -= 1
    sft = 32
    while sft > 0:
        tmp = ((to << sft) & U64) + from_ // 2
        tmp //= from_
        if (tmp >> sftacc) == 0:
            break
        sft -= 1
    return tmp & U32, sft


def clocksource_cyc2ns(cycles: int, mult: int, shift: int) -> int:
    return ((cycles * mult) & U64) >> shift


def clocks_calc_max_nsecs(mult: int, shift: int, maxadj: int, mask: int) -> tuple[int, int]:
    """(max_nsecs, max_cycles): half the time before cyc2ns would overflow or wrap."""
    max_cycles = U64 // ((mult + maxadj) & U32 or 1)
    max_cycles = min(max_cycles, mask)
    max_nsecs = clocksource_cyc2ns(max_cycles, (mult - maxadj) & U32, shift)
    return max_nsecs >> 1, max_cycles


@dataclass
class clocksource:  # noqa: N801 - the kernel's name
    name: str
    mask: int
    read: Callable[[], int]
    rating: int = 200
    mult: int = 0
    shift: int = 0
    maxadj: int = 0
    max_cycles: int = 0
    max_idle_ns: int = 0


def clocksource_register_hz(k: Kernel, cs: clocksource, freq: int, scale: int = 1) -> int:
    """``__clocksource_register_scale``: compute mult/shift and the deferment limits,
    print them, and keep the source."""
    sec = cs.mask // freq // scale
    if not sec:
        sec = 1
    elif sec > 600 and cs.mask > U32:
        sec = 600
    cs.mult, cs.shift = clocks_calc_mult_shift(freq, NSEC_PER_SEC // scale, sec * scale)
    cs.maxadj = cs.mult * 11 // 100 & U32
    while ((cs.mult + cs.maxadj) & U32) < cs.mult or ((cs.mult - cs.maxadj) & U32) > cs.mult:
        cs.mult >>= 1
        cs.shift -= 1
        cs.maxadj = cs.mult * 11 // 100 & U32
    cs.max_idle_ns, cs.max_cycles = clocks_calc_max_nsecs(cs.mult, cs.shift, cs.maxadj,
                                                          cs.mask)
    k.printk_info(f"clocksource: {cs.name}: mask: 0x{cs.mask:x} max_cycles: "
                  f"0x{cs.max_cycles:x}, max_idle_ns: {cs.max_idle_ns} ns")
    sources = k.__dict__.setdefault("_clocksources", [])
    sources.append(cs)
    return 0


def sched_clock_register(k: Kernel, read: Callable[[], int], bits: int, rate: int) -> None:
    """Use ``read`` for sched_clock if it runs faster than the current one, and say so."""
    current = k.__dict__.get("_sched_clock_rate", 0)
    if current > rate:
        return
    mult, shift = clocks_calc_mult_shift(rate, NSEC_PER_SEC, 3600)
    wrap, _ = clocks_calc_max_nsecs(mult, shift, 0, CLOCKSOURCE_MASK(bits))
    k.__dict__["_sched_clock_rate"] = rate
    k.__dict__["_sched_clock"] = read
    r = rate
    if r >= 4_000_000:
        r, unit = (r + 500_000) // 1_000_000, "M"
    elif r >= 4000:
        r, unit = (r + 500) // 1000, "k"
    else:
        unit = " "
    res = clocksource_cyc2ns(1, mult, shift)
    k.printk_info(f"sched_clock: {bits} bits at {r}{unit}Hz, resolution {res}ns, "
                  f"wraps every {wrap}ns")


__all__ = ["CLOCKSOURCE_MASK", "clocks_calc_max_nsecs", "clocks_calc_mult_shift",
           "clocksource", "clocksource_cyc2ns", "clocksource_register_hz",
           "sched_clock_register"]
