"""PYNQ's ``pynq.MMIO`` (the 2.x API: ``read(offset, length, word_order)``) on iomem.

``MMIO(base_addr, length=4, debug=False, device=None)`` maps
``[base_addr, base_addr + length)`` through /dev/mem; ``read(offset=0,
length=4, word_order='little')`` reads the 32-bit word at a 4-byte aligned
offset (``length`` 1 or 2 masks it, 8 joins two words in ``word_order``, as
PYNQ does); ``write(offset, data)`` stores an int as one 32-bit word, or
bytes (a multiple of 4 long) word by word; ``array`` is a numpy ``uint32``
view. PYNQ's errors are kept: ValueError for a negative offset or a wrong
length or data type, MemoryError for a misaligned offset or byte count.
What changes: every word is one aligned 32-bit access through iomem's
accessor, values must fit 32 bits, and a range a kernel driver holds is not
mapped for writing unless ``force=True``.
"""

from __future__ import annotations

from typing import Any

from ...host.devmem import DevMemBackend
from ..mmio import Mmio


class MMIO:
    """Registers of an IP block (or any physical range) for PYNQ-style scripts."""

    def __init__(self, base_addr: int, length: int = 4, debug: bool = False,
                 device: Any = None, *, force: bool = False, path: str = "/dev/mem") -> None:
        if base_addr < 0 or length < 0:
            raise ValueError("Base address or length cannot be negative.")
        self.base_addr = base_addr
        self.length = length
        self.debug = debug
        self.device = device
        self._mmio = Mmio(DevMemBackend(base_addr, max(length, 4), path=path)
                          .map(write=True, force=force))
        self._array: Any = None
        self._debug("MMIO(address, size) = ({0:x}, {1:x} bytes).", base_addr, length)

    def _debug(self, fmt: str, *args: Any) -> None:
        if self.debug:
            print(f"MMIO Debug: {fmt.format(*args)}")

    @property
    def array(self) -> Any:
        """A numpy ``uint32`` view of the range (element stores are 32-bit stores)."""
        if self._array is None:
            self._array = self._mmio.array("u4", 0, self.length // 4)
        return self._array

    @property
    def mmio(self) -> Mmio:
        """The iomem accessor object underneath."""
        return self._mmio

    def read(self, offset: int = 0, length: int = 4, word_order: str = "little") -> int:
        if length not in (1, 2, 4, 8):
            raise ValueError("MMIO currently only supports 1, 2, 4 and 8-byte reads.")
        if offset < 0:
            raise ValueError("Offset cannot be negative.")
        if length == 8 and word_order not in ("big", "little"):
            raise ValueError("MMIO only supports big and little endian.")
        if offset % 4:
            raise MemoryError("Unaligned read: offset must be multiple of 4.")
        self._debug("Reading {0} bytes from offset {1:x}", length, offset)
        m = self._mmio
        if length == 8:
            if word_order == "little":
                return m.lo_hi_readq(offset)
            return (m.readl(offset) << 32) | m.readl(offset + 4)
        return m.readl(offset) & ((1 << (8 * length)) - 1)

    def write(self, offset: int, data: int | bytes) -> None:
        if offset < 0:
            raise ValueError("Offset cannot be negative.")
        if offset % 4:
            raise MemoryError("Unaligned write: offset must be multiple of 4.")
        m = self._mmio
        if type(data) is int:
            self._debug("Writing 4 bytes to offset {0:x}: {1:x}", offset, data)
            m.writel(data, offset)
        elif type(data) is bytes:
            if len(data) % 4:
                raise MemoryError("Unaligned write: data length must be multiple of 4.")
            words = memoryview(data).cast("I")
            for i, word in enumerate(words):
                m.writel(word, offset + 4 * i)
        else:
            raise ValueError("Data type must be int or bytes.")

    def close(self) -> None:
        """Not in PYNQ (its mappings live as long as the object); here for ``with`` users."""
        self._array = None
        self._mmio.close()

    def __enter__(self) -> MMIO:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
