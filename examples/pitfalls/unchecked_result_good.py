"""Pitfall: an ERR_PTR used as a cookie -- the corrected driver.

Check the result and fail the probe with its error: the driver core logs
it and the machine lives on.

    iomem run --check examples/pitfalls/unchecked_result_good.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import ID, LAB_BASE, LAB_SIZE


def probe(pdev: iomem.platform_device) -> int:
    base = iomem.devm_platform_ioremap_resource(pdev, 0)
    if iomem.IS_ERR(base):
        return iomem.PTR_ERR(base)
    iomem.dev_info(pdev, f"ID {iomem.readl(base + ID):#x}")
    return 0


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "firmware")  # someone else's claim
        drv = iomem.platform_driver("lab", probe=probe,
                                    of_match_table=[iomem.OfDeviceId("iomem,pitfall-lab")])
        rc = iomem.platform_driver_register(drv)
        print(k.dmesg().rstrip().splitlines()[-1])
        iomem.platform_driver_unregister(drv)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, rc


if __name__ == "__main__":
    main()
