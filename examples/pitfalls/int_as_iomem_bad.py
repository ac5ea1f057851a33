"""Pitfall: a plain integer passed where an ``__iomem`` cookie belongs (rule ``int-as-iomem``).

The driver hands ``readl`` the physical address from the datasheet.  The
CPU runs on virtual addresses: the physical address means nothing to it
(sparse: different address spaces).

    iomem run --check examples/pitfalls/int_as_iomem_bad.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import ID, LAB_BASE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        ident = iomem.readl(LAB_BASE + ID)
        print(f"ID = {ident:#010x}")
    return k, ident


if __name__ == "__main__":
    main()
