"""The ARM PL031 RTC driver, written like drivers/rtc/rtc-pl031.c of Linux 6.1.

``pl031_probe`` claims the whole resource with ``amba_request_regions(adev,
NULL)`` (so /proc/iomem names it after the driver: ``rtc-pl031``), maps it
with ``devm_ioremap`` (no second claim), starts the counter (RTCCR.EN),
registers the RTC (``registered as rtc0``, then the system clock is set from
it) and requests its interrupt for the alarm.  ``pl031_remove`` frees the irq
and releases the regions; devres unmaps and unregisters the RTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..kernel import readl, writel
from ..kernel.amba import (
    amba_device,
    amba_driver,
    amba_driver_register,
    amba_id,
    amba_release_regions,
    amba_request_regions,
    amba_set_drvdata,
)
from ..kernel.device import Device, dev_get_drvdata
from ..kernel.devres import devm_ioremap
from ..kernel.errno import ENOMEM, IS_ERR, PTR_ERR
from ..kernel.irq import IRQ_HANDLED, IRQ_NONE, free_irq, request_irq
from ..kernel.resource import resource_size
from .rtc_core import (
    RTC_AF,
    RTC_FEATURE_ALARM,
    RTC_IRQF,
    devm_rtc_allocate_device,
    devm_rtc_register_device,
    rtc_class_ops,
    rtc_device,
    rtc_time,
    rtc_time64_to_tm,
    rtc_tm_to_time64,
    rtc_update_irq,
    rtc_wkalrm,
)

DRV_NAME = "rtc-pl031"

RTC_DR = 0x00  # data read register
RTC_MR = 0x04  # match register
RTC_LR = 0x08  # data load register
RTC_CR = 0x0C  # control register
RTC_IMSC = 0x10  # interrupt mask and set register
RTC_RIS = 0x14  # raw interrupt status register
RTC_MIS = 0x18  # masked interrupt status register
RTC_ICR = 0x1C  # interrupt clear register
RTC_CR_EN = 1 << 0
RTC_CR_CWEN = 1 << 26
RTC_BIT_AI = 1 << 0
U32_MAX = 0xFFFFFFFF


@dataclass
class pl031_vendor_data:  # noqa: N801 - the kernel's name
    ops: rtc_class_ops
    clockwatch: bool = False
    st_weekday: bool = False
    irqflags: int = 0
    range_min: int = 0
    range_max: int = U32_MAX


@dataclass
class pl031_local:  # noqa: N801
    vendor: pl031_vendor_data
    rtc: rtc_device | None = None
    base: Any = None


def _ldata(dev: Device) -> pl031_local:
    return dev_get_drvdata(dev)


def pl031_read_time(dev: Device, tm: rtc_time) -> int:
    got = rtc_time64_to_tm(readl(_ldata(dev).base + RTC_DR))
    tm.__dict__.update(got.__dict__)
    return 0


def pl031_set_time(dev: Device, tm: rtc_time) -> int:
    writel(rtc_tm_to_time64(tm), _ldata(dev).base + RTC_LR)
    return 0


def pl031_alarm_irq_enable(dev: Device, enabled: int) -> int:
    base = _ldata(dev).base
    writel(RTC_BIT_AI, base + RTC_ICR)  # clear any pending alarm interrupt
    imsc = readl(base + RTC_IMSC)
    writel(imsc | RTC_BIT_AI if enabled == 1 else imsc & ~RTC_BIT_AI, base + RTC_IMSC)
    return 0


def pl031_read_alarm(dev: Device, alarm: rtc_wkalrm) -> int:
    base = _ldata(dev).base
    alarm.time = rtc_time64_to_tm(readl(base + RTC_MR))
    alarm.pending = readl(base + RTC_RIS) & RTC_BIT_AI
    alarm.enabled = readl(base + RTC_IMSC) & RTC_BIT_AI
    return 0


def pl031_set_alarm(dev: Device, alarm: rtc_wkalrm) -> int:
    writel(rtc_tm_to_time64(alarm.time), _ldata(dev).base + RTC_MR)
    pl031_alarm_irq_enable(dev, alarm.enabled)
    return 0


def pl031_interrupt(irq: int, dev_id: Any) -> int:
    ldata: pl031_local = dev_id
    rtcmis = readl(ldata.base + RTC_MIS)
    if rtcmis & RTC_BIT_AI:
        writel(RTC_BIT_AI, ldata.base + RTC_ICR)
        if ldata.rtc is not None:
            rtc_update_irq(ldata.rtc, 1, RTC_AF | RTC_IRQF)
        return IRQ_HANDLED
    return IRQ_NONE


def _arm_ops() -> rtc_class_ops:
    ops = rtc_class_ops()
    ops.read_time = pl031_read_time
    ops.set_time = pl031_set_time
    ops.read_alarm = pl031_read_alarm
    ops.set_alarm = pl031_set_alarm
    ops.alarm_irq_enable = pl031_alarm_irq_enable
    return ops


arm_pl031 = pl031_vendor_data(_arm_ops())


def pl031_probe(adev: amba_device, id: amba_id) -> int:
    ret = amba_request_regions(adev, None)
    if ret:
        return ret
    vendor: pl031_vendor_data = id.data if isinstance(id.data, pl031_vendor_data) \
        else arm_pl031
    ldata = pl031_local(vendor)
    ldata.base = devm_ioremap(adev, adev.res.start, resource_size(adev.res))
    if ldata.base is None:
        amba_release_regions(adev)
        return -ENOMEM
    amba_set_drvdata(adev, ldata)
    data = readl(ldata.base + RTC_CR)
    data |= RTC_CR_CWEN if vendor.clockwatch else RTC_CR_EN
    writel(data, ldata.base + RTC_CR)
    rtc = devm_rtc_allocate_device(adev)
    if IS_ERR(rtc):
        amba_release_regions(adev)
        return PTR_ERR(rtc)
    assert isinstance(rtc, rtc_device)
    ldata.rtc = rtc
    if not adev.irq[0]:
        rtc.features.discard(RTC_FEATURE_ALARM)
    rtc.ops = vendor.ops
    rtc.range_min, rtc.range_max = vendor.range_min, vendor.range_max
    ret = devm_rtc_register_device(rtc)
    if ret:
        amba_release_regions(adev)
        return ret
    if adev.irq[0]:
        ret = request_irq(adev.irq[0], pl031_interrupt, vendor.irqflags, DRV_NAME, ldata)
        if ret:
            amba_release_regions(adev)
            return ret
    return 0


def pl031_remove(adev: amba_device) -> None:
    ldata: pl031_local = dev_get_drvdata(adev)
    if adev.irq[0]:
        free_irq(adev.irq[0], ldata)
    amba_release_regions(adev)


pl031_ids = [amba_id(0x00041031, 0x000FFFFF, arm_pl031), amba_id(0, 0)]


def pl031_driver() -> amba_driver:
    """A fresh ``struct amba_driver`` for one kernel."""
    return amba_driver(DRV_NAME, pl031_probe, pl031_remove, pl031_ids)


def pl031_init() -> int:
    """``module_amba_driver(pl031_driver)``: a device_initcall when built in."""
    return amba_driver_register(pl031_driver())
