"""The CPU memory model, one behaviour at a time: posted writes, write-combining, the cache
for registers, the store buffer, load speculation, barriers, modes and events."""

from __future__ import annotations

import pytest
from cpu_rig import BUF, DEV, DMA_DEV, SRAM, SRAM_SIZE, build

import iomem
from iomem.cpu import POLICIES, Kind, MemoryModel


def test_strict_puts_nothing_on_the_path() -> None:
    r = build(model="strict")
    c = r.k.ioremap(DEV, 0x100)
    assert r.k.io_paths.layers == []
    assert "_direct" in c.area.read.__qualname__ and "_direct" in c.area.write_relaxed.__qualname__
    iomem.writel(1, c)
    assert r.dev.writes() == [("w", 0, 4, 1)]
    assert r.k.cpu.events == []


def test_an_unknown_model_is_refused_and_changes_nothing() -> None:
    r = build()
    with pytest.raises(ValueError, match="unknown memory model 'relaxed'"):
        r.k.memory_model = "relaxed"
    assert r.k.memory_model == "strict" and r.k.io_paths.layers == []


def test_switching_the_model_rebuilds_live_mappings() -> None:
    r = build()
    c = r.k.ioremap(DEV, 0x100)
    r.k.memory_model = "adversarial"
    iomem.writel(1, c)
    assert r.dev.writes() == []  # posted now
    r.k.memory_model = "strict"  # settles: the write lands
    assert r.dev.writes() == [("w", 0, 4, 1)]
    assert "_direct" in c.area.write.__qualname__


@pytest.mark.parametrize("model", ["realistic", "adversarial"])
def test_a_posted_write_arrives_when_a_read_pushes_it(model: str) -> None:
    r = build(model=model)
    c = r.k.ioremap(DEV, 0x100)  # Device-nGnRE
    iomem.writel(1, c)
    iomem.writel_relaxed(2, c + 4)
    assert r.dev.log == []
    iomem.readl(c + 8)
    assert r.dev.log == [("w", 0, 4, 1), ("w", 4, 4, 2), ("r", 8, 4)]
    kinds = [e.kind for e in r.k.cpu.events]
    assert kinds == ["posted", "posted", "arrive", "arrive"]


def test_a_posted_write_arrives_in_time_without_a_read() -> None:
    r = build(model="realistic")
    c = r.k.ioremap(DEV, 0x100)
    iomem.writel(7, c)
    step = POLICIES["realistic"].posted_ns
    iomem.ndelay(step - 200)
    assert r.dev.log == []
    iomem.ndelay(step + 200)  # within two steps: arrivals fall on a grid of posted_ns
    assert r.dev.log == [("w", 0, 4, 7)]


def test_posted_writes_arrive_in_batches_one_grid_step_apart_in_issue_order() -> None:
    r = build(model="realistic")
    c = r.k.ioremap(DEV, 0x100)
    clock = r.k.machine.clock
    step = POLICIES["realistic"].posted_ns
    iomem.ndelay(step - clock.now % step)  # start on a grid line
    issued = []
    while clock.now % step < step // 2:  # a first batch...
        iomem.writel(len(issued), c + 4 * (len(issued) % 16))
        issued.append(clock.now)
    first = len(issued)
    iomem.ndelay(step - clock.now % step)  # ...and a second, one step later
    iomem.writel(0xAA, c)
    iomem.writel(0xBB, c + 4)
    assert r.k.cpu.pending_posted() == first + 2 and r.dev.log == []
    iomem.ndelay(step - clock.now % step - 1)  # just before the first batch is due
    assert r.dev.log == []
    iomem.ndelay(1)
    assert [v for *_w, v in r.dev.log] == list(range(first))
    assert r.k.cpu.pending_posted() == 2
    iomem.ndelay(step)
    assert [v for *_w, v in r.dev.log[first:]] == [0xAA, 0xBB]
    assert r.k.cpu.pending_posted() == 0
    arrivals = [e for e in r.k.cpu.events if e.kind == "arrive"]
    assert [e.text.split(" ", 1)[0] for e in arrivals] == [str(first), "2"]
    assert arrivals[1].text.endswith(f"reach the device: 0xaa to {DEV:#x}, 0xbb to {DEV + 4:#x}")
    posted = [e for e in r.k.cpu.events if e.kind == "posted"]
    assert [e.t_ns for e in posted[:first]] == issued
    assert posted[-1].text == (f"4-byte write of 0xbb to {DEV + 4:#x} is acknowledged; it "
                               f"reaches the device at {arrivals[1].t_ns / 1000:.3f} us unless "
                               "a read pushes it")


def test_barriers_do_not_make_a_posted_write_arrive() -> None:
    r = build(model="adversarial")
    c = r.k.ioremap(DEV, 0x100)
    iomem.writel(7, c)
    iomem.mb()
    iomem.wmb()
    assert r.dev.log == []


def test_non_posted_device_memory_takes_writes_at_once() -> None:
    r = build(model="adversarial")
    c = r.k.ioremap_np(DEV, 0x100)  # Device-nGnRnE
    assert r.k.cpu.kind_of(c.area) is Kind.DEVICE
    iomem.writel(3, c)
    assert r.dev.writes() == [("w", 0, 4, 3)]


def test_x86_uc_is_posted_only_for_pci() -> None:
    r = build("x86_64", model="adversarial")
    c = r.k.ioremap(DEV, 0x100)  # UC- onto a platform device
    assert r.k.cpu.kind_of(c.area) is Kind.DEVICE


def test_write_combining_merges_and_flushes_at_wmb() -> None:
    r = build(model="adversarial")
    c = r.k.ioremap_wc(DEV, 0x100)
    for v in (1, 2, 3):
        iomem.writel_relaxed(v, c + 0x10)
    iomem.writel_relaxed(9, c + 0x14)
    assert r.dev.log == []
    iomem.wmb()
    assert r.dev.writes() == [("w", 0x10, 8, (9 << 32) | 3)]  # merged, then combined
    assert [e.kind for e in r.k.cpu.events].count("wc-merge") == 2


def test_write_combining_lines_leave_in_reverse_under_adversarial() -> None:
    r = build(model="adversarial")
    c = r.k.ioremap_wc(DEV, 0x1000)
    for i in range(3):
        iomem.writel_relaxed(i, c + 0x40 * i)
    iomem.wmb()
    assert [e[1] for e in r.dev.writes()] == [0x80, 0x40, 0x0]


def test_write_combining_lines_leave_in_order_under_realistic_and_evict() -> None:
    r = build(model="realistic")
    c = r.k.ioremap_wc(DEV, 0x1000)
    n = POLICIES["realistic"].wc_lines
    for i in range(n):
        iomem.writel_relaxed(i, c + 0x40 * i)
    assert r.dev.log == []
    iomem.writel_relaxed(n, c + 0x40 * n)  # one line too many: the oldest leaves
    assert r.dev.writes() == [("w", 0, 4, 0)]
    iomem.wmb()
    assert [e[1] for e in r.dev.writes()] == [0x40 * i for i in range(n + 1)]


def test_a_full_line_leaves_at_once() -> None:
    r = build(model="adversarial")
    c = r.k.ioremap_wc(DEV, 0x100)
    for off in range(0, 56, 8):
        iomem.writeq_relaxed(off, c + off)
    assert r.dev.log == []
    iomem.writeq_relaxed(56, c + 56)
    assert [e[1:3] for e in r.dev.writes()] == [(off, 8) for off in range(56, -8, -8)]


def test_seeded_flush_order_is_deterministic() -> None:
    def order(seed: int) -> list[int]:
        r = build(model="adversarial")
        r.k.cpu.reseed(seed)
        c = r.k.ioremap_wc(DEV, 0x1000)
        for i in range(6):
            iomem.writel_relaxed(i, c + 0x40 * i)
        iomem.wmb()
        return [e[1] for e in r.dev.writes()]
    assert order(1) == order(1)
    assert sorted(order(1)) == [0x40 * i for i in range(6)]
    assert len({tuple(order(s)) for s in range(8)}) > 1


def test_a_read_of_the_device_flushes_its_write_combining_lines() -> None:
    r = build(model="adversarial")
    wc = r.k.ioremap_wc(DEV, 0x100)
    iomem.writel_relaxed(5, wc + 0x20)
    assert iomem.readl(wc + 0x20) == 5
    assert r.dev.log == [("w", 0x20, 4, 5), ("r", 0x20, 4)]


def test_writel_flushes_earlier_write_combining_on_arm64_not_on_x86() -> None:
    for arch, flushed in (("arm64", True), ("x86_64", False)):
        r = build(arch, model="adversarial")
        wc = r.k.ioremap_wc(SRAM, SRAM_SIZE)
        iomem.writel_relaxed(5, wc)
        iomem.writel(6, wc + 0x40)  # arm64: wmb first; x86: a plain store
        assert (r.machine.memory.read(SRAM, 4) == 5) is flushed, arch


def test_an_uncached_access_drains_write_combining_on_x86() -> None:
    r = build("x86_64", model="adversarial")
    wc = r.k.ioremap_wc(SRAM, SRAM_SIZE)
    uc = r.k.ioremap(DEV, 0x100)
    iomem.writel_relaxed(5, wc)
    iomem.writel_relaxed(1, uc)
    assert r.machine.memory.read(SRAM, 4) == 5


def test_a_cached_mapping_of_registers_reads_stale_and_keeps_writes() -> None:
    r = build(model="adversarial")
    c = r.k.ioremap_cache(DEV, 0x100)
    r.dev.mem[0:4] = (1).to_bytes(4, "little")
    assert iomem.readl(c) == 1
    r.dev.mem[0:4] = (2).to_bytes(4, "little")
    assert iomem.readl(c) == 1  # stale
    iomem.writel(9, c + 4)
    iomem.wmb()
    assert r.dev.writes() == []
    assert r.k.cpu.settle() == [(DEV, 4)]
    r.k.cpu.flush_cache()
    assert r.dev.writes() == [("w", 4, 4, 9)]


def test_the_cache_evicts_least_recently_used_lines_under_realistic() -> None:
    r = build(model="realistic")
    c = r.k.ioremap_cache(DEV, 0x1000 * 2)
    lines = POLICIES["realistic"].cache_lines
    iomem.writel(1, c)
    for i in range(1, lines + 1):
        iomem.readl(c + 64 * i)
    assert ("w", 0, 4, 1) in r.dev.writes()


def test_write_through_writes_go_out_and_reads_still_hit() -> None:
    r = build("x86_64", model="realistic")
    c = r.k.ioremap_wt(DEV, 0x100)
    assert r.k.cpu.kind_of(c.area) is Kind.WT
    iomem.writel(4, c)
    assert r.dev.writes() == [("w", 0, 4, 4)]


def test_a_cached_mapping_of_memory_stays_coherent() -> None:
    r = build("x86_64", model="adversarial")
    c = r.k.ioremap_cache(SRAM, 0x1000)
    assert r.k.cpu.kind_of(c.area) is Kind.DIRECT


def _doorbell_rig(model: str):
    r = build(model=model)
    return r, r.k.ioremap(DMA_DEV, 0x100)


def test_writel_waits_for_normal_memory_stores() -> None:
    r, bell = _doorbell_rig("adversarial")
    r.k.cpu.store(BUF, b"data")
    iomem.writel(1, bell)
    iomem.readl(bell + 4)  # push the posted doorbell
    assert r.dma.fetched[0][:4] == b"data"


@pytest.mark.parametrize("barrier", [None, "dma_wmb"])
def test_writel_relaxed_does_not_and_dma_wmb_does_not_help(barrier: str | None) -> None:
    r, bell = _doorbell_rig("adversarial")
    r.k.cpu.store(BUF, b"data")
    if barrier:
        getattr(iomem, barrier)()
    iomem.writel_relaxed(1, bell)
    iomem.readl(bell + 4)
    assert r.dma.fetched[0][:4] == bytes(4)
    assert any(e.kind == "dma-stale" for e in r.k.cpu.events)


def test_wmb_then_writel_relaxed_is_enough() -> None:
    r, bell = _doorbell_rig("adversarial")
    r.k.cpu.store(BUF, b"data")
    iomem.wmb()
    iomem.writel_relaxed(1, bell)
    iomem.readl(bell + 4)
    assert r.dma.fetched[0][:4] == b"data"


def test_the_realistic_store_buffer_drains_in_time() -> None:
    r = build(model="realistic")
    r.k.cpu.store(BUF, b"data")
    assert r.machine.memory.read_bytes(BUF, 4) == bytes(4)
    iomem.ndelay(POLICIES["realistic"].store_ns)
    assert r.machine.memory.read_bytes(BUF, 4) == b"data"


def test_the_cpu_sees_its_own_stores() -> None:
    r = build(model="adversarial")
    r.k.cpu.store(BUF + 2, b"xy")
    assert r.k.cpu.load(BUF, 6) == b"\0\0xy\0\0"


def _dma_lands(r, data: bytes) -> None:
    r.k.cpu.device_write(BUF, data)


def test_readl_relaxed_lets_later_loads_be_early() -> None:
    r = build(model="adversarial")
    c = r.k.ioremap(DEV, 0x100)
    iomem.readl_relaxed(c)  # the load below may be satisfied here
    _dma_lands(r, b"new!")
    assert r.k.cpu.load(BUF, 4) == bytes(4)
    assert any(e.kind == "stale-load" for e in r.k.cpu.events)
    assert r.k.cpu.load(BUF, 4) == b"new!"  # a second load moves on


@pytest.mark.parametrize("fence", ["rmb", "mb", "readl"])
def test_rmb_mb_and_readl_order_later_loads(fence: str) -> None:
    r = build(model="adversarial")
    c = r.k.ioremap(DEV, 0x100)
    iomem.readl_relaxed(c)
    _dma_lands(r, b"new!")
    if fence == "readl":
        iomem.readl(c)
    else:
        getattr(iomem, fence)()
    assert r.k.cpu.load(BUF, 4) == b"new!"


def test_dma_rmb_orders_loads_of_memory_not_an_mmio_read() -> None:
    r = build(model="adversarial")
    assert r.k.cpu.load(BUF, 1) == b"\0"  # the status byte: opens a window
    _dma_lands(r, b"\1ok!")
    assert r.k.cpu.load(BUF, 1) == b"\1"  # the status moved on...
    assert r.k.cpu.load(BUF + 1, 3) == bytes(3)  # ...the data did not, without dma_rmb
    r2 = build(model="adversarial")
    r2.k.cpu.load(BUF, 1)
    _dma_lands(r2, b"\1ok!")
    r2.k.cpu.load(BUF, 1)
    iomem.dma_rmb()
    assert r2.k.cpu.load(BUF + 1, 3) == b"ok!"
    c = r2.k.ioremap(DEV, 0x100)
    iomem.readl_relaxed(c)
    _dma_lands(r2, b"\2OK?")
    iomem.dma_rmb()
    assert r2.k.cpu.load(BUF + 1, 3) == b"ok!"


def test_realistic_does_not_speculate() -> None:
    r = build(model="realistic")
    c = r.k.ioremap(DEV, 0x100)
    iomem.readl_relaxed(c)
    _dma_lands(r, b"new!")
    assert r.k.cpu.load(BUF, 4) == b"new!"


def test_events_render_as_mmiotrace_marks() -> None:
    r = build(model="adversarial")
    c = r.k.ioremap(DEV, 0x100)
    iomem.udelay(1)
    iomem.writel(1, c)
    ev = r.k.cpu.events[0]
    assert ev.mark_line().startswith("MARK 0.000001 cpu: posted: 4-byte write of 0x1 to ")
    seen = []
    r.k.cpu.event_hooks.append(seen.append)
    iomem.readl(c)
    assert [e.kind for e in seen] == ["arrive"]


def test_iounmap_lets_pending_write_combining_out() -> None:
    r = build(model="adversarial")
    c = r.k.ioremap_wc(DEV, 0x100)
    iomem.writel_relaxed(1, c)
    r.k.iounmap(c)
    assert r.dev.writes() == [("w", 0, 4, 1)]


def test_a_model_of_a_new_kernel_is_strict() -> None:
    r = build()
    assert isinstance(r.k.cpu, MemoryModel) and r.k.memory_model == "strict"


@pytest.mark.parametrize("model", ["strict", "realistic", "adversarial"])
def test_the_sanitizer_judges_a_dma_by_what_that_device_received_last(model: str) -> None:
    # a relaxed doorbell whose engine fetches later, after a clean write to another
    # device: still that engine's doorbell; and a relaxed write to a device that never
    # reads memory is nobody's doorbell
    r = build(model=model)
    r.k.sanitize = True
    dev = r.k.ioremap(DEV, 0x100)
    bell = r.k.ioremap(DMA_DEV, 0x100)
    r.k.cpu.store(BUF, b"data")
    iomem.writel_relaxed(1, bell + 16)  # the engine fetches BUF 1 us later
    iomem.writel(0, dev)  # in order, to another device
    iomem.readl(bell + 4)
    iomem.ndelay(2000)
    assert len(r.dma.fetched) == 1
    def ordering() -> list:
        return [(rep.rule, rep.phys) for rep in r.k.sanitizer.reports
                if rep.rule.startswith("relaxed-")]

    assert ordering() == [("relaxed-doorbell", DMA_DEV + 16)]
    r.k.cpu.store(BUF, b"more")
    iomem.writel_relaxed(1, dev)  # stores unordered, but DEV never reads memory
    iomem.wmb()
    iomem.writel_relaxed(1, bell)  # ordered by the wmb(): fetches at once
    iomem.readl(bell + 4)
    assert len(r.dma.fetched) == 2 and ordering() == [("relaxed-doorbell", DMA_DEV + 16)]
