"""The RTC class (drivers/rtc/class.c, interface.c, lib.c) as RTC drivers use it.

``devm_rtc_allocate_device`` + ``devm_rtc_register_device`` give the device
the next free ``rtcN`` name and print ``registered as rtc0``; the device
named ``rtc0`` (CONFIG_RTC_HCTOSYS_DEVICE) then sets the system clock from
the hardware, printing ``setting system clock to 1970-01-01T00:00:00 UTC (0)``
(``%ptR``).  :func:`rtc_read_time`/:func:`rtc_set_time` and the alarm calls
go through the driver's :class:`rtc_class_ops`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..kernel.device import dev_err, dev_info
from ..kernel.errno import EINVAL, ENODEV, ERANGE, ErrPtr

if TYPE_CHECKING:
    from ..kernel.device import Device
    from ..kernel.kernel import Kernel

RTC_FEATURE_ALARM = 0
RTC_AF = 0x20
RTC_IRQF = 0x80
HCTOSYS_DEVICE = "rtc0"


@dataclass
class rtc_time:  # noqa: N801 - the kernel's name
    """``struct rtc_time`` (year since 1900, month 0-11), as drivers fill it."""

    tm_sec: int = 0
    tm_min: int = 0
    tm_hour: int = 0
    tm_mday: int = 1
    tm_mon: int = 0
    tm_year: int = 70
    tm_wday: int = 4
    tm_yday: int = 0

    def ptR(self) -> str:  # noqa: N802 - the %ptR format
        return (f"{self.tm_year + 1900:04d}-{self.tm_mon + 1:02d}-{self.tm_mday:02d}T"
                f"{self.tm_hour:02d}:{self.tm_min:02d}:{self.tm_sec:02d}")


@dataclass
class rtc_wkalrm:  # noqa: N801
    enabled: int = 0
    pending: int = 0
    time: rtc_time = field(default_factory=rtc_time)


def rtc_time64_to_tm(t: int) -> rtc_time:
    d = _dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=t)
    return rtc_time(d.second, d.minute, d.hour, d.day, d.month - 1, d.year - 1900,
                    (d.weekday() + 1) % 7, d.timetuple().tm_yday - 1)


def rtc_tm_to_time64(tm: rtc_time) -> int:
    d = _dt.datetime(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec)
    return int((d - _dt.datetime(1970, 1, 1)).total_seconds())


def rtc_valid_tm(tm: rtc_time) -> int:
    try:
        rtc_tm_to_time64(tm)
    except (ValueError, OverflowError):
        return -EINVAL
    return 0


class rtc_class_ops:  # noqa: N801
    """``struct rtc_class_ops``: callbacks take the parent device."""

    read_time: Callable[[Device, rtc_time], int] | None = None
    set_time: Callable[[Device, rtc_time], int] | None = None
    read_alarm: Callable[[Device, rtc_wkalrm], int] | None = None
    set_alarm: Callable[[Device, rtc_wkalrm], int] | None = None
    alarm_irq_enable: Callable[[Device, int], int] | None = None


@dataclass(eq=False)
class rtc_device:  # noqa: N801
    parent: Device
    ops: rtc_class_ops | None = None
    id: int = -1
    range_min: int = 0
    range_max: int = 0
    features: set[int] = field(default_factory=lambda: {RTC_FEATURE_ALARM})
    registered: bool = False
    irq_data: int = 0
    irq_events: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"rtc{self.id}"


def _rtcs(k: Kernel) -> dict[int, rtc_device]:
    got = k.__dict__.get("_rtc_devices")
    if got is None:
        got = k.__dict__["_rtc_devices"] = {}
    return got


def _kern(dev: Device) -> Kernel:
    from ..kernel.kernel import current_kernel

    return dev.kernel or current_kernel()


def _devm_rtc_release_device(dev: Device, rtc: rtc_device) -> None:
    _rtcs(_kern(dev)).pop(rtc.id, None)


def devm_rtc_allocate_device(dev: Device) -> rtc_device | ErrPtr:
    """A new RTC device with the lowest free id (``ida_alloc``)."""
    k = _kern(dev)
    used = _rtcs(k)
    rid = 0
    while rid in used:
        rid += 1
    rtc = rtc_device(dev, id=rid)
    used[rid] = rtc
    k.devices.devres_add(dev, _devm_rtc_release_device, rtc, "devm_rtc_release_device")
    return rtc


def _devm_rtc_unregister(dev: Device, rtc: rtc_device) -> None:
    rtc.registered = False
    rtc.ops = None


def devm_rtc_register_device(rtc: rtc_device) -> int:
    """Register (``registered as rtcN``), then set the system time from ``rtc0``."""
    if rtc.ops is None:
        return -EINVAL
    if not rtc.ops.set_alarm:
        rtc.features.discard(RTC_FEATURE_ALARM)
    rtc.registered = True
    k = _kern(rtc.parent)
    k.devices.devres_add(rtc.parent, _devm_rtc_unregister, rtc, "devm_rtc_unregister_device")
    dev_info(rtc.parent, f"registered as {rtc.name}")
    if rtc.name == HCTOSYS_DEVICE:
        rtc_hctosys(rtc)
    return 0


def rtc_hctosys(rtc: rtc_device) -> int:
    tm = rtc_time()
    err = rtc_read_time(rtc, tm)
    if err:
        dev_err(rtc.parent, "hctosys: unable to read the hardware clock")
        return err
    secs = rtc_tm_to_time64(tm)
    k = _kern(rtc.parent)
    k.__dict__["_wall_clock_base"] = secs
    dev_info(rtc.parent, f"setting system clock to {tm.ptR()} UTC ({secs})")
    return 0


def rtc_read_time(rtc: rtc_device, tm: rtc_time) -> int:
    if rtc.ops is None:
        return -ENODEV
    if rtc.ops.read_time is None:
        return -EINVAL
    err = rtc.ops.read_time(rtc.parent, tm)
    return err or rtc_valid_tm(tm)


def rtc_set_time(rtc: rtc_device, tm: rtc_time) -> int:
    if rtc.ops is None:
        return -ENODEV
    if rtc_valid_tm(tm):
        return -EINVAL
    secs = rtc_tm_to_time64(tm)
    if rtc.range_max and not rtc.range_min <= secs <= rtc.range_max:
        return -ERANGE
    if rtc.ops.set_time is None:
        return -EINVAL
    return rtc.ops.set_time(rtc.parent, tm)


def rtc_set_alarm(rtc: rtc_device, alarm: rtc_wkalrm) -> int:
    if rtc.ops is None:
        return -ENODEV
    if RTC_FEATURE_ALARM not in rtc.features or rtc.ops.set_alarm is None:
        return -EINVAL
    return rtc.ops.set_alarm(rtc.parent, alarm)


def rtc_read_alarm(rtc: rtc_device, alarm: rtc_wkalrm) -> int:
    if rtc.ops is None:
        return -ENODEV
    if rtc.ops.read_alarm is None:
        return -EINVAL
    return rtc.ops.read_alarm(rtc.parent, alarm)


def rtc_update_irq(rtc: rtc_device, num: int, events: int) -> None:
    """An interrupt arrived (the driver's handler reports it)."""
    rtc.irq_data += num
    rtc.irq_events.append(events)


def rtc_class_open(k: Kernel, name: str = "rtc0") -> rtc_device | None:
    """``/dev/rtcN``: the registered RTC of that name."""
    return next((r for r in _rtcs(k).values() if r.name == name and r.registered), None)


__all__ = ["RTC_AF", "RTC_FEATURE_ALARM", "RTC_IRQF", "devm_rtc_allocate_device",
           "devm_rtc_register_device", "rtc_class_open", "rtc_class_ops", "rtc_device",
           "rtc_hctosys", "rtc_read_alarm", "rtc_read_time", "rtc_set_alarm", "rtc_set_time",
           "rtc_time", "rtc_time64_to_tm", "rtc_tm_to_time64", "rtc_update_irq", "rtc_wkalrm"]
