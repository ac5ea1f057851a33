"""Field read-modify-write over accessor pairs, decode, and poll-until."""

from __future__ import annotations

import errno
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iomem.machine import VirtualClock
from iomem.regs import (
    Access,
    Field,
    PollTimeout,
    Register,
    RegisterAccessError,
    RegisterFile,
    RegisterMap,
    bind,
    bind_bus,
    poll_until,
)

MAP = RegisterMap("uart", [
    Register("CR", 0x30, [Field("UARTEN", 0), Field("TXE", 8), Field("RXE", 9)], reset=0x300),
    Register("FR", 0x18, [Field("BUSY", 3), Field("TXFE", 7)], access="ro"),
    Register("ST", 0x40, [Field("EN", 0), Field("MODE", 1, 2, values={0: "off", 2: "fast"}),
                          Field("DONE", 4, access=Access.W1C),
                          Field("NDONE", 5, access=Access.W0C)]),
    Register("EV", 0x44, [Field("IRQ", 0), Field("CFG", 1, 3, access=Access.RW),
                          Field("LVL", 4, 2, access=Access.RW)], access="rc"),
    Register("KICK", 0x48, [Field("GO", 0), Field("ARG", 8, 8)], access="wo"),
    Register("B", 0x4C, width=8),
])


class Recorder:
    """A register file behind accessors that counts bus accesses."""

    def __init__(self) -> None:
        self.rf = RegisterFile(MAP)
        self.log: list[tuple[str, int, int, int]] = []

    def read(self, off: int, n: int) -> int:
        v = self.rf.read(off, n)
        self.log.append(("r", off, n, v))
        return v

    def write(self, off: int, n: int, v: int) -> None:
        self.log.append(("w", off, n, v))
        self.rf.write(off, n, v)


def test_field_assignment_is_one_read_and_one_write() -> None:
    dev = Recorder()
    regs = bind(MAP, dev.read, dev.write)
    regs.CR.UARTEN = 1
    assert dev.log == [("r", 0x30, 4, 0x300), ("w", 0x30, 4, 0x301)]
    assert str(regs.CR.read()) == "CR = 0x00000301 [UARTEN=1 TXE=1 RXE=1]"
    assert regs.CR.TXE == 1 and int(regs.CR) == 0x301


def test_modify_several_fields_and_value_names() -> None:
    dev = Recorder()
    regs = bind(MAP, dev.read, dev.write)
    regs.ST.modify(EN=1, MODE="fast")
    assert dev.rf["ST"] & 0x7 == 0x5
    assert regs.ST.read().MODE == 2
    assert f"{regs.ST.read()}".startswith("ST = 0x")
    assert f"{regs.ST.read():#x}" == hex(regs.ST.read())


def test_rmw_does_not_clear_status_by_writing_it_back() -> None:
    dev = Recorder()
    regs = bind(MAP, dev.read, dev.write)
    dev.rf["ST"] = 0x10  # DONE pending (w1c), NDONE = 0 (w0c)
    regs.ST.EN = 1
    written = dev.log[-1][3]
    assert written & 0x10 == 0 and written & 0x20 == 0x20  # neutral values
    assert dev.rf["ST"] == 0x11  # DONE still pending, EN set


def test_rmw_refuses_a_register_whose_read_clears_status() -> None:
    dev = Recorder()
    regs = bind(MAP, dev.read, dev.write)
    with pytest.raises(RegisterAccessError, match="reading clears"):
        regs.EV.CFG = 3
    dev.rf["EV"] = 1
    regs.EV = 0x7  # a whole-register write is fine
    assert dev.rf["EV"] == 0x7  # CFG written, IRQ (read-to-clear) untouched by the write


def test_write_only_register_needs_no_read() -> None:
    dev = Recorder()
    regs = bind(MAP, dev.read, dev.write)
    regs.KICK.modify(GO=1, ARG=0x20)
    assert [e[0] for e in dev.log] == ["w"] and dev.log[0][3] == 0x2001


def test_whole_register_assignment_and_widths() -> None:
    dev = Recorder()
    regs = bind(MAP, dev.read, dev.write)
    regs.B = 0x1FF
    assert dev.log[-1] == ("w", 0x4C, 1, 0xFF)
    assert regs.B.read() == 0xFF


def test_unknown_names_are_attribute_errors() -> None:
    dev = Recorder()
    regs = bind(MAP, dev.read, dev.write)
    with pytest.raises(AttributeError, match="no register"):
        _ = regs.NOPE
    with pytest.raises(AttributeError, match="no field"):
        regs.CR.NOPE = 1
    with pytest.raises(AttributeError):
        regs.NOPE = 1


def test_dump_skips_side_effect_reads() -> None:
    dev = Recorder()
    regs = bind(MAP, dev.read, dev.write)
    dev.rf["EV"] = 1
    text = regs.dump()
    assert "CR = 0x00000300 [TXE=1 RXE=1]" in text and "EV" not in text
    assert dev.rf["EV"] == 1


def test_bind_bus_adds_the_base() -> None:
    class Bus:
        def __init__(self) -> None:
            self.addrs: list[int] = []

        def read(self, addr: int, size: int) -> int:
            self.addrs.append(addr)
            return 0

        def write(self, addr: int, size: int, value: int) -> None:
            self.addrs.append(addr)

    bus = Bus()
    regs = bind_bus(MAP, bus, 0x9000000)
    regs.CR.UARTEN = 1
    assert bus.addrs == [0x9000030, 0x9000030]


def test_wait_on_the_virtual_clock() -> None:
    clock = VirtualClock()
    dev = Recorder()
    dev.rf["FR"] = 0x08  # BUSY
    clock.after(35_000, lambda: dev.rf.__setitem__("FR", 0x80))
    regs = bind(MAP, dev.read, dev.write, clock=clock)
    v = regs.FR.wait(BUSY=0, timeout_us=1000, sleep_us=10)
    assert v.TXFE == 1 and 35_000 <= clock.now <= 40_000


def test_poll_timeout_reads_once_more_and_raises() -> None:
    clock = VirtualClock()
    reads: list[int] = []

    def read() -> int:
        reads.append(clock.now)
        return 7

    with pytest.raises(PollTimeout) as exc:
        poll_until(read, lambda v: v == 0, timeout_us=100, sleep_us=30, clock=clock)
    assert exc.value.errno == errno.ETIMEDOUT and exc.value.value == 7
    assert clock.now == 100_000 and reads[-1] == reads[-2] == 100_000
    assert isinstance(exc.value, TimeoutError)


def test_poll_success_on_the_last_look() -> None:
    clock = VirtualClock()
    clock.after(100_000, lambda: None)
    v = poll_until(lambda: clock.now, lambda t: t >= 100_000, timeout_us=100, sleep_us=40,
                   clock=clock)
    assert v == 100_000


def test_poll_on_wall_time() -> None:
    start = time.monotonic()
    with pytest.raises(PollTimeout):
        poll_until(lambda: 1, lambda v: v == 0, timeout_us=20_000, sleep_us=5_000)
    assert 0.015 < time.monotonic() - start < 2
    assert poll_until(lambda: 3, lambda v: v == 3, timeout_us=0) == 3


@settings(deadline=None)
@given(st.integers(0, 0xFFFFFFFF), st.integers(0, 3), st.integers(0, 1))
def test_rmw_changes_only_the_named_field(start: int, mode: int, en: int) -> None:
    dev = Recorder()
    dev.rf["ST"] = start
    before = dev.rf["ST"]
    regs = bind(MAP, dev.read, dev.write)
    regs.ST.modify(MODE=mode)
    after = dev.rf["ST"]
    assert (after >> 1) & 3 == mode
    assert (after ^ before) & ~0x6 == 0  # every other bit as it was (status included)
