"""Pitfall: an unaligned access to device memory (rule ``access-unaligned``).

The driver wants the upper half of DATA and reads 32 bits two bytes in.
Device memory takes no unaligned accesses: on arm64 the bus answers with an
error and the kernel dies of a synchronous external abort.

    iomem run --check examples/pitfalls/access_unaligned_bad.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import DATA, LAB_BASE, LAB_SIZE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        iomem.writel(0xCAFE0000, base + DATA)
        high = iomem.readl(base + DATA + 2) & 0xFFFF  # oops: an unaligned 32-bit read
        print(f"upper half of DATA = {high:#x}")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, high


if __name__ == "__main__":
    main()
