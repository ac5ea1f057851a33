"""QEMU's educational PCI device ``edu``, register for register.

Mirrors hw/misc/edu.c as QEMU 7.2 (Debian 12's ``qemu-system``, what the VM
lab runs) builds it, and docs/specs/edu.rst.  The PCI identity is
1234:11e8 rev 0x10, class 0x00ff, subsystem 1af4:1100, INTA, one 64-bit MSI
vector without masking at 0x40, and BAR0: 1 MiB of 32-bit non-prefetchable
memory named ``edu-mmio``.

Register file (BAR0; 4- and 8-byte aligned accesses only, little-endian)::

    0x00 RO  identification 0x010000ed
    0x04 RW  liveness: reads back the bitwise NOT of what was written
    0x08 RW  factorial: write n (ignored while computing), read n! (32-bit wrap)
    0x20 RW  status: bit 0 computing (RO), bit 7 raise irq 0x1 when done
    0x24 RO  interrupt status
    0x60 WO  interrupt raise (status |= value)
    0x64 WO  interrupt acknowledge (status &= ~value)
    0x80 RW  DMA source          0x88 RW DMA destination
    0x90 RW  DMA count           0x98 RW DMA command: bit 0 start, bit 1
                                 direction (1: device -> RAM), bit 2 irq 0x100
    anything else reads all-ones and ignores writes.  Below 0x80 only 4-byte
    accesses reach a register (an 8-byte one reads all-ones, writes nothing).

Timing on the virtual clock:

- QEMU computes the factorial in a thread, so software must poll status
  bit 0 (or wait for the interrupt).  Here the result lands
  ``fact_delay_ns`` after the write (default 5 us), whatever n is.
- DMA completes on QEMU's millisecond virtual timer: at
  ``(floor(now_ms) + 100)`` ms, so 99-100 ms after the command.

Out-of-range DMA: the device buffer is [0x40000, 0x41000).  QEMU 7.2 checks
``start <= addr < end && addr + count > addr && addr + count < end`` -- an
exact 4096-byte transfer and a zero count both fail -- and then calls
``hw_error``: QEMU prints the range and aborts.  ``dma_oob="abort"`` (the
default) raises :class:`EduHardwareError` from the timer, the simulation's
version of the emulator dying.  ``dma_oob="skip"`` is newer QEMU: an
inclusive end check, the copy skipped, the command still completing (bit 0
clears, the irq fires).

QEMU's edu has no reset handler: a PCI reset clears config space (command,
BARs, MSI) but not the registers, the buffer or a running DMA.
"""

from __future__ import annotations

from ..machine import Timer
from ..phys import AccessRules
from .pci.function import BarOps, PciFunction

FACT_IRQ = 0x00000001
DMA_IRQ = 0x00000100
DMA_START = 0x40000
DMA_SIZE = 4096

STATUS_COMPUTING = 0x01
STATUS_IRQFACT = 0x80

DMA_RUN = 0x1
DMA_DIR_TO_RAM = 0x2
DMA_IRQ_ENABLE = 0x4

IDENTIFICATION = 0x010000ED
FACT_DELAY_NS = 5_000
DMA_DELAY_MS = 100
DEFAULT_DMA_MASK = (1 << 28) - 1

_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF


class EduHardwareError(RuntimeError):
    """The device hit QEMU's ``hw_error``: the real emulator aborts here."""


def factorial32(n: int) -> int:
    """``r = 1; while (n) r *= n--;`` in uint32_t: 0 from n = 34 on (34! has 2^32 in it)."""
    n &= _U32
    if n >= 34:
        return 0
    r = 1
    while n:
        r = (r * n) & _U32
        n -= 1
    return r


class EduDevice(PciFunction):
    """The edu PCI function (QEMU 7.2 behaviour)."""

    name = "edu"
    vendor_id = 0x1234
    device_id = 0x11E8
    revision = 0x10
    class_code = 0x00FF00  # PCI_CLASS_OTHERS: base class 0x00, subclass 0xff
    interrupt_pin = 1

    mmio_rules = AccessRules(valid_sizes=frozenset({4, 8}))

    def __init__(self, name: str | None = None, *, dma_mask: int = DEFAULT_DMA_MASK,
                 fact_delay_ns: int = FACT_DELAY_NS, dma_oob: str = "abort") -> None:
        if dma_oob not in ("abort", "skip"):
            raise ValueError(f"dma_oob must be 'abort' (QEMU 7.2) or 'skip' (newer QEMU), "
                             f"not {dma_oob!r}")
        super().__init__(name)
        self.dma_mask = dma_mask & _U64
        self.fact_delay_ns = fact_delay_ns
        self.dma_oob = dma_oob
        self.add_msi(vectors=1, address64=True, per_vector_mask=False)
        self.mmio = self.add_bar(0, 1 << 20, "mem32", name="edu-mmio",
                                 ops=BarOps(self.mmio_rules, self.mmio_read, self.mmio_write))
        # register state: all zeroes at power-on
        self.addr4 = 0
        self.fact = 0
        self.edu_status = 0  # register 0x20 (``status`` is the PCI status register)
        self.irq_status = 0
        self.dma_src = 0
        self.dma_dst = 0
        self.dma_cnt = 0
        self.dma_cmd = 0
        self.dma_buf = bytearray(DMA_SIZE)
        self._fact_timer: Timer | None = None
        self._dma_timer: Timer | None = None
        #: what QEMU 7.2 prints: the dma_mask clamp notice (stdout), the hw_error text
        self.log: list[str] = []

    # -- interrupts -------------------------------------------------------------------------

    def raise_irq(self, value: int) -> None:
        """irq_status |= value; then an MSI when enabled, else assert INTx."""
        self.irq_status = (self.irq_status | value) & _U32
        if self.irq_status:
            if self.msi_enabled():
                self.msi_notify(0)
            else:
                self.set_irq(1)

    def lower_irq(self, value: int) -> None:
        """irq_status &= ~value; deassert INTx once nothing is left (and no MSI)."""
        self.irq_status &= ~value & _U32
        if not self.irq_status and not self.msi_enabled():
            self.set_irq(0)

    # -- BAR0 -------------------------------------------------------------------------------

    def mmio_read(self, offset: int, size: int) -> int:
        mask = _U64 if size == 8 else _U32
        if offset < 0x80 and size != 4:
            return mask
        if offset >= 0x80 and size not in (4, 8):
            return mask
        if offset == 0x00:
            val = IDENTIFICATION
        elif offset == 0x04:
            val = self.addr4
        elif offset == 0x08:
            val = self.fact
        elif offset == 0x20:
            val = self.edu_status
        elif offset == 0x24:
            val = self.irq_status
        elif offset == 0x80:
            val = self.dma_src
        elif offset == 0x88:
            val = self.dma_dst
        elif offset == 0x90:
            val = self.dma_cnt
        elif offset == 0x98:
            val = self.dma_cmd
        else:
            val = _U64
        return val & mask

    def mmio_write(self, offset: int, size: int, value: int) -> None:
        if offset < 0x80 and size != 4:
            return
        if offset >= 0x80 and size not in (4, 8):
            return
        if offset == 0x04:
            self.addr4 = ~value & _U32
        elif offset == 0x08:
            if self.edu_status & STATUS_COMPUTING:
                return
            self.fact = value & _U32
            self.edu_status |= STATUS_COMPUTING
            self._fact_timer = self._clock().after(self.fact_delay_ns, self._fact_done)
        elif offset == 0x20:
            if value & STATUS_IRQFACT:
                self.edu_status |= STATUS_IRQFACT
            else:
                self.edu_status &= ~STATUS_IRQFACT
        elif offset == 0x60:
            self.raise_irq(value & _U32)
        elif offset == 0x64:
            self.lower_irq(value & _U32)
        elif offset in (0x80, 0x88, 0x90):
            if self.dma_cmd & DMA_RUN:
                return
            setattr(self, {0x80: "dma_src", 0x88: "dma_dst", 0x90: "dma_cnt"}[offset], value)
        elif offset == 0x98:
            if not value & DMA_RUN or self.dma_cmd & DMA_RUN:
                return
            self.dma_cmd = value
            clock = self._clock()
            if self._dma_timer is not None:
                self._dma_timer.cancel()
            due_ms = clock.now // 1_000_000 + DMA_DELAY_MS
            self._dma_timer = clock.at(due_ms * 1_000_000, self._dma_done)

    def _clock(self):
        clock = self.clock
        if clock is None:
            raise RuntimeError("edu: plug the device into a PCI host on a machine first")
        return clock

    # -- the factorial "thread" -------------------------------------------------------------

    def _fact_done(self) -> None:
        self._fact_timer = None
        self.fact = factorial32(self.fact)
        self.edu_status &= ~STATUS_COMPUTING
        if self.edu_status & STATUS_IRQFACT:
            self.raise_irq(FACT_IRQ)

    # -- the DMA engine ---------------------------------------------------------------------

    def _range_ok(self, addr: int, count: int) -> bool:
        start, end = DMA_START, DMA_START + DMA_SIZE
        xfer_end = (addr + count) & _U64
        if self.dma_oob == "abort":  # QEMU 7.2's within() test
            return start <= addr < end and xfer_end > addr and start <= xfer_end < end
        return xfer_end >= addr and addr >= start and xfer_end <= end

    def _out_of_range(self, addr: int, count: int) -> None:
        xfer_end = (addr + count) & _U64
        msg = (f"EDU: DMA range 0x{addr:016x}-0x{(xfer_end - 1) & _U64:016x} out of bounds "
               f"(0x{DMA_START:016x}-0x{DMA_START + DMA_SIZE - 1:016x})!")
        if self.dma_oob == "abort":
            self.log.append(f"qemu: hardware error: {msg}")
            raise EduHardwareError(msg)
        self.log.append(msg)

    def _dma_done(self) -> None:
        self._dma_timer = None
        cmd = self.dma_cmd
        if not cmd & DMA_RUN:
            return
        count = self.dma_cnt
        if not cmd & DMA_DIR_TO_RAM:  # RAM -> device buffer
            dst = self.dma_dst
            if self._range_ok(dst, count):
                data = self.dma_read(self._clamp(self.dma_src), count)
                self.dma_buf[dst - DMA_START:dst - DMA_START + count] = data
            else:
                self._out_of_range(dst, count)
        else:  # device buffer -> RAM
            src = self.dma_src
            if self._range_ok(src, count):
                self.dma_write(self._clamp(self.dma_dst),
                               bytes(self.dma_buf[src - DMA_START:src - DMA_START + count]))
            else:
                self._out_of_range(src, count)
        self.dma_cmd &= ~DMA_RUN
        if self.dma_cmd & DMA_IRQ_ENABLE:
            self.raise_irq(DMA_IRQ)

    def _clamp(self, addr: int) -> int:
        res = addr & self.dma_mask
        if res != addr:
            self.log.append(f"EDU: clamping DMA 0x{addr:016x} to 0x{res:016x}!")
        return res

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def computing(self) -> bool:
        return bool(self.edu_status & STATUS_COMPUTING)

    @property
    def dma_running(self) -> bool:
        return bool(self.dma_cmd & DMA_RUN)

    def detach(self) -> None:
        """Unplugged: the factorial and DMA timers stop, as QEMU's exit handler does."""
        for t in (self._fact_timer, self._dma_timer):
            if t is not None:
                t.cancel()
        self._fact_timer = self._dma_timer = None
        super().detach()


__all__ = ["EduDevice", "EduHardwareError", "factorial32", "FACT_IRQ", "DMA_IRQ",
           "DMA_START", "DMA_SIZE", "FACT_DELAY_NS", "IDENTIFICATION"]
