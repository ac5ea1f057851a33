"""Pitfall: one mapping over two devices' resources (rule ``ioremap-spans-resources``).

The driver maps both lab devices with one ``ioremap``.  x86's ioremap runs
the resource sanity check and complains in the log; the mapping also takes
the neighbour's registers, which its own driver owns.

    iomem run --check examples/pitfalls/ioremap_spans_resources_bad.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import ID, LAB_BASE, LAB_SIZE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, list[str]]:
    k = boot("lab", memory_model=model, arch="x86_64")
    with k:
        base = iomem.ioremap(LAB_BASE, 2 * LAB_SIZE)
        iomem.readl(base + ID)
        log = [ln for ln in k.dmesg().splitlines() if "sanity check" in ln or "BARs" in ln]
        print("\n".join(log) or "(no complaint in the log)")
        iomem.iounmap(base)
    return k, log


if __name__ == "__main__":
    main()
