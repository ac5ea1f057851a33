"""Pitfall: iounmap of an address ioremap did not return (rule ``bad-iounmap``).

The driver maps the frame buffer and keeps only a pointer to the line it
draws on.  ``iounmap`` of that pointer finds no mapping starting in its
page: the kernel warns and the mapping stays, leaked.

    iomem run --check examples/pitfalls/bad_iounmap_bad.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import LAB_FB, LAB_FB_SIZE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_FB, LAB_FB_SIZE, "lab-fb")
        line = iomem.ioremap_wc(LAB_FB, LAB_FB_SIZE) + 0x2000  # the line we draw on
        iomem.memset_io(line, 0xFF, 64)
        iomem.wmb()
        iomem.iounmap(line)
        left = len(k.vm_areas())
        print(f"mappings left after iounmap: {left}")
        iomem.release_mem_region(LAB_FB, LAB_FB_SIZE)
    return k, left


if __name__ == "__main__":
    main()
