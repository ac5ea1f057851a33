"""The MMIO accessors: every one is exactly one device access of its width (shown by
a recording device model), byte order, the split 64-bit forms, string accessors,
block copies per architecture, the 32-bit profile, and bad values."""

from __future__ import annotations

import pytest
from core_rig import DEV_BASE, Recorder, Rig
from hypothesis import given, settings
from hypothesis import strategies as st

import iomem
from iomem.kernel import io as IO
from iomem.kernel.io import ACCESSORS, BARRIERS, KernelBuildError, SparseError
from iomem.phys import Region, bswap

OFF = 0x40
READS = sorted(n for n, (_s, w, *_r) in ACCESSORS.items() if not w)
WRITES = sorted(n for n, (_s, w, *_r) in ACCESSORS.items() if w)
VALUE = 0x8877665544332211


def mapped(r: Rig) -> IO.IoMem:
    return r.k.ioremap(DEV_BASE, 0x1000)


# -- one access of exactly the asked width -------------------------------------------------

@pytest.mark.parametrize("name", READS)
def test_every_read_accessor_is_one_access_of_its_width(anyarch: Rig, name: str) -> None:
    size, _w, swap, _ordered, _pio = ACCESSORS[name]
    base = mapped(anyarch)
    dev = anyarch.dev
    dev.poke(OFF, size, VALUE & ((1 << 8 * size) - 1))
    dev.log.clear()
    got = getattr(IO, name)(base + OFF)
    assert dev.log == [("r", OFF, size)]
    device_value = VALUE & ((1 << 8 * size) - 1)
    assert got == (bswap(device_value, size) if swap else device_value)


@pytest.mark.parametrize("name", WRITES)
def test_every_write_accessor_is_one_access_of_its_width(anyarch: Rig, name: str) -> None:
    size, _w, swap, _ordered, _pio = ACCESSORS[name]
    base = mapped(anyarch)
    value = VALUE & ((1 << 8 * size) - 1)
    getattr(IO, name)(value, base + OFF)
    assert anyarch.dev.log == [("w", OFF, size, bswap(value, size) if swap else value)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(ACCESSORS)), st.integers(0, 0x1F8 // 8),
                          st.integers(0, 2**64 - 1)), max_size=25))
def test_any_sequence_of_accessors_is_one_access_each(calls: list[tuple[str, int, int]]) -> None:
    from core_rig import build
    r = build("arm64")
    with r.k:
        base = mapped(r)
        for name, slot, value in calls:
            size, is_write, *_ = ACCESSORS[name]
            off = slot * 8
            n = len(r.dev.log)
            fn = getattr(IO, name)
            if is_write:
                fn(value & ((1 << 8 * size) - 1), base + off)
            else:
                fn(base + off)
            assert r.dev.sizes()[n:] == [("w" if is_write else "r", off, size)]


def test_accesses_are_ordered_little_endian_by_default(rig: Rig) -> None:
    base = mapped(rig)
    iomem.writel(0x11223344, base)
    assert rig.dev.mem[:4] == b"\x44\x33\x22\x11"
    assert iomem.ioread32be(base) == 0x44332211
    iomem.iowrite16be(0xAABB, base + 8)
    assert rig.dev.mem[8:10] == b"\xaa\xbb"


def test_each_access_takes_virtual_time(rig: Rig) -> None:
    base = mapped(rig)
    clock = rig.machine.clock
    t0 = clock.now
    iomem.readl(base)
    iomem.writeb(1, base)
    iomem.readq_relaxed(base)
    assert clock.now - t0 == 3 * rig.machine.access_ns


# -- the split 64-bit accessors (io-64-nonatomic-*.h) --------------------------------------

@pytest.mark.parametrize("name, order", [
    ("lo_hi_readq", [OFF, OFF + 4]), ("lo_hi_readq_relaxed", [OFF, OFF + 4]),
    ("hi_lo_readq", [OFF + 4, OFF]), ("hi_lo_readq_relaxed", [OFF + 4, OFF]),
    ("ioread64_lo_hi", [OFF, OFF + 4]), ("ioread64_hi_lo", [OFF + 4, OFF]),
])
def test_split_reads_are_two_32bit_accesses(make_rig, name: str, order: list[int]) -> None:
    for arch in ("arm", "arm64", "x86_64"):
        r = make_rig(arch)
        with r.k:
            base = mapped(r)
            r.dev.poke(OFF, 8, VALUE)
            r.dev.log.clear()
            assert getattr(iomem, name)(base + OFF) == VALUE
            assert r.dev.log == [("r", o, 4) for o in order]


@pytest.mark.parametrize("name, log", [
    ("lo_hi_writeq", [("w", OFF, 4, 0x44332211), ("w", OFF + 4, 4, 0x88776655)]),
    ("lo_hi_writeq_relaxed", [("w", OFF, 4, 0x44332211), ("w", OFF + 4, 4, 0x88776655)]),
    ("hi_lo_writeq", [("w", OFF + 4, 4, 0x88776655), ("w", OFF, 4, 0x44332211)]),
    ("iowrite64_lo_hi", [("w", OFF, 4, 0x44332211), ("w", OFF + 4, 4, 0x88776655)]),
    ("iowrite64_hi_lo", [("w", OFF + 4, 4, 0x88776655), ("w", OFF, 4, 0x44332211)]),
])
def test_split_writes_are_two_32bit_accesses(make_rig, name: str, log: list) -> None:
    r = make_rig("arm")
    with r.k:
        getattr(iomem, name)(VALUE, mapped(r) + OFF)
        assert r.dev.log == log


# -- the 32-bit profile has no 64-bit accessors --------------------------------------------

SIXTY_FOUR = sorted(n for n, (size, *_r) in ACCESSORS.items() if size == 8)


@pytest.mark.parametrize("name", [*SIXTY_FOUR, "readsq", "writesq"])
def test_32bit_arm_has_no_64bit_accessors(make_rig, name: str) -> None:
    r = make_rig("arm")
    with r.k:
        base = mapped(r)
        fn = getattr(IO, name)
        with pytest.raises(KernelBuildError, match=f"implicit declaration of function '{name}'"):
            if name in ("readsq", "writesq"):
                fn(base, bytearray(8), 1)
            elif ACCESSORS[name][1]:
                fn(1, base)
            else:
                fn(base)
        assert r.dev.log == []


def test_the_32bit_build_error_points_at_the_lo_hi_header(make_rig) -> None:
    r = make_rig("arm")
    with r.k, pytest.raises(KernelBuildError, match="io-64-nonatomic-lo-hi.h"):
        iomem.readq(mapped(r))


# -- string accessors: one register, many times --------------------------------------------

@pytest.mark.parametrize("name, size", [("readsb", 1), ("readsw", 2), ("readsl", 4),
                                        ("readsq", 8), ("ioread8_rep", 1),
                                        ("ioread16_rep", 2), ("ioread32_rep", 4)])
def test_string_reads_repeat_one_register(rig: Rig, name: str, size: int) -> None:
    base = mapped(rig)
    rig.dev.poke(OFF, size, 0x0102030405060708 & ((1 << 8 * size) - 1))
    buf = bytearray(3 * size + 1)
    getattr(iomem, name)(base + OFF, buf, 3)
    assert rig.dev.log == [("r", OFF, size)] * 3
    assert buf[:size] == rig.dev.mem[OFF:OFF + size]  # no byte swapping
    assert buf[-1] == 0


@pytest.mark.parametrize("name, size", [("writesb", 1), ("writesw", 2), ("writesl", 4),
                                        ("writesq", 8), ("iowrite8_rep", 1),
                                        ("iowrite16_rep", 2), ("iowrite32_rep", 4)])
def test_string_writes_repeat_one_register(rig: Rig, name: str, size: int) -> None:
    base = mapped(rig)
    data = bytes(range(1, 2 * size + 1))
    getattr(iomem, name)(base + OFF, data, 2)
    assert rig.dev.log == [("w", OFF, size, int.from_bytes(data[:size], "little")),
                           ("w", OFF, size, int.from_bytes(data[size:], "little"))]


@pytest.mark.parametrize("count, buf, exc", [
    (-1, bytearray(8), ValueError), (3, bytearray(8), ValueError), (1.0, bytearray(8), TypeError),
    ("2", bytearray(8), TypeError),
])
def test_string_accessor_bad_counts_make_no_access(rig: Rig, count, buf, exc) -> None:
    base = mapped(rig)
    for fn in (iomem.writesl, iomem.readsl, iomem.iowrite32_rep, iomem.ioread32_rep):
        with pytest.raises(exc):
            fn(base, buf, count)
    with pytest.raises(TypeError, match="^readsl: the buffer must be writable"):
        iomem.readsl(base, b"\0" * 8, 1)
    with pytest.raises(TypeError, match="^iowrite32_rep: the buffer must be a contiguous "
                                        "bytes-like object .* not list"):
        iomem.iowrite32_rep(base, [1, 2], 2)
    with pytest.raises(TypeError, match="^memcpy_toio: the source buffer .* not int"):
        iomem.memcpy_toio(base, 7, 1)
    assert rig.dev.log == []


# -- block copies --------------------------------------------------------------------------

@pytest.mark.parametrize("start, count, sizes", [
    (0, 16, [8, 8]),
    (0, 13, [8, 1, 1, 1, 1, 1]),
    (3, 14, [1] * 5 + [8, 1]),
    (1, 6, [1] * 6),
    (0, 0, []),
])
def test_arm64_memcpy_uses_8_byte_accesses(rig: Rig, start: int, count: int,
                                           sizes: list[int]) -> None:
    base = mapped(rig)
    rig.dev.mem[:32] = bytes(range(100, 132))
    out = bytearray(count)
    iomem.memcpy_fromio(out, base + start, count)
    assert [s for _k, _o, s in rig.dev.sizes()] == sizes
    assert out == rig.dev.mem[start:start + count]
    rig.dev.log.clear()
    iomem.memcpy_toio(base + 0x100 + start, bytes(range(count)), count)
    assert [s for _k, _o, s in rig.dev.sizes()] == sizes
    assert rig.dev.mem[0x100 + start:0x100 + start + count] == bytes(range(count))


@pytest.mark.parametrize("start, count, sizes", [
    (0, 16, [4, 4, 4, 4]),
    (0, 7, [4, 2, 1]),           # rep movsl, then movsw, then movsb
    (1, 8, [1, 2, 4, 1]),        # align with a byte and a word first
    (2, 8, [2, 4, 2]),
    (3, 5, [1, 4]),
    (1, 2, [1, 1]),              # too short for the word
    (0, 0, []),
])
def test_x86_memcpy_follows_string_memcpy_fromio(x86: Rig, start: int, count: int,
                                                 sizes: list[int]) -> None:
    base = mapped(x86)
    x86.dev.mem[:32] = bytes(range(100, 132))
    out = bytearray(count)
    iomem.memcpy_fromio(out, base + start, count)
    assert [s for _k, _o, s in x86.dev.sizes()] == sizes
    assert out == x86.dev.mem[start:start + count]
    x86.dev.log.clear()
    iomem.memcpy_toio(base + 0x100 + start, bytes(range(count)), count)
    assert [s for _k, _o, s in x86.dev.sizes()] == sizes
    assert x86.dev.mem[0x100 + start:0x100 + start + count] == bytes(range(count))


def test_memset_io(rig: Rig) -> None:
    base = mapped(rig)
    iomem.memset_io(base + 6, 0xA5, 12)
    assert rig.dev.sizes() == [("w", 6, 1), ("w", 7, 1), ("w", 8, 8), ("w", 16, 1),
                               ("w", 17, 1)]
    assert rig.dev.mem[5:19] == b"\0" + b"\xa5" * 12 + b"\0"


@pytest.mark.parametrize("call", [
    lambda b: iomem.memcpy_fromio(bytearray(4), b, 8),
    lambda b: iomem.memcpy_fromio(bytearray(4), b, -1),
    lambda b: iomem.memcpy_fromio(b"read-only", b, 4),
    lambda b: iomem.memcpy_toio(b, b"abc", 4),
    lambda b: iomem.memcpy_toio(b, b"abcd", 2.0),
    lambda b: iomem.memset_io(b, 0x100, 4),
    lambda b: iomem.memset_io(b, 0, -4),
    lambda b: iomem.memset_io(b, "a", 4),
])
def test_block_copy_bad_arguments_make_no_access(rig: Rig, call) -> None:
    with pytest.raises((ValueError, TypeError)):
        call(mapped(rig))
    assert rig.dev.log == []


# -- values --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", WRITES)
def test_out_of_range_or_non_int_values_make_no_access(anyarch: Rig, name: str) -> None:
    size = ACCESSORS[name][0]
    bits = 8 * size
    base = mapped(anyarch)
    fn = getattr(IO, name)
    for bad in (1 << bits, -(1 << (bits - 1)) - 1, -(1 << bits)):
        with pytest.raises(ValueError, match=f"does not fit in {bits} bits"):
            fn(bad, base)
    for bad in (1.0, "1", None):
        with pytest.raises(TypeError, match="must be an integer"):
            fn(bad, base)
    assert anyarch.dev.log == []
    fn(-1, base)  # a negative value that fits is its two's complement
    fn(True, base)  # a C bool converts to 1 (writel(on, reg) is common driver code)
    swapped = ACCESSORS[name][2]
    one = int.from_bytes((1).to_bytes(size, "little"), "big") if swapped else 1
    assert anyarch.dev.log == [("w", 0, size, (1 << bits) - 1), ("w", 0, size, one)]
    assert type(anyarch.dev.log[-1][3]) is int


def test_split_write_value_is_checked_before_any_access(rig: Rig) -> None:
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        iomem.lo_hi_writeq(1 << 64, mapped(rig))
    assert rig.dev.log == []


# -- port I/O cookies ----------------------------------------------------------------------

def test_ioread_iowrite_take_port_cookies_and_readl_does_not(x86: Rig) -> None:
    ports = Recorder("i8042", 0x10)
    x86.machine.io.add_region(Region("i8042", 0x60, 0x10, "io", ops=ports))
    p = iomem.ioport_map(0x60, 8)
    ports.poke(4, 1, 0x1C)
    assert iomem.ioread8(p + 4) == 0x1C
    iomem.iowrite16(0xBEEF, p + 2)
    assert ports.log == [("r", 4, 1), ("w", 2, 2, 0xBEEF)]
    with pytest.raises(SparseError, match="port-I/O cookie"):
        iomem.readl(p)
    with pytest.raises(SparseError, match="port-I/O cookie"):
        iomem.writeb(1, p)
    assert len(ports.log) == 2
    assert iomem.ioport_map(0xFFFF, 2) is None and iomem.ioport_map(0x60, 0) is None


@pytest.mark.parametrize("name", sorted(ACCESSORS))
def test_every_accessor_is_exported_by_its_c_name(name: str) -> None:
    assert getattr(iomem, name) is getattr(IO, name)
    assert name in iomem.__all__


def test_barriers_are_callable(rig: Rig) -> None:
    for name in BARRIERS:
        assert getattr(iomem, name)() is None
    assert rig.dev.log == []
