"""The userspace backends on a simulated kernel: PCI sysfs, /dev/mem, UIO and VFIO of a
booted board, so a userspace driver runs unchanged on the simulator and on hardware.

Each backend makes the same system calls a program makes on Linux, against
the simulated kernel's userspace side (:mod:`iomem.kernel.pci_mmap`,
:mod:`iomem.kernel.devmem`, :mod:`iomem.kernel.uio`, :mod:`iomem.kernel.vfio`):
``open`` the file, ``mmap`` it (the kernel's ``mmap`` file operation picks the
pgprot and calls ``remap_pfn_range``), and hands :class:`~iomem.user.Mmio` a
read/write-pair :class:`~iomem.user.Window` over the VMA, whose accesses take
the kernel's bus path with the VMA's memory type. Refusals are the kernel's
errno, explained in the words :mod:`iomem.host.diagnose` uses for a real
machine. Waiting for an interrupt runs the simulated clock.

Targets name the board and the path: ``sim:pc:pci:1234:11e8``,
``sim:pc,iomem=relaxed:devmem:0xfea00000+1M``,
``sim:pc,bind=uio_pci_generic@1234:11e8:uio:uio_pci_generic``,
``sim:pc,vfio.enable_unsafe_noiommu_mode=1,bind=vfio-pci@00:04.0:vfio:00:04.0``.
Options before the path: ``bind=DRIVER@DEVICE`` loads and binds a driver as
``new_id`` (UIO) or ``driver_override`` (vfio-pci) would, ``edu`` binds iomem's
kernel edu driver, anything else goes on the kernel command line.
"""

from __future__ import annotations

import errno
import os
import re
import struct
from collections.abc import Callable
from typing import Any

from ..host.diagnose import explain_devmem
from ..host.procfs import describe_owner, parse_iomem, write_refusal
from ..kernel import devmem as D
from ..kernel import ioport as F
from ..kernel import pci_mmap as P
from ..kernel import remap as M
from ..kernel import uio as U
from ..kernel import vfio as V
from ..kernel.kernel import Kernel
from ..kernel.pci import new_id_store, pci_core, pci_dev, pci_enable_device
from .errors import DeviceNotFoundError, MapError, OwnershipError
from .mmio import Mmio
from .window import Window

KINDS = ("pci", "pci-wc", "uio", "vfio", "vfio-rw", "devmem")
_BDF = re.compile(r"^(?:([0-9a-fA-F]{4,}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$")
_VENDOR_DEVICE = re.compile(r"^([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4})$")


# -- finding things ------------------------------------------------------------------------

def find_pci(k: Kernel, spec: str) -> pci_dev:
    """A function by address (``0000:00:04.0``, ``00:04.0``) or ``vendor:device``
    (``1234:11e8``; ``1234:11e8#1`` for the second)."""
    spec = spec.strip()
    core = pci_core(k)
    if _BDF.match(spec):
        dev = core.find(spec)
        if dev is None:
            raise DeviceNotFoundError(f"no PCI function {spec} on the simulated "
                                      f"{k.board_name} board")
        return dev
    spec, _, nth = spec.partition("#")
    m = _VENDOR_DEVICE.match(spec)
    if not m:
        raise ValueError(f"not a PCI address or vendor:device: {spec!r} "
                         f"(e.g. 0000:00:04.0, 00:04.0, 1234:11e8)")
    vendor, device = int(m.group(1), 16), int(m.group(2), 16)
    found = [d for d in core.devices() if d.vendor == vendor and d.device == device]
    index = int(nth) if nth else 0
    if len(found) <= index:
        raise DeviceNotFoundError(f"no PCI function {vendor:04x}:{device:04x}"
                                  + (f" #{index}" if index else "")
                                  + f" on the simulated {k.board_name} board")
    return found[index]


def proc_iomem(k: Kernel) -> Any:
    """The simulated /proc/iomem, parsed as the host tools parse the real one."""
    return parse_iomem(k.proc_iomem())


def _policy(k: Kernel) -> str:
    words = k.cmdline.split()
    return "strict" if "iomem=strict" in words else \
        "relaxed" if "iomem=relaxed" in words else "default"


def _mmap_window(k: Kernel, vma: M.vm_area_struct, file: M.File, delta: int, size: int,
                 name: str, write: bool, info: dict[str, Any],
                 on_release: Callable[[], None] | None = None) -> Window:
    def release() -> None:
        M.do_munmap(vma)
        file.close()
        if on_release is not None:
            on_release()
    phys = vma.phys
    info = {"memtype": vma.memtype, "clock": k.machine.clock, "mmap": True, "vma": vma, **info}
    return Window(size=size, name=name, read=vma.read, write=vma.write,
                  read_relaxed=vma.read_relaxed, write_relaxed=vma.write_relaxed,
                  delta=delta, phys=None if phys is None else phys + delta, writable=write,
                  readonly_reason="opened with write=False", release=release, info=info)


def _prot(write: bool) -> int:
    return M.PROT_READ | (M.PROT_WRITE if write else 0)


def _oflags(write: bool) -> int:
    return os.O_RDWR if write else os.O_RDONLY


# -- PCI sysfs ---------------------------------------------------------------------------------

class SimPciBarBackend:
    """A BAR through ``resourceN`` (``resourceN_wc``) of the simulated PCI sysfs."""

    def __init__(self, k: Kernel, device: pci_dev | str, bar: int = 0, *, wc: bool = False,
                 enable: bool = False) -> None:
        self.k = k
        self.pdev = device if isinstance(device, pci_dev) else find_pci(k, device)
        self.bar = bar
        self.wc = wc
        self.enable = enable

    @property
    def fname(self) -> str:
        return f"resource{self.bar}{'_wc' if self.wc else ''}"

    def describe(self) -> str:
        r = self.pdev.resource[self.bar]
        return f"PCI {self.pdev.name} BAR{self.bar} (simulated {self.k.board_name}): " \
               f"[mem {r.start:#010x}-{r.end:#010x}]"

    def open(self) -> None:
        if not 0 <= self.bar < 6 or not self.pdev.resource[self.bar].flags or \
                self.pdev.resource[self.bar].end <= self.pdev.resource[self.bar].start:
            raise DeviceNotFoundError(f"{self.pdev.name} BAR{self.bar} is not implemented "
                                      f"(size 0 in its resource file)")

    def close(self) -> None:
        pass

    def _where(self) -> str:
        return f"{self.pdev.name} BAR{self.bar} ({self.fname})"

    def map(self, offset: int = 0, size: int | None = None, *, write: bool = True,
            force: bool = False) -> Window:
        self.open()
        k, pdev, res = self.k, self.pdev, self.pdev.resource[self.bar]
        total = res.end - res.start + 1
        size = total - offset if size is None else size
        if offset < 0 or size < 0 or offset + size > total:
            raise MapError(f"{size:#x} bytes at {offset:#x} do not fit {pdev.name} "
                           f"BAR{self.bar} ({total:#x} bytes)", errno.EINVAL)
        is_io = bool(res.flags & F.IORESOURCE_IO)
        tree = parse_iomem(k.proc_ioports() if is_io else k.proc_iomem())
        info: dict[str, Any] = {"backend": "pci-sysfs", "bdf": pdev.name, "bar": str(self.bar),
                                "board": k.board_name}
        held = [e for e in tree.owners(res.start, res.end) if e.kind == "claim"]
        if held:
            info["owner"] = held[-1].name
        if write and not force:
            why = write_refusal(tree, res.start, res.end, space="io" if is_io else "mem")
            if why:
                raise OwnershipError(f"refusing to map {pdev.name} BAR{self.bar} for writing: "
                                     f"{why}; map it read-only (write=False), unbind the "
                                     f"driver, or pass force=True (--force)")
        on_release = None
        if res.flags & F.IORESOURCE_MEM and not pdev._rd(0x04, 2) & 0x2:
            if not self.enable:
                raise MapError(f"{pdev.name} has memory decode off (bit 1 of the PCI command "
                               f"register is 0), so BAR{self.bar} answers every read with "
                               f"all-ones and drops every write; enable the device (echo 1 > "
                               f"/sys/bus/pci/devices/{pdev.name}/enable, or enable=True / "
                               f"--enable) or bind its driver", errno.EIO)
            with k:
                pci_enable_device(pdev)
            on_release = self._disable
        try:
            file = P.open_resource(pdev, self.fname, _oflags(write))
        except OSError as e:
            raise MapError(self._explain(e), e.errno) from None
        name = f"{pdev.name} BAR{self.bar}"
        if is_io:
            return self._io_window(file, offset, size, name, write, info)
        psize = k.arch.page_size
        page_off = offset % psize
        try:
            vma = M.do_mmap(file, page_off + size, _prot(write), M.MAP_SHARED, offset - page_off)
        except OSError as e:
            file.close()
            raise MapError(self._explain(e), e.errno) from None
        return _mmap_window(k, vma, file, page_off, size, name, write, info, on_release)

    def _disable(self) -> None:
        from ..kernel.pci import pci_disable_device

        with self.k:
            pci_disable_device(self.pdev)

    def _io_window(self, file: M.File, offset: int, size: int, name: str, write: bool,
                   info: dict[str, Any]) -> Window:
        pdev, bar = self.pdev, self.bar
        res = pdev.resource[bar]

        def read(off: int, n: int) -> int:
            v = P.pci_resource_io(pdev, bar, off, n, False)
            if v < 0:
                raise OSError(errno.EINVAL, f"{name}: {n}-byte read at {off:#x} refused")
            return v

        def write_(off: int, n: int, value: int) -> None:
            if P.pci_resource_io(pdev, bar, off, n, True, value) < 0:
                raise OSError(errno.EINVAL, f"{name}: {n}-byte write at {off:#x} refused")
        return Window(size=size, name=name, read=read, write=write_ if write else None,
                      delta=offset, phys=res.start + offset, writable=write,
                      widths=frozenset({1, 2, 4}),
                      widths_reason="I/O ports are 8, 16 and 32 bits wide",
                      readonly_reason="opened with write=False", release=file.close,
                      info={**info, "memtype": "I/O ports", "space": "io",
                            "clock": self.k.machine.clock})

    def _explain(self, err: OSError) -> str:
        """The words of diagnose.explain_pci_mmap for the simulated function."""
        k, pdev, where = self.k, self.pdev, self._where()
        res = pdev.resource[self.bar]
        if err.errno == errno.ENOENT and self.wc:
            if res.flags & F.IORESOURCE_MEM and not res.flags & F.IORESOURCE_PREFETCH:
                return (f"cannot map {where}: BAR{self.bar} is not prefetchable, and the kernel "
                        f"offers write-combining (resource{self.bar}_wc) only for prefetchable "
                        f"BARs, since merged or reordered stores to registers break devices; "
                        f"map resource{self.bar}")
            return f"cannot map {where}: there is no {self.fname}"
        if err.errno == errno.EACCES:
            return f"cannot map {where}: permission denied; PCI resource files need root"
        if err.errno == errno.EINVAL:
            tree = proc_iomem(k)
            held = [e for e in tree.owners(res.start, res.end) if e.kind == "claim"]
            if held and k.iomem_is_exclusive(res.start):
                tail = ("; boot with iomem=relaxed, or unbind the driver"
                        if _policy(k) != "relaxed" else "; unbind the driver")
                return (f"cannot map {where} (EINVAL): the range is held by "
                        f"{describe_owner(held[-1])} and the kernel treats it as exclusive "
                        f"(CONFIG_IO_STRICT_DEVMEM)" + tail)
            return (f"cannot map {where} (EINVAL): the mapping does not fit the BAR "
                    f"(size or offset), or the BAR is not a memory BAR")
        if err.errno == errno.ENODEV:
            return (f"cannot map {where} (ENODEV): it is an I/O port BAR, which this "
                    f"architecture does not mmap; read and write it 1, 2 or 4 bytes at a time")
        return f"cannot map {where}: {err.strerror}"


# -- /dev/mem ----------------------------------------------------------------------------------

class SimDevMemBackend:
    """``[phys, phys + size)`` through the simulated ``/dev/mem``."""

    def __init__(self, k: Kernel, phys: int, size: int, *, task: M.Task | None = None) -> None:
        if not isinstance(phys, int) or phys < 0:
            raise ValueError(f"physical address must be a non-negative integer, not {phys!r}")
        if not isinstance(size, int) or size <= 0:
            raise ValueError(f"size must be a positive integer, not {size!r}")
        self.k, self.phys, self.size, self.task = k, phys, size, task

    def describe(self) -> str:
        return f"/dev/mem [mem {self.phys:#010x}-{self.phys + self.size - 1:#010x}] " \
               f"(simulated {self.k.board_name})"

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def map(self, offset: int = 0, size: int | None = None, *, write: bool = True,
            force: bool = False) -> Window:
        k = self.k
        size = self.size - offset if size is None else size
        if offset < 0 or size <= 0 or offset + size > self.size:
            raise MapError(f"{size:#x} bytes at {offset:#x} do not fit {self.describe()}",
                           errno.EINVAL)
        start = self.phys + offset
        end = start + size - 1
        tree = proc_iomem(k)
        owners = tree.owners(start, end)
        refusal = write_refusal(tree, start, end)
        # where the kernel itself refuses the range (CONFIG_STRICT_DEVMEM), --force would not
        # help: go on to the mmap and its refusal, which says what would
        psize = k.arch.page_size
        page_off = start % psize
        if write and refusal and not force and \
                D.range_is_allowed(k, (start - page_off) >> k.arch.page_shift, page_off + size):
            raise OwnershipError(f"refusing to map /dev/mem for writing: {refusal}; map it "
                                 f"read-only (write=False), or pass force=True (--force)")
        try:
            file = D.open_mem(k, _oflags(write) | os.O_SYNC, self.task)
        except OSError as e:
            raise MapError("cannot open /dev/mem: permission denied; /dev/mem needs "
                           "CAP_SYS_RAWIO, which this process lacks", e.errno) from None
        try:
            vma = M.do_mmap(file, page_off + size, _prot(write), M.MAP_SHARED, start - page_off)
        except OSError as e:
            file.close()
            raise MapError(explain_devmem(e, start, end, iomem=tree, policy=_policy(k),
                                          is_root=True), e.errno) from None
        info: dict[str, Any] = {"backend": "devmem", "path": "/dev/mem", "board": k.board_name}
        if owners:
            info["owner"] = owners[-1].name
        return _mmap_window(k, vma, file, page_off, size, f"/dev/mem {start:#x}", write, info)


# -- UIO ------------------------------------------------------------------------------------

def _run_until(k: Kernel, ready: Callable[[], bool], timeout: float | None, what: str) -> None:
    """Run the simulated clock from timer to timer until ``ready()`` (TimeoutError when
    ``timeout`` simulated seconds pass first, or when nothing is left to happen)."""
    clock = k.machine.clock
    deadline = None if timeout is None else clock.now + int(timeout * 1e9)
    while not ready():
        due = clock.next_due
        if due == float("inf") or (deadline is not None and due > deadline):
            if deadline is not None and deadline > clock.now:
                clock.advance(deadline - clock.now)
            raise TimeoutError(f"no interrupt from {what}"
                               + (f" within {timeout:g} s" if timeout is not None else ""))
        clock.advance(max(int(due) - clock.now, 0))


class SimUioIrq:
    """The interrupt of a simulated UIO device through its ``/dev/uioN``."""

    def __init__(self, k: Kernel, idev: U.uio_device) -> None:
        self.k, self.idev = k, idev
        try:
            self.file = U.uio_open(k, idev.minor, os.O_RDWR)
        except OSError as e:
            raise MapError(f"cannot open /dev/{idev.name}: {e.strerror}", e.errno) from None
        self.count = 0

    def fileno(self) -> int:
        """There is no host file descriptor behind a simulated device."""
        return -1

    def enable(self) -> None:
        """Write 1; a driver without irqcontrol (uio_pci_generic) answers ENOSYS, and
        then INTx is unmasked in config space, as on a real kernel."""
        try:
            U.uio_write(self.file, struct.pack("<i", 1))
            return
        except OSError as e:
            if e.errno != errno.ENOSYS:
                raise
        pdev = U.uio_parent_pci(self.idev)
        if pdev is None:
            raise MapError(f"{self.idev.name} has no irqcontrol: its driver re-enables the "
                           f"interrupt itself", errno.ENOSYS)
        cmd = P.pci_read_config_file(pdev, 5, 1)[0]
        if cmd & 0x4:
            P.pci_write_config_file(pdev, 5, bytes([cmd & ~0x4]))

    def disable(self) -> None:
        U.uio_write(self.file, struct.pack("<i", 0))

    def wait(self, timeout: float | None = None) -> int:
        """Block (run the simulated clock) until the next interrupt; the total count."""
        _run_until(self.k, lambda: U.uio_poll(self.file), timeout,
                   f"{self.idev.name} ({self.idev.info.name if self.idev.info else '?'})")
        self.count = struct.unpack("<i", U.uio_read(self.file, 4))[0]
        return self.count

    def close(self) -> None:
        self.file.close()


class SimUioBackend:
    """Map N of a simulated UIO device through ``/dev/uioN`` at offset N pages."""

    def __init__(self, k: Kernel, device: str, map_index: int = 0) -> None:
        self.k = k
        idev = U.find_uio(k, device)
        if idev is None:
            have = ", ".join(f"{d.name} ({d.info.name})" for d in U.uio_devices(k).values()
                             if d.info) or "none"
            raise DeviceNotFoundError(f"no UIO device {device!r} on the simulated "
                                      f"{k.board_name} board (there are: {have}); bind one, "
                                      f"e.g. bind=uio_pci_generic@1234:11e8")
        self.idev = idev
        self.map_index = map_index

    def describe(self) -> str:
        info = self.idev.info
        return f"UIO {self.idev.name} ({info.name if info else '?'}) map{self.map_index}"

    def open(self) -> None:
        info = self.idev.info
        if info is None or self.map_index >= U.MAX_UIO_MAPS or \
                info.mem[self.map_index].size == 0:
            n = sum(1 for m in (info.mem if info else []) if m.size)
            raise DeviceNotFoundError(f"{self.idev.name} has {n} map(s); there is no "
                                      f"map{self.map_index}")

    def close(self) -> None:
        pass

    def map(self, offset: int = 0, size: int | None = None, *, write: bool = True,
            force: bool = False) -> Window:
        self.open()
        k = self.k
        info = self.idev.info
        assert info is not None
        mem = info.mem[self.map_index]
        size = mem.size - mem.offs - offset if size is None else size
        if offset < 0 or size < 0 or offset + size > mem.size:
            raise MapError(f"{size:#x} bytes at {offset:#x} do not fit {self.idev.name} "
                           f"map{self.map_index} ({mem.size:#x} bytes)", errno.EINVAL)
        file = U.uio_open(k, self.idev.minor, _oflags(write))
        psize = k.arch.page_size
        length = (mem.offs + mem.size + psize - 1) // psize * psize
        try:
            vma = M.do_mmap(file, length, _prot(write), M.MAP_SHARED,
                            self.map_index * psize)
        except OSError as e:
            file.close()
            raise MapError(f"cannot map /dev/{self.idev.name} map{self.map_index} "
                           f"({length:#x} bytes): {e.strerror} (UIO refuses mappings longer "
                           f"than the map's pages)", e.errno) from None
        return _mmap_window(k, vma, file, mem.offs + offset, size,
                            f"{self.idev.name} map{self.map_index}", write,
                            {"backend": "uio", "uio": self.idev.name, "map": mem.name,
                             "board": k.board_name})

    def irq(self) -> SimUioIrq:
        return SimUioIrq(self.k, self.idev)


# -- VFIO ------------------------------------------------------------------------------------

class SimVfioIrq:
    """INTx of a simulated VFIO device, signalled through an eventfd."""

    def __init__(self, dev: SimVfioDevice) -> None:
        self.dev = dev
        self.efd = V.eventfd_ctx()
        self.count = 0
        info = V.vfio_device_get_irq_info(dev.vdev, V.VFIO_PCI_INTX_IRQ_INDEX)
        if isinstance(info, int) or info.count < 1:
            raise MapError(f"{dev.bdf} has no INTx interrupt to signal through an eventfd "
                           f"(interrupt pin 0?)", errno.EINVAL)
        dev.check(V.vfio_device_set_irqs(dev.vdev, V.VFIO_PCI_INTX_IRQ_INDEX,
                                         V.VFIO_IRQ_SET_DATA_EVENTFD |
                                         V.VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, [self.efd]),
                  "VFIO_DEVICE_SET_IRQS")

    def fileno(self) -> int:
        return -1

    def enable(self) -> None:
        """Unmask INTx (it is automasked on each interrupt)."""
        V.vfio_device_set_irqs(self.dev.vdev, V.VFIO_PCI_INTX_IRQ_INDEX,
                               V.VFIO_IRQ_SET_DATA_NONE | V.VFIO_IRQ_SET_ACTION_UNMASK, 0, 1)

    def wait(self, timeout: float | None = None) -> int:
        _run_until(self.dev.k, lambda: self.efd.count > 0, timeout, f"{self.dev.bdf} INTx")
        self.count += self.efd.read()
        return self.count

    def close(self) -> None:
        if self.dev.vdev.intx_trigger is self.efd:
            V.vfio_device_set_irqs(self.dev.vdev, V.VFIO_PCI_INTX_IRQ_INDEX,
                                   V.VFIO_IRQ_SET_DATA_NONE | V.VFIO_IRQ_SET_ACTION_TRIGGER,
                                   0, 0)


class SimVfioDevice:
    """An open simulated VFIO device: container, group and device files."""

    def __init__(self, k: Kernel, device: pci_dev | str) -> None:
        self.k = k
        self.pdev = device if isinstance(device, pci_dev) else find_pci(k, device)
        self.bdf = self.pdev.name
        drv = self.pdev.driver
        if drv is None or drv.name != "vfio-pci":
            now = f"bound to {drv.name}" if drv else "bound to no driver"
            raise MapError(f"{self.bdf} is {now}, not vfio-pci; bind it first "
                           f"(bind=vfio-pci@{self.bdf})", errno.ENODEV)
        group = V.vfio_group_for(k, self.pdev)
        assert group is not None
        self.container = V.open_container(k)
        try:
            self.group_file = V.open_group(k, group.name)
        except OSError as e:
            self.container.close()
            if e.errno == errno.EBUSY:
                raise MapError(f"cannot open /dev/vfio/{group.name}: the VFIO group is already "
                               f"open (a group has one opener at a time)", e.errno) from None
            raise MapError(f"cannot open /dev/vfio/{group.name}: {e.strerror}",
                           e.errno) from None
        self.group = group
        try:
            c = self.container.private_data
            self.check(V.vfio_group_set_container(group, c), "VFIO_GROUP_SET_CONTAINER")
            self.check(V.vfio_set_iommu(c, V.VFIO_NOIOMMU_IOMMU), "VFIO_SET_IOMMU")
            self.file = V.vfio_group_get_device_fd(group, self.bdf)
        except BaseException:
            self.group_file.close()
            self.container.close()
            raise
        self.vdev: V.vfio_pci_core_device = self.file.private_data

    def check(self, ret: int, what: str) -> None:
        if ret < 0:
            raise MapError(f"{what} for {self.bdf} failed: {os.strerror(-ret)}", -ret)

    def region(self, index: int) -> V.vfio_region_info:
        info = V.vfio_device_get_region_info(self.vdev, index)
        if isinstance(info, int):
            raise DeviceNotFoundError(f"{self.bdf} has no VFIO region {index} "
                                      f"({os.strerror(-info)})")
        return info

    def window(self, index: int, *, use_mmap: bool = True, write: bool = True) -> Window:
        reg = self.region(index)
        name = f"{self.bdf} {_REGION_NAMES.get(index, index)} (vfio)"
        write = write and bool(reg.flags & V.VFIO_REGION_INFO_FLAG_WRITE)
        info: dict[str, Any] = {"backend": "vfio", "bdf": self.bdf,
                                "region": _REGION_NAMES.get(index, str(index)),
                                "board": self.k.board_name}
        phys = None
        if index < 6 and self.pdev.resource[index].flags & F.IORESOURCE_MEM:
            phys = self.pdev.resource[index].start
        if use_mmap and reg.flags & V.VFIO_REGION_INFO_FLAG_MMAP:
            try:
                vma = M.do_mmap(self.file, reg.size, _prot(write), M.MAP_SHARED, reg.offset)
            except OSError as e:
                raise MapError(f"cannot mmap {name}: {e.strerror}", e.errno) from None
            return _mmap_window(self.k, vma, self.file, 0, reg.size, name, write, info,
                                self.close)
        vdev, base = self.vdev, reg.offset

        def read(off: int, n: int) -> int:
            data = V.vfio_pci_rw(vdev, base + off, n, False)
            if isinstance(data, int):
                raise OSError(-data, os.strerror(-data))
            return int.from_bytes(data, "little")

        def write_(off: int, n: int, value: int) -> None:
            ret = V.vfio_pci_rw(vdev, base + off, n, True, value.to_bytes(n, "little"))
            if isinstance(ret, int):
                raise OSError(-ret, os.strerror(-ret))
        why = ("config space accesses are 8, 16 and 32 bits"
               if index == V.VFIO_PCI_CONFIG_REGION_INDEX else
               "the kernel's VFIO read()/write() path makes an 8-byte access as two 4-byte "
               "ones before Linux 6.10")
        info.update(memtype="read()/write()", clock=self.k.machine.clock)
        return Window(size=reg.size, name=name, read=read, write=write_ if write else None,
                      writable=write, widths=frozenset({1, 2, 4}), widths_reason=why,
                      phys=phys, readonly_reason="the region is not writable or was opened "
                      "read-only", release=self.close, info=info)

    def irq(self) -> SimVfioIrq:
        return SimVfioIrq(self)

    def close(self) -> None:
        for f in ("file", "group_file", "container"):
            obj = getattr(self, f, None)
            if obj is not None:
                obj.close()


_REGION_NAMES = {0: "BAR0", 1: "BAR1", 2: "BAR2", 3: "BAR3", 4: "BAR4", 5: "BAR5", 6: "ROM",
                 7: "config", 8: "VGA"}


class SimVfioBackend:
    """A VFIO region of a simulated device as a :class:`Backend` (BAR0 by default)."""

    def __init__(self, k: Kernel, device: pci_dev | str, region: int = 0, *,
                 use_mmap: bool = True) -> None:
        self.k, self.spec, self.region_index, self.use_mmap = k, device, region, use_mmap
        self.device: SimVfioDevice | None = None

    def describe(self) -> str:
        return f"VFIO {self.spec} {_REGION_NAMES.get(self.region_index, self.region_index)}"

    def open(self) -> None:
        if self.device is None:
            self.device = SimVfioDevice(self.k, self.spec)

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
        self.device = None  # the window owns the files from here
        return win


# -- targets ------------------------------------------------------------------------------------

def bind(k: Kernel, driver: str, device: str) -> None:
    """Load ``driver`` and bind it to ``device`` as an administrator would: ``new_id`` for
    uio_pci_generic, ``driver_override`` + ``drivers_probe`` for vfio-pci, the module's
    init for iomem's kernel ``edu`` driver."""
    pdev = find_pci(k, device)
    if driver == "uio_pci_generic":
        drv = U.uio_pci_generic_init(k)
        if pdev.driver is None:
            with k:
                ret = new_id_store(drv, f"{pdev.vendor:04x} {pdev.device:04x}")
            if ret and ret != -errno.EEXIST:
                raise MapError(f"new_id for {driver} failed: {os.strerror(-ret)}", -ret)
    elif driver == "vfio-pci":
        ret = V.vfio_pci_bind(pdev)
        if ret:
            raise MapError(f"vfio-pci did not bind {pdev.name}: {os.strerror(-ret)}"
                           + (" (VFIO needs an IOMMU group: boot the simulated board with "
                              "vfio.enable_unsafe_noiommu_mode=1)" if ret == -errno.EINVAL
                              else ""), -ret)
    elif driver == "edu":
        from ..drivers import edu as edu_driver

        with k:
            edu_driver.edu_init()
    else:
        raise ValueError(f"no simulated driver {driver!r} to bind (uio_pci_generic, "
                         f"vfio-pci, edu)")
    now = pdev.driver.name if pdev.driver else None
    if now != driver:
        raise MapError(f"{driver} did not bind {pdev.name}"
                       + (f" (it is bound to {now}; unbind it first)" if now else ""),
                       errno.ENODEV)


def _split_index(spec: str, what: str) -> tuple[str, int]:
    if "/" in spec:
        dev, _, idx = spec.rpartition("/")
        try:
            return dev, int(idx, 0)
        except ValueError:
            raise ValueError(f"{what} index must be a number, not {idx!r}") from None
    return spec, 0


def open_sim(k: Kernel, target: str, *, write: bool = True, force: bool = False,
             enable: bool = False, irq: bool = False) -> Mmio:
    """Open ``KIND:SPEC`` (the :func:`iomem.user.open_target` kinds) on kernel ``k``."""
    from .target import parse_size

    kind, sep, spec = target.partition(":")
    if not sep or kind not in KINDS:
        raise ValueError(f"not a mapping target: {target!r}; use one of "
                         f"{', '.join(k_ + ':...' for k_ in KINDS)}")
    if kind in ("pci", "pci-wc"):
        dev, bar = _split_index(spec, "BAR")
        return Mmio(SimPciBarBackend(k, dev, bar, wc=kind == "pci-wc", enable=enable)
                    .map(write=write, force=force))
    if kind == "uio":
        dev, index = _split_index(spec, "map")
        backend = SimUioBackend(k, dev, index)
        m = Mmio(backend.map(write=write, force=force))
        if irq:
            m.irq = backend.irq()
        return m
    if kind in ("vfio", "vfio-rw"):
        dev, region = _split_index(spec, "region")
        vdev = SimVfioDevice(k, dev)
        try:
            win = vdev.window(region, use_mmap=kind == "vfio", write=write)
            irq_obj = vdev.irq() if irq else None
        except BaseException:
            vdev.close()
            raise
        m = Mmio(win)
        m.irq = irq_obj
        return m
    addr, plus, size = spec.partition("+")
    return Mmio(SimDevMemBackend(k, parse_size(addr), parse_size(size) if plus else 0x1000)
                .map(write=write, force=force))


_SIM_KIND = re.compile(r":(pci-wc|pci|uio|vfio-rw|vfio|devmem):")


def parse_sim_target(target: str) -> tuple[str, str, list[tuple[str, str]], str]:
    """``sim:BOARD[,OPTION...]:KIND:SPEC`` -> (board, cmdline, binds, ``KIND:SPEC``)."""
    body = target.removeprefix("sim:")
    m = _SIM_KIND.search(body)
    if not m:
        raise ValueError(f"not a simulated target: {target!r}; e.g. sim:pc:pci:1234:11e8, "
                         f"sim:pc,iomem=relaxed:devmem:0xfea00000+1M")
    head, rest = body[:m.start()], body[m.start() + 1:]
    board, *options = head.split(",")
    cmdline: list[str] = []
    binds: list[tuple[str, str]] = []
    for opt in options:
        if opt.startswith("bind="):
            drv, at, dev = opt[5:].partition("@")
            if not at:
                raise ValueError(f"bind takes DRIVER@DEVICE, not {opt[5:]!r}")
            binds.append((drv, dev))
        elif opt == "edu":
            binds.append(("edu", "1234:11e8"))
        elif opt:
            cmdline.append(opt)
    return board, " ".join(cmdline), binds, rest


def boot_sim(board: str, cmdline: str = "", binds: list[tuple[str, str]] | None = None
             ) -> Kernel:
    """Boot a simulated board and bind the drivers asked for."""
    from ..cli.common import boot_board

    k = boot_board(board, cmdline)
    for drv, dev in binds or []:
        bind(k, drv, dev)
    return k


def open_sim_target(target: str, **kw: Any) -> Mmio:
    """``sim:BOARD[,OPTION...]:KIND:SPEC``: boot the board, bind, open (the kernel is then
    the most recently booted one, :func:`iomem.kernel.current_kernel`)."""
    board, cmdline, binds, rest = parse_sim_target(target)
    k = boot_sim(board, cmdline, binds)
    return open_sim(k, rest, **kw)


__all__ = ["KINDS", "SimDevMemBackend", "SimPciBarBackend", "SimUioBackend", "SimUioIrq",
           "SimVfioBackend", "SimVfioDevice", "SimVfioIrq", "bind", "boot_sim", "find_pci",
           "open_sim", "open_sim_target", "parse_sim_target", "proc_iomem"]
