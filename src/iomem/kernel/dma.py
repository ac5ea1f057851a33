"""The DMA mapping API (kernel/dma/mapping.c, kernel/dma/direct.c) over the machine's RAM,
and the kernel buffers it maps (mm/slab_common.c kmalloc, mm/page_alloc.c pages).

Devices reach memory through the same physical address space the CPU uses
(no IOMMU: a DMA address is the physical address, as dma-direct computes it).
Buffers are real pages of the machine's RAM: :class:`KernelBuffer` is the
CPU's view of them (the kernel's linear map), so what a driver writes through
it a bus master reads, and the other way round.

Pages come from the System RAM of the resource tree, outside anything nested
in it (the kernel image), highest address first within a zone, with the
zone chosen from the device's mask as ``dma_direct_optimal_gfp_mask`` does
(ZONE_DMA below 16 MiB on x86, ZONE_DMA32 below 4 GiB), retrying in a lower
zone when the pages do not fit the mask.  ``kmalloc`` hands out whole pages
(physically contiguous, which is what DMA needs), not slab objects.

``dma_set_mask`` refuses masks the platform cannot satisfy with -EIO
(dma_direct_supported).  Mapping a buffer beyond the mask fails with the
kernel's "DMA addr ... overflow" message and DMA_MAPPING_ERROR, since x86
with this little RAM runs without swiotlb bounce buffers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import ioport as F
from .errno import EIO, ENOMEM
from .vsprintf import pa

if TYPE_CHECKING:
    from .device import Device
    from .kernel import Kernel

# include/linux/dma-direction.h
DMA_BIDIRECTIONAL = 0
DMA_TO_DEVICE = 1
DMA_FROM_DEVICE = 2
DMA_NONE = 3

#: include/linux/dma-mapping.h
DMA_MAPPING_ERROR = 0xFFFFFFFFFFFFFFFF

# include/linux/gfp_types.h (the bits the DMA zone choice looks at)
__GFP_DMA = 0x01
__GFP_HIGHMEM = 0x02
__GFP_DMA32 = 0x04
__GFP_ZERO = 0x100
GFP_ATOMIC = 0x820
GFP_KERNEL = 0xCC0
GFP_NOWAIT = 0x800
GFP_DMA = __GFP_DMA
GFP_DMA32 = __GFP_DMA32
_GFP_HIGHMEM = __GFP_HIGHMEM
_GFP_ZERO = __GFP_ZERO

_U64 = 0xFFFFFFFFFFFFFFFF


def DMA_BIT_MASK(n: int) -> int:  # noqa: N802 - the kernel's name
    """``DMA_BIT_MASK(n)``: the low ``n`` bits set (all 64 for n == 64)."""
    if not 0 <= n <= 64:
        raise ValueError(f"DMA_BIT_MASK({n}): n must be 0-64")
    return _U64 if n == 64 else (1 << n) - 1


class KernelBuffer:
    """A kernel buffer in RAM: the CPU's view of physically contiguous pages.

    ``buf[i]``, ``buf[a:b]`` read the bytes, ``buf[a:b] = data`` writes them,
    ``bytes(buf)`` copies them out, ``buf + n`` is the pointer ``n`` bytes in
    (what ``dma_map_single`` is handed), ``buf.phys`` the physical address and
    ``buf.vaddr`` the linear-map address the kernel prints.
    """

    __slots__ = ("_mv", "phys", "size", "_kernel", "_base")

    def __init__(self, kernel: Kernel, view: memoryview, phys: int, size: int,
                 base: KernelBuffer | None = None) -> None:
        self._kernel = kernel
        self._mv = view
        self.phys = phys
        self.size = size
        self._base = base

    @property
    def view(self) -> memoryview:
        """A writable memoryview of the bytes."""
        return self._mv

    @property
    def vaddr(self) -> int:
        return self._kernel.arch.page_offset + self.phys

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int | slice) -> int | bytes:
        cpu = self._kernel.cpu
        if cpu.watching:  # the CPU memory model or the sanitizer sees the load
            return cpu.buffer_load(self, i)
        v = self._mv[i]
        return bytes(v) if isinstance(i, slice) else v

    def __setitem__(self, i: int | slice, value: Any) -> None:
        cpu = self._kernel.cpu
        if cpu.watching:
            cpu.buffer_store(self, i, value)
            return
        self._mv[i] = value

    def __bytes__(self) -> bytes:
        cpu = self._kernel.cpu
        if cpu.watching:
            return cpu.buffer_load(self, slice(None))
        return bytes(self._mv)

    def __add__(self, n: int) -> KernelBuffer:
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= self.size:
            raise ValueError(f"buffer + {n!r} points outside the {self.size}-byte buffer")
        return KernelBuffer(self._kernel, self._mv[n:], self.phys + n, self.size - n,
                            self._base or self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KernelBuffer) and other.phys == self.phys

    def __hash__(self) -> int:
        return hash(("KernelBuffer", self.phys))

    def __repr__(self) -> str:
        return f"<KernelBuffer {self._kernel.arch.ptr(self.vaddr)} phys={pa(self.phys)} " \
               f"size={self.size}>"


class DmaCore:
    """Page allocation and DMA mappings of one kernel."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        #: phys -> (npages, zone) of every live page allocation
        self.pages: dict[int, int] = {}
        #: live streaming mappings: (device name, dma address, size, direction)
        self.mappings: list[tuple[str, int, int, int]] = []
        x86 = kernel.arch.is_x86
        self.zone_dma_bits = 24 if x86 else 32
        # zones, lowest first: (name, start, end exclusive)
        if x86:
            self.zones = [("DMA", 0, 1 << 24), ("DMA32", 1 << 24, 1 << 32),
                          ("Normal", 1 << 32, 1 << 64)]
        else:
            self.zones = [("DMA", 0, 1 << 32), ("Normal", 1 << 32, 1 << 64)]

    # -- pages ---------------------------------------------------------------------

    def _ram_ranges(self) -> list[tuple[int, int]]:
        """Free RAM: System RAM minus what is nested in it and what is allocated."""
        out: list[tuple[int, int]] = []
        busy: list[tuple[int, int]] = []
        for r in self.k.iomem_resource.children:
            if (r.flags & F.IORESOURCE_SYSTEM_RAM) != F.IORESOURCE_SYSTEM_RAM:
                continue
            out.append((r.start, r.end + 1))
            busy += [(c.start, c.end + 1) for c in r.walk()]
        page = self.k.arch.page_size
        busy += [(p, p + n * page) for p, n in self.pages.items()]
        for lo, hi in busy:
            nxt: list[tuple[int, int]] = []
            for s, e in out:
                if hi <= s or lo >= e:
                    nxt.append((s, e))
                    continue
                if s < lo:
                    nxt.append((s, lo))
                if hi < e:
                    nxt.append((hi, e))
            out = nxt
        return sorted(out)

    def alloc_pages(self, order: int, gfp: int = GFP_KERNEL) -> int | None:
        """``alloc_pages``: 2**order naturally aligned pages (phys), or None.  The zone
        comes from the gfp bits; a zone falls back to the ones below it."""
        page = self.k.arch.page_size
        size = page << order
        if gfp & GFP_DMA:
            top = 0
        elif gfp & GFP_DMA32 and len(self.zones) > 2:
            top = 1
        else:
            top = len(self.zones) - 1
        ranges = self._ram_ranges()
        for zi in range(top, -1, -1):
            _name, zlo, zhi = self.zones[zi]
            for s, e in reversed(ranges):
                lo, hi = max(s, zlo), min(e, zhi)
                start = (hi - size) & ~(size - 1)
                if hi - lo >= size and start >= lo:
                    if self._region_at(start, size) is None:
                        continue
                    self.pages[start] = 1 << order
                    return start
        return None

    def free_pages(self, phys: int) -> None:
        if self.pages.pop(phys, None) is None:
            self.k.WARN(f"freeing pages at {pa(phys)} that were not allocated",
                        "mm/page_alloc.c", "__free_pages")

    def _region_at(self, phys: int, size: int):
        fr = self.k.machine.memory.lookup(phys)
        if fr is None or fr.region.kind != "ram" or phys + size - 1 > fr.end:
            return None
        return fr

    def buffer(self, phys: int, size: int) -> KernelBuffer:
        """The CPU view of [phys, phys+size) (which must be RAM)."""
        fr = self._region_at(phys, size)
        if fr is None:
            raise ValueError(f"{pa(phys)}+{size:#x} is not RAM of this machine")
        off = phys - fr.start + fr.offset
        view = memoryview(fr.region.data)[off:off + size]
        return KernelBuffer(self.k, view, phys, size)

    def kmalloc(self, size: int, flags: int = GFP_KERNEL) -> KernelBuffer | None:
        if not isinstance(size, int) or size <= 0:
            return None  # ZERO_SIZE_PTR / NULL: nothing a driver may touch
        order = get_order(size, self.k.arch.page_shift)
        phys = self.alloc_pages(order, flags)
        if phys is None:
            return None
        buf = self.buffer(phys, size)
        if flags & _GFP_ZERO:
            buf.view[:] = bytes(size)
        return buf

    def kfree(self, buf: KernelBuffer | None) -> None:
        if buf is None:
            return
        if not isinstance(buf, KernelBuffer) or buf._base is not None:
            raise TypeError(f"kfree({buf!r}): not a pointer kmalloc() returned")
        self.free_pages(buf.phys)

    # -- masks (kernel/dma/mapping.c, kernel/dma/direct.c) ----------------------------

    def dma_supported(self, dev: Device, mask: int) -> bool:
        if mask >= DMA_BIT_MASK(32):
            return True
        max_pfn = max((r.end + 1 for r in self.k.iomem_resource.children
                       if (r.flags & F.IORESOURCE_SYSTEM_RAM) == F.IORESOURCE_SYSTEM_RAM),
                      default=0) >> self.k.arch.page_shift
        min_mask = max(max_pfn - 1, 0) << self.k.arch.page_shift
        min_mask = min(min_mask, DMA_BIT_MASK(self.zone_dma_bits))
        return mask >= min_mask

    # -- coherent allocations --------------------------------------------------------

    def alloc_coherent(self, dev: Device, size: int, gfp: int) -> tuple[KernelBuffer | None, int]:
        """``dma_direct_alloc``: zeroed pages the device can reach, and their DMA address."""
        if not dev.coherent_dma_mask:
            self.k.WARN_ON_ONCE("kernel/dma/mapping.c", "dma_alloc_attrs")
        if not isinstance(size, int) or size <= 0:
            return None, DMA_MAPPING_ERROR
        gfp &= ~(GFP_DMA | GFP_DMA32 | _GFP_HIGHMEM)
        limit = dev.coherent_dma_mask
        if limit <= DMA_BIT_MASK(self.zone_dma_bits):
            gfp |= GFP_DMA
        elif limit <= DMA_BIT_MASK(32):
            gfp |= GFP_DMA32
        order = get_order(size, self.k.arch.page_shift)
        while True:
            phys = self.alloc_pages(order, gfp)
            if phys is None:
                return None, DMA_MAPPING_ERROR
            if phys + (self.k.arch.page_size << order) - 1 <= limit:
                break
            self.free_pages(phys)
            if limit < _U64 and not gfp & (GFP_DMA32 | GFP_DMA) and len(self.zones) > 2:
                gfp |= GFP_DMA32
            elif not gfp & GFP_DMA:
                gfp = (gfp & ~GFP_DMA32) | GFP_DMA
            else:
                return None, DMA_MAPPING_ERROR
        buf = self.buffer(phys, size)
        buf.view[:] = bytes(size)
        self.k.cpu.add_dma_buffer(phys, size, "coherent", dev, "coherent")
        return buf, phys

    def free_coherent(self, dev: Device, size: int, cpu_addr: KernelBuffer | None,
                      dma_handle: int) -> None:
        if cpu_addr is None:
            return
        if not isinstance(cpu_addr, KernelBuffer) or cpu_addr.phys not in self.pages:
            raise TypeError(f"dma_free_coherent({cpu_addr!r}): not a buffer "
                            "dma_alloc_coherent() returned")
        self.k.cpu.remove_dma_buffer(cpu_addr.phys)
        self.free_pages(cpu_addr.phys)

    # -- streaming mappings ---------------------------------------------------------

    def map_single(self, dev: Device, buf: KernelBuffer, size: int, direction: int) -> int:
        if not isinstance(buf, KernelBuffer):
            raise TypeError(f"dma_map_single: {type(buf).__name__} is not kernel memory; "
                            "map a buffer from kmalloc()/kzalloc() so it lives in the "
                            "machine's RAM")
        if direction not in (DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE):
            self.k.WARN_ON("include/linux/dma-mapping.h", "valid_dma_direction")
            return DMA_MAPPING_ERROR
        if size > buf.size:
            raise ValueError(f"dma_map_single: size {size} is larger than the "
                             f"{buf.size}-byte buffer")
        dma_addr = buf.phys
        mask = dev.dma_mask if dev.dma_mask is not None else 0
        if not mask or dma_addr + size - 1 > mask:
            from .device import dev_driver_string

            # dev_WARN_ONCE: the message rides in the WARN banner, once per call site
            self.k.WARN(f"{dev_driver_string(dev)} {dev.name}: DMA addr {pa(dma_addr)}+{size} "
                        f"overflow (mask {mask:x}, bus limit 0).", "kernel/dma/direct.h",
                        "dma_direct_map_page", once=True)
            return DMA_MAPPING_ERROR
        self.mappings.append((dev.name, dma_addr, size, direction))
        # the CPU's stores reach memory before the device may look (arch_sync_dma_for_device)
        self.k.cpu.add_dma_buffer(dma_addr, size, "streaming", dev, "streaming")
        self.k.barrier("wmb")
        return dma_addr

    def unmap_single(self, dev: Device, addr: int, size: int, direction: int) -> None:
        for i, m in enumerate(self.mappings):
            if m[0] == dev.name and m[1] == addr:
                del self.mappings[i]
                self.k.cpu.remove_dma_buffer(addr)
                self.k.barrier("rmb")  # arch_sync_dma_for_cpu: loads see the device's data
                return


def dma_core(k: Kernel) -> DmaCore:
    """The page allocator and DMA mappings of kernel ``k`` (made on first use)."""
    core = k.__dict__.get("_dmacore")
    if core is None:
        core = k.__dict__["_dmacore"] = DmaCore(k)
    return core


def get_order(size: int, page_shift: int = 12) -> int:
    """``get_order``: the page order that holds ``size`` bytes."""
    pages = (size + (1 << page_shift) - 1) >> page_shift
    return max(pages - 1, 0).bit_length()


# -- the kernel's functions by their C names -----------------------------------------

def _k(dev: Device | None = None) -> Kernel:
    from .kernel import current_kernel

    return getattr(dev, "kernel", None) or current_kernel()


# The DMA API dereferences dev first (get_dma_ops(dev), dev->dma_mask): a NULL or ERR_PTR
# dev oopses there (k.deref_dev).


def dma_set_mask(dev: Device, mask: int) -> int:
    """Set the streaming DMA mask: 0, or -EIO when the platform cannot satisfy it."""
    mask &= _U64
    k = _k(dev)
    k.deref_dev(dev)
    if dev.dma_mask is None or not dma_core(k).dma_supported(dev, mask):
        return -EIO
    dev.dma_mask = mask
    return 0


def dma_set_coherent_mask(dev: Device, mask: int) -> int:
    mask &= _U64
    k = _k(dev)
    k.deref_dev(dev)
    if not dma_core(k).dma_supported(dev, mask):
        return -EIO
    dev.coherent_dma_mask = mask
    return 0


def dma_set_mask_and_coherent(dev: Device, mask: int) -> int:
    rc = dma_set_mask(dev, mask)
    if rc == 0:
        dma_set_coherent_mask(dev, mask)
    return rc


def dma_get_mask(dev: Device) -> int:
    _k().deref_dev(dev)
    return dev.dma_mask if dev.dma_mask else DMA_BIT_MASK(32)


def dma_alloc_coherent(dev: Device, size: int, gfp: int = GFP_KERNEL
                       ) -> tuple[KernelBuffer | None, int]:
    """``cpu_addr = dma_alloc_coherent(dev, size, &dma_handle, gfp)`` as
    ``cpu_addr, dma_handle = dma_alloc_coherent(dev, size, gfp)``; cpu_addr is None
    (NULL) on failure."""
    k = _k(dev)
    k.deref_dev(dev)
    return dma_core(k).alloc_coherent(dev, size, gfp)


def dma_free_coherent(dev: Device, size: int, cpu_addr: KernelBuffer | None,
                      dma_handle: int) -> None:
    k = _k(dev)
    k.deref_dev(dev)
    dma_core(k).free_coherent(dev, size, cpu_addr, dma_handle)


def _dmam_release(dev: Device, data: Any) -> None:
    size, cpu_addr, handle = data
    dma_core(_k(dev)).free_coherent(dev, size, cpu_addr, handle)


def dmam_alloc_coherent(dev: Device, size: int, gfp: int = GFP_KERNEL
                        ) -> tuple[KernelBuffer | None, int]:
    """Managed ``dma_alloc_coherent``: freed when the driver unbinds."""
    k = _k(dev)
    k.deref_dev(dev)
    cpu_addr, handle = dma_core(k).alloc_coherent(dev, size, gfp)
    if cpu_addr is not None:
        k.devices.devres_add(dev, _dmam_release, (size, cpu_addr, handle), "dmam_release")
    return cpu_addr, handle


def dma_map_single(dev: Device, ptr: KernelBuffer, size: int, dir: int) -> int:
    """The DMA address of a kernel buffer for one transfer (DMA_MAPPING_ERROR on failure)."""
    k = _k(dev)
    k.deref_dev(dev)
    return dma_core(k).map_single(dev, ptr, size, dir)


def dma_unmap_single(dev: Device, addr: int, size: int, dir: int) -> None:
    k = _k(dev)
    k.deref_dev(dev)
    dma_core(k).unmap_single(dev, addr, size, dir)


def dma_mapping_error(dev: Device, dma_addr: int) -> int:
    return -ENOMEM if dma_addr == DMA_MAPPING_ERROR else 0


def dma_sync_single_for_cpu(dev: Device, addr: int, size: int, dir: int) -> None:
    """Coherent caches: nothing to invalidate; later loads see what the device wrote."""
    k = _k(dev)
    k.deref_dev(dev)
    k.barrier("rmb")


def dma_sync_single_for_device(dev: Device, addr: int, size: int, dir: int) -> None:
    """Coherent caches: nothing to write back; the CPU's stores reach memory first."""
    k = _k(dev)
    k.deref_dev(dev)
    k.barrier("wmb")


def kmalloc(size: int, flags: int = GFP_KERNEL) -> KernelBuffer | None:
    """Kernel memory a device can DMA to (whole pages); None when out of memory."""
    return dma_core(_k()).kmalloc(size, flags)


def kzalloc(size: int, flags: int = GFP_KERNEL) -> KernelBuffer | None:
    return dma_core(_k()).kmalloc(size, flags | _GFP_ZERO)


def kfree(objp: KernelBuffer | None) -> None:
    dma_core(_k()).kfree(objp)


__all__ = ["DMA_BIDIRECTIONAL", "DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_NONE",
           "DMA_MAPPING_ERROR", "GFP_ATOMIC", "GFP_KERNEL", "GFP_NOWAIT", "GFP_DMA",
           "GFP_DMA32", "DMA_BIT_MASK", "KernelBuffer", "DmaCore", "dma_core", "get_order",
           "dma_set_mask", "dma_set_coherent_mask", "dma_set_mask_and_coherent",
           "dma_get_mask", "dma_alloc_coherent", "dma_free_coherent", "dmam_alloc_coherent",
           "dma_map_single", "dma_unmap_single", "dma_mapping_error",
           "dma_sync_single_for_cpu", "dma_sync_single_for_device", "kmalloc", "kzalloc",
           "kfree"]
