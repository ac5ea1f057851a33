"""A PCI-to-PCI bridge: the type-1 header, forwarding windows and a secondary bus.

Mirrors QEMU's hw/pci/pci_bridge.c: the bus-number registers route type-1
config cycles; the I/O, memory and prefetchable windows (base/limit pairs,
with their write masks from ``pci_init_mask_bridge``) decide which CPU
accesses reach the secondary bus, and only while the bridge's own command
register enables I/O or memory decode; a 0->1 write of the secondary bus
reset bit resets everything below.

A BAR behind a bridge is reachable when it lies wholly inside a window of
every bridge above it.  (QEMU clips a BAR that straddles a window edge; no
kernel programs that, and the model leaves such a BAR unreachable.)  VGA
and ISA forwarding are not modelled.
"""

from __future__ import annotations

from . import regs as R
from .bus import PciBus
from .function import PciFunction


class PciBridge(PciFunction):
    """A transparent PCI-PCI bridge (defaults: QEMU's ``pci-bridge``, 1b36:0001)."""

    name = "pci-bridge"
    vendor_id = 0x1B36
    device_id = 0x0001
    class_code = 0x060400
    header_type = R.PCI_HEADER_TYPE_BRIDGE

    def __init__(self, name: str | None = None, *, io32: bool = False, pref64: bool = True,
                 **ident: int | bool | None) -> None:
        super().__init__(name, **ident)
        self.io32 = io32
        self.pref64 = pref64
        self.secondary = PciBus(None, parent=self)
        cfg = self.config
        # bus numbers and secondary latency timer
        cfg.wmask[R.PCI_PRIMARY_BUS:R.PCI_PRIMARY_BUS + 4] = b"\xff" * 4
        cfg.set_wmask(R.PCI_IO_BASE, 1, R.PCI_IO_RANGE_MASK)
        cfg.set_wmask(R.PCI_IO_LIMIT, 1, R.PCI_IO_RANGE_MASK)
        cfg.set_wmask(R.PCI_MEMORY_BASE, 2, R.PCI_MEMORY_RANGE_MASK)
        cfg.set_wmask(R.PCI_MEMORY_LIMIT, 2, R.PCI_MEMORY_RANGE_MASK)
        cfg.set_wmask(R.PCI_PREF_MEMORY_BASE, 2, R.PCI_PREF_RANGE_MASK)
        cfg.set_wmask(R.PCI_PREF_MEMORY_LIMIT, 2, R.PCI_PREF_RANGE_MASK)
        if pref64:
            cfg.set_wmask(R.PCI_PREF_BASE_UPPER32, 4, 0xFFFFFFFF)
            cfg.set_wmask(R.PCI_PREF_LIMIT_UPPER32, 4, 0xFFFFFFFF)
            cfg.set_bits(R.PCI_PREF_MEMORY_BASE, 2, R.PCI_PREF_RANGE_TYPE_64)
            cfg.set_bits(R.PCI_PREF_MEMORY_LIMIT, 2, R.PCI_PREF_RANGE_TYPE_64)
        if io32:
            cfg.set_bits(R.PCI_IO_BASE, 1, R.PCI_IO_RANGE_TYPE_32)
            cfg.set_bits(R.PCI_IO_LIMIT, 1, R.PCI_IO_RANGE_TYPE_32)
            cfg.set_wmask(R.PCI_IO_BASE_UPPER16, 2, 0xFFFF)
            cfg.set_wmask(R.PCI_IO_LIMIT_UPPER16, 2, 0xFFFF)
        cfg.set_wmask(R.PCI_BRIDGE_CONTROL, 2, R.PCI_BRIDGE_CTL_PARITY | R.PCI_BRIDGE_CTL_SERR
                      | R.PCI_BRIDGE_CTL_ISA | R.PCI_BRIDGE_CTL_VGA
                      | R.PCI_BRIDGE_CTL_VGA_16BIT | R.PCI_BRIDGE_CTL_MASTER_ABORT
                      | R.PCI_BRIDGE_CTL_BUS_RESET | R.PCI_BRIDGE_CTL_FAST_BACK
                      | R.PCI_BRIDGE_CTL_DISCARD | R.PCI_BRIDGE_CTL_SEC_DISCARD
                      | R.PCI_BRIDGE_CTL_DISCARD_SERR)
        cfg.set_w1cmask(R.PCI_BRIDGE_CONTROL, 2, R.PCI_BRIDGE_CTL_DISCARD_STATUS)
        cfg.set_w1cmask(R.PCI_SEC_STATUS, 2, R.PCI_STATUS_ERROR_BITS)

    # -- plumbing ---------------------------------------------------------------------------

    def attach(self, bus: PciBus, devfn: int) -> None:
        super().attach(bus, devfn)
        self.secondary.host = bus.host

    def detach(self) -> None:
        """Unplugged: everything below goes with it."""
        for fn in list(self.secondary.devices.values()):
            self.secondary.unplug(fn)
        super().detach()

    def plug(self, function: PciFunction, slot: int, func: int = 0) -> PciFunction:
        """Plug ``function`` into the secondary bus."""
        return self.secondary.plug(function, slot, func)

    # -- windows ----------------------------------------------------------------------------

    def io_window(self) -> tuple[int, int] | None:
        """[base, limit] of the I/O window, or None when limit < base (closed)."""
        cfg = self.config
        base = (cfg.get_byte(R.PCI_IO_BASE) & R.PCI_IO_RANGE_MASK) << 8
        limit = ((cfg.get_byte(R.PCI_IO_LIMIT) & R.PCI_IO_RANGE_MASK) << 8) | 0xFFF
        if cfg.get_byte(R.PCI_IO_BASE) & R.PCI_IO_RANGE_TYPE_32:
            base |= cfg.get_word(R.PCI_IO_BASE_UPPER16) << 16
        if cfg.get_byte(R.PCI_IO_LIMIT) & R.PCI_IO_RANGE_TYPE_32:
            limit |= cfg.get_word(R.PCI_IO_LIMIT_UPPER16) << 16
        return (base, limit) if limit >= base else None

    def mem_window(self) -> tuple[int, int] | None:
        """[base, limit] of the non-prefetchable memory window, or None."""
        cfg = self.config
        base = (cfg.get_word(R.PCI_MEMORY_BASE) & R.PCI_MEMORY_RANGE_MASK) << 16
        limit = ((cfg.get_word(R.PCI_MEMORY_LIMIT) & R.PCI_MEMORY_RANGE_MASK) << 16) | 0xFFFFF
        return (base, limit) if limit >= base else None

    def pref_window(self) -> tuple[int, int] | None:
        """[base, limit] of the prefetchable memory window, or None."""
        cfg = self.config
        base = (cfg.get_word(R.PCI_PREF_MEMORY_BASE) & R.PCI_PREF_RANGE_MASK) << 16
        limit = ((cfg.get_word(R.PCI_PREF_MEMORY_LIMIT) & R.PCI_PREF_RANGE_MASK) << 16) | 0xFFFFF
        if cfg.get_word(R.PCI_PREF_MEMORY_BASE) & R.PCI_PREF_RANGE_TYPE_64:
            base |= cfg.get_long(R.PCI_PREF_BASE_UPPER32) << 32
        if cfg.get_word(R.PCI_PREF_MEMORY_LIMIT) & R.PCI_PREF_RANGE_TYPE_64:
            limit |= cfg.get_long(R.PCI_PREF_LIMIT_UPPER32) << 32
        return (base, limit) if limit >= base else None

    def forwards_down(self, io: bool, start: int, end: int) -> bool:
        """Does this bridge pass a CPU access to [start, end] to its secondary bus?"""
        cmd = self.command
        if io:
            w = self.io_window()
            return bool(cmd & R.PCI_COMMAND_IO) and w is not None and w[0] <= start and end <= w[1]
        if not cmd & R.PCI_COMMAND_MEMORY:
            return False
        return any(w is not None and w[0] <= start and end <= w[1]
                   for w in (self.mem_window(), self.pref_window()))

    # -- config cycles ----------------------------------------------------------------------

    def config_write(self, offset: int, size: int, value: int) -> None:
        old_ctl = self.config.get_word(R.PCI_BRIDGE_CONTROL)
        super().config_write(offset, size, value)
        end = offset + size

        def overlaps(start: int, n: int) -> bool:
            return offset < start + n and end > start

        if (overlaps(R.PCI_COMMAND, 2) or overlaps(R.PCI_IO_BASE, 2)
                or overlaps(R.PCI_MEMORY_BASE, 20) or overlaps(R.PCI_BRIDGE_CONTROL, 2)):
            self.secondary.refresh_mappings()
        new_ctl = self.config.get_word(R.PCI_BRIDGE_CONTROL)
        if ~old_ctl & new_ctl & R.PCI_BRIDGE_CTL_BUS_RESET:
            self.secondary.reset()

    def update_mappings(self) -> None:
        super().update_mappings()
        self.secondary.refresh_mappings()

    def reset_device(self) -> None:
        """Bus numbers, windows and bridge control to zero (QEMU's pci_bridge_reset),
        then everything below is reset."""
        cfg = self.config
        cfg.data[R.PCI_PRIMARY_BUS:R.PCI_PRIMARY_BUS + 4] = bytes(4)
        cfg.clear_bits(R.PCI_IO_BASE, 1, R.PCI_IO_RANGE_MASK)
        cfg.clear_bits(R.PCI_IO_LIMIT, 1, R.PCI_IO_RANGE_MASK)
        cfg.clear_bits(R.PCI_MEMORY_BASE, 2, R.PCI_MEMORY_RANGE_MASK)
        cfg.clear_bits(R.PCI_MEMORY_LIMIT, 2, R.PCI_MEMORY_RANGE_MASK)
        cfg.clear_bits(R.PCI_PREF_MEMORY_BASE, 2, R.PCI_PREF_RANGE_MASK)
        cfg.clear_bits(R.PCI_PREF_MEMORY_LIMIT, 2, R.PCI_PREF_RANGE_MASK)
        cfg.set_long(R.PCI_PREF_BASE_UPPER32, 0)
        cfg.set_long(R.PCI_PREF_LIMIT_UPPER32, 0)
        cfg.set_word(R.PCI_BRIDGE_CONTROL, 0)
        self.secondary.reset()
        self.secondary.refresh_mappings()
