"""Pitfall: an ``__iomem`` cookie used as a plain pointer (rule ``iomem-as-pointer``).

The driver indexes the mapping as if it were memory.  A cookie is not a
pointer to dereference: sparse refuses it, and on a real machine the load
would skip the accessor's ordering and width guarantees.

    iomem run --check examples/pitfalls/iomem_as_pointer_bad.py
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
        ident = base[ID]  # *(u32 *)(base + ID)
        print(f"ID = {ident:#010x}")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, ident


if __name__ == "__main__":
    main()
