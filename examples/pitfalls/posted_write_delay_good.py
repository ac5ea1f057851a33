"""Pitfall: a posted write followed by a delay -- the corrected driver.

A read from the same device cannot pass a posted write, so reading a
register back makes the reset arrive before the wait starts
(Documentation/memory-barriers.txt: readX() completes before a later delay
loop).

    iomem run --check examples/pitfalls/posted_write_delay_good.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import CTRL, CTRL_RESET, LAB_BASE, LAB_SIZE, ST_READY, STATUS


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        iomem.writel(CTRL_RESET, base + CTRL)
        iomem.readl(base + CTRL)  # read back: the reset has arrived when this returns
        iomem.udelay(10)
        status = iomem.readl(base + STATUS)
        print(f"STATUS after the 10 us wait: {status:#x} "
              f"({'ready' if status & ST_READY else 'NOT ready: the device is still in reset'})")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, status


if __name__ == "__main__":
    main()
