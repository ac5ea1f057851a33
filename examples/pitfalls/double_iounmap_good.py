"""Pitfall: a mapping unmapped twice -- the corrected driver.

A ``devm_`` mapping belongs to devres: ``remove()`` leaves it alone.

    iomem run --check examples/pitfalls/double_iounmap_good.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot


def probe(pdev: iomem.platform_device) -> int:
    res = iomem.platform_get_resource(pdev, iomem.IORESOURCE_MEM, 0)
    if iomem.devm_request_mem_region(pdev, res.start, iomem.resource_size(res), "lab") is None:
        return -iomem.EBUSY
    base = iomem.devm_ioremap(pdev, res.start, iomem.resource_size(res))
    if base is None:
        return -iomem.ENOMEM
    iomem.platform_set_drvdata(pdev, base)
    return 0


def remove(pdev: iomem.platform_device) -> None:
    pass  # devres unmaps and releases


def main(model: str = "adversarial") -> tuple[iomem.Kernel, bool]:
    k = boot("lab", memory_model=model)
    with k:
        drv = iomem.platform_driver("lab", probe=probe, remove=remove,
                                    of_match_table=[iomem.OfDeviceId("iomem,pitfall-lab")])
        iomem.platform_driver_register(drv)
        iomem.platform_driver_unregister(drv)
        warned = [ln for ln in k.dmesg().splitlines() if "nonexistent vm area" in ln]
        print("\n".join(warned) or "(no warning)")
    return k, bool(warned)


if __name__ == "__main__":
    main()
