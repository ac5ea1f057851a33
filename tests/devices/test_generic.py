"""Memories, syscon, the unmodelled region and the compatible registry."""

from __future__ import annotations

import logging

import pytest

from iomem.devices import (
    NS16550,
    PL011,
    PL031,
    PL061,
    SP804,
    MmioDevice,
    Ram,
    Rom,
    Sram,
    Syscon,
    Unmodelled,
    model_for_compatible,
    register_model,
    registered_models,
)
from iomem.machine import Machine
from iomem.phys import BusError
from iomem.regs import Field, Register, RegisterMap


def test_memories_as_models_and_as_fast_regions() -> None:
    m = Machine("t")
    sram = Sram(0x1000, data=b"\x11\x22\x33\x44")
    m.add_device(sram, 0x1000)
    assert m.memory.read(0x1000, 4) == 0x44332211
    m.memory.write(0x1002, 2, 0xBEEF)  # unaligned accesses are fine for memory
    assert sram.data[2:4] == b"\xef\xbe"
    ram = Ram(0x100)
    m.memory.add_region(ram.region(0x8000))
    m.memory.write(0x8010, 8, 0x0102030405060708)
    assert ram.read(0x10, 8) == 0x0102030405060708  # the region shares the model's bytes


def test_rom_ignores_writes_and_resets_to_its_contents() -> None:
    m = Machine("t")
    rom = Rom(b"\xde\xad\xbe\xef", size=0x10)
    m.add_device(rom, 0)
    m.memory.write(0, 4, 0)
    assert m.memory.read(0, 4) == 0xEFBEADDE and rom.ignored_writes == 1
    assert m.memory.read(8, 4) == 0
    fast = Rom(b"\x01\x02").region(0x100)
    assert fast.kind == "rom"


def test_syscon_plain_words(place) -> None:
    s = place(Syscon(size=0x100, reset_values={0x10: 0xCAFE}))
    assert s.r(0x10) == 0xCAFE and s.r(0x14) == 0
    s.w(0x14, 0x1234_5678)
    s.w(0x14, 0xAB, 1)  # narrow writes reach the 32-bit word, as on an APB bus
    assert s.r(0x14) == 0xAB
    s.dev.reset()
    assert s.r(0x14) == 0
    with pytest.raises(BusError):
        s.r(0x10, 8)
    with pytest.raises(ValueError, match="not a register offset"):
        Syscon(reset_values={0x3: 1})


def test_syscon_with_a_register_map(place) -> None:
    rm = RegisterMap("clkctrl", [
        Register("ENABLE", 0x0, [Field("UART", 0), Field("GPIO", 1)], reset=0x1),
        Register("STATUS", 0x4, access="w1c"),
    ])
    s = place(Syscon(regmap=rm, big_endian=True))
    assert s.r(0x0) == 0x01000000  # big-endian register as the CPU sees it
    s.dev.regfile["STATUS"] = 0xF
    s.w(0x4, 0x01000000)
    assert s.dev.regfile["STATUS"] == 0xE


def test_unmodelled_region_records_every_access(place, caplog) -> None:
    u = place(Unmodelled(0x1000, "uart@9040000", read_value={0x18: 0x90},
                         compatible=("vendor,fancy-uart",)))
    with caplog.at_level(logging.INFO, logger="iomem.devices"):
        assert u.r(0x18) == 0x90 and u.r(0x30, 2) == 0
        u.w(0x30, 0x301)
        u.machine.step(5)
        u.w(0x0, 0x41, 1)
    a = u.dev.accesses
    assert [(x.offset, x.size, x.is_write, x.value) for x in a] == [
        (0x18, 4, False, 0x90), (0x30, 2, False, 0), (0x30, 4, True, 0x301), (0, 1, True, 0x41)]
    assert a[-1].time_ns == 5
    assert u.dev.touched() == {0x0: (0, 1), 0x18: (1, 0), 0x30: (1, 1)}
    assert "+0x0030: 1 read(s), 1 write(s)" in u.dev.summary()
    assert "vendor,fancy-uart" in caplog.text and "write 4 @ +0x0030 <- 0x301" in caplog.text
    every = place(Unmodelled(0x100, read_value=0xFFFFFFFF))
    assert every.r(0x4, 1) == 0xFF and every.r(0x5, 2) == 0xFFFF


def test_registry_picks_the_most_specific_model() -> None:
    assert model_for_compatible(["arm,pl011", "arm,primecell"]) is PL011
    assert model_for_compatible("arm,pl061") is PL061
    assert model_for_compatible(["arm,pl031", "arm,primecell"]) is PL031
    assert model_for_compatible(["arm,sp804", "arm,primecell"]) is SP804
    assert model_for_compatible(["snps,dw-apb-uart", "ns16550a"]) is NS16550
    assert model_for_compatible(["ns16550"]) is NS16550
    assert model_for_compatible(["acme,sysctrl", "syscon", "simple-mfd"]) is Syscon
    assert model_for_compatible(["mmio-sram"]) is Sram
    assert model_for_compatible(["arm,pl022", "arm,primecell"]) is None  # a bus, not a model
    assert model_for_compatible([]) is None
    assert "arm,primecell" not in registered_models()


def test_register_model_conflicts(monkeypatch) -> None:
    import iomem.devices as devices

    monkeypatch.setattr(devices, "_REGISTRY", dict(devices._REGISTRY))

    class Fake(MmioDevice):
        compatible = ("arm,pl011",)

    with pytest.raises(ValueError, match="already served by PL011"):
        register_model(Fake)

    class Generic(MmioDevice):
        compatible = ("arm,primecell",)

    with pytest.raises(ValueError, match="no specific compatible"):
        register_model(Generic)

    @register_model
    class Widget(MmioDevice):
        compatible = ("acme,widget-test",)

    assert model_for_compatible(["acme,widget-test"]) is Widget
    register_model(Fake, replace=True)
    assert model_for_compatible(["arm,pl011"]) is Fake


@pytest.mark.parametrize("cls", [PL011, PL061, PL031, SP804])
def test_primecells_declare_apb_rules(cls) -> None:
    dev = cls()
    assert dev.size == 0x1000
    assert dev.rules.valid_sizes == {1, 2, 4} and dev.rules.implemented == {4}
    assert not dev.rules.unaligned and dev.rules.endian == "little"
    assert "arm,primecell" in dev.compatible


def test_models_from_device_tree_properties() -> None:
    from iomem.devices import model_from_dt
    from iomem.devices.primecell import read_ids

    uart = model_from_dt(["snps,dw-apb-uart", "ns16550a"],
                         {"reg-shift": [2], "reg-io-width": b"\x00\x00\x00\x04",
                          "clock-frequency": 24_000_000, "big-endian": True},
                         name="serial@1c28000", size=0x400)
    assert isinstance(uart, NS16550) and uart.name == "serial@1c28000"
    assert (uart.reg_shift, uart.reg_io_width, uart.clock_hz, uart.size) == (2, 4, 24_000_000,
                                                                             0x400)
    assert uart.rules.endian == "big"
    pl011 = model_from_dt(["arm,pl011", "arm,primecell"],
                          {"arm,primecell-periphid": 0x00241011})
    assert read_ids(pl011.read) == (0x00241011, 0xB105F00D)
    assert isinstance(model_from_dt("arm,sp804", {"clock-frequency": [32768]}), SP804)
    assert model_from_dt(["mmio-sram"], {}, size=0x2000).size == 0x2000
    assert model_from_dt(["syscon"], {"big-endian": b""}).rules.endian == "big"
    assert model_from_dt(["vendor,unknown"], {}) is None
    with pytest.raises(ValueError, match="32-bit cells"):
        model_from_dt("ns16550a", {"reg-shift": b"\x02"})
