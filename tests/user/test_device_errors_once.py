"""An access that a device or backend fails is made once: its exception reaches the
caller and the accessor does not retry it on another path."""

from __future__ import annotations

import pytest

from iomem.user import Mmio, MmioValueError
from iomem.user.window import Window


class Flaky:
    def __init__(self, exc: type[Exception]) -> None:
        self.exc = exc
        self.calls: list[tuple] = []

    def read(self, off: int, n: int) -> int:
        self.calls.append(("r", off, n))
        raise self.exc("device said no")

    def write(self, off: int, n: int, value: int) -> None:
        self.calls.append(("w", off, n, value))
        raise self.exc("device said no")


@pytest.mark.parametrize("exc", [IndexError, TypeError, ValueError, OverflowError, OSError])
@pytest.mark.parametrize("name", ["readl", "readl_relaxed", "ioread32be", "readq", "readb"])
def test_a_failing_read_is_made_once(exc: type[Exception], name: str) -> None:
    dev = Flaky(exc)
    m = Mmio(Window(size=0x100, name="flaky", read=dev.read, write=dev.write))
    with pytest.raises(exc, match="device said no"):
        getattr(m, name)(0x10)
    assert len(dev.calls) == 1


@pytest.mark.parametrize("exc", [IndexError, TypeError, ValueError, OverflowError, OSError])
@pytest.mark.parametrize("name", ["writel", "writel_relaxed", "iowrite32be", "writeq"])
def test_a_failing_write_is_made_once(exc: type[Exception], name: str) -> None:
    dev = Flaky(exc)
    m = Mmio(Window(size=0x100, name="flaky", read=dev.read, write=dev.write))
    with pytest.raises(exc, match="device said no"):
        getattr(m, name)(0x5A, 0x10)
    assert len(dev.calls) == 1


def test_a_bad_value_never_reaches_the_device() -> None:
    dev = Flaky(OSError)
    m = Mmio(Window(size=0x100, name="flaky", read=dev.read, write=dev.write))
    with pytest.raises(MmioValueError):
        m.writel(1 << 32, 0x10)
    with pytest.raises(MmioValueError):
        m.iowrite32be(1 << 32, 0x10)
    assert dev.calls == []


@pytest.mark.parametrize("name", ["lo_hi_writeq", "hi_lo_writeq"])
def test_a_split_write_past_the_end_writes_neither_half(name: str) -> None:
    import mmap

    from iomem.user import MmioError

    m = Mmio.from_buffer(mmap.mmap(-1, 64))
    with pytest.raises(MmioError):
        getattr(m, name)(0x1122334455667788, 60)
    assert m.readl(60) == 0
