"""Host bridges: CF8/CFC and ECAM config access, absent functions, INTx routing, MSI, DMA."""

import pytest

from iomem.devices.pci import MsiDoorbell, PciFunction, PciHost, parse_bdf
from iomem.devices.pci import regs as R
from iomem.machine import Machine
from iomem.phys import ABORT, IGNORE


def pc() -> tuple[Machine, PciHost]:
    m = Machine("pc", arch="x86_64", bus_error_policy=IGNORE)
    m.add_ram("ram", 0, 1 << 20)
    return m, PciHost.i440fx(m)


def nic(**kw) -> PciFunction:
    kw.setdefault("interrupt_pin", 1)
    return PciFunction("e1000", vendor_id=0x8086, device_id=0x100E, revision=3,
                       class_code=0x020000, **kw)


def cf8(bus: int, devfn: int, reg: int) -> int:
    return 0x80000000 | (bus << 16) | (devfn << 8) | (reg & 0xFC)


def test_cf8_cfc_reads_identification():
    m, host = pc()
    host.plug(nic(), 3)
    m.io.write(0xCF8, 4, cf8(0, 0, 0))
    assert m.io.read(0xCFC, 4) == 0x12378086  # 440FX at 00:00.0
    m.io.write(0xCF8, 4, cf8(0, R.PCI_DEVFN(3, 0), 0))
    assert m.io.read(0xCFC, 4) == 0x100E8086
    assert m.io.read(0xCFE, 2) == 0x100E
    assert m.io.read(0xCFD, 1) == 0x80
    m.io.write(0xCF8, 4, cf8(0, R.PCI_DEVFN(3, 0), 0x08))
    assert m.io.read(0xCFF, 1) == 0x02  # class byte
    assert m.io.read(0xCF8, 4) == cf8(0, R.PCI_DEVFN(3, 0), 0x08)


def test_cf8_cfc_absent_function_and_disabled_window_read_all_ones():
    m, host = pc()
    m.io.write(0xCF8, 4, cf8(0, R.PCI_DEVFN(7, 0), 0))
    assert m.io.read(0xCFC, 4) == 0xFFFFFFFF
    assert m.io.read(0xCFC, 2) == 0xFFFF
    assert m.io.read(0xCFD, 1) == 0xFF
    m.io.write(0xCF8, 4, cf8(5, 0, 0))  # no bus 5
    assert m.io.read(0xCFC, 4) == 0xFFFFFFFF
    m.io.write(0xCF8, 4, 0x00000000)  # enable bit clear
    assert m.io.read(0xCFC, 4) == 0xFFFFFFFF


def test_cf8_cfc_byte_lanes_match_qemu():
    """Checked against QEMU 7.2's pc machine over qtest."""
    m, host = pc()
    host.plug(nic(), 4)
    m.io.write(0xCF8, 4, cf8(0, R.PCI_DEVFN(4, 0), 0x10))
    assert m.io.read(0xCFA, 1) == 0x10  # the index port returns its latch's low bytes
    assert m.io.read(0xCFA, 2) == 0x2010
    m.io.write(0xCF8, 4, cf8(0, R.PCI_DEVFN(4, 0), 0))
    assert m.io.read(0xCFD, 1) == 0x80
    assert m.io.read(0xCFD, 2) == 0x0E80  # unaligned port access: config bytes 1-2
    m.io.write(0xCF8, 4, cf8(0, R.PCI_DEVFN(4, 0), 0) | 1)  # low bits OR into the offset
    assert m.io.read(0xCFC, 4) == 0x00100E80


def test_cf8_latches_only_aligned_dword_writes():
    m, host = pc()
    m.io.write(0xCF8, 4, cf8(0, 0, 0))
    m.io.write(0xCF9, 1, 0x06)  # a byte write (the PIIX reset control's port) is not a latch
    m.io.write(0xCF8, 2, 0x1234)
    assert m.io.read(0xCF8, 4) == 0x80000000


def test_cf8_cfc_writes_go_through_the_masks():
    m, host = pc()
    fn = host.plug(nic(), 3)
    m.io.write(0xCF8, 4, cf8(0, fn.devfn, R.PCI_COMMAND))
    m.io.write(0xCFC, 2, 0xFFFF)
    assert fn.command == 0x0507
    m.io.write(0xCF8, 4, cf8(0, fn.devfn, R.PCI_INTERRUPT_LINE))
    m.io.write(0xCFC, 1, 11)
    assert fn.config.read(R.PCI_INTERRUPT_LINE, 1) == 11
    m.io.write(0xCF8, 4, cf8(0, R.PCI_DEVFN(9, 0), R.PCI_COMMAND))
    m.io.write(0xCFC, 2, 0xFFFF)  # to nobody: dropped


def test_cf8_cfc_sees_only_256_bytes():
    m = Machine("q35", arch="x86_64", bus_error_policy=IGNORE)
    host = PciHost(m, io_space=m.io, express=True)
    host.add_cf8_cfc()
    fn = host.plug(nic(express=True), 2)
    fn.config.set_long(0x100, 0x00010001)
    assert host.config_read(0, fn.devfn, 0x100, 4) == 0x00010001  # extended: ECAM/Python
    assert host.config_read(0, fn.devfn, 0x100, 4, extended=False) == 0xFFFFFFFF


def test_ecam_on_virt():
    m = Machine("virt", bus_error_policy=ABORT)
    host = PciHost.virt(m)
    conv = host.plug(nic(), 1)
    pcie = host.plug(nic(express=True), 2)
    pcie.add_express()
    ecam = 0x4010000000
    assert m.memory.read(ecam, 4) == 0x00081B36  # the generic host bridge
    assert m.memory.read(ecam + (conv.devfn << 12), 4) == 0x100E8086
    assert m.memory.read(ecam + (R.PCI_DEVFN(9, 0) << 12), 4) == 0xFFFFFFFF
    assert m.memory.read(ecam + (3 << 20), 2) == 0xFFFF  # bus 3: nobody
    # beyond a conventional function's 256 bytes: all-ones; a PCIe one has 4 KiB
    assert m.memory.read(ecam + (conv.devfn << 12) + 0x100, 4) == 0xFFFFFFFF
    assert m.memory.read(ecam + (pcie.devfn << 12) + 0x100, 4) == 0
    m.memory.write(ecam + (conv.devfn << 12) + R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    assert conv.command == R.PCI_COMMAND_MEMORY


def test_python_config_api():
    m, host = pc()
    fn = host.plug(nic(), 3)
    assert host.config_read(0, fn.devfn, 0, 2) == 0x8086
    assert host.config_read(0, R.PCI_DEVFN(4, 0), 0, 4) == 0xFFFFFFFF
    assert host.config_read(0, fn.devfn, 0x100, 4) == 0xFFFFFFFF
    fn.config_write(0xFE, 2, 0xABCD)
    assert host.config_read(0, fn.devfn, 0xFE, 4) == 0xABCD  # clipped at the end, as QEMU does
    with pytest.raises(ValueError):
        host.config_read(0, fn.devfn, 0, 3)
    assert host.lookup("0000:00:03.0") is fn
    assert host.lookup("00:03.0") is fn
    assert host.lookup("0001:00:03.0") is None
    assert fn.address == "0000:00:03.0"
    assert [f.name for f in host.functions()] == ["i440FX", "e1000"]


def test_parse_bdf():
    assert parse_bdf("0000:00:04.0") == (0, 0, 4, 0)
    assert parse_bdf("1f:1f.7") == (0, 0x1F, 0x1F, 7)
    for bad in ("00:20.0", "00:04", "zz:00.0", "00:04.8"):
        with pytest.raises(ValueError):
            parse_bdf(bad)


def test_plugging_rules():
    m, host = pc()
    host.plug(nic(), 3)
    with pytest.raises(ValueError):
        host.plug(nic(), 3)  # occupied
    with pytest.raises(ValueError):
        host.plug(nic(), 3, 1)  # 03.0 is single-function
    with pytest.raises(ValueError):
        host.plug(nic(), 32)
    multi = host.plug(nic(multifunction=True), 6)
    host.plug(nic(), 6, 1)
    assert multi.config.read(R.PCI_HEADER_TYPE, 1) == 0x80


def test_intx_routing_on_pc():
    m, host = pc()
    fns = {slot: host.plug(nic(), slot) for slot in (3, 4, 5, 6)}
    # PIRQ (pin + slot - 1) mod 4 -> 10, 10, 11, 11
    assert {s: host.irq_for(f) for s, f in fns.items()} == {3: 11, 4: 11, 5: 10, 6: 10}
    host.assign_interrupt_lines()
    assert fns[4].config.read(R.PCI_INTERRUPT_LINE, 1) == 11
    line = m.irq(11)
    fns[3].set_irq(1)
    fns[4].set_irq(1)
    assert line.level and fns[3].status & R.PCI_STATUS_INTERRUPT
    fns[3].set_irq(0)
    assert line.level  # 00:04.0 still holds the shared line
    fns[4].set_irq(0)
    assert not line.level and not fns[4].status & R.PCI_STATUS_INTERRUPT


def test_intx_disable_gates_the_line_but_not_the_status_bit():
    m, host = pc()
    fn = host.plug(nic(), 4)
    line = m.irq(11)
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_INTX_DISABLE)
    fn.set_irq(1)
    assert not line.level and fn.status & R.PCI_STATUS_INTERRUPT
    fn.config_write(R.PCI_COMMAND, 2, 0)  # re-enabled: the pending level reaches the line
    assert line.level
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_INTX_DISABLE)
    assert not line.level
    fn.set_irq(0)
    fn.config_write(R.PCI_COMMAND, 2, 0)
    assert not line.level


def test_byte_write_of_intx_disable_is_not_reevaluated_as_in_qemu():
    """QEMU 7.2 re-drives INTx only for writes covering the command register's low
    byte; a 1-byte write to offset 5 (what a UIO program does) flips the bit silently,
    and the line's asserter count can then go negative (reading as asserted)."""
    m, host = pc()
    fn = host.plug(nic(), 4)
    line = m.irq(11)
    fn.set_irq(1)
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_INTX_DISABLE)
    assert not line.level
    fn.config_write(R.PCI_COMMAND + 1, 1, 0)
    assert not fn.intx_disabled and not line.level  # not re-driven
    fn.set_irq(0)
    assert line.level  # count -1: QEMU's set_irq(count != 0)
    fn.set_irq(1)
    assert not line.level


def test_msi_reaches_a_doorbell_only_as_bus_master():
    m, host = pc()
    doorbell = MsiDoorbell.x86_apic()
    m.add_device(doorbell, 0xFEE00000)
    fn = host.plug(nic(), 3)
    msi = fn.add_msi(vectors=4, address64=False)
    pos = msi.offset
    fn.config_write(pos + R.PCI_MSI_ADDRESS_LO, 4, 0xFEE00000)
    fn.config_write(pos + R.PCI_MSI_DATA_32, 2, 0x4020)
    fn.config_write(pos + R.PCI_MSI_FLAGS, 2, R.PCI_MSI_FLAGS_ENABLE | (2 << 4))  # 4 vectors
    fn.msi_notify(3)
    assert doorbell.messages == [] and fn.dma_blocked == [("msi", 0xFEE00000, 4)]
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MASTER)
    fn.msi_notify(3)
    assert doorbell.messages == [(0xFEE00000, 0x4023)]  # vector in the low data bits
    assert m.irq(0x23).count == 1
    assert host.msi_log == [("0000:00:03.0", 0xFEE00000, 0x4023)]


def test_msi_to_nowhere_is_a_recorded_master_abort():
    m = Machine("virt", bus_error_policy=ABORT)
    host = PciHost.virt(m)
    fn = host.plug(nic(), 1)
    msi = fn.add_msi()
    fn.config_write(msi.offset + R.PCI_MSI_ADDRESS_LO, 4, 0x08020040)
    fn.config_write(msi.offset + R.PCI_MSI_FLAGS, 2, R.PCI_MSI_FLAGS_ENABLE)
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MASTER)
    fn.msi_notify()
    assert fn.dma_errors and fn.dma_errors[0].addr == 0x08020040
    gic = MsiDoorbell.gicv2m()
    m.add_device(gic, 0x08020000)
    fn.config_write(msi.offset + R.PCI_MSI_DATA_64, 2, 80)
    fn.msi_notify()
    assert m.irq(80).count == 1


def test_enabling_msi_deasserts_intx():
    m, host = pc()
    fn = host.plug(nic(), 4)
    msi = fn.add_msi()
    fn.set_irq(1)
    assert m.irq(11).level
    fn.config_write(msi.offset + R.PCI_MSI_FLAGS, 2, R.PCI_MSI_FLAGS_ENABLE)
    assert not m.irq(11).level and fn.irq_state == 0


def test_msi_per_vector_mask_holds_messages_pending():
    m, host = pc()
    m.add_device(MsiDoorbell.x86_apic(), 0xFEE00000)
    fn = host.plug(nic(), 3)
    msi = fn.add_msi(vectors=2, per_vector_mask=True)
    pos = msi.offset
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MASTER)
    fn.config_write(pos + R.PCI_MSI_ADDRESS_LO, 4, 0xFEE00000)
    fn.config_write(pos + R.PCI_MSI_DATA_64, 2, 0x30)
    fn.config_write(pos + R.PCI_MSI_MASK_64, 4, 0b10)
    fn.config_write(pos + R.PCI_MSI_FLAGS, 2, R.PCI_MSI_FLAGS_ENABLE | (1 << 4))
    fn.msi_notify(1)
    assert m.irq(0x31).count == 0 and msi.pending == 0b10
    fn.config_write(pos + R.PCI_MSI_MASK_64, 4, 0)
    # QEMU delivers pending vectors when the capability is written while enabled
    fn.config_write(pos + R.PCI_MSI_FLAGS, 2, R.PCI_MSI_FLAGS_ENABLE | (1 << 4))
    assert m.irq(0x31).count == 1 and msi.pending == 0


def test_dma_needs_bus_master_and_walks_the_address_space():
    m, host = pc()
    fn = host.plug(nic(), 3)
    m.memory.write_bytes(0x1000, b"hello")
    assert fn.dma_read(0x1000, 5) == bytes(5)
    fn.dma_write(0x2000, b"xx")
    assert m.memory.read_bytes(0x2000, 2) == b"\0\0"
    assert [k for k, _a, _n in fn.dma_blocked] == ["read", "write"]
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MASTER)
    assert fn.dma_read(0x1000, 5) == b"hello"
    fn.dma_write(0x2000, b"xx")
    assert m.memory.read_bytes(0x2000, 2) == b"xx"
    # straddling the end of RAM: the tail is a master abort, zeros, recorded
    end = 1 << 20
    m.memory.write_bytes(end - 2, b"ab")
    assert fn.dma_read(end - 2, 4) == b"ab\0\0"
    assert fn.dma_errors[-1].addr == end and fn.dma_errors[-1].size == 2
    fn.dma_write(end - 1, b"yz")
    assert m.memory.read_bytes(end - 1, 1) == b"y"


def test_host_reset_resets_every_function():
    m, host = pc()
    fn = host.plug(nic(), 3)
    fn.config_write(R.PCI_COMMAND, 2, 0x7)
    m.io.write(0xCF8, 4, 0x80000000)
    host.reset()
    assert fn.command == 0 and m.io.read(0xCF8, 4) == 0
