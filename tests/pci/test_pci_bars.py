"""BARs: the sizing protocol, decode, placement in the address spaces, ROM, MSI-X."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iomem.devices.pci import BarOps, ConfigError, MsiDoorbell, PciFunction, PciHost
from iomem.devices.pci import regs as R
from iomem.machine import Machine
from iomem.phys import ABORT, IGNORE, AccessRules, BusError


class Regs:
    """A register file that remembers what was written, to see accesses arrive."""

    def __init__(self) -> None:
        self.store: dict[int, int] = {}
        self.ops = BarOps(AccessRules(valid_sizes=frozenset({1, 2, 4})), self.read, self.write)

    def read(self, offset: int, size: int) -> int:
        return self.store.get(offset, 0x5A5A5A5A) & ((1 << (8 * size)) - 1)

    def write(self, offset: int, size: int, value: int) -> None:
        self.store[offset] = value


def pc(policy: str = IGNORE) -> tuple[Machine, PciHost]:
    m = Machine("pc", arch="x86_64", bus_error_policy=policy)
    m.add_ram("ram", 0, 1 << 20)
    return m, PciHost.i440fx(m)


def sized(fn: PciFunction, offset: int) -> int:
    """Write all-ones, read back, restore: what the kernel's __pci_read_base does."""
    old = fn.config_read(offset, 4)
    fn.config_write(offset, 4, 0xFFFFFFFF)
    got = fn.config_read(offset, 4)
    fn.config_write(offset, 4, old)
    return got


def test_sizing_32bit_memory_bar():
    fn = PciFunction("d")
    fn.add_bar(0, 1 << 20, "mem32")
    fn.add_bar(1, 0x1000, "mem32", prefetch=True)
    assert fn.config_read(R.PCI_BASE_ADDRESS_0, 4) == 0
    assert sized(fn, R.PCI_BASE_ADDRESS_0) == 0xFFF00000
    assert sized(fn, R.PCI_BASE_ADDRESS_1) == 0xFFFFF008
    assert fn.config_read(R.PCI_BASE_ADDRESS_0, 4) == 0  # restored


def test_sizing_64bit_memory_bar_pair():
    fn = PciFunction("d")
    fn.add_bar(2, 1 << 33, "mem64", prefetch=True)
    assert fn.config_read(R.PCI_BASE_ADDRESS_2, 4) == 0x0C
    assert sized(fn, R.PCI_BASE_ADDRESS_2) == 0x0000000C
    assert sized(fn, R.PCI_BASE_ADDRESS_3) == 0xFFFFFFFE
    small = PciFunction("e")
    small.add_bar(0, 0x4000, "mem64")
    assert sized(small, R.PCI_BASE_ADDRESS_0) == 0xFFFFC004
    assert sized(small, R.PCI_BASE_ADDRESS_1) == 0xFFFFFFFF


def test_sizing_io_bar_and_unused_bars():
    fn = PciFunction("d")
    fn.add_bar(4, 0x20, "io")
    assert sized(fn, R.PCI_BASE_ADDRESS_4) == 0xFFFFFFE1
    for off in (R.PCI_BASE_ADDRESS_0, R.PCI_BASE_ADDRESS_5):
        assert sized(fn, off) == 0  # unimplemented BARs read zero


def test_sizing_expansion_rom():
    fn = PciFunction("d")
    fn.add_rom(b"\x55\xaa" + bytes(30000))
    assert fn.bars[R.PCI_ROM_RESOURCE].size == 0x8000
    # the kernel sizes the ROM with the enable bit clear: ~PCI_ROM_ADDRESS_ENABLE
    fn.config_write(R.PCI_ROM_ADDRESS, 4, 0xFFFFFFFE)
    assert fn.config_read(R.PCI_ROM_ADDRESS, 4) == 0xFFFF8000
    fn.config_write(R.PCI_ROM_ADDRESS, 4, 0xFFFFFFFF)
    assert fn.config_read(R.PCI_ROM_ADDRESS, 4) == 0xFFFF8001


@given(st.integers(4, 31), st.sampled_from(["mem32", "mem64", "io"]), st.booleans())
def test_sizing_returns_the_mask_for_every_power_of_two(shift, kind, prefetch):
    size = 1 << shift
    if kind == "io":
        prefetch = False
    fn = PciFunction("d")
    fn.add_bar(0, size, kind, prefetch=prefetch)
    low = sized(fn, R.PCI_BASE_ADDRESS_0)
    flags = {"mem32": 0, "mem64": 4, "io": 1}[kind] | (8 if prefetch else 0)
    assert low == (~(size - 1) & 0xFFFFFFFF) | flags
    # the kernel's size computation gives the size back
    mask = R.PCI_BASE_ADDRESS_IO_MASK if kind == "io" else R.PCI_BASE_ADDRESS_MEM_MASK
    assert (~(low & mask) & 0xFFFFFFFF) + 1 == size
    if kind == "mem64":
        assert sized(fn, R.PCI_BASE_ADDRESS_1) == 0xFFFFFFFF


@given(st.integers(32, 40))
def test_sizing_64bit_bars_above_4g(shift):
    fn = PciFunction("d")
    fn.add_bar(0, 1 << shift, "mem64")
    assert sized(fn, R.PCI_BASE_ADDRESS_0) == 0x4
    hi = sized(fn, R.PCI_BASE_ADDRESS_1)
    assert (((hi << 32) | 0) ^ 0xFFFFFFFFFFFFFFFF) + 1 == 1 << shift


def test_bar_registration_errors():
    fn = PciFunction("d")
    with pytest.raises(ConfigError):
        fn.add_bar(0, 0x3000)  # not a power of two
    with pytest.raises(ConfigError):
        fn.add_bar(0, 8)  # memory BARs are 16 bytes at least
    with pytest.raises(ConfigError):
        fn.add_bar(5, 0x1000, "mem64")  # needs BAR 6, which is the ROM
    with pytest.raises(ConfigError):
        fn.add_bar(0, 0x100, "io", prefetch=True)
    fn.add_bar(0, 0x1000, "mem64")
    with pytest.raises(ConfigError):
        fn.add_bar(1, 0x1000)  # the upper half of BAR 0
    with pytest.raises(ConfigError):
        fn.add_bar(7, 0x1000)


def test_memory_bar_decodes_only_with_memory_enable():
    m, host = pc()
    regs = Regs()
    fn = PciFunction("d", vendor_id=0x1234, device_id=0x5678)
    bar = fn.add_bar(0, 0x1000, ops=regs.ops, name="d-regs")
    host.plug(fn, 5)
    fn.config_write(R.PCI_BASE_ADDRESS_0, 4, 0xFEB00000)
    assert bar.address is None and not bar.visible
    assert m.memory.read(0xFEB00010, 4) == 0xFFFFFFFF  # master abort: all-ones
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    assert bar.address == 0xFEB00000 and bar.visible
    assert m.memory.region_at(0xFEB00000).name == "d-regs"
    m.memory.write(0xFEB00010, 4, 0x12345678)
    assert regs.store[0x10] == 0x12345678
    assert m.memory.read(0xFEB00010, 4) == 0x12345678
    fn.config_write(R.PCI_COMMAND, 2, 0)
    assert m.memory.region_at(0xFEB00000) is None
    assert m.memory.read(0xFEB00010, 4) == 0xFFFFFFFF


def test_decode_off_is_a_bus_error_on_an_aborting_board():
    m, host = pc(ABORT)
    fn = host.plug(PciFunction("d"), 5)
    fn.add_bar(0, 0x1000, ops=Regs().ops)
    fn.config_write(R.PCI_BASE_ADDRESS_0, 4, 0xFEB00000)
    with pytest.raises(BusError) as err:
        m.memory.read(0xFEB00000, 4)
    assert err.value.kind == "unassigned"


def test_bar_moves_when_reprogrammed():
    m, host = pc()
    regs = Regs()
    fn = PciFunction("d")
    fn.add_bar(0, 0x1000, ops=regs.ops)
    host.plug(fn, 5)
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    fn.config_write(R.PCI_BASE_ADDRESS_0, 4, 0xFEB00000)
    fn.config_write(R.PCI_BASE_ADDRESS_0, 4, 0xFEC10000)
    assert m.memory.region_at(0xFEB00000) is None
    m.memory.write(0xFEC10004, 4, 7)
    assert regs.store[4] == 7


def test_bar_address_rules_follow_qemu():
    m, host = pc()
    fn = PciFunction("d")
    fn.add_bar(0, 0x1000, ops=Regs().ops)
    fn.add_bar(2, 0x1000, "mem64", ops=Regs().ops)
    host.plug(fn, 5)
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    b0, b2 = fn.bars[0], fn.bars[2]
    assert b0.address is None  # address 0 never decodes on pc
    fn.config_write(R.PCI_BASE_ADDRESS_0, 4, 0xFFFFF000)  # ends at 0xffffffff: not mapped
    assert b0.address is None
    fn.config_write(R.PCI_BASE_ADDRESS_0, 4, 0xFFFFE000)
    assert b0.address == 0xFFFFE000
    fn.config_write(R.PCI_BASE_ADDRESS_2, 4, 0x00000000)
    fn.config_write(R.PCI_BASE_ADDRESS_3, 4, 0x00000001)
    assert b2.address == 1 << 32  # a 64-bit BAR above 4 GiB
    assert m.memory.region_at(1 << 32) is b2.region
    fn.config_write(R.PCI_BASE_ADDRESS_2, 4, 0xFFFFFFFF)  # sizing with decode on
    fn.config_write(R.PCI_BASE_ADDRESS_3, 4, 0xFFFFFFFF)
    assert b2.address is None


def test_ram_wins_over_a_bar_placed_on_it():
    m, host = pc()
    m.memory.write(0x80000, 4, 0xCAFEF00D)
    fn = PciFunction("d")
    fn.add_bar(0, 0x1000, ops=Regs().ops)
    host.plug(fn, 5)
    fn.config_write(R.PCI_BASE_ADDRESS_0, 4, 0x80000)
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    assert fn.bars[0].visible
    assert m.memory.read(0x80000, 4) == 0xCAFEF00D


def test_io_bar_in_port_space():
    m, host = pc()
    regs = Regs()
    fn = PciFunction("d")
    fn.add_bar(1, 0x20, "io", ops=regs.ops, name="d-io")
    host.plug(fn, 5)
    fn.config_write(R.PCI_BASE_ADDRESS_1, 4, 0xC000)
    assert m.io.region_at(0xC000) is None
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_IO)
    assert m.io.region_at(0xC01F).name == "d-io"
    m.io.write(0xC004, 2, 0xBEEF)
    assert regs.store[4] == 0xBEEF
    assert fn.config_read(R.PCI_BASE_ADDRESS_1, 4) == 0xC001
    fn.config_write(R.PCI_BASE_ADDRESS_1, 4, 0x10000)  # beyond the 64 KiB port space
    assert not fn.bars[1].visible


def test_io_bar_on_a_memory_mapped_io_window():
    m = Machine("virt", bus_error_policy=ABORT)
    host = PciHost.virt(m)
    regs = Regs()
    fn = PciFunction("d")
    fn.add_bar(0, 0x100, "io", ops=regs.ops)
    host.plug(fn, 1)
    fn.config_write(R.PCI_BASE_ADDRESS_0, 4, 0x1000)
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_IO)
    m.memory.write(0x3EFF1000 + 8, 4, 42)
    assert regs.store[8] == 42


def test_virt_host_forwards_only_its_windows():
    m = Machine("virt", bus_error_policy=ABORT)
    host = PciHost.virt(m)
    fn = PciFunction("d")
    fn.add_bar(0, 0x1000, ops=Regs().ops)
    host.plug(fn, 1)
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    fn.config_write(R.PCI_BASE_ADDRESS_0, 4, 0x10000000)
    assert fn.bars[0].visible
    fn.config_write(R.PCI_BASE_ADDRESS_0, 4, 0x40000000)  # decodes, but outside the window
    assert fn.bars[0].address == 0x40000000 and not fn.bars[0].visible


def test_expansion_rom_needs_its_enable_bit():
    m, host = pc()
    fn = PciFunction("d")
    fn.add_rom(b"\x55\xaaROMDATA")
    host.plug(fn, 5)
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    fn.config_write(R.PCI_ROM_ADDRESS, 4, 0xFEB40000)
    assert m.memory.region_at(0xFEB40000) is None
    fn.config_write(R.PCI_ROM_ADDRESS, 4, 0xFEB40001)
    assert m.memory.read(0xFEB40000, 2) == 0xAA55
    assert m.memory.read_bytes(0xFEB40002, 7) == b"ROMDATA"
    m.memory.write(0xFEB40000, 4, 0)  # ROM ignores writes
    assert m.memory.read(0xFEB40000, 2) == 0xAA55
    assert m.memory.read(0xFEB407FC, 4) == 0xFFFFFFFF  # padding


def test_reset_unmaps_and_restores_type_bits():
    m, host = pc()
    fn = PciFunction("d", interrupt_pin=1)
    fn.add_bar(0, 0x1000, "mem64", prefetch=True, ops=Regs().ops)
    host.plug(fn, 5)
    fn.config_write(R.PCI_BASE_ADDRESS_0, 4, 0xFEB00000)
    fn.config_write(R.PCI_INTERRUPT_LINE, 1, 11)
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_MASTER)
    fn.reset()
    assert fn.command == 0
    assert fn.config_read(R.PCI_BASE_ADDRESS_0, 4) == 0x0C
    assert fn.config_read(R.PCI_INTERRUPT_LINE, 1) == 0
    assert m.memory.region_at(0xFEB00000) is None


def test_msix_table_and_pba_in_a_bar():
    m, host = pc()
    doorbell = MsiDoorbell.x86_apic()
    m.add_device(doorbell, 0xFEE00000)
    fn = PciFunction("d", interrupt_pin=1)
    fn.add_bar(1, 0x1000, name="d-msix")  # no ops: only the table and PBA decode
    msix = fn.add_msix(4, table_bar=1, table_offset=0, pba_bar=1, pba_offset=0x800)
    host.plug(fn, 5)
    pos = msix.offset
    assert fn.config_read(pos + R.PCI_MSIX_FLAGS, 2) == 3
    assert fn.config_read(pos + R.PCI_MSIX_TABLE, 4) == 1
    assert fn.config_read(pos + R.PCI_MSIX_PBA, 4) == 0x801
    fn.config_write(R.PCI_BASE_ADDRESS_1, 4, 0xFEB80000)
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_MASTER)
    base = 0xFEB80000
    assert m.memory.read(base + 0x0C, 4) == 1  # every vector starts masked
    assert m.memory.read(base + 0x400, 4) == 0xFFFFFFFF  # a hole in the BAR
    m.memory.write(base + 0x10, 4, 0xFEE00000)  # vector 1
    m.memory.write(base + 0x14, 4, 0)
    m.memory.write(base + 0x18, 4, 0x45)
    fn.config_write(pos + R.PCI_MSIX_FLAGS, 2, R.PCI_MSIX_FLAGS_ENABLE)
    line = m.irq(0x45)
    msix.notify(1)  # masked: pending
    assert line.count == 0 and m.memory.read(base + 0x800, 4) == 0b10
    m.memory.write(base + 0x1C, 4, 0)  # unmask: the pending message goes out
    assert line.count == 1 and m.memory.read(base + 0x800, 4) == 0
    fn.config_write(pos + R.PCI_MSIX_FLAGS, 2, R.PCI_MSIX_FLAGS_ENABLE | R.PCI_MSIX_FLAGS_MASKALL)
    msix.notify(1)
    assert line.count == 1 and msix.is_pending(1)
    fn.config_write(pos + R.PCI_MSIX_FLAGS, 2, R.PCI_MSIX_FLAGS_ENABLE)
    assert line.count == 2 and doorbell.messages[-1] == (0xFEE00000, 0x45)
    m.memory.write(base + 0x800, 4, 0xFF)  # the PBA is read-only
    assert m.memory.read(base + 0x800, 4) == 0
