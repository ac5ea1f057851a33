"""ioremap and its variants on arm64 and x86_64: memory types, page rounding, the
vmalloc area (guard page, alignment), page-table entries, the refusals and the
messages each architecture prints, iounmap, and /proc/vmallocinfo."""

from __future__ import annotations

import re

import pytest
from core_rig import DEV_BASE, RAM_BASE, Rig, new_lines
from hypothesis import given, settings
from hypothesis import strategies as st

from iomem.kernel import ioport as F
from iomem.kernel.io import IoMem
from iomem.kernel.ioremap import PageTable
from iomem.kernel.resource import Resource

SYM = r"[\w<>]+\+0x[0-9a-f]+/0x[0-9a-f]+"  # %pS of a caller
HASHED = r"00000000[0-9a-f]{8}"  # %p of a 64-bit pointer
VARIANTS = ["ioremap", "ioremap_np", "ioremap_uc", "ioremap_wc", "ioremap_wt", "ioremap_cache"]


def vm_areas(k) -> list[tuple[int, int, int]]:
    return [(a.addr, a.size, a.phys_addr) for a in k.vm_areas()]


# -- the memory type of each variant -------------------------------------------------------

@pytest.mark.parametrize("arch, expect", [
    ("arm64", ["Device-nGnRE", "Device-nGnRnE", None, "Normal-NC", "Device-nGnRE", "Normal"]),
    ("x86_64", ["UC-", None, "UC", "WC", "WT", "WB"]),
])
def test_memtype_of_each_variant(make_rig, arch: str, expect: list[str | None]) -> None:
    k = make_rig(arch).k
    for i, (variant, memtype) in enumerate(zip(VARIANTS, expect, strict=True)):
        phys = DEV_BASE + 0x100 * i  # a different page offset each time, same page
        before = vm_areas(k)
        cookie = getattr(k, variant)(phys, 0x10)
        if memtype is None:
            assert cookie is None, variant  # the variant does not exist there: NULL
            assert vm_areas(k) == before
            continue
        assert isinstance(cookie, IoMem)
        pte = k.pte(cookie)
        assert (pte.pfn, pte.memtype, pte.prot) == (DEV_BASE >> 12, memtype, "rw"), variant
        assert cookie.area.memtype == memtype
        k.iounmap(cookie)


# -- page rounding, the vmalloc area and the page tables -----------------------------------

def test_cookie_is_vaddr_plus_the_offset_in_the_page(anyarch: Rig) -> None:
    k = anyarch.k
    c = k.ioremap(DEV_BASE + 0x10, 0x20)
    area = c.area
    assert area.phys_addr == DEV_BASE  # page-aligned, as vm_struct.phys_addr
    assert area.addr == k.arch.vmalloc_start
    assert c.vaddr == area.addr + 0x10
    assert area.size == 0x2000  # one page and the guard page
    assert c.phys == DEV_BASE + 0x10
    assert k.pte(area.addr).pfn == DEV_BASE >> 12
    assert k.pte(area.addr + 0x1000) is None  # the guard page is not mapped


def test_a_request_that_crosses_a_page_maps_both_pages(anyarch: Rig) -> None:
    k = anyarch.k
    c = k.ioremap(DEV_BASE + 0xFF0, 0x20)
    base = c.area.addr
    assert c.area.size == 0x3000
    assert [k.pte(base + i * 0x1000).pfn if k.pte(base + i * 0x1000) else None
            for i in range(3)] == [DEV_BASE >> 12, (DEV_BASE >> 12) + 1, None]


def test_areas_are_allocated_first_fit_with_a_guard_page(anyarch: Rig) -> None:
    k = anyarch.k
    start = k.arch.vmalloc_start
    a = k.ioremap(DEV_BASE, 0x1000)
    b = k.ioremap(DEV_BASE, 0x2000)
    c = k.ioremap(DEV_BASE, 0x1000)
    assert [x.vaddr - start for x in (a, b, c)] == [0x0, 0x2000, 0x5000]
    k.iounmap(a)
    d = k.ioremap(DEV_BASE + 0x100, 0x100)
    assert d.vaddr - start == 0x100  # the hole is reused
    assert k.pte(a.vaddr).pfn == DEV_BASE >> 12  # by the new mapping


@pytest.mark.parametrize("size, align", [
    (0x4000, 0x4000),        # get_count_order(16K)
    (0x5000, 0x8000),        # rounded up to the next power of two
    (0x100000, 0x100000),    # 1 MiB: IOREMAP_MAX_ORDER is PUD_SHIFT on arm64 and x86_64
    (0x300000, 0x400000),
])
def test_ioremap_areas_are_aligned_to_their_size_order(anyarch: Rig, size: int,
                                                       align: int) -> None:
    k = anyarch.k
    k.ioremap(DEV_BASE, 0x1000)  # push the next area off the window's start
    c = k.ioremap(DEV_BASE, size)
    assert (c.vaddr - k.arch.vmalloc_start) % align == 0
    assert c.vaddr - k.arch.vmalloc_start == align
    assert c.area.size == size + 0x1000


def test_the_32bit_arm_window_keeps_the_default_max_order(make_rig) -> None:
    k = make_rig("arm").k
    k.ioremap(DEV_BASE, 0x1000)
    c = k.ioremap(DEV_BASE, 0x100000)
    assert c.vaddr - k.arch.vmalloc_start == 0x80000  # 7 + PAGE_SHIFT


def test_pte_after_iounmap_is_gone(anyarch: Rig) -> None:
    k = anyarch.k
    c = k.ioremap(DEV_BASE, 0x2000)
    va = c.vaddr
    assert k.pte(va) is not None and k.pte(va + 0x1000) is not None
    k.iounmap(c + 0x10)  # iounmap rounds down to the page
    assert k.pte(va) is None and k.pte(va + 0x1000) is None
    assert vm_areas(k) == []


def test_a_huge_mapping_costs_no_more_than_a_small_one(x86: Rig) -> None:
    k = x86.k
    c = k.ioremap(0x100000000, 1 << 44)  # a 16 TiB window, page tables and all
    assert c is not None and c.area.size == (1 << 44) + 0x1000
    last = c.vaddr + (1 << 44) - 0x1000
    assert k.pte(last).pfn == (0x100000000 + (1 << 44) - 0x1000) >> 12
    assert k.pte(last + 0x1000) is None
    k.iounmap(c)
    assert k.pte(c.vaddr) is None and len(k.ioremap_state.page_table) == 0


def test_a_mapping_larger_than_the_vmalloc_window_is_null(rig: Rig) -> None:
    k = rig.k
    n = len(k.log)
    assert k.ioremap(0, 1 << 47) is None
    assert vm_areas(k) == [] and new_lines(k, n) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 48), st.integers(1, 12),
                          st.integers(0, 500), st.sampled_from(["UC-", "WC"])), max_size=30))
def test_page_table_extents_agree_with_a_page_by_page_table(ops: list[tuple]) -> None:
    pt = PageTable()
    ref: dict[int, tuple[int, str]] = {}
    for is_map, vpn, npages, pfn, memtype in ops:
        if is_map:
            pt.map(vpn << 12, pfn << 12, npages, memtype)
            ref.update({vpn + i: (pfn + i, memtype) for i in range(npages)})
        else:
            pt.unmap(vpn << 12, npages)
            for i in range(npages):
                ref.pop(vpn + i, None)
        assert len(pt) == len(ref)
    for vpn in range(64):
        e = pt.lookup((vpn << 12) | 0x123)
        assert ((e.pfn, e.memtype) if e else None) == ref.get(vpn)
        if e is not None:
            assert pt.virt_to_phys((vpn << 12) | 0x123) == (e.pfn << 12) | 0x123


# -- refusals ------------------------------------------------------------------------------

@pytest.mark.parametrize("phys, size", [
    (DEV_BASE, 0), (DEV_BASE, -1), (-0x1000, 0x2000),
    (0xFFFFFFFFFFFFF000, 0x2000),  # wraps
])
def test_size_zero_negative_or_wrapping_gives_null_and_changes_nothing(
        anyarch: Rig, phys: int, size: int) -> None:
    k = anyarch.k
    n = len(k.log)
    for variant in VARIANTS:
        assert getattr(k, variant)(phys, size) is None
    assert vm_areas(k) == [] and new_lines(k, n) == []
    assert k.ioremap_state.memtypes == []


@pytest.mark.parametrize("phys, size", [("0x9000000", 4), (DEV_BASE, 4.0), (None, 4),
                                        (DEV_BASE, True)])
def test_non_int_arguments_are_a_type_error(anyarch: Rig, phys, size) -> None:
    with pytest.raises(TypeError, match="must be an integer"):
        anyarch.k.ioremap(phys, size)
    assert vm_areas(anyarch.k) == []


def test_arm64_refuses_system_ram_with_warn_on(rig: Rig) -> None:
    k = rig.k
    n = len(k.log)
    assert k.ioremap(RAM_BASE + 0x2000, 0x100) is None
    out = new_lines(k, n)
    assert out[0] == "------------[ cut here ]------------"
    assert re.fullmatch(rf"WARNING: CPU: 0 PID: 1 at arch/arm64/mm/ioremap.c:\d+ {SYM}", out[1])
    assert "__ioremap_caller+" in out[1]
    assert out[2] == "Modules linked in:"  # WARN_ON: no message line
    assert out[-1] == "---[ end trace 0000000000000000 ]---"
    assert vm_areas(k) == []
    # only the first page is checked, as pfn_is_map_memory(__phys_to_pfn(phys)) does
    assert k.ioremap(RAM_BASE - 0x1000, 0x2000) is not None


def test_arm64_ioremap_cache_of_ram_hands_back_the_linear_map(rig: Rig) -> None:
    k = rig.k
    c = k.ioremap_cache(RAM_BASE + 0x10, 8)
    assert c.vaddr == k.arch.page_offset + RAM_BASE + 0x10
    rig.machine.memory.write(RAM_BASE + 0x10, 8, 0x1122334455667788)
    from iomem.kernel.io import readq
    assert readq(c) == 0x1122334455667788
    n = len(k.log)
    k.iounmap(c)  # not a vmalloc address: ignored
    assert new_lines(k, n) == [] and vm_areas(k) == []


def test_arm64_phys_beyond_phys_mask_is_null(rig: Rig) -> None:
    n = len(rig.k.log)
    assert rig.k.ioremap(1 << 48, 0x1000) is None
    assert new_lines(rig.k, n) == []


def test_x86_refuses_system_ram_with_warn_once(x86: Rig) -> None:
    k = x86.k
    n = len(k.log)
    assert k.ioremap(RAM_BASE + 0x10, 0x2000) is None  # covers the page at 0x40001000
    out = new_lines(k, n)
    assert out[:2] == ["------------[ cut here ]------------",
                       "ioremap on RAM at 0x0000000040000010 - 0x000000004000200f"]
    assert re.fullmatch(rf"WARNING: CPU: 0 PID: 1 at arch/x86/mm/ioremap.c:\d+ {SYM}", out[2])
    assert out[3:5] == ["Modules linked in:",
                        "CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-iomem #1"]
    assert out[6:8] == ["Call Trace:", " <TASK>"]
    assert out[-2:] == [" </TASK>", "---[ end trace 0000000000000000 ]---"]
    n = len(k.log)
    assert k.ioremap(RAM_BASE + 0x8000, 0x1000) is None  # WARN_ONCE: once per call site
    assert new_lines(k, n) == []
    assert vm_areas(k) == [] and k.ioremap_state.memtypes == []


@pytest.mark.parametrize("phys, size, allowed", [
    (RAM_BASE + 0x10, 0x100, True),      # less than a page
    (RAM_BASE + 0x800, 0x1000, True),    # two partial pages
    (RAM_BASE + 0xFF800, 0x1000, True),  # the end of the last page, and beyond RAM
    (RAM_BASE + 0xFF000, 0x2000, False),  # the whole last page
])
def test_x86_only_whole_pages_of_ram_count(x86: Rig, phys: int, size: int,
                                           allowed: bool) -> None:
    """__ioremap_check_ram rounds the RAM piece inwards: a mapping that covers no
    whole page of System RAM is allowed, silently."""
    k = x86.k
    n = len(k.log)
    c = k.ioremap(phys, size)
    if allowed:
        assert c is not None and new_lines(k, n) == []
    else:
        assert c is None and new_lines(k, n)[1].startswith("ioremap on RAM at ")


def test_x86_invalid_physical_address(x86: Rig) -> None:
    k = x86.k
    n = len(k.log)
    assert k.ioremap(1 << 41, 0x1000) is None
    out = new_lines(k, n)
    assert out[0] == "ioremap: invalid physical address 20000000000"
    assert out[1] == "------------[ cut here ]------------"
    assert "WARNING: CPU: 0 PID: 1 at arch/x86/mm/ioremap.c:" in out[2]


def test_x86_memtype_conflict_refuses_an_incompatible_mapping(x86: Rig) -> None:
    k = x86.k
    wb = k.ioremap_cache(DEV_BASE, 0x1000)
    assert k.pte(wb).memtype == "WB"
    n = len(k.log)
    assert k.ioremap(DEV_BASE + 0x80, 0x10) is None
    assert new_lines(k, n) == ["ioremap error for 0x9000000-0x9001000, requested 0x2, got 0x0"]
    assert k.log.records[-1].level == 3
    wc = k.ioremap_wc(DEV_BASE + 0x1000, 0x1000)
    n = len(k.log)
    assert k.ioremap_wt(DEV_BASE + 0x1000, 0x1000) is None
    assert new_lines(k, n) == [
        "ioremap error for 0x9001000-0x9002000, requested 0x4, got 0x1"]
    assert [(s, e) for s, e, _t in k.ioremap_state.memtypes] == [
        (DEV_BASE, DEV_BASE + 0x1000), (DEV_BASE + 0x1000, DEV_BASE + 0x2000)]
    k.iounmap(wb)
    k.iounmap(wc)
    assert k.ioremap_state.memtypes == []


def test_x86_a_compatible_memtype_is_taken_over(x86: Rig) -> None:
    k = x86.k
    k.ioremap(DEV_BASE, 0x1000)  # UC-
    wc = k.ioremap_wc(DEV_BASE, 0x1000)  # asks for WC, must use UC-: allowed
    assert k.pte(wc).memtype == "UC-"
    uc = k.ioremap_uc(DEV_BASE, 0x1000)
    assert k.pte(uc).memtype == "UC-"


def test_x86_two_reservations_that_disagree(x86: Rig) -> None:
    k = x86.k
    k.ioremap_wc(DEV_BASE + 0x1000, 0x1000)
    k.ioremap(DEV_BASE, 0x1000)
    n = len(k.log)
    assert k.ioremap(DEV_BASE, 0x2000) is None
    assert new_lines(k, n) == [
        "x86/PAT: swapper/0:1 conflicting memory types 9000000-9002000 "
        "uncached-minus<->write-combining",
        "x86/PAT: memtype_reserve failed [mem 0x09000000-0x09001fff], "
        "track uncached-minus, req uncached-minus",
        "ioremap memtype_reserve failed -16"]
    assert len(k.vm_areas()) == 2


def test_x86_the_isa_hole_is_untracked_and_write_back(x86: Rig) -> None:
    k = x86.k
    vga = k.ioremap(0xA0000, 0x20000)
    assert vga is not None and k.pte(vga).memtype == "WB"
    assert k.ioremap_state.memtypes == []


# -- x86 resource sanity check -------------------------------------------------------------

@pytest.fixture
def x86_window(x86: Rig) -> Rig:
    win = Resource(DEV_BASE, DEV_BASE + 0x7FF, "PCI Bus 0000:00", F.IORESOURCE_MEM)
    assert x86.k.insert_resource(x86.k.iomem_resource, win) == 0
    return x86


def test_x86_sanity_check_is_page_granular(x86_window: Rig) -> None:
    k = x86_window.k
    n = len(k.log)
    assert k.ioremap(DEV_BASE, 0x1000) is not None  # the same page as the window: quiet
    assert new_lines(k, n) == []


def test_x86_sanity_check_warns_but_maps(x86_window: Rig) -> None:
    k = x86_window.k
    n = len(k.log)
    c = k.ioremap(DEV_BASE + 0x10, 0x1FF0)
    assert c is not None
    out = new_lines(k, n)
    assert out[0] == ("resource sanity check: requesting [mem 0x09000010-0x09001fff], "
                      "which spans more than PCI Bus 0000:00 [mem 0x09000000-0x090007ff]")
    assert re.fullmatch(rf"caller {SYM} mapping multiple BARs", out[1])
    assert out[1] == f"caller {c.area.caller} mapping multiple BARs"
    assert [r.level for r in k.log.records[n:]] == [4, 4]


def test_x86_sanity_check_ignores_busy_resources(x86: Rig) -> None:
    k = x86.k
    k.request_mem_region(DEV_BASE, 0x800, "driver")
    n = len(k.log)
    k.ioremap(DEV_BASE, 0x2000)
    assert new_lines(k, n) == []


def test_arm64_has_no_sanity_check(rig: Rig) -> None:
    k = rig.k
    k.insert_resource(k.iomem_resource, Resource(DEV_BASE, DEV_BASE + 0x7FF, "w",
                                                 F.IORESOURCE_MEM))
    n = len(k.log)
    k.ioremap(DEV_BASE, 0x2000)
    assert new_lines(k, n) == []


# -- iounmap -------------------------------------------------------------------------------

def test_iounmap_of_null_does_nothing(anyarch: Rig) -> None:
    n = len(anyarch.k.log)
    anyarch.k.iounmap(None)
    assert new_lines(anyarch.k, n) == []


def test_iounmap_of_a_plain_int_is_a_sparse_error(anyarch: Rig) -> None:
    from iomem.kernel.io import SparseError
    with pytest.raises(SparseError, match="incorrect type in argument 1"):
        anyarch.k.iounmap(0xFFFF800008000000)


def test_x86_iounmap_bad_address(x86: Rig) -> None:
    k = x86.k
    c = k.ioremap(DEV_BASE, 0x2000)
    n = len(k.log)
    k.iounmap(c + 0x1000)  # not the start of the area
    out = new_lines(k, n)
    assert re.fullmatch(rf"iounmap: bad address {HASHED}", out[0])
    assert k.log.records[n].level == 3
    assert out[1].startswith("CPU: 0 PID: 1 Comm: swapper/0 ")  # dump_stack()
    assert out[3:5] == ["Call Trace:", " <TASK>"] and out[-1] == " </TASK>"
    assert all(ln.startswith(" ") and not ln.startswith("  ") for ln in out[5:-1])
    assert len(k.vm_areas()) == 1  # still mapped
    k.iounmap(c)
    n = len(k.log)
    k.iounmap(c)  # twice
    assert re.fullmatch(rf"iounmap: bad address {HASHED}", new_lines(k, n)[0])


def test_arm64_iounmap_bad_address_warns_from_vunmap(rig: Rig) -> None:
    k = rig.k
    c = k.ioremap(DEV_BASE, 0x1000)
    k.iounmap(c)
    n = len(k.log)
    k.iounmap(c)
    out = new_lines(k, n)
    assert out[0] == "------------[ cut here ]------------"
    assert re.fullmatch(rf"Trying to vfree\(\) nonexistent vm area \({HASHED}\)", out[1])
    assert re.fullmatch(rf"WARNING: CPU: 0 PID: 1 at mm/vmalloc.c:\d+ {SYM}", out[2])
    assert "Call trace:" in out
    assert out[-1] == "---[ end trace 0000000000000000 ]---"


def test_hashed_pointers_are_stable_per_address(rig: Rig) -> None:
    k = rig.k
    assert k.hashed_ptr(0x1000) == k.hashed_ptr(0x1000) != k.hashed_ptr(0x2000)


# -- /proc/vmallocinfo ---------------------------------------------------------------------

def test_vmallocinfo_lines(anyarch: Rig) -> None:
    k = anyarch.k
    k.ioremap(DEV_BASE + 0x123, 0x10)
    k.ioremap(DEV_BASE + 0x1000, 0x3000)
    base = k.arch.vmalloc_start
    lines = k.proc_vmallocinfo().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(
        rf"0x{base:016x}-0x{base + 0x2000:016x}    8192 "
        rf"test_vmallocinfo_lines\+0x[0-9a-f]+/0x[0-9a-f]+ phys=0x0000000009000000 ioremap",
        lines[0])
    assert re.fullmatch(
        rf"0x{base + 0x4000:016x}-0x{base + 0x8000:016x}   16384 {SYM} "
        rf"phys=0x0000000009001000 ioremap", lines[1])


def test_vmallocinfo_on_32bit_arm_prints_32bit_pointers(make_rig) -> None:
    k = make_rig("arm").k
    k.ioremap(DEV_BASE, 0x1000)
    assert re.fullmatch(rf"0xf0000000-0xf0002000    8192 {SYM} phys=0x0000000009000000 ioremap",
                        k.proc_vmallocinfo().rstrip("\n"))


def test_vmallocinfo_names_the_driver_that_mapped(rig: Rig) -> None:
    from iomem import ioremap

    def my_driver_probe():
        return ioremap(DEV_BASE, 0x1000)

    c = my_driver_probe()
    assert c.area.caller.startswith("my_driver_probe+0x")
    assert f" {c.area.caller} " in rig.k.proc_vmallocinfo()
