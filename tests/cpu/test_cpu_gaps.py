"""Memory-model behaviours the rest of the suite left unpinned: which x86 UC mappings are
posted, which reads push posted writes, write-through caching of registers, and that an
unseeded adversarial run is the same run every time."""

from __future__ import annotations

import pytest
from cpu_rig import BUF, DEV, DMA_DEV, SRAM, build

import iomem
from iomem.cpu import Kind
from iomem.kernel.pci import pci_core, pci_enable_device, pci_resource_start

EDU_DMA_SRC = 0x80  # an edu register that keeps what is written (no side effect)
EDU_ID = 0x00


def _edu_bar(model: str):
    """The pc board under ``model``: (kernel, edu's device model, BAR0 ioremapped as UC-)."""
    k = iomem.boot("pc")
    k.memory_model = model
    with k:
        pdev = pci_core(k).find("0000:00:04.0")
        assert pdev is not None
        pci_enable_device(pdev)
        base = k.ioremap(pci_resource_start(pdev, 0), 0x100)
    fn = pci_core(k).host_bridges[0].hw.lookup("0000:00:04.0")
    return k, fn, base


@pytest.mark.parametrize("model", ["realistic", "adversarial"])
def test_x86_uc_mapping_of_a_pci_bar_is_posted_until_a_read_of_the_bar(model: str) -> None:
    k, edu, base = _edu_bar(model)
    assert k.arch.is_x86 and base.area.memtype in ("UC-", "UC")
    with k:
        iomem.writel(0x1234, base + EDU_DMA_SRC)
        assert edu.dma_src == 0  # acknowledged, not arrived
        assert k.cpu.pending_posted() == 1
        assert iomem.readl(base + EDU_ID) == 0x010000ED  # a read of the same device...
        assert edu.dma_src == 0x1234  # ...pushed it
        assert k.cpu.pending_posted() == 0
    assert [e.kind for e in k.cpu.events] == ["posted", "arrive"]


@pytest.mark.parametrize("model", ["realistic", "adversarial"])
def test_x86_uc_mapping_of_a_platform_device_is_not_posted(model: str) -> None:
    r = build("x86_64", model=model)
    c = r.k.ioremap(DEV, 0x100)
    assert c.area.memtype in ("UC-", "UC")
    iomem.writel(0x55, c + 8)
    assert r.dev.log == [("w", 8, 4, 0x55)]  # arrived before writel returned
    iomem.writel_relaxed(0x66, c + 12)
    assert r.dev.log[-1] == ("w", 12, 4, 0x66)
    assert r.k.cpu.pending_posted() == 0
    assert not any(e.kind == "posted" for e in r.k.cpu.events)


@pytest.mark.parametrize("model", ["realistic", "adversarial"])
@pytest.mark.parametrize("read", ["readl", "readl_relaxed"])
def test_a_read_of_another_device_does_not_push_posted_writes(model: str, read: str) -> None:
    r = build("arm64", model=model)  # ioremap: Device-nGnRE, posted
    a = r.k.ioremap(DEV, 0x100)
    b = r.k.ioremap(DMA_DEV, 0x100)
    iomem.writel(0xA1, a + 0x10)
    getattr(iomem, read)(b + 4)
    assert r.dma.log == [("r", 4, 4)]
    assert r.dev.log == []  # device B's read proved nothing about device A
    assert r.k.cpu.pending_posted() == 1
    getattr(iomem, read)(a + 0x14)
    assert r.dev.log == [("w", 0x10, 4, 0xA1), ("r", 0x14, 4)]
    assert r.k.cpu.pending_posted() == 0


def test_write_through_registers_read_once_from_the_device_then_from_the_cache() -> None:
    r = build("x86_64", model="realistic")
    c = r.k.ioremap_wt(DEV, 0x100)
    assert r.k.cpu.kind_of(c.area) is Kind.WT
    r.dev.mem[0:4] = (1).to_bytes(4, "little")
    assert iomem.readl(c) == 1
    r.dev.mem[0:4] = (2).to_bytes(4, "little")  # the device moves on...
    assert iomem.readl(c) == 1  # ...the second read is a hit: stale
    assert iomem.readl_relaxed(c) == 1
    assert r.dev.log == [("r", 0, 4)]  # the device saw only the first read
    assert [e.kind for e in r.k.cpu.events] == ["cache-hit", "cache-hit"]


def test_write_through_writes_reach_the_device_at_once_and_update_the_cached_line() -> None:
    r = build("x86_64", model="realistic")
    c = r.k.ioremap_wt(DEV, 0x100)
    iomem.readl(c + 4)  # the line is cached now
    iomem.writel(0x77, c + 4)
    assert r.dev.log == [("r", 4, 4), ("w", 4, 4, 0x77)]  # no barrier, no flush, no read
    iomem.writel_relaxed(0x88, c + 0x40)  # a line not cached: straight out too
    assert r.dev.log[-1] == ("w", 0x40, 4, 0x88)
    assert iomem.readl(c + 4) == 0x77  # answered from the updated line
    assert r.dev.log[-1] == ("w", 0x40, 4, 0x88)
    assert r.k.cpu.dirty_lines() == [] and r.k.cpu.settle() == []


def _unseeded_adversarial_run() -> list[tuple]:
    r = build("arm64", model="adversarial")
    assert r.k.cpu.seed is None
    dev = r.k.ioremap(DEV, 0x1000)
    bell = r.k.ioremap(DMA_DEV, 0x100)
    wc = r.k.ioremap_wc(SRAM, 0x1000)
    for i in range(16):  # sixteen write-combining lines: the flush order is a free choice
        iomem.writel_relaxed(i, wc + 0x40 * i + 4 * (i % 3))
    for i in range(4):
        iomem.writel(i, dev + 8 * i)
        iomem.ndelay(300)
    r.k.cpu.store(BUF, b"desc")
    iomem.writel_relaxed(1, bell)
    iomem.readl_relaxed(bell + 4)  # pushes the doorbell: the engine fetches a stale buffer
    iomem.readl_relaxed(dev + 0x40)
    r.k.cpu.device_write(BUF + 8, b"new!")
    r.k.cpu.load(BUF + 8, 4)
    iomem.wmb()
    iomem.udelay(500)
    r.k.cpu.settle()
    return [(e.t_ns, e.kind, e.text, e.phys) for e in r.k.cpu.events]


def test_an_unseeded_adversarial_run_gives_the_same_events_every_time() -> None:
    first = _unseeded_adversarial_run()
    kinds = {kind for _t, kind, _x, _p in first}
    assert {"wc-gather", "wc-flush", "posted", "arrive", "store", "dma-stale",
            "stale-load"} <= kinds, kinds
    assert _unseeded_adversarial_run() == first
    assert _unseeded_adversarial_run() == first
