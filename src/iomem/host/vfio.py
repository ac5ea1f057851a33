"""VFIO: a device handed to userspace behind an IOMMU (include/uapi/linux/vfio.h,
drivers/vfio/vfio_main.c, drivers/vfio/pci/vfio_pci_core.c, Documentation/driver-api/vfio.rst).

The sequence: open the container ``/dev/vfio/vfio`` (VFIO_GET_API_VERSION
must say 0), open the group ``/dev/vfio/N`` (N from the function's
``iommu_group`` link; VFIO_GROUP_GET_STATUS must say viable: every device of
the group bound to vfio-pci or to nothing), VFIO_GROUP_SET_CONTAINER,
VFIO_SET_IOMMU (type1), then VFIO_GROUP_GET_DEVICE_FD with the device's
name, whose *return value* is the device fd. Each region (vfio-pci: BAR0-5
= 0-5, ROM 6, config 7) has a VFIO_DEVICE_GET_REGION_INFO record: flags
(READ 1, WRITE 2, MMAP 4), size, and the file offset where it lives in the
device fd (``index << 40``): mmap there when MMAP is set, else pread/pwrite.
The kernel's read/write path (``vfio_pci_core_do_io_rw``) makes 1/2/4-byte
accesses and, only since Linux 6.10, 8-byte ones; before that an 8-byte
pread is two 4-byte accesses, so this backend refuses them there.
Interrupts: VFIO_DEVICE_SET_IRQS with an eventfd per vector
(ACTION_TRIGGER | DATA_EVENTFD); INTx is masked by the kernel on each
interrupt and unmasked by ACTION_UNMASK.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import mmap
import os
import re
import select
import struct
from dataclasses import dataclass
from pathlib import Path

from ..user.errors import DeviceNotFoundError, MapError
from ..user.mmio import Mmio
from ..user.window import Window
from . import diagnose
from .pci import PciDevice, find_pci

VFIO_TYPE = ord(";")
VFIO_BASE = 100


def _vfio_io(n: int) -> int:
    """``_IO(VFIO_TYPE, VFIO_BASE + n)``: every VFIO ioctl is argument-less in its number."""
    return (VFIO_TYPE << 8) | (VFIO_BASE + n)


VFIO_GET_API_VERSION = _vfio_io(0)
VFIO_CHECK_EXTENSION = _vfio_io(1)
VFIO_SET_IOMMU = _vfio_io(2)
VFIO_GROUP_GET_STATUS = _vfio_io(3)
VFIO_GROUP_SET_CONTAINER = _vfio_io(4)
VFIO_GROUP_UNSET_CONTAINER = _vfio_io(5)
VFIO_GROUP_GET_DEVICE_FD = _vfio_io(6)
VFIO_DEVICE_GET_INFO = _vfio_io(7)
VFIO_DEVICE_GET_REGION_INFO = _vfio_io(8)
VFIO_DEVICE_GET_IRQ_INFO = _vfio_io(9)
VFIO_DEVICE_SET_IRQS = _vfio_io(10)
VFIO_DEVICE_RESET = _vfio_io(11)

VFIO_API_VERSION = 0
VFIO_TYPE1_IOMMU = 1
VFIO_TYPE1v2_IOMMU = 3
VFIO_NOIOMMU_IOMMU = 8

VFIO_GROUP_FLAGS_VIABLE = 1
VFIO_GROUP_FLAGS_CONTAINER_SET = 2

VFIO_DEVICE_FLAGS_RESET = 1
VFIO_DEVICE_FLAGS_PCI = 2

VFIO_REGION_INFO_FLAG_READ = 1
VFIO_REGION_INFO_FLAG_WRITE = 2
VFIO_REGION_INFO_FLAG_MMAP = 4

VFIO_IRQ_INFO_EVENTFD = 1
VFIO_IRQ_INFO_MASKABLE = 2
VFIO_IRQ_INFO_AUTOMASKED = 4

VFIO_IRQ_SET_DATA_NONE = 1
VFIO_IRQ_SET_DATA_BOOL = 2
VFIO_IRQ_SET_DATA_EVENTFD = 4
VFIO_IRQ_SET_ACTION_MASK = 8
VFIO_IRQ_SET_ACTION_UNMASK = 16
VFIO_IRQ_SET_ACTION_TRIGGER = 32

VFIO_PCI_BAR0_REGION_INDEX = 0
VFIO_PCI_ROM_REGION_INDEX = 6
VFIO_PCI_CONFIG_REGION_INDEX = 7
VFIO_PCI_INTX_IRQ_INDEX = 0
VFIO_PCI_MSI_IRQ_INDEX = 1
VFIO_PCI_MSIX_IRQ_INDEX = 2

REGION_NAMES = {0: "BAR0", 1: "BAR1", 2: "BAR2", 3: "BAR3", 4: "BAR4", 5: "BAR5", 6: "ROM",
                7: "config", 8: "VGA"}
IRQ_NAMES = {0: "INTx", 1: "MSI", 2: "MSI-X", 3: "ERR", 4: "REQ"}

_REGION_INFO = struct.Struct("<IIIIQQ")  # argsz flags index cap_offset size offset
_DEVICE_INFO = struct.Struct("<IIII")  # argsz flags num_regions num_irqs
_IRQ_INFO = struct.Struct("<IIII")  # argsz flags index count
_IRQ_SET = struct.Struct("<IIIII")  # argsz flags index start count, then data[]
_STATUS = struct.Struct("<II")  # argsz flags

_libc = ctypes.CDLL(None, use_errno=True)


def _ioctl_int(fd: int, request: int, arg: int | bytes) -> int:
    """An ioctl whose *return value* matters (GET_DEVICE_FD, CHECK_EXTENSION).

    fcntl.ioctl returns a copy of a bytes argument rather than the result, so
    the call goes through libc with the argument as a C int or char pointer.
    """
    if isinstance(arg, bytes):
        ret = _libc.ioctl(fd, ctypes.c_ulong(request), ctypes.c_char_p(arg))
    else:
        ret = _libc.ioctl(fd, ctypes.c_ulong(request), ctypes.c_ulong(arg))
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return ret


def _ioctl_buf(fd: int, request: int, buf: bytearray) -> bytearray:
    """An ioctl that fills a struct in place."""
    fcntl.ioctl(fd, request, buf, True)
    return buf


def kernel_splits_8byte_rw(release: str | None = None) -> bool:
    """True on kernels whose VFIO read/write path has no 8-byte access (before 6.10)."""
    m = re.match(r"(\d+)\.(\d+)", release or os.uname().release)
    return not m or (int(m.group(1)), int(m.group(2))) < (6, 10)


@dataclass(frozen=True)
class RegionInfo:
    index: int
    flags: int
    size: int
    offset: int

    @property
    def name(self) -> str:
        return REGION_NAMES.get(self.index, f"region{self.index}")

    @property
    def mmap_ok(self) -> bool:
        return bool(self.flags & VFIO_REGION_INFO_FLAG_MMAP)

    @property
    def readable(self) -> bool:
        return bool(self.flags & VFIO_REGION_INFO_FLAG_READ)

    @property
    def writable(self) -> bool:
        return bool(self.flags & VFIO_REGION_INFO_FLAG_WRITE)


@dataclass(frozen=True)
class IrqInfo:
    index: int
    flags: int
    count: int

    @property
    def name(self) -> str:
        return IRQ_NAMES.get(self.index, f"irq{self.index}")

    @property
    def automasked(self) -> bool:
        return bool(self.flags & VFIO_IRQ_INFO_AUTOMASKED)


class VfioDevice:
    """An open VFIO device: its container, group and device fds."""

    def __init__(self, device: PciDevice | str, *, root: str | Path = "/",
                 iommu: int | None = None) -> None:
        self.pci = device if isinstance(device, PciDevice) else find_pci(device, root)
        self.root = Path(root)
        self.bdf = self.pci.bdf
        self.container = self.group = self.fd = -1
        try:
            self._open(iommu)
        except BaseException:
            self.close()
            raise

    def _open(self, iommu: int | None) -> None:
        pci = self.pci
        driver = pci.driver
        if driver != "vfio-pci":
            now = f"bound to {driver}" if driver else "bound to no driver"
            raise MapError(f"{self.bdf} is {now}, not vfio-pci; bind it first "
                           f"(PciDevice.bind('vfio-pci'), which writes driver_override and "
                           f"drivers_probe)", errno.ENODEV)
        group = pci.iommu_group
        if group is None:
            raise MapError(f"{self.bdf} has no IOMMU group: the kernel runs without an IOMMU "
                           f"(boot with intel_iommu=on or amd_iommu=on on a machine that has "
                           f"one); VFIO's no-IOMMU mode needs CONFIG_VFIO_NOIOMMU",
                           errno.ENODEV)
        self.group_number = group
        cpath = self.root / "dev/vfio/vfio"
        gpath = self.root / f"dev/vfio/{group}"
        try:
            self.container = os.open(cpath, os.O_RDWR | os.O_CLOEXEC)
        except OSError as e:
            raise MapError(diagnose.explain_open(e, cpath, "root or membership in the vfio "
                                                 "group's owner"), e.errno) from None
        version = _ioctl_int(self.container, VFIO_GET_API_VERSION, 0)
        if version != VFIO_API_VERSION:
            raise MapError(f"{cpath} speaks VFIO API {version}, not {VFIO_API_VERSION}",
                           errno.EINVAL)
        try:
            self.group = os.open(gpath, os.O_RDWR | os.O_CLOEXEC)
        except OSError as e:
            if e.errno == errno.EBUSY:
                raise MapError(f"cannot open {gpath}: the VFIO group is already open (a group "
                               f"has one opener at a time: another process, or an earlier "
                               f"open here that was not closed)", e.errno) from None
            raise MapError(diagnose.explain_open(e, gpath), e.errno) from None
        status = _ioctl_buf(self.group, VFIO_GROUP_GET_STATUS,
                            bytearray(_STATUS.pack(_STATUS.size, 0)))
        flags = _STATUS.unpack(status)[1]
        if not flags & VFIO_GROUP_FLAGS_VIABLE:
            members = sorted(os.listdir(pci.path / "iommu_group" / "devices"))
            raise MapError(f"VFIO group {group} is not viable: every device in it "
                           f"({', '.join(members)}) must be bound to vfio-pci or to no driver",
                           errno.EPERM)
        fcntl.ioctl(self.group, VFIO_GROUP_SET_CONTAINER, struct.pack("i", self.container))
        if iommu is None:
            iommu = next((t for t in (VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU)
                          if _ioctl_int(self.container, VFIO_CHECK_EXTENSION, t)), None)
            if iommu is None:
                raise MapError("the VFIO container offers no type1 IOMMU: the IOMMU backend "
                               "module is not loaded (modprobe vfio_iommu_type1)", errno.ENODEV)
        try:
            _ioctl_int(self.container, VFIO_SET_IOMMU, iommu)
        except OSError as e:
            raise MapError(f"VFIO_SET_IOMMU (type {iommu}) failed: {e.strerror}",
                           e.errno) from None
        try:
            self.fd = _ioctl_int(self.group, VFIO_GROUP_GET_DEVICE_FD,
                                 self.bdf.encode() + b"\0")
        except OSError as e:
            raise MapError(f"VFIO_GROUP_GET_DEVICE_FD for {self.bdf} failed: {e.strerror}",
                           e.errno) from None
        info = _ioctl_buf(self.fd, VFIO_DEVICE_GET_INFO,
                          bytearray(_DEVICE_INFO.pack(_DEVICE_INFO.size, 0, 0, 0)))
        _, self.flags, self.num_regions, self.num_irqs = _DEVICE_INFO.unpack(info)

    def region(self, index: int) -> RegionInfo:
        if not 0 <= index < self.num_regions:
            raise DeviceNotFoundError(f"{self.bdf} has regions 0-{self.num_regions - 1} "
                                      f"(vfio-pci: BAR0-5 are 0-5, ROM 6, config 7), not {index}")
        buf = bytearray(_REGION_INFO.pack(_REGION_INFO.size, 0, index, 0, 0, 0))
        _ioctl_buf(self.fd, VFIO_DEVICE_GET_REGION_INFO, buf)
        _, flags, idx, _, size, offset = _REGION_INFO.unpack(buf)
        return RegionInfo(idx, flags, size, offset)

    def regions(self) -> list[RegionInfo]:
        """The regions the device has (vfio-pci counts VGA in even for non-VGA devices,
        and answers EINVAL for it)."""
        out = []
        for i in range(self.num_regions):
            try:
                out.append(self.region(i))
            except OSError as e:
                if e.errno != errno.EINVAL:
                    raise
        return out

    def irq_info(self, index: int) -> IrqInfo:
        buf = bytearray(_IRQ_INFO.pack(_IRQ_INFO.size, 0, index, 0))
        _ioctl_buf(self.fd, VFIO_DEVICE_GET_IRQ_INFO, buf)
        _, flags, idx, count = _IRQ_INFO.unpack(buf)
        return IrqInfo(idx, flags, count)

    def irqs(self) -> list[IrqInfo]:
        """The interrupt indexes the device answers for (vfio-pci refuses ERR on a
        function without PCIe AER with EINVAL)."""
        out = []
        for i in range(self.num_irqs):
            try:
                out.append(self.irq_info(i))
            except OSError as e:
                if e.errno != errno.EINVAL:
                    raise
        return out

    def set_irqs(self, index: int, flags: int, start: int = 0, count: int = 0,
                 fds: list[int] | None = None) -> None:
        data = b"".join(struct.pack("i", f) for f in fds or [])
        hdr = _IRQ_SET.pack(_IRQ_SET.size + len(data), flags, index, start, count)
        fcntl.ioctl(self.fd, VFIO_DEVICE_SET_IRQS, hdr + data)

    def reset(self) -> None:
        if not self.flags & VFIO_DEVICE_FLAGS_RESET:
            raise MapError(f"{self.bdf} does not support VFIO_DEVICE_RESET", errno.ENOTTY)
        fcntl.ioctl(self.fd, VFIO_DEVICE_RESET)

    def irq(self, index: int = VFIO_PCI_INTX_IRQ_INDEX) -> VfioIrq:
        return VfioIrq(self, index)

    def window(self, index: int, *, use_mmap: bool = True, write: bool = True) -> Window:
        """A window on region ``index``: mmapped when VFIO allows it and ``use_mmap``,
        else through pread/pwrite on the device fd."""
        reg = self.region(index)
        name = f"{self.bdf} {reg.name} (vfio)"
        write = write and reg.writable
        info = {"backend": "vfio", "bdf": self.bdf, "region": reg.name, "memtype": "UC"}
        phys = None
        if index < 6:
            res = self.pci.resource(index)
            phys = res.start if res.is_mem else None
        if use_mmap and reg.mmap_ok:
            try:
                mm = mmap.mmap(self.fd, reg.size, mmap.MAP_SHARED,
                               mmap.PROT_READ | (mmap.PROT_WRITE if write else 0),
                               offset=reg.offset)
            except OSError as e:
                raise MapError(f"cannot mmap {name}: {e.strerror}", e.errno) from None
            return Window(size=reg.size, name=name, buffer=mm, writable=write, phys=phys,
                          readonly_reason="the region is not writable or was opened read-only",
                          info=info)
        fd, base = self.fd, reg.offset

        def read(off: int, n: int) -> int:
            data = os.pread(fd, n, base + off)
            if len(data) != n:
                raise OSError(errno.EIO, f"short read of {name} at {off:#x}")
            return int.from_bytes(data, "little")

        def write_(off: int, n: int, value: int) -> None:
            os.pwrite(fd, value.to_bytes(n, "little"), base + off)

        widths = frozenset({1, 2, 4})
        why = ("config space accesses are 8, 16 and 32 bits"
               if index == VFIO_PCI_CONFIG_REGION_INDEX else
               "the kernel's VFIO read()/write() path makes an 8-byte access as two 4-byte "
               "ones before Linux 6.10")
        if index != VFIO_PCI_CONFIG_REGION_INDEX and not kernel_splits_8byte_rw():
            widths = frozenset({1, 2, 4, 8})
        info["memtype"] = "read()/write()"
        return Window(size=reg.size, name=name, read=read, write=write_ if write else None,
                      writable=write, widths=widths, widths_reason=why, phys=phys,
                      readonly_reason="the region is not writable or was opened read-only",
                      info=info)

    def close(self) -> None:
        for attr in ("fd", "group", "container"):
            fd = getattr(self, attr)
            if fd >= 0:
                os.close(fd)
                setattr(self, attr, -1)

    def __enter__(self) -> VfioDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VfioIrq:
    """One VFIO interrupt (INTx by default) signalled through an eventfd."""

    def __init__(self, dev: VfioDevice, index: int = VFIO_PCI_INTX_IRQ_INDEX) -> None:
        self.dev = dev
        self.index = index
        self.info = dev.irq_info(index)
        if self.info.count < 1 or not self.info.flags & VFIO_IRQ_INFO_EVENTFD:
            raise MapError(f"{dev.bdf} has no {self.info.name} interrupt to signal through an "
                           f"eventfd (for INTx: interrupt pin 0?)", errno.EINVAL)
        self._efd = os.eventfd(0, os.EFD_CLOEXEC)
        self.count = 0
        dev.set_irqs(index, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1,
                     [self._efd])

    def fileno(self) -> int:
        return self._efd

    def enable(self) -> None:
        """Unmask an automasked interrupt (INTx) after handling it; others need nothing."""
        if self.info.automasked:
            self.dev.set_irqs(self.index, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
                              0, 1)

    def wait(self, timeout: float | None = None) -> int:
        """Block until the interrupt fires; returns the running total of interrupts."""
        ready, _, _ = select.select([self._efd], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no {self.info.name} interrupt from {self.dev.bdf} within "
                               f"{timeout:g} s")
        self.count += os.eventfd_read(self._efd)
        return self.count

    def close(self) -> None:
        if self._efd >= 0:
            if self.dev.fd >= 0:
                self.dev.set_irqs(self.index,
                                  VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0)
            os.close(self._efd)
            self._efd = -1


class VfioBackend:
    """A VFIO region as a :class:`Backend` (BAR0 by default)."""

    def __init__(self, device: PciDevice | str, region: int = 0, *, use_mmap: bool = True,
                 root: str | Path = "/") -> None:
        self.spec = device
        self.region_index = region
        self.use_mmap = use_mmap
        self.root = Path(root)
        self.device: VfioDevice | None = None

    def describe(self) -> str:
        bdf = self.device.bdf if self.device else str(self.spec)
        return f"VFIO {bdf} {REGION_NAMES.get(self.region_index, self.region_index)}"

    def open(self) -> None:
        if self.device is None:
            self.device = VfioDevice(self.spec, root=self.root)

    def close(self) -> None:
        if self.device is not None:
            self.device.close()
            self.device = None

    def map(self, offset: int = 0, size: int | None = None, *, write: bool = True,
            force: bool = False) -> Window:
        self.open()
        assert self.device is not None
        win = self.device.window(self.region_index, use_mmap=self.use_mmap, write=write)
        if offset or size is not None:
            size = win.size - offset if size is None else size
            if offset < 0 or size < 0 or offset + size > win.size:
                raise MapError(f"{size:#x} bytes at {offset:#x} do not fit {win.name}",
                               errno.EINVAL)
            win.delta, win.size = offset, size
        dev, self.device = self.device, None  # the window owns the fds from here
        win.release = dev.close
        return win


def map_vfio(device: PciDevice | str, region: int = 0, *, use_mmap: bool = True,
             write: bool = True, irq: int | None = VFIO_PCI_INTX_IRQ_INDEX,
             root: str | Path = "/") -> Mmio:
    """Open ``device`` through VFIO and map ``region`` (BAR0), with its interrupt
    (INTx unless ``irq`` says otherwise, None for none) attached as ``.irq``."""
    dev = VfioDevice(device, root=root)
    try:
        win = dev.window(region, use_mmap=use_mmap, write=write)
        irq_obj = dev.irq(irq) if irq is not None else None
    except BaseException:
        dev.close()
        raise
    win.release = dev.close
    m = Mmio(win)
    m.irq = irq_obj
    return m
