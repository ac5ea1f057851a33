"""Pitfall: a read of a write-only register -- the corrected driver.

Keep a copy of what you wrote (a "shadow register") and read that.

    iomem run --check examples/pitfalls/read_write_only_good.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import CMD, CMD_SELFTEST, LAB_BASE, LAB_SIZE


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        shadow_cmd = CMD_SELFTEST
        iomem.writel(shadow_cmd, base + CMD)
        last = shadow_cmd
        print(f"last command: {last:#x} "
              f"({'self-test' if last == CMD_SELFTEST else 'not what was written'})")
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, last


if __name__ == "__main__":
    main()
