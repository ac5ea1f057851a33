"""PL031 behaviour, from the PL031 TRM: a seconds counter on the virtual clock."""

from __future__ import annotations

from iomem.devices import PL031
from iomem.devices.primecell import read_ids

DR, MR, LR, CR, IMSC, RIS, MIS, ICR = range(0, 0x20, 4)
S = 1_000_000_000


def test_ids_and_counting(place) -> None:
    r = place(PL031(epoch=1_700_000_000))
    assert read_ids(lambda off, n: r.r(off, n)) == (0x00041031, 0xB105F00D)
    assert r.r(DR) == 1_700_000_000 and r.r(CR) == 1
    r.machine.step(S - 1)
    assert r.r(DR) == 1_700_000_000
    r.machine.step(1)
    assert r.r(DR) == 1_700_000_001
    r.machine.step(3600 * S)
    assert r.r(DR) == 1_700_003_601


def test_load_sets_the_counter(place) -> None:
    r = place(PL031())
    r.machine.step(S // 2)
    r.w(LR, 5000)
    assert r.r(DR) == 5000 and r.r(LR) == 5000
    r.machine.step(S // 2)  # the counter keeps the phase of the 1 Hz clock
    assert r.r(DR) == 5001


def test_match_interrupt(place) -> None:
    r = place(PL031(epoch=100))
    line = r.machine.irq(32)
    r.w(IMSC, 1)
    r.w(MR, 105)
    r.machine.step(5 * S - 1)
    assert r.r(RIS) == 0 and not line.level
    r.machine.step(1)
    assert r.r(RIS) == 1 and r.r(MIS) == 1 and line.level
    r.w(ICR, 1)
    assert r.r(RIS) == 0 and not line.level


def test_match_is_masked_and_match_now_fires_at_once(place) -> None:
    r = place(PL031(epoch=7))
    r.w(MR, 7)
    assert r.r(RIS) == 1 and r.r(MIS) == 0 and not r.machine.irq(32).level
    r.w(IMSC, 1)
    assert r.machine.irq(32).level


def test_wraps_at_32_bits(place) -> None:
    r = place(PL031(epoch=0xFFFFFFFF))
    r.w(MR, 1)
    r.machine.step(2 * S)
    assert r.r(DR) == 1 and r.r(RIS) == 1


def test_start_bit(place) -> None:
    r = place(PL031(epoch=42, started=False))
    r.machine.step(10 * S)
    assert r.r(DR) == 42 and r.r(CR) == 0
    r.w(CR, 1)
    r.machine.step(2 * S)
    assert r.r(DR) == 44
    r.w(CR, 0)  # once started, only a reset stops it
    r.machine.step(S)
    assert r.r(CR) == 1 and r.r(DR) == 45


def test_reset_cancels_the_alarm(place) -> None:
    r = place(PL031())
    r.w(MR, 3)
    r.dev.reset()
    r.machine.step(10 * S)
    assert r.r(RIS) == 0 and r.machine.clock.pending() == 0
