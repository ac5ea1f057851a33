"""Pitfall: a region still claimed after the driver unbinds (rule ``leak-region``).

The driver claims its registers with ``request_mem_region`` and never
releases them: once unbound it cannot bind again, since the claim is still
there.

    iomem run --check examples/pitfalls/leak_region_bad.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot


def probe(pdev: iomem.platform_device) -> int:
    res = iomem.platform_get_resource(pdev, iomem.IORESOURCE_MEM, 0)
    if iomem.request_mem_region(res.start, iomem.resource_size(res), "lab") is None:
        iomem.dev_err(pdev, "registers busy")
        return -iomem.EBUSY
    base = iomem.devm_ioremap(pdev, res.start, iomem.resource_size(res))
    if base is None:
        iomem.release_mem_region(res.start, iomem.resource_size(res))
        return -iomem.ENOMEM
    return 0


def remove(pdev: iomem.platform_device) -> None:
    pass  # no release_mem_region


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        drv = iomem.platform_driver("lab", probe=probe, remove=remove,
                                    of_match_table=[iomem.OfDeviceId("iomem,pitfall-lab")])
        iomem.platform_driver_register(drv)
        iomem.platform_driver_unregister(drv)
        iomem.platform_driver_register(drv)
        pdev = k.devices.find_device("a000000.lab")
        bound = pdev.driver is not None
        print(f"bound again after an unbind: {'yes' if bound else 'no'}")
        said = [ln for ln in k.dmesg().splitlines() if "failed" in ln]
        print("\n".join(said) or "(the kernel has nothing to say)")
        iomem.platform_driver_unregister(drv)
    return k, bound


if __name__ == "__main__":
    main()
