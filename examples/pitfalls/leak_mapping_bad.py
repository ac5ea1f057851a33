"""Pitfall: a mapping still held after the driver unbinds (rule ``leak-mapping``).

The driver ``ioremap``s in ``probe()`` and forgets ``iounmap`` in
``remove()``: every bind/unbind cycle leaves a mapping in the vmalloc area.

    iomem run --check examples/pitfalls/leak_mapping_bad.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot


def probe(pdev: iomem.platform_device) -> int:
    res = iomem.platform_get_resource(pdev, iomem.IORESOURCE_MEM, 0)
    if iomem.devm_request_mem_region(pdev, res.start, iomem.resource_size(res), "lab") is None:
        return -iomem.EBUSY
    base = iomem.ioremap(res.start, iomem.resource_size(res))
    if base is None:
        return -iomem.ENOMEM
    iomem.platform_set_drvdata(pdev, base)
    return 0


def remove(pdev: iomem.platform_device) -> None:
    pass  # no iounmap


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        drv = iomem.platform_driver("lab", probe=probe, remove=remove,
                                    of_match_table=[iomem.OfDeviceId("iomem,pitfall-lab")])
        for _ in range(3):
            iomem.platform_driver_register(drv)
            iomem.platform_driver_unregister(drv)
        left = len(k.vm_areas())
        print(f"mappings left after 3 bind/unbind cycles: {left}")
    return k, left


if __name__ == "__main__":
    main()
