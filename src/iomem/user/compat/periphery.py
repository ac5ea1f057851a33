"""python-periphery's ``periphery.MMIO`` (2.x) on iomem.

Same constructor ``MMIO(physaddr, size, path="/dev/mem")``, same methods
(``read32/16/8``, ``read(offset, length)``, ``write32/16/8``,
``write(offset, data)``, ``close``), properties (``base``, ``size``,
``pointer``, ``mapping``), ``str()``, context manager, and errors
(:class:`MMIOError` for opening and mapping, TypeError/ValueError for bad
arguments). What changes: each ``readN``/``writeN`` is one aligned access
through a cached typed view instead of a ctypes object per access; a
misaligned offset is a ValueError instead of a torn access; ``read``/``write``
of bytes copy with aligned chunks (as ``memcpy_fromio`` does) instead of a
slice; and mapping /dev/mem for a range a kernel driver holds is refused
(``force=True`` to insist), with the reason in the MMIOError.
"""

from __future__ import annotations

import ctypes
from typing import Any

from ...host.devmem import DevMemBackend
from ..errors import MapError
from ..mmio import Mmio


class MMIOError(IOError):
    """Base class for MMIO errors (periphery's type, so ``except MMIOError`` works)."""


class MMIO:
    """Physical memory through /dev/mem (or ``path``, e.g. /dev/gpiomem)."""

    def __init__(self, physaddr: int, size: int, path: str = "/dev/mem", *,
                 force: bool = False) -> None:
        self._mmio: Mmio | None = None
        if not isinstance(physaddr, int):
            raise TypeError("Invalid physaddr type, should be integer.")
        if not isinstance(size, int):
            raise TypeError("Invalid size type, should be integer.")
        self._physaddr = physaddr
        self._size = size
        try:
            window = DevMemBackend(physaddr, size, path=path).map(write=True, force=force)
        except MapError as e:
            raise MMIOError(e.errno, f"Mapping {path}: {e}") from None
        except ValueError as e:
            raise MMIOError(22, f"Mapping {path}: {e}") from None
        self._mmio = Mmio(window)

    def __del__(self) -> None:
        self.close()

    def __enter__(self) -> MMIO:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _m(self) -> Mmio:
        if self._mmio is None:
            raise MMIOError(9, "MMIO is closed")
        return self._mmio

    def _closed(self) -> Any:
        raise MMIOError(9, "MMIO is closed")

    @staticmethod
    def _offset(offset: object) -> int:
        if not isinstance(offset, int):
            raise TypeError("Invalid offset type, should be integer.")
        return offset

    def read(self, offset: int, length: int) -> bytes:
        buf = bytearray(length)
        self._m().memcpy_fromio(buf, self._offset(offset), length)
        return bytes(buf)

    def write(self, offset: int, data: Any) -> None:
        offset = self._offset(offset)
        if not isinstance(data, (bytes, bytearray, list)):
            raise TypeError("Invalid data type, expected bytes, bytearray, or list.")
        raw = bytes(bytearray(data))
        self._m().memcpy_toio(offset, raw, len(raw))

    def close(self) -> None:
        """Unmap the region (views taken through ``mapping`` keep their pages)."""
        if self._mmio is not None:
            self._mmio.close()
            self._mmio = None

    # properties
    @property
    def base(self) -> int:
        return self._physaddr

    @property
    def size(self) -> int:
        return self._size

    @property
    def mapping(self) -> Any:
        """The underlying mmap (None once closed)."""
        return None if self._mmio is None else self._mmio._shared.window.buffer

    @property
    def pointer(self) -> ctypes.c_void_p:
        """A ctypes void pointer to ``base`` in the mapping."""
        m = self._m()
        w = m._shared.window
        cell = ctypes.c_uint8.from_buffer(w.buffer, w.delta)
        return ctypes.cast(ctypes.pointer(cell), ctypes.c_void_p)

    @property
    def mmio(self) -> Mmio:
        """The iomem accessor object underneath (the whole kernel accessor family)."""
        return self._m()

    def __str__(self) -> str:
        return f"MMIO 0x{self.base:08x} (size={self.size:d})"


def _make(bits: int, is_write: bool) -> Any:
    """periphery's readN/writeN: its argument checks, then one iomem access."""
    accessor = {8: "b", 16: "w", 32: "l"}[bits]
    limit = (1 << bits) - 1
    if is_write:
        store = getattr(Mmio, "write" + accessor)

        def write(self: MMIO, offset: int, value: int) -> None:
            if not isinstance(offset, int):
                raise TypeError("Invalid offset type, should be integer.")
            if not isinstance(value, int):
                raise TypeError("Invalid value type, should be integer.")
            if value < 0 or value > limit:
                raise ValueError("Value out of bounds.")
            store(self._mmio or self._closed(), value, offset)
        fn = write
    else:
        load = getattr(Mmio, "read" + accessor)

        def read(self: MMIO, offset: int) -> int:
            if not isinstance(offset, int):
                raise TypeError("Invalid offset type, should be integer.")
            return load(self._mmio or self._closed(), offset)
        fn = read  # type: ignore[assignment]
    fn.__name__ = fn.__qualname__ = f"{'write' if is_write else 'read'}{bits}"
    fn.__doc__ = (f"{'Write' if is_write else 'Read'} {bits} bits at ``offset`` (one aligned "
                  f"{bits}-bit access).")
    return fn


for _bits in (8, 16, 32):
    setattr(MMIO, f"read{_bits}", _make(_bits, False))
    setattr(MMIO, f"write{_bits}", _make(_bits, True))
