"""Pitfall: a read of a write-only register (rule ``read-write-only``).

The driver checks which command it last issued by reading CMD back.  CMD is
write-only: it reads as 0, whatever was written.

    iomem run --check examples/pitfalls/read_write_only_bad.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import CMD, CMD_SELFTEST, LAB_BASE, LAB_SIZE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        iomem.writel(CMD_SELFTEST, base + CMD)
        last = iomem.readl(base + CMD)
        print(f"last command: {last:#x} "
              f"({'self-test' if last == CMD_SELFTEST else 'not what was written'})")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, last


if __name__ == "__main__":
    main()
