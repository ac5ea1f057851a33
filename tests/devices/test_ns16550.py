"""NS16550A behaviour, from the 16550 data sheet, with reg-shift and reg-io-width."""

from __future__ import annotations

import pytest

from iomem.devices import NS16550
from iomem.phys import bswap
from iomem.regs import bind_bus

RBR = THR = DLL = 0
IER = DLM = 1
IIR = FCR = 2
LCR, MCR, LSR, MSR, SCR = 3, 4, 5, 6, 7

# divisor 1 at 1.8432 MHz = 115200 baud; 8N1 = 10 bits of 16 clocks
FRAME_NS = round(10 * 16 * 1e9 / 1_843_200)


class Uart:
    """Register-index access through the bus, as the 8250 driver's serial_in/out do."""

    def __init__(self, placed, shift: int, width: int) -> None:
        self.p = placed
        self.shift = shift
        self.width = width

    def r(self, i: int) -> int:
        return self.p.r(i << self.shift, self.width)

    def w(self, i: int, v: int) -> None:
        self.p.w(i << self.shift, v, self.width)


@pytest.fixture(params=[(0, 1), (2, 4), (2, 1)], ids=["shift0-w1", "shift2-w4", "shift2-w1"])
def uart(request, place):
    shift, width = request.param
    p = place(NS16550(reg_shift=shift, reg_io_width=width))
    return Uart(p, shift, width)


def set_baud(u: Uart, divisor: int = 1, lcr: int = 0x03) -> None:
    u.w(LCR, 0x80 | lcr)
    u.w(DLL, divisor & 0xFF)
    u.w(DLM, divisor >> 8)
    u.w(LCR, lcr)


def test_reset_values(uart) -> None:
    assert (uart.r(IER), uart.r(IIR), uart.r(LCR), uart.r(MCR), uart.r(LSR), uart.r(SCR)) == (
        0, 0x01, 0, 0, 0x60, 0)


def test_layout_follows_reg_shift_and_io_width(place) -> None:
    p = place(NS16550(reg_shift=2, reg_io_width=4))
    assert p.dev.size == 32 and p.dev.rules.impl_sizes == {4}
    p.w(SCR << 2, 0x5A)
    assert p.r(SCR << 2) == 0x5A and p.r(0x1D, 1) == 0  # a lane with no register
    narrow = place(NS16550(reg_shift=2, reg_io_width=1))
    narrow.w((SCR << 2) + 1, 0x77, 1)
    assert narrow.dev.scr == 0
    with pytest.raises(ValueError, match="does not fit"):
        NS16550(reg_shift=0, reg_io_width=4)


def test_big_endian_registers(place) -> None:
    p = place(NS16550(reg_shift=2, reg_io_width=4, big_endian=True))
    assert bswap(p.r(LSR << 2), 4) == 0x60  # what ioread32be gives the driver
    p.w(SCR << 2, bswap(0xA5, 4))
    assert p.dev.scr == 0xA5


def test_dlab_banks_the_divisor_latch(uart) -> None:
    uart.w(IER, 0x05)
    set_baud(uart, 0x0102)
    assert uart.p.dev.divisor == 0x0102 and uart.p.dev.baud == pytest.approx(1_843_200 / 16 / 258)
    assert uart.r(IER) == 0x05  # DLAB clear again: IER, not DLM
    uart.w(LCR, 0x83)
    assert (uart.r(DLL), uart.r(DLM)) == (0x02, 0x01)


def test_transmit_timing_and_line_status(uart) -> None:
    set_baud(uart)
    uart.w(THR, ord("A"))
    assert uart.r(LSR) & 0x60 == 0x20  # THR empty (moved to the shifter), not TEMT
    uart.p.machine.step(FRAME_NS - 1)
    assert uart.p.dev.console == b""
    uart.p.machine.step(1)
    assert uart.p.dev.console == b"A" and uart.r(LSR) & 0x60 == 0x60


def test_instant_line_without_a_divisor(uart) -> None:
    for ch in b"ok\n":
        uart.w(THR, ch)
    assert uart.p.dev.text == "ok\n"


def test_thre_interrupt(uart) -> None:
    line = uart.p.machine.irq(32)
    uart.w(IER, 0x02)  # THR already empty: interrupt at once
    assert uart.r(IIR) == 0x02 and line.level is False  # reading IIR acknowledged it
    assert uart.r(IIR) == 0x01
    set_baud(uart)
    uart.w(THR, ord("x"))  # straight into the shift register: THR empty again
    assert line.level and uart.r(IIR) == 0x02
    uart.w(THR, ord("y"))  # waits in THR while 'x' is on the wire
    assert uart.r(IIR) == 0x01 and not line.level
    uart.p.machine.step(FRAME_NS)  # 'y' moves to the shift register
    assert line.level and uart.r(IIR) == 0x02 and uart.r(LSR) & 0x60 == 0x20


def test_receive_and_data_ready_interrupt(uart) -> None:
    uart.w(IER, 0x01)
    uart.p.dev.inject(b"hi")
    lsr = uart.r(LSR)
    assert lsr & 0x03 == 0x03  # data ready; no FIFO, so 'i' overran the holding register
    assert uart.r(IIR) == 0x04 and uart.p.machine.irq(32).level
    assert uart.r(RBR) == ord("h")
    assert not uart.r(LSR) & 0x03 and uart.r(IIR) == 0x01


def test_overrun_is_a_line_status_interrupt(uart) -> None:
    uart.w(IER, 0x05)
    uart.p.dev.inject(b"ab")
    assert uart.r(IIR) == 0x06  # line status outranks received data
    lsr = uart.r(LSR)
    assert lsr & 0x03 == 0x03
    assert uart.r(IIR) == 0x04


def test_fifo_trigger_and_character_timeout(uart) -> None:
    uart.w(FCR, 0xC7)  # FIFOs on, both cleared, RX trigger 14
    uart.w(IER, 0x01)
    assert uart.r(IIR) & 0xC0 == 0xC0
    uart.p.dev.inject(bytes(13))
    assert uart.r(IIR) == 0xCC  # below the trigger: the character timeout reports the data
    uart.p.dev.inject(b"\x01")
    assert uart.r(IIR) == 0xC4
    for _ in range(14):
        uart.r(RBR)
    assert uart.r(IIR) == 0xC1 and not uart.r(LSR) & 1


def test_timeout_after_four_character_times(uart) -> None:
    uart.w(FCR, 0xC1)
    set_baud(uart)
    uart.w(IER, 0x01)
    uart.p.dev.inject(b"z")
    uart.p.machine.step(FRAME_NS)
    assert uart.r(LSR) & 1 and uart.r(IIR) == 0xC1
    uart.p.machine.step(4 * FRAME_NS)
    assert uart.r(IIR) == 0xCC


def test_loopback_and_modem_status(uart) -> None:
    uart.w(MCR, 0x10 | 0x02)  # loop, RTS
    msr = uart.r(MSR)
    assert msr & 0x10 and msr & 0x01  # CTS follows RTS, with its delta
    uart.w(THR, ord("Q"))
    assert uart.p.dev.console == b"" and uart.r(RBR) == ord("Q")


def test_modem_status_interrupt(uart) -> None:
    uart.w(IER, 0x08)
    uart.p.dev.set_modem(dcd=True)
    assert uart.r(IIR) == 0x00 and uart.p.machine.irq(32).level
    assert uart.r(MSR) == 0x88
    assert uart.r(IIR) == 0x01 and uart.r(MSR) == 0x80


def test_break(uart) -> None:
    uart.p.dev.inject_break()
    assert uart.r(LSR) & 0x10 and uart.r(RBR) == 0


def test_register_map_view(place) -> None:
    p = place(NS16550(reg_shift=2, reg_io_width=4))
    regs = bind_bus(p.dev.regmap, p.machine.memory, p.base, clock=p.machine.clock)
    assert str(regs.LSR.read()) == "LSR = 0x00000060 [THRE=1 TEMT=1]"
    regs.LCR.modify(WLS="bits8", DLAB=0)
    regs.RBR_THR = ord("!")
    regs.LSR.wait(TEMT=1, timeout_us=100)
    assert p.dev.console == b"!"
