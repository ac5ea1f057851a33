"""Pitfall: device registers mapped cacheable -- the corrected driver.

``ioremap`` gives device memory (Device-nGnRE on arm64, UC- on x86): every
read asks the device and every write goes out.

    iomem run --check examples/pitfalls/cacheable_registers_good.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import LAB_BASE, LAB_SIZE, SCRATCH, TICKS, lab_devices


def main(model: str = "adversarial") -> tuple[iomem.Kernel, tuple[int, int]]:
    k = boot("lab", memory_model=model)
    lab, _be = lab_devices(k)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        t0 = iomem.readl(base + TICKS)
        iomem.udelay(50)
        t1 = iomem.readl(base + TICKS)
        print(f"TICKS read 50 us apart: {t0} then {t1} "
              f"({'it moved' if t1 != t0 else 'a stale cached value'})")
        iomem.writel(0x1234, base + SCRATCH)
        iomem.readl(base + SCRATCH)  # read back: the write has arrived
        seen = lab.regs["SCRATCH"]
        print(f"wrote 0x1234 to SCRATCH; the device holds {seen:#x}"
              f"{'' if seen == 0x1234 else ' (the write is still in the cache)'}")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, (t1 - t0, seen)


if __name__ == "__main__":
    main()
