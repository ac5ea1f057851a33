"""The platform bus (drivers/base/platform.c): SoC devices described by resources.

``platform_device_register`` inserts the device's MEM/IO resources into the
resource tree as ``platform_device_add`` does; devices created from a device
tree do not (``of_device_add`` only adds the device), which is why a DT
board's ``/proc/iomem`` shows only what drivers claim.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import ioport as F
from .device import BusType, Device, DeviceDriver, OfDeviceId, dev_err, of_match_device
from .devres import devm_ioremap_resource
from .errno import ENXIO, EPROBE_DEFER, ErrPtr
from .io import IoMem
from .kernel import current_kernel
from .resource import Resource, insert_resource_conflict, release_resource
from .vsprintf import pR

PLATFORM_DEVID_NONE = -1
PLATFORM_DEVID_AUTO = -2


class PlatformBus(BusType):
    name = "platform"

    def match(self, dev: Device, drv: DeviceDriver) -> bool:
        """platform_match: override, then OF table, then id_table, then the name."""
        if dev.driver_override:
            return dev.driver_override == drv.name
        if of_match_device(drv.of_match_table, dev) is not None:
            return True
        id_table = getattr(drv, "id_table", None)
        if id_table:
            return any(entry == getattr(dev, "pdev_name", dev.name) for entry in id_table)
        return getattr(dev, "pdev_name", dev.name) == drv.name

    def probe(self, dev: Device) -> int | None:
        drv = dev.driver
        return drv.probe(dev) if drv and drv.probe else 0

    def remove(self, dev: Device) -> None:
        drv = dev.driver
        if drv and drv.remove:
            drv.remove(dev)


platform_bus_type = PlatformBus()


class platform_device(Device):  # noqa: N801 - the kernel's name
    """``struct platform_device``: a name, an id and a resource array."""

    bus_type = platform_bus_type

    def __init__(self, name: str, id: int = PLATFORM_DEVID_NONE,
                 resources: list[Resource] | None = None, of_node: Any = None,
                 dev_name: str | None = None, parent: Device | None = None) -> None:
        self.pdev_name = name
        self.id = id
        if dev_name is None:
            dev_name = name if id == PLATFORM_DEVID_NONE else f"{name}.{id}"
        super().__init__(dev_name, parent=parent, of_node=of_node)
        self.resource: list[Resource] = list(resources or [])
        self.platform_data: Any = None
        self.inserted: list[Resource] = []

    @property
    def num_resources(self) -> int:
        return len(self.resource)


class platform_driver(DeviceDriver):  # noqa: N801
    """``struct platform_driver``: probe(pdev)/remove(pdev) plus match tables."""

    bus_type = platform_bus_type

    def __init__(self, name: str, probe: Callable[..., int | None] | None = None,
                 remove: Callable[..., Any] | None = None,
                 of_match_table: list[OfDeviceId] | None = None,
                 id_table: list[str] | None = None) -> None:
        super().__init__(name, probe, remove, of_match_table)
        self.id_table = list(id_table or [])


PlatformDevice = platform_device
PlatformDriver = platform_driver


def platform_device_register(pdev: platform_device, insert_resources: bool = True) -> int:
    """Add a platform device; its MEM/IO resources go into the resource tree."""
    k = current_kernel()
    if insert_resources:
        for i, r in enumerate(pdev.resource):
            if r.name is None:
                r.name = pdev.name
            t = r.flags & F.IORESOURCE_TYPE_BITS
            parent = r.parent or (k.iomem_resource if t == F.IORESOURCE_MEM else
                                  k.ioport_resource if t == F.IORESOURCE_IO else None)
            if parent is None or r.parent is not None:
                continue
            if insert_resource_conflict(parent, r) is not None:
                dev_err(pdev, f"failed to claim resource {i}: {pR(r)}")
                for done in pdev.inserted:
                    release_resource(done)
                pdev.inserted = []
                return -16
            pdev.inserted.append(r)
    return k.devices.device_add(pdev)


def platform_device_unregister(pdev: platform_device) -> None:
    k = current_kernel()
    k.devices.device_del(pdev)
    for r in pdev.inserted:
        release_resource(r)
    pdev.inserted = []


def platform_driver_register(drv: platform_driver) -> int:
    return current_kernel().devices.driver_register(drv)


def platform_driver_unregister(drv: platform_driver) -> None:
    current_kernel().devices.driver_unregister(drv)


def platform_get_resource(pdev: platform_device, type: int, num: int) -> Resource | None:
    """The ``num``-th resource of ``type``, or None."""
    current_kernel().deref_dev(pdev)  # pdev->num_resources
    for r in pdev.resource:
        if r.flags & F.IORESOURCE_TYPE_BITS == type:
            if num == 0:
                return r
            num -= 1
    return None


def platform_get_resource_byname(pdev: platform_device, type: int, name: str
                                 ) -> Resource | None:
    current_kernel().deref_dev(pdev)
    for r in pdev.resource:
        if r.flags & F.IORESOURCE_TYPE_BITS == type and r.name == name:
            return r
    return None


def platform_get_mem_or_io(pdev: platform_device, num: int) -> Resource | None:
    current_kernel().deref_dev(pdev)
    for r in pdev.resource:
        if r.flags & (F.IORESOURCE_MEM | F.IORESOURCE_IO):
            if num == 0:
                return r
            num -= 1
    return None


def platform_irq_count(pdev: platform_device) -> int:
    """How many irqs the device has (-EPROBE_DEFER while a controller is missing)."""
    nr = 0
    while (ret := platform_get_irq_optional(pdev, nr)) >= 0:
        nr += 1
    return ret if ret == -EPROBE_DEFER else nr


def _of_node(pdev: platform_device) -> Any:
    """The device-tree node, if the device came from a tree the kernel booted with."""
    np = pdev.of_node
    return np if np is not None and hasattr(np, "match_string") else None


def platform_get_irq_optional(pdev: platform_device, num: int) -> int:
    """A device-tree device maps interrupt ``num`` of its node now (``of_irq_get``);
    otherwise the ``num``-th IRQ resource; -ENXIO when there is none."""
    current_kernel().deref_dev(pdev)  # dev->of_node
    np = _of_node(pdev)
    if np is not None:
        from .of import of_irq_get

        ret = of_irq_get(np, num)
        if ret > 0 or ret == -EPROBE_DEFER:
            return ret
    r = platform_get_resource(pdev, F.IORESOURCE_IRQ, num)
    if r is None:
        return -ENXIO
    return r.start


def platform_get_irq(pdev: platform_device, num: int) -> int:
    """The Linux irq number of the ``num``-th interrupt, or -ENXIO with the kernel's message."""
    ret = platform_get_irq_optional(pdev, num)
    if ret < 0 and ret != -EPROBE_DEFER:  # dev_err_probe stays quiet about deferral
        dev_err(pdev, f"IRQ index {num} not found")
    return ret


def platform_get_irq_byname(pdev: platform_device, name: str) -> int:
    current_kernel().deref_dev(pdev)
    np = _of_node(pdev)
    if np is not None:
        from .of import of_irq_get_byname

        ret = of_irq_get_byname(np, name)
        if ret > 0 or ret == -EPROBE_DEFER:
            return ret
    r = platform_get_resource_byname(pdev, F.IORESOURCE_IRQ, name)
    if r is None:
        dev_err(pdev, f"IRQ {name} not found")
        return -ENXIO
    return r.start


def platform_get_drvdata(pdev: platform_device) -> Any:
    return pdev.driver_data


def platform_set_drvdata(pdev: platform_device, data: Any) -> None:
    pdev.driver_data = data


def devm_platform_get_and_ioremap_resource(pdev: platform_device, index: int
                                           ) -> tuple[IoMem | ErrPtr, Resource | None]:
    """Returns ``(base, res)``; C passes ``&res`` as an out parameter."""
    r = platform_get_resource(pdev, F.IORESOURCE_MEM, index)
    return devm_ioremap_resource(pdev, r), r


def devm_platform_ioremap_resource(pdev: platform_device, index: int) -> IoMem | ErrPtr:
    return devm_platform_get_and_ioremap_resource(pdev, index)[0]


def devm_platform_ioremap_resource_byname(pdev: platform_device, name: str) -> IoMem | ErrPtr:
    r = platform_get_resource_byname(pdev, F.IORESOURCE_MEM, name)
    return devm_ioremap_resource(pdev, r)
