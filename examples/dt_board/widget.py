"""The Acme widget: a device model and its Linux-style platform driver, in one module file.

Load it into a booted board with ``iomem boot --board acme.dts --driver widget.py``:
the file runs before the board is built (so the model below answers the
``acme,widget`` node) and its driver is registered after the boot, as
``insmod`` would (``module_platform_driver`` at the end).

The device: an ID register, a control register (ENABLE, IRQ_EN), a write-1-to-
clear interrupt status and a DOORBELL that completes a "job" 10 us later and
raises the interrupt when enabled.
"""

from __future__ import annotations

from iomem.devices import register_model
from iomem.devices.base import MmioDevice
from iomem.kernel import (
    IS_ERR,
    PTR_ERR,
    OfDeviceId,
    dev_err,
    dev_info,
    devm_platform_ioremap_resource,
    platform_driver,
    platform_get_drvdata,
    platform_get_irq,
    platform_set_drvdata,
    readl,
    writel,
)
from iomem.kernel.irq import IRQ_HANDLED, IRQ_NONE, devm_request_irq
from iomem.kernel.module import module_platform_driver
from iomem.phys import AccessRules
from iomem.regs import Field, Register, RegisterFile, RegisterMap

WIDGET_ID = 0x00
WIDGET_CTRL = 0x04
WIDGET_IRQ_STATUS = 0x08
WIDGET_DOORBELL = 0x0C
WIDGET_JOBS = 0x10

CTRL_ENABLE = 1 << 0
CTRL_IRQ_EN = 1 << 1
IRQ_DONE = 1 << 0
WIDGET_MAGIC = 0xAC3E0001
JOB_NS = 10_000


# -- the hardware -----------------------------------------------------------------------

class Widget(MmioDevice):
    """The model: 32-bit registers only."""

    name = "widget"
    size = 0x100
    rules = AccessRules(valid_sizes=frozenset({4}))
    compatible = ("acme,widget",)

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        regmap = RegisterMap("widget", [
            Register("ID", WIDGET_ID, access="ro", reset=WIDGET_MAGIC),
            Register("CTRL", WIDGET_CTRL, [Field("ENABLE", 0), Field("IRQ_EN", 1)]),
            Register("IRQ_STATUS", WIDGET_IRQ_STATUS, [Field("DONE", 0)], access="w1c"),
            Register("DOORBELL", WIDGET_DOORBELL, access="wo"),
            Register("JOBS", WIDGET_JOBS, access="ro"),
        ], size=self.size)
        self.regs = RegisterFile(regmap, on_write={
            "DOORBELL": self._doorbell, "IRQ_STATUS": lambda v: self._update(),
            "CTRL": lambda v: self._update()})

    @classmethod
    def from_dt(cls, props: object, *, name: str | None = None,
                size: int | None = None) -> Widget:
        return cls(name)

    @property
    def regmap(self) -> RegisterMap:
        return self.regs.map

    def _doorbell(self, value: int) -> None:
        if self.regs["CTRL"] & CTRL_ENABLE and self.clock is not None:
            self.clock.after(JOB_NS, self._done)

    def _done(self) -> None:
        self.regs["JOBS"] = self.regs["JOBS"] + 1
        self.regs["IRQ_STATUS"] = self.regs["IRQ_STATUS"] | IRQ_DONE
        self._update()

    def _update(self) -> None:
        self.set_irq(bool(self.regs["IRQ_STATUS"] & IRQ_DONE and self.regs["CTRL"] & CTRL_IRQ_EN))

    def read(self, offset: int, size: int) -> int:
        return self.regs.read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        self.regs.write(offset, size, value)


register_model(Widget, replace=True)


# -- the driver ---------------------------------------------------------------------------

class widget_priv:  # noqa: N801 - the driver's struct
    def __init__(self, base: object) -> None:
        self.base = base
        self.done = 0


def widget_irq(irq: int, priv: widget_priv) -> int:
    status = readl(priv.base + WIDGET_IRQ_STATUS)
    if not status & IRQ_DONE:
        return IRQ_NONE
    writel(IRQ_DONE, priv.base + WIDGET_IRQ_STATUS)  # acknowledge: the line drops
    priv.done += 1
    return IRQ_HANDLED


def widget_probe(pdev) -> int:  # noqa: ANN001 - a platform_device
    base = devm_platform_ioremap_resource(pdev, 0)
    if IS_ERR(base):
        return PTR_ERR(base)
    ident = readl(base + WIDGET_ID)
    if ident != WIDGET_MAGIC:
        dev_err(pdev, "unexpected ID 0x%08x", ident)
        return -19  # -ENODEV
    irq = platform_get_irq(pdev, 0)
    if irq < 0:
        return irq
    priv = widget_priv(base)
    ret = devm_request_irq(pdev, irq, widget_irq, 0, "widget", priv)
    if ret:
        return ret
    writel(CTRL_ENABLE | CTRL_IRQ_EN, base + WIDGET_CTRL)
    platform_set_drvdata(pdev, priv)
    dev_info(pdev, "Acme widget 0x%08x, irq %d", ident, irq)
    return 0


def widget_remove(pdev) -> None:  # noqa: ANN001
    priv: widget_priv = platform_get_drvdata(pdev)
    writel(0, priv.base + WIDGET_CTRL)  # quiet before devres unmaps and frees the irq


def widget_kick(pdev) -> int:  # noqa: ANN001
    """Ring the doorbell and sleep until the interrupt says the job is done."""
    from iomem.kernel import msleep

    priv: widget_priv = platform_get_drvdata(pdev)
    before = priv.done
    writel(1, priv.base + WIDGET_DOORBELL)
    for _ in range(10):
        if priv.done != before:
            break
        msleep(1)
    return priv.done - before


widget_driver = platform_driver("acme-widget", probe=widget_probe, remove=widget_remove,
                                of_match_table=[OfDeviceId(compatible="acme,widget")])
module_platform_driver(widget_driver)
