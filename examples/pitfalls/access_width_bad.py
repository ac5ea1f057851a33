"""Pitfall: an access narrower than the register (rule ``access-width``).

CTRL is one 32-bit register.  Setting ENABLE with ``writeb`` looks like it
touches only the low byte, but the device implements 32-bit accesses only:
the bus widens the byte write and the bytes it does not carry are written
as zeros, so IRQ_EN (bit 8) is lost.

    iomem run --check examples/pitfalls/access_width_bad.py
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
        iomem.writeb(CTRL_ENABLE, base + CTRL)  # "just the low byte"
        ctrl = iomem.readl(base + CTRL)
        print(f"CTRL = {ctrl:#x} (IRQ_EN {'kept' if ctrl & CTRL_IRQ_EN else 'LOST'})")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, ctrl


if __name__ == "__main__":
    main()
