"""Userspace I/O (drivers/uio/uio.c, include/linux/uio_driver.h,
drivers/uio/uio_pci_generic.c, Documentation/driver-api/uio-howto.rst).

A kernel driver fills a :class:`uio_info` (name, version, up to five memory
maps, the irq and its handler) and registers it; the UIO core makes
``uioN``: ``/sys/class/uio/uioN/{name,version,event}`` and
``maps/mapM/{name,addr,size,offset}`` (addr and size as ``%pa``, offset as
``0x%llx``), and ``/dev/uioN``, whose

- ``read`` of exactly 4 bytes blocks until the interrupt count changes and
  returns the s32 total (EIO without an irq, EINVAL for another size,
  EAGAIN with O_NONBLOCK); here blocking runs the simulated clock forward
  until an interrupt arrives (or the caller's timeout passes);
- ``write`` of a s32 calls the driver's ``irqcontrol`` (1 enables, 0
  disables; ENOSYS when the driver has none);
- ``mmap`` at page offset M maps map M uncached (``remap_pfn_range`` with
  ``pgprot_noncached``), EINVAL for a map that does not exist or a mapping
  longer than the map's pages.

``uio_pci_generic`` (version ``0.01.0``) has no id table (bind it with
``new_id``), exports every 32-bit non-prefetchable memory BAR as a map
(Linux 5.x onwards; flags exactly IORESOURCE_MEM | IORESOURCE_SIZEALIGN), and
handles INTx by masking it in the command register when the status register
says this function raised it; userspace unmasks it there (clearing
PCI_COMMAND_INTX_DISABLE, bit 10) to get the next one.
"""

from __future__ import annotations

import errno as _errno
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import ioport as F
from .irq import IRQ_HANDLED, IRQ_NONE, IRQ_NOTCONNECTED, IRQF_SHARED, irq_core
from .pci import (
    PCI_STD_NUM_BARS,
    pci_check_and_mask_intx,
    pci_clear_master,
    pci_dev,
    pci_device_id,
    pci_driver,
    pci_intx_mask_supported,
    pci_register_driver,
    pci_set_drvdata,
    pcim_enable_device,
    to_pci_dev,
)
from .remap import (
    O_NONBLOCK,
    File,
    Task,
    current_task,
    pgprot_noncached,
    remap_pfn_range,
    syscall_error,
    vm_area_struct,
)
from .vsprintf import pa

if TYPE_CHECKING:
    from .device import Device
    from .kernel import Kernel

MAX_UIO_MAPS = 5
MAX_UIO_PORT_REGIONS = 5
UIO_IRQ_CUSTOM = -1
UIO_IRQ_NONE = 0
UIO_MEM_NONE = 0
UIO_MEM_PHYS = 1
UIO_MEM_LOGICAL = 2
UIO_MEM_VIRTUAL = 3
UIO_MEM_IOVA = 4


@dataclass
class uio_mem:  # noqa: N801
    """``struct uio_mem``: one map (``addr`` page-aligned, ``offs`` into its first page)."""

    name: str = ""
    addr: int = 0
    offs: int = 0
    size: int = 0
    memtype: int = UIO_MEM_NONE


@dataclass
class uio_info:  # noqa: N801
    """``struct uio_info``: what a UIO driver registers."""

    name: str
    version: str
    mem: list[uio_mem] = field(default_factory=lambda: [uio_mem() for _ in range(MAX_UIO_MAPS)])
    irq: int = UIO_IRQ_NONE
    irq_flags: int = 0
    handler: Callable[[int, uio_info], int] | None = None
    irqcontrol: Callable[[uio_info, int], int] | None = None
    open: Callable[[uio_info, File], int] | None = None
    release: Callable[[uio_info, File], int] | None = None
    priv: Any = None
    uio_dev: uio_device | None = None


@dataclass(eq=False)
class uio_device:  # noqa: N801
    """``struct uio_device``: uioN, its event counter and its listeners."""

    k: Kernel
    minor: int
    info: uio_info | None
    parent: Device | None
    event: int = 0

    @property
    def name(self) -> str:
        return f"uio{self.minor}"


def uio_devices(k: Kernel) -> dict[int, uio_device]:
    """The registered UIO devices of ``k`` by minor (the uio_idr)."""
    return k.__dict__.setdefault("_uio_idr", {})


def _uio_interrupt(irq: int, dev_id: uio_device) -> int:
    info = dev_id.info
    if info is None or info.handler is None:
        return IRQ_NONE
    ret = info.handler(irq, info)
    if ret == IRQ_HANDLED:
        uio_event_notify(info)
    return ret


def uio_event_notify(info: uio_info) -> None:
    """Count an interrupt and wake the readers."""
    idev = info.uio_dev
    if idev is not None:
        idev.event = (idev.event + 1) & 0xFFFFFFFF


def _kernel_of(parent: Device | None) -> Kernel:
    from .kernel import current_kernel

    k = getattr(parent, "kernel", None)
    return k if k is not None else current_kernel()


def uio_register_device(parent: Device | None, info: uio_info) -> int:
    """``uio_register_device``: 0 or -errno (EINVAL without a name or version)."""
    k = _kernel_of(parent)
    if not info.name or not info.version:
        return -_errno.EINVAL
    idr = uio_devices(k)
    minor = next(i for i in range(len(idr) + 1) if i not in idr)
    idev = uio_device(k, minor, info, parent)
    info.uio_dev = idev
    if info.irq and info.irq != UIO_IRQ_CUSTOM:
        ret = irq_core(k).request_threaded_irq(info.irq, _uio_interrupt, None, info.irq_flags,
                                               info.name, idev)
        if ret:
            info.uio_dev = None
            return ret
    idr[minor] = idev
    return 0


def uio_unregister_device(info: uio_info) -> None:
    idev = info.uio_dev
    if idev is None:
        return
    k = idev.k
    if info.irq and info.irq != UIO_IRQ_CUSTOM:
        irq_core(k).free_irq(info.irq, idev)
    uio_devices(k).pop(idev.minor, None)
    idev.info = None
    info.uio_dev = None


def devm_uio_register_device(parent: Device, info: uio_info) -> int:
    """Registered until the parent's driver goes (devres)."""
    ret = uio_register_device(parent, info)
    if ret:
        return ret
    _kernel_of(parent).devices.devres_add(parent, lambda _dev, data: uio_unregister_device(data),
                                          info, "devm_uio_unregister_device")
    return 0


# -- /sys/class/uio/uioN -----------------------------------------------------------------

def uio_sysfs(idev: uio_device) -> dict[str, str]:
    """The attribute files of ``/sys/class/uio/uioN``, relative path -> text."""
    info = idev.info
    if info is None:
        return {}
    out = {"name": f"{info.name}\n", "version": f"{info.version}\n", "event": f"{idev.event}\n",
           "dev": f"243:{idev.minor}\n"}
    for i, mem in enumerate(info.mem):
        if mem.size == 0:
            break
        d = f"maps/map{i}"
        out[f"{d}/name"] = f"{mem.name}\n"
        out[f"{d}/addr"] = f"{pa(mem.addr)}\n"
        out[f"{d}/size"] = f"{pa(mem.size)}\n"
        out[f"{d}/offset"] = f"0x{mem.offs:x}\n"
    return out


def find_uio(k: Kernel, spec: str) -> uio_device | None:
    """uioN by node name, or the first (``NAME#n``: the n-th) registered under ``NAME``."""
    devs = [uio_devices(k)[m] for m in sorted(uio_devices(k))]
    for d in devs:
        if d.name == spec:
            return d
    name, _, nth = spec.partition("#")
    found = [d for d in devs if d.info is not None and d.info.name == name]
    if not found and ":" in spec:
        found = [d for d in devs if d.parent is not None and d.parent.name.endswith(spec)]
    index = int(nth) if nth else 0
    return found[index] if len(found) > index else None


# -- /dev/uioN -----------------------------------------------------------------------------

@dataclass(eq=False)
class uio_listener:  # noqa: N801
    dev: uio_device
    event_count: int


def uio_open(k: Kernel, minor: int, flags: int, task: Task | None = None) -> File:
    """``open("/dev/uioN")``: the listener starts at the current count; raises OSError."""
    task = task or current_task(k)
    idev = uio_devices(k).get(minor)
    path = f"/dev/uio{minor}"
    if idev is None or idev.info is None:
        raise syscall_error(_errno.ENODEV, path)
    if task.uid != 0:
        raise syscall_error(_errno.EACCES, path)
    listener = uio_listener(idev, idev.event)

    def release(f: File) -> None:
        info = idev.info
        if info is not None and info.release is not None:
            info.release(info, f)

    f = File(path, flags, task, None, mmap=lambda f, v: uio_mmap(f, v), release=release,
             private_data=listener)
    if idev.info.open is not None:
        ret = idev.info.open(idev.info, f)
        if ret:
            raise syscall_error(ret, path)
    return f


def uio_read(file: File, count: int = 4, timeout_ns: int | None = None) -> bytes:
    """``read(fd, buf, count)``: the s32 event total once it differs from what this
    reader saw last. Blocking runs the simulated clock to the next timer until the
    count changes; TimeoutError when ``timeout_ns`` passes or nothing is left that
    could raise an interrupt."""
    listener: uio_listener = file.private_data
    idev = listener.dev
    info = idev.info
    if info is None:
        raise syscall_error(_errno.EIO, file.path)
    if not info.irq:
        raise syscall_error(_errno.EIO, file.path)
    if count != 4:
        raise syscall_error(_errno.EINVAL, file.path)
    clock = idev.k.machine.clock
    deadline = None if timeout_ns is None else clock.now + timeout_ns
    while True:
        if idev.event != listener.event_count:
            listener.event_count = idev.event
            return struct.pack("<I", idev.event)
        if file.f_flags & O_NONBLOCK:
            raise syscall_error(_errno.EAGAIN, file.path)
        due = clock.next_due
        if due == float("inf") or (deadline is not None and due > deadline):
            if deadline is not None and deadline > clock.now:
                clock.advance(deadline - clock.now)
            raise TimeoutError(f"no interrupt from {idev.name} ({info.name}) "
                               + ("within the timeout" if deadline is not None else
                                  "can ever come: nothing in the machine is pending"))
        clock.advance(max(int(due) - clock.now, 0))


def uio_poll(file: File) -> bool:
    """Readable: an interrupt this reader has not seen yet."""
    listener: uio_listener = file.private_data
    return listener.dev.event != listener.event_count


def uio_write(file: File, data: bytes) -> int:
    """``write(fd, &s32, 4)``: the driver's irqcontrol; returns 4 or raises OSError."""
    listener: uio_listener = file.private_data
    info = listener.dev.info
    if len(data) != 4:
        raise syscall_error(_errno.EINVAL, file.path)
    if info is None:
        raise syscall_error(_errno.EINVAL, file.path)
    if not info.irq:
        raise syscall_error(_errno.EIO, file.path)
    if info.irqcontrol is None:
        raise syscall_error(_errno.ENOSYS, file.path)
    ret = info.irqcontrol(info, struct.unpack("<i", data)[0])
    if ret < 0:
        raise syscall_error(ret, file.path)
    return 4


def uio_find_mem_index(info: uio_info, vma: vm_area_struct) -> int:
    if vma.vm_pgoff < MAX_UIO_MAPS:
        if info.mem[vma.vm_pgoff].size == 0:
            return -1
        return vma.vm_pgoff
    return -1


def uio_mmap(file: File, vma: vm_area_struct) -> int:
    """``uio_mmap`` then ``uio_mmap_physical``: 0 or -errno."""
    listener: uio_listener = file.private_data
    info = listener.dev.info
    k = listener.dev.k
    if info is None:
        return -_errno.EINVAL
    mi = uio_find_mem_index(info, vma)
    if mi < 0:
        return -_errno.EINVAL
    mem = info.mem[mi]
    psize, shift = k.arch.page_size, k.arch.page_shift
    actual_pages = ((mem.addr & (psize - 1)) + mem.size + psize - 1) >> shift
    if vma.vma_pages() > actual_pages:
        return -_errno.EINVAL
    if mem.memtype not in (UIO_MEM_PHYS, UIO_MEM_IOVA):
        return -_errno.EINVAL
    if mem.addr & (psize - 1):
        return -_errno.ENODEV
    if vma.vm_end - vma.vm_start > mem.size:
        return -_errno.EINVAL
    if mem.memtype == UIO_MEM_PHYS:
        vma.vm_page_prot = pgprot_noncached(vma.vm_page_prot)
    return remap_pfn_range(vma, vma.vm_start, mem.addr >> shift, vma.vm_end - vma.vm_start,
                           vma.vm_page_prot)


# -- uio_pci_generic ------------------------------------------------------------------------

DRIVER_VERSION = "0.01.0"


@dataclass(eq=False)
class uio_pci_generic_dev:  # noqa: N801
    info: uio_info
    pdev: pci_dev


def _upg_irqhandler(irq: int, info: uio_info) -> int:
    gdev: uio_pci_generic_dev = info.priv
    if not pci_check_and_mask_intx(gdev.pdev):
        return IRQ_NONE
    return IRQ_HANDLED


def _upg_release(info: uio_info, file: File) -> int:
    """Closing /dev/uioN stops the function's DMA (the driver is often misused with it)."""
    gdev: uio_pci_generic_dev = info.priv
    pci_clear_master(gdev.pdev)
    return 0


def _upg_probe(pdev: pci_dev, id: pci_device_id) -> int:
    from .device import dev_err, dev_warn

    k = pdev.kernel
    err = pcim_enable_device(pdev)
    if err:
        dev_err(pdev.dev, f"probe: pci_enable_device failed: {err}")
        return err
    if pdev.irq and not pci_intx_mask_supported(pdev):
        return -_errno.ENODEV
    info = uio_info("uio_pci_generic", DRIVER_VERSION, release=_upg_release)
    gdev = uio_pci_generic_dev(info, pdev)
    info.priv = gdev
    if pdev.irq and pdev.irq != IRQ_NOTCONNECTED:
        info.irq = pdev.irq
        info.irq_flags = IRQF_SHARED
        info.handler = _upg_irqhandler
    else:
        dev_warn(pdev.dev, "No IRQ assigned to device: no support for interrupts?")
    psize = k.arch.page_size
    n = 0
    for i in range(min(MAX_UIO_MAPS, PCI_STD_NUM_BARS)):
        r = pdev.resource[i]
        if r.flags != (F.IORESOURCE_SIZEALIGN | F.IORESOURCE_MEM):
            continue
        if n >= MAX_UIO_MAPS:
            dev_warn(pdev.dev, f"device has more than {MAX_UIO_MAPS} I/O memory resources.")
            break
        offs = r.start & (psize - 1)
        size = r.end - r.start + 1
        info.mem[n] = uio_mem(r.name or "", r.start & ~(psize - 1), offs,
                              (offs + size + psize - 1) & ~(psize - 1), UIO_MEM_PHYS)
        n += 1
    pci_set_drvdata(pdev, gdev)
    return devm_uio_register_device(pdev.dev, info)


def uio_pci_generic_driver() -> pci_driver:
    """``struct pci_driver`` of uio_pci_generic: only dynamic ids."""
    return pci_driver("uio_pci_generic", None, _upg_probe)


def uio_pci_generic_init(k: Kernel) -> pci_driver:
    """``modprobe uio_pci_generic`` on ``k`` (once): registers the driver and returns it."""
    drv = k.devices.find_driver("uio_pci_generic")
    if isinstance(drv, pci_driver):
        return drv
    drv = uio_pci_generic_driver()
    with k:
        pci_register_driver(drv)
    return drv


def uio_parent_pci(idev: uio_device) -> pci_dev | None:
    """The PCI function behind a UIO device (its ``device`` link), if it is one."""
    try:
        return to_pci_dev(idev.parent) if idev.parent is not None else None
    except (TypeError, AttributeError, ValueError):
        return None


__all__ = ["DRIVER_VERSION", "MAX_UIO_MAPS", "UIO_IRQ_CUSTOM", "UIO_IRQ_NONE", "UIO_MEM_IOVA",
           "UIO_MEM_LOGICAL", "UIO_MEM_NONE", "UIO_MEM_PHYS", "UIO_MEM_VIRTUAL",
           "devm_uio_register_device", "find_uio", "uio_device", "uio_devices",
           "uio_event_notify", "uio_find_mem_index", "uio_info", "uio_mem", "uio_mmap",
           "uio_open", "uio_parent_pci", "uio_pci_generic_driver", "uio_pci_generic_init",
           "uio_poll", "uio_read", "uio_register_device", "uio_sysfs", "uio_unregister_device",
           "uio_write"]
