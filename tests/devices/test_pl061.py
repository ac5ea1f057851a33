"""PL061 behaviour, from the PL061 TRM (DDI 0190)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from iomem.devices import PL061
from iomem.devices.primecell import read_ids
from iomem.machine import Machine

DATA, DIR, IS, IBE, IEV, IE, RIS, MIS, IC = (
    0x3FC, 0x400, 0x404, 0x408, 0x40C, 0x410, 0x414, 0x418, 0x41C)


def test_reset_and_ids(place) -> None:
    g = place(PL061())
    assert read_ids(lambda off, n: g.r(off, n)) == (0x00041061, 0xB105F00D)
    assert [g.r(off) for off in (DATA, DIR, IS, IBE, IEV, IE, RIS, MIS)] == [0] * 8


def test_masked_data_addressing(place) -> None:
    g = place(PL061())
    g.w(DIR, 0xFF, 1)  # Linux's gpio-pl061 uses byte accessors
    g.w(0x0F << 2, 0xFF, 1)  # mask 0x0F: pins 0-3 only
    assert g.dev.outputs == 0x0F
    g.w(0x81 << 2, 0x00, 1)  # clears pins 0 and 7 only
    assert g.dev.outputs == 0x0E
    assert g.r(0x06 << 2, 1) == 0x06 and g.r(0x01 << 2, 1) == 0
    assert g.r(0, 1) == 0  # address 0 masks every pin


def test_inputs_are_read_not_driven(place) -> None:
    g = place(PL061(inputs=0xA0))
    g.w(DIR, 0x0F)
    g.w(DATA, 0xFF)
    assert g.r(DATA) == 0xAF and g.dev.outputs == 0x0F
    g.dev.set_input(4, 1)
    assert g.r(0x10 << 2) == 0x10
    g.dev.set_input(0, 0)  # pin 0 is an output: the outside cannot change what it reads
    assert g.r(DATA) & 1


def test_output_callback(place) -> None:
    g = place(PL061())
    seen: list[tuple[int, int]] = []
    g.dev.on_output = lambda pin, level: seen.append((pin, level))
    g.w(DIR, 0x03)
    g.w(0x3 << 2, 0x2)
    g.w(0x3 << 2, 0x1)
    assert seen == [(1, 1), (0, 1), (1, 0)]


def test_rising_edge_interrupt(place) -> None:
    g = place(PL061())
    g.w(IEV, 0x04)
    g.w(IE, 0x04)
    line = g.machine.irq(32)
    g.dev.set_input(2, 1)
    assert g.r(RIS) == 0x04 and g.r(MIS) == 0x04 and line.level
    g.w(IC, 0x04)
    assert g.r(RIS) == 0 and not line.level
    g.dev.set_input(2, 0)  # falling edge: not selected
    assert g.r(RIS) == 0


def test_both_edges_and_masking(place) -> None:
    g = place(PL061())
    g.w(IBE, 0x01)
    g.dev.set_input(0, 1)
    g.w(IC, 0xFF)
    g.dev.set_input(0, 0)
    assert g.r(RIS) == 0x01 and g.r(MIS) == 0 and not g.machine.irq(32).level
    g.w(IE, 0x01)
    assert g.machine.irq(32).level


def test_level_interrupt_holds_while_the_level_does(place) -> None:
    g = place(PL061())
    g.w(IS, 0x80)
    g.w(IEV, 0x80)  # high level
    g.w(IE, 0x80)
    assert g.r(RIS) == 0
    g.dev.set_input(7, 1)
    assert g.r(RIS) == 0x80
    g.w(IC, 0x80)
    assert g.r(RIS) == 0x80 and g.machine.irq(32).level  # still high: re-asserted
    g.dev.set_input(7, 0)
    g.w(IC, 0x80)
    assert g.r(RIS) == 0 and not g.machine.irq(32).level


def test_low_level_interrupt(place) -> None:
    g = place(PL061(inputs=0x02))
    g.w(IS, 0x02)  # IEV 0: low level
    assert g.r(RIS) == 0
    g.dev.set_input(1, 0)
    assert g.r(RIS) == 0x02


@settings(deadline=None)
@given(dir_=st.integers(0, 0xFF), before=st.integers(0, 0xFF), mask=st.integers(0, 0xFF),
       value=st.integers(0, 0xFF))
def test_masked_writes_only_touch_masked_bits(dir_: int, before: int, mask: int,
                                              value: int) -> None:
    m = Machine("t")
    g = PL061()
    m.add_device(g, 0x1000)
    m.memory.write(0x1400, 1, dir_)
    m.memory.write(0x13FC, 1, before)
    old = g.outputs
    m.memory.write(0x1000 + (mask << 2), 1, value)
    new = g.outputs
    assert (old ^ new) & ~mask == 0
    assert new & mask == value & mask & dir_
