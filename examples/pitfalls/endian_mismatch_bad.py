"""Pitfall: a big-endian register read with a little-endian accessor (rule ``endian-mismatch``).

The second lab device has big-endian registers.  ``readl`` assumes
little-endian: the ID comes back byte-swapped and the driver does not
recognise its own device.

    iomem run --check examples/pitfalls/endian_mismatch_bad.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import ID, LAB_BE_BASE, LAB_ID, LAB_SIZE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_BE_BASE, LAB_SIZE, "lab-be")
        base = iomem.ioremap(LAB_BE_BASE, LAB_SIZE)
        ident = iomem.readl(base + ID)
        print(f"ID = {ident:#010x} ({'lab device' if ident == LAB_ID else 'unknown device'})")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BE_BASE, LAB_SIZE)
    return k, ident


if __name__ == "__main__":
    main()
