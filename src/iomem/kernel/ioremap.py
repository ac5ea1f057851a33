"""ioremap and its variants (mm/ioremap.c, arch/x86/mm/ioremap.c, arch/arm64/mm/ioremap.c),
the vmalloc area they allocate from (mm/vmalloc.c) and the page tables they fill.

A mapping is a ``vm_struct``-like :class:`VmArea`: a page-aligned virtual
range (plus one guard page) in the vmalloc window, backed by page-table
entries that give each virtual page a physical frame and a memory type.
``ioremap`` returns an ``__iomem`` cookie at ``vaddr + (phys & ~PAGE_MASK)``.
The accessors go through the area; the path an access takes (direct, traced,
checked, memory-model) is chosen when the area is made, not per access.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import arch as A
from . import ioport as F
from .vsprintf import pa

if TYPE_CHECKING:
    from .kernel import Kernel

VM_IOREMAP = 0x1
VM_ALLOC = 0x2
VM_MAP = 0x4
VM_NO_GUARD = 0x40


@dataclass(frozen=True)
class PTE:
    """A page-table entry of the kernel's mapping: frame, memory type, permissions."""

    pfn: int
    memtype: str
    prot: str = "rw"

    def describe(self, page_shift: int = 12) -> str:
        return f"pfn 0x{self.pfn:x} (phys 0x{self.pfn << page_shift:x}) {self.memtype} {self.prot}"


class PageTable:
    """The kernel's page tables for the vmalloc window: virtual page -> PTE.

    Entries are kept as extents (a run of virtual pages mapping a run of frames
    with one memory type), so mapping a 64 GiB BAR costs what a 4 KiB one does.
    """

    def __init__(self, page_shift: int = 12) -> None:
        self.page_shift = page_shift
        self._starts: list[int] = []  # first virtual page number of each extent, sorted
        self._extents: dict[int, tuple[int, int, str]] = {}  # vpn -> (npages, pfn, memtype)

    def map(self, vaddr: int, phys: int, npages: int, memtype: str) -> None:
        if npages <= 0:
            return
        self.unmap(vaddr, npages)
        s = self.page_shift
        vpn = vaddr >> s
        insort(self._starts, vpn)
        self._extents[vpn] = (npages, phys >> s, memtype)

    def unmap(self, vaddr: int, npages: int) -> None:
        s = self.page_shift
        lo = vaddr >> s
        hi = lo + npages
        i = max(bisect_right(self._starts, lo) - 1, 0)
        while i < len(self._starts) and self._starts[i] < hi:
            vpn = self._starts[i]
            n, pfn, memtype = self._extents[vpn]
            if vpn + n <= lo:
                i += 1
                continue
            del self._starts[i]
            del self._extents[vpn]
            if vpn < lo:  # keep the head
                self._extents[vpn] = (lo - vpn, pfn, memtype)
                self._starts.insert(i, vpn)
                i += 1
            if vpn + n > hi:  # keep the tail
                self._extents[hi] = (vpn + n - hi, pfn + hi - vpn, memtype)
                self._starts.insert(i, hi)
                i += 1

    def lookup(self, vaddr: int) -> PTE | None:
        """The entry mapping ``vaddr`` (None: not present, e.g. a guard page)."""
        vpn = vaddr >> self.page_shift
        i = bisect_right(self._starts, vpn) - 1
        if i >= 0:
            start = self._starts[i]
            n, pfn, memtype = self._extents[start]
            if vpn < start + n:
                return PTE(pfn + vpn - start, memtype)
        return None

    def __len__(self) -> int:
        """How many pages are mapped."""
        return sum(n for n, _pfn, _t in self._extents.values())

    def virt_to_phys(self, vaddr: int) -> int | None:
        pte = self.lookup(vaddr)
        if pte is None:
            return None
        return (pte.pfn << self.page_shift) | (vaddr & ((1 << self.page_shift) - 1))


class VmArea:
    """``struct vm_struct`` of an ioremap: where it lives and what backs it.

    ``lo``/``hi`` bound the offsets (from ``addr``) the caller asked for; the
    accessors refuse anything outside them (past the request, in the guard
    page, or after ``iounmap``).
    """

    __slots__ = ("kernel", "addr", "size", "flags", "phys_addr", "caller", "memtype",
                 "req_phys", "req_size", "lo", "hi", "dead", "linear", "pio",
                 "read", "write", "read_relaxed", "write_relaxed", "trace_id", "name",
                 "direct", "__weakref__")

    def __init__(self, kernel: Kernel, addr: int, size: int, phys_addr: int, caller: str,
                 memtype: str, req_phys: int, req_size: int, flags: int = VM_IOREMAP,
                 linear: bool = False, pio: bool = False) -> None:
        self.kernel = kernel
        self.addr = addr
        self.size = size  # includes the guard page, as vm_struct.size does
        self.flags = flags
        self.phys_addr = phys_addr
        self.caller = caller
        self.memtype = memtype
        self.req_phys = req_phys
        self.req_size = req_size
        self.lo = req_phys - phys_addr
        self.hi = self.lo + req_size
        self.dead = False
        self.linear = linear
        self.pio = pio  # an ioport_map() cookie: accesses go to the I/O-port space
        self.trace_id = 0
        self.name = ""
        kernel.io_paths.install(self)

    @property
    def mapped_size(self) -> int:
        return self.size - (0 if self.flags & VM_NO_GUARD or self.linear else
                            self.kernel.arch.page_size)

    def vmallocinfo_line(self) -> str:
        """``/proc/vmallocinfo`` (s_show in mm/vmalloc.c)."""
        w = self.kernel.arch.bits // 4  # %pK: the pointer's full width
        line = f"0x{self.addr:0{w}x}-0x{self.addr + self.size:0{w}x} {self.size:7d}"
        if self.caller:
            line += f" {self.caller}"
        if self.phys_addr:
            line += f" phys={pa(self.phys_addr)}"
        if self.flags & VM_IOREMAP:
            line += " ioremap"
        return line

    def __repr__(self) -> str:
        return (f"<VmArea 0x{self.addr:x}+0x{self.size:x} phys=0x{self.phys_addr:x} "
                f"{self.memtype}{' dead' if self.dead else ''}>")


class VmallocSpace:
    """The vmalloc window: first-fit allocation of aligned virtual ranges."""

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end
        self._starts: list[int] = []
        self.areas: dict[int, VmArea] = {}

    def alloc(self, size: int, align: int) -> int | None:
        addr = self.start
        for s in self._starts:
            a = self.areas[s]
            if addr + size <= a.addr:
                break
            addr = max(addr, a.addr + a.size)
            addr = (addr + align - 1) & ~(align - 1)
        if addr + size > self.end:
            return None
        return addr

    def insert(self, area: VmArea) -> None:
        insort(self._starts, area.addr)
        self.areas[area.addr] = area

    def remove(self, area: VmArea) -> None:
        self._starts.remove(area.addr)
        del self.areas[area.addr]

    def find(self, addr: int) -> VmArea | None:
        """``find_vm_area``: the area starting exactly at ``addr``."""
        return self.areas.get(addr)

    def containing(self, addr: int) -> VmArea | None:
        i = bisect_right(self._starts, addr) - 1
        if i >= 0:
            a = self.areas[self._starts[i]]
            if addr < a.addr + a.size:
                return a
        return None

    def __iter__(self):
        return (self.areas[s] for s in self._starts)


def get_count_order(n: int) -> int:
    """ceil(log2(n)) as ``get_count_order_long``."""
    return (n - 1).bit_length()


class Ioremap:
    """ioremap state of one kernel: the vmalloc space, page tables, x86 memtypes."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        arch = kernel.arch
        self.vmalloc = VmallocSpace(arch.vmalloc_start, arch.vmalloc_end)
        self.page_table = PageTable(arch.page_shift)
        # x86 PAT memtype reservations: (start, end_exclusive, memtype)
        self.memtypes: list[tuple[int, int, str]] = []

    # -- the variants -------------------------------------------------------------

    def map(self, variant: str, phys: int, size: int, caller: str):
        """Common path of every ioremap variant; returns an IoMem cookie or None."""
        from .io import IoMem  # the cookie type lives with the accessors

        k = self.k
        arch = k.arch
        _check_int(variant, phys, "phys_addr")
        _check_int(variant, size, "size")
        memtype = arch.ioremap_types.get(variant)
        if memtype is None:
            return None  # the variant does not exist on this architecture: NULL
        psize = arch.page_size
        pmask = ~(psize - 1)
        if phys < 0 or size < 0:
            return None
        last = phys + size - 1
        if size == 0 or last > (1 << 64) - 1:
            return None  # zero size or wrap-around
        if arch.is_x86:
            if phys >> arch.phys_bits:
                k.printk_warn(f"ioremap: invalid physical address {phys:x}")
                k.WARN_ON_ONCE("arch/x86/mm/ioremap.c", "__ioremap_caller")
                return None
            ram = self._system_ram_overlapping(phys, last)
            if ram is not None:
                k.WARN(f"ioremap on RAM at {pa(phys)} - {pa(last)}", "arch/x86/mm/ioremap.c",
                       "__ioremap_caller", once=True)
                return None
            offset = phys & ~pmask
            aphys = phys & pmask
            asize = ((last + psize) & pmask) - aphys
            got = self._memtype_reserve(aphys, aphys + asize, memtype)
            if got is None:
                k.printk_err("ioremap memtype_reserve failed -16")
                return None
            if got != memtype:
                if not _new_memtype_allowed(memtype, got, aphys, aphys + asize):
                    k.printk_err(f"ioremap error for 0x{aphys:x}-0x{aphys + asize:x}, "
                                 f"requested 0x{A.X86_PCM[memtype]:x}, got 0x{A.X86_PCM[got]:x}")
                    self._memtype_free(aphys, aphys + asize)
                    return None
                memtype = got
        else:
            offset = phys & ~pmask
            aphys = phys & pmask
            asize = (size + offset + psize - 1) & pmask
            alast = aphys + asize - 1
            if alast < aphys or alast >> arch.phys_bits:
                return None
            if variant == "ioremap_cache" and k.pfn_is_map_memory(aphys):
                # arm64 hands back the existing cacheable linear map for RAM
                area = VmArea(k, arch.page_offset + aphys, asize, aphys, caller, memtype,
                              phys, size, flags=0, linear=True)
                return IoMem(area, offset)
            if k.pfn_is_map_memory(aphys):
                k.WARN_ON("arch/arm64/mm/ioremap.c", "__ioremap_caller")
                return None
        area = self._get_vm_area(asize, aphys, caller, memtype, phys, size)
        if area is None:
            if arch.is_x86:
                self._memtype_free(aphys, aphys + asize)
            return None
        if arch.is_x86:
            # after mapping, as __ioremap_caller does: a warning, not a refusal
            sane = k.resource_sanity_check(phys, last)
            if sane is not None:
                k.printk_warn(sane)
                k.printk_warn(f"caller {caller} mapping multiple BARs")
        return IoMem(area, offset)

    def _get_vm_area(self, asize: int, aphys: int, caller: str, memtype: str, phys: int,
                     size: int) -> VmArea | None:
        arch = self.k.arch
        align = 1 << min(max(get_count_order(asize), arch.page_shift), arch.ioremap_max_order)
        total = asize + arch.page_size  # one guard page
        addr = self.vmalloc.alloc(total, align)
        if addr is None:
            return None
        area = VmArea(self.k, addr, total, aphys, caller, memtype, phys, size)
        self.vmalloc.insert(area)
        self.page_table.map(addr, aphys, asize >> arch.page_shift, memtype)
        return area

    def unmap(self, cookie, caller_frames) -> None:
        """``iounmap``: page-align the address and free the area starting there."""
        from .io import IoMem

        k = self.k
        arch = k.arch
        if cookie is None:
            return
        if not isinstance(cookie, IoMem):
            k.sparse_error("iounmap", cookie)
        area = cookie._map
        vaddr = (area.addr + cookie._off) & ~(arch.page_size - 1)
        if area.linear:
            return  # arm64: ioremap_cache of RAM reused the linear map
        found = self.vmalloc.find(vaddr)
        if found is None or found is not area:
            shown = k.hashed_ptr(vaddr)
            if arch.is_x86:
                k.printk_err(f"iounmap: bad address {shown}")
                k.dump_stack()
            else:
                k.WARN(f"Trying to vfree() nonexistent vm area ({shown})", "mm/vmalloc.c",
                       "__vunmap")
            k.note_bad_iounmap(cookie, area)
            return
        asize = area.size - arch.page_size
        if arch.is_x86:
            self._memtype_free(area.phys_addr, area.phys_addr + asize)
        self.page_table.unmap(area.addr, asize >> arch.page_shift)
        self.vmalloc.remove(area)
        area.dead = True
        k.io_paths.install(area)  # every later access takes the checking path
        k.on_iounmap(area)

    # -- x86 specifics --------------------------------------------------------------

    def _system_ram_overlapping(self, start: int, last: int):
        """``__ioremap_check_mem``: the System RAM resource of which [start, last]
        covers at least one whole page (walk_mem_res clips each BUSY resource to the
        request and __ioremap_check_ram rounds the piece inwards to pages, so a
        request smaller than a page never counts as RAM)."""
        shift = self.k.arch.page_shift
        busy_mem = F.IORESOURCE_MEM | F.IORESOURCE_BUSY
        for r in self.k.iomem_resource.walk():
            if (r.flags & busy_mem) != busy_mem or r.start > last or r.end < start:
                continue
            if (r.flags & F.IORESOURCE_SYSTEM_RAM) != F.IORESOURCE_SYSTEM_RAM:
                continue
            lo, hi = max(start, r.start), min(last, r.end)
            if (hi + 1) >> shift > (lo + (1 << shift) - 1) >> shift:
                return r
        return None

    def _memtype_reserve(self, start: int, end: int, req: str) -> str | None:
        """``memtype_reserve``: the type the range must use (an overlapping reservation
        decides), or None when overlapping reservations disagree."""
        if _untracked(start, end):
            return A.WB
        found = None
        for s, e, t in sorted(self.memtypes):  # the interval tree walks by start
            if s < end and start < e:
                if found is None:
                    found = t
                elif t != found:
                    self.k.printk_info(
                        f"x86/PAT: {self.k.comm}:{self.k.pid} conflicting memory types "
                        f"{start:x}-{end:x} {_cattr(found)}<->{_cattr(t)}")
                    self.k.printk_info(
                        f"x86/PAT: memtype_reserve failed [mem {start:#010x}-{end - 1:#010x}], "
                        f"track {_cattr(req)}, req {_cattr(req)}")
                    return None
        got = found or req
        self.memtypes.append((start, end, got))
        return got

    def _memtype_free(self, start: int, end: int) -> None:
        for i, (s, e, _t) in enumerate(self.memtypes):
            if s == start and e == end:
                del self.memtypes[i]
                return

    def vmallocinfo(self) -> str:
        return "".join(a.vmallocinfo_line() + "\n" for a in self.vmalloc)


def _cattr(t: str) -> str:
    return {A.WB: "write-back", A.WC: "write-combining", A.UC_MINUS: "uncached-minus",
            A.UC: "uncached", A.WT: "write-through"}[t]


def _untracked(start: int, end: int) -> bool:
    """``is_ISA_range``: the legacy ISA hole is not tracked by PAT and is always WB."""
    return start >= 0xA0000 and end <= 0x100000


def _new_memtype_allowed(req: str, got: str, start: int, end: int) -> bool:
    """``is_new_memtype_allowed`` (arch/x86/include/asm/pgtable.h)."""
    if _untracked(start, end):
        return True
    return not ((req in (A.UC_MINUS, A.WC, A.WT) and got == A.WB) or (req == A.WT and got == A.WC))


def _check_int(fn: str, value: object, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{fn}: {what} must be an integer physical address/size, "
                        f"not {type(value).__name__} ({value!r})")
