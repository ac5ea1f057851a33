"""SP804 behaviour, from the SP804 TRM (DDI 0271): counters on the virtual clock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iomem.devices import SP804
from iomem.devices.primecell import read_ids
from iomem.machine import Machine

LOAD, VALUE, CTRL, INTCLR, RIS, MIS, BGLOAD = range(0, 0x1C, 4)
T2 = 0x20
ONESHOT, SIZE32, DIV16, DIV256, IE, PERIODIC, EN = 1, 2, 4, 8, 0x20, 0x40, 0x80
US = 1000  # ns; the default TIMCLK is 1 MHz, one tick per microsecond


def test_reset_values_and_ids(place) -> None:
    t = place(SP804())
    assert read_ids(lambda off, n: t.r(off, n)) == (0x00141804, 0xB105F00D)
    for base in (0, T2):
        assert (t.r(base + LOAD), t.r(base + VALUE), t.r(base + CTRL), t.r(base + RIS)) == (
            0, 0xFFFFFFFF, 0x20, 0)


def test_value_counts_down_lazily(place) -> None:
    t = place(SP804())
    t.w(LOAD, 1000)
    t.w(CTRL, EN | PERIODIC | SIZE32 | IE)
    t.machine.step(250 * US)
    assert t.r(VALUE) == 750
    t.machine.step(250 * US + 999)
    assert t.r(VALUE) == 500  # not yet the next tick


def test_periodic_interrupts_every_load_plus_one_ticks(place) -> None:
    t = place(SP804(), irqs=3)
    line = t.machine.irq(32)
    times: list[int] = []

    def isr(_line, level: bool) -> None:  # acknowledge like a driver's handler
        if level:
            times.append(t.now)
            t.w(INTCLR, 1)

    line.connect(isr)
    t.w(LOAD, 999)
    t.w(CTRL, EN | PERIODIC | SIZE32 | IE)
    t.machine.step(10_000 * US)
    assert times == [(999 + k * 1000) * US for k in range(10)]
    assert t.machine.irq(33).count == 10 and t.machine.irq(34).count == 0


def test_one_shot_stops_at_zero(place) -> None:
    t = place(SP804())
    t.w(LOAD, 100)
    t.w(CTRL, EN | ONESHOT | SIZE32 | IE)
    t.machine.step(100 * US)
    assert t.r(RIS) == 1 and t.r(VALUE) == 0
    t.w(INTCLR, 0)
    t.machine.step(1000 * US)
    assert t.r(VALUE) == 0 and t.r(RIS) == 0 and t.machine.clock.pending() == 0
    t.w(LOAD, 10)  # a new load starts it again
    t.machine.step(10 * US)
    assert t.r(RIS) == 1


def test_free_running_wraps_to_the_maximum(place) -> None:
    t = place(SP804())
    t.w(LOAD, 5)
    t.w(CTRL, EN | SIZE32)  # free-running: reload is 0xFFFFFFFF, not LOAD
    t.machine.step(5 * US)
    assert t.r(VALUE) == 0 and t.r(RIS) == 1
    t.machine.step(1 * US)
    assert t.r(VALUE) == 0xFFFFFFFF
    t16 = place(SP804())
    t16.w(LOAD, 3)
    t16.w(CTRL, EN)  # 16-bit free-running
    t16.machine.step(4 * US)
    assert t16.r(VALUE) == 0xFFFF


def test_sixteen_bit_mode_keeps_the_high_half(place) -> None:
    t = place(SP804())
    t.w(LOAD, 0x12340010)
    t.w(CTRL, EN | PERIODIC | IE)
    t.machine.step(0x10 * US)
    assert t.r(RIS) == 1 and t.r(VALUE) == 0x12340000
    t.machine.step(1 * US)
    assert t.r(VALUE) == 0x12340010


@pytest.mark.parametrize("pre,div", [(0, 1), (DIV16, 16), (DIV256, 256)])
def test_prescaler(place, pre: int, div: int) -> None:
    t = place(SP804())
    t.w(LOAD, 10)
    t.w(CTRL, EN | PERIODIC | SIZE32 | IE | pre)
    t.machine.step(10 * div * US - 1)
    assert t.r(RIS) == 0
    t.machine.step(1)
    assert t.r(RIS) == 1


def test_clock_rate_parameter(place) -> None:
    t = place(SP804(clock_hz=(1_000_000, 32_768)))
    t.w(T2 + LOAD, 32_768)
    t.w(T2 + CTRL, EN | ONESHOT | SIZE32 | IE)
    t.machine.step(1_000_000_000 - 1)
    assert t.r(T2 + RIS) == 0
    t.machine.step(1)
    assert t.r(T2 + RIS) == 1 and t.r(RIS) == 0


def test_bgload_changes_the_next_period_only(place) -> None:
    t = place(SP804())
    t.w(LOAD, 100)
    t.w(CTRL, EN | PERIODIC | SIZE32)
    t.machine.step(40 * US)
    t.w(BGLOAD, 500)
    assert t.r(VALUE) == 60 and t.r(LOAD) == 500
    t.machine.step(61 * US)  # zero, then the reload takes the background value
    assert t.r(VALUE) == 500


def test_load_restarts_the_count(place) -> None:
    t = place(SP804())
    t.w(LOAD, 100)
    t.w(CTRL, EN | PERIODIC | SIZE32 | IE)
    t.machine.step(90 * US)
    t.w(LOAD, 100)
    t.machine.step(90 * US)
    assert t.r(RIS) == 0 and t.r(VALUE) == 10


def test_load_of_zero_interrupts_at_once(place) -> None:
    t = place(SP804())
    t.w(CTRL, EN | ONESHOT | SIZE32 | IE)
    t.w(LOAD, 0)
    t.machine.step(0)
    assert t.r(RIS) == 1


def test_disable_freezes_and_enable_resumes(place) -> None:
    t = place(SP804())
    t.w(LOAD, 1000)
    t.w(CTRL, EN | PERIODIC | SIZE32)
    t.machine.step(300 * US)
    t.w(CTRL, PERIODIC | SIZE32)
    t.machine.step(5000 * US)
    assert t.r(VALUE) == 700 and t.r(RIS) == 0
    t.w(CTRL, EN | PERIODIC | SIZE32)
    t.machine.step(700 * US)
    assert t.r(RIS) == 1


def test_mis_and_outputs(place) -> None:
    t = place(SP804(), irqs=3)
    combined, int1, int2 = (t.machine.irq(n) for n in (32, 33, 34))
    t.w(T2 + LOAD, 5)
    t.w(T2 + CTRL, EN | ONESHOT | SIZE32)  # IntEnable off
    t.machine.step(5 * US)
    assert t.r(T2 + RIS) == 1 and t.r(T2 + MIS) == 0 and not combined.level
    t.w(T2 + CTRL, EN | ONESHOT | SIZE32 | IE)
    assert t.r(T2 + MIS) == 1 and combined.level and int2.level and not int1.level
    t.w(T2 + INTCLR, 1)
    assert not combined.level


def test_integration_test_outputs(place) -> None:
    t = place(SP804(), irqs=3)
    t.w(0xF00, 1)
    t.w(0xF04, 0b01)
    assert t.machine.irq(32).level and t.machine.irq(33).level and not t.machine.irq(34).level
    t.w(0xF00, 0)
    assert not t.machine.irq(32).level


@settings(max_examples=60, deadline=None)
@given(load=st.integers(1, 5000), elapsed=st.integers(0, 20_000))
def test_periodic_value_matches_the_trm_sequence(load: int, elapsed: int) -> None:
    """LOAD, LOAD-1, ..., 0, LOAD, ...: a period of LOAD+1 ticks."""
    m = Machine("t")
    t = SP804()
    m.add_device(t, 0)
    m.memory.write(LOAD, 4, load)
    m.memory.write(CTRL, 4, EN | PERIODIC | SIZE32)
    m.step(elapsed * US)
    if elapsed <= load:
        expect = load - elapsed
    else:
        expect = load - (elapsed - load - 1) % (load + 1)
    assert m.memory.read(VALUE, 4) == expect
