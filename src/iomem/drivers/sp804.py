"""The ARM SP804 dual timer, written like drivers/clocksource/timer-sp804.c of Linux 6.1.

The SP804 is not a bound driver but an early timer: ``TIMER_OF_DECLARE(sp804,
"arm,sp804", sp804_of_init)`` runs from ``timer_probe`` before any initcall.
It maps the registers with ``of_iomap`` (no /proc/iomem claim: the node's
AMBA device still gets its bus resource, and no driver), disables both
timers, maps the interrupt, makes timer 1 the clock event device (its
handler is ``timer`` in /proc/interrupts) and timer 2 a free-running 32-bit
down-counting clocksource named by the compatible
(``clocksource: arm,sp804: mask: 0xffffffff ...``), which also becomes
sched_clock when nothing faster is there.  Only the first SP804 is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..kernel import readl, writel
from ..kernel.clk import clk, clk_get_rate, clk_prepare_enable, of_clk_get
from ..kernel.errno import EINVAL, ENXIO, ErrPtr
from ..kernel.irq import IRQ_HANDLED, IRQF_IRQPOLL, IRQF_TIMER, request_irq
from ..kernel.kernel import current_kernel
from ..kernel.of import TIMER_OF_DECLARE, irq_of_parse_and_map, of_iomap, of_property_read_u32
from .clocksource import (
    CLOCKSOURCE_MASK,
    clocksource,
    clocksource_register_hz,
    sched_clock_register,
)

TIMER_LOAD = 0x00
TIMER_VALUE = 0x04
TIMER_CTRL = 0x08
TIMER_CTRL_ONESHOT = 1 << 0
TIMER_CTRL_32BIT = 1 << 1
TIMER_CTRL_DIV1 = 0 << 2
TIMER_CTRL_IE = 1 << 5
TIMER_CTRL_PERIODIC = 1 << 6
TIMER_CTRL_ENABLE = 1 << 7
TIMER_INTCLR = 0x0C
TIMER_RIS = 0x10
TIMER_MIS = 0x14
TIMER_BGLOAD = 0x18
TIMER_2_BASE = 0x20
HZ = 250  # Debian's arm64 CONFIG_HZ


@dataclass(eq=False)
class sp804_clkevt:  # noqa: N801 - the kernel's name
    base: Any
    load: Any
    value: Any
    ctrl: Any
    intclr: Any
    reload: int = 0
    events: int = 0


def sp804_clkevt_init(base: Any) -> sp804_clkevt:
    return sp804_clkevt(base, base + TIMER_LOAD, base + TIMER_VALUE, base + TIMER_CTRL,
                        base + TIMER_INTCLR)


def sp804_timer_interrupt(irq: int, dev_id: Any) -> int:
    evt: sp804_clkevt = dev_id
    writel(1, evt.intclr)  # clear the interrupt
    evt.events += 1
    return IRQ_HANDLED


def sp804_set_periodic(evt: sp804_clkevt) -> None:
    """``sp804_set_periodic``: a tick every 1/HZ (what the tick core asks of it)."""
    ctrl = TIMER_CTRL_32BIT | TIMER_CTRL_IE | TIMER_CTRL_PERIODIC | TIMER_CTRL_ENABLE
    writel(0, evt.ctrl)
    writel(evt.reload, evt.load)
    writel(ctrl, evt.ctrl)


def sp804_shutdown(evt: sp804_clkevt) -> None:
    writel(0, evt.ctrl)


def sp804_get_clock_rate(c: clk | None, name: str) -> int:
    k = current_kernel()
    if c is None:
        k.printk_err(f"{name} clock not found: {-2}")
        return -EINVAL
    ret = clk_prepare_enable(c)
    if ret:
        k.printk_err(f"{name} clock failed to enable: {ret}")
        return ret
    return clk_get_rate(c)


def sp804_clocksource_and_sched_clock_init(base: Any, name: str, c: clk | None,
                                           use_sched_clock: bool) -> int:
    rate = sp804_get_clock_rate(c, name)
    if rate < 0:
        return -EINVAL
    writel(0, base + TIMER_CTRL)
    writel(0xFFFFFFFF, base + TIMER_LOAD)
    writel(0xFFFFFFFF, base + TIMER_VALUE)
    writel(TIMER_CTRL_32BIT | TIMER_CTRL_ENABLE | TIMER_CTRL_PERIODIC, base + TIMER_CTRL)
    value = base + TIMER_VALUE

    def read() -> int:  # clocksource_mmio_readl_down
        return ~readl(value) & 0xFFFFFFFF

    k = current_kernel()
    clocksource_register_hz(k, clocksource(name, CLOCKSOURCE_MASK(32), read), rate)
    if use_sched_clock:
        sched_clock_register(k, read, 32, rate)
    return 0


def sp804_clockevents_init(evt: sp804_clkevt, irq: int, c: clk | None, name: str) -> int:
    rate = sp804_get_clock_rate(c, name)
    if rate < 0:
        return -EINVAL
    evt.reload = (rate + HZ // 2) // HZ
    writel(0, evt.base + TIMER_CTRL)
    if request_irq(irq, sp804_timer_interrupt, IRQF_TIMER | IRQF_IRQPOLL, "timer", evt):
        current_kernel().printk_err("request_irq() failed")
    return 0


def sp804_of_init(np: Any) -> int:
    """``sp804_of_init``: the first SP804 becomes the clock event device and clocksource."""
    k = current_kernel()
    if k.__dict__.get("_sp804_initialized"):
        return 0
    base = of_iomap(np, 0)
    if base is None:
        return -ENXIO
    timer1, timer2 = base, base + TIMER_2_BASE
    writel(0, timer1 + TIMER_CTRL)
    writel(0, timer2 + TIMER_CTRL)
    name = np.compatible[0] if np.compatible else "sp804"
    clk1 = of_clk_get(np, 0)
    if isinstance(clk1, ErrPtr):
        clk1 = None
    clk2: clk | None = clk1
    from ..kernel.clk import of_clk_get_parent_count

    if of_clk_get_parent_count(np) == 3:
        got = of_clk_get(np, 1)
        if isinstance(got, ErrPtr):
            k.printk_err(f"{np.name} clock not found: {got.err}")
            clk2 = None
        else:
            clk2 = got
    irq = irq_of_parse_and_map(np, 0)
    if irq <= 0:
        k.iounmap(base)
        return -EINVAL
    _, irq_num = of_property_read_u32(np, "arm,sp804-has-irq")
    if irq_num == 2:
        evt = sp804_clkevt_init(timer2)
        ret = sp804_clockevents_init(evt, irq, clk2, name) or \
            sp804_clocksource_and_sched_clock_init(timer1, name, clk1, True)
    else:
        evt = sp804_clkevt_init(timer1)
        ret = sp804_clockevents_init(evt, irq, clk1, name) or \
            sp804_clocksource_and_sched_clock_init(timer2, name, clk2, True)
    if ret:
        k.iounmap(base)
        return ret
    k.__dict__["_sp804_initialized"] = True
    k.__dict__["_sp804_clkevt"] = evt
    return 0


TIMER_OF_DECLARE("sp804", "arm,sp804", sp804_of_init)


def sp804_clockevent(k: Any) -> sp804_clkevt | None:
    """The clock event device the SP804 set up in kernel ``k`` (None without one)."""
    return k.__dict__.get("_sp804_clkevt")
