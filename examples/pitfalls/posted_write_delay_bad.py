"""Pitfall: a posted write followed by a delay, no read-back (rule ``posted-write-delay``).

The driver resets the device and waits the 10 us the device needs.  On
arm64 ``ioremap`` gives Device-nGnRE memory, whose writes are acknowledged
before they arrive (as PCI writes are): the reset may still be on its way
when ``udelay`` starts, so the wait ends before the device is ready.

    iomem run --check examples/pitfalls/posted_write_delay_bad.py
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
        iomem.udelay(10)  # the reset takes 10 us... from when the write arrives
        status = iomem.readl(base + STATUS)
        print(f"STATUS after the 10 us wait: {status:#x} "
              f"({'ready' if status & ST_READY else 'NOT ready: the device is still in reset'})")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, status


if __name__ == "__main__":
    main()
