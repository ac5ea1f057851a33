"""The sanitizer's rules: one entry per pitfall the kernel's documentation warns about.

Each rule has an id (what reports, tests and the gallery name it by), a
severity (``error``: the driver is wrong on some machine or some day;
``warning``: it works where it was tried and is fragile elsewhere), the
kernel document or source that states the rule, and a short fix.
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"

DEVICE_IO = "Documentation/driver-api/device-io.rst"
BARRIERS = 'Documentation/memory-barriers.txt, "KERNEL I/O BARRIER EFFECTS"'


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title: str
    doc: str
    fix: str


_RULES = [
    # -- the __iomem type --------------------------------------------------------------
    Rule("iomem-as-pointer", ERROR, "__iomem cookie used as a plain pointer",
         "Documentation/dev-tools/sparse.rst (__iomem, noderef); " + DEVICE_IO,
         "access the device through readl()/writel() (or ioread32()/iowrite32()) on the "
         "cookie; print it with %p, never turn it into an integer"),
    Rule("int-as-iomem", ERROR, "plain integer passed where an __iomem cookie belongs",
         "Documentation/dev-tools/sparse.rst (different address spaces); " + DEVICE_IO,
         "map the physical address with ioremap() or devm_ioremap_resource() and pass the "
         "cookie it returns"),
    Rule("unchecked-result", ERROR, "NULL or ERR_PTR used as an __iomem cookie",
         "include/linux/err.h; lib/devres.c (devm_ioremap_resource returns ERR_PTR)",
         "check the result before use: if (IS_ERR(base)) return PTR_ERR(base); for "
         "devm_ioremap_resource(), if (!base) return -ENOMEM; for ioremap()"),
    # -- claiming and mapping ---------------------------------------------------------------
    Rule("ioremap-unclaimed", WARNING, "ioremap of a range no driver claimed",
         "kernel/resource.c (__request_region); lib/devres.c (devm_ioremap_resource); "
         + DEVICE_IO,
         "claim the range first with request_mem_region(), or use devm_ioremap_resource(), "
         "which claims and maps in one call"),
    Rule("ioremap-spans-resources", WARNING, "mapping spans more than one resource",
         "kernel/resource.c (iomem_map_sanity_check), called from arch/x86/mm/ioremap.c",
         "map each device's own resource, not a range that covers its neighbours"),
    Rule("cacheable-registers", ERROR, "device registers mapped cacheable",
         DEVICE_IO + " (ioremap_cache: memory, not registers)",
         "map registers with ioremap() (device memory, UC- on x86); keep ioremap_cache() "
         "for memory"),
    Rule("wc-registers", ERROR, "device registers mapped write-combining",
         DEVICE_IO + " (ioremap_wc: prefetchable memory such as frame buffers)",
         "map registers with ioremap(); use ioremap_wc() only for prefetchable memory "
         "(IORESOURCE_PREFETCH BARs, frame buffers)"),
    # -- each access --------------------------------------------------------------------------
    Rule("access-width", ERROR, "access width the register or region does not take",
         DEVICE_IO + " (readb/readw/readl/readq: one access of exactly that width)",
         "use the accessor of the register's width (readl()/writel() for a 32-bit register)"),
    Rule("access-unaligned", ERROR, "unaligned access to device memory",
         DEVICE_IO + "; the device's bus rules",
         "access registers at their own offsets, aligned to the access width"),
    Rule("write-read-only", ERROR, "write to a read-only register",
         "the device's register map (RO fields ignore writes)",
         "do not write the register; to clear status, write the register the device "
         "provides for it (an ICR, a write-1-to-clear bit)"),
    Rule("read-write-only", WARNING, "read of a write-only register",
         "the device's register map (WO registers read as 0 or junk)",
         "keep a copy of the value you wrote instead of reading it back"),
    Rule("endian-mismatch", ERROR, "accessor byte order differs from the register's",
         DEVICE_IO + " (ioread32be/iowrite32be for big-endian registers)",
         "use ioread32be()/iowrite32be() (or the _be variant of the width) for big-endian "
         "registers, and readl()/writel() for little-endian ones"),
    # -- ordering ----------------------------------------------------------------------------------
    Rule("relaxed-doorbell", ERROR, "MMIO write not ordered after DMA-buffer stores",
         BARRIERS + " (3: writeX() waits for earlier writes to normal memory; the _relaxed "
         "forms do not); " + DEVICE_IO,
         "ring the doorbell with writel(), or put wmb() between the descriptor stores and "
         "writel_relaxed() (dma_wmb() orders memory only, not MMIO)"),
    Rule("relaxed-status-read", ERROR, "DMA-buffer read not ordered after an MMIO status read",
         BARRIERS + " (4: readX() completes before later reads of memory; the _relaxed "
         "forms do not); " + DEVICE_IO,
         "read the status with readl(), or put rmb() between readl_relaxed() and the "
         "buffer reads"),
    Rule("posted-write-delay", WARNING, "posted write not read back before a delay or a "
         "dependent action",
         BARRIERS + " (5: readX() completes before a later delay loop; writes may be "
         "posted); " + DEVICE_IO + " (PCI posted writes)",
         "read a register of the same device (readl()) after the write and before the "
         "delay, so the write has arrived when the wait starts"),
    # -- lifetime ----------------------------------------------------------------------------------
    Rule("use-after-iounmap", ERROR, "access through a mapping after iounmap",
         "mm/vmalloc.c (vunmap); lib/devres.c (devm_* mappings go at unbind)",
         "stop every user of the mapping before iounmap(); with devm_ioremap*(), do not "
         "touch the device after remove() returns"),
    Rule("double-iounmap", ERROR, "iounmap of a mapping already unmapped",
         "mm/vmalloc.c (__vunmap: Trying to vfree() nonexistent vm area); "
         "arch/x86/mm/ioremap.c (iounmap: bad address)",
         "unmap once; set the pointer to NULL after iounmap(), and never iounmap() a "
         "devm_ioremap*() mapping"),
    Rule("bad-iounmap", ERROR, "iounmap of an address that is not a live mapping",
         "mm/ioremap.c (iounmap); arch/x86/mm/ioremap.c (iounmap: bad address)",
         "pass iounmap() the cookie ioremap() returned"),
    Rule("release-unrequested", ERROR, "release of a region never requested",
         "kernel/resource.c (__release_region: Trying to free nonexistent resource)",
         "release exactly the range request_mem_region() claimed, once"),
    Rule("leak-mapping", ERROR, "mapping still held at unbind or exit",
         "Documentation/dev-tools/kmemleak.rst; Documentation/driver-api/driver-model/"
         "devres.rst",
         "iounmap() it in remove() and on every probe error path, or use devm_ioremap*()"),
    Rule("leak-region", ERROR, "memory region still claimed at unbind or exit",
         "Documentation/dev-tools/kmemleak.rst; kernel/resource.c",
         "release_mem_region() it in remove() and on every probe error path, or use "
         "devm_request_mem_region()/devm_ioremap_resource()"),
    Rule("leak-irq", ERROR, "interrupt still requested at unbind or exit",
         "Documentation/dev-tools/kmemleak.rst; kernel/irq/manage.c (free_irq)",
         "free_irq() it in remove() and on every probe error path, or use "
         "devm_request_irq()"),
    Rule("leak-dma", ERROR, "DMA buffer still allocated or mapped at unbind or exit",
         "Documentation/dev-tools/kmemleak.rst; Documentation/core-api/dma-api.rst",
         "dma_free_coherent()/dma_unmap_single() it in remove() and on every probe error "
         "path, or use dmam_alloc_coherent()"),
]

RULES: dict[str, Rule] = {r.id: r for r in _RULES}


def rule(rule_id: str) -> Rule:
    try:
        return RULES[rule_id]
    except KeyError:
        raise KeyError(f"no sanitizer rule {rule_id!r}; rules: {', '.join(RULES)}") from None


def table() -> str:
    """The rules as a table for people (``iomem run --rules``)."""
    w = max(len(r.id) for r in _RULES)
    return "\n".join(f"{r.id:<{w}}  {r.severity:<7}  {r.title}" for r in _RULES)
