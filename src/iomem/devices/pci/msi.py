"""Message signalled interrupts: the MSI and MSI-X capabilities, and a doorbell.

Mirrors QEMU's hw/pci/msi.c and hw/pci/msix.c: an interrupt is a DWORD
memory write of the message data to the message address, made by the
function as a bus master (so it needs the bus-master bit, and whatever
decodes that address -- an interrupt controller's doorbell -- turns it into
an interrupt).  :class:`MsiDoorbell` is such a decoder for boards: the x86
local APIC's 0xfee00000 window or an arm64 GICv2m frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ...phys import AccessRules
from ..base import MmioDevice
from . import regs as R
from .config import ConfigError

if TYPE_CHECKING:
    from .function import PciFunction


def _msi_cap_size(flags: int) -> int:
    if flags & R.PCI_MSI_FLAGS_MASKBIT:
        return 0x18 if flags & R.PCI_MSI_FLAGS_64BIT else 0x14
    return 0x0E if flags & R.PCI_MSI_FLAGS_64BIT else 0x0A


class MsiCapability:
    """The MSI capability of one function: 1-32 vectors, 32/64-bit, optional masking."""

    def __init__(self, function: PciFunction, vectors: int = 1, address64: bool = True,
                 per_vector_mask: bool = False, offset: int | None = None) -> None:
        if vectors < 1 or vectors > R.PCI_MSI_VECTORS_MAX or vectors & (vectors - 1):
            raise ConfigError(f"MSI vectors must be a power of two from 1 to 32, not {vectors}")
        self.function = function
        cfg = function.config
        flags = (vectors.bit_length() - 1) << 1
        if address64:
            flags |= R.PCI_MSI_FLAGS_64BIT
        if per_vector_mask:
            flags |= R.PCI_MSI_FLAGS_MASKBIT
        self.size = _msi_cap_size(flags)
        self.offset = pos = cfg.add_capability(R.PCI_CAP_ID_MSI, self.size, offset)
        self.address64 = address64
        self.per_vector_mask = per_vector_mask
        self.max_vectors = vectors
        cfg.set_word(pos + R.PCI_MSI_FLAGS, flags)
        cfg.set_wmask(pos + R.PCI_MSI_FLAGS, 2, R.PCI_MSI_FLAGS_QSIZE | R.PCI_MSI_FLAGS_ENABLE)
        cfg.set_wmask(pos + R.PCI_MSI_ADDRESS_LO, 4, 0xFFFFFFFC)
        if address64:
            cfg.set_wmask(pos + R.PCI_MSI_ADDRESS_HI, 4, 0xFFFFFFFF)
        cfg.set_wmask(self._data_off, 2, 0xFFFF)
        if per_vector_mask:
            cfg.set_wmask(self._mask_off, 4, 0xFFFFFFFF >> (R.PCI_MSI_VECTORS_MAX - vectors))

    @property
    def _data_off(self) -> int:
        return self.offset + (R.PCI_MSI_DATA_64 if self.address64 else R.PCI_MSI_DATA_32)

    @property
    def _mask_off(self) -> int:
        return self.offset + (R.PCI_MSI_MASK_64 if self.address64 else R.PCI_MSI_MASK_32)

    @property
    def _pending_off(self) -> int:
        return self.offset + (R.PCI_MSI_PENDING_64 if self.address64 else R.PCI_MSI_PENDING_32)

    @property
    def flags(self) -> int:
        return self.function.config.get_word(self.offset + R.PCI_MSI_FLAGS)

    @property
    def enabled(self) -> bool:
        return bool(self.flags & R.PCI_MSI_FLAGS_ENABLE)

    @property
    def vectors(self) -> int:
        """Vectors software enabled (Multiple Message Enable)."""
        return 1 << ((self.flags & R.PCI_MSI_FLAGS_QSIZE) >> 4)

    @property
    def mask(self) -> int:
        return self.function.config.get_long(self._mask_off) if self.per_vector_mask else 0

    @property
    def pending(self) -> int:
        return self.function.config.get_long(self._pending_off) if self.per_vector_mask else 0

    def message(self, vector: int = 0) -> tuple[int, int]:
        """(address, data) of ``vector``: the low data bits carry the vector number."""
        cfg = self.function.config
        address = cfg.get_long(self.offset + R.PCI_MSI_ADDRESS_LO)
        if self.address64:
            address |= cfg.get_long(self.offset + R.PCI_MSI_ADDRESS_HI) << 32
        data = cfg.get_word(self._data_off)
        n = self.vectors
        if n > 1:
            data = (data & ~(n - 1)) | vector
        return address, data

    def is_masked(self, vector: int) -> bool:
        return bool(self.mask & (1 << vector))

    def notify(self, vector: int = 0) -> None:
        """Signal ``vector``: a masked vector only sets its pending bit."""
        if not 0 <= vector < self.vectors:
            raise ValueError(f"MSI vector {vector} is not enabled ({self.vectors} enabled)")
        if self.is_masked(vector):
            self.function.config.set_bits(self._pending_off, 4, 1 << vector)
            return
        address, data = self.message(vector)
        self.function.send_msi(address, data)

    def write_config(self, offset: int, size: int) -> None:
        """After a config write: enabling MSI silences INTx; MME is clamped; unmasked
        pending vectors fire (QEMU's msi_write_config)."""
        if offset + size <= self.offset or offset >= self.offset + self.size:
            return
        if not self.enabled:
            return
        self.function.deassert_intx()
        cfg = self.function.config
        flags = self.flags
        mme = (flags & R.PCI_MSI_FLAGS_QSIZE) >> 4
        mmc = (flags & R.PCI_MSI_FLAGS_QMASK) >> 1
        if mme > mmc:
            cfg.set_word(self.offset + R.PCI_MSI_FLAGS,
                         (flags & ~R.PCI_MSI_FLAGS_QSIZE) | (mmc << 4))
        if not self.per_vector_mask:
            return
        n = self.vectors
        pending = self.pending & (0xFFFFFFFF >> (R.PCI_MSI_VECTORS_MAX - n))
        cfg.set_long(self._pending_off, pending)
        for vector in range(n):
            if pending & (1 << vector) and not self.is_masked(vector):
                cfg.clear_bits(self._pending_off, 4, 1 << vector)
                self.notify(vector)

    def reset(self) -> None:
        cfg = self.function.config
        pos = self.offset
        cfg.clear_bits(pos + R.PCI_MSI_FLAGS, 2, R.PCI_MSI_FLAGS_QSIZE | R.PCI_MSI_FLAGS_ENABLE)
        cfg.set_long(pos + R.PCI_MSI_ADDRESS_LO, 0)
        if self.address64:
            cfg.set_long(pos + R.PCI_MSI_ADDRESS_HI, 0)
        cfg.set_word(self._data_off, 0)
        if self.per_vector_mask:
            cfg.set_long(self._mask_off, 0)
            cfg.set_long(self._pending_off, 0)


class _TableOps:
    """The MSI-X vector table as the bus sees it (4- and 8-byte accesses)."""

    rules = AccessRules(valid_sizes=frozenset({4, 8}), impl_sizes=frozenset({4}))

    def __init__(self, msix: MsixCapability) -> None:
        self.msix = msix

    def read(self, offset: int, size: int) -> int:
        return int.from_bytes(self.msix.table[offset:offset + 4], "little")

    def write(self, offset: int, size: int, value: int) -> None:
        vector = offset // R.PCI_MSIX_ENTRY_SIZE
        was = self.msix.is_masked(vector)
        self.msix.table[offset:offset + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little")
        self.msix._mask_update(vector, was)


class _PbaOps:
    """The MSI-X pending bit array: read-only."""

    rules = AccessRules(valid_sizes=frozenset({4, 8}), impl_sizes=frozenset({4}))

    def __init__(self, msix: MsixCapability) -> None:
        self.msix = msix

    def read(self, offset: int, size: int) -> int:
        return int.from_bytes(self.msix.pba[offset:offset + 4].ljust(4, b"\0"), "little")

    def write(self, offset: int, size: int, value: int) -> None:
        return None


class MsixCapability:
    """The MSI-X capability: a vector table and a pending bit array inside BARs."""

    def __init__(self, function: PciFunction, vectors: int, table_bar: int,
                 table_offset: int, pba_bar: int, pba_offset: int,
                 offset: int | None = None) -> None:
        if not 1 <= vectors <= R.PCI_MSIX_FLAGS_QSIZE + 1:
            raise ConfigError(f"MSI-X vectors must be 1 to 2048, not {vectors}")
        table_size = vectors * R.PCI_MSIX_ENTRY_SIZE
        pba_size = ((vectors + 63) // 64) * 8
        for bar, off, sz, what in ((table_bar, table_offset, table_size, "table"),
                                   (pba_bar, pba_offset, pba_size, "PBA")):
            b = function.bars.get(bar)
            if b is None or b.kind.is_io:
                raise ConfigError(f"MSI-X {what} needs memory BAR {bar} registered first")
            if off & 7 or off + sz > b.size:
                raise ConfigError(f"MSI-X {what} [0x{off:x}, +0x{sz:x}) does not fit BAR {bar}")
        if table_bar == pba_bar and not (table_offset + table_size <= pba_offset
                                         or pba_offset + pba_size <= table_offset):
            raise ConfigError("MSI-X table and PBA overlap")
        self.function = function
        self.vectors = vectors
        cfg = function.config
        self.offset = pos = cfg.add_capability(R.PCI_CAP_ID_MSIX, R.PCI_CAP_MSIX_SIZEOF, offset)
        cfg.set_word(pos + R.PCI_MSIX_FLAGS, vectors - 1)
        cfg.set_long(pos + R.PCI_MSIX_TABLE, table_offset | table_bar)
        cfg.set_long(pos + R.PCI_MSIX_PBA, pba_offset | pba_bar)
        cfg.set_wmask(pos + R.PCI_MSIX_FLAGS, 2, R.PCI_MSIX_FLAGS_ENABLE
                      | R.PCI_MSIX_FLAGS_MASKALL)
        self.table = bytearray(table_size)
        self.pba = bytearray(pba_size)
        self.function_masked = True
        self._mask_all()
        name = function.name
        function.bars[table_bar].add_subregion(table_offset, f"{name}-msix-table", table_size,
                                               _TableOps(self))
        function.bars[pba_bar].add_subregion(pba_offset, f"{name}-msix-pba", pba_size,
                                             _PbaOps(self))

    @property
    def control(self) -> int:
        return self.function.config.get_word(self.offset + R.PCI_MSIX_FLAGS)

    @property
    def enabled(self) -> bool:
        return bool(self.control & R.PCI_MSIX_FLAGS_ENABLE)

    def entry(self, vector: int) -> tuple[int, int, int]:
        """(address, data, vector control) of table entry ``vector``."""
        e = self.table[vector * 16:vector * 16 + 16]
        return (int.from_bytes(e[0:8], "little"), int.from_bytes(e[8:12], "little"),
                int.from_bytes(e[12:16], "little"))

    def _vector_masked(self, vector: int, function_masked: bool) -> bool:
        ctrl = self.table[vector * 16 + R.PCI_MSIX_ENTRY_VECTOR_CTRL]
        return function_masked or bool(ctrl & R.PCI_MSIX_ENTRY_CTRL_MASKBIT)

    def is_masked(self, vector: int) -> bool:
        return self._vector_masked(vector, self.function_masked)

    def is_pending(self, vector: int) -> bool:
        return bool(self.pba[vector // 8] & (1 << (vector % 8)))

    def _mask_update(self, vector: int, was_masked: bool) -> None:
        if self.is_masked(vector) == was_masked:
            return
        if not self.is_masked(vector) and self.is_pending(vector):
            self.pba[vector // 8] &= ~(1 << (vector % 8)) & 0xFF
            self.notify(vector)

    def _mask_all(self) -> None:
        for v in range(self.vectors):
            was = self.is_masked(v)
            self.table[v * 16 + R.PCI_MSIX_ENTRY_VECTOR_CTRL] |= R.PCI_MSIX_ENTRY_CTRL_MASKBIT
            self._mask_update(v, was)

    def notify(self, vector: int) -> None:
        """Signal ``vector``; a masked vector sets its pending bit instead."""
        if not 0 <= vector < self.vectors:
            return
        if self.is_masked(vector):
            self.pba[vector // 8] |= 1 << (vector % 8)
            return
        address, data, _ctrl = self.entry(vector)
        self.function.send_msi(address, data)

    def write_config(self, offset: int, size: int) -> None:
        """After a config write touching the control byte: update the function mask,
        silence INTx, deliver what the unmask released (QEMU's msix_write_config)."""
        ctrl_byte = self.offset + R.PCI_MSIX_FLAGS + 1
        if not offset <= ctrl_byte < offset + size:
            return
        was = self.function_masked
        self.function_masked = (not self.enabled) or bool(self.control & R.PCI_MSIX_FLAGS_MASKALL)
        if not self.enabled:
            return
        self.function.deassert_intx()
        if self.function_masked == was:
            return
        for v in range(self.vectors):
            self._mask_update(v, self._vector_masked(v, was))

    def reset(self) -> None:
        self.pba[:] = bytes(len(self.pba))
        self.function.config.clear_bits(self.offset + R.PCI_MSIX_FLAGS, 2,
                                        R.PCI_MSIX_FLAGS_ENABLE | R.PCI_MSIX_FLAGS_MASKALL)
        self.function_masked = True
        self.table[:] = bytes(len(self.table))
        self._mask_all()


class MsiDoorbell(MmioDevice):
    """An interrupt controller's MSI doorbell: a DWORD write here is an interrupt.

    ``decode(offset, data)`` names the interrupt line a message raises (or None
    to drop it); the line is pulsed, since a message is an edge.  Every
    message is kept in ``messages`` as (address, data).
    """

    name = "msi-doorbell"
    size = 0x1000
    rules = AccessRules(valid_sizes=frozenset({4}))

    def __init__(self, name: str | None = None, size: int | None = None,
                 decode: Callable[[int, int], int | None] | None = None) -> None:
        super().__init__(name)
        if size is not None:
            self.size = size
        self.decode = decode or (lambda offset, data: data & 0xFF)
        self.messages: list[tuple[int, int]] = []

    @classmethod
    def x86_apic(cls) -> MsiDoorbell:
        """The x86 MSI window at 0xfee00000 (QEMU's ``apic-msi``): data bits 7:0 are
        the vector; the line pulsed is the vector's number."""
        return cls("apic-msi", 0x100000, lambda offset, data: data & 0xFF)

    @classmethod
    def gicv2m(cls) -> MsiDoorbell:
        """An arm64 GICv2m frame (``virt`` maps one at 0x08020000): a write of an SPI's
        interrupt ID to MSI_SETSPI_NS (offset 0x40) raises it."""
        return cls("gicv2m", 0x1000,
                   lambda offset, data: (data & 0x3FF) if offset == 0x40 else None)

    def read(self, offset: int, size: int) -> int:
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        base = self.regions[0].base if self.regions else 0
        self.messages.append((base + offset, value))
        irq = self.decode(offset, value)
        if irq is not None and self.machine is not None:
            self.machine.irq(irq).pulse()
