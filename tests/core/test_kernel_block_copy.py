"""Block copies to plain RAM move in one go, with the same bytes and virtual time as
the access-by-access copy; anything watching accesses gets them one by one."""

from __future__ import annotations

import pytest

from iomem.boards import Board, boot
from iomem.kernel import ioremap, memcpy_fromio, memcpy_toio
from iomem.machine import Machine

SRAM = 0x1000_0000


def sram_kernel(arch: str):
    m = Machine("sram", arch=arch)
    m.add_ram("sram", SRAM, 0x10000)  # RAM the kernel does not know as System RAM
    return boot(Board("sram", m, arch, lambda k: None))


@pytest.mark.parametrize("arch", ["arm64", "x86_64"])
@pytest.mark.parametrize("start,count", [(0, 4096), (3, 1000), (7, 1)])
def test_fast_copy_matches_the_access_by_access_copy(arch: str, start: int, count: int) -> None:
    data = bytes((i * 7 + 3) & 0xFF for i in range(count))
    results = []
    for fast in (True, False):
        k = sram_kernel(arch)
        with k:
            base = ioremap(SRAM, 0x2000)
            if not fast:
                base._map.direct = False  # force the per-access routine
            t0 = k.machine.clock.now
            memcpy_toio(base + start, data, count)
            back = bytearray(count)
            memcpy_fromio(back, base + start, count)
            results.append((bytes(back), k.machine.clock.now - t0,
                            bytes(k.machine.memory.read_bytes(SRAM, 0x2000))))
    assert results[0] == results[1]
    assert results[0][0] == data


def test_a_recorder_still_sees_every_access() -> None:
    from iomem import trace

    k = sram_kernel("arm64")
    with k, trace.record() as rec:
        base = ioremap(SRAM, 0x1000)
        assert base._map.direct is False
        memcpy_toio(base, bytes(64), 64)
    writes = [e for e in rec.events() if getattr(e, "op", None) == "W"
              or type(e).__name__ == "Access" and getattr(e, "is_write", False)]
    assert len(writes) == 8  # 64 bytes as eight 8-byte stores on arm64


@pytest.mark.parametrize("arch", ["arm64", "x86_64"])
def test_counting_the_accesses_agrees_with_making_them(arch: str) -> None:
    from iomem.kernel.io import _copy_chunks, _n_chunks

    k = sram_kernel(arch)
    with k:
        base = ioremap(SRAM, 0x1000)
        for start in range(9):
            for count in (0, 1, 2, 3, 5, 8, 9, 17, 100):
                assert _n_chunks(base + start, count) == \
                    sum(1 for _ in _copy_chunks(base + start, count))
