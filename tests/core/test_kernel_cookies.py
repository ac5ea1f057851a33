"""``__iomem`` cookies: pointer arithmetic, sparse's complaints, and what happens on
bad pointers (after iounmap, past the request, past the mapping, NULL, ERR_PTR)."""

from __future__ import annotations

import re

import pytest
from core_rig import DEV_BASE, Rig, new_lines

import iomem
from iomem.kernel import io as IO
from iomem.kernel.errno import ERR_PTR
from iomem.kernel.io import IoMem, KernelOops, SparseError
from iomem.phys import IGNORE


def test_cookie_arithmetic_stays_in_the_address_space(rig: Rig) -> None:
    c = rig.k.ioremap(DEV_BASE, 0x100)
    d = c + 0x10
    assert isinstance(d, IoMem) and isinstance(0x10 + c, IoMem)
    assert d.vaddr == c.vaddr + 0x10 and d.area is c.area
    assert isinstance(d - 4, IoMem) and (d - 4).vaddr == c.vaddr + 0xC
    assert d - c == 0x10 and isinstance(d - c, int)
    assert c != rig.k.ioremap(DEV_BASE, 0x100)  # another mapping, another address
    assert c < d and hash(c + 0x10) == hash(d) and c + 0x10 == d
    assert bool(c) is True
    assert repr(c) == f"(void __iomem *)0x{c.vaddr:x}"
    with pytest.raises(SparseError, match=re.escape(
            "incompatible types in binary operation "
            "(void [noderef] __iomem * + void [noderef] __iomem *)")):
        c + d  # noqa: B018
    with pytest.raises(TypeError):
        c + 1.5  # noqa: B018
    with pytest.raises(TypeError):
        c - "x"  # noqa: B018


def test_a_cookie_is_not_a_plain_pointer(rig: Rig) -> None:
    c = rig.k.ioremap(DEV_BASE, 0x100)
    with pytest.raises(SparseError, match="cast removes address space '__iomem' of expression"):
        int(c)
    with pytest.raises(SparseError, match="cast removes address space"):
        hex(c)
    with pytest.raises(SparseError, match="dereference of noderef expression"):
        c[0]  # noqa: B018
    with pytest.raises(SparseError, match="dereference of noderef expression"):
        c[4] = 1
    assert rig.dev.log == []


READL_WORDS = ("warning: incorrect type in argument 1 (different address spaces)\n"
               "    expected void const volatile [noderef] __iomem *addr\n"
               "    got unsigned long\n")


def test_an_int_passed_to_readl_is_sparses_complaint(rig: Rig) -> None:
    with pytest.raises(SparseError) as e:
        iomem.readl(DEV_BASE)
    assert str(e.value).startswith(READL_WORDS)
    assert "readl() takes the cookie ioremap() returned" in str(e.value)
    assert isinstance(e.value, TypeError)


@pytest.mark.parametrize("arch, call, argno, expected", [
    ("arm64", lambda a: iomem.writel(0, a), 2, "void volatile"),
    ("arm64", lambda a: IO.__raw_writew(0, a), 2, "void volatile"),
    ("arm64", lambda a: iomem.readq_relaxed(a), 1, "void const volatile"),
    ("arm64", lambda a: iomem.writesl(a, b"", 0), 1, "void volatile"),
    ("arm64", lambda a: iomem.readsb(a, bytearray(1), 1), 1, "void const volatile"),
    ("arm64", lambda a: iomem.memcpy_fromio(bytearray(4), a, 4), 2, "void const volatile"),
    ("arm64", lambda a: iomem.memcpy_toio(a, b"abcd", 4), 1, "void volatile"),
    ("arm64", lambda a: iomem.memset_io(a, 0, 4), 1, "void volatile"),
    ("arm64", lambda a: iomem.ioread32(a), 1, "void const volatile"),
    ("arm64", lambda a: iomem.iowrite32be(0, a), 2, "void volatile"),
    ("x86_64", lambda a: iomem.ioread32(a), 1, "void const"),      # lib/iomap.c
    ("x86_64", lambda a: iomem.iowrite8(0, a), 2, "void"),
    ("x86_64", lambda a: iomem.iowrite16_rep(a, b"", 0), 1, "void"),
    ("x86_64", lambda a: iomem.ioread8_rep(a, bytearray(1), 1), 1, "void const"),
    ("x86_64", lambda a: iomem.writeb(0, a), 2, "void volatile"),
])
def test_sparse_names_the_argument_as_the_prototype_has_it(
        make_rig, arch: str, call, argno: int, expected: str) -> None:
    r = make_rig(arch)
    with r.k, pytest.raises(SparseError) as e:
        call(DEV_BASE)
    lines = str(e.value).splitlines()
    assert lines[0] == f"warning: incorrect type in argument {argno} (different address spaces)"
    assert lines[1] == f"    expected {expected} [noderef] __iomem *addr"
    assert lines[2] == "    got unsigned long"
    assert r.dev.log == []


def test_something_else_passed_as_a_cookie(rig: Rig) -> None:
    with pytest.raises(SparseError, match="    got str"):
        iomem.readb("0x9000000")


# -- faults -------------------------------------------------------------------------------------

def test_access_after_iounmap_oopses_arm64(rig: Rig) -> None:
    k = rig.k
    c = k.ioremap(DEV_BASE, 0x100)
    va = c.vaddr
    k.iounmap(c)
    n = len(k.log)
    with pytest.raises(KernelOops) as e:
        iomem.readl(c + 8)
    assert str(e.value) == (
        f"Unable to handle kernel paging request at virtual address {va + 8:016x}\n"
        "Internal error: Oops: 0000000096000007 [#1] SMP")
    out = new_lines(k, n)
    assert out[:2] == str(e.value).splitlines()
    assert out[2] == "CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-iomem #1"
    assert out[3] == "Hardware name: linux,dummy-virt (DT)"
    assert out[4] == "Call trace:"
    assert out[-1] == "---[ end trace 0000000000000000 ]---"
    assert k.log.records[n].level == 0
    with pytest.raises(KernelOops) as e:
        iomem.writel(1, c)
    # the second oops is #2, the write's ESR has WnR set, the kernel is now tainted
    assert str(e.value).splitlines()[1] == "Internal error: Oops: 0000000096000047 [#2] SMP"
    # print_tainted(): one column per flag, P..N; 'G' stands for a clean P, D is bit 7
    tainted = "Tainted: G" + " " * 6 + "D" + " " * 11
    assert f"CPU: 0 PID: 1 Comm: swapper/0 {tainted} 6.1.0-iomem #1" in new_lines(k, n)
    assert rig.dev.log == []


def test_access_after_iounmap_oopses_x86(x86: Rig) -> None:
    k = x86.k
    c = k.ioremap(DEV_BASE, 0x100)
    va = c.vaddr
    k.iounmap(c)
    with pytest.raises(KernelOops) as e:
        iomem.readw(c)
    assert str(e.value).splitlines() == [
        f"BUG: unable to handle page fault for address: {va:016x}",
        "#PF: supervisor read access in kernel mode",
        "#PF: error_code(0x0000) - not-present page",
        "Oops: 0000 [#1] PREEMPT SMP NOPTI"]
    with pytest.raises(KernelOops) as e:
        iomem.writeb(0, c + 1)
    assert str(e.value).splitlines()[1:] == [
        "#PF: supervisor write access in kernel mode",
        "#PF: error_code(0x0002) - not-present page",
        "Oops: 0002 [#2] PREEMPT SMP NOPTI"]
    assert x86.dev.log == []


def test_access_past_the_request_inside_the_page_is_an_index_error(anyarch: Rig) -> None:
    k = anyarch.k
    c = k.ioremap(DEV_BASE + 0x10, 0x20)
    n = len(k.log)
    with pytest.raises(IndexError) as e:
        iomem.readl(c + 0x20)
    assert str(e.value) == (
        f"32-bit read at offset 0x20 ({c.vaddr + 0x20:016x}) is outside the 0x20-byte "
        f"mapping of 0x0000000009000010 made by {c.area.caller}; map the registers you access")
    with pytest.raises(IndexError, match=r"64-bit write at offset 0x1c "):
        iomem.writeq(0, c + 0x1C)  # starts inside, ends outside
    with pytest.raises(IndexError, match=r"8-bit read at offset -0x4 "):
        iomem.readb(c - 4)  # before the request, still in the page
    assert anyarch.dev.log == [] and new_lines(k, n) == []


def test_access_past_the_mapped_pages_is_a_page_fault(rig: Rig) -> None:
    k = rig.k
    c = k.ioremap(DEV_BASE, 0x1000)
    with pytest.raises(KernelOops, match=f"paging request at virtual address "
                                         f"{c.vaddr + 0x1000:016x}"):
        iomem.readl(c + 0x1000)  # the guard page
    with pytest.raises(KernelOops, match=f"virtual address {c.vaddr - 4:016x}"):
        iomem.readl(c - 4)
    assert rig.dev.log == []


def test_null_and_err_ptr_cookies_oops(anyarch: Rig) -> None:
    k = anyarch.k
    null_text = ("BUG: kernel NULL pointer dereference, address: 0000000000000000"
                 if k.arch.is_x86 else
                 "Unable to handle kernel NULL pointer dereference at virtual address "
                 "0000000000000000")
    with pytest.raises(KernelOops) as e:
        iomem.readl(None)
    assert str(e.value).splitlines()[0] == null_text
    with pytest.raises(KernelOops) as e:
        iomem.writel(0, ERR_PTR(-16))
    assert "fffffffffffffff0" in str(e.value).splitlines()[0]
    assert [r["rule"] for r in k.reports] == ["unchecked-result", "unchecked-result"]
    assert anyarch.dev.log == []


def test_a_bus_error_on_arm64_is_a_synchronous_external_abort(rig: Rig) -> None:
    k = rig.k
    c = k.ioremap(0x0A000000, 0x1000)  # nothing decodes there
    with pytest.raises(KernelOops) as e:
        iomem.readl(c + 4)
    lines = str(e.value).splitlines()
    assert lines[0] == "Internal error: synchronous external abort: 0000000096000010 [#1] SMP"
    assert lines[1] == (f"  (bus error: 4-byte read at 0xa000004 (no region): unassigned at "
                        f"{c.vaddr + 4:016x})")


def test_x86_reads_all_ones_from_nothing_under_the_ignore_policy(make_rig) -> None:
    r = make_rig("x86_64", policy=IGNORE)
    with r.k:
        c = r.k.ioremap(0xFEB00000, 0x1000)
        assert iomem.readl(c) == 0xFFFFFFFF
        assert iomem.readq(c) == 0xFFFFFFFFFFFFFFFF
        iomem.writel(0, c)
        assert [e.kind for e in r.machine.memory.bus_errors] == ["unassigned"] * 3
