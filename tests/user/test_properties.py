"""Property tests: an access succeeds exactly when it is one aligned in-range access,
values are taken exactly when they fit, and the mapping behaves as plain memory."""

from __future__ import annotations

import mmap

from hypothesis import given
from hypothesis import strategies as st

from iomem.user import Mmio, MmioAccessError, MmioValueError, Window

from .conftest import Recorder

SIZES = st.sampled_from([1, 2, 4, 8])
READ = {1: "readb", 2: "readw", 4: "readl", 8: "readq"}
WRITE = {1: "writeb", 2: "writew", 4: "writel", 8: "writeq"}


@given(start=st.integers(0, 40), length=st.integers(0, 64), size=SIZES,
       off=st.integers(-80, 120), relaxed=st.booleans())
def test_an_access_is_allowed_exactly_when_aligned_and_inside(start: int, length: int,
                                                              size: int, off: int,
                                                              relaxed: bool) -> None:
    rec = Recorder(size=128)
    m = Mmio(rec.window()).window(start, min(length, 128 - start))
    name = READ[size] + ("_relaxed" if relaxed else "")
    ok = off >= 0 and off + size <= m.size and (start + off) % size == 0
    try:
        getattr(m, name)(off)
    except MmioAccessError:
        assert not ok
        assert rec.log == []
    else:
        assert ok
        assert rec.log == [("r", start + off, size, 0)]


@given(size=SIZES, value=st.integers(-(1 << 70), 1 << 70))
def test_a_value_is_taken_exactly_when_it_fits(size: int, value: int) -> None:
    m = Mmio.from_buffer(bytearray(16))
    bits = size * 8
    fits = -(1 << (bits - 1)) <= value < (1 << bits)
    try:
        getattr(m, WRITE[size])(value, 8)
    except MmioValueError:
        assert not fits
    else:
        assert fits
        assert getattr(m, READ[size])(8) == value & ((1 << bits) - 1)


ops = st.lists(st.tuples(SIZES, st.integers(0, 63), st.integers(0, (1 << 64) - 1)),
               max_size=40)


@given(ops=ops)
def test_the_mapping_behaves_as_little_endian_memory(ops: list[tuple[int, int, int]]) -> None:
    mm = mmap.mmap(-1, 4096)
    m = Mmio(Window(size=64, name="anon", buffer=mm))
    model = bytearray(64)
    for size, slot, value in ops:
        off = slot // size * size
        if off + size > 64:
            continue
        v = value & ((1 << (size * 8)) - 1)
        getattr(m, WRITE[size])(v, off)
        model[off:off + size] = v.to_bytes(size, "little")
        for rsize in (1, 2, 4, 8):
            roff = off // rsize * rsize
            assert getattr(m, READ[rsize])(roff) == int.from_bytes(model[roff:roff + rsize],
                                                                   "little")
    m.close()


@given(pos=st.integers(0, 64), data=st.binary(max_size=80))
def test_block_copies_round_trip_at_any_alignment(pos: int, data: bytes) -> None:
    rec = Recorder(size=160)
    m = Mmio(rec.window())
    m.memcpy_toio(pos, data, len(data))
    assert bytes(rec.mem[pos:pos + len(data)]) == data
    assert all(off % n == 0 for _, off, n, _ in rec.log)
    out = bytearray(len(data))
    m.memcpy_fromio(out, pos, len(data))
    assert bytes(out) == data
