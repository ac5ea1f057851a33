"""Pitfall: device registers mapped write-combining (rule ``wc-registers``).

``ioremap_wc`` gives write-combining memory (Normal-NC on arm64): stores
gather in a line buffer, a later store to the same bytes replaces an earlier
one, and lines leave late and in any order.  Four pushes into the device's
FIFO register become one.

    iomem run --check examples/pitfalls/wc_registers_bad.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import COUNT, FIFO, LAB_BASE, LAB_SIZE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap_wc(LAB_BASE, LAB_SIZE)
        for word in (0x11, 0x22, 0x33, 0x44):
            iomem.writel_relaxed(word, base + FIFO)  # (writel on x86 merges the same way)
        iomem.wmb()
        count = iomem.readl(base + COUNT)
        print(f"pushed 4 words into FIFO; the device received {count}")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, count


if __name__ == "__main__":
    main()
