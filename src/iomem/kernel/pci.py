"""The PCI core: enumeration, resources, the driver model, enable/regions, INTx/MSI.

Mirrors drivers/pci/probe.c (host bridges, bus scan, ``__pci_read_base``),
drivers/pci/access.c (config accessors), drivers/pci/setup-res.c and
setup-bus.c (claiming firmware assignments, sizing bridges, assigning BARs
inside the windows with the kernel's alignment and sort rules),
drivers/pci/pci-driver.c (``pci_driver``, id tables, probe/remove, dynamic
ids), drivers/pci/pci.c (``pci_enable_device``, ``pci_set_master``,
``pci_request_region``, the ``pcim_`` devres), drivers/pci/msi/ (MSI and
MSI-X vectors) and the x86 pieces a pc guest runs (arch/x86/pci/direct.c
config type 1, arch/x86/pci/i386.c resource survey and alignment,
arch/x86/pci/fixup.c shadowed video ROM).

Messages follow the Debian 6.1 kernel the VM lab boots (its PCI log lines
name resources as "BAR 0 [mem ...]", the 6.7 wording it carries).

The kernel reaches configuration space only through ``pci_ops`` of its host
bridge: type-1 cycles through ports 0xcf8/0xcfc on x86, ECAM reads in memory
elsewhere, so what it sees is what the hardware model answers.

Python shapes: ``struct pci_dev`` is :class:`pci_dev` and ``&pdev->dev`` is
``pdev.dev`` (the driver core's device).  C out-parameters come back as
tuples after the return value: ``ret, val = pci_read_config_dword(pdev, 0x10)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..devices.pci import regs as R
from . import ioport as F
from .device import BusType, Device, DeviceDriver, dev_info
from .errno import (
    EBUSY,
    EEXIST,
    EFAULT,
    EINVAL,
    EIO,
    ENODEV,
    ENOENT,
    ENOMEM,
    ENOSPC,
    ENOTTY,
    ERANGE,
)
from .printk import KERN_DEBUG, KERN_INFO
from .resource import Resource, request_resource_conflict, resource_size, resource_type
from .vsprintf import kvsprintf, pR

if TYPE_CHECKING:
    from .kernel import Kernel

# -- constants (include/linux/pci.h, include/linux/pci_ids.h, include/linux/ioport.h) ----

PCI_ANY_ID = 0xFFFFFFFF

PCIBIOS_SUCCESSFUL = 0x00
PCIBIOS_FUNC_NOT_SUPPORTED = 0x81
PCIBIOS_BAD_VENDOR_ID = 0x83
PCIBIOS_DEVICE_NOT_FOUND = 0x86
PCIBIOS_BAD_REGISTER_NUMBER = 0x87
PCIBIOS_SET_FAILED = 0x88
PCIBIOS_BUFFER_TOO_SMALL = 0x89

PCI_STD_RESOURCES = 0
PCI_STD_RESOURCE_END = 5
PCI_ROM_RESOURCE = 6
PCI_IOV_RESOURCES = 7
PCI_SRIOV_NUM_BARS = 6
PCI_BRIDGE_RESOURCES = PCI_IOV_RESOURCES + PCI_SRIOV_NUM_BARS  # 13 (CONFIG_PCI_IOV=y)
PCI_BRIDGE_RESOURCE_NUM = 4
PCI_NUM_RESOURCES = PCI_BRIDGE_RESOURCES + PCI_BRIDGE_RESOURCE_NUM  # 17
DEVICE_COUNT_RESOURCE = PCI_NUM_RESOURCES
PCI_STD_NUM_BARS = 6

# PCI-specific IORESOURCE_BITS (include/linux/ioport.h)
IORESOURCE_ROM_ENABLE = 1 << 0
IORESOURCE_ROM_SHADOW = 1 << 1
IORESOURCE_PCI_FIXED = 1 << 4
IORESOURCE_PCI_EA_BEI = 1 << 5
IORESOURCE_IO_16BIT_ADDR = 1 << 0
IORESOURCE_MEM_64 = F.IORESOURCE_MEM_64
LEGACY_IO_RESOURCE = F.IORESOURCE_IO | IORESOURCE_PCI_FIXED

PCI_COMMAND_DECODE_ENABLE = R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_IO

# power states (include/linux/pci.h)
PCI_D0, PCI_D1, PCI_D2, PCI_D3hot, PCI_D3cold, PCI_UNKNOWN = range(6)

# pci_alloc_irq_vectors flags
PCI_IRQ_LEGACY = 1 << 0
PCI_IRQ_INTX = PCI_IRQ_LEGACY
PCI_IRQ_MSI = 1 << 1
PCI_IRQ_MSIX = 1 << 2
PCI_IRQ_AFFINITY = 1 << 3
PCI_IRQ_ALL_TYPES = PCI_IRQ_LEGACY | PCI_IRQ_MSI | PCI_IRQ_MSIX

# class codes the core looks at (include/linux/pci_ids.h)
PCI_CLASS_NOT_DEFINED = 0x0000
PCI_CLASS_STORAGE_IDE = 0x0101
PCI_CLASS_DISPLAY_VGA = 0x0300
PCI_CLASS_BRIDGE_HOST = 0x0600
PCI_CLASS_BRIDGE_PCI = 0x0604
PCI_CLASS_SYSTEM_PIC = 0x0800
PCI_BASE_CLASS_BRIDGE = 0x06

# power-management capability bits (include/uapi/linux/pci_regs.h)
PCI_PM_CAP_PME_MASK = 0xF800
PCI_PM_CAP_PME_D0 = 0x0800
PCI_PM_CAP_PME_D1 = 0x1000
PCI_PM_CAP_PME_D2 = 0x2000
PCI_PM_CAP_PME_D3hot = 0x4000  # noqa: N816
PCI_PM_CAP_PME_D3cold = 0x8000  # noqa: N816

#: x86 (arch/x86/include/asm/pci.h, arch/x86/pci/i386.c): BIOS_END and the low IO range
X86_PCIBIOS_MIN_IO = 0x1000
BIOS_END = 0x00100000

_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF


def PCI_DEVFN(slot: int, func: int) -> int:  # noqa: N802 - the kernel's macros
    return ((slot & 0x1F) << 3) | (func & 0x07)


def PCI_SLOT(devfn: int) -> int:  # noqa: N802
    return (devfn >> 3) & 0x1F


def PCI_FUNC(devfn: int) -> int:  # noqa: N802
    return devfn & 0x07


def PCI_DEVID(bus: int, devfn: int) -> int:  # noqa: N802
    return ((bus & 0xFF) << 8) | (devfn & 0xFF)


def PCI_POSSIBLE_ERROR(val: int, size: int = 4) -> bool:  # noqa: N802
    return val == (1 << (8 * size)) - 1


def pcibios_err_to_errno(err: int) -> int:
    """PCIBIOS_* -> -errno (include/linux/pci.h)."""
    if err <= PCIBIOS_SUCCESSFUL:
        return err
    return {PCIBIOS_FUNC_NOT_SUPPORTED: -ENOENT, PCIBIOS_BAD_VENDOR_ID: -ENOTTY,
            PCIBIOS_DEVICE_NOT_FOUND: -ENODEV, PCIBIOS_BAD_REGISTER_NUMBER: -EFAULT,
            PCIBIOS_SET_FAILED: -EIO, PCIBIOS_BUFFER_TOO_SMALL: -ENOSPC}.get(err, -ERANGE)



# -- id tables (include/linux/mod_devicetable.h, include/linux/pci.h) --------------------

@dataclass
class pci_device_id:  # noqa: N801 - the kernel's name
    """``struct pci_device_id``: what a driver matches (``PCI_ANY_ID`` matches anything).
    As in C, ``pci_device_id()`` is all zeroes: the table's terminator."""

    vendor: int = 0
    device: int = 0
    subvendor: int = 0
    subdevice: int = 0
    class_: int = 0
    class_mask: int = 0
    driver_data: Any = 0
    override_only: bool = False


def PCI_DEVICE(vend: int, dev: int, driver_data: Any = 0) -> pci_device_id:  # noqa: N802
    """``PCI_DEVICE(vend, dev)``: a vendor/device pair, any subsystem."""
    return pci_device_id(vend, dev, PCI_ANY_ID, PCI_ANY_ID, driver_data=driver_data)


def PCI_DEVICE_SUB(vend: int, dev: int, subvend: int, subdev: int,  # noqa: N802
                   driver_data: Any = 0) -> pci_device_id:
    return pci_device_id(vend, dev, subvend, subdev, driver_data=driver_data)


def PCI_DEVICE_CLASS(dev_class: int, dev_class_mask: int,  # noqa: N802
                     driver_data: Any = 0) -> pci_device_id:
    return pci_device_id(PCI_ANY_ID, PCI_ANY_ID, PCI_ANY_ID, PCI_ANY_ID, dev_class,
                         dev_class_mask, driver_data)


PCI_VDEVICE = PCI_DEVICE


def _id_is_terminator(i: pci_device_id) -> bool:
    return not (i.vendor or i.subvendor or i.class_mask)


def pci_match_one_device(id: pci_device_id, dev: pci_dev) -> pci_device_id | None:
    if ((id.vendor == PCI_ANY_ID or id.vendor == dev.vendor)
            and (id.device == PCI_ANY_ID or id.device == dev.device)
            and (id.subvendor == PCI_ANY_ID or id.subvendor == dev.subsystem_vendor)
            and (id.subdevice == PCI_ANY_ID or id.subdevice == dev.subsystem_device)
            and not ((id.class_ ^ dev.class_) & id.class_mask)):
        return id
    return None


def pci_match_id(ids: list[pci_device_id] | None, dev: pci_dev) -> pci_device_id | None:
    """The first entry of ``ids`` (up to the all-zero terminator) that matches."""
    for i in ids or []:
        if _id_is_terminator(i):
            break
        if pci_match_one_device(i, dev):
            return i
    return None


pci_device_id_any = pci_device_id(PCI_ANY_ID, PCI_ANY_ID, PCI_ANY_ID, PCI_ANY_ID)


# -- config access (drivers/pci/access.c, arch/x86/pci/direct.c, drivers/pci/ecam.c) ------

class pci_ops:  # noqa: N801
    """``struct pci_ops``: ``read(bus, devfn, where, size) -> (ret, val)``,
    ``write(bus, devfn, where, size, val) -> ret``."""

    def read(self, bus: pci_bus, devfn: int, where: int, size: int) -> tuple[int, int]:
        raise NotImplementedError

    def write(self, bus: pci_bus, devfn: int, where: int, size: int, val: int) -> int:
        raise NotImplementedError


class PciConf1Ops(pci_ops):
    """x86 configuration type 1 (arch/x86/pci/direct.c pci_conf1_read/write): the
    address goes to port 0xcf8, the data moves through 0xcfc-0xcff.  Without
    MMCONFIG (QEMU's pc) registers from 0x100 up are out of reach (-EINVAL)."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    def _port(self, size: int, port: int, value: int | None = None) -> int:
        m = self.k.machine
        m.clock.tick(m.access_ns)
        if value is None:
            return m.io.read(port, size)
        m.io.write(port, size, value)
        return 0

    @staticmethod
    def _address(bus: int, devfn: int, reg: int) -> int:
        return 0x80000000 | ((reg & 0xF00) << 16) | (bus << 16) | (devfn << 8) | (reg & 0xFC)

    def read(self, bus: pci_bus, devfn: int, where: int, size: int) -> tuple[int, int]:
        if bus.domain_nr or bus.number > 255 or devfn > 255 or where > 255:
            return -EINVAL, (1 << (8 * size)) - 1
        self._port(4, 0xCF8, self._address(bus.number, devfn, where))
        if size == 1:
            v = self._port(1, 0xCFC + (where & 3))
        elif size == 2:
            v = self._port(2, 0xCFC + (where & 2))
        else:
            v = self._port(4, 0xCFC)
        return 0, v

    def write(self, bus: pci_bus, devfn: int, where: int, size: int, val: int) -> int:
        if bus.domain_nr or bus.number > 255 or devfn > 255 or where > 255:
            return -EINVAL
        self._port(4, 0xCF8, self._address(bus.number, devfn, where))
        if size == 1:
            self._port(1, 0xCFC + (where & 3), val & 0xFF)
        elif size == 2:
            self._port(2, 0xCFC + (where & 2), val & 0xFFFF)
        else:
            self._port(4, 0xCFC, val & _U32)
        return 0


class PciEcamOps(pci_ops):
    """ECAM (drivers/pci/ecam.c pci_generic_config_read/write): configuration space
    as memory, bus << 20 | devfn << 12 | register, starting at ``base`` for bus
    ``first_bus``."""

    def __init__(self, kernel: Kernel, base: int, first_bus: int = 0, last_bus: int = 255
                 ) -> None:
        self.k = kernel
        self.base = base
        self.first_bus = first_bus
        self.last_bus = last_bus

    def _addr(self, bus: pci_bus, devfn: int, where: int) -> int | None:
        if not self.first_bus <= bus.number <= self.last_bus or where > 0xFFF:
            return None
        return self.base + ((bus.number - self.first_bus) << 20) + (devfn << 12) + where

    def read(self, bus: pci_bus, devfn: int, where: int, size: int) -> tuple[int, int]:
        a = self._addr(bus, devfn, where)
        if a is None:
            return PCIBIOS_DEVICE_NOT_FOUND, (1 << (8 * size)) - 1
        m = self.k.machine
        m.clock.tick(m.access_ns)
        return PCIBIOS_SUCCESSFUL, m.memory.read(a, size)

    def write(self, bus: pci_bus, devfn: int, where: int, size: int, val: int) -> int:
        a = self._addr(bus, devfn, where)
        if a is None:
            return PCIBIOS_DEVICE_NOT_FOUND
        m = self.k.machine
        m.clock.tick(m.access_ns)
        m.memory.write(a, size, val)
        return PCIBIOS_SUCCESSFUL


_BAD = {1: 0, 2: 1, 4: 3}


def _bus_read(bus: pci_bus, devfn: int, pos: int, size: int) -> tuple[int, int]:
    """``pci_bus_read_config_*``: an unaligned access is PCIBIOS_BAD_REGISTER_NUMBER; a
    failed read answers all-ones (PCI_SET_ERROR_RESPONSE)."""
    if pos & _BAD[size]:
        return PCIBIOS_BAD_REGISTER_NUMBER, 0
    res, data = bus.ops.read(bus, devfn, pos, size)
    if res:
        return res, (1 << (8 * size)) - 1
    return res, data & ((1 << (8 * size)) - 1)


def _bus_write(bus: pci_bus, devfn: int, pos: int, size: int, value: int) -> int:
    if pos & _BAD[size]:
        return PCIBIOS_BAD_REGISTER_NUMBER
    return bus.ops.write(bus, devfn, pos, size, value & ((1 << (8 * size)) - 1))


def pci_bus_read_config_byte(bus: pci_bus, devfn: int, where: int) -> tuple[int, int]:
    return _bus_read(bus, devfn, where, 1)


def pci_bus_read_config_word(bus: pci_bus, devfn: int, where: int) -> tuple[int, int]:
    return _bus_read(bus, devfn, where, 2)


def pci_bus_read_config_dword(bus: pci_bus, devfn: int, where: int) -> tuple[int, int]:
    return _bus_read(bus, devfn, where, 4)


def pci_bus_write_config_byte(bus: pci_bus, devfn: int, where: int, val: int) -> int:
    return _bus_write(bus, devfn, where, 1, val)


def pci_bus_write_config_word(bus: pci_bus, devfn: int, where: int, val: int) -> int:
    return _bus_write(bus, devfn, where, 2, val)


def pci_bus_write_config_dword(bus: pci_bus, devfn: int, where: int, val: int) -> int:
    return _bus_write(bus, devfn, where, 4, val)


def _check_val(fn: str, val: object, size: int) -> int:
    if not isinstance(val, int) or isinstance(val, bool):
        raise TypeError(f"{fn}: the value must be an integer, not {type(val).__name__}")
    if not 0 <= val < 1 << (8 * size) and not -(1 << (8 * size - 1)) <= val < 0:
        raise ValueError(f"{fn}: value {val:#x} does not fit in {8 * size} bits")
    return val & ((1 << (8 * size)) - 1)


def pci_read_config_byte(dev: pci_dev, where: int) -> tuple[int, int]:
    """``ret, val = pci_read_config_byte(pdev, where)`` (ret: a PCIBIOS_* code)."""
    return _bus_read(dev.bus, dev.devfn, where, 1)


def pci_read_config_word(dev: pci_dev, where: int) -> tuple[int, int]:
    return _bus_read(dev.bus, dev.devfn, where, 2)


def pci_read_config_dword(dev: pci_dev, where: int) -> tuple[int, int]:
    return _bus_read(dev.bus, dev.devfn, where, 4)


def pci_write_config_byte(dev: pci_dev, where: int, val: int) -> int:
    return _bus_write(dev.bus, dev.devfn, where, 1, _check_val("pci_write_config_byte", val, 1))


def pci_write_config_word(dev: pci_dev, where: int, val: int) -> int:
    return _bus_write(dev.bus, dev.devfn, where, 2, _check_val("pci_write_config_word", val, 2))


def pci_write_config_dword(dev: pci_dev, where: int, val: int) -> int:
    return _bus_write(dev.bus, dev.devfn, where, 4,
                      _check_val("pci_write_config_dword", val, 4))


# -- the kernel's objects -----------------------------------------------------------

class PciBusType(BusType):
    """``pci_bus_type`` (drivers/pci/pci-driver.c)."""

    name = "pci"

    def match(self, dev: Device, drv: DeviceDriver) -> bool:
        pdev = to_pci_dev(dev)
        if not isinstance(drv, pci_driver) or not pdev.match_driver:
            return False
        return pci_match_device(drv, pdev) is not None

    def probe(self, dev: Device) -> int | None:
        return pci_device_probe(dev)

    def remove(self, dev: Device) -> None:
        pci_device_remove(dev)


pci_bus_type = PciBusType()


class PciDevice(Device):
    """``pdev->dev``: the driver core's side of a PCI function."""

    bus_type = pci_bus_type

    def __init__(self, pdev: pci_dev, name: str, parent: Device | None) -> None:
        super().__init__(name, parent=parent)
        self.pdev = pdev


def to_pci_dev(dev: Device) -> pci_dev:
    pdev = getattr(dev, "pdev", None)
    if pdev is None:
        raise TypeError(f"{dev!r} is not a PCI device's struct device")
    return pdev


class pci_bus:  # noqa: N801
    """``struct pci_bus``: a bus number, its windows, its devices and child buses."""

    def __init__(self, kernel: Kernel, parent: pci_bus | None, number: int,
                 bridge: pci_dev | None, ops: pci_ops, domain_nr: int = 0) -> None:
        self.k = kernel
        self.parent = parent
        self.number = number
        self.primary = parent.number if parent is not None else 0
        self.self = bridge
        self.ops = ops
        self.domain_nr = domain_nr
        self.devices: list[pci_dev] = []
        self.children: list[pci_bus] = []
        #: bus->resource[0..3]: the bridge's windows (None on a root bus)
        self.resource: list[Resource | None] = [None] * PCI_BRIDGE_RESOURCE_NUM
        #: bus->resources: a root bus's host bridge windows
        self.windows: list[Resource] = []
        self.busn_res = Resource(number, 0xFF if parent is None else number,
                                 None, F.IORESOURCE_BUS)
        self.host_bridge: pci_host_bridge | None = None

    @property
    def name(self) -> str:
        """``dev_name(&bus->dev)``: ``dddd:bb``."""
        return f"{self.domain_nr:04x}:{self.number:02x}"

    def resources(self) -> Iterator[tuple[int, Resource | None]]:
        """``pci_bus_for_each_resource``: the bridge windows, then the root windows."""
        yield from enumerate(self.resource)
        for i, r in enumerate(self.windows):
            yield PCI_BRIDGE_RESOURCE_NUM + i, r

    def is_root(self) -> bool:
        return self.parent is None

    def __repr__(self) -> str:
        return f"<pci_bus {self.name}>"


def pci_is_root_bus(bus: pci_bus) -> bool:
    return bus.parent is None


def pci_domain_nr(bus: pci_bus) -> int:
    return bus.domain_nr


class pci_host_bridge:  # noqa: N801
    """``struct pci_host_bridge``: config ops, windows (resource, bus offset), the root bus.

    ``map_irq(pdev, slot, pin) -> irq`` routes INTx on platforms where the kernel
    assigns irqs (``pci_assign_irq``); ``hw`` is the hardware host it drives.
    """

    def __init__(self, kernel: Kernel, ops: pci_ops, *, domain_nr: int = 0, busnr: int = 0,
                 parent: Device | None = None, hw: Any = None) -> None:
        self.k = kernel
        self.ops = ops
        self.domain_nr = domain_nr
        self.busnr = busnr
        self.parent = parent
        self.hw = hw
        self.windows: list[tuple[Resource, int]] = []
        self.bus: pci_bus | None = None
        self.map_irq: Callable[[pci_dev, int, int], int] | None = None
        self.swizzle_irq: Callable[[pci_dev, int], tuple[int, int]] | None = None
        self.preserve_config = False
        self.dev = Device(f"pci{domain_nr:04x}:{busnr:02x}", parent=parent)

    def add_window(self, res: Resource, offset: int = 0) -> None:
        """``pci_add_resource_offset``: a window (``offset``: CPU address - bus address)."""
        self.windows.append((res, offset))


def pci_alloc_host_bridge(ops: pci_ops | None = None, **kw: Any) -> pci_host_bridge:
    from .kernel import current_kernel

    k = current_kernel()
    return pci_host_bridge(k, ops or PciConf1Ops(k), **kw)


@dataclass
class pci_devres:  # noqa: N801
    """``struct pci_devres`` (drivers/pci/pci.c): what pcim_release undoes."""

    enabled: bool = False
    pinned: bool = False
    orig_intx: bool = False
    restore_intx: bool = False
    mwi: bool = False
    region_mask: int = 0


class pci_dev:  # noqa: N801
    """``struct pci_dev``: one PCI function as the kernel knows it."""

    def __init__(self, bus: pci_bus, devfn: int) -> None:
        self.bus = bus
        self.devfn = devfn
        self.vendor = 0
        self.device = 0
        self.subsystem_vendor = 0
        self.subsystem_device = 0
        self.class_ = 0  # C's dev->class: base class, subclass, prog-if (24 bits)
        self.revision = 0
        self.hdr_type = 0
        self.multifunction = False
        self.pin = 0
        self.irq = 0
        self.cfg_size = R.PCI_CFG_SPACE_SIZE
        self.rom_base_reg = 0
        self.resource: list[Resource] = [Resource(0, 0, None, 0) for _ in range(PCI_NUM_RESOURCES)]
        self.subordinate: pci_bus | None = None
        self.transparent = False
        self.msi_cap = 0
        self.msix_cap = 0
        self.pm_cap = 0
        self.msi_enabled = False
        self.msix_enabled = False
        self.no_64bit_msi = False
        self.is_busmaster = False
        self.is_managed = False
        self.mmio_always_on = False
        self.enable_cnt = 0
        self.current_state = PCI_UNKNOWN
        self.driver: pci_driver | None = None
        self.driver_override: str | None = None
        self.match_driver = False
        self.is_added = False
        self.msi_irqs: list[int] = []
        self.msix_base: Any = None
        self.default_irq = 0
        self.rom_shadow = False
        self.dev = PciDevice(self, self._make_name(), bus.host_dev())
        self.dev.dma_mask = 0xFFFFFFFF
        self.dev.coherent_dma_mask = 0xFFFFFFFF
        #: pcim state (struct pci_devres) while the device is managed
        self._pci_devres: pci_devres | None = None

    def _make_name(self) -> str:
        return (f"{self.bus.domain_nr:04x}:{self.bus.number:02x}:{PCI_SLOT(self.devfn):02x}."
                f"{PCI_FUNC(self.devfn)}")

    # C's struct has no ``name``; scripts that write ``pdev.name`` get pci_name()
    @property
    def name(self) -> str:
        return self.dev.name

    @property
    def kernel(self) -> Kernel:
        return self.bus.k

    # config helpers used by the core itself
    def _rd(self, where: int, size: int) -> int:
        return _bus_read(self.bus, self.devfn, where, size)[1]

    def _wr(self, where: int, size: int, value: int) -> None:
        _bus_write(self.bus, self.devfn, where, size, value)

    def __repr__(self) -> str:
        drv = f" bound to {self.driver.name}" if self.driver else ""
        return f"<pci_dev {self.name} [{self.vendor:04x}:{self.device:04x}]{drv}>"


def _host_dev(self: pci_bus) -> Device | None:
    if self.self is not None:
        return self.self.dev
    hb = self.host_bridge
    b = self
    while hb is None and b.parent is not None:
        b = b.parent
        hb = b.host_bridge
    return hb.dev if hb is not None else None


pci_bus.host_dev = _host_dev  # type: ignore[attr-defined]


def pci_name(pdev: pci_dev) -> str:
    return pdev.dev.name


def pci_get_drvdata(pdev: pci_dev) -> Any:
    return pdev.dev.driver_data


def pci_set_drvdata(pdev: pci_dev, data: Any) -> None:
    pdev.dev.driver_data = data


def pci_dev_get(pdev: pci_dev | None) -> pci_dev | None:
    return pdev


def pci_dev_put(pdev: pci_dev | None) -> None:
    """References are Python's: nothing to drop."""


def pci_is_bridge(pdev: pci_dev) -> bool:
    return pdev.hdr_type in (R.PCI_HEADER_TYPE_BRIDGE, R.PCI_HEADER_TYPE_CARDBUS)


def pci_upstream_bridge(pdev: pci_dev) -> pci_dev | None:
    return pdev.bus.self


def pci_dev_id(pdev: pci_dev) -> int:
    return PCI_DEVID(pdev.bus.number, pdev.devfn)


# -- printing ----------------------------------------------------------------------

def _pdev_print(level: int) -> Callable[..., None]:
    def fn(pdev: pci_dev, fmt: str, *args: object) -> None:
        text = kvsprintf(fmt, args)
        pdev.kernel.devices.dev_printk(level, pdev.dev, text.rstrip("\n"))
    return fn


pci_err = _pdev_print(3)
pci_warn = _pdev_print(4)
pci_notice = _pdev_print(5)
pci_info = _pdev_print(KERN_INFO)
pci_dbg = _pdev_print(KERN_DEBUG)


def _bus_info(bus: pci_bus, text: str) -> None:
    bus.k.printk_info(f"pci_bus {bus.name}: {text}")


def pci_resource_name(dev: pci_dev, i: int) -> str:
    """``pci_resource_name`` (drivers/pci/pci.c): how log lines name a resource."""
    if i < PCI_ROM_RESOURCE:
        return f"BAR {i}"
    if i == PCI_ROM_RESOURCE:
        return "ROM"
    if i < PCI_BRIDGE_RESOURCES:
        return f"VF BAR {i - PCI_IOV_RESOURCES}"
    if i < PCI_NUM_RESOURCES:
        return "bridge window"
    return "unknown"


# -- resource accessors (include/linux/pci.h) ------------------------------------------

def pci_resource_start(dev: pci_dev, bar: int) -> int:
    return dev.resource[bar].start


def pci_resource_end(dev: pci_dev, bar: int) -> int:
    return dev.resource[bar].end


def pci_resource_flags(dev: pci_dev, bar: int) -> int:
    return dev.resource[bar].flags


def pci_resource_len(dev: pci_dev, bar: int) -> int:
    """``pci_resource_len``: 0 for an unused BAR."""
    r = dev.resource[bar]
    if r.start == 0 and r.end == 0:
        return 0
    return resource_size(r)


def pci_select_bars(dev: pci_dev, flags: int) -> int:
    bars = 0
    for i in range(PCI_NUM_RESOURCES):
        if dev.resource[i].flags & flags:
            bars |= 1 << i
    return bars


def pcibios_bus_to_resource(bus: pci_bus, start: int, end: int) -> tuple[int, int]:
    """CPU addresses of bus region [start, end] (the host window's offset applies)."""
    hb = _root_host_bridge(bus)
    if hb is not None:
        for res, offset in hb.windows:
            if resource_type(res) == F.IORESOURCE_BUS:
                continue
            bs, be = res.start - offset, res.end - offset
            if bs <= start and end <= be:
                return start + offset, end + offset
    return start, end


def pcibios_resource_to_bus(bus: pci_bus, res: Resource) -> tuple[int, int]:
    hb = _root_host_bridge(bus)
    if hb is not None:
        for win, offset in hb.windows:
            if resource_type(win) != resource_type(res):
                continue
            if win.start <= res.start and res.end <= win.end:
                return res.start - offset, res.end - offset
    return res.start, res.end


def _root_host_bridge(bus: pci_bus) -> pci_host_bridge | None:
    while bus.parent is not None:
        bus = bus.parent
    return bus.host_bridge


# -- the per-kernel PCI state ------------------------------------------------------------

class PciCore:
    """The host bridges, buses and functions one kernel enumerated, and the
    platform hooks (x86's resource alignment, irq routing, MSI address)."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.host_bridges: list[pci_host_bridge] = []
        self.root_buses: list[pci_bus] = []
        #: physical slot names: (domain, bus, slot) -> name (/sys/bus/pci/slots)
        self.slots: dict[tuple[int, int, int], str] = {}
        x86 = kernel.arch.is_x86
        self.min_io = X86_PCIBIOS_MIN_IO if x86 else 0x1000
        self.min_mem = 0
        #: pcibios_enable_irq (x86: ACPI link routing); called on pci_enable_device
        self.enable_irq_hook: Callable[[pci_dev], int] | None = None
        #: MSI message address for a vector (x86 flat logical APIC: CPU 0)
        self.msi_address = 0xFEE01004 if x86 else 0x08020040
        #: x86 without interrupt remapping takes one MSI vector per function
        self.msi_multi = not x86

    def devices(self) -> list[pci_dev]:
        """Every function, bus by bus in devfn order (``for_each_pci_dev``)."""
        out: list[pci_dev] = []

        def walk(bus: pci_bus) -> None:
            for d in sorted(bus.devices, key=lambda d: d.devfn):
                out.append(d)
                if d.subordinate is not None:
                    walk(d.subordinate)
        for b in self.root_buses:
            walk(b)
        return out

    def find(self, name: str) -> pci_dev | None:
        """The function called ``dddd:bb:ss.f`` (or ``bb:ss.f``)."""
        if name.count(":") == 1:
            name = "0000:" + name
        return next((d for d in self.devices() if d.name == name), None)

    def find_bus(self, domain: int, number: int) -> pci_bus | None:
        def walk(bus: pci_bus) -> pci_bus | None:
            if bus.domain_nr == domain and bus.number == number:
                return bus
            for c in bus.children:
                found = walk(c)
                if found is not None:
                    return found
            return None
        for b in self.root_buses:
            found = walk(b)
            if found is not None:
                return found
        return None


def pci_core(k: Kernel) -> PciCore:
    """The PCI state of kernel ``k`` (made on first use)."""
    core = k.__dict__.get("_pcicore")
    if core is None:
        core = k.__dict__["_pcicore"] = PciCore(k)
    return core


def _kern() -> Kernel:
    from .kernel import current_kernel

    return current_kernel()


def for_each_pci_dev(k: Kernel | None = None) -> list[pci_dev]:
    return pci_core(k or _kern()).devices()


def pci_get_device(vendor: int, device: int, from_: pci_dev | None = None) -> pci_dev | None:
    devs = for_each_pci_dev()
    start = devs.index(from_) + 1 if from_ in devs else 0
    for d in devs[start:]:
        if (vendor == PCI_ANY_ID or d.vendor == vendor) and \
                (device == PCI_ANY_ID or d.device == device):
            return d
    return None


def pci_get_domain_bus_and_slot(domain: int, bus: int, devfn: int) -> pci_dev | None:
    for d in for_each_pci_dev():
        if d.bus.domain_nr == domain and d.bus.number == bus and d.devfn == devfn:
            return d
    return None


def pci_find_capability(dev: pci_dev, cap: int) -> int:
    """``pci_find_capability``: the offset of capability ``cap``, or 0."""
    status = dev._rd(R.PCI_STATUS, 2)
    if not status & R.PCI_STATUS_CAP_LIST:
        return 0
    pos = R.PCI_CAPABILITY_LIST if dev.hdr_type != R.PCI_HEADER_TYPE_CARDBUS else 0x14
    pos = dev._rd(pos, 1)
    ttl = 48
    while ttl:
        if pos < 0x40:
            break
        pos &= ~3
        ent = dev._rd(pos, 2)
        cid = ent & 0xFF
        if cid == 0xFF:
            break
        if cid == cap:
            return pos
        pos = ent >> 8
        ttl -= 1
    return 0


# -- enumeration (drivers/pci/probe.c) -------------------------------------------------

def pci_scan_root_bus_bridge(bridge: pci_host_bridge) -> int:
    """Register the host bridge (its root bus and windows) and scan below it."""
    rc = pci_register_host_bridge(bridge)
    if rc:
        return rc
    assert bridge.bus is not None
    bridge.bus.subordinate = pci_scan_child_bus(bridge.bus)  # type: ignore[attr-defined]
    return 0


def pci_register_host_bridge(bridge: pci_host_bridge) -> int:
    k = bridge.k
    core = pci_core(k)
    if any(b.domain_nr == bridge.domain_nr and b.number == bridge.busnr
           for b in core.root_buses):
        k.printk_err(f"pci_bus {bridge.domain_nr:04x}:{bridge.busnr:02x}: "
                     "bus already known")
        return -EEXIST
    bus = pci_bus(k, None, bridge.busnr, None, bridge.ops, bridge.domain_nr)
    bus.host_bridge = bridge
    bridge.bus = bus
    if not any(d is bridge.dev for d in k.devices.devices):
        k.devices.device_add(bridge.dev)
    name = bus.name
    if bridge.parent is not None:
        dev_info(bridge.parent, f"PCI host bridge to bus {name}")
    else:
        k.printk_info(f"PCI host bridge to bus {name}")
    for res, offset in bridge.windows:
        if res.flags & F.IORESOURCE_BUS:
            bus.busn_res = Resource(res.start, res.end, None, F.IORESOURCE_BUS)
        else:
            bus.windows.append(res)
        addr = ""
        if offset:
            w = 6 if resource_type(res) == F.IORESOURCE_IO else 10
            addr = f" (bus address [{_hx(res.start - offset, w)}-{_hx(res.end - offset, w)}])"
        _bus_info(bus, f"root bus resource {pR(res)}{addr}")
    core.host_bridges.append(bridge)
    core.root_buses.append(bus)
    return 0



def _hx(v: int, width: int) -> str:
    """``%#0*llx``: 0x counts toward the width."""
    return "0x" + f"{v:x}".rjust(width - 2, "0")


def pci_scan_child_bus(bus: pci_bus) -> int:
    """Scan every slot, then the bridges below (two passes); returns the highest bus."""
    maxb = bus.busn_res.start
    for devfn in range(0, 0x100, 8):
        pci_scan_slot(bus, devfn)
    bridges = [d for d in bus.devices if d.hdr_type == R.PCI_HEADER_TYPE_BRIDGE]
    for pass_ in (0, 1):
        for dev in bridges:
            maxb = pci_scan_bridge(bus, dev, maxb, pass_)
    return maxb


def pci_scan_slot(bus: pci_bus, devfn: int) -> int:
    """Scan the functions of one slot: function 0 must answer; 1-7 only if it is
    multi-function."""
    nr = 0
    fn = 0
    while fn < 8:
        dev = pci_scan_single_device(bus, devfn + fn)
        if dev is not None:
            nr += 1
            if fn > 0:
                dev.multifunction = True
        elif fn == 0:
            break
        if fn == 0 and (dev is None or not dev.multifunction):
            break
        fn += 1
    return nr


def pci_scan_single_device(bus: pci_bus, devfn: int) -> pci_dev | None:
    for d in bus.devices:
        if d.devfn == devfn:
            return d
    dev = pci_scan_device(bus, devfn)
    if dev is None:
        return None
    pci_device_add(dev, bus)
    return dev


def pci_bus_read_dev_vendor_id(bus: pci_bus, devfn: int) -> int | None:
    rc, val = pci_bus_read_config_dword(bus, devfn, R.PCI_VENDOR_ID)
    if rc:
        return None
    if PCI_POSSIBLE_ERROR(val) or val in (0, 0x0000FFFF, 0xFFFF0000):
        return None
    return val


def pci_scan_device(bus: pci_bus, devfn: int) -> pci_dev | None:
    ident = pci_bus_read_dev_vendor_id(bus, devfn)
    if ident is None:
        return None
    dev = pci_dev(bus, devfn)
    dev.vendor = ident & 0xFFFF
    dev.device = ident >> 16
    if pci_setup_device(dev):
        return None
    return dev


def pci_setup_device(dev: pci_dev) -> int:
    k = dev.kernel
    hdr_type = dev._rd(R.PCI_HEADER_TYPE, 1)
    dev.hdr_type = hdr_type & 0x7F
    dev.multifunction = bool(hdr_type & 0x80)
    dev.dev.dma_mask = 0xFFFFFFFF
    class_rev = dev._rd(R.PCI_CLASS_REVISION, 4)
    dev.revision = class_rev & 0xFF
    dev.class_ = class_rev >> 8
    dev.current_state = PCI_UNKNOWN
    # early fixups: host bridges keep decoding while their BARs are sized
    if dev.class_ >> 8 == PCI_CLASS_BRIDGE_HOST:
        dev.mmio_always_on = True
    pci_info(dev, f"[{dev.vendor:04x}:{dev.device:04x}] type {dev.hdr_type:02x} "
                  f"class {dev.class_:#08x}")
    cls = dev.class_ >> 8
    if dev.hdr_type == R.PCI_HEADER_TYPE_NORMAL:
        if cls == PCI_CLASS_BRIDGE_PCI:
            pci_err(dev, f"ignoring class {dev.class_:#08x} (doesn't match header type "
                         f"{dev.hdr_type:02x})")
            dev.class_ = PCI_CLASS_NOT_DEFINED << 8
            return 0
        pci_read_irq(dev)
        pci_read_bases(dev, 6, R.PCI_ROM_ADDRESS)
        dev.subsystem_vendor = dev._rd(R.PCI_SUBSYSTEM_VENDOR_ID, 2)
        dev.subsystem_device = dev._rd(R.PCI_SUBSYSTEM_ID, 2)
        if cls == PCI_CLASS_STORAGE_IDE:
            _legacy_ide(dev)
    elif dev.hdr_type == R.PCI_HEADER_TYPE_BRIDGE:
        pci_read_irq(dev)
        dev.transparent = (dev.class_ & 0xFF) == 1
        pci_read_bases(dev, 2, R.PCI_ROM_ADDRESS1)
    else:
        pci_err(dev, f"unknown header type {dev.hdr_type:02x}, ignoring device")
        return -EIO
    del k
    return 0


def _legacy_ide(dev: pci_dev) -> None:
    """Legacy-mode IDE channels decode fixed ports whatever BAR0-3 say."""
    progif = dev._rd(R.PCI_CLASS_PROG, 1)
    for bit, base, ctl, i in ((1, 0x1F0, 0x3F6, 0), (4, 0x170, 0x376, 2)):
        if progif & bit:
            continue
        for j, (s, e) in enumerate(((base, base + 7), (ctl, ctl))):
            res = dev.resource[i + j]
            res.flags = LEGACY_IO_RESOURCE
            res.start, res.end = pcibios_bus_to_resource(dev.bus, s, e)
            res.name = pci_name(dev)
            pci_info(dev, f"BAR {i + j} {pR(res)}: legacy IDE quirk")


def pci_read_irq(dev: pci_dev) -> None:
    pin = dev._rd(R.PCI_INTERRUPT_PIN, 1)
    dev.pin = pin
    irq = dev._rd(R.PCI_INTERRUPT_LINE, 1) if pin else 0
    dev.irq = irq
    dev.default_irq = irq


def decode_bar(dev: pci_dev, bar: int) -> int:
    """``decode_bar``: resource flags from a BAR's low bits."""
    if (bar & R.PCI_BASE_ADDRESS_SPACE) == R.PCI_BASE_ADDRESS_SPACE_IO:
        flags = bar & ~R.PCI_BASE_ADDRESS_IO_MASK & _U32
        return flags | F.IORESOURCE_IO
    flags = bar & ~R.PCI_BASE_ADDRESS_MEM_MASK & _U32
    flags |= F.IORESOURCE_MEM
    if flags & R.PCI_BASE_ADDRESS_MEM_PREFETCH:
        flags |= F.IORESOURCE_PREFETCH
    mem_type = bar & R.PCI_BASE_ADDRESS_MEM_TYPE_MASK
    if mem_type == R.PCI_BASE_ADDRESS_MEM_TYPE_1M:
        pci_info(dev, "1M mem BAR treated as 32-bit BAR")
    elif mem_type == R.PCI_BASE_ADDRESS_MEM_TYPE_64:
        flags |= F.IORESOURCE_MEM_64
    elif mem_type != R.PCI_BASE_ADDRESS_MEM_TYPE_32:
        pci_info(dev, "unknown memory BAR type 0x6, treating as 32-bit BAR")
    return flags


def pci_size(base: int, maxbase: int, mask: int) -> int:
    size = mask & maxbase
    if not size:
        return 0
    size &= ~(size - 1)
    if base == maxbase and ((base | (size - 1)) & mask) != mask:
        return 0
    return size


def __pci_read_base(dev: pci_dev, rom: bool, res: Resource, pos: int) -> int:
    """Size one BAR the kernel's way: decode off, write all-ones, read back, restore."""
    idx = next(i for i, r in enumerate(dev.resource) if r is res)
    res_name = pci_resource_name(dev, idx)
    mask = R.PCI_ROM_ADDRESS_MASK if rom else _U32
    orig_cmd = 0
    if not dev.mmio_always_on:
        orig_cmd = dev._rd(R.PCI_COMMAND, 2)
        if orig_cmd & PCI_COMMAND_DECODE_ENABLE:
            dev._wr(R.PCI_COMMAND, 2, orig_cmd & ~PCI_COMMAND_DECODE_ENABLE)
    res.name = pci_name(dev)
    lo = dev._rd(pos, 4)
    dev._wr(pos, 4, lo | mask)
    sz = dev._rd(pos, 4)
    dev._wr(pos, 4, lo)
    if PCI_POSSIBLE_ERROR(sz):
        sz = 0
    if PCI_POSSIBLE_ERROR(lo):
        lo = 0
    if not rom:
        res.flags = decode_bar(dev, lo) | F.IORESOURCE_SIZEALIGN
        if res.flags & F.IORESOURCE_IO:
            l64 = lo & R.PCI_BASE_ADDRESS_IO_MASK
            sz64 = sz & R.PCI_BASE_ADDRESS_IO_MASK
            mask64 = R.PCI_BASE_ADDRESS_IO_MASK & 0xFFFF  # IO_SPACE_LIMIT
        else:
            l64 = lo & R.PCI_BASE_ADDRESS_MEM_MASK
            sz64 = sz & R.PCI_BASE_ADDRESS_MEM_MASK
            mask64 = R.PCI_BASE_ADDRESS_MEM_MASK
    else:
        if lo & R.PCI_ROM_ADDRESS_ENABLE:
            res.flags |= IORESOURCE_ROM_ENABLE
        l64 = lo & R.PCI_ROM_ADDRESS_MASK
        sz64 = sz & R.PCI_ROM_ADDRESS_MASK
        mask64 = R.PCI_ROM_ADDRESS_MASK
    if res.flags & F.IORESOURCE_MEM_64:
        hi = dev._rd(pos + 4, 4)
        dev._wr(pos + 4, 4, _U32)
        szh = dev._rd(pos + 4, 4)
        dev._wr(pos + 4, 4, hi)
        l64 |= hi << 32
        sz64 |= szh << 32
        mask64 |= _U32 << 32
    if not dev.mmio_always_on and orig_cmd & PCI_COMMAND_DECODE_ENABLE:
        dev._wr(R.PCI_COMMAND, 2, orig_cmd)
    is64 = 1 if res.flags & F.IORESOURCE_MEM_64 else 0
    if not sz64:
        res.flags = 0
        return is64
    sz64 = pci_size(l64, sz64, mask64)
    if not sz64:
        pci_info(dev, f"[Firmware Bug]: {res_name}: invalid; can't size")
        res.flags = 0
        return is64
    start, end = pcibios_bus_to_resource(dev.bus, l64, l64 + sz64 - 1)
    res.start, res.end = start, end
    inv_start, _ = pcibios_resource_to_bus(dev.bus, res)
    if inv_start != l64:
        res.flags |= F.IORESOURCE_UNSET
        res.start = 0
        res.end = sz64 - 1
        pci_info(dev, f"{res_name}: initial BAR value {l64:#010x} invalid")
    if res.flags:
        pci_info(dev, f"{res_name} {pR(res)}")
    return is64


def pci_read_bases(dev: pci_dev, howmany: int, rom: int) -> None:
    pos = 0
    while pos < howmany:
        res = dev.resource[pos]
        reg = R.PCI_BASE_ADDRESS_0 + (pos << 2)
        pos += __pci_read_base(dev, False, res, reg)
        pos += 1
    if rom:
        res = dev.resource[PCI_ROM_RESOURCE]
        dev.rom_base_reg = rom
        res.flags = (F.IORESOURCE_MEM | F.IORESOURCE_PREFETCH | F.IORESOURCE_READONLY
                     | F.IORESOURCE_SIZEALIGN)
        __pci_read_base(dev, True, res, rom)


def pci_device_add(dev: pci_dev, bus: pci_bus) -> None:
    """Header fixups, capabilities, and onto the bus's list (not yet the driver core)."""
    _fixup_header(dev)
    pci_init_capabilities(dev)
    bus.devices.append(dev)
    bus.devices.sort(key=lambda d: d.devfn)


def _quirk_io_region(dev: pci_dev, port: int, size: int, nr: int, name: str) -> None:
    """``quirk_io_region`` (drivers/pci/quirks.c): a fixed I/O block a chipset register
    names becomes a resource of the function, claimed in its bus window."""
    region = dev._rd(port, 2) & ~(size - 1) & 0xFFFF
    if not region:
        return
    res = dev.resource[nr]
    res.name = pci_name(dev)
    res.flags = F.IORESOURCE_IO
    res.start, res.end = pcibios_bus_to_resource(dev.bus, region, region + size - 1)
    if not pci_claim_resource(dev, nr):
        pci_info(dev, f"quirk: {pR(res)} claimed by {name}")


def _fixup_header(dev: pci_dev) -> None:
    """The header fixups the simulated platforms need: the PIIX4 ACPI function's
    power-management and SMBus blocks (quirk_piix4_acpi) and x86's shadowed video
    ROM (arch/x86/pci/fixup.c pci_fixup_video)."""
    if (dev.vendor, dev.device) == (0x8086, 0x7113):
        _quirk_io_region(dev, 0x40, 64, PCI_BRIDGE_RESOURCES, "PIIX4 ACPI")
        _quirk_io_region(dev, 0x90, 16, PCI_BRIDGE_RESOURCES + 1, "PIIX4 SMB")
    k = dev.kernel
    if not k.arch.is_x86 or dev.class_ >> 8 != PCI_CLASS_DISPLAY_VGA:
        return
    if any(d.rom_shadow for d in pci_core(k).devices()):
        return  # only the boot VGA device
    cmd = dev._rd(R.PCI_COMMAND, 2)
    if not cmd & (R.PCI_COMMAND_IO | R.PCI_COMMAND_MEMORY):
        return
    res = dev.resource[PCI_ROM_RESOURCE]
    if dev.rom_base_reg:
        reg = dev._rd(dev.rom_base_reg, 4)
        dev._wr(dev.rom_base_reg, 4, reg & ~R.PCI_ROM_ADDRESS_ENABLE)
    res.start, res.end = 0xC0000, 0xC0000 + 0x20000 - 1
    res.flags = F.IORESOURCE_MEM | IORESOURCE_ROM_SHADOW | IORESOURCE_PCI_FIXED
    dev.rom_shadow = True
    pci_info(dev, f"Video device with shadowed ROM at {pR(res)}")


def pci_init_capabilities(dev: pci_dev) -> None:
    dev.msi_cap = pci_find_capability(dev, R.PCI_CAP_ID_MSI)
    if dev.msi_cap:
        ctrl = dev._rd(dev.msi_cap + R.PCI_MSI_FLAGS, 2)
        if ctrl & R.PCI_MSI_FLAGS_ENABLE:
            dev._wr(dev.msi_cap + R.PCI_MSI_FLAGS, 2, ctrl & ~R.PCI_MSI_FLAGS_ENABLE)
        if not ctrl & R.PCI_MSI_FLAGS_64BIT:
            dev.no_64bit_msi = True
    dev.msix_cap = pci_find_capability(dev, R.PCI_CAP_ID_MSIX)
    if dev.msix_cap:
        ctrl = dev._rd(dev.msix_cap + R.PCI_MSIX_FLAGS, 2)
        if ctrl & R.PCI_MSIX_FLAGS_ENABLE:
            dev._wr(dev.msix_cap + R.PCI_MSIX_FLAGS, 2, ctrl & ~R.PCI_MSIX_FLAGS_ENABLE)
    dev.pm_cap = pci_find_capability(dev, R.PCI_CAP_ID_PM)
    if dev.pm_cap:
        pmc = dev._rd(dev.pm_cap + R.PCI_PM_PMC, 2)
        if pmc & PCI_PM_CAP_PME_MASK:
            states = "".join(s for bit, s in ((PCI_PM_CAP_PME_D0, " D0"),
                                              (PCI_PM_CAP_PME_D1, " D1"),
                                              (PCI_PM_CAP_PME_D2, " D2"),
                                              (PCI_PM_CAP_PME_D3hot, " D3hot"),
                                              (PCI_PM_CAP_PME_D3cold, " D3cold"))
                             if pmc & bit)
            pci_info(dev, f"PME# supported from{states}")


# -- bridges --------------------------------------------------------------------------

def pci_scan_bridge(bus: pci_bus, dev: pci_dev, maxb: int, pass_: int) -> int:
    """``pci_scan_bridge``: firmware-numbered bridges in pass 0, the rest in pass 1."""
    buses = dev._rd(R.PCI_PRIMARY_BUS, 4)
    primary = buses & 0xFF
    secondary = (buses >> 8) & 0xFF
    subordinate = (buses >> 16) & 0xFF
    configured = secondary and primary == bus.number and secondary > bus.number \
        and subordinate >= secondary
    if pass_ == 0:
        if not configured:
            return maxb
        child = _child_bus(bus, dev, secondary)
        child.busn_res.end = subordinate
        cmax = pci_scan_child_bus(child)
        pci_read_bridge_bases(child)
        return max(maxb, cmax, subordinate)
    if configured:
        return maxb
    # pass 1: give the bridge the next bus number, scan, then fix the subordinate
    secondary = maxb + 1
    if secondary > 0xFF:
        pci_err(dev, "can't allocate a bus number below this bridge")
        return maxb
    dev._wr(R.PCI_PRIMARY_BUS, 4, (buses & 0xFF000000) | (0xFF << 16) | (secondary << 8)
            | bus.number)
    child = _child_bus(bus, dev, secondary)
    child.busn_res.end = 0xFF
    cmax = pci_scan_child_bus(child)
    child.busn_res.end = cmax
    dev._wr(R.PCI_SUBORDINATE_BUS, 1, cmax)
    pci_read_bridge_bases(child)
    return max(maxb, cmax)


def _child_bus(parent: pci_bus, bridge: pci_dev, number: int) -> pci_bus:
    child = pci_bus(parent.k, parent, number, bridge, parent.ops, parent.domain_nr)
    child.busn_res = Resource(number, number, None, F.IORESOURCE_BUS)
    bridge.subordinate = child
    parent.children.append(child)
    name = f"PCI Bus {child.domain_nr:04x}:{number:02x}"
    for i in range(PCI_BRIDGE_RESOURCE_NUM):
        r = bridge.resource[PCI_BRIDGE_RESOURCES + i]
        r.name = name
        child.resource[i] = r
    return child


def _bus_range(bus: pci_bus) -> str:
    r = bus.busn_res
    if r.start == r.end:
        return f"[bus {r.start:02x}]"
    return f"[bus {r.start:02x}-{r.end:02x}]"


def pci_read_bridge_bases(child: pci_bus) -> None:
    dev = child.self
    if dev is None:
        return
    pci_info(dev, f"PCI bridge to {_bus_range(child)}"
                  f"{' (subtractive decode)' if dev.transparent else ''}")
    for res, window in zip(child.resource, _BRIDGE_WINDOWS, strict=False):  # io, mem, pref
        if res is not None:
            _read_bridge_window(dev, res, window)


@dataclass(frozen=True)
class _BridgeWindow:
    """How a type-1 header encodes one forwarding window (pci_read_bridge_io/mmio/
    mmio_pref in probe.c): base and limit registers hold the top address bits at
    ``shift``, the limit covers its whole granule, and a type code in the base's low
    bits says whether upper registers widen the address."""

    base: int
    limit: int
    width: int  #: of the base and limit registers
    range_mask: int
    type_mask: int
    shift: int
    granule: int  #: added to the limit: 4 KiB for I/O, 1 MiB for memory
    wide_type: int | None  #: the type code that brings the upper registers in
    upper_base: int
    upper_limit: int
    upper_width: int
    upper_shift: int
    flags: int  #: IORESOURCE_* of the window


_BRIDGE_WINDOWS = (
    _BridgeWindow(R.PCI_IO_BASE, R.PCI_IO_LIMIT, 1, R.PCI_IO_RANGE_MASK,
                  R.PCI_IO_RANGE_TYPE_MASK, 8, 0xFFF, R.PCI_IO_RANGE_TYPE_32,
                  R.PCI_IO_BASE_UPPER16, R.PCI_IO_LIMIT_UPPER16, 2, 16, F.IORESOURCE_IO),
    _BridgeWindow(R.PCI_MEMORY_BASE, R.PCI_MEMORY_LIMIT, 2, R.PCI_MEMORY_RANGE_MASK,
                  R.PCI_MEMORY_RANGE_TYPE_MASK, 16, 0xFFFFF, None, 0, 0, 0, 0,
                  F.IORESOURCE_MEM),
    _BridgeWindow(R.PCI_PREF_MEMORY_BASE, R.PCI_PREF_MEMORY_LIMIT, 2, R.PCI_PREF_RANGE_MASK,
                  R.PCI_PREF_RANGE_TYPE_MASK, 16, 0xFFFFF, R.PCI_PREF_RANGE_TYPE_64,
                  R.PCI_PREF_BASE_UPPER32, R.PCI_PREF_LIMIT_UPPER32, 4, 32,
                  F.IORESOURCE_MEM | F.IORESOURCE_PREFETCH),
)


def _read_bridge_window(dev: pci_dev, res: Resource, w: _BridgeWindow) -> None:
    base_lo = dev._rd(w.base, w.width)
    limit_lo = dev._rd(w.limit, w.width)
    kind = base_lo & w.type_mask
    base = (base_lo & w.range_mask) << w.shift
    limit = (limit_lo & w.range_mask) << w.shift
    wide = w.wide_type is not None and kind == w.wide_type
    if wide:
        base |= dev._rd(w.upper_base, w.upper_width) << w.upper_shift
        limit |= dev._rd(w.upper_limit, w.upper_width) << w.upper_shift
    if base <= limit:
        res.flags = kind | w.flags
        if wide and w.flags & F.IORESOURCE_PREFETCH:
            res.flags |= F.IORESOURCE_MEM_64
        res.start, res.end = pcibios_bus_to_resource(dev.bus, base, limit + w.granule)
        pci_info(dev, f"  bridge window {pR(res)}")


def pci_bridge_check_ranges(bus: pci_bus) -> None:
    """Which windows the bridge implements (setup-bus.c): io if its base register
    sticks, mem always, prefetchable if its base register sticks (64-bit if so typed)."""
    bridge = bus.self
    assert bridge is not None
    b_res = bridge.resource[PCI_BRIDGE_RESOURCES:PCI_BRIDGE_RESOURCES + 3]
    b_res[1].flags |= F.IORESOURCE_MEM
    io = bridge._rd(R.PCI_IO_BASE, 2)
    if not io:
        bridge._wr(R.PCI_IO_BASE, 2, 0xE0F0)
        io = bridge._rd(R.PCI_IO_BASE, 2)
        bridge._wr(R.PCI_IO_BASE, 2, 0)
    if io:
        b_res[0].flags |= F.IORESOURCE_IO
    pmem = bridge._rd(R.PCI_PREF_MEMORY_BASE, 4)
    if not pmem:
        bridge._wr(R.PCI_PREF_MEMORY_BASE, 4, 0xFFF0FFF0)
        pmem = bridge._rd(R.PCI_PREF_MEMORY_BASE, 4)
        bridge._wr(R.PCI_PREF_MEMORY_BASE, 4, 0)
    if pmem:
        b_res[2].flags |= F.IORESOURCE_MEM | F.IORESOURCE_PREFETCH
        if (pmem & R.PCI_PREF_RANGE_TYPE_MASK) == R.PCI_PREF_RANGE_TYPE_64:
            b_res[2].flags |= F.IORESOURCE_MEM_64


# -- claiming and assigning (drivers/pci/setup-res.c, setup-bus.c, arch/x86/pci/i386.c) --

def pci_find_parent_resource(dev: pci_dev, res: Resource) -> Resource | None:
    for _i, r in dev.bus.resources():
        if r is None or not r.flags:
            continue
        if r.contains(res):
            if r.flags & F.IORESOURCE_PREFETCH and not res.flags & F.IORESOURCE_PREFETCH:
                return None
            return r
    return None


def pci_claim_resource(dev: pci_dev, resno: int) -> int:
    """Insert a resource the firmware assigned into its bus window."""
    res = dev.resource[resno]
    res_name = pci_resource_name(dev, resno)
    if res.flags & F.IORESOURCE_UNSET:
        pci_info(dev, f"{res_name} {pR(res)}: can't claim; no address assigned")
        return -EINVAL
    if res.flags & IORESOURCE_ROM_SHADOW:
        return 0
    root = pci_find_parent_resource(dev, res)
    if root is None:
        pci_info(dev, f"{res_name} {pR(res)}: can't claim; no compatible bridge window")
        res.flags |= F.IORESOURCE_UNSET
        return -EINVAL
    conflict = request_resource_conflict(root, res)
    if conflict is not None:
        pci_info(dev, f"{res_name} {pR(res)}: can't claim; address conflict with "
                      f"{conflict.name} {pR(conflict)}")
        res.flags |= F.IORESOURCE_UNSET
        return -EBUSY
    return 0


def pcibios_resource_survey(k: Kernel | None = None) -> None:
    """x86: keep what the firmware assigned (pcibios_allocate_bus_resources, then the
    enabled BARs, then the disabled ones, then the ROMs); anything that does not fit
    is left for pci_assign_unassigned_resources."""
    k = k or _kern()
    core = pci_core(k)
    for bus in core.root_buses:
        _allocate_bus_resources(bus)
    for pass_ in (0, 1):
        for dev in core.devices():
            _allocate_dev_resources(dev, pass_)
    for dev in core.devices():
        r = dev.resource[PCI_ROM_RESOURCE]
        if not r.flags or not r.start or r.parent is not None:
            continue
        if pci_claim_resource(dev, PCI_ROM_RESOURCE) < 0:
            r.end -= r.start
            r.start = 0


def _allocate_bus_resources(bus: pci_bus) -> None:
    for child in bus.children:
        dev = child.self
        assert dev is not None
        for idx in range(PCI_BRIDGE_RESOURCES, PCI_NUM_RESOURCES):
            r = dev.resource[idx]
            if not r.flags or r.parent is not None:
                continue
            if not r.start or pci_claim_bridge_resource(dev, idx) < 0:
                r.start = r.end = 0
                r.flags = 0
        _allocate_bus_resources(child)


def pci_claim_bridge_resource(bridge: pci_dev, i: int) -> int:
    if i < PCI_BRIDGE_RESOURCES or i >= PCI_NUM_RESOURCES:
        return 0
    if pci_claim_resource(bridge, i) == 0:
        return 0
    return -EINVAL


def _allocate_dev_resources(dev: pci_dev, pass_: int) -> None:
    command = dev._rd(R.PCI_COMMAND, 2)
    for idx in range(PCI_ROM_RESOURCE):
        r = dev.resource[idx]
        if r.parent is not None or not r.start:
            continue
        disabled = not (command & (R.PCI_COMMAND_IO if r.flags & F.IORESOURCE_IO
                                   else R.PCI_COMMAND_MEMORY))
        if pass_ != int(disabled):
            continue
        if pci_claim_resource(dev, idx) < 0:
            if r.flags & IORESOURCE_PCI_FIXED:
                pci_info(dev, f"BAR {idx} {pR(r)} is immovable")
            else:
                r.end -= r.start
                r.start = 0
    if pass_ == 0:
        r = dev.resource[PCI_ROM_RESOURCE]
        if r.flags & IORESOURCE_ROM_ENABLE:
            r.flags &= ~IORESOURCE_ROM_ENABLE
            reg = dev._rd(dev.rom_base_reg, 4)
            dev._wr(dev.rom_base_reg, 4, reg & ~R.PCI_ROM_ADDRESS_ENABLE)


def pci_bus_claim_resources(bus: pci_bus) -> None:
    """Probe-only: claim every assigned BAR and window as the firmware left it."""
    for dev in bus.devices:
        for i in range(PCI_NUM_RESOURCES):
            r = dev.resource[i]
            if not r.flags or r.parent is not None or (r.start == 0 and r.end == 0):
                continue
            pci_claim_resource(dev, i)
        if dev.subordinate is not None:
            pci_bus_claim_resources(dev.subordinate)


def pci_resource_alignment(dev: pci_dev, res: Resource) -> int:
    """BARs align to their size, bridge windows to what sizing computed (STARTALIGN)."""
    if res.flags & F.IORESOURCE_STARTALIGN:
        return res.start
    if res.flags & F.IORESOURCE_SIZEALIGN:
        return resource_size(res)
    idx = next((i for i, r in enumerate(dev.resource) if r is res), -1)
    if PCI_BRIDGE_RESOURCES <= idx < PCI_NUM_RESOURCES:
        return res.start
    return 0


def pcibios_align_resource(dev: pci_dev, start: int, flags: int, size: int, align: int
                           ) -> int:
    """x86 arch/x86/pci/i386.c: keep I/O off ISA aliases, memory above the first MiB;
    the generic version keeps the start."""
    if not dev.kernel.arch.is_x86:
        return start
    if flags & F.IORESOURCE_IO and start & 0x300:
        start = (start + 0x3FF) & ~0x3FF
    elif flags & F.IORESOURCE_MEM and not flags & F.IORESOURCE_IO and start < BIOS_END:
        start = BIOS_END
    return start


def _allocate_resource(root: Resource, new: Resource, size: int, lo: int, hi: int,
                       align: int, alignf: Callable[[int, int, int, int], int]) -> int:
    """``allocate_resource`` (kernel/resource.c __find_resource): the first gap of
    ``root``, low to high, that holds an aligned [start, start+size) inside [lo, hi]."""
    kids = root.children
    candidates: list[tuple[int, int]] = []
    pos = root.start
    for c in kids:
        if c.start > pos:
            candidates.append((pos, c.start - 1))
        pos = max(pos, c.end + 1)
    if pos <= root.end:
        candidates.append((pos, root.end))
    for s, e in candidates:
        s, e = max(s, lo), min(e, hi)
        if e < s:
            continue
        astart = (s + align - 1) & ~(align - 1)
        if astart < s:
            continue
        start = alignf(astart, new.flags & ~F.IORESOURCE_UNSET, size, align)
        end = start + size - 1
        if start <= end and s <= start and end <= e:
            new.start, new.end = start, end
            if request_resource_conflict(root, new) is not None:
                return -EBUSY
            return 0
    return -EBUSY


_PCI_32_BIT = (0, _U32)
_PCI_64_BIT = (0, _U64)
_PCI_HIGH = (1 << 32, _U64)


def _alloc_from_region(bus: pci_bus, dev: pci_dev, res: Resource, size: int, align: int,
                       minimum: int, type_mask: int, region: tuple[int, int]) -> int:
    type_mask |= F.IORESOURCE_TYPE_BITS
    for _i, r in bus.resources():
        if r is None or not r.flags:
            continue
        if (res.flags ^ r.flags) & type_mask:
            continue
        if r.flags & F.IORESOURCE_PREFETCH and not res.flags & F.IORESOURCE_PREFETCH:
            continue
        # clip the window to the bus region (identity: no offset on these hosts)
        a_start = max(r.start, region[0])
        a_end = min(r.end, region[1])
        if a_end < a_start:
            continue
        min_used = a_start if a_start else minimum
        min_used = max(min_used, minimum) if not a_start else min_used
        if size > a_end - min_used + 1:
            continue

        def alignf(start: int, flags: int, sz: int, al: int) -> int:
            return pcibios_align_resource(dev, start, flags, sz, al)
        if _allocate_resource(r, res, size, min_used, a_end, align, alignf) == 0:
            return 0
    return -ENOMEM


def pci_bus_alloc_resource(bus: pci_bus, dev: pci_dev, res: Resource, size: int, align: int,
                           minimum: int, type_mask: int) -> int:
    if res.flags & F.IORESOURCE_MEM_64:
        if _alloc_from_region(bus, dev, res, size, align, minimum, type_mask, _PCI_HIGH) == 0:
            return 0
        return _alloc_from_region(bus, dev, res, size, align, minimum, type_mask, _PCI_64_BIT)
    return _alloc_from_region(bus, dev, res, size, align, minimum, type_mask, _PCI_32_BIT)


def _assign(dev: pci_dev, resno: int, size: int, align: int) -> int:
    bus = dev.bus
    res = dev.resource[resno]
    core = pci_core(dev.kernel)
    minimum = core.min_io if res.flags & F.IORESOURCE_IO else core.min_mem
    pm64 = F.IORESOURCE_PREFETCH | F.IORESOURCE_MEM_64
    ret = pci_bus_alloc_resource(bus, dev, res, size, align, minimum, pm64)
    if ret == 0:
        return 0
    if (res.flags & pm64) == pm64:
        ret = pci_bus_alloc_resource(bus, dev, res, size, align, minimum,
                                     F.IORESOURCE_PREFETCH)
        if ret == 0:
            return 0
    if res.flags & pm64:
        ret = pci_bus_alloc_resource(bus, dev, res, size, align, minimum, 0)
    return ret


def pci_assign_resource(dev: pci_dev, resno: int) -> int:
    """Give one resource an address inside its bus's windows and program the BAR."""
    res = dev.resource[resno]
    res_name = pci_resource_name(dev, resno)
    if res.flags & IORESOURCE_PCI_FIXED:
        return 0
    res.flags |= F.IORESOURCE_UNSET
    align = pci_resource_alignment(dev, res)
    if not align:
        pci_info(dev, f"{res_name} {pR(res)}: can't assign; bogus alignment")
        return -EINVAL
    size = resource_size(res)
    ret = _assign(dev, resno, size, align)
    if ret < 0:
        pci_info(dev, f"{res_name} {pR(res)}: can't assign; no space")
        pci_info(dev, f"{res_name} {pR(res)}: failed to assign")
        return ret
    res.flags &= ~(F.IORESOURCE_UNSET | F.IORESOURCE_STARTALIGN)
    pci_info(dev, f"{res_name} {pR(res)}: assigned")
    if resno < PCI_BRIDGE_RESOURCES:
        pci_update_resource(dev, resno)
    return 0


def pci_update_resource(dev: pci_dev, resno: int) -> None:
    """Write a resource's bus address into its BAR (pci_std_update_resource)."""
    res = dev.resource[resno]
    if not res.flags or res.flags & (F.IORESOURCE_UNSET | IORESOURCE_PCI_FIXED):
        return
    start, _ = pcibios_resource_to_bus(dev.bus, res)
    new = start & _U32
    if res.flags & F.IORESOURCE_IO:
        mask = R.PCI_BASE_ADDRESS_IO_MASK
        new |= res.flags & ~R.PCI_BASE_ADDRESS_IO_MASK & 0x3
    elif resno == PCI_ROM_RESOURCE:
        mask = R.PCI_ROM_ADDRESS_MASK
    else:
        mask = R.PCI_BASE_ADDRESS_MEM_MASK
        new |= res.flags & 0xF
    if resno < PCI_ROM_RESOURCE:
        reg = R.PCI_BASE_ADDRESS_0 + 4 * resno
    elif resno == PCI_ROM_RESOURCE:
        if not res.flags & IORESOURCE_ROM_ENABLE:
            return
        reg = dev.rom_base_reg
        new |= R.PCI_ROM_ADDRESS_ENABLE
    else:
        return
    disable = bool(res.flags & F.IORESOURCE_MEM_64) and not dev.mmio_always_on
    cmd = 0
    if disable:
        cmd = dev._rd(R.PCI_COMMAND, 2)
        dev._wr(R.PCI_COMMAND, 2, cmd & ~R.PCI_COMMAND_MEMORY)
    dev._wr(reg, 4, new)
    check = dev._rd(reg, 4)
    name = pci_resource_name(dev, resno)
    if (new ^ check) & mask:
        pci_err(dev, f"{name}: error updating ({new:#010x} != {check:#010x})")
    if res.flags & F.IORESOURCE_MEM_64:
        hi = start >> 32
        dev._wr(reg + 4, 4, hi)
        check = dev._rd(reg + 4, 4)
        if check != hi:
            pci_err(dev, f"{name}: error updating (high {hi:#010x} != {check:#010x})")
    if disable:
        dev._wr(R.PCI_COMMAND, 2, cmd)


def _sort_resources(bus: pci_bus) -> list[tuple[pci_dev, int]]:
    """pdev_sort_resources over the bus: unassigned resources, largest alignment first
    (equal alignments keep their order)."""
    out: list[tuple[pci_dev, int, int]] = []
    for dev in bus.devices:
        cls = dev.class_ >> 8
        if cls in (PCI_CLASS_NOT_DEFINED, PCI_CLASS_BRIDGE_HOST):
            continue
        for i in range(PCI_NUM_RESOURCES):
            r = dev.resource[i]
            if r.flags & IORESOURCE_PCI_FIXED or not r.flags or r.parent is not None:
                continue
            if PCI_IOV_RESOURCES <= i < PCI_BRIDGE_RESOURCES:
                continue
            align = pci_resource_alignment(dev, r)
            if not align:
                pci_warn(dev, f"BAR {i}: {pR(r)} has bogus alignment")
                continue
            pos = len(out)
            for j, (_d, _i, a) in enumerate(out):
                if align > a:
                    pos = j
                    break
            out.insert(pos, (dev, i, align))
    return [(d, i) for d, i, _a in out]


def _window_alignment(flags: int) -> int:
    return 1 << 20 if flags & F.IORESOURCE_MEM else 1 << 12


def _pbus_size(bus: pci_bus, b_res: Resource, pick: Callable[[Resource], bool]) -> None:
    """pbus_size_mem / pbus_size_io: the window that holds the picked resources below
    ``bus``, aligned as calculate_mem_align computes (1 MiB / 4 KiB at least)."""
    size = 0
    aligns: dict[int, int] = {}
    max_order = 0
    io = bool(b_res.flags & F.IORESOURCE_IO)
    for dev in bus.devices:
        for i in range(PCI_NUM_RESOURCES):
            r = dev.resource[i]
            if not r.flags or r.parent is not None or not pick(r):
                continue
            if PCI_IOV_RESOURCES <= i < PCI_BRIDGE_RESOURCES:
                continue
            r_size = resource_size(r)
            align = pci_resource_alignment(dev, r)
            if io:
                size += max(r_size, 4)
                continue
            order = max(align.bit_length() - 1 - 20, 0)
            size += max(r_size, align)
            if r_size <= align:
                aligns[order] = aligns.get(order, 0) + align
            max_order = max(max_order, order)
    min_align = _window_alignment(b_res.flags)
    if not io:
        acc = 0
        ma = 0
        for order in range(max_order + 1):
            align1 = 1 << (order + 20)
            if not acc:
                ma = align1
            elif ((acc + ma + ma - 1) & ~(ma - 1)) < align1:
                ma = align1 >> 1
            acc += aligns.get(order, 0)
        min_align = max(ma, min_align)
    size0 = (size + min_align - 1) & ~(min_align - 1)
    if not size0:
        if b_res.start and bus.self is not None:
            pci_info(bus.self, f"disabling bridge window {pR(b_res)} to {_bus_range(bus)} "
                               "(unused)")
        b_res.flags = 0
        return
    b_res.start = min_align
    b_res.end = size0 + min_align - 1
    b_res.flags |= F.IORESOURCE_STARTALIGN


def pci_bus_size_bridges(bus: pci_bus) -> None:
    """``__pci_bus_size_bridges``: size the windows of every unassigned bridge below
    ``bus`` (children first) to hold what is behind it."""
    for dev in bus.devices:
        b = dev.subordinate
        if b is not None:
            pci_bus_size_bridges(b)
    if bus.self is None:
        return
    bridge = bus.self
    w = bridge.resource[PCI_BRIDGE_RESOURCES:PCI_BRIDGE_RESOURCES + 3]
    if any(r.parent is not None for r in w):
        return  # firmware-assigned windows stay
    pci_bridge_check_ranges(bus)
    io, mem, pref = w
    pref64 = bool(pref.flags & F.IORESOURCE_MEM_64)

    def is_pref(r: Resource) -> bool:
        if not r.flags & F.IORESOURCE_MEM or not r.flags & F.IORESOURCE_PREFETCH:
            return False
        return pref64 or not r.flags & F.IORESOURCE_MEM_64
    if io.flags:
        _pbus_size(bus, io, lambda r: bool(r.flags & F.IORESOURCE_IO))
    if pref.flags:
        _pbus_size(bus, pref, is_pref)
    use_pref = bool(pref.flags)
    _pbus_size(bus, mem, lambda r: bool(r.flags & F.IORESOURCE_MEM)
               and not (use_pref and is_pref(r)))


def pci_bus_assign_resources(bus: pci_bus) -> None:
    """``__pci_bus_assign_resources``: assign this bus's unassigned resources (bridge
    windows included), then program each bridge and recurse below it."""
    for dev, i in _sort_resources(bus):
        pci_assign_resource(dev, i)
    for dev in bus.devices:
        b = dev.subordinate
        if b is None:
            continue
        pci_bus_assign_resources(b)
        pci_setup_bridge(b)


def pci_setup_bridge(bus: pci_bus) -> None:
    """Program a bridge's windows from its resources (``__pci_setup_bridge``)."""
    bridge = bus.self
    if bridge is None:
        return
    pci_info(bridge, f"PCI bridge to {_bus_range(bus)}")
    io, mem, pref = bridge.resource[PCI_BRIDGE_RESOURCES:PCI_BRIDGE_RESOURCES + 3]
    if io.flags & F.IORESOURCE_IO and io.parent is not None:
        s, e = pcibios_resource_to_bus(bridge.bus, io)
        bridge._wr(R.PCI_IO_BASE, 1, ((s >> 8) & 0xF0) | (bridge._rd(R.PCI_IO_BASE, 1) & 0xF))
        bridge._wr(R.PCI_IO_LIMIT, 1, ((e >> 8) & 0xF0)
                   | (bridge._rd(R.PCI_IO_LIMIT, 1) & 0xF))
        bridge._wr(R.PCI_IO_BASE_UPPER16, 4, ((e >> 16) << 16) | (s >> 16))
        pci_info(bridge, f"  bridge window {pR(io)}")
    else:
        bridge._wr(R.PCI_IO_BASE_UPPER16, 4, 0)
        bridge._wr(R.PCI_IO_BASE, 2, 0x00F0)
    if mem.flags & F.IORESOURCE_MEM and mem.parent is not None:
        s, e = pcibios_resource_to_bus(bridge.bus, mem)
        bridge._wr(R.PCI_MEMORY_BASE, 4, ((s >> 16) & 0xFFF0) | (e & 0xFFF00000))
        pci_info(bridge, f"  bridge window {pR(mem)}")
    else:
        bridge._wr(R.PCI_MEMORY_BASE, 4, 0x0000FFF0)
    if pref.flags & F.IORESOURCE_PREFETCH and pref.parent is not None:
        s, e = pcibios_resource_to_bus(bridge.bus, pref)
        bridge._wr(R.PCI_PREF_MEMORY_BASE, 4, ((s >> 16) & 0xFFF0) | (e & 0xFFF00000))
        if pref.flags & F.IORESOURCE_MEM_64:
            bridge._wr(R.PCI_PREF_BASE_UPPER32, 4, s >> 32)
            bridge._wr(R.PCI_PREF_LIMIT_UPPER32, 4, e >> 32)
        pci_info(bridge, f"  bridge window {pR(pref)}")
    else:
        bridge._wr(R.PCI_PREF_MEMORY_BASE, 4, 0x0000FFF0)
        bridge._wr(R.PCI_PREF_BASE_UPPER32, 4, 0)
        bridge._wr(R.PCI_PREF_LIMIT_UPPER32, 4, 0)
    bridge._wr(R.PCI_BRIDGE_CONTROL, 2, bridge._rd(R.PCI_BRIDGE_CONTROL, 2))


def pci_bus_dump_resources(bus: pci_bus) -> None:
    for i, r in bus.resources():
        if r is None or not r.end or not r.flags:
            continue
        _bus_info(bus, f"resource {i} {pR(r)}")
    for dev in bus.devices:
        if dev.subordinate is not None:
            pci_bus_dump_resources(dev.subordinate)


def pci_assign_unassigned_root_bus_resources(bus: pci_bus) -> None:
    pci_bus_size_bridges(bus)
    pci_bus_assign_resources(bus)
    pci_bus_dump_resources(bus)


def pci_assign_unassigned_resources(k: Kernel | None = None) -> None:
    for bus in pci_core(k or _kern()).root_buses:
        pci_assign_unassigned_root_bus_resources(bus)


def pci_bus_add_devices(bus: pci_bus) -> None:
    """Hand every new function to the driver core (drivers bind here)."""
    for dev in list(bus.devices):
        if not dev.is_added:
            pci_bus_add_device(dev)
    for dev in list(bus.devices):
        if dev.subordinate is not None:
            pci_bus_add_devices(dev.subordinate)


def pci_bus_add_device(dev: pci_dev) -> None:
    dev.match_driver = True
    dev.is_added = True
    dev.kernel.devices.device_add(dev.dev)


def pci_host_probe(bridge: pci_host_bridge) -> int:
    """The generic host flow (drivers/pci/probe.c): scan, then keep the firmware's
    assignment (``preserve_config``) or size and assign everything, then add."""
    rc = pci_scan_root_bus_bridge(bridge)
    if rc:
        return rc
    bus = bridge.bus
    assert bus is not None
    if bridge.preserve_config:
        pci_bus_claim_resources(bus)
    else:
        pci_bus_size_bridges(bus)
        pci_bus_assign_resources(bus)
    pci_bus_add_devices(bus)
    return 0


def pci_stop_and_remove_bus_device(dev: pci_dev) -> None:
    """Remove a function (and what is below it): unbind, release its resources."""
    if dev.subordinate is not None:
        for child in list(dev.subordinate.devices):
            pci_stop_and_remove_bus_device(child)
    k = dev.kernel
    if dev.is_added:
        k.devices.device_del(dev.dev)
        dev.is_added = False
    for r in dev.resource:
        if r.parent is not None:
            from .resource import release_resource
            release_resource(r)
    if dev in dev.bus.devices:
        dev.bus.devices.remove(dev)


# -- the driver model (drivers/pci/pci-driver.c) ----------------------------------------

class pci_driver(DeviceDriver):  # noqa: N801
    """``struct pci_driver``: ``probe(pdev, id) -> 0 | -errno`` and ``remove(pdev)``."""

    bus_type = pci_bus_type

    def __init__(self, name: str, id_table: list[pci_device_id] | None = None,
                 probe: Callable[[pci_dev, pci_device_id], int | None] | None = None,
                 remove: Callable[[pci_dev], Any] | None = None,
                 shutdown: Callable[[pci_dev], Any] | None = None) -> None:
        super().__init__(name, probe, remove)
        self.id_table = list(id_table or [])
        self.shutdown = shutdown
        self.dynids: list[pci_device_id] = []

    @property
    def driver(self) -> DeviceDriver:
        """``&drv->driver``."""
        return self


def pci_match_device(drv: pci_driver, dev: pci_dev) -> pci_device_id | None:
    """dynamic ids first, then the id table; driver_override decides alone when set."""
    if dev.driver_override and dev.driver_override != drv.name:
        return None
    for i in drv.dynids:
        if pci_match_one_device(i, dev):
            return i
    for i in drv.id_table:
        if _id_is_terminator(i):
            break
        if pci_match_one_device(i, dev):
            if i.override_only:
                if dev.driver_override:
                    return i
                continue
            return i
    if dev.driver_override:
        return pci_device_id_any
    return None


def pci_assign_irq(dev: pci_dev) -> None:
    """Platforms whose kernel routes INTx (``map_irq``) set dev->irq and the line register."""
    hb = _root_host_bridge(dev.bus)
    if hb is None or hb.map_irq is None or not dev.pin:
        return
    pin = dev.pin
    slot = PCI_SLOT(dev.devfn)
    d = dev
    while d.bus.self is not None:  # pci_common_swizzle
        pin = ((pin - 1 + PCI_SLOT(d.devfn)) % 4) + 1
        d = d.bus.self
    slot = PCI_SLOT(d.devfn)
    irq = hb.map_irq(dev, slot, pin)
    if irq == -1:
        irq = 0
    dev.irq = irq
    dev.default_irq = irq
    dev._wr(R.PCI_INTERRUPT_LINE, 1, irq & 0xFF)


def pci_device_probe(d: Device) -> int:
    dev = to_pci_dev(d)
    drv = d.driver
    assert isinstance(drv, pci_driver)
    pci_assign_irq(dev)
    if drv.probe is None:
        return 0
    pid = pci_match_device(drv, dev)
    if pid is None:
        return -ENODEV
    dev.driver = drv
    rc = drv.probe(dev, pid)
    rc = 0 if rc is None else rc
    if not isinstance(rc, int) or isinstance(rc, bool):
        dev.driver = None
        raise TypeError(f"{drv.name}: probe must return 0 or a negative errno, not {rc!r}")
    if rc == 0:
        return 0
    if rc < 0:
        dev.driver = None
        return rc
    pci_warn(dev, f"Driver probe function unexpectedly returned {rc}")
    return 0


def pci_device_remove(d: Device) -> None:
    dev = to_pci_dev(d)
    drv = dev.driver
    if drv is not None and drv.remove is not None:
        drv.remove(dev)
    dev.driver = None
    if dev.current_state == PCI_D0:
        dev.current_state = PCI_UNKNOWN


def pci_register_driver(drv: pci_driver) -> int:
    """``pci_register_driver``: register and bind to every matching function."""
    if not isinstance(drv, pci_driver):
        raise TypeError(f"pci_register_driver: {drv!r} is not a pci_driver")
    return _kern().devices.driver_register(drv)


def pci_unregister_driver(drv: pci_driver) -> None:
    k = drv.kernel or _kern()
    k.devices.driver_unregister(drv)


def pci_add_dynid(drv: pci_driver, vendor: int, device: int, subvendor: int = PCI_ANY_ID,
                  subdevice: int = PCI_ANY_ID, class_: int = 0, class_mask: int = 0,
                  driver_data: Any = 0) -> int:
    """Add an id at run time (``new_id``) and bind to what now matches."""
    drv.dynids.append(pci_device_id(vendor, device, subvendor, subdevice, class_,
                                    class_mask, driver_data))
    k = drv.kernel or _kern()
    for d in list(k.devices.devices):
        if d.driver is None and d.bus is pci_bus_type and pci_bus_type.match(d, drv):
            k.devices.driver_probe_device(drv, d)
    return 0


def new_id_store(drv: pci_driver, text: str) -> int:
    """A write to /sys/bus/pci/drivers/NAME/new_id: "vendor device [subvendor subdevice
    class class_mask driver_data]" in hex; -EINVAL on a malformed line, -EEXIST if the
    id is already there."""
    fields = text.split()
    if len(fields) < 2 or len(fields) > 7:
        return -EINVAL
    try:
        vals = [int(f, 16) for f in fields]
    except ValueError:
        return -EINVAL
    vals += [PCI_ANY_ID, PCI_ANY_ID, 0, 0, 0][len(vals) - 2:]
    vendor, device, subvendor, subdevice, class_, class_mask, data = vals[:7]
    probe = pci_dev.__new__(pci_dev)
    probe.vendor, probe.device = vendor, device
    probe.subsystem_vendor, probe.subsystem_device = subvendor, subdevice
    probe.class_ = class_
    probe.driver_override = None
    if pci_match_id(drv.id_table, probe) is not None or any(
            (i.vendor, i.device, i.subvendor, i.subdevice, i.class_, i.class_mask)
            == (vendor, device, subvendor, subdevice, class_, class_mask) for i in drv.dynids):
        return -EEXIST
    return pci_add_dynid(drv, vendor, device, subvendor, subdevice, class_, class_mask, data)


# -- enable, bus mastering, INTx (drivers/pci/pci.c, arch/x86/pci/common.c) -------------

def _find_pci_dr(pdev: pci_dev) -> pci_devres | None:
    return pdev._pci_devres if pdev.is_managed else None


def pci_enable_resources(dev: pci_dev, mask: int) -> int:
    cmd = old_cmd = dev._rd(R.PCI_COMMAND, 2)
    for i in range(PCI_NUM_RESOURCES):
        if not mask & (1 << i):
            continue
        r = dev.resource[i]
        if not r.flags & (F.IORESOURCE_IO | F.IORESOURCE_MEM):
            continue
        if i == PCI_ROM_RESOURCE and not r.flags & IORESOURCE_ROM_ENABLE:
            continue
        if r.flags & F.IORESOURCE_UNSET:
            pci_err(dev, f"{pci_resource_name(dev, i)} {pR(r)}: not assigned; can't enable "
                         "device")
            return -EINVAL
        if r.parent is None:
            pci_err(dev, f"{pci_resource_name(dev, i)} {pR(r)}: not claimed; can't enable "
                         "device")
            return -EINVAL
        if r.flags & F.IORESOURCE_IO:
            cmd |= R.PCI_COMMAND_IO
        if r.flags & F.IORESOURCE_MEM:
            cmd |= R.PCI_COMMAND_MEMORY
    if cmd != old_cmd:
        pci_info(dev, f"enabling device ({old_cmd:04x} -> {cmd:04x})")
        dev._wr(R.PCI_COMMAND, 2, cmd)
    return 0


def _enable_device_flags(dev: pci_dev, flags: int) -> int:
    if dev.current_state == PCI_UNKNOWN:
        dev.current_state = PCI_D0  # pci_update_current_state: no PM cap says D0
    dev.enable_cnt += 1
    if dev.enable_cnt > 1:
        return 0
    bridge = pci_upstream_bridge(dev)
    if bridge is not None and not pci_is_enabled(bridge):
        pci_enable_bridge(bridge)
    bars = 0
    for i in range(PCI_ROM_RESOURCE + 1):
        if dev.resource[i].flags & flags:
            bars |= 1 << i
    for i in range(PCI_BRIDGE_RESOURCES, PCI_NUM_RESOURCES):
        if dev.resource[i].flags & flags:
            bars |= 1 << i
    err = pci_enable_resources(dev, bars)
    if err == 0 and not (dev.msi_enabled or dev.msix_enabled):
        hook = pci_core(dev.kernel).enable_irq_hook
        if hook is not None:
            err = hook(dev)
    if err < 0:
        dev.enable_cnt -= 1
        return err
    dev.current_state = PCI_D0
    if dev.msi_enabled or dev.msix_enabled:
        return 0
    if dev.pin:
        cmd = dev._rd(R.PCI_COMMAND, 2)
        if cmd & R.PCI_COMMAND_INTX_DISABLE:
            dev._wr(R.PCI_COMMAND, 2, cmd & ~R.PCI_COMMAND_INTX_DISABLE)
    return 0


def pci_enable_bridge(dev: pci_dev) -> None:
    bridge = pci_upstream_bridge(dev)
    if bridge is not None:
        pci_enable_bridge(bridge)
    if pci_is_enabled(dev):
        if not dev.is_busmaster:
            pci_set_master(dev)
        return
    if pci_enable_device(dev):
        pci_err(dev, f"Error enabling bridge (-{EINVAL}), continuing")
    pci_set_master(dev)


def pci_enable_device(dev: pci_dev) -> int:
    """Turn on I/O and memory decode for the BARs (the driver's first step)."""
    return _enable_device_flags(dev, F.IORESOURCE_MEM | F.IORESOURCE_IO)


def pci_enable_device_mem(dev: pci_dev) -> int:
    return _enable_device_flags(dev, F.IORESOURCE_MEM)


def pci_enable_device_io(dev: pci_dev) -> int:
    return _enable_device_flags(dev, F.IORESOURCE_IO)


def pci_is_enabled(dev: pci_dev) -> bool:
    return dev.enable_cnt > 0


def pci_disable_device(dev: pci_dev) -> None:
    """Drop one enable; the last one clears bus mastering (decode stays on)."""
    dr = _find_pci_dr(dev)
    if dr is not None:
        dr.enabled = False
    if dev.enable_cnt <= 0:
        k = dev.kernel
        k.WARN(f"{dev.dev.driver.name if dev.dev.driver else 'pci'} {dev.name}: disabling "
               "already-disabled device", "drivers/pci/pci.c", "pci_disable_device",
               once=True)
    dev.enable_cnt -= 1
    if dev.enable_cnt != 0:
        return
    cmd = dev._rd(R.PCI_COMMAND, 2)
    if cmd & R.PCI_COMMAND_MASTER:
        dev._wr(R.PCI_COMMAND, 2, cmd & ~R.PCI_COMMAND_MASTER)
    dev.is_busmaster = False


def _set_master(dev: pci_dev, enable: bool) -> None:
    old = dev._rd(R.PCI_COMMAND, 2)
    cmd = old | R.PCI_COMMAND_MASTER if enable else old & ~R.PCI_COMMAND_MASTER
    if cmd != old:
        pci_dbg(dev, f"{'enabling' if enable else 'disabling'} bus mastering")
        dev._wr(R.PCI_COMMAND, 2, cmd)
    dev.is_busmaster = enable


def pci_set_master(dev: pci_dev) -> None:
    """Let the function master the bus (DMA, MSI); x86 also sets the latency timer."""
    _set_master(dev, True)
    if dev.kernel.arch.is_x86:
        lat = dev._rd(R.PCI_LATENCY_TIMER, 1)
        if lat < 16:
            dev._wr(R.PCI_LATENCY_TIMER, 1, 64)


def pci_clear_master(dev: pci_dev) -> None:
    _set_master(dev, False)


def pci_intx(pdev: pci_dev, enable: int | bool) -> None:
    cmd = pdev._rd(R.PCI_COMMAND, 2)
    new = cmd & ~R.PCI_COMMAND_INTX_DISABLE if enable else cmd | R.PCI_COMMAND_INTX_DISABLE
    if new != cmd:
        pdev._wr(R.PCI_COMMAND, 2, new)
        dr = _find_pci_dr(pdev)
        if dr is not None and not dr.restore_intx:
            dr.restore_intx = True
            dr.orig_intx = not enable


def _check_and_set_intx_mask(dev: pci_dev, mask: bool) -> bool:
    """``pci_check_and_set_intx_mask``: one dword read of command and status; mask INTx
    only if this device asserts it (unmask only if nothing is pending)."""
    cmd_status = dev._rd(R.PCI_COMMAND, 4)
    irq_pending = bool((cmd_status >> 16) & R.PCI_STATUS_INTERRUPT)
    if mask != irq_pending:
        return False
    orig = cmd_status & 0xFFFF
    new = orig & ~R.PCI_COMMAND_INTX_DISABLE
    if mask:
        new |= R.PCI_COMMAND_INTX_DISABLE
    if new != orig:
        dev._wr(R.PCI_COMMAND, 2, new)
    return True


def pci_check_and_mask_intx(dev: pci_dev) -> bool:
    """Mask INTx if this device raised it; True if it did (a shared-irq handler's test)."""
    return _check_and_set_intx_mask(dev, True)


def pci_check_and_unmask_intx(dev: pci_dev) -> bool:
    """Unmask INTx unless an interrupt is already pending (then False: re-signal instead)."""
    return _check_and_set_intx_mask(dev, False)


def pci_intx_mask_supported(dev: pci_dev) -> bool:
    """Does the command register's INTx-disable bit stick (PCI 2.3)? Flip it and look."""
    orig = dev._rd(R.PCI_COMMAND, 2)
    dev._wr(R.PCI_COMMAND, 2, orig ^ R.PCI_COMMAND_INTX_DISABLE)
    new = dev._rd(R.PCI_COMMAND, 2)
    if (new ^ orig) & ~R.PCI_COMMAND_INTX_DISABLE:
        pci_err(dev, f"Command register changed from 0x{orig:x} to 0x{new:x}: driver or "
                f"hardware bug?")
        return False
    if (new ^ orig) & R.PCI_COMMAND_INTX_DISABLE:
        dev._wr(R.PCI_COMMAND, 2, orig)
        return True
    return False


# -- regions ----------------------------------------------------------------------------

def __pci_request_region(pdev: pci_dev, bar: int, res_name: str | None, exclusive: int) -> int:
    k = pdev.kernel
    if pci_resource_len(pdev, bar) == 0:
        return 0
    start, n = pci_resource_start(pdev, bar), pci_resource_len(pdev, bar)
    flags = pci_resource_flags(pdev, bar)
    if flags & F.IORESOURCE_IO:
        ok = k.request_region(start, n, res_name)
    elif flags & F.IORESOURCE_MEM:
        ok = (k.request_mem_region_exclusive(start, n, res_name) if exclusive
              else k.request_mem_region(start, n, res_name))
    else:
        ok = True
    if not ok:
        pci_warn(pdev, f"BAR {bar}: can't reserve {pR(pdev.resource[bar])}")
        return -EBUSY
    dr = _find_pci_dr(pdev)
    if dr is not None:
        dr.region_mask |= 1 << bar
    return 0


def pci_request_region(pdev: pci_dev, bar: int, res_name: str | None) -> int:
    """Claim BAR ``bar`` (BUSY, named ``res_name``) inside its BAR resource."""
    return __pci_request_region(pdev, bar, res_name, 0)


def pci_release_region(pdev: pci_dev, bar: int) -> None:
    k = pdev.kernel
    if pci_resource_len(pdev, bar) == 0:
        return
    start, n = pci_resource_start(pdev, bar), pci_resource_len(pdev, bar)
    flags = pci_resource_flags(pdev, bar)
    if flags & F.IORESOURCE_IO:
        k.release_region(start, n)
    elif flags & F.IORESOURCE_MEM:
        k.release_mem_region(start, n)
    dr = _find_pci_dr(pdev)
    if dr is not None:
        dr.region_mask &= ~(1 << bar)


def _request_selected(pdev: pci_dev, bars: int, res_name: str | None, excl: int) -> int:
    for i in range(PCI_STD_NUM_BARS):
        if bars & (1 << i) and __pci_request_region(pdev, i, res_name, excl):
            for j in range(i - 1, -1, -1):
                if bars & (1 << j):
                    pci_release_region(pdev, j)
            return -EBUSY
    return 0


def pci_request_selected_regions(pdev: pci_dev, bars: int, res_name: str | None) -> int:
    return _request_selected(pdev, bars, res_name, 0)


def pci_request_selected_regions_exclusive(pdev: pci_dev, bars: int,
                                           res_name: str | None) -> int:
    return _request_selected(pdev, bars, res_name, 1)


def pci_release_selected_regions(pdev: pci_dev, bars: int) -> None:
    for i in range(PCI_STD_NUM_BARS):
        if bars & (1 << i):
            pci_release_region(pdev, i)


def pci_request_regions(pdev: pci_dev, res_name: str | None) -> int:
    """Claim all six BARs (what has no length is skipped)."""
    return pci_request_selected_regions(pdev, (1 << PCI_STD_NUM_BARS) - 1, res_name)


def pci_request_regions_exclusive(pdev: pci_dev, res_name: str | None) -> int:
    return pci_request_selected_regions_exclusive(pdev, (1 << PCI_STD_NUM_BARS) - 1,
                                                  res_name)


def pci_release_regions(pdev: pci_dev) -> None:
    pci_release_selected_regions(pdev, (1 << PCI_STD_NUM_BARS) - 1)


def pci_request_mem_regions(pdev: pci_dev, name: str | None) -> int:
    return pci_request_selected_regions(pdev, pci_select_bars(pdev, F.IORESOURCE_MEM), name)


def pci_release_mem_regions(pdev: pci_dev) -> None:
    pci_release_selected_regions(pdev, pci_select_bars(pdev, F.IORESOURCE_MEM))


# -- managed PCI (drivers/pci/pci.c pcim_*) -----------------------------------------------

def _pcim_release(d: Device, dr: pci_devres) -> None:
    pdev = to_pci_dev(d)
    for i in range(DEVICE_COUNT_RESOURCE):
        if dr.region_mask & (1 << i):
            pci_release_region(pdev, i)
    if dr.restore_intx:
        pci_intx(pdev, dr.orig_intx)
    if dr.enabled and not dr.pinned:
        pci_disable_device(pdev)
    pdev._pci_devres = None
    pdev.is_managed = False


def _get_pci_dr(pdev: pci_dev) -> pci_devres:
    if pdev._pci_devres is None:
        dr = pci_devres()
        pdev._pci_devres = dr
        pdev.kernel.devices.devres_add(pdev.dev, _pcim_release, dr, "pcim_release")
    return pdev._pci_devres


def pcim_enable_device(pdev: pci_dev) -> int:
    """Managed pci_enable_device: regions requested afterwards, MSI vectors and the
    enable itself are undone when the driver unbinds."""
    dr = _get_pci_dr(pdev)
    if dr.enabled:
        return 0
    rc = pci_enable_device(pdev)
    if not rc:
        pdev.is_managed = True
        dr.enabled = True
    return rc


def pcim_pin_device(pdev: pci_dev) -> None:
    dr = _find_pci_dr(pdev)
    if dr is None or not dr.enabled:
        pdev.kernel.WARN_ON("drivers/pci/pci.c", "pcim_pin_device")
    if dr is not None:
        dr.pinned = True


def pci_is_managed(pdev: pci_dev) -> bool:
    return pdev.is_managed


# -- MSI / MSI-X and irq vectors (drivers/pci/msi/) ---------------------------------------

def pci_msi_vec_count(dev: pci_dev) -> int:
    if not dev.msi_cap:
        return -EINVAL
    ctrl = dev._rd(dev.msi_cap + R.PCI_MSI_FLAGS, 2)
    return 1 << ((ctrl & R.PCI_MSI_FLAGS_QMASK) >> 1)


def pci_msix_vec_count(dev: pci_dev) -> int:
    if not dev.msix_cap:
        return -EINVAL
    ctrl = dev._rd(dev.msix_cap + R.PCI_MSIX_FLAGS, 2)
    return (ctrl & R.PCI_MSIX_FLAGS_QSIZE) + 1


def _msi_message(dev: pci_dev, vector: int) -> tuple[int, int]:
    return pci_core(dev.kernel).msi_address, vector & 0xFF


def _msi_capability_init(dev: pci_dev, nvec: int) -> int:
    from .irq import irq_core

    core = pci_core(dev.kernel)
    if nvec > 1 and not core.msi_multi:
        return 1  # the x86 vector domain: one MSI per function without remapping
    pos = dev.msi_cap
    ctrl = dev._rd(pos + R.PCI_MSI_FLAGS, 2)
    dev._wr(pos + R.PCI_MSI_FLAGS, 2, ctrl & ~R.PCI_MSI_FLAGS_ENABLE)
    irqs: list[int] = []
    irqc = irq_core(dev.kernel)
    first_vector = 0
    for i in range(nvec):
        irq, vector = irqc.alloc_msi_irq(dev, (pci_dev_id(dev) << 11) | i, i)
        irqs.append(irq)
        if i == 0:
            first_vector = vector
    address, data = _msi_message(dev, first_vector)
    dev._wr(pos + R.PCI_MSI_ADDRESS_LO, 4, address & _U32)
    if ctrl & R.PCI_MSI_FLAGS_64BIT:
        dev._wr(pos + R.PCI_MSI_ADDRESS_HI, 4, address >> 32)
        dev._wr(pos + R.PCI_MSI_DATA_64, 2, data)
    else:
        dev._wr(pos + R.PCI_MSI_DATA_32, 2, data)
    multiple = (nvec - 1).bit_length()
    ctrl = dev._rd(pos + R.PCI_MSI_FLAGS, 2)
    ctrl = (ctrl & ~R.PCI_MSI_FLAGS_QSIZE) | (multiple << 4)
    dev._wr(pos + R.PCI_MSI_FLAGS, 2, ctrl)
    pci_intx(dev, 0)
    dev._wr(pos + R.PCI_MSI_FLAGS, 2, ctrl | R.PCI_MSI_FLAGS_ENABLE)
    dev.msi_enabled = True
    dev.msi_irqs = irqs
    dev.irq = irqs[0]
    return 0


def _pci_msi_supported(dev: pci_dev, nvec: int) -> bool:
    return nvec >= 1 and not (dev.msi_enabled or dev.msix_enabled)


def __pci_enable_msi_range(dev: pci_dev, minvec: int, maxvec: int) -> int:
    if maxvec < minvec:
        return -ERANGE
    if dev.msi_enabled:
        dev.kernel.WARN_ON("drivers/pci/msi/msi.c", "__pci_enable_msi_range")
        return -EINVAL
    if not dev.msi_cap or not _pci_msi_supported(dev, minvec) or dev.current_state != PCI_D0:
        return -EINVAL
    nvec = pci_msi_vec_count(dev)
    if nvec < 0:
        return nvec
    if nvec < minvec:
        return -ENOSPC
    nvec = min(nvec, maxvec)
    while True:
        rc = _msi_capability_init(dev, nvec)
        if rc == 0:
            return nvec
        if rc < 0:
            return rc
        if rc < minvec:
            return -ENOSPC
        nvec = rc


def pci_enable_msi(dev: pci_dev) -> int:
    rc = __pci_enable_msi_range(dev, 1, 1)
    return rc if rc < 0 else 0


def pci_disable_msi(dev: pci_dev) -> None:
    from .irq import irq_core

    if not dev.msi_enabled:
        return
    pos = dev.msi_cap
    ctrl = dev._rd(pos + R.PCI_MSI_FLAGS, 2)
    dev._wr(pos + R.PCI_MSI_FLAGS, 2, ctrl & ~R.PCI_MSI_FLAGS_ENABLE)
    pci_intx(dev, 1)
    dev.msi_enabled = False
    for irq in dev.msi_irqs:
        irq_core(dev.kernel).free_msi_irq(irq)
    dev.msi_irqs = []
    dev.irq = dev.default_irq


def _msix_enable(dev: pci_dev, nvec: int) -> int:
    from .irq import irq_core
    from .kernel import Kernel  # noqa: F401 - for typing readers

    k = dev.kernel
    pos = dev.msix_cap
    ctrl = dev._rd(pos + R.PCI_MSIX_FLAGS, 2)
    dev._wr(pos + R.PCI_MSIX_FLAGS, 2, ctrl & ~R.PCI_MSIX_FLAGS_ENABLE)
    table = dev._rd(pos + R.PCI_MSIX_TABLE, 4)
    bir = table & R.PCI_MSIX_TABLE_BIR
    offset = table & R.PCI_MSIX_TABLE_OFFSET
    tsize = (ctrl & R.PCI_MSIX_FLAGS_QSIZE) + 1
    phys = pci_resource_start(dev, bir)
    if not phys or not pci_resource_len(dev, bir):
        return -ENOMEM
    base = k.ioremap(phys + offset, tsize * R.PCI_MSIX_ENTRY_SIZE)
    if base is None:
        return -ENOMEM
    from .io import writel
    dev.msix_base = base
    dev._wr(pos + R.PCI_MSIX_FLAGS, 2, (ctrl & ~0) | R.PCI_MSIX_FLAGS_MASKALL
            | R.PCI_MSIX_FLAGS_ENABLE)
    irqs: list[int] = []
    for i in range(nvec):
        irq, vector = irq_core(k).alloc_msi_irq(dev, (pci_dev_id(dev) << 11) | i, i)
        irqs.append(irq)
        address, data = _msi_message(dev, vector)
        e = base + i * R.PCI_MSIX_ENTRY_SIZE
        writel(address & _U32, e + R.PCI_MSIX_ENTRY_LOWER_ADDR)
        writel(address >> 32, e + R.PCI_MSIX_ENTRY_UPPER_ADDR)
        writel(data, e + R.PCI_MSIX_ENTRY_DATA)
        writel(0, e + R.PCI_MSIX_ENTRY_VECTOR_CTRL)
    for i in range(nvec, tsize):
        writel(R.PCI_MSIX_ENTRY_CTRL_MASKBIT,
               base + i * R.PCI_MSIX_ENTRY_SIZE + R.PCI_MSIX_ENTRY_VECTOR_CTRL)
    pci_intx(dev, 0)
    ctrl = dev._rd(pos + R.PCI_MSIX_FLAGS, 2)
    dev._wr(pos + R.PCI_MSIX_FLAGS, 2, ctrl & ~R.PCI_MSIX_FLAGS_MASKALL)
    dev.msix_enabled = True
    dev.msi_irqs = irqs
    return 0


def __pci_enable_msix_range(dev: pci_dev, minvec: int, maxvec: int) -> int:
    if maxvec < minvec:
        return -ERANGE
    if dev.msix_enabled or dev.msi_enabled:
        return -EINVAL
    if not dev.msix_cap or dev.current_state != PCI_D0:
        return -EINVAL
    hwsize = pci_msix_vec_count(dev)
    if hwsize < minvec:
        return -ENOSPC
    nvec = min(hwsize, maxvec)
    rc = _msix_enable(dev, nvec)
    return rc if rc < 0 else nvec


def pci_disable_msix(dev: pci_dev) -> None:
    from .io import writel
    from .irq import irq_core

    if not dev.msix_enabled:
        return
    pos = dev.msix_cap
    for i in range(len(dev.msi_irqs)):
        writel(R.PCI_MSIX_ENTRY_CTRL_MASKBIT, dev.msix_base + i * R.PCI_MSIX_ENTRY_SIZE
               + R.PCI_MSIX_ENTRY_VECTOR_CTRL)
    ctrl = dev._rd(pos + R.PCI_MSIX_FLAGS, 2)
    dev._wr(pos + R.PCI_MSIX_FLAGS, 2, ctrl & ~R.PCI_MSIX_FLAGS_ENABLE)
    pci_intx(dev, 1)
    dev.msix_enabled = False
    for irq in dev.msi_irqs:
        irq_core(dev.kernel).free_msi_irq(irq)
    dev.msi_irqs = []
    dev.kernel.iounmap(dev.msix_base)
    dev.msix_base = None


def _pcim_msi_release(d: Device, data: Any) -> None:
    pdev = to_pci_dev(d)
    if pdev.is_managed:
        pci_free_irq_vectors(pdev)


def pci_alloc_irq_vectors(dev: pci_dev, min_vecs: int, max_vecs: int, flags: int) -> int:
    """Allocate interrupt vectors: MSI-X, then MSI, then the INTx line, as ``flags``
    allow; returns how many (or -ENOSPC/-EINVAL)."""
    nvecs = -ENOSPC
    if flags & PCI_IRQ_MSIX:
        nvecs = __pci_enable_msix_range(dev, min_vecs, max_vecs)
        if nvecs > 0:
            _manage_msi(dev)
            return nvecs
    if flags & PCI_IRQ_MSI:
        nvecs = __pci_enable_msi_range(dev, min_vecs, max_vecs)
        if nvecs > 0:
            _manage_msi(dev)
            return nvecs
    if flags & PCI_IRQ_LEGACY and min_vecs == 1 and dev.irq:
        pci_intx(dev, 1)
        return 1
    return nvecs


def _manage_msi(dev: pci_dev) -> None:
    if dev.is_managed:
        dev.kernel.devices.devres_add(dev.dev, _pcim_msi_release, None, "pcim_msi_release")


def pci_free_irq_vectors(dev: pci_dev) -> None:
    pci_disable_msix(dev)
    pci_disable_msi(dev)


def pci_irq_vector(dev: pci_dev, nr: int) -> int:
    """The Linux irq number of vector ``nr`` (-EINVAL if there is none)."""
    if not dev.msi_enabled and not dev.msix_enabled:
        return dev.irq if nr == 0 else -EINVAL
    if 0 <= nr < len(dev.msi_irqs):
        return dev.msi_irqs[nr]
    return -EINVAL


# -- sysfs views (drivers/pci/pci-sysfs.c) ------------------------------------------------

def resource_show(dev: pci_dev) -> str:
    """The ``resource`` file: start, end, flags per resource (13 lines; 17 on bridges)."""
    n = DEVICE_COUNT_RESOURCE if dev.subordinate is not None else PCI_BRIDGE_RESOURCES
    lines = []
    for i in range(n):
        r = dev.resource[i]
        start, end = pcibios_resource_to_bus(dev.bus, r) if r.flags else (r.start, r.end)
        lines.append(f"0x{start:016x} 0x{end:016x} 0x{r.flags:016x}\n")
    return "".join(lines)


def config_read(dev: pci_dev, size: int | None = None) -> bytes:
    """The ``config`` file (as root reads it): ``cfg_size`` bytes of config space."""
    n = dev.cfg_size if size is None else size
    out = bytearray()
    for off in range(0, n, 4):
        out += dev._rd(off, 4).to_bytes(4, "little")
    return bytes(out[:n])


__all__ = [n for n in list(globals()) if not n.startswith("_") and n not in (
    "annotations", "Callable", "Iterator", "dataclass", "field", "TYPE_CHECKING", "Any", "R",
    "F", "BusType", "Device", "DeviceDriver", "dev_err", "dev_info", "dev_warn", "EBUSY",
    "EEXIST", "EFAULT", "EINVAL", "EIO", "ENODEV", "ENOENT", "ENOMEM", "ENOSPC", "ENOTTY",
    "ERANGE", "KERN_DEBUG", "KERN_INFO",
    "Resource", "request_resource_conflict", "resource_size", "resource_type", "pR")]
