"""PCI BARs and config space from userspace: the ``resourceN``/``resourceN_wc`` and
``config`` files of ``/sys/bus/pci/devices/DDDD:BB:DD.F/`` (drivers/pci/pci-sysfs.c,
drivers/pci/mmap.c, drivers/pci/access.c ``pci_user_*_config_*``).

``pci_create_resource_files`` makes ``resourceN`` for every BAR with a size and
``resourceN_wc`` only for prefetchable ones. A memory BAR's file mmaps at
offset 0 (``pci_mmap_resource``): EINVAL when ``iomem_is_exclusive`` says a
driver holds the BAR under strict devmem, or when the mapping does not fit the
BAR (Linux 6.1 logs nothing for it: the old "process ... tried to map"
warning went with the lockdown check); the entries are ``pgprot_device``
(UC- on x86, Device-nGnRE on arm64) or ``pgprot_writecombine`` for ``_wc``.
An I/O BAR's file has no mmap on x86 (ENODEV) and is read and written 1, 2
or 4 bytes at a time (``pci_resource_io``). The mappings share the iomem
address space with /dev/mem, so ``revoke_iomem`` reaches them too.
"""

from __future__ import annotations

import errno as _errno
from typing import TYPE_CHECKING

from . import ioport as F
from .devmem import iomem_get_mapping
from .pci import PCI_STD_NUM_BARS, pci_dev, pci_resource_flags, pci_resource_len, pci_resource_start
from .remap import (
    File,
    Task,
    current_task,
    io_remap_pfn_range,
    pgprot_device,
    pgprot_writecombine,
    syscall_error,
    vm_area_struct,
)

if TYPE_CHECKING:
    from .kernel import Kernel

pci_mmap_io = 0  # noqa: N816 - enum pci_mmap_state
pci_mmap_mem = 1  # noqa: N816
PCI_MMAP_SYSFS = 0
PCI_MMAP_PROCFS = 1


def arch_can_pci_mmap_io(k: Kernel) -> bool:
    """x86 and arm64 map no I/O BARs (only powerpc, sparc, xtensa do)."""
    return False


def pci_resource_files(pdev: pci_dev) -> list[str]:
    """``pci_create_resource_files``: resourceN for BARs with a size, _wc for prefetchable."""
    out = []
    for i in range(PCI_STD_NUM_BARS):
        if not pci_resource_len(pdev, i):
            continue
        out.append(f"resource{i}")
        if pci_resource_flags(pdev, i) & F.IORESOURCE_PREFETCH:
            out.append(f"resource{i}_wc")
    return out


def pci_mmap_fits(pdev: pci_dev, resno: int, vma: vm_area_struct, mmap_api: int) -> bool:
    """The VMA lies inside the BAR's pages (sysfs offsets start at 0)."""
    length = pci_resource_len(pdev, resno)
    if length == 0:
        return False
    shift = pdev.kernel.arch.page_shift
    nr = vma.vma_pages()
    start = vma.vm_pgoff
    size = ((length - 1) >> shift) + 1
    return start < size and start + nr <= size


def pci_mmap_resource_range(pdev: pci_dev, bar: int, vma: vm_area_struct, mmap_state: int,
                            write_combine: int) -> int:
    """drivers/pci/mmap.c: pick the pgprot, move vm_pgoff to the BAR's frames, remap."""
    shift = pdev.kernel.arch.page_shift
    size = ((pci_resource_len(pdev, bar) - 1) >> shift) + 1
    if vma.vm_pgoff + vma.vma_pages() > size:
        return -_errno.EINVAL
    if write_combine:
        vma.vm_page_prot = pgprot_writecombine(vma.vm_page_prot)
    else:
        vma.vm_page_prot = pgprot_device(vma.vm_page_prot)
    if mmap_state == pci_mmap_io:
        return -_errno.EINVAL  # pci_iobar_pfn: no architecture modelled maps I/O BARs
    vma.vm_pgoff += pci_resource_start(pdev, bar) >> shift
    return io_remap_pfn_range(vma, vma.vm_start, vma.vm_pgoff, vma.vm_end - vma.vm_start,
                              vma.vm_page_prot)


def pci_mmap_resource(pdev: pci_dev, bar: int, vma: vm_area_struct, write_combine: int) -> int:
    """``pci_mmap_resource``: 0 or -errno (EINVAL for an exclusive BAR or a bad fit)."""
    k = pdev.kernel
    res = pdev.resource[bar]
    if res.flags & F.IORESOURCE_MEM and k.iomem_is_exclusive(res.start):
        return -_errno.EINVAL
    if not pci_mmap_fits(pdev, bar, vma, PCI_MMAP_SYSFS):
        return -_errno.EINVAL
    mmap_type = pci_mmap_mem if res.flags & F.IORESOURCE_MEM else pci_mmap_io
    return pci_mmap_resource_range(pdev, bar, vma, mmap_type, write_combine)


def open_resource(pdev: pci_dev, name: str, flags: int, task: Task | None = None) -> File:
    """``open()`` of a BAR file (mode 0600: root only); raises OSError as the call fails."""
    k = pdev.kernel
    task = task or current_task(k)
    path = f"/sys/bus/pci/devices/{pdev.name}/{name}"
    if name not in pci_resource_files(pdev):
        raise syscall_error(_errno.ENOENT, path)
    if task.uid != 0:
        raise syscall_error(_errno.EACCES, path)
    bar = int(name[len("resource"):].removesuffix("_wc"))
    wc = int(name.endswith("_wc"))
    is_io = bool(pci_resource_flags(pdev, bar) & F.IORESOURCE_IO)
    mmap = None
    if not is_io or arch_can_pci_mmap_io(k):
        def mmap(f: File, vma: vm_area_struct) -> int:
            return pci_mmap_resource(pdev, bar, vma, wc)
    return File(path, flags, task, iomem_get_mapping(k), mmap=mmap, private_data=(pdev, bar))


def pci_resource_io(pdev: pci_dev, bar: int, off: int, count: int, write: bool,
                    value: int = 0) -> int:
    """read()/write() of an I/O BAR's file: one ``in``/``out`` of 1, 2 or 4 bytes.

    Returns the value read (or 0 for a write); -EINVAL for another size or an
    access past the BAR; past its end entirely the kernel answers 0 bytes, -1 here.
    """
    k = pdev.kernel
    port = pci_resource_start(pdev, bar) + off
    end = pci_resource_start(pdev, bar) + pci_resource_len(pdev, bar) - 1
    if port > end:
        return -1
    if port + count - 1 > end or count not in (1, 2, 4):
        return -_errno.EINVAL
    if write:
        k.machine.io.write(port, count, value)
        return 0
    return int(k.machine.io.read(port, count))


# -- the config file (drivers/pci/pci-sysfs.c pci_read_config/pci_write_config) -----------

def _pieces(off: int, size: int) -> list[tuple[int, int]]:
    """How the config file splits an access: a byte to 2-align, a word to 4-align, dwords,
    then a word and a byte (what reaches the device for a pread/pwrite)."""
    out = []
    if off & 1 and size:
        out.append((off, 1))
        off, size = off + 1, size - 1
    if off & 3 and size > 2:
        out.append((off, 2))
        off, size = off + 2, size - 2
    while size > 3:
        out.append((off, 4))
        off, size = off + 4, size - 4
    if size >= 2:
        out.append((off, 2))
        off, size = off + 2, size - 2
    if size:
        out.append((off, 1))
    return out


def pci_read_config_file(pdev: pci_dev, off: int, count: int, task: Task | None = None
                         ) -> bytes:
    """``pread`` of the ``config`` file; a reader without CAP_SYS_ADMIN sees 64 bytes."""
    task = task or current_task(pdev.kernel)
    size = pdev.cfg_size if task.capable("CAP_SYS_ADMIN") else 64
    if pdev.hdr_type & 0x7F == 2 and size == 64:  # CardBus: 128 bytes
        size = 128
    if off > size:
        return b""
    count = min(count, size - off)
    out = bytearray()
    for where, n in _pieces(off, count):
        out += pdev._rd(where, n).to_bytes(n, "little")
    return bytes(out)


def pci_write_config_file(pdev: pci_dev, off: int, data: bytes, task: Task | None = None
                          ) -> int:
    """``pwrite`` of the ``config`` file (root only); returns the bytes written."""
    task = task or current_task(pdev.kernel)
    if task.uid != 0:
        raise syscall_error(_errno.EACCES, f"/sys/bus/pci/devices/{pdev.name}/config")
    if off > pdev.cfg_size:
        return 0
    data = data[:pdev.cfg_size - off]
    for where, n in _pieces(off, len(data)):
        pdev._wr(where, n, int.from_bytes(data[where - off:where - off + n], "little"))
    return len(data)


__all__ = ["PCI_MMAP_PROCFS", "PCI_MMAP_SYSFS", "arch_can_pci_mmap_io", "open_resource",
           "pci_mmap_fits", "pci_mmap_io", "pci_mmap_mem", "pci_mmap_resource",
           "pci_mmap_resource_range", "pci_read_config_file", "pci_resource_files",
           "pci_resource_io", "pci_write_config_file"]
