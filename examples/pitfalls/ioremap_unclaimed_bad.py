"""Pitfall: ioremap of a range no driver claimed (rule ``ioremap-unclaimed``).

Nothing in /proc/iomem says the registers are in use, so a second driver
claims and drives the same device, and neither knows of the other.

    iomem run --check examples/pitfalls/ioremap_unclaimed_bad.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import LAB_BASE, LAB_SIZE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, bool]:
    k = boot("lab", memory_model=model)
    with k:
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        other = iomem.request_mem_region(LAB_BASE, LAB_SIZE, "other-driver")
        print(f"a second driver's request_mem_region: {'granted' if other else 'refused'}")
        print(k.proc_iomem().splitlines()[0] + "\n" + k.proc_iomem().splitlines()[1])
        if other is not None:
            iomem.release_mem_region(LAB_BASE, LAB_SIZE)
        iomem.iounmap(base)
    return k, other is not None


if __name__ == "__main__":
    main()
