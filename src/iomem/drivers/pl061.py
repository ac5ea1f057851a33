"""The ARM PL061 GPIO driver, written like drivers/gpio/gpio-pl061.c of Linux 6.1.

``pl061_probe`` maps its registers with ``devm_ioremap_resource`` (/proc/iomem:
``9030000.pl061 pl061@9030000``), masks the interrupts (``writeb(0, GPIOIE)``),
registers an 8-line gpio chip labelled with the device name and an irq
domain for its lines, chains its own interrupt (the AMBA bus mapped it at
probe: Linux irq 15 on ``virt``) to a handler that demultiplexes GPIOMIS, and
prints ``PL061 GPIO chip registered``.  Data is read and written through the
address-masked window (``base + BIT(offset + 2)``) with byte accessors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..kernel import readb, writeb
from ..kernel.amba import amba_device, amba_driver, amba_driver_register, amba_id, amba_set_drvdata
from ..kernel.device import Device, dev_info, dev_warn
from ..kernel.devres import devm_ioremap_resource
from ..kernel.errno import IS_ERR, PTR_ERR
from ..kernel.irqdomain import (
    generic_handle_domain_irq,
    irq_domain,
    irq_domain_add_linear,
    irq_domain_remove,
    irq_domains,
)
from .gpiolib import (
    GPIO_LINE_DIRECTION_IN,
    GPIO_LINE_DIRECTION_OUT,
    devm_gpiochip_add_data,
    gpio_chip,
    gpiochip_get_data,
)

DRV_NAME = "pl061_gpio"

GPIODIR = 0x400
GPIOIS = 0x404
GPIOIBE = 0x408
GPIOIEV = 0x40C
GPIOIE = 0x410
GPIORIS = 0x414
GPIOMIS = 0x418
GPIOIC = 0x41C
PL061_GPIO_NR = 8


def BIT(n: int) -> int:  # noqa: N802 - the kernel's macro
    return 1 << n


@dataclass(eq=False)
class pl061:  # noqa: N801 - the kernel's name
    base: Any
    gc: gpio_chip
    parent_irq: int = 0
    domain: irq_domain | None = None


def pl061_get_direction(gc: gpio_chip, offset: int) -> int:
    p: pl061 = gpiochip_get_data(gc)
    if readb(p.base + GPIODIR) & BIT(offset):
        return GPIO_LINE_DIRECTION_OUT
    return GPIO_LINE_DIRECTION_IN


def pl061_direction_input(gc: gpio_chip, offset: int) -> int:
    p: pl061 = gpiochip_get_data(gc)
    gpiodir = readb(p.base + GPIODIR)
    gpiodir &= ~BIT(offset)
    writeb(gpiodir & 0xFF, p.base + GPIODIR)
    return 0


def pl061_direction_output(gc: gpio_chip, offset: int, value: int) -> int:
    p: pl061 = gpiochip_get_data(gc)
    writeb(int(bool(value)) << offset, p.base + BIT(offset + 2))
    gpiodir = readb(p.base + GPIODIR)
    gpiodir |= BIT(offset)
    writeb(gpiodir, p.base + GPIODIR)
    # set again: the PL061 ignores the data of a line until it is an output
    writeb(int(bool(value)) << offset, p.base + BIT(offset + 2))
    return 0


def pl061_get_value(gc: gpio_chip, offset: int) -> int:
    p: pl061 = gpiochip_get_data(gc)
    return int(bool(readb(p.base + BIT(offset + 2))))


def pl061_set_value(gc: gpio_chip, offset: int, value: int) -> None:
    p: pl061 = gpiochip_get_data(gc)
    writeb(int(bool(value)) << offset, p.base + BIT(offset + 2))


def pl061_irq_handler(p: pl061) -> None:
    """The chained handler: run the handler of every line GPIOMIS says is pending."""
    pending = readb(p.base + GPIOMIS)
    for offset in range(PL061_GPIO_NR):
        if pending & BIT(offset) and p.domain is not None:
            generic_handle_domain_irq(p.domain, offset)


def _chain(dev: Device, p: pl061) -> None:
    """``irq_set_chained_handler_and_data``: the parent line runs the demux directly
    (a chained handler has no irqaction, so /proc/interrupts does not list it)."""
    k = dev.kernel
    got = irq_domains(k).hwirq_of(p.parent_irq) if k is not None else None
    if got is None:
        return
    line = got[0].line(got[1])

    def listener(_line: Any, level: bool) -> None:
        if level:
            with k.active():
                pl061_irq_handler(p)

    line.connect(listener)

    def unchain(d: Device, _data: Any) -> None:
        line.disconnect(listener)
        if p.domain is not None:
            irq_domain_remove(p.domain, k)

    k.devices.devres_add(dev, unchain, None, "gpiochip_irqchip_remove")


def pl061_probe(adev: amba_device, id: amba_id) -> int:
    dev = adev
    base = devm_ioremap_resource(dev, adev.res)
    if IS_ERR(base):
        return PTR_ERR(base)
    gc = gpio_chip(label=dev.name, parent=dev, base=-1, ngpio=PL061_GPIO_NR,
                   get_direction=pl061_get_direction, direction_input=pl061_direction_input,
                   direction_output=pl061_direction_output, get=pl061_get_value,
                   set=pl061_set_value)
    p = pl061(base, gc)
    writeb(0, p.base + GPIOIE)  # disable irqs
    irq = adev.irq[0]
    if not irq:
        dev_warn(adev, "IRQ support disabled")
    p.parent_irq = irq
    ret = devm_gpiochip_add_data(dev, gc, p)
    if ret:
        return ret
    if irq:
        p.domain = irq_domain_add_linear(adev.of_node, PL061_GPIO_NR, dev.name, p,
                                         k=dev.kernel)
        gc.irq_domain = p.domain
        _chain(dev, p)
    amba_set_drvdata(adev, p)
    dev_info(dev, "PL061 GPIO chip registered")
    return 0


pl061_ids = [amba_id(0x00041061, 0x000FFFFF), amba_id(0, 0)]


def pl061_gpio_driver() -> amba_driver:
    """A fresh ``struct amba_driver`` for one kernel."""
    return amba_driver(DRV_NAME, pl061_probe, None, pl061_ids)


def pl061_gpio_init() -> int:
    """``module_amba_driver(pl061_gpio_driver)``: a device_initcall when built in."""
    return amba_driver_register(pl061_gpio_driver())
