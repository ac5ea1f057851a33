"""Pitfall: iounmap of an address ioremap did not return -- the corrected driver.

Keep the cookie ``ioremap`` returned and unmap that.

    iomem run --check examples/pitfalls/bad_iounmap_good.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import LAB_FB, LAB_FB_SIZE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_FB, LAB_FB_SIZE, "lab-fb")
        fb = iomem.ioremap_wc(LAB_FB, LAB_FB_SIZE)
        line = fb + 0x2000
        iomem.memset_io(line, 0xFF, 64)
        iomem.wmb()
        iomem.iounmap(fb)
        left = len(k.vm_areas())
        print(f"mappings left after iounmap: {left}")
        iomem.release_mem_region(LAB_FB, LAB_FB_SIZE)
    return k, left


if __name__ == "__main__":
    main()
