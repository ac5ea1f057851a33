"""Pitfall: a mapping used after it is gone -- the corrected driver.

Whoever uses the mapping stops when the driver goes: ``remove()`` tells the
poller, and the poller checks before it reads.

    iomem run --check examples/pitfalls/use_after_iounmap_good.py
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
    held["base"] = base
    return 0


def remove(pdev: iomem.platform_device) -> None:
    held.pop("base", None)  # stop the poller before devres unmaps


def poll() -> int | None:
    base = held.get("base")
    return iomem.readl(base + TICKS) if base is not None else None


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int | None]:
    k = boot("lab", memory_model=model)
    with k:
        drv = iomem.platform_driver("lab", probe=probe, remove=remove,
                                    of_match_table=[iomem.OfDeviceId("iomem,pitfall-lab")])
        iomem.platform_driver_register(drv)
        print(f"TICKS while bound: {poll()}")
        iomem.platform_driver_unregister(drv)
        ticks = poll()
        print(f"TICKS after unbind: {ticks}")
    return k, ticks


if __name__ == "__main__":
    main()
