"""``/dev/mem`` (drivers/char/mem.c, arch/x86/mm/init.c ``devmem_is_allowed``,
arch/x86/mm/pat/memtype.c, arch/arm64/mm/mmu.c ``phys_mem_access_prot``,
kernel/resource.c ``iomem_is_exclusive``/``revoke_iomem``).

``open`` needs CAP_SYS_RAWIO. ``mmap`` maps the physical pages at the file
offset, after ``range_is_allowed`` asked ``devmem_is_allowed`` about every page
(CONFIG_STRICT_DEVMEM): System RAM is refused (on x86 the first megabyte is
let through), and so are ranges ``iomem_is_exclusive`` calls exclusive: with
CONFIG_IO_STRICT_DEVMEM (Debian's kernels) every range a driver requested
(BUSY), unless the kernel was booted with ``iomem=relaxed``. A refused mmap
fails with EPERM. The memory type is ``phys_mem_access_prot``'s: uncached for
anything that is not RAM.

Every /dev/mem mapping belongs to the iomem address space
(``iomem_get_mapping``), which the PCI ``resourceN`` files share; when a driver
later claims a range (``__request_region``), ``revoke_iomem`` zaps the mappings
of it if ``devmem_is_allowed`` now says no, so a process that mapped a device
before its driver loaded gets SIGBUS instead of racing the driver.
"""

from __future__ import annotations

import errno as _errno
from typing import TYPE_CHECKING, Any

from . import ioport as F
from .remap import (
    O_DSYNC,
    File,
    Task,
    address_space,
    current_task,
    pgprot_noncached,
    pgprot_t,
    pgprot_writecombine,
    remap_pfn_range,
    unmap_mapping_range,
    vm_area_struct,
)

if TYPE_CHECKING:
    from .kernel import Kernel
    from .resource import Resource

#: x86: the first megabyte (pfn < 256) is let through (RAM there reads as zeros)
FIRST_MB_PFNS = 256


def page_is_ram(k: Kernel, pfn: int) -> bool:
    """``region_intersects(..., IORESOURCE_SYSTEM_RAM)`` for one page."""
    shift = k.arch.page_shift
    start, end = pfn << shift, ((pfn + 1) << shift) - 1
    for r in k.iomem_resource.walk():
        if (r.flags & F.IORESOURCE_SYSTEM_RAM) == F.IORESOURCE_SYSTEM_RAM and \
                r.start <= end and start <= r.end:
            return True
    return False


def devmem_is_allowed(k: Kernel, pfn: int) -> int:
    """0 (refused), 1 (allowed) or 2 (x86: allowed, reads show zeros).

    x86 (arch/x86/mm/init.c): RAM -> 2 below 1 MiB, else 0; exclusive -> 1 below
    1 MiB, else 0; anything else 1. Generic (arm64, lib/devmem_is_allowed.c):
    exclusive -> 0; RAM -> 0; else 1.
    """
    addr = pfn << k.arch.page_shift
    if k.arch.is_x86:
        if page_is_ram(k, pfn):
            return 2 if pfn < FIRST_MB_PFNS else 0
        if k.iomem_is_exclusive(addr):
            return 1 if pfn < FIRST_MB_PFNS else 0
        return 1
    if k.iomem_is_exclusive(addr):
        return 0
    if not page_is_ram(k, pfn):
        return 1
    return 0


def range_is_allowed(k: Kernel, pfn: int, size: int) -> bool:
    """Every page of ``[pfn, pfn + size)`` passes ``devmem_is_allowed``."""
    psize = k.arch.page_size
    cursor, to = pfn << k.arch.page_shift, (pfn << k.arch.page_shift) + size
    while cursor < to:
        if not devmem_is_allowed(k, pfn):
            return False
        cursor += psize
        pfn += 1
    return True


def refused_pages(k: Kernel, pfn: int, size: int) -> list[int]:
    """The pfns of ``[pfn, pfn + size)`` ``devmem_is_allowed`` refuses (for diagnosis)."""
    n = (size + k.arch.page_size - 1) >> k.arch.page_shift
    return [p for p in range(pfn, pfn + n) if not devmem_is_allowed(k, p)]


def iomem_get_mapping(k: Kernel) -> address_space:
    """The address space of every /dev/mem and PCI resource mapping (kernel/resource.c)."""
    m = k.__dict__.get("_iomem_mapping")
    if m is None:
        m = k.__dict__["_iomem_mapping"] = address_space("iomem")
        k.region_hooks.append(lambda ev, parent, start, n, res, k=k:
                              _revoke_hook(k, ev, parent, res))
    return m


def _revoke_hook(k: Kernel, event: str, parent: Resource, res: Resource | None) -> None:
    if event == "request" and res is not None and parent is k.iomem_resource:
        revoke_iomem(k, res)


def revoke_iomem(k: Kernel, res: Resource) -> int:
    """Zap the iomem mappings of a range a driver just claimed, unless /dev/mem would
    still allow it (``iomem=relaxed``: "what's the worst that can happen?")."""
    shift = k.arch.page_shift
    if devmem_is_allowed(k, res.start >> shift) and devmem_is_allowed(k, res.end >> shift):
        return 0
    mapping = k.__dict__.get("_iomem_mapping")
    if mapping is None:
        return 0
    return unmap_mapping_range(mapping, res.start, res.end - res.start + 1, 1)


def phys_mem_access_prot_allowed(k: Kernel, file: File, pfn: int, size: int,
                                 prot: pgprot_t) -> pgprot_t | None:
    """x86 (arch/x86/mm/pat/memtype.c): WB, or UC- with O_DSYNC/O_SYNC; PAT then decides
    (remap_pfn_range: UC- for anything the firmware's MTRRs leave uncached). None: refused."""
    if not range_is_allowed(k, pfn, size):
        return None
    if k.arch.is_x86:
        from . import arch as A

        return pgprot_t(prot.arch, A.UC_MINUS if file.f_flags & O_DSYNC else A.WB,
                        prot.writable)
    return prot


def phys_mem_access_prot(k: Kernel, file: File, pfn: int, size: int, prot: pgprot_t
                         ) -> pgprot_t:
    """arm64 (arch/arm64/mm/mmu.c): not RAM -> noncached; RAM with O_SYNC -> write-combine;
    else as given. x86 keeps what ``phys_mem_access_prot_allowed`` chose."""
    if k.arch.is_x86:
        return prot
    if not k.pfn_is_map_memory(pfn << k.arch.page_shift):
        return pgprot_noncached(prot)
    if file.f_flags & O_DSYNC:
        return pgprot_writecombine(prot)
    return prot


def open_mem(k: Kernel, flags: int, task: Task | None = None) -> File:
    """``open("/dev/mem", flags)``: needs CAP_SYS_RAWIO (EPERM); raises OSError."""
    from .remap import syscall_error

    task = task or current_task(k)
    if not task.capable("CAP_SYS_RAWIO"):
        raise syscall_error(_errno.EPERM, "/dev/mem")
    return File("/dev/mem", flags, task, iomem_get_mapping(k),
                mmap=lambda f, v: mmap_mem(k, f, v), private_data=k)


def mmap_mem(k: Kernel, file: File, vma: vm_area_struct) -> int:
    """``mmap_mem``: 0 or -EINVAL / -EPERM / -EAGAIN, in the kernel's order."""
    shift = k.arch.page_shift
    size = vma.vm_end - vma.vm_start
    offset = vma.vm_pgoff << shift
    if offset + size - 1 < offset or (offset + size - 1) >> k.arch.phys_bits:
        return -_errno.EINVAL  # wraps, or beyond valid_mmap_phys_addr_range
    if not range_is_allowed(k, vma.vm_pgoff, size):
        return -_errno.EPERM
    prot = phys_mem_access_prot_allowed(k, file, vma.vm_pgoff, size, vma.vm_page_prot)
    if prot is None:
        return -_errno.EINVAL
    vma.vm_page_prot = phys_mem_access_prot(k, file, vma.vm_pgoff, size, prot)
    if remap_pfn_range(vma, vma.vm_start, vma.vm_pgoff, size, vma.vm_page_prot):
        return -_errno.EAGAIN
    return 0


def devmem_matrix(k: Kernel, phys: int) -> dict[str, Any]:
    """What /dev/mem says about the page at ``phys``: for tests and ``iomem`` diagnostics."""
    pfn = phys >> k.arch.page_shift
    return {"ram": page_is_ram(k, pfn), "exclusive": k.iomem_is_exclusive(phys),
            "strict": k.strict_devmem, "devmem_is_allowed": devmem_is_allowed(k, pfn)}


__all__ = ["FIRST_MB_PFNS", "devmem_is_allowed", "devmem_matrix", "iomem_get_mapping",
           "mmap_mem", "open_mem", "page_is_ram", "phys_mem_access_prot",
           "phys_mem_access_prot_allowed", "range_is_allowed", "refused_pages", "revoke_iomem"]
