"""Pitfall: a write to a read-only register (rule ``write-read-only``).

To acknowledge a completion the driver writes 0 to STATUS.  STATUS is
read-only: the device ignores the write, DONE stays set, and the next
"wait for DONE" returns at once, before the next command has finished.

    iomem run --check examples/pitfalls/write_read_only_bad.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import CMD, CMD_SELFTEST, LAB_BASE, LAB_SIZE, ST_DONE, STATUS


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        iomem.writel(CMD_SELFTEST, base + CMD)
        while not iomem.readl(base + STATUS) & ST_DONE:
            iomem.udelay(1)
        iomem.writel(0, base + STATUS)  # "clear DONE"
        status = iomem.readl(base + STATUS)
        print(f"STATUS after acknowledging: {status:#x} "
              f"({'DONE still set' if status & ST_DONE else 'clear'})")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, status


if __name__ == "__main__":
    main()
