"""%pR, %pr and %pa as lib/vsprintf.c prints them (resource_string, special_hex_number)."""

from __future__ import annotations

import pytest

from iomem.kernel import ioport as F
from iomem.kernel.resource import Resource
from iomem.kernel.vsprintf import pa, pR

MEM, IO = F.IORESOURCE_MEM, F.IORESOURCE_IO


@pytest.mark.parametrize("start, end, flags, text", [
    (0xFEA00000, 0xFEA00FFF, MEM, "[mem 0xfea00000-0xfea00fff]"),
    (0x0, 0xFFF, MEM, "[mem 0x00000000-0x00000fff]"),
    (0x100000000, 0x17FFFFFFF, MEM, "[mem 0x100000000-0x17fffffff]"),
    (0x9000000, 0x9000000, MEM, "[mem 0x09000000]"),  # one byte: no "-end"
    (0x1000, 0x101F, IO, "[io  0x1000-0x101f]"),
    (0x60, 0x60, IO, "[io  0x0060]"),
    (0x10000, 0x1FFFF, IO, "[io  0x10000-0x1ffff]"),  # width 6 is a minimum
    (33, 33, F.IORESOURCE_IRQ, "[irq 33]"),
    (16, 23, F.IORESOURCE_IRQ, "[irq 16-23]"),
    (2, 2, F.IORESOURCE_DMA, "[dma 2]"),
    (0, 0xFF, F.IORESOURCE_BUS, "[bus 00-ff]"),
    (0x1, 0x1, F.IORESOURCE_BUS, "[bus 01]"),
    (0x1000, 0x1FFF, F.IORESOURCE_REG, "[io  0x1000-0x1fff]"),  # REG has the IO bit
])
def test_pR_types_and_widths(start: int, end: int, flags: int, text: str) -> None:
    assert pR(Resource(start, end, "x", flags)) == text


@pytest.mark.parametrize("extra, text", [
    (F.IORESOURCE_MEM_64, "[mem 0x800000000-0x8000fffff 64bit]"),
    (F.IORESOURCE_PREFETCH, "[mem 0x800000000-0x8000fffff pref]"),
    (F.IORESOURCE_WINDOW, "[mem 0x800000000-0x8000fffff window]"),
    (F.IORESOURCE_DISABLED, "[mem 0x800000000-0x8000fffff disabled]"),
    (F.IORESOURCE_MEM_64 | F.IORESOURCE_PREFETCH | F.IORESOURCE_WINDOW | F.IORESOURCE_DISABLED,
     "[mem 0x800000000-0x8000fffff 64bit pref window disabled]"),
    (F.IORESOURCE_BUSY | F.IORESOURCE_SIZEALIGN, "[mem 0x800000000-0x8000fffff]"),
])
def test_pR_suffixes_in_the_kernels_order(extra: int, text: str) -> None:
    assert pR(Resource(0x800000000, 0x8000FFFFF, "bar", MEM | extra)) == text


def test_pR_of_an_unset_resource_prints_its_size() -> None:
    r = Resource(0, 0xFFF, "bar", MEM | F.IORESOURCE_UNSET | F.IORESOURCE_MEM_64)
    assert pR(r) == "[mem size 0x00001000 64bit]"
    io = Resource(0, 0x1F, "bar", IO | F.IORESOURCE_UNSET)
    assert pR(io) == "[io  size 0x0020]"
    # %pr does not decode, so it prints the range and the raw flags
    assert pR(r, decode=False) == "[mem 0x00000000-0x00000fff flags 0x20100200]"


@pytest.mark.parametrize("flags, text", [
    (MEM | F.IORESOURCE_BUSY, "[mem 0xfea00000-0xfea00fff flags 0x80000200]"),
    (IO, "[io  0xfea00000-0xfea00fff flags 0x100]"),
    (0, "[??? 0xfea00000-0xfea00fff flags 0x0]"),
])
def test_pr_raw_flags(flags: int, text: str) -> None:
    assert pR(Resource(0xFEA00000, 0xFEA00FFF, "x", flags), decode=False) == text


def test_pR_of_an_unknown_type_never_decodes() -> None:
    r = Resource(0x1000, 0x1FFF, "x", F.IORESOURCE_PREFETCH | F.IORESOURCE_UNSET)
    assert pR(r) == "[??? 0x00001000-0x00001fff flags 0x20002000]"


def test_str_and_repr_of_a_resource_use_pR() -> None:
    r = Resource(0x9000000, 0x9000FFF, "pl011@9000000", MEM)
    assert str(r) == "[mem 0x09000000-0x09000fff]"
    assert repr(r) == "<Resource 'pl011@9000000' [mem 0x09000000-0x09000fff]>"


@pytest.mark.parametrize("value, text", [
    (0, "0x0000000000000000"),
    (0xFEA00000, "0x00000000fea00000"),
    (0xFFFFFFFFFFFFFFFF, "0xffffffffffffffff"),
    (-1, "0xffffffffffffffff"),  # what resource_size_t arithmetic wraps to
])
def test_pa(value: int, text: str) -> None:
    assert pa(value) == text
