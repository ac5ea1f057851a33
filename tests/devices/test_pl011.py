"""PL011 behaviour, from the PL011 TRM (DDI 0183)."""

from __future__ import annotations

import pytest

from iomem.devices import PL011
from iomem.devices.pl011 import FR_BUSY, FR_CTS, FR_RXFE, FR_RXFF, FR_TXFE, FR_TXFF
from iomem.devices.primecell import read_ids
from iomem.phys import BusError
from iomem.regs import bind_bus

DR, RSR, FR, IBRD, FBRD, LCR_H, CR, IFLS, IMSC, RIS, MIS, ICR = (
    0x00, 0x04, 0x18, 0x24, 0x28, 0x2C, 0x30, 0x34, 0x38, 0x3C, 0x40, 0x44)
RX, TX, RT, BE, OE = 1 << 4, 1 << 5, 1 << 6, 1 << 9, 1 << 10

# 115200 baud from a 24 MHz UARTCLK: 24e6 / (16 * 115200) = 13.0208 -> IBRD 13, FBRD 1
FRAME_NS = round(10 * (13 * 64 + 1) * 1e9 / (4 * 24_000_000))  # 8N1, about 86.8 us


def setup(u, *, baud: bool = True, fifo: bool = True, cr: int = 0x301) -> None:
    if baud:
        u.w(IBRD, 13)
        u.w(FBRD, 1)
    u.w(LCR_H, 0x60 | (0x10 if fifo else 0))
    u.w(CR, cr)


def test_reset_values_and_ids(place) -> None:
    u = place(PL011())
    assert (u.r(FR), u.r(CR), u.r(IFLS), u.r(LCR_H), u.r(IMSC), u.r(RIS)) == (
        0x90, 0x300, 0x12, 0, 0, 0)
    assert read_ids(lambda off, n: u.r(off, n)) == (0x00341011, 0xB105F00D)
    old = place(PL011(revision=2))
    assert read_ids(lambda off, n: old.r(off, n))[0] == 0x00241011
    assert old.dev.fifo_depth == 16 and u.dev.fifo_depth == 32


def test_access_sizes(place) -> None:
    u = place(PL011())
    assert u.r(FR, 1) == 0x90 and u.r(FR, 2) == 0x90  # narrow reads reach the 32-bit register
    u.w(CR, 0x301, 2)  # Linux's PL011 driver uses 16-bit accessors
    assert u.r(CR) == 0x301
    with pytest.raises(BusError, match="size"):
        u.r(FR, 8)


def test_baud_divisors_take_effect_on_lcr_h_write(place) -> None:
    u = place(PL011())
    u.w(IBRD, 13)
    u.w(FBRD, 1)
    assert u.dev.baud == 0
    u.w(LCR_H, 0x70)
    assert u.dev.baud == pytest.approx(24e6 / (16 * (13 + 1 / 64)))  # 115246
    u.w(IBRD, 0x1_0001)  # BAUD_DIVINT is 16 bits
    u.w(FBRD, 0xFF)  # BAUD_DIVFRAC is 6 bits
    assert (u.r(IBRD), u.r(FBRD)) == (1, 0x3F)


def test_transmitter_waits_for_uarten_and_txe(place) -> None:
    u = place(PL011())
    u.w(DR, ord("x"))  # CR resets to TXE|RXE without UARTEN
    assert u.dev.console == b"" and not u.r(FR) & FR_TXFE
    u.w(CR, 0x301)
    assert u.dev.console == b"x" and u.r(FR) & FR_TXFE


def test_characters_take_a_frame_each_on_the_virtual_clock(place) -> None:
    u = place(PL011())
    setup(u)
    for ch in b"abc":
        u.w(DR, ch)
    fr = u.r(FR)
    assert fr & FR_BUSY and not fr & FR_TXFE and u.dev.console == b""
    u.machine.step(FRAME_NS - 1)
    assert u.dev.console == b""
    u.machine.step(1)
    assert u.dev.console == b"a" and not u.r(FR) & FR_TXFE  # 'b' on the wire, 'c' waits
    u.machine.step(FRAME_NS)
    assert u.r(FR) & FR_TXFE and u.r(FR) & FR_BUSY  # 'c' left the FIFO, still on the wire
    u.machine.step(FRAME_NS)
    assert u.dev.console == b"abc" and u.r(FR) & (FR_BUSY | FR_TXFE) == FR_TXFE
    assert u.dev.text == "abc"


def test_on_tx_hook(place) -> None:
    u = place(PL011(preconfigured=True))
    got: list[int] = []
    u.dev.on_tx = got.append
    u.w(DR, 0x41)
    u.machine.clock.run_until_idle()
    assert got == [0x41]


@pytest.mark.parametrize("fifo,depth", [(True, 32), (False, 1)])
def test_transmit_fifo_depth(place, fifo: bool, depth: int) -> None:
    u = place(PL011())
    setup(u, fifo=fifo, cr=0x201)  # UARTEN but not TXE: nothing drains
    for i in range(depth - 1):
        u.w(DR, i)
    assert not u.r(FR) & FR_TXFF
    u.w(DR, 0x55)
    assert u.r(FR) & FR_TXFF
    u.w(DR, 0x66)
    assert u.dev.tx_overflow == 1 and u.dev.tx_level == depth


def test_receive_in_order_and_flags(place) -> None:
    u = place(PL011())
    setup(u, baud=False)
    u.dev.inject(b"hello")
    assert not u.r(FR) & FR_RXFE
    assert bytes(u.r(DR) & 0xFF for _ in range(5)) == b"hello"
    assert u.r(FR) & FR_RXFE


def test_receiver_disabled_drops_input(place) -> None:
    u = place(PL011())
    u.dev.inject(b"lost")
    assert u.r(FR) & FR_RXFE and u.dev.rx_dropped == 4


def test_overrun(place) -> None:
    u = place(PL011())
    setup(u, baud=False)
    u.dev.inject(bytes(range(33)))
    assert u.r(FR) & FR_RXFF and u.r(RIS) & OE and u.r(RSR) & 0x8
    assert u.r(DR) == 0
    u.dev.inject(b"Z")
    values = [u.r(DR) for _ in range(32)]
    assert values[:-1] == list(range(1, 32)) and values[-1] == ord("Z") | (1 << 11)
    u.w(RSR, 0)  # ECR: any write clears the error status
    assert u.r(RSR) == 0


def test_rx_interrupt_at_the_fifo_level(place) -> None:
    u = place(PL011(), irqs=6)
    setup(u, baud=False)
    u.w(IFLS, 2 << 3)  # RX at 1/2 full: 16 of 32
    u.w(IMSC, RX)
    line = u.machine.irq(32)
    u.dev.inject(bytes(15))
    assert not u.r(RIS) & RX and not line.level
    u.dev.inject(b"\x01")
    assert u.r(RIS) & RX and u.r(MIS) == RX and line.level and u.machine.irq(33).level
    u.r(DR)
    assert not u.r(RIS) & RX and not line.level


def test_receive_timeout_after_32_bit_periods(place) -> None:
    u = place(PL011())
    setup(u)
    u.w(IMSC, RT)
    u.dev.inject(b"ab")
    bit_ns = FRAME_NS / 10
    u.machine.step(2 * FRAME_NS)
    assert u.dev.rx_level == 2 and not u.r(RIS) & RT
    u.machine.step(round(32 * bit_ns) - 1)
    assert not u.r(RIS) & RT
    u.machine.step(1)
    assert u.r(RIS) & RT and u.machine.irq(32).level
    u.r(DR)
    u.r(DR)
    assert not u.r(RIS) & RT and not u.machine.irq(32).level


def test_tx_interrupt_is_a_transition(place) -> None:
    u = place(PL011(), irqs=3)
    setup(u)
    u.w(IMSC, TX)
    assert not u.r(RIS) & TX  # empty FIFO, interrupt enabled: not raised
    u.w(DR, ord("a"))
    assert u.r(RIS) & TX and u.machine.irq(34).level  # 'a' left the FIFO for the wire
    u.w(ICR, TX)
    assert not u.r(RIS) & TX
    for ch in range(20):  # above the 1/2 trigger (16): stays clear
        u.w(DR, ch)
    assert not u.r(RIS) & TX
    u.machine.step(3 * FRAME_NS + 10)  # 'a' and two more sent: 17 left
    assert not u.r(RIS) & TX
    u.machine.step(FRAME_NS)  # level falls to 16
    assert u.r(RIS) & TX


def test_loopback(place) -> None:
    u = place(PL011())
    setup(u, baud=False, cr=0x381)
    u.w(DR, ord("L"))
    assert u.dev.console == b"" and u.r(DR) == ord("L")
    u.w(CR, 0x381 | (1 << 11))  # RTS loops to CTS
    assert u.r(FR) & FR_CTS and u.r(RIS) & 0x2


def test_break_and_modem_inputs(place) -> None:
    u = place(PL011())
    setup(u, baud=False)
    u.dev.inject_break()
    assert u.r(RIS) & BE and u.r(DR) == 1 << 10 and u.r(RSR) & 0x4
    u.dev.set_modem(cts=True, dcd=True)
    assert u.r(FR) & FR_CTS and u.r(RIS) & 0x6 == 0x6
    u.w(ICR, 0x7FF)
    assert u.r(RIS) == 0


def test_fen_change_empties_the_fifos(place) -> None:
    u = place(PL011())
    setup(u, baud=False)
    u.dev.inject(b"abc")
    u.w(LCR_H, 0x60)
    assert u.r(FR) & FR_RXFE and not u.r(FR) & FR_RXFF


def test_driver_style_polling_through_the_register_map(place) -> None:
    u = place(PL011(preconfigured=True))
    regs = bind_bus(u.dev.regmap, u.machine.memory, u.base, clock=u.machine.clock)
    assert str(regs.CR.read()) == "CR = 0x00000301 [UARTEN=1 TXE=1 RXE=1]"
    for ch in b"booting\n" * 5:  # 40 characters: more than the FIFO holds
        regs.FR.wait(TXFF=0, timeout_us=10_000)
        regs.DR = ch
    regs.FR.wait(BUSY=0, timeout_us=10_000)
    assert u.dev.console == b"booting\n" * 5
    assert u.now >= 40 * FRAME_NS - FRAME_NS
    assert str(regs.FR.read()) == "FR = 0x00000090 [RXFE=1 TXFE=1]"
