"""Pitfall: a DMA buffer still allocated after the driver unbinds (rule ``leak-dma``).

The driver allocates its descriptor ring with ``dma_alloc_coherent`` in
``probe()`` and never frees it: each bind/unbind cycle loses pages.

    iomem run --check examples/pitfalls/leak_dma_bad.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.kernel.dma import dma_alloc_coherent, dma_core


def probe(pdev: iomem.platform_device) -> int:
    ring, ring_dma = dma_alloc_coherent(pdev, 4096)
    if ring is None:
        return -iomem.ENOMEM
    iomem.platform_set_drvdata(pdev, (ring, ring_dma))
    return 0


def remove(pdev: iomem.platform_device) -> None:
    pass  # no dma_free_coherent


def main(model: str = "adversarial") -> tuple[iomem.Kernel, int]:
    k = boot("lab", memory_model=model)
    with k:
        drv = iomem.platform_driver("lab", probe=probe, remove=remove,
                                    of_match_table=[iomem.OfDeviceId("iomem,pitfall-lab")])
        for _ in range(3):
            iomem.platform_driver_register(drv)
            iomem.platform_driver_unregister(drv)
        left = len(dma_core(k).pages)
        print(f"page allocations left after 3 bind/unbind cycles: {left}")
    return k, left


if __name__ == "__main__":
    main()
