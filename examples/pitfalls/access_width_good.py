"""Pitfall: an access narrower than the register -- the corrected driver.

A 32-bit register takes 32-bit accesses: read it, change the bit, write it.

    iomem run --check examples/pitfalls/access_width_good.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import CTRL, CTRL_ENABLE, CTRL_IRQ_EN, LAB_BASE, LAB_SIZE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        iomem.writel(CTRL_IRQ_EN, base + CTRL)
        iomem.writel(iomem.readl(base + CTRL) | CTRL_ENABLE, base + CTRL)
        ctrl = iomem.readl(base + CTRL)
        print(f"CTRL = {ctrl:#x} (IRQ_EN {'kept' if ctrl & CTRL_IRQ_EN else 'LOST'})")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, ctrl


if __name__ == "__main__":
    main()
