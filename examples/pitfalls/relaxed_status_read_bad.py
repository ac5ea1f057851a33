"""Pitfall: a relaxed status read, then the DMA buffer (rule ``relaxed-status-read``).

The driver polls STATUS with ``readl_relaxed`` until the copy is done, then
reads the destination buffer.  A relaxed read does not order later loads
from memory after it (``readl`` ends with ``rmb()``): the CPU may have
loaded the buffer before the status said DONE, and sees the old bytes.

    iomem run --check examples/pitfalls/relaxed_status_read_bad.py
"""

from __future__ import annotations

import iomem
from iomem.check import boot
from iomem.check.lab import (
    DMA_DESC,
    DOORBELL,
    LAB_BASE,
    LAB_SIZE,
    ST_DONE,
    ST_ERROR,
    STATUS,
    descriptor,
)
from iomem.kernel.dma import dma_alloc_coherent, dma_free_coherent

PAYLOAD = b"hello, device!!!"


def main(model: str = "adversarial") -> tuple[iomem.Kernel, bytes]:
    k = boot("lab", memory_model=model)
    with k:
        pdev = k.devices.find_device("a000000.lab")
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        ring, ring_dma = dma_alloc_coherent(pdev, 4096)
        iomem.writel(ring_dma, base + DMA_DESC)
        ring[0x100:0x110] = PAYLOAD
        ring[0:16] = descriptor(ring_dma + 0x100, ring_dma + 0x200, len(PAYLOAD))
        iomem.writel(1, base + DOORBELL)
        while not iomem.readl_relaxed(base + STATUS) & (ST_DONE | ST_ERROR):
            iomem.udelay(1)
        copied = ring[0x200:0x210]
        print(f"copied: {copied!r}{'' if copied == PAYLOAD else ' (older than the status)'}")
        dma_free_coherent(pdev, 4096, ring, ring_dma)
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k, copied


if __name__ == "__main__":
    main()
