"""Drop-in compatibility: scripts for python-periphery's and PYNQ's MMIO run on iomem.

periphery 2.x maps any ``path`` (meant for /dev/gpiomem), so both it and the
compat class map the same temporary file and must agree on every answer and
every error type; where iomem is stricter (misaligned offsets) the test says so.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from iomem.user import Mmio
from iomem.user.compat import periphery as compat_periphery
from iomem.user.compat import pynq as compat_pynq

SIZE = 0x2000


@pytest.fixture
def regfile(tmp_path: Path) -> str:
    path = tmp_path / "regs.bin"
    path.write_bytes(bytes(range(256)) * (SIZE // 256))
    return str(path)


def _both(regfile: str, base: int = 0, size: int = SIZE):
    periphery = pytest.importorskip("periphery")
    return periphery.MMIO(base, size, path=regfile), compat_periphery.MMIO(base, size,
                                                                           path=regfile)


def test_periphery_answers_match(regfile: str) -> None:
    real, ours = _both(regfile)
    with real, ours:
        for off in (0, 4, 0x10, 0x1FFC):
            assert ours.read32(off) == real.read32(off)
            assert ours.read16(off + 2) == real.read16(off + 2)
            assert ours.read8(off + 1) == real.read8(off + 1)
        assert ours.read(3, 17) == real.read(3, 17)
        ours.write32(0x100, 0xDEADBEEF)
        assert real.read32(0x100) == 0xDEADBEEF
        ours.write16(0x104, 0x1234)
        ours.write8(0x106, 0x56)
        ours.write(0x107, [0x78])
        assert real.read(0x104, 4) == bytes([0x34, 0x12, 0x56, 0x78])
        ours.write(0x200, b"hello, iomem")
        ours.write(0x210, bytearray(b"\x01\x02"))
        assert real.read(0x200, 12) == b"hello, iomem"
        assert (ours.base, ours.size) == (real.base, real.size)
        assert str(ours) == str(real) == "MMIO 0x00000000 (size=8192)"
        assert ctypes.cast(ours.pointer, ctypes.POINTER(ctypes.c_uint32))[0x40] == 0xDEADBEEF
        assert ours.mapping is not None


def test_periphery_errors_match(regfile: str) -> None:
    real, ours = _both(regfile)
    with real, ours:
        for obj in (real, ours):
            with pytest.raises(TypeError):
                obj.read32("0")
            with pytest.raises(ValueError):
                obj.read32(SIZE)
            with pytest.raises(ValueError):
                obj.write32(0, 1 << 32)
            with pytest.raises(ValueError):
                obj.write8(0, -1)
            with pytest.raises(TypeError):
                obj.write32(0, 1.5)
            with pytest.raises(TypeError):
                obj.write(0, "text")
    with pytest.raises(TypeError):
        compat_periphery.MMIO("0", 4, path=regfile)
    with pytest.raises(compat_periphery.MMIOError) as e:
        compat_periphery.MMIO(0, 4, path=regfile + ".missing")
    assert e.value.errno == 2 and "does not exist" in str(e.value)


def test_periphery_gains_alignment_checks(regfile: str) -> None:
    real, ours = _both(regfile)
    with real, ours:
        real.read32(2)  # periphery makes a torn access
        with pytest.raises(ValueError, match="not 4-byte aligned"):
            ours.read32(2)
        assert isinstance(ours.mmio, Mmio)
        assert ours.mmio.readq(8) == int.from_bytes(bytes(range(8, 16)), "little")


def test_periphery_unaligned_base(regfile: str) -> None:
    real, ours = _both(regfile, base=0x1010, size=0x20)
    with real, ours:
        assert ours.read32(0) == real.read32(0) == int.from_bytes(bytes(range(16, 20)), "little")
        with pytest.raises(ValueError):
            ours.read32(0x20)
    ours.close()
    ours.close()
    with pytest.raises(compat_periphery.MMIOError):
        ours.read32(0)
    assert ours.mapping is None


def test_pynq_read_write(regfile: str) -> None:
    m = compat_pynq.MMIO(0x1000, 0x100, path=regfile)
    assert m.base_addr == 0x1000 and m.length == 0x100
    assert m.read(0) == int.from_bytes(bytes([0, 1, 2, 3]), "little")
    assert m.read(4, 1) == 4 and m.read(4, 2) == 0x0504
    m.write(0x10, 0x11223344)
    m.write(0x14, 0x55667788)
    assert m.read(0x10, 8) == 0x5566778811223344
    assert m.read(0x10, 8, word_order="big") == 0x1122334455667788
    m.write(0x20, (0xAABBCCDD).to_bytes(4, "little") + (0x01020304).to_bytes(4, "little"))
    assert [m.read(0x20), m.read(0x24)] == [0xAABBCCDD, 0x01020304]
    np = pytest.importorskip("numpy")
    assert m.array.dtype == np.uint32 and m.array[4] == 0x11223344
    m.array[5] = 7
    assert m.read(0x14) == 7
    assert isinstance(m.mmio, Mmio)
    m.close()


def test_pynq_errors(regfile: str) -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        compat_pynq.MMIO(-1, 4, path=regfile)
    with compat_pynq.MMIO(0, 0x40, path=regfile) as m:
        with pytest.raises(MemoryError, match="Unaligned read"):
            m.read(2)
        with pytest.raises(ValueError, match="1, 2, 4 and 8-byte reads"):
            m.read(0, 3)
        with pytest.raises(ValueError, match="big and little endian"):
            m.read(0, 8, word_order="middle")
        with pytest.raises(ValueError, match="Offset cannot be negative"):
            m.read(-4)
        with pytest.raises(MemoryError, match="Unaligned write"):
            m.write(1, 0)
        with pytest.raises(MemoryError, match="data length must be multiple of 4"):
            m.write(0, b"abc")
        with pytest.raises(ValueError, match="Data type must be int or bytes"):
            m.write(0, 1.0)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="does not fit in 32 bits"):
            m.write(0, 1 << 32)  # PYNQ would truncate silently


def test_pynq_debug_output(regfile: str, capsys: pytest.CaptureFixture[str]) -> None:
    with compat_pynq.MMIO(0x40, 8, debug=True, path=regfile) as m:
        m.read(4)
    assert capsys.readouterr().out.splitlines() == [
        "MMIO Debug: MMIO(address, size) = (40, 8 bytes).",
        "MMIO Debug: Reading 4 bytes from offset 4"]
