"""One copy by the lab board's DMA engine, with the barriers and accessors a test picks:
what the ordering checks are judged on."""

from __future__ import annotations

import iomem
import iomem.check
from iomem.check.lab import (
    CTRL,
    CTRL_ENABLE,
    DMA_DESC,
    DOORBELL,
    LAB_BASE,
    LAB_SIZE,
    ST_DONE,
    ST_ERROR,
    STATUS,
    descriptor,
)
from iomem.check.report import Report
from iomem.kernel.dma import dma_alloc_coherent, dma_free_coherent

PAYLOAD = b"hello, device!!!"


def lab_copy(model: str, before_bell: str = "", bell: str = "writel", poll: str = "readl",
             after_poll: str = "") -> tuple[list[Report], bytes]:
    """(the sanitizer's reports, the bytes the CPU read back) of one copy: the descriptor
    stores, the steps of ``before_bell`` ("ctrl-relaxed": an unrelated relaxed write, or
    a barrier's name), the doorbell through ``bell``, a poll of STATUS with ``poll``
    until the copy is done, ``after_poll`` (a barrier's name, or ""), the load."""
    k = iomem.check.boot("lab", sanitize=True, memory_model=model)
    with k:
        pdev = k.devices.find_device("a000000.lab")
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        ring, ring_dma = dma_alloc_coherent(pdev, 4096)
        iomem.writel(ring_dma, base + DMA_DESC)
        ring[0x100:0x110] = PAYLOAD
        ring[0:16] = descriptor(ring_dma + 0x100, ring_dma + 0x200, len(PAYLOAD))
        for step in before_bell.split():
            if step == "ctrl-relaxed":
                iomem.writel_relaxed(CTRL_ENABLE, base + CTRL)
            else:
                getattr(iomem, step)()
        getattr(iomem, bell)(1, base + DOORBELL)
        read = getattr(iomem, poll)
        while not read(base + STATUS) & (ST_DONE | ST_ERROR):
            iomem.udelay(1)
        if after_poll:
            getattr(iomem, after_poll)()
        copied = bytes(ring[0x200:0x210])
        dma_free_coherent(pdev, 4096, ring, ring_dma)
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    return k.sanitizer.finish(), copied
