"""Pitfall: a write to a read-only register -- the corrected driver.

The device acknowledges completions through IRQ_STATUS, whose bits clear
when 1 is written to them.

    iomem run --check examples/pitfalls/write_read_only_good.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import (
    CMD,
    CMD_SELFTEST,
    IRQ_DONE,
    IRQ_STATUS,
    LAB_BASE,
    LAB_SIZE,
    ST_DONE,
    STATUS,
)


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        iomem.writel(CMD_SELFTEST, base + CMD)
        while not iomem.readl(base + STATUS) & ST_DONE:
            iomem.udelay(1)
        iomem.writel(IRQ_DONE, base + IRQ_STATUS)  # write 1 to clear
        status = iomem.readl(base + STATUS)
        print(f"STATUS after acknowledging: {status:#x} "
              f"({'DONE still set' if status & ST_DONE else 'clear'})")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, status


if __name__ == "__main__":
    main()
