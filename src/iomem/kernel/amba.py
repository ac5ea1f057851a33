"""The AMBA bus (drivers/amba/bus.c of Linux 6.1, include/linux/amba/bus.h): ARM
PrimeCell peripherals, matched by the IDs the hardware reports.

What the kernel does, kept here:

- ``amba_device_add`` ``request_resource()``\\ s the device's one MEM resource
  in iomem_resource under the name it was given (for DT devices the node's
  full name, ``pl011@9000000``), then reads the peripheral and cell IDs
  (``amba_read_periphid``: enable ``apb_pclk``, ``ioremap`` the resource,
  ``readl`` the low byte of the eight words at ``size - 0x20``, ``iounmap``)
  unless ``arm,primecell-periphid`` gave one.  A device whose IDs cannot be
  read yet (no clock provider, no PrimeCell cell ID) is still added; the bus
  match then answers -EPROBE_DEFER, so it sits on the deferred list.
- ``amba_match`` compares ``(periphid & mask) == id`` over the driver's
  ``id_table`` (the OF match table plays no part), or ``driver_override``.
- ``amba_probe`` maps the device's interrupts now (``of_amba_device_decode_irq``,
  up to nine), enables ``apb_pclk`` and calls ``probe(adev, id)``;
  ``amba_remove`` calls ``remove(adev)`` and disables the clock.
- ``amba_request_regions`` claims the whole resource under the driver's name
  (``rtc-pl031`` in /proc/iomem), ``amba_release_regions`` gives it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import ioport as F
from .device import BusType, Device, DeviceDriver
from .errno import EBUSY, EINVAL, ENODEV, ENOMEM, EPROBE_DEFER, ErrPtr
from .kernel import Kernel, current_kernel
from .resource import Resource, release_resource, request_resource, resource_size

AMBA_NR_IRQS = 9
AMBA_CID = 0xB105F00D
CORESIGHT_CID = 0xB105900D
UCI_REG_DEVTYPE_OFFSET = 0xFCC
UCI_REG_DEVARCH_OFFSET = 0xFBC


def AMBA_LINUX_ID(conf: int, rev: int, part: int) -> int:  # noqa: N802 - the kernel's macro
    """An ID for cells made by Linux vendors (designer 0x00)."""
    return ((conf & 0xFF) << 24) | ((rev & 0xF) << 20) | (0x00 << 12) | (part & 0xFFF)


@dataclass
class amba_id:  # noqa: N801 - the kernel's name
    """``struct amba_id``: matches when ``(periphid & mask) == id``; a zero mask ends
    the table."""

    id: int = 0
    mask: int = 0
    data: Any = None


@dataclass
class amba_cs_uci_id:  # noqa: N801
    """CoreSight unique component identifier data of an ``amba_id``."""

    devarch: int = 0
    devarch_mask: int = 0
    devtype: int = 0
    data: Any = None


class amba_cs_uci:  # noqa: N801
    def __init__(self) -> None:
        self.devarch = 0
        self.devtype = 0


def amba_cs_uci_id_match(table: amba_id, dev: amba_device) -> bool:
    uci = table.data
    if not isinstance(uci, amba_cs_uci_id) or uci.devarch_mask == 0:
        return True
    return (dev.uci.devtype == uci.devtype
            and (dev.uci.devarch & uci.devarch_mask) == uci.devarch)


def amba_lookup(table: list[amba_id] | None, dev: amba_device) -> amba_id | None:
    """The first entry matching the device's periphid (and CoreSight UCI)."""
    for entry in table or []:
        if not entry.mask:
            break
        if (dev.periphid & entry.mask) == entry.id and (
                dev.cid != CORESIGHT_CID or amba_cs_uci_id_match(entry, dev)):
            return entry
    return None


class AmbaBus(BusType):
    """``amba_bustype``."""

    name = "amba"

    def match(self, dev: Device, drv: DeviceDriver) -> int:  # type: ignore[override]
        """``amba_match``: read the IDs first if they are not known yet."""
        assert isinstance(dev, amba_device)
        if not dev.periphid and amba_read_periphid(dev):
            return -EPROBE_DEFER
        if dev.driver_override:
            return int(dev.driver_override == drv.name)
        return int(amba_lookup(getattr(drv, "id_table", None), dev) is not None)

    def probe(self, dev: Device) -> int | None:
        """``amba_probe``: decode the irqs, enable the bus clock, call the driver."""
        assert isinstance(dev, amba_device)
        pcdrv = dev.driver
        assert isinstance(pcdrv, amba_driver)
        ident = amba_lookup(pcdrv.id_table, dev)
        ret = of_amba_device_decode_irq(dev)
        if ret:
            return ret
        ret = amba_get_enable_pclk(dev)
        if ret:
            return ret
        ret = pcdrv.probe(dev, ident) if pcdrv.probe else 0
        ret = 0 if ret is None else ret
        if ret != 0:
            amba_put_disable_pclk(dev)
        return ret

    def remove(self, dev: Device) -> None:
        """``amba_remove``."""
        assert isinstance(dev, amba_device)
        drv = dev.driver
        try:
            if isinstance(drv, amba_driver) and drv.remove:
                drv.remove(dev)
        finally:
            amba_put_disable_pclk(dev)


amba_bustype = AmbaBus()


class amba_device(Device):  # noqa: N801
    """``struct amba_device``: one MEM resource, the IDs, up to nine irqs."""

    bus_type = amba_bustype

    def __init__(self, name: str | None = None, res: Resource | None = None, *,
                 periphid: int = 0, of_node: Any = None, parent: Device | None = None) -> None:
        super().__init__(name or "", parent=parent, of_node=of_node)
        self.res = res if res is not None else Resource(0, 0, None, F.IORESOURCE_MEM)
        if self.res.name is None and name:
            self.res.name = name  # amba_device_initialize: res.name = dev_name
        self.periphid = periphid
        self.cid = 0
        self.uci = amba_cs_uci()
        self.irq: list[int] = [0] * AMBA_NR_IRQS
        self.pclk: Any = None
        self.dma_mask = self.coherent_dma_mask = 0xFFFFFFFF
        self.platform_data: Any = None

    @property
    def resource(self) -> list[Resource]:
        return [self.res]


class amba_driver(DeviceDriver):  # noqa: N801
    """``struct amba_driver``: ``probe(adev, id)``/``remove(adev)`` and an ``id_table``
    of :class:`amba_id` (ended by an entry with a zero mask, or not)."""

    bus_type = amba_bustype

    def __init__(self, name: str, probe: Callable[..., int | None] | None = None,
                 remove: Callable[..., Any] | None = None,
                 id_table: list[amba_id] | None = None,
                 of_match_table: list[Any] | None = None,
                 shutdown: Callable[..., Any] | None = None) -> None:
        super().__init__(name, probe, remove, of_match_table)
        self.id_table = list(id_table or [])
        self.shutdown = shutdown


# -- helpers of include/linux/amba/bus.h ------------------------------------------------

def amba_rev(d: amba_device) -> int:
    return (d.periphid >> 20) & 0x0F


def amba_config(d: amba_device) -> int:
    return (d.periphid >> 24) & 0xFF


def amba_manf(d: amba_device) -> int:
    return (d.periphid >> 12) & 0xFF


def amba_part(d: amba_device) -> int:
    return d.periphid & 0xFFF


def amba_get_drvdata(d: amba_device) -> Any:
    return d.driver_data


def amba_set_drvdata(d: amba_device, data: Any) -> None:
    d.driver_data = data


# -- the bus clock -------------------------------------------------------------------------

def amba_get_enable_pclk(pcdev: amba_device) -> int:
    from .clk import clk_get, clk_prepare_enable

    pclk = clk_get(pcdev, "apb_pclk")
    if isinstance(pclk, ErrPtr):
        return pclk.err
    pcdev.pclk = pclk
    return clk_prepare_enable(pclk)


def amba_put_disable_pclk(pcdev: amba_device) -> None:
    from .clk import clk_disable_unprepare, clk_put

    if pcdev.pclk is not None:
        clk_disable_unprepare(pcdev.pclk)
        clk_put(pcdev.pclk)
        pcdev.pclk = None


# -- adding devices -------------------------------------------------------------------------

def _kernel_of(dev: Device) -> Kernel:
    return dev.kernel or current_kernel()


def amba_read_periphid(dev: amba_device) -> int:
    """Map the resource and read the PrimeCell IDs from its last 32 bytes."""
    from .device import dev_dbg
    from .io import readl

    k = _kernel_of(dev)
    with k.active():
        ret = amba_get_enable_pclk(dev)
        if ret:
            dev_dbg(dev, f"can't get pclk: {ret}")
            return ret
        try:
            size = resource_size(dev.res)
            tmp = k.ioremap(dev.res.start, size)
            if tmp is None:
                return -ENOMEM
            pid = cid = 0
            for i in range(4):
                pid |= (readl(tmp + size - 0x20 + 4 * i) & 255) << (i * 8)
            for i in range(4):
                cid |= (readl(tmp + size - 0x10 + 4 * i) & 255) << (i * 8)
            if cid == CORESIGHT_CID:
                csbase = tmp + size - 4096
                dev.uci.devarch = readl(csbase + UCI_REG_DEVARCH_OFFSET)
                dev.uci.devtype = readl(csbase + UCI_REG_DEVTYPE_OFFSET) & 0xFF
            if cid in (AMBA_CID, CORESIGHT_CID):
                dev.periphid = pid
                dev.cid = cid
            ret = 0 if dev.periphid else -ENODEV
            k.iounmap(tmp)
            return ret
        finally:
            amba_put_disable_pclk(dev)


def amba_device_add(dev: amba_device, parent: Resource | None = None) -> int:
    """Claim the resource under ``parent`` (iomem_resource), read the IDs if they are
    not known, and add the device; 0 or a negative errno."""
    k = current_kernel()
    parent = parent if parent is not None else k.iomem_resource
    if dev.res.name is None:
        dev.res.name = dev.name
    ret = request_resource(parent, dev.res)
    if ret:
        return ret
    if not dev.periphid:
        # a failure only delays the IDs until the bus match asks again
        amba_read_periphid(dev)
    ret = k.devices.device_add(dev)
    if ret:
        release_resource(dev.res)
    return ret


def amba_device_alloc(name: str | None, base: int, size: int) -> amba_device:
    return amba_device(name, Resource(base, base + size - 1, name, F.IORESOURCE_MEM))


def amba_device_register(dev: amba_device, parent: Resource | None = None) -> int:
    return amba_device_add(dev, parent)


def amba_device_unregister(dev: amba_device) -> None:
    """Remove the device (unbinding its driver) and give its resource back."""
    k = _kernel_of(dev)
    if dev in k.devices.devices:
        k.devices.device_del(dev)
    if dev.res.parent is not None:
        release_resource(dev.res)


def amba_device_put(dev: amba_device) -> None:
    """Reference counts are the garbage collector's business."""


def amba_apb_device_add(parent: Device | None, name: str, base: int, size: int, irq1: int,
                        irq2: int, pdata: Any, periphid: int) -> amba_device | ErrPtr:
    """A board-file AMBA device (``amba_apb_device_add``)."""
    dev = amba_device_alloc(name, base, size)
    dev.irq[0], dev.irq[1] = irq1, irq2
    dev.periphid = periphid
    dev.platform_data = pdata
    dev.parent = parent
    ret = amba_device_add(dev, current_kernel().iomem_resource)
    return ErrPtr(ret) if ret else dev


# -- drivers ------------------------------------------------------------------------------------

def amba_driver_register(drv: amba_driver) -> int:
    if not drv.probe:
        return -EINVAL
    return current_kernel().devices.driver_register(drv)


def amba_driver_unregister(drv: amba_driver) -> None:
    current_kernel().devices.driver_unregister(drv)


def amba_request_regions(dev: amba_device, name: str | None) -> int:
    """Claim the whole resource as BUSY, named ``name`` or the driver's name."""
    if name is None:
        name = dev.driver.name if dev.driver is not None else dev.name
    size = resource_size(dev.res)
    k = _kernel_of(dev)
    if k.request_mem_region(dev.res.start, size, name) is None:
        return -EBUSY
    return 0


def amba_release_regions(dev: amba_device) -> None:
    _kernel_of(dev).release_mem_region(dev.res.start, resource_size(dev.res))


def of_amba_device_decode_irq(dev: amba_device) -> int:
    """Map the node's interrupts (at probe, so a controller probed later still counts)."""
    node = dev.of_node
    if node is None or not hasattr(node, "has_property"):
        return 0
    from .of import of_irq_get

    for i in range(AMBA_NR_IRQS):
        irq = of_irq_get(node, i)
        if irq < 0:
            if irq == -EPROBE_DEFER:
                return irq
            irq = 0
        dev.irq[i] = irq
    return 0


__all__ = ["AMBA_CID", "AMBA_LINUX_ID", "AMBA_NR_IRQS", "CORESIGHT_CID", "amba_apb_device_add",
           "amba_bustype", "amba_config", "amba_cs_uci_id", "amba_device", "amba_device_add",
           "amba_device_alloc", "amba_device_put", "amba_device_register",
           "amba_device_unregister", "amba_driver", "amba_driver_register",
           "amba_driver_unregister", "amba_get_drvdata", "amba_id", "amba_lookup", "amba_manf",
           "amba_part", "amba_read_periphid", "amba_release_regions", "amba_request_regions",
           "amba_rev", "amba_set_drvdata"]
