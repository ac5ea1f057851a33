"""PCI-PCI bridges: the type-1 header, config forwarding by bus number, windows, INTx."""

from iomem.devices.pci import BarOps, PciBridge, PciFunction, PciHost
from iomem.devices.pci import regs as R
from iomem.machine import Machine
from iomem.phys import IGNORE, AccessRules


def setup():
    m = Machine("pc", arch="x86_64", bus_error_policy=IGNORE)
    m.add_ram("ram", 0, 1 << 20)
    host = PciHost.i440fx(m)
    bridge = host.plug(PciBridge(), 5)
    return m, host, bridge


def device(name: str = "d") -> PciFunction:
    fn = PciFunction(name, vendor_id=0x1234, device_id=0x0001, interrupt_pin=1)
    seen: dict[int, int] = {}
    ops = BarOps(AccessRules(valid_sizes=frozenset({4})), lambda o, s: seen.get(o, 0x11223344),
                 lambda o, s, v: seen.__setitem__(o, v))
    fn.add_bar(0, 0x1000, ops=ops, name=f"{name}-mmio")
    fn.add_bar(1, 0x100, "io", ops=ops, name=f"{name}-io")
    fn.add_bar(2, 0x100000, "mem64", prefetch=True, ops=ops, name=f"{name}-pref")
    fn.seen = seen  # type: ignore[attr-defined]
    return fn


def program_buses(bridge: PciBridge, pri: int = 0, sec: int = 1, sub: int = 1) -> None:
    bridge.config_write(R.PCI_PRIMARY_BUS, 4, pri | (sec << 8) | (sub << 16))


def test_type1_header_identity_and_masks():
    m, host, br = setup()
    c = br.config
    assert c.read(R.PCI_HEADER_TYPE, 1) == 1
    assert c.read(R.PCI_CLASS_REVISION, 4) >> 8 == 0x060400
    program_buses(br, 0, 3, 7)
    assert c.read(R.PCI_PRIMARY_BUS, 4) & 0xFFFFFF == 0x070300
    br.config_write(R.PCI_IO_BASE, 2, 0xFFFF)
    assert c.read(R.PCI_IO_BASE, 2) == 0xF0F0  # 16-bit I/O decode
    br.config_write(R.PCI_MEMORY_BASE, 4, 0xFFFFFFFF)
    assert c.read(R.PCI_MEMORY_BASE, 4) == 0xFFF0FFF0
    br.config_write(R.PCI_PREF_MEMORY_BASE, 4, 0)
    assert c.read(R.PCI_PREF_MEMORY_BASE, 4) == 0x00010001  # 64-bit type bits are read-only
    br.config_write(R.PCI_PREF_BASE_UPPER32, 4, 0xFFFFFFFF)
    assert c.read(R.PCI_PREF_BASE_UPPER32, 4) == 0xFFFFFFFF
    br.config_write(R.PCI_IO_BASE_UPPER16, 4, 0xFFFFFFFF)
    assert c.read(R.PCI_IO_BASE_UPPER16, 4) == 0  # no 32-bit I/O on this bridge
    br.config_write(R.PCI_BRIDGE_CONTROL, 2, 0xFFFF & ~R.PCI_BRIDGE_CTL_BUS_RESET)
    assert c.read(R.PCI_BRIDGE_CONTROL, 2) == 0x0FBF & ~R.PCI_BRIDGE_CTL_DISCARD_STATUS
    # a bridge has two BARs and its ROM at 0x38
    assert c.bar_offset(R.PCI_ROM_RESOURCE) == R.PCI_ROM_ADDRESS1


def test_io32_bridge_decodes_upper_16_bits():
    br = PciBridge(io32=True)
    assert br.config.read(R.PCI_IO_BASE, 2) == 0x0101
    br.config_write(R.PCI_IO_BASE, 2, 0x2010)
    br.config_write(R.PCI_IO_BASE_UPPER16, 4, 0x00020001)
    br.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_IO)
    assert br.io_window() == (0x11000, 0x22FFF)


def test_config_cycles_follow_the_bus_numbers():
    m, host, br = setup()
    d = br.plug(device(), 0)
    devfn = R.PCI_DEVFN(0, 0)
    assert host.config_read(1, devfn, 0, 4) == 0xFFFFFFFF  # bridge not programmed yet
    program_buses(br, 0, 1, 3)
    assert host.config_read(1, devfn, 0, 4) == 0x00011234
    assert d.address == "0000:01:00.0"
    assert host.config_read(2, devfn, 0, 4) == 0xFFFFFFFF  # inside the range, nobody there
    # a second bridge below: bus 2, reached through both
    inner = br.plug(PciBridge("inner"), 3)
    program_buses(inner, 1, 2, 2)
    deep = inner.plug(device("deep"), 1)
    assert host.config_read(2, R.PCI_DEVFN(1, 0), 0, 2) == 0x1234
    assert deep.address == "0000:02:01.0"
    # through CF8/CFC as well
    m.io.write(0xCF8, 4, 0x80000000 | (2 << 16) | (R.PCI_DEVFN(1, 0) << 8))
    assert m.io.read(0xCFC, 4) == 0x00011234
    program_buses(br, 0, 1, 1)  # subordinate 1: bus 2 is no longer forwarded
    assert host.config_read(2, R.PCI_DEVFN(1, 0), 0, 4) == 0xFFFFFFFF
    assert [f.name for f in host.functions()] == ["i440FX", "pci-bridge", "d", "inner", "deep"]


def test_windows_gate_bars_behind_the_bridge():
    m, host, br = setup()
    program_buses(br)
    d = br.plug(device(), 0)
    d.config_write(R.PCI_BASE_ADDRESS_0, 4, 0xFE800000)
    d.config_write(R.PCI_BASE_ADDRESS_1, 4, 0xD000)
    d.config_write(R.PCI_BASE_ADDRESS_2, 4, 0x00000000)
    d.config_write(R.PCI_BASE_ADDRESS_3, 4, 0x00000008)  # 0x8_0000_0000
    d.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_IO)
    mmio, io, pref = d.bars[0], d.bars[1], d.bars[2]
    assert mmio.address == 0xFE800000 and not mmio.visible  # bridge closed
    assert m.memory.read(0xFE800000, 4) == 0xFFFFFFFF
    # open the windows, but decode still off on the bridge
    br.config_write(R.PCI_MEMORY_BASE, 4, 0xFE80FE80)  # 0xfe800000-0xfe8fffff
    br.config_write(R.PCI_IO_BASE, 2, 0xD0D0)  # 0xd000-0xdfff
    br.config_write(R.PCI_PREF_MEMORY_BASE, 4, 0x00010001)
    br.config_write(R.PCI_PREF_BASE_UPPER32, 4, 8)
    br.config_write(R.PCI_PREF_LIMIT_UPPER32, 4, 8)
    assert br.mem_window() == (0xFE800000, 0xFE8FFFFF)
    assert br.pref_window() == (0x800000000, 0x8000FFFFF)
    assert not mmio.visible
    br.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    assert mmio.visible and pref.visible and not io.visible
    assert m.memory.read(0xFE800000, 4) == 0x11223344
    m.memory.write(0x800000010, 4, 5)
    assert d.seen[0x10] == 5
    br.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_IO)
    assert io.visible and m.io.read(0xD000, 4) == 0x11223344
    # the device moves outside the window: decoded, not forwarded
    d.config_write(R.PCI_BASE_ADDRESS_0, 4, 0xFE900000)
    assert mmio.address == 0xFE900000 and not mmio.visible
    # closing a window (limit below base) hides what it carried
    d.config_write(R.PCI_BASE_ADDRESS_0, 4, 0xFE800000)
    assert mmio.visible
    br.config_write(R.PCI_MEMORY_BASE, 4, 0x0000FFF0)
    assert br.mem_window() is None and not mmio.visible


def test_a_bar_straddling_a_window_edge_is_not_forwarded():
    m, host, br = setup()
    program_buses(br)
    d = br.plug(device(), 0)
    d.add_bar(4, 2 << 20, ops=d.bars[0].region.ops, name="big")
    br.config_write(R.PCI_MEMORY_BASE, 4, 0xFEB0FE90)  # 0xfe900000-0xfebfffff
    br.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    d.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    d.config_write(R.PCI_BASE_ADDRESS_4, 4, 0xFE800000)  # 0xfe800000-0xfe9fffff
    assert d.bars[4].address == 0xFE800000 and not d.bars[4].visible
    d.config_write(R.PCI_BASE_ADDRESS_4, 4, 0xFEA00000)  # wholly inside
    assert d.bars[4].visible


def test_intx_is_swizzled_across_the_bridge():
    m, host, br = setup()
    program_buses(br)
    d0 = br.plug(device("d0"), 0)
    d2 = br.plug(device("d2"), 2)
    # child slot s, INTA -> bridge pin s mod 4; the bridge at slot 5 on pc then uses
    # PIRQ (pin + 5 - 1) mod 4: INTA -> PIRQA (10), INTC -> PIRQC (11)
    assert host.irq_for(d0) == 10
    assert host.irq_for(d2) == 11
    d2.set_irq(1)
    assert m.irq(11).level and not m.irq(10).level
    d0.set_irq(1)
    assert m.irq(10).level
    d2.set_irq(0)
    assert not m.irq(11).level and m.irq(10).level


def test_secondary_bus_reset_resets_devices_below():
    m, host, br = setup()
    program_buses(br)
    d = br.plug(device(), 0)
    d.config_write(R.PCI_COMMAND, 2, 0x7)
    br.config_write(R.PCI_BRIDGE_CONTROL, 2, R.PCI_BRIDGE_CTL_BUS_RESET)
    assert d.command == 0
    d.config_write(R.PCI_COMMAND, 2, 0x7)
    br.config_write(R.PCI_BRIDGE_CONTROL, 2, R.PCI_BRIDGE_CTL_BUS_RESET)  # no 0->1 edge
    assert d.command == 0x7


def test_bridge_reset_clears_bus_numbers_and_windows():
    m, host, br = setup()
    program_buses(br, 0, 1, 4)
    br.config_write(R.PCI_MEMORY_BASE, 4, 0xFE80FE80)
    br.reset()
    assert br.config.read(R.PCI_PRIMARY_BUS, 4) == 0
    assert br.config.read(R.PCI_MEMORY_BASE, 4) == 0
    assert br.config.read(R.PCI_PREF_MEMORY_BASE, 4) == 0x00010001


def test_unplugging_a_bridge_takes_its_devices_along():
    m, host, br = setup()
    program_buses(br)
    d = br.plug(device(), 0)
    br.config_write(R.PCI_MEMORY_BASE, 4, 0xFE80FE80)
    br.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    d.config_write(R.PCI_BASE_ADDRESS_0, 4, 0xFE800000)
    d.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    d.set_irq(1)
    assert m.memory.region_at(0xFE800000) is not None and m.irq(10).level
    host.root.unplug(br)
    assert m.memory.region_at(0xFE800000) is None and not m.irq(10).level
    assert d.bus is None and host.config_read(1, 0, 0, 4) == 0xFFFFFFFF
