"""Pitfall: a plain integer passed where an ``__iomem`` cookie belongs -- the corrected driver.

Claim and map the physical range, then use the cookie ``ioremap`` returns.

    iomem run --check examples/pitfalls/int_as_iomem_good.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import ID, LAB_BASE, LAB_SIZE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        ident = iomem.readl(base + ID)
        print(f"ID = {ident:#010x}")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, ident


if __name__ == "__main__":
    main()
