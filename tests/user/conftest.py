"""Mappings the userspace tests share: anonymous, file-backed, and recording windows."""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from pathlib import Path

import pytest

from iomem.user import Mmio, Window


class Recorder:
    """A read/write-pair window over a bytearray that logs every access it gets.

    The log proves what a buffer cannot show: that an accessor made exactly one
    access, of exactly its width, at exactly its offset."""

    def __init__(self, size: int = 0x1000, widths: frozenset[int] = frozenset({1, 2, 4, 8})):
        self.mem = bytearray(size)
        self.log: list[tuple[str, int, int, int]] = []
        self.widths = widths

    def read(self, off: int, n: int) -> int:
        v = int.from_bytes(self.mem[off:off + n], "little")
        self.log.append(("r", off, n, v))
        return v

    def write(self, off: int, n: int, value: int) -> None:
        self.log.append(("w", off, n, value))
        self.mem[off:off + n] = value.to_bytes(n, "little")

    def window(self, **kw: object) -> Window:
        return Window(size=len(self.mem), name="recorder", read=self.read, write=self.write,
                      widths=self.widths, **kw)  # type: ignore[arg-type]


@pytest.fixture
def anon() -> Iterator[Mmio]:
    """A 64 KiB anonymous mapping."""
    m = Mmio.from_buffer(mmap.mmap(-1, 0x10000), name="anon")
    yield m
    m.close()


@pytest.fixture
def filemap(tmp_path: Path) -> Iterator[tuple[Mmio, Path]]:
    """A 64 KiB file-backed shared mapping, and its file (stores reach the file)."""
    path = tmp_path / "regs.bin"
    path.write_bytes(bytes(0x10000))
    with open(path, "r+b") as fh:
        mm = mmap.mmap(fh.fileno(), 0x10000)
    m = Mmio.from_buffer(mm, name="file")
    yield m, path
    m.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
