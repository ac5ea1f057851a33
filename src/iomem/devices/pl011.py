"""ARM PrimeCell UART (PL011), after the PL011 Technical Reference Manual (DDI 0183).

What is modelled, and how:

* Transmit and receive FIFOs, 32 deep from revision r1p5 (periphid
  revision 3) and 16 deep before, as Linux's ``get_fifosize_arm`` expects;
  one-character holding registers when ``LCR_H.FEN`` is 0.
* Line timing on the virtual clock: a character takes one frame (start,
  5-8 data, parity, 1-2 stop bits) at ``UARTCLK / (16 * (IBRD + FBRD/64))``.
  The divisors take effect on the next ``LCR_H`` write, as the TRM says
  (IBRD, FBRD and LCR_H form one register latched by the LCR_H write).
* Flags: TXFE, TXFF, RXFE, RXFF, BUSY and the modem inputs.
* Interrupts: RX at the programmed FIFO level, TX on the FIFO level falling
  to the trigger level as characters leave (a transition, not a level: with
  an empty FIFO, enabling the interrupt does not raise it), receive timeout
  after 32 idle bit periods, overrun and break errors, modem status;
  IMSC/RIS/MIS/ICR; outputs 0 = UARTINTR (combined), 1 = RX, 2 = TX,
  3 = RT, 4 = MS, 5 = E.
* The transmitter runs only with ``CR.UARTEN`` and ``CR.TXE`` set, the
  receiver only with ``UARTEN`` and ``RXE`` (the reset value of CR has
  TXE|RXE but not UARTEN).  ``preconfigured=True`` starts the UART as boot
  firmware leaves it (115200 8N1, FIFOs on, enabled), for code that
  writes DR straight away as Linux's earlycon does.
* Loopback (``CR.LBE``): transmitted characters come back into the
  receive FIFO instead of the console; RTS/DTR/Out1/Out2 loop to
  CTS/DSR/DCD/RI.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..machine import Timer
from ..regs import Field, Register
from .dtprops import Props, prop_int
from .primecell import PrimeCell
from .serial import BREAK, SerialCore

# RIS/MIS/IMSC/ICR bits
RIM, CTSM, DCDM, DSRM, RX, TX, RT, FE, PE, BE, OE = (1 << i for i in range(11))
INT_MS = RIM | CTSM | DCDM | DSRM
INT_E = FE | PE | BE | OE
_IRQ_MASKS = (0x7FF, RX, TX, RT, INT_MS, INT_E)

# FR bits
FR_CTS, FR_DSR, FR_DCD, FR_BUSY, FR_RXFE, FR_TXFF, FR_RXFF, FR_TXFE, FR_RI = (
    1 << i for i in range(9))

# DR error bits (above the data byte) and the matching RSR bits
DR_FE, DR_PE, DR_BE, DR_OE = 1 << 8, 1 << 9, 1 << 10, 1 << 11

_LEVELS = (1, 2, 4, 6, 7)  # IFLS trigger levels in eighths of the FIFO


def _int_fields() -> list[Field]:
    names = ("RIM", "CTSM", "DCDM", "DSRM", "RX", "TX", "RT", "FE", "PE", "BE", "OE")
    return [Field(n, i) for i, n in enumerate(names)]


def pl011_registers() -> list[Register]:
    """The PL011 registers below the ID block (offsets from the TRM)."""
    return [
        Register("DR", 0x000, [Field("DATA", 0, 8), Field("FE", 8, access="ro"),
                               Field("PE", 9, access="ro"), Field("BE", 10, access="ro"),
                               Field("OE", 11, access="ro")],
                 description="data: write to transmit, read to receive"),
        Register("RSR", 0x004, [Field("FE", 0), Field("PE", 1), Field("BE", 2), Field("OE", 3)],
                 access="wc", description="receive status; any write (ECR) clears it"),
        Register("FR", 0x018, [Field("CTS", 0), Field("DSR", 1), Field("DCD", 2),
                               Field("BUSY", 3), Field("RXFE", 4), Field("TXFF", 5),
                               Field("RXFF", 6), Field("TXFE", 7), Field("RI", 8)],
                 access="ro", reset=FR_TXFE | FR_RXFE, description="flags"),
        Register("ILPR", 0x020, [Field("ILPDVSR", 0, 8)], description="IrDA low-power divisor"),
        Register("IBRD", 0x024, [Field("BAUD_DIVINT", 0, 16)], description="integer baud divisor"),
        Register("FBRD", 0x028, [Field("BAUD_DIVFRAC", 0, 6)],
                 description="fractional baud divisor (64ths)"),
        Register("LCR_H", 0x02C, [Field("BRK", 0), Field("PEN", 1), Field("EPS", 2),
                                  Field("STP2", 3), Field("FEN", 4),
                                  Field("WLEN", 5, 2, values={0: "bits5", 1: "bits6", 2: "bits7",
                                                              3: "bits8"}),
                                  Field("SPS", 7)], description="line control"),
        Register("CR", 0x030, [Field("UARTEN", 0), Field("SIREN", 1), Field("SIRLP", 2),
                               Field("LBE", 7), Field("TXE", 8), Field("RXE", 9),
                               Field("DTR", 10), Field("RTS", 11), Field("OUT1", 12),
                               Field("OUT2", 13), Field("RTSEN", 14), Field("CTSEN", 15)],
                 reset=0x300, description="control"),
        Register("IFLS", 0x034, [Field("TXIFLSEL", 0, 3), Field("RXIFLSEL", 3, 3)], reset=0x12,
                 description="FIFO interrupt levels (0..4 = 1/8, 1/4, 1/2, 3/4, 7/8)"),
        Register("IMSC", 0x038, _int_fields(), description="interrupt mask set/clear"),
        Register("RIS", 0x03C, _int_fields(), access="ro", description="raw interrupt status"),
        Register("MIS", 0x040, _int_fields(), access="ro", description="masked interrupt status"),
        Register("ICR", 0x044, _int_fields(), access="wo", description="interrupt clear"),
        Register("DMACR", 0x048, [Field("RXDMAE", 0), Field("TXDMAE", 1), Field("DMAONERR", 2)],
                 description="DMA control"),
    ]


class PL011(SerialCore, PrimeCell):
    """PL011 UART.  ``clock_hz`` is UARTCLK; ``revision`` the periphid revision
    (3 = r1p5, 32-deep FIFOs); ``preconfigured`` starts it enabled at 115200 8N1."""

    name = "pl011"
    compatible = ("arm,pl011", "arm,primecell")

    def __init__(self, name: str | None = None, *, clock_hz: int = 24_000_000,
                 revision: int = 3, preconfigured: bool = False) -> None:
        super().__init__(name)
        if not 0 <= revision <= 15:
            raise ValueError("revision is a 4-bit field")
        self.periphid = 0x00041011 | (revision << 20)
        self.clock_hz = clock_hz
        self.fifo_depth = 16 if revision < 3 else 32
        self.preconfigured = preconfigured
        self.regs = self._make_regs("pl011", pl011_registers(), on_read={
            "DR": self._read_dr, "FR": self._flags, "MIS": self._mis,
        }, on_write={
            "DR": self._write_dr, "LCR_H": self._write_lcrh, "CR": self._write_cr,
            "IFLS": lambda v: self._update(), "IMSC": lambda v: self._update(),
            "ICR": self._write_icr,
        })
        self._serial_init()
        self._rx: deque[int] = deque()
        self._rt_timer: Timer | None = None
        self._last_rx_ns = 0
        self._pending_oe = False
        self._divisor = 0  # 64 * IBRD + FBRD, latched by LCR_H writes
        self._modem_in = 0  # FR bits CTS/DSR/DCD/RI driven by the outside
        self._modem_seen = 0
        self._fen = False
        self.tx_overflow = 0  # characters written to a full transmit FIFO (lost)
        self.rx_dropped = 0  # characters that arrived with the receiver disabled
        self.reset()

    @classmethod
    def dt_params(cls, props: Props) -> dict[str, Any]:
        hz = prop_int(props, "clock-frequency")
        return {"clock_hz": hz} if hz else {}

    def reset(self) -> None:
        self._serial_reset()
        if self._rt_timer is not None:
            self._rt_timer.cancel()
        self._rt_timer = None
        self.regs.reset()
        self._rx.clear()
        self._pending_oe = False
        self._divisor = 0
        if self.preconfigured:
            div = self.clock_hz * 4 // 115200  # 64 * clk / (16 * baud)
            self.regs["IBRD"] = div >> 6
            self.regs["FBRD"] = div & 0x3F
            self.regs["LCR_H"] = 0x70  # 8 bits, FIFOs enabled
            self.regs["CR"] = 0x301  # UARTEN | TXE | RXE
            self._divisor = div
        self._fen = self.fifo_enabled
        self._modem_seen = self._modem_flags()
        self._update()

    # -- configuration --------------------------------------------------------

    @property
    def fifo_enabled(self) -> bool:
        return bool(self.regs["LCR_H"] & 0x10)

    @property
    def depth(self) -> int:
        return self.fifo_depth if self.fifo_enabled else 1

    @property
    def baud(self) -> float:
        """The line rate now in effect (0 when no divisor has been latched)."""
        if not self._divisor:
            return 0.0
        return self.clock_hz * 4 / self._divisor

    def _bit_ns(self) -> float:
        # one bit = 16 UARTCLK periods * (IBRD + FBRD/64) = divisor/4 / clk seconds
        return self._divisor * 1e9 / (4 * self.clock_hz) if self._divisor else 0.0

    def _frame_ns(self) -> int:
        lcr = self.regs["LCR_H"]
        bits = 1 + 5 + ((lcr >> 5) & 3) + ((lcr >> 1) & 1) + (2 if lcr & 0x08 else 1)
        return round(bits * self._bit_ns())

    def _tx_enabled(self) -> bool:
        return self.regs["CR"] & 0x101 == 0x101

    def _rx_enabled(self) -> bool:
        return self.regs["CR"] & 0x201 == 0x201

    def _loopback(self) -> bool:
        return bool(self.regs["CR"] & 0x80)

    def _trigger(self, field_shift: int) -> int:
        sel = (self.regs["IFLS"] >> field_shift) & 7
        return self.fifo_depth * _LEVELS[min(sel, 4)] // 8

    # -- interrupts -------------------------------------------------------------

    def _mis(self) -> int:
        return self.regs["RIS"] & self.regs["IMSC"]

    def _raise(self, bits: int) -> None:
        self.regs["RIS"] |= bits
        self._update()

    def _lower(self, bits: int) -> None:
        self.regs["RIS"] &= ~bits
        self._update()

    def _update(self) -> None:
        mis = self._mis()
        for i, m in enumerate(_IRQ_MASKS):
            self.set_irq(bool(mis & m), i)

    def _write_icr(self, value: int) -> None:
        self._lower(value & 0x7FF)

    # -- flags ------------------------------------------------------------------

    def _modem_flags(self) -> int:
        if not self._loopback():
            return self._modem_in
        cr = self.regs["CR"]
        fr = 0
        fr |= FR_CTS if cr & (1 << 11) else 0  # RTS -> CTS
        fr |= FR_DSR if cr & (1 << 10) else 0  # DTR -> DSR
        fr |= FR_DCD if cr & (1 << 12) else 0  # Out1 -> DCD
        fr |= FR_RI if cr & (1 << 13) else 0  # Out2 -> RI
        return fr

    def _flags(self) -> int:
        fr = self._modem_flags()
        depth = self.depth
        tx = len(self._tx_fifo)
        rx = len(self._rx)
        if self._tx_shift is not None or tx:
            fr |= FR_BUSY
        if not tx:
            fr |= FR_TXFE
        if tx >= depth:
            fr |= FR_TXFF
        if not rx:
            fr |= FR_RXFE
        if rx >= depth:
            fr |= FR_RXFF
        return fr

    def set_modem(self, *, cts: bool | None = None, dsr: bool | None = None,
                  dcd: bool | None = None, ri: bool | None = None) -> None:
        """Drive the modem status inputs; a change raises its modem interrupt."""
        for flag, level in ((FR_CTS, cts), (FR_DSR, dsr), (FR_DCD, dcd), (FR_RI, ri)):
            if level is not None:
                self._modem_in = (self._modem_in | flag) if level else (self._modem_in & ~flag)
        self._modem_check()

    def _modem_check(self) -> None:
        """Raise the modem interrupts for status inputs that changed since last seen."""
        now = self._modem_flags()
        changed = now ^ self._modem_seen
        self._modem_seen = now
        bits = 0
        for flag, irq in ((FR_CTS, CTSM), (FR_DSR, DSRM), (FR_DCD, DCDM), (FR_RI, RIM)):
            if changed & flag:
                bits |= irq
        if bits:
            self._raise(bits)

    # -- register behaviour -------------------------------------------------------

    def _write_dr(self, value: int) -> None:
        if len(self._tx_fifo) >= self.depth:
            self.tx_overflow += 1
            return
        self._tx_fifo.append(value & 0xFF)
        if len(self._tx_fifo) > self._tx_trigger():
            self._lower(TX)
        self._tx_kick()

    def _tx_trigger(self) -> int:
        return self._trigger(0) if self.fifo_enabled else 0

    def _tx_left_fifo(self) -> None:
        # the TX interrupt fires as the level falls to (or below) the trigger
        if len(self._tx_fifo) <= self._tx_trigger():
            self._raise(TX)

    def _read_dr(self) -> int:
        if not self._rx:
            return 0
        entry = self._rx.popleft()
        self.regs["RSR"] = (entry >> 8) & 0xF
        if self.fifo_enabled:
            if len(self._rx) < self._trigger(3):
                self.regs["RIS"] &= ~RX
        else:
            self.regs["RIS"] &= ~RX
        if not self._rx:
            self.regs["RIS"] &= ~RT
        self._update()
        return entry

    def _write_lcrh(self, value: int) -> None:
        self._divisor = (self.regs["IBRD"] << 6) | self.regs["FBRD"]
        fen = bool(value & 0x10)
        if fen != self._fen:
            # FIFOs switched on or off: the model starts both empty
            self._fen = fen
            self._rx.clear()
            self._tx_fifo.clear()
        self._update()

    def _write_cr(self, value: int) -> None:
        self._modem_check()  # loopback or the modem outputs may have changed
        self._tx_kick()

    # -- receiver -------------------------------------------------------------------

    def _rx_char(self, ch: int) -> None:
        if not self._rx_enabled():
            self.rx_dropped += 1
            return
        entry = ch & 0xFF
        if ch == BREAK:
            entry = DR_BE
            self.regs["RSR"] |= 0x4
            self.regs["RIS"] |= BE
        if len(self._rx) >= self.depth:
            # overrun: the character in the shift register is lost
            self._pending_oe = True
            self.regs["RSR"] |= 0x8
            self._raise(OE)
            return
        if self._pending_oe:
            entry |= DR_OE
            self._pending_oe = False
        self._rx.append(entry)
        level = self._trigger(3) if self.fifo_enabled else 1
        if len(self._rx) >= level:
            self.regs["RIS"] |= RX
        self._update()
        self._arm_timeout()

    def _arm_timeout(self) -> None:
        clock = self.clock
        timeout = round(32 * self._bit_ns())
        if clock is None or timeout <= 0:
            if self._rx and not self._rx_line:
                self._raise(RT)
            return
        self._last_rx_ns = clock.now
        if self._rt_timer is not None:
            self._rt_timer.cancel()
        self._rt_timer = clock.after(timeout, self._timeout)

    def _timeout(self) -> None:
        self._rt_timer = None
        if self._rx:
            self._raise(RT)

    @property
    def rx_level(self) -> int:
        """Characters waiting in the receive FIFO."""
        return len(self._rx)

    @property
    def tx_level(self) -> int:
        """Characters waiting in the transmit FIFO (not counting the one on the wire)."""
        return len(self._tx_fifo)
