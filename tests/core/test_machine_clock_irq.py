"""The machine: deterministic virtual time, interrupt lines, placing devices."""

from __future__ import annotations

import pytest
from core_rig import Recorder

from iomem.machine import IrqLine, Machine, VirtualClock
from iomem.phys import IGNORE


def test_timers_fire_in_time_order_with_the_clock_at_their_time() -> None:
    c = VirtualClock()
    fired: list[tuple[str, int]] = []
    c.after(300, lambda: fired.append(("c", c.now)))
    c.after(100, lambda: fired.append(("a", c.now)))
    c.after(100, lambda: fired.append(("b", c.now)))  # same time: in the order set
    c.advance(250)
    assert fired == [("a", 100), ("b", 100)] and c.now == 250
    assert c.pending() == 1 and c.next_due == 300
    c.advance(50)
    assert fired[-1] == ("c", 300) and c.pending() == 0 and c.next_due == float("inf")


def test_cancelled_timers_do_not_fire() -> None:
    c = VirtualClock()
    fired = []
    t = c.after(10, lambda: fired.append(1))
    t.cancel()
    c.advance(100)
    assert fired == [] and c.pending() == 0


def test_a_timer_can_set_another() -> None:
    c = VirtualClock()
    fired = []

    def first() -> None:
        fired.append(c.now)
        c.after(5, lambda: fired.append(c.now))

    c.at(10, first)
    c.advance(20)
    assert fired == [10, 15]


def test_tick_is_the_cheap_advance() -> None:
    c = VirtualClock(start_ns=1000)
    fired = []
    c.after(250, lambda: fired.append(c.now))
    c.tick(100)
    assert c.now == 1100 and fired == []
    c.tick(200)
    assert fired == [1250] and c.now == 1300


def test_run_until_idle_and_its_limit() -> None:
    c = VirtualClock()
    fired = []
    c.after(1_000, lambda: fired.append(c.now))
    c.after(10**13, lambda: fired.append(c.now))
    c.run_until_idle(limit_ns=10**6)
    assert fired == [1_000] and c.pending() == 1 and c.now == 1_000
    assert c.seconds == 1e-6


def test_time_does_not_run_backwards() -> None:
    c = VirtualClock()
    with pytest.raises(ValueError, match="backwards"):
        c.advance(-1)
    with pytest.raises(ValueError, match="in the past"):
        c.after(-5, lambda: None)
    assert c.now == 0 and c.pending() == 0


def test_irq_line_levels_edges_and_listeners() -> None:
    line = IrqLine(33, "uart")
    seen: list[tuple[int, bool]] = []

    def listener(ln: IrqLine, level: bool) -> None:
        seen.append((ln.number, level))

    line.connect(listener)
    line.raise_()
    line.raise_()  # no change: no event, no new edge
    line.lower()
    line.pulse()
    assert seen == [(33, True), (33, False), (33, True), (33, False)]
    assert line.count == 2 and line.level is False
    line.disconnect(listener)
    line.set(1)
    assert len(seen) == 4 and line.level is True
    assert repr(line) == "IrqLine(33, level=1)"
    assert IrqLine(5).name == "irq5"


def test_machine_places_devices_and_wires_irqs() -> None:
    m = Machine("board", bus_error_policy=IGNORE)
    dev = Recorder("timer", 0x100)
    region = m.add_device(dev, 0x1C110000)
    assert dev.machine is m and dev.clock is m.clock and dev.regions == [region]
    assert m.memory.region_at(0x1C1100FF) is region and region.name == "timer"
    assert m.irq(34) is m.irq(34)
    dev.connect_irq(0, m.irq(34))
    dev.set_irq(True)
    dev.set_irq(True, index=3)  # not wired: ignored
    assert m.irq(34).level is True
    rom = m.add_rom("boot", 0x0, b"\x01\x02\x03\x04")
    assert m.memory.read(0, 4) == 0x04030201 and rom.kind == "rom"
    assert m.add_rom("zeros", 0x1000, 16).size == 16
    m.step(1_000)
    assert m.clock.now == 1_000
    assert m.memory.read(0xF0000000, 4) == 0xFFFFFFFF  # the board's policy
    assert m.io.limit == 0xFFFF
