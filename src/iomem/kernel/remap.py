"""Userspace mappings of physical pages: ``vm_area_struct``, ``remap_pfn_range`` and
the page protections (mm/memory.c, mm/mmap.c, include/linux/mm_types.h,
include/linux/pgtable.h, arch/x86/include/asm/pgtable_types.h,
arch/arm64/include/asm/pgtable.h, arch/x86/mm/pat/memtype.c).

A driver's ``mmap`` file operation (``/dev/mem``, a PCI ``resourceN`` file,
``/dev/uioX``, a VFIO device) gets a :class:`vm_area_struct` for the range the
process asked for, picks the memory type with ``pgprot_noncached`` /
``pgprot_writecombine`` / ``pgprot_device``, and fills the page tables with
``remap_pfn_range``. Here the page-table entries are kept per process
(:class:`mm_struct`), and every load or store through the VMA goes through
the kernel's :class:`~iomem.kernel.io.IoPaths` with the VMA's memory type,
the same bus path kernel ``ioremap`` accesses take, so the CPU memory model,
the sanitizer and tracers see userspace accesses too.

A VMA whose pages were zapped (``munmap``, or ``unmap_mapping_range`` when a
driver claims the range under CONFIG_IO_STRICT_DEVMEM) has no entries left;
a VM_PFNMAP mapping has no fault handler to refill them, so the next access
raises :class:`SigBus`, as the process would get SIGBUS.
"""

from __future__ import annotations

import errno as _errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import arch as A
from .ioremap import VM_NO_GUARD, PageTable, VmArea

if TYPE_CHECKING:
    from .kernel import Kernel

# include/uapi/asm-generic/mman-common.h
PROT_READ = 0x1
PROT_WRITE = 0x2
PROT_EXEC = 0x4
MAP_SHARED = 0x01
MAP_PRIVATE = 0x02

# include/linux/mm.h
VM_READ = 0x00000001
VM_WRITE = 0x00000002
VM_EXEC = 0x00000004
VM_SHARED = 0x00000008
VM_MAYREAD = 0x00000010
VM_MAYWRITE = 0x00000020
VM_MAYSHARE = 0x00000080
VM_PFNMAP = 0x00000400
VM_IO = 0x00004000
VM_DONTEXPAND = 0x00040000
VM_DONTDUMP = 0x04000000

# include/uapi/asm-generic/fcntl.h (open flags as userspace passes them)
O_RDONLY = os.O_RDONLY
O_WRONLY = os.O_WRONLY
O_RDWR = os.O_RDWR
O_NONBLOCK = os.O_NONBLOCK
O_DSYNC = os.O_DSYNC
O_SYNC = os.O_SYNC
O_ACCMODE = 3

#: where a 64-bit process's mmap areas start (TASK_SIZE / mmap_base, top-down)
MMAP_BASE_64 = 0x7F0000000000


class SigBus(OSError):
    """An access through a userspace mapping whose pages are gone: the process's SIGBUS."""

    def __init__(self, message: str) -> None:
        super().__init__(_errno.EFAULT, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def syscall_error(err: int, what: str = "") -> OSError:
    """``-errno`` as the C library turns it into a failed call (what Python's os raises)."""
    e = -err if err < 0 else err
    return OSError(e, os.strerror(e) + (f": {what}" if what else ""))


# -- page protections ---------------------------------------------------------------

@dataclass(frozen=True)
class pgprot_t:  # noqa: N801 - the kernel's name
    """A page protection: access rights and the memory type the entries carry."""

    arch: str
    memtype: str
    writable: bool = True

    def describe(self) -> str:
        return f"{self.memtype} {'rw' if self.writable else 'r'}"


def vm_get_page_prot(k: Kernel, vm_flags: int) -> pgprot_t:
    """``vm_get_page_prot``: a new VMA's protection, ordinary cacheable memory."""
    memtype = A.WB if k.arch.is_x86 else A.NORMAL
    return pgprot_t(k.arch.name, memtype, bool(vm_flags & VM_WRITE))


def _with(prot: pgprot_t, memtype: str) -> pgprot_t:
    return pgprot_t(prot.arch, memtype, prot.writable)


def pgprot_noncached(prot: pgprot_t) -> pgprot_t:
    """x86: UC- (``_PAGE_CACHE_MODE_UC_MINUS``); arm64: Device-nGnRnE."""
    return _with(prot, A.UC_MINUS if prot.arch == "x86_64" else A.DEVICE_nGnRnE)


def pgprot_writecombine(prot: pgprot_t) -> pgprot_t:
    """x86: WC (with PAT); arm64: Normal-NC."""
    return _with(prot, A.WC if prot.arch == "x86_64" else A.NORMAL_NC)


def pgprot_device(prot: pgprot_t) -> pgprot_t:
    """x86: the same as ``pgprot_noncached``; arm64: Device-nGnRE."""
    return _with(prot, A.UC_MINUS if prot.arch == "x86_64" else A.DEVICE_nGnRE)


# -- processes and files --------------------------------------------------------------

#: the capabilities a root process has that these paths check
ROOT_CAPS = frozenset({"CAP_SYS_RAWIO", "CAP_SYS_ADMIN"})


@dataclass(eq=False)
class address_space:  # noqa: N801
    """``struct address_space``: the mappings of one file (or of iomem for /dev/mem and
    the PCI resource files, which share ``iomem_get_mapping``); offsets are pages."""

    name: str
    vmas: list[vm_area_struct] = field(default_factory=list)


@dataclass(eq=False)
class File:
    """``struct file`` of an open device node or sysfs file."""

    path: str
    f_flags: int
    task: Task
    f_mapping: address_space | None = None
    mmap: Callable[[File, vm_area_struct], int] | None = None
    release: Callable[[File], None] | None = None
    private_data: Any = None
    closed: bool = False

    @property
    def readable(self) -> bool:
        return (self.f_flags & O_ACCMODE) in (O_RDONLY, O_RDWR)

    @property
    def writable(self) -> bool:
        return (self.f_flags & O_ACCMODE) in (O_WRONLY, O_RDWR)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.release is not None:
                self.release(self)


class mm_struct:  # noqa: N801
    """A process's address space: its VMAs and their page-table entries."""

    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.vmas: list[vm_area_struct] = []
        self.page_table = PageTable(k.arch.page_shift)
        self.mmap_base = MMAP_BASE_64 if k.arch.bits == 64 else 0x40000000

    def get_unmapped_area(self, length: int) -> int:
        """Top-down, below the lowest mapping (``arch_get_unmapped_area_topdown``)."""
        low = min((v.vm_start for v in self.vmas), default=self.mmap_base)
        return low - length


@dataclass(eq=False)
class Task:
    """The parts of ``struct task_struct`` and its credentials these paths look at."""

    k: Kernel
    comm: str = "python3"
    pid: int = 1000
    uid: int = 0
    caps: frozenset[str] = ROOT_CAPS
    mm: mm_struct | None = None

    def __post_init__(self) -> None:
        if self.mm is None:
            self.mm = mm_struct(self.k)

    def capable(self, cap: str) -> bool:
        return cap in self.caps


def current_task(k: Kernel) -> Task:
    """The process userspace calls on ``k`` run as (root, all capabilities, by default)."""
    t = k.__dict__.get("_current_task")
    if t is None:
        t = k.__dict__["_current_task"] = Task(k)
    return t


# -- the VMA and its accesses --------------------------------------------------------------

class UserArea(VmArea):
    """The access side of a userspace VMA: what :class:`~iomem.kernel.io.IoPaths` installs
    read/write functions on, with the VMA's physical range and memory type."""

    __slots__ = ("vma",)


@dataclass(eq=False)
class vm_area_struct:  # noqa: N801
    """``struct vm_area_struct``: one mapping of a process (offsets in pages: ``vm_pgoff``)."""

    vm_mm: mm_struct
    vm_start: int
    vm_end: int
    vm_pgoff: int
    vm_flags: int
    vm_page_prot: pgprot_t
    vm_file: File | None = None
    vm_private_data: Any = None
    #: filled by remap_pfn_range
    pfn: int | None = None
    area: UserArea | None = None
    #: why the pages are gone (munmap, revoked), for the SIGBUS message
    zapped: str | None = None

    def vma_pages(self) -> int:
        return (self.vm_end - self.vm_start) >> self.vm_mm.k.arch.page_shift

    @property
    def size(self) -> int:
        return self.vm_end - self.vm_start

    @property
    def phys(self) -> int | None:
        return None if self.pfn is None else self.pfn << self.vm_mm.k.arch.page_shift

    @property
    def memtype(self) -> str:
        return self.vm_page_prot.memtype

    def read(self, off: int, size: int) -> int:
        """A load at byte ``off`` of the mapping (ordered)."""
        return self._area().read(off, size)

    def write(self, off: int, size: int, value: int) -> None:
        self._area().write(off, size, value)

    def read_relaxed(self, off: int, size: int) -> int:
        return self._area().read_relaxed(off, size)

    def write_relaxed(self, off: int, size: int, value: int) -> None:
        self._area().write_relaxed(off, size, value)

    def _area(self) -> UserArea:
        if self.area is None:
            raise SigBus(self._sigbus_text())
        return self.area

    def _sigbus_text(self) -> str:
        where = self.vm_file.path if self.vm_file else "an anonymous mapping"
        why = self.zapped or "nothing is mapped there"
        return (f"Bus error (SIGBUS): the mapping of {where} at {self.vm_start:#x} has no "
                f"pages: {why}")

    def __repr__(self) -> str:
        return (f"<vm_area_struct {self.vm_start:#x}-{self.vm_end:#x} pgoff={self.vm_pgoff:#x} "
                f"{self.vm_page_prot.describe()}>")


def _user_areas(k: Kernel) -> list[UserArea]:
    """The live userspace areas of ``k`` (reinstalled when a layer comes or goes)."""
    return k.__dict__.setdefault("_user_areas", [])


def remap_pfn_range(vma: vm_area_struct, addr: int, pfn: int, size: int, prot: pgprot_t
                    ) -> int:
    """Map ``size`` bytes of frames from ``pfn`` at user address ``addr``: 0 or -errno.

    The whole VMA must be covered (``vm_start``..``vm_end``, as every caller here
    does), the VMA becomes VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP, and on
    x86 the range's memory type is reserved with PAT (``track_pfn_remap``): a type
    that conflicts with an existing mapping of the range fails with -EINVAL.
    """
    k = vma.vm_mm.k
    psize = k.arch.page_size
    if addr != vma.vm_start or addr + size != vma.vm_end or size <= 0 or size % psize:
        return -_errno.EINVAL
    phys = pfn << k.arch.page_shift
    if phys + size - 1 >> k.arch.phys_bits:
        return -_errno.EINVAL
    memtype = prot.memtype
    if k.arch.is_x86:
        got = _track_pfn_remap(k, phys, size, memtype)
        if got is None:
            return -_errno.EINVAL
        memtype = got
    vma.vm_page_prot = pgprot_t(prot.arch, memtype, prot.writable)
    vma.vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP
    vma.pfn = pfn
    vma.vm_mm.page_table.map(addr, phys, size >> k.arch.page_shift, memtype)
    area = UserArea(k, addr, size, phys, _comm(vma), memtype, phys, size, flags=VM_NO_GUARD)
    area.vma = vma
    area.name = vma.vm_file.path if vma.vm_file else ""
    vma.area = area
    _user_areas(k).append(area)
    return 0


def io_remap_pfn_range(vma: vm_area_struct, addr: int, pfn: int, size: int, prot: pgprot_t
                       ) -> int:
    """``io_remap_pfn_range``: remap_pfn_range on every architecture iomem models."""
    return remap_pfn_range(vma, addr, pfn, size, prot)


def _comm(vma: vm_area_struct) -> str:
    f = vma.vm_file
    return f"{f.task.comm}[{f.task.pid}]" if f is not None else ""


def _track_pfn_remap(k: Kernel, phys: int, size: int, want: str) -> str | None:
    """x86 ``reserve_pfn_range``: the memory type the entries get, or None (-EINVAL).

    ``memtype_reserve`` consults the MTRRs for a write-back request: the firmware
    leaves the PCI hole uncached, so a WB request for anything but RAM becomes UC-
    (``pat_x_mtrr_type``). An existing reservation of another type wins if
    ``is_new_memtype_allowed`` accepts it, else the mapping fails.
    """
    from .ioremap import _cattr, _new_memtype_allowed

    st = k.ioremap_state
    req = want
    if want == A.WB and not k.pfn_is_map_memory(phys):
        req = A.UC_MINUS
    got = st._memtype_reserve(phys, phys + size, req)
    if got is None:
        return None
    if got != want and not _new_memtype_allowed(want, got, phys, phys + size):
        st._memtype_free(phys, phys + size)
        k.printk_err(f"x86/PAT: {k.comm}:{k.pid} map pfn expected mapping type {_cattr(want)} "
                     f"for [mem {phys:#010x}-{phys + size - 1:#010x}], got {_cattr(got)}")
        return None
    return got


def zap_vma(vma: vm_area_struct, why: str) -> None:
    """Take a VMA's page-table entries away (``zap_page_range``); accesses then SIGBUS."""
    area = vma.area
    if area is None:
        return
    k = vma.vm_mm.k
    vma.vm_mm.page_table.unmap(vma.vm_start, vma.vma_pages())
    if k.arch.is_x86:
        k.ioremap_state._memtype_free(area.phys_addr, area.phys_addr + vma.size)
    areas = _user_areas(k)
    if area in areas:
        areas.remove(area)
    area.dead = True
    vma.area = None
    vma.zapped = why
    k.on_iounmap(area)


def unmap_mapping_range(mapping: address_space, holebegin: int, holelen: int,
                        even_cows: int = 1) -> int:
    """Zap every VMA of ``mapping`` that maps bytes ``[holebegin, holebegin + holelen)``
    of the file; returns how many lost their pages."""
    n = 0
    for vma in list(mapping.vmas):
        if vma.area is None:
            continue
        shift = vma.vm_mm.k.arch.page_shift
        start = vma.vm_pgoff << shift
        if start < holebegin + holelen and holebegin < start + vma.size:
            zap_vma(vma, f"the kernel revoked it (a driver claimed "
                         f"[mem {holebegin:#010x}-{holebegin + holelen - 1:#010x}])")
            n += 1
    return n


# -- the system calls ---------------------------------------------------------------------

def do_mmap(file: File, length: int, prot: int = PROT_READ | PROT_WRITE,
            flags: int = MAP_SHARED, offset: int = 0) -> vm_area_struct:
    """``mmap(NULL, length, prot, flags, fd, offset)``: the new VMA, or OSError as the
    C library reports a failed call."""
    task = file.task
    mm = task.mm
    assert mm is not None
    k = mm.k
    psize = k.arch.page_size
    if file.closed:
        raise syscall_error(_errno.EBADF)
    if length <= 0 or offset % psize or offset < 0:
        raise syscall_error(_errno.EINVAL)
    length = (length + psize - 1) & ~(psize - 1)
    if (prot & PROT_READ and not file.readable) or \
            (flags & MAP_SHARED and prot & PROT_WRITE and not file.writable):
        raise syscall_error(_errno.EACCES)
    if file.mmap is None:
        raise syscall_error(_errno.ENODEV)
    vm_flags = VM_MAYREAD | (VM_READ if prot & PROT_READ else 0) | \
        (VM_WRITE if prot & PROT_WRITE else 0)
    if flags & MAP_SHARED:
        vm_flags |= VM_SHARED | VM_MAYSHARE | (VM_MAYWRITE if file.writable else 0)
    start = mm.get_unmapped_area(length)
    vma = vm_area_struct(mm, start, start + length, offset >> k.arch.page_shift, vm_flags,
                         vm_get_page_prot(k, vm_flags), file)
    ret = file.mmap(file, vma)
    if ret:
        if vma.area is not None:
            zap_vma(vma, "mmap failed")
        raise syscall_error(ret, file.path)
    mm.vmas.append(vma)
    if file.f_mapping is not None:
        file.f_mapping.vmas.append(vma)
    return vma


def do_munmap(vma: vm_area_struct) -> None:
    """``munmap`` of the whole VMA."""
    zap_vma(vma, "it was unmapped (munmap)")
    mm = vma.vm_mm
    if vma in mm.vmas:
        mm.vmas.remove(vma)
    f = vma.vm_file
    if f is not None and f.f_mapping is not None and vma in f.f_mapping.vmas:
        f.f_mapping.vmas.remove(vma)


__all__ = [n for n in list(globals()) if not n.startswith("_") and n not in (
    "annotations", "Any", "Callable", "TYPE_CHECKING", "A", "PageTable", "VmArea", "os",
    "dataclass", "field", "VM_NO_GUARD")]
