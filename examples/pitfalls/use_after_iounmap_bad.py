"""Pitfall: a mapping used after it is gone (rule ``use-after-iounmap``).

The driver maps its registers with ``devm_platform_ioremap_resource``, so
devres unmaps them when the driver unbinds.  A poll loop outside the driver
kept the cookie and reads on after the unbind: the page is no longer
mapped and the kernel oopses.

    iomem run --check examples/pitfalls/use_after_iounmap_bad.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import TICKS

held: dict[str, iomem.IoMem] = {}


def probe(pdev: iomem.platform_device) -> int:
    base = iomem.devm_platform_ioremap_resource(pdev, 0)
    if iomem.IS_ERR(base):
        return iomem.PTR_ERR(base)
    held["base"] = base  # a poller outside the driver keeps the cookie
    return 0


def poll() -> int:
    return iomem.readl(held["base"] + TICKS)


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        drv = iomem.platform_driver("lab", probe=probe,
                                    of_match_table=[iomem.OfDeviceId("iomem,pitfall-lab")])
        iomem.platform_driver_register(drv)
        print(f"TICKS while bound: {poll()}")
        iomem.platform_driver_unregister(drv)  # devres unmaps the registers
        ticks = poll()
        print(f"TICKS after unbind: {ticks}")
    return k, ticks


if __name__ == "__main__":
    main()
