"""Pitfall: release of a region never requested -- the corrected driver.

Release exactly what was requested.

    iomem run --check examples/pitfalls/release_unrequested_good.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import LAB_BASE, LAB_SIZE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, bool]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
        said = [ln for ln in k.dmesg().splitlines() if "nonexistent resource" in ln]
        print("\n".join(said) or "(the kernel has nothing to say)")
        again = iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        print(f"claiming the device again: {'granted' if again else 'refused'}")
        if again is not None:
            iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, again is not None


if __name__ == "__main__":
    main()
