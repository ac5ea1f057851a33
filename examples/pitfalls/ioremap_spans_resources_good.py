"""Pitfall: one mapping over two devices' resources -- the corrected driver.

Claim and map the one device the driver drives.

    iomem run --check examples/pitfalls/ioremap_spans_resources_good.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import ID, LAB_BASE, LAB_SIZE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, list[str]]:
    k = boot("lab", memory_model=model, arch="x86_64")
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        iomem.readl(base + ID)
        log = [ln for ln in k.dmesg().splitlines() if "sanity check" in ln or "BARs" in ln]
        print("\n".join(log) or "(no complaint in the log)")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, log


if __name__ == "__main__":
    main()
