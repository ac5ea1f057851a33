"""Pitfall: device registers mapped write-combining -- the corrected driver.

Registers get ``ioremap``; ``ioremap_wc`` is for prefetchable memory such as
the frame buffer, where merging and reordering stores is harmless until a
``wmb()``.

    iomem run --check examples/pitfalls/wc_registers_good.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import COUNT, FIFO, LAB_BASE, LAB_FB, LAB_FB_SIZE, LAB_SIZE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        iomem.request_mem_region(LAB_FB, LAB_FB_SIZE, "lab-fb")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        fb = iomem.ioremap_wc(LAB_FB, LAB_FB_SIZE)
        for word in (0x11, 0x22, 0x33, 0x44):
            iomem.writel_relaxed(word, base + FIFO)
        count = iomem.readl(base + COUNT)
        print(f"pushed 4 words into FIFO; the device received {count}")
        iomem.memset_io(fb, 0xFF, 256)  # pixels: write-combined, then made visible
        iomem.wmb()
        iomem.iounmap(fb)
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_FB, LAB_FB_SIZE)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, count


if __name__ == "__main__":
    main()
