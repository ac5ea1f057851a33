"""Userspace MMIO over a real mmap: python-periphery's ``MMIO`` against a
typed-memoryview accessor, on one file-backed mapping.

periphery 2.x takes ``path=`` (meant for /dev/gpiomem and the like), so it
maps a 1 MiB temporary file at physical address 0 with no patching, and the
accessor is built over periphery's own ``mapping``: both read the very same
pages.  The accessor here is the design DESIGN.md gives for the userspace
path (cached typed memoryviews, one aligned load or store per access, with
an alignment and bounds check), and iomem's own accessor object
(:class:`iomem.user.Mmio`, the one every userspace backend returns) is
measured over the same pages; the targets are about iomem's.
"""

from __future__ import annotations

import atexit
import functools
import os
import tempfile

from harness import Case, Target

ORDER = 40

SIZE = 1 << 20
OFFSET = 0x40


class TypedViewAccessor:
    """readl/writel (and b/w/q) over a buffer through cached typed memoryviews."""

    __slots__ = ("_views", "_b", "_w", "_l", "_q")

    def __init__(self, buffer: object) -> None:
        base = memoryview(buffer)  # type: ignore[arg-type]
        self._b, self._w, self._l, self._q = base, base.cast("H"), base.cast("I"), base.cast("Q")
        self._views = (self._q, self._l, self._w, base)

    def readl(self, off: int) -> int:
        if off & 3 or off < 0:
            raise ValueError(f"readl: offset {off:#x} is not 4-byte aligned or is negative")
        return self._l[off >> 2]

    def writel(self, value: int, off: int) -> None:
        if off & 3 or off < 0:
            raise ValueError(f"writel: offset {off:#x} is not 4-byte aligned or is negative")
        self._l[off >> 2] = value

    def release(self) -> None:
        """Drop the views, so the mapping under them can be closed."""
        for v in self._views:
            v.release()


def _periphery_missing() -> str | None:
    try:
        import periphery  # noqa: F401
    except ImportError:
        return "python-periphery is not installed (pip install -e '.[test]')"
    return None


@functools.cache
def _mapping() -> dict[str, object]:
    from periphery import MMIO

    fd, path = tempfile.mkstemp(prefix="iomem-bench-", suffix=".bin")
    try:
        os.ftruncate(fd, SIZE)
        mmio = MMIO(0, SIZE, path=path)
    finally:
        os.close(fd)
        os.unlink(path)  # the mapping keeps the pages
    from iomem.user import Mmio

    acc = TypedViewAccessor(mmio.mapping)
    raw = memoryview(mmio.mapping).cast("I")
    mine = Mmio.from_buffer(mmio.mapping, name="bench file")

    def close() -> None:
        raw.release()
        acc.release()
        mine.close()
        mmio.close()
    atexit.register(close)
    return {"mmio": mmio, "acc": acc, "raw": raw, "mine": mine}


def _ns() -> dict[str, object]:
    m = _mapping()
    return {"p": m["mmio"], "acc": m["acc"], "v": m["raw"], "m": m["mine"], "off": OFFSET,
            "i": OFFSET // 4, "x": 0x5A}


_S = "userspace: 1 MiB file-backed mmap"
CASES: list[Case] = [
    Case(_S, "us.raw.read32", "raw limit: mmap memoryview.cast('I')[i]", "v[i]", _ns,
         skip=_periphery_missing),
    Case(_S, "us.raw.write32", "raw limit: mmap memoryview.cast('I')[i] = x", "v[i] = x", _ns,
         skip=_periphery_missing),
    Case(_S, "us.acc.readl", "typed-view accessor readl(off)", "acc.readl(off)", _ns,
         ref="us.raw.read32", skip=_periphery_missing),
    Case(_S, "us.acc.writel", "typed-view accessor writel(x, off)", "acc.writel(x, off)", _ns,
         ref="us.raw.write32", skip=_periphery_missing),
    Case(_S, "us.iomem.readl", "iomem.user.Mmio readl(off)", "m.readl(off)", _ns,
         ref="us.raw.read32", skip=_periphery_missing),
    Case(_S, "us.iomem.writel", "iomem.user.Mmio writel(x, off)", "m.writel(x, off)", _ns,
         ref="us.raw.write32", skip=_periphery_missing),
    Case(_S, "us.periphery.read32", "periphery MMIO.read32(off)", "p.read32(off)", _ns,
         ref="us.raw.read32", skip=_periphery_missing),
    Case(_S, "us.periphery.write32", "periphery MMIO.write32(off, x)", "p.write32(off, x)",
         _ns, ref="us.raw.write32", skip=_periphery_missing),
]

TARGETS = [
    Target("iomem Mmio readl >= 3x faster than periphery read32",
           "us.periphery.read32", "us.iomem.readl", 3.0, at_least=True),
    Target("iomem Mmio writel >= 3x faster than periphery write32",
           "us.periphery.write32", "us.iomem.writel", 3.0, at_least=True),
    Target("iomem Mmio readl within 4x of the raw typed-memoryview read",
           "us.iomem.readl", "us.raw.read32", 4.0),
    Target("iomem Mmio writel within 4x of the raw typed-memoryview write",
           "us.iomem.writel", "us.raw.write32", 4.0),
]
