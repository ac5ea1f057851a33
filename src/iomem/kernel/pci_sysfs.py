"""PCI sysfs attributes (drivers/pci/pci-sysfs.c, drivers/pci/slot.c): what
``/sys/bus/pci/devices/DDDD:BB:DD.F/`` and ``/sys/bus/pci/slots/`` hold for a
simulated kernel's functions, as text and bytes, and a writer that lays them
out as a directory tree.

The text is the kernel's: ``vendor`` is ``0x1234``, ``class`` ``0x00ff00``,
``resource`` one ``0x%016llx 0x%016llx 0x%016llx`` line per resource,
``config`` the raw configuration space (256 bytes on conventional PCI, as
root reads it).  A written tree is what real ``lspci -O sysfs.path=DIR``
reads, and what the userspace backends' ``root=`` option points at.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .pci import config_read, pci_core, pci_dev, resource_show

if TYPE_CHECKING:
    from .kernel import Kernel


def modalias(dev: pci_dev) -> str:
    """``pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X``."""
    c = dev.class_
    return (f"pci:v{dev.vendor:08X}d{dev.device:08X}sv{dev.subsystem_vendor:08X}"
            f"sd{dev.subsystem_device:08X}bc{(c >> 16) & 0xFF:02X}sc{(c >> 8) & 0xFF:02X}"
            f"i{c & 0xFF:02X}")


def _mask_bits(mask: int | None) -> int:
    return mask.bit_length() if mask else 0


def device_attributes(dev: pci_dev) -> dict[str, str | bytes]:
    """The text and binary attributes of one function's sysfs directory."""
    attrs: dict[str, str | bytes] = {
        "vendor": f"0x{dev.vendor:04x}\n",
        "device": f"0x{dev.device:04x}\n",
        "subsystem_vendor": f"0x{dev.subsystem_vendor:04x}\n",
        "subsystem_device": f"0x{dev.subsystem_device:04x}\n",
        "revision": f"0x{dev.revision:02x}\n",
        "class": f"0x{dev.class_:06x}\n",
        "irq": f"{dev.irq}\n",
        "enable": f"{1 if dev.enable_cnt > 0 else 0}\n",
        "resource": resource_show(dev),
        "config": config_read(dev),
        "modalias": modalias(dev) + "\n",
        "local_cpulist": "0\n",
        "numa_node": "-1\n",
        "dma_mask_bits": f"{_mask_bits(dev.dev.dma_mask)}\n",
        "consistent_dma_mask_bits": f"{_mask_bits(dev.dev.coherent_dma_mask)}\n",
        "msi_bus": "1\n",
        "broken_parity_status": "0\n",
        "driver_override": f"{dev.driver_override or '(null)'}\n",
    }
    return attrs


def slot_address(k: Kernel, key: tuple[int, int, int]) -> str:
    domain, bus, slot = key
    return f"{domain:04x}:{bus:02x}:{slot:02x}\n"


def write_sysfs_tree(k: Kernel, root: str | os.PathLike[str]) -> Path:
    """Write ``ROOT/bus/pci/{devices,drivers,slots}`` for kernel ``k``; returns the
    ``bus/pci`` directory (lspci's ``sysfs.path``)."""
    base = Path(root) / "bus" / "pci"
    devdir = base / "devices"
    devdir.mkdir(parents=True, exist_ok=True)
    (base / "drivers").mkdir(exist_ok=True)
    (base / "slots").mkdir(exist_ok=True)
    core = pci_core(k)
    for dev in core.devices():
        d = devdir / dev.name
        d.mkdir(exist_ok=True)
        for name, value in device_attributes(dev).items():
            data = value if isinstance(value, bytes) else value.encode()
            (d / name).write_bytes(data)
        if dev.driver is not None:
            drv = base / "drivers" / dev.driver.name
            drv.mkdir(exist_ok=True)
            link = d / "driver"
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(Path("..") / ".." / "drivers" / dev.driver.name)
    for key, name in core.slots.items():
        s = base / "slots" / name
        s.mkdir(exist_ok=True)
        (s / "address").write_text(slot_address(k, key))
    return base


__all__ = ["device_attributes", "modalias", "slot_address", "write_sysfs_tree"]
