"""The accessor object: every accessor of the table, one access each, and every refusal."""

from __future__ import annotations

import gc
import mmap
import sys

import pytest

from iomem.user import (
    ACCESSOR_NAMES,
    ACCESSORS,
    MapError,
    Mmio,
    MmioAccessError,
    MmioClosedError,
    MmioReadOnlyError,
    MmioValueError,
    Window,
)
from iomem.user.mmio import copy_chunks

from .conftest import Recorder

KERNEL_NAMES = {
    "readb", "readw", "readl", "readq", "writeb", "writew", "writel", "writeq",
    "readb_relaxed", "readl_relaxed", "writeq_relaxed", "__raw_readl", "__raw_writeq",
    "ioread8", "ioread16", "ioread32", "ioread64", "iowrite32", "ioread16be", "ioread32be",
    "ioread64be", "iowrite16be", "iowrite32be", "iowrite64be",
    "readsb", "readsw", "readsl", "readsq", "writesb", "writesl", "ioread32_rep",
    "iowrite16_rep", "memcpy_fromio", "memcpy_toio", "memset_io",
    "lo_hi_readq", "lo_hi_writeq", "hi_lo_readq", "hi_lo_writeq", "lo_hi_readq_relaxed",
    "hi_lo_writeq_relaxed", "ioread64_lo_hi", "iowrite64_hi_lo",
}


def test_the_kernel_accessor_family_is_there() -> None:
    assert set(ACCESSOR_NAMES) >= KERNEL_NAMES
    for name in ACCESSOR_NAMES:
        assert callable(getattr(Mmio, name)), name
        assert getattr(Mmio, name).__doc__


def test_same_names_as_the_kernel_table() -> None:
    from iomem.kernel import io as kio

    assert set(kio.ACCESSORS) == set(ACCESSORS)


def _value_for(size: int) -> int:
    return {1: 0xA5, 2: 0xBEEF, 4: 0x010000ED, 8: 0x0123456789ABCDEF}[size]


@pytest.mark.parametrize("name", sorted(n for n, s in ACCESSORS.items() if s[1]))
def test_every_store_is_one_access_of_its_width(name: str, recorder: Recorder) -> None:
    size, _, swap, _ = ACCESSORS[name]
    m = Mmio(recorder.window())
    v = _value_for(size)
    getattr(m, name)(v, 0x40)
    stored = int.from_bytes(v.to_bytes(size, "little"), "big") if swap else v
    assert recorder.log == [("w", 0x40, size, stored)]


@pytest.mark.parametrize("name", sorted(n for n, s in ACCESSORS.items() if not s[1]))
def test_every_load_is_one_access_of_its_width(name: str, recorder: Recorder) -> None:
    size, _, swap, _ = ACCESSORS[name]
    v = _value_for(size)
    recorder.mem[0x40:0x40 + size] = v.to_bytes(size, "little")
    m = Mmio(recorder.window())
    got = getattr(m, name)(0x40)
    assert recorder.log == [("r", 0x40, size, v)]
    assert got == (int.from_bytes(v.to_bytes(size, "little"), "big") if swap else v)


@pytest.mark.parametrize("name", sorted(n for n, s in ACCESSORS.items() if not s[1]))
def test_loads_and_stores_on_a_real_mapping(name: str, anon: Mmio) -> None:
    size, _, swap, _ = ACCESSORS[name]
    v = _value_for(size)
    store = name.replace("read", "write")
    getattr(anon, store)(v, 0x80)
    assert getattr(anon, name)(0x80) == v
    raw = bytes(anon.buffer()[0x80:0x80 + size])
    assert raw == v.to_bytes(size, "big" if swap else "little")


def test_little_endian_layout_and_be_forms(anon: Mmio) -> None:
    anon.writel(0x010000ED, 0)
    assert bytes(anon.buffer()[:4]) == b"\xed\x00\x00\x01"
    assert anon.readb(0) == 0xED and anon.readw(2) == 0x0100
    assert anon.ioread32be(0) == 0xED000001
    anon.iowrite16be(0x1234, 4)
    assert anon.readw(4) == 0x3412


def test_split_64bit_accessors_make_two_32bit_accesses_in_order(recorder: Recorder) -> None:
    m = Mmio(recorder.window())
    m.lo_hi_writeq(0x1111111122222222, 0x10)
    m.hi_lo_writeq(0x3333333344444444, 0x18)
    assert recorder.log == [("w", 0x10, 4, 0x22222222), ("w", 0x14, 4, 0x11111111),
                            ("w", 0x1C, 4, 0x33333333), ("w", 0x18, 4, 0x44444444)]
    recorder.log.clear()
    assert m.lo_hi_readq(0x10) == 0x1111111122222222
    assert m.hi_lo_readq(0x18) == 0x3333333344444444
    assert [(op, off) for op, off, *_ in recorder.log] == [("r", 0x10), ("r", 0x14),
                                                           ("r", 0x1C), ("r", 0x18)]


def test_string_accessors_repeat_one_register(recorder: Recorder) -> None:
    m = Mmio(recorder.window())
    m.writesl(0x20, memoryview(bytes(range(12))).cast("I"), 3)
    assert [(op, off, n) for op, off, n, _ in recorder.log] == [("w", 0x20, 4)] * 3
    recorder.log.clear()
    out = bytearray(8)
    m.readsw(0x20, out, 4)
    assert [(op, off, n) for op, off, n, _ in recorder.log] == [("r", 0x20, 2)] * 4
    assert out == bytes([8, 9]) * 4  # the last word written, low half, four times
    with pytest.raises(MmioValueError, match="holds 2 elements, count is 3"):
        m.readsl(0x20, bytearray(8), 3)
    with pytest.raises(TypeError, match="writable"):
        m.readsl(0x20, b"\0" * 8, 2)
    with pytest.raises(MmioAccessError, match="aligned"):
        m.writesl(0x22, bytes(8), 2)


@pytest.mark.parametrize("call, message", [
    # errors name the accessor the user called, not the one it is built on
    (lambda m: m.writesl(0x22, bytes(8), 2), r"^writesl: offset 0x22 is not 4-byte aligned"),
    (lambda m: m.ioread32_rep(0x23, bytearray(8), 2), r"^ioread32_rep: offset 0x23 is not"),
    (lambda m: m.readsw(0x10000, bytearray(4), 1), r"^readsw: 2 bytes at offset 0x10000 are"),
    (lambda m: m.writesl(0, [1, 2], 2), r"^writesl: the buffer must be a contiguous bytes-like"
                                         r" object .* not list"),
    (lambda m: m.memcpy_toio(0, 7, 1), r"^memcpy_toio: the source buffer must be .* not int"),
    (lambda m: m.memcpy_fromio(b"xx", 0, 1), r"^memcpy_fromio: the destination buffer must be "
                                              "writable"),
])
def test_string_and_block_errors_name_the_accessor_called(anon: Mmio, call, message) -> None:
    with pytest.raises((MmioAccessError, TypeError), match=message):
        call(anon)


def test_block_copies_use_aligned_pieces(recorder: Recorder) -> None:
    m = Mmio(recorder.window())
    data = bytes(range(1, 24))
    m.memcpy_toio(3, data, len(data))
    assert bytes(recorder.mem[3:26]) == data
    for _, off, n, _ in recorder.log:
        assert off % n == 0
    out = bytearray(23)
    m.memcpy_fromio(out, 3, 23)
    assert bytes(out) == data
    m.memset_io(1, 0x5A, 10)
    assert bytes(recorder.mem[1:11]) == b"\x5a" * 10
    with pytest.raises(MmioAccessError, match="run past"):
        m.memset_io(0xFFF, 0, 2)


@pytest.mark.parametrize("count", range(0, 20))
@pytest.mark.parametrize("pos", range(0, 9))
@pytest.mark.parametrize("widths", [frozenset({1, 2, 4, 8}), frozenset({1, 2, 4})])
def test_copy_chunks_tile_the_block(pos: int, count: int, widths: frozenset[int]) -> None:
    pieces = copy_chunks(pos, count, widths)
    at = 0
    for off, n in pieces:
        assert off == at and n in widths and (pos + off) % n == 0
        at += n
    assert at == count


# -- refusals -------------------------------------------------------------------------


def test_misaligned_negative_and_out_of_range_offsets(anon: Mmio) -> None:
    with pytest.raises(MmioAccessError, match=r"readl: offset 0x2 is not 4-byte aligned"):
        anon.readl(2)
    with pytest.raises(MmioAccessError, match="negative"):
        anon.readl(-4)
    with pytest.raises(MmioAccessError, match=r"outside the mapping \(offsets 0x0-0xffff"):
        anon.readl(0x10000)
    with pytest.raises(MmioAccessError, match="outside"):
        anon.window(0, 6).readq(0)  # aligned, but two bytes short
    with pytest.raises(MmioAccessError, match="8-byte aligned"):
        anon.writeq(0, 4)
    with pytest.raises(TypeError, match="offset must be an integer, not float"):
        anon.readl(4.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not bool"):
        anon.readb(True)  # type: ignore[arg-type]


def test_values_must_fit_the_width(anon: Mmio) -> None:
    with pytest.raises(MmioValueError, match="does not fit in 32 bits"):
        anon.writel(1 << 32, 0)
    with pytest.raises(MmioValueError, match="8 bits"):
        anon.writeb(-129, 0)
    with pytest.raises(TypeError, match="integer, not str"):
        anon.writel("1", 0)  # type: ignore[arg-type]
    anon.writel(-1, 0)  # two's complement, as C's conversion to u32
    assert anon.readl(0) == 0xFFFFFFFF
    # a C bool converts to 1, on the fast path and on the checked (byte-swapping) one
    anon.writel(True, 0)
    anon.iowrite32be(True, 4)
    anon.writeb(False, 8)
    assert (anon.readl(0), anon.readl(4), anon.readb(8)) == (1, 0x01000000, 0)


def test_errors_are_the_builtin_kinds(anon: Mmio) -> None:
    with pytest.raises(ValueError):
        anon.readl(3)
    assert issubclass(MapError, OSError)


def test_read_only_mapping_refuses_stores_with_the_reason() -> None:
    m = Mmio(Window(size=4096, name="ro", buffer=mmap.mmap(-1, 4096, prot=mmap.PROT_READ),
                    writable=False, readonly_reason="opened with write=False"))
    assert m.readl(0) == 0
    with pytest.raises(MmioReadOnlyError, match="ro does not accept stores: opened with"):
        m.writel(1, 0)
    with pytest.raises(MmioReadOnlyError):
        m.memset_io(0, 0, 8)
    rec = Recorder()
    m2 = Mmio(Window(size=64, name="pair", read=rec.read, writable=False))
    with pytest.raises(MmioReadOnlyError, match="pair does not accept stores"):
        m2.writeb(1, 0)
    assert rec.log == []


def test_widths_the_window_cannot_do_are_refused_not_split() -> None:
    rec = Recorder(widths=frozenset({1, 2, 4}))
    m = Mmio(Window(size=64, name="vfio-ish", read=rec.read, write=rec.write,
                    widths=rec.widths, widths_reason="the kernel splits 8-byte read()s"))
    with pytest.raises(MmioAccessError, match="64-bit accesses as one access .the kernel splits"):
        m.readq(0)
    with pytest.raises(MmioAccessError, match="lo_hi_readq"):
        m.writeq(0, 0)
    assert rec.log == []
    assert m.lo_hi_readq(0) == 0  # explicitly two halves: allowed
    assert m.widths == frozenset({1, 2, 4})


def test_generic_read_write_for_register_bindings(anon: Mmio) -> None:
    anon.write(0x10, 2, 0xABCD)
    assert anon.read(0x10, 2) == 0xABCD
    with pytest.raises(MmioAccessError, match="size must be 1, 2, 4 or 8"):
        anon.read(0, 3)


def test_register_map_binding(anon: Mmio) -> None:
    from iomem.regs import Field, Register, RegisterMap

    regmap = RegisterMap("dev", [Register("CTRL", 0x4, [Field("EN", 0), Field("MODE", 4, 2)]),
                                 Register("ID", 0x0, access="ro", width=16)])
    anon.writew(0x11E8, 0)
    regs = anon.bind(regmap)
    regs.CTRL.modify(EN=1, MODE=2)
    assert anon.readl(4) == 0x21
    assert regs.ID.read() == 0x11E8
    assert regs.CTRL.read().MODE == 2


# -- windows, life time ------------------------------------------------------------------


def test_sub_windows_share_the_mapping(anon: Mmio) -> None:
    sub = anon.window(0x100, 0x10)
    sub.writel(0xDEADBEEF, 0xC)
    assert anon.readl(0x10C) == 0xDEADBEEF
    with pytest.raises(MmioAccessError, match="outside"):
        sub.readl(0x10)
    odd = anon.window(0x2)
    with pytest.raises(MmioAccessError, match="not 4-byte aligned"):
        odd.readl(0)  # alignment is the address's, not the window's
    assert odd.readw(2) == anon.readw(4)
    anon.close()
    assert sub.readl(0xC) == 0xDEADBEEF  # the sub-window keeps the mapping
    sub.close()
    odd.close()


def test_closed_mapping_refuses_access(anon: Mmio) -> None:
    anon.close()
    anon.close()  # idempotent
    assert anon.closed
    with pytest.raises(MmioClosedError, match="closed"):
        anon.readl(0)
    with pytest.raises(MmioClosedError):
        anon.memcpy_fromio(bytearray(4), 0, 4)


def test_numpy_view_outlives_close() -> None:
    np = pytest.importorskip("numpy")
    mm = mmap.mmap(-1, 4096)
    with Mmio.from_buffer(mm) as m:
        m.writel(0x12345678, 8)
        arr = m.array("u4")
        sub = m.array(np.uint16, offset=8, count=2)
    assert arr[2] == 0x12345678 and list(sub) == [0x5678, 0x1234]
    arr[3] = 7  # the pages stay mapped while the array lives
    assert not mm.closed
    del arr, sub
    gc.collect()
    assert int.from_bytes(mm[12:16], "little") == 7


def test_release_runs_once_when_the_last_user_closes() -> None:
    calls = []
    m = Mmio(Window(size=16, name="w", buffer=bytearray(16), release=lambda: calls.append(1)))
    sub = m.window(8)
    m.close()
    assert calls == []
    sub.close()
    assert calls == [1]


def test_describe_and_facts(anon: Mmio) -> None:
    m = Mmio(Window(size=0x1000, name="0000:00:04.0 BAR0", buffer=mmap.mmap(-1, 0x1000),
                    phys=0xFEA00000, info={"memtype": "UC", "owner": "edu"}))
    assert m.describe() == ("0000:00:04.0 BAR0, [mem 0xfea00000-0xfea00fff], 0x1000 bytes, "
                            "memtype UC, owner edu")
    assert m.window(0x10).phys == 0xFEA00010
    assert "closed" in repr((m.close(), m)[1])
    assert len(anon) == 0x10000 and anon.writable


def test_window_checks_its_buffer() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        Window(size=0x2000, name="w", buffer=bytearray(0x1000))
    with pytest.raises(ValueError, match="neither a buffer nor a read"):
        Window(size=1, name="w")


def test_file_backed_stores_reach_the_file(filemap) -> None:
    m, path = filemap
    m.writel(0xCAFEF00D, 0x100)
    m._shared.window.buffer.flush()
    assert path.read_bytes()[0x100:0x104] == (0xCAFEF00D).to_bytes(4, "little")


@pytest.mark.skipif(sys.byteorder != "little", reason="layout checks assume little-endian")
def test_memoryview_elements_are_the_access_path(anon: Mmio) -> None:
    """The typed views are cast once, at mapping time (no per-access objects)."""
    views = anon._shared.views
    assert [views[n].format for n in (1, 2, 4, 8)] == ["B", "H", "I", "Q"]
    assert views[4] is views[4 + 16]  # relaxed uses the same single access


@pytest.mark.parametrize("name", sorted(ACCESSORS))
def test_every_accessor_refuses_bad_offsets_by_name(name: str, recorder: Recorder) -> None:
    size, is_write, _, _ = ACCESSORS[name]
    m = Mmio(recorder.window())
    call = (lambda off: getattr(m, name)(0, off)) if is_write else getattr(m, name)
    bad = [-size, len(recorder.mem)] + ([size // 2 + 0x40] if size > 1 else [])
    for off in bad:
        with pytest.raises(MmioAccessError, match=f"^{name}: "):
            call(off)
    if is_write:
        with pytest.raises(MmioValueError, match=f"^{name}: value .* does not fit"):
            getattr(m, name)(1 << (8 * size), 0)
    assert recorder.log == []


def test_a_window_marked_read_only_refuses_stores_on_a_writable_buffer() -> None:
    buf = bytearray(16)
    m = Mmio.from_buffer(buf, writable=False)
    with pytest.raises(MmioReadOnlyError):
        m.writel(1, 0)
    assert buf == bytearray(16)
