"""NS16550A UART: eight byte registers spread by ``reg-shift``, accessed ``reg-io-width`` wide.

Register ``i`` sits at ``i << reg_shift`` and is accessed with
``reg_io_width``-byte accesses (the device-tree properties of the same
names), its value in the low byte; byte lanes that carry no register read
0.  ``big_endian`` is the device tree's ``big-endian`` (wide registers in
big-endian byte order).

Offsets 0 and 1 are banked by LCR.DLAB: RBR/THR and IER normally, the
divisor latch DLL/DLM with DLAB set; offset 2 is IIR on read and FCR on
write.  Because of that banking the model decodes with a small table of
its own rather than a :class:`~iomem.regs.RegisterFile`;
:func:`ns16550_map` still gives drivers a map of the DLAB=0 view.

Interrupts, highest priority first as the IIR reports them: receiver line
status (overrun, parity, framing, break; cleared by reading LSR), received
data at the FCR trigger level (cleared by reading below it), character
timeout (FIFO mode: data waiting and 4 character times without traffic),
transmitter holding register empty (cleared by reading IIR while it is the
one reported, or by writing THR; set again when the last character moves
from THR/FIFO to the shift register, or at once when ETBEI is enabled with
THR empty) and modem status (cleared
by reading MSR).  The output is high while the IIR has one pending.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..machine import Timer
from ..phys import BIG, LITTLE, AccessRules
from ..regs import Field, Register, RegisterMap
from .base import MmioDevice
from .dtprops import Props, prop_bool, prop_int
from .serial import BREAK, SerialCore

RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR = range(8)
THR, FCR, DLL, DLM = RBR, IIR, RBR, IER

LSR_DR, LSR_OE, LSR_PE, LSR_FE, LSR_BI, LSR_THRE, LSR_TEMT, LSR_FIFOE = (1 << i for i in range(8))
LSR_ERRORS = LSR_OE | LSR_PE | LSR_FE | LSR_BI
IER_RDI, IER_THRI, IER_RLSI, IER_MSI = 1, 2, 4, 8
IIR_NONE, IIR_MSI, IIR_THRI, IIR_RDI, IIR_RLSI, IIR_TIMEOUT = 0x01, 0x00, 0x02, 0x04, 0x06, 0x0C
MCR_DTR, MCR_RTS, MCR_OUT1, MCR_OUT2, MCR_LOOP = 1, 2, 4, 8, 16
MSR_DCTS, MSR_DDSR, MSR_TERI, MSR_DDCD, MSR_CTS, MSR_DSR, MSR_RI, MSR_DCD = (
    1 << i for i in range(8))

_RX_TRIGGER = (1, 4, 8, 14)
_WLEN = {0: "bits5", 1: "bits6", 2: "bits7", 3: "bits8"}
FIFO_DEPTH = 16


def ns16550_map(reg_shift: int = 0, reg_io_width: int = 1) -> RegisterMap:
    """The DLAB=0 register view at ``i << reg_shift``, each ``reg_io_width`` bytes wide."""
    w = 8 * reg_io_width

    def reg(i: int, name: str, fields: list[Field], access: str = "rw", reset: int = 0,
            desc: str = "") -> Register:
        return Register(name, i << reg_shift, fields, width=w, access=access, reset=reset,
                        description=desc)

    return RegisterMap("ns16550", [
        reg(RBR, "RBR_THR", [Field("DATA", 0, 8)], desc="receive buffer / transmit holding"),
        reg(IER, "IER", [Field("ERBFI", 0), Field("ETBEI", 1), Field("ELSI", 2),
                         Field("EDSSI", 3)], desc="interrupt enable"),
        reg(IIR, "IIR_FCR", [Field("NOINT", 0), Field("IID", 1, 3),
                             Field("FIFOS", 6, 2)], reset=IIR_NONE,
            desc="interrupt identification (read) / FIFO control (write)"),
        reg(LCR, "LCR", [Field("WLS", 0, 2, values=_WLEN),
                         Field("STB", 2), Field("PEN", 3), Field("EPS", 4), Field("STICK", 5),
                         Field("BREAK", 6), Field("DLAB", 7)], desc="line control"),
        reg(MCR, "MCR", [Field("DTR", 0), Field("RTS", 1), Field("OUT1", 2), Field("OUT2", 3),
                         Field("LOOP", 4)], desc="modem control"),
        reg(LSR, "LSR", [Field("DR", 0), Field("OE", 1), Field("PE", 2), Field("FE", 3),
                         Field("BI", 4), Field("THRE", 5), Field("TEMT", 6),
                         Field("FIFOE", 7)], access="ro", reset=0x60, desc="line status"),
        reg(MSR, "MSR", [Field("DCTS", 0), Field("DDSR", 1), Field("TERI", 2), Field("DDCD", 3),
                         Field("CTS", 4), Field("DSR", 5), Field("RI", 6), Field("DCD", 7)],
            access="ro", desc="modem status"),
        reg(SCR, "SCR", [Field("DATA", 0, 8)], desc="scratch"),
    ], size=8 << reg_shift)


class NS16550(SerialCore, MmioDevice):
    """16550A UART with 16-byte FIFOs.  ``clock_hz`` is the input clock
    (baud = clock / (16 * divisor)); a divisor of 0 gives an instant line."""

    name = "ns16550"
    compatible = ("ns16550a", "ns16550")

    def __init__(self, name: str | None = None, *, reg_shift: int = 0, reg_io_width: int = 1,
                 clock_hz: int = 1_843_200, big_endian: bool = False,
                 size: int | None = None) -> None:
        super().__init__(name)
        if reg_io_width not in (1, 2, 4):
            raise ValueError(f"reg-io-width must be 1, 2 or 4, not {reg_io_width}")
        if not 0 <= reg_shift <= 4:
            raise ValueError(f"reg-shift {reg_shift} is out of range")
        if (1 << reg_shift) < reg_io_width:
            raise ValueError(f"reg-io-width {reg_io_width} does not fit a register "
                             f"stride of {1 << reg_shift}")
        self.reg_shift = reg_shift
        self.reg_io_width = reg_io_width
        self.clock_hz = clock_hz
        self.size = max(size or 0, 8 << reg_shift)
        self.rules = AccessRules(valid_sizes=frozenset({1, 2, 4}),
                                 impl_sizes=frozenset({reg_io_width}),
                                 endian=BIG if big_endian else LITTLE)
        self.regmap = ns16550_map(reg_shift, reg_io_width)
        self._serial_init()
        self._rx: deque[tuple[int, int]] = deque()  # (char, LSR error bits)
        self._timeout_timer: Timer | None = None
        self._modem_in = 0  # MSR bits 4-7 driven from outside
        self.reset()

    @classmethod
    def from_dt(cls, props: Props, *, name: str | None = None,
                size: int | None = None) -> NS16550:
        """A model for a device-tree node (reg-shift, reg-io-width, clock-frequency,
        big-endian); ``size`` is the node's reg size."""
        return cls(name, reg_shift=prop_int(props, "reg-shift", 0) or 0,
                   reg_io_width=prop_int(props, "reg-io-width", 1) or 1,
                   clock_hz=prop_int(props, "clock-frequency", 1_843_200) or 1_843_200,
                   big_endian=prop_bool(props, "big-endian"), size=size)

    def reset(self) -> None:
        self._serial_reset()
        if self._timeout_timer is not None:
            self._timeout_timer.cancel()
        self._timeout_timer = None
        self.ier = 0
        self.lcr = 0
        self.mcr = 0
        self.scr = 0
        self.fcr = 0
        self.divisor = 0
        self._lsr_errors = 0
        self._thri_pending = False
        self._timeout = False
        self._rx.clear()
        self._msr_deltas = 0
        self._msr_seen = self._modem_status()
        self._update()

    # -- line -----------------------------------------------------------------

    @property
    def fifo_enabled(self) -> bool:
        return bool(self.fcr & 1)

    @property
    def depth(self) -> int:
        return FIFO_DEPTH if self.fifo_enabled else 1

    @property
    def baud(self) -> float:
        return self.clock_hz / (16 * self.divisor) if self.divisor else 0.0

    def _frame_ns(self) -> int:
        if not self.divisor:
            return 0
        bits = 1 + 5 + (self.lcr & 3) + ((self.lcr >> 3) & 1) + (2 if self.lcr & 4 else 1)
        return round(bits * 16 * self.divisor * 1e9 / self.clock_hz)

    def _loopback(self) -> bool:
        return bool(self.mcr & MCR_LOOP)

    def _tx_left_fifo(self) -> None:
        # THRE: the holding register (or FIFO) emptied into the shift register
        if not self._tx_fifo:
            self._thri_pending = True
            self._update()

    # -- interrupts ---------------------------------------------------------------

    def _rx_trigger(self) -> int:
        return _RX_TRIGGER[self.fcr >> 6] if self.fifo_enabled else 1

    def iir(self) -> int:
        """The interrupt identification now (without the side effect of reading IIR)."""
        fifo_bits = 0xC0 if self.fifo_enabled else 0
        ier = self.ier
        if ier & IER_RLSI and self._lsr_errors:
            return IIR_RLSI | fifo_bits
        if ier & IER_RDI and len(self._rx) >= self._rx_trigger():
            return IIR_RDI | fifo_bits
        if ier & IER_RDI and self._timeout and self._rx:
            return IIR_TIMEOUT | fifo_bits
        if ier & IER_THRI and self._thri_pending:
            return IIR_THRI | fifo_bits
        if ier & IER_MSI and self._msr_deltas:
            return IIR_MSI | fifo_bits
        return IIR_NONE | fifo_bits

    def _update(self) -> None:
        self.set_irq(not self.iir() & 1)

    # -- modem --------------------------------------------------------------------

    def _modem_status(self) -> int:
        if self._loopback():
            m = self.mcr
            return ((MSR_CTS if m & MCR_RTS else 0) | (MSR_DSR if m & MCR_DTR else 0)
                    | (MSR_RI if m & MCR_OUT1 else 0) | (MSR_DCD if m & MCR_OUT2 else 0))
        return self._modem_in

    def set_modem(self, *, cts: bool | None = None, dsr: bool | None = None,
                  ri: bool | None = None, dcd: bool | None = None) -> None:
        """Drive the modem status inputs (MSR delta bits and interrupt follow)."""
        for bit, level in ((MSR_CTS, cts), (MSR_DSR, dsr), (MSR_RI, ri), (MSR_DCD, dcd)):
            if level is not None:
                self._modem_in = (self._modem_in | bit) if level else (self._modem_in & ~bit)
        self._modem_check()

    def _modem_check(self) -> None:
        now = self._modem_status()
        changed = now ^ self._msr_seen
        self._msr_seen = now
        if changed & MSR_CTS:
            self._msr_deltas |= MSR_DCTS
        if changed & MSR_DSR:
            self._msr_deltas |= MSR_DDSR
        if changed & MSR_DCD:
            self._msr_deltas |= MSR_DDCD
        if changed & MSR_RI and not now & MSR_RI:
            self._msr_deltas |= MSR_TERI  # trailing edge of RI
        self._update()

    # -- registers ------------------------------------------------------------------

    def _lsr(self) -> int:
        v = self._lsr_errors
        if self._rx:
            v |= LSR_DR
        if not self._tx_fifo:
            v |= LSR_THRE
            if self._tx_shift is None:
                v |= LSR_TEMT
        if self.fifo_enabled and any(err for _, err in self._rx):
            v |= LSR_FIFOE
        return v

    def read_register(self, index: int) -> int:
        """A read of register ``index`` (0-7), with its side effects."""
        dlab = self.lcr & 0x80
        if index == RBR:
            if dlab:
                return self.divisor & 0xFF
            return self._read_rbr()
        if index == IER:
            return (self.divisor >> 8) if dlab else self.ier
        if index == IIR:
            v = self.iir()
            if v & 0x0F == IIR_THRI:
                self._thri_pending = False
                self._update()
            return v
        if index == LCR:
            return self.lcr
        if index == MCR:
            return self.mcr
        if index == LSR:
            v = self._lsr()
            self._lsr_errors = 0
            self._update()
            return v
        if index == MSR:
            v = self._modem_status() | self._msr_deltas
            self._msr_deltas = 0
            self._update()
            return v
        return self.scr

    def write_register(self, index: int, value: int) -> None:
        """A write of ``value`` to register ``index`` (0-7)."""
        value &= 0xFF
        dlab = self.lcr & 0x80
        if index == THR:
            if dlab:
                self.divisor = (self.divisor & 0xFF00) | value
            else:
                self._write_thr(value)
        elif index == IER:
            if dlab:
                self.divisor = (self.divisor & 0x00FF) | (value << 8)
            else:
                was = self.ier
                self.ier = value & 0x0F
                if self.ier & IER_THRI and not was & IER_THRI and not self._tx_fifo:
                    self._thri_pending = True  # THR already empty: interrupt at once
                self._update()
        elif index == FCR:
            self._write_fcr(value)
        elif index == LCR:
            self.lcr = value
        elif index == MCR:
            self.mcr = value & 0x1F
            self._modem_check()
        elif index == SCR:
            self.scr = value
        # LSR and MSR are read-only

    def _write_thr(self, value: int) -> None:
        self._thri_pending = False
        if len(self._tx_fifo) < self.depth:
            self._tx_fifo.append(value)
        self._update()
        self._tx_kick()

    def _write_fcr(self, value: int) -> None:
        if (value ^ self.fcr) & 1:
            self._rx.clear()
            self._tx_fifo.clear()
        if value & 2:
            self._rx.clear()
            self._timeout = False
        if value & 4:
            self._tx_fifo.clear()
        self.fcr = value & 0xC9
        self._update()

    def _read_rbr(self) -> int:
        if not self._rx:
            return 0
        ch, _err = self._rx.popleft()
        self._timeout = False
        self._arm_timeout()
        self._update()
        return ch

    # -- receiver -------------------------------------------------------------------

    def _rx_char(self, ch: int) -> None:
        err = 0
        if ch == BREAK:
            ch, err = 0, LSR_BI
        if len(self._rx) >= self.depth:
            self._lsr_errors |= LSR_OE
            self._update()
            return
        self._rx.append((ch, err))
        self._lsr_errors |= err
        self._timeout = False
        self._arm_timeout()
        self._update()

    def _arm_timeout(self) -> None:
        if not self.fifo_enabled or not self._rx:
            return
        clock = self.clock
        ns = 4 * self._frame_ns()
        if clock is None or ns <= 0:
            if not self._rx_line:
                self._timeout = True
            return
        if self._timeout_timer is not None:
            self._timeout_timer.cancel()
        self._timeout_timer = clock.after(ns, self._timeout_fire)

    def _timeout_fire(self) -> None:
        self._timeout_timer = None
        if self._rx:
            self._timeout = True
            self._update()

    # -- bus ----------------------------------------------------------------------

    def _decode(self, offset: int) -> int | None:
        if offset & ((1 << self.reg_shift) - 1):
            return None  # a byte lane with no register behind it
        index = offset >> self.reg_shift
        return index if index < 8 else None

    def read(self, offset: int, size: int) -> int:
        index = self._decode(offset)
        return 0 if index is None else self.read_register(index)

    def write(self, offset: int, size: int, value: int) -> None:
        index = self._decode(offset)
        if index is not None:
            self.write_register(index, value)

    def state(self) -> dict[str, Any]:
        """The registers as a driver author would like to see them, without side effects."""
        return {"IER": self.ier, "IIR": self.iir(), "LCR": self.lcr, "MCR": self.mcr,
                "LSR": self._lsr(), "MSR": self._modem_status() | self._msr_deltas,
                "SCR": self.scr, "FCR": self.fcr, "DL": self.divisor}
