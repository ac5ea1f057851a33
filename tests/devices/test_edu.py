"""QEMU's edu device, rule by rule (reference: QEMU 7.2 hw/misc/edu.c)."""

import contextlib
import os
import shutil
import signal
import subprocess
import time
from math import factorial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iomem.devices.edu import (
    DMA_IRQ,
    FACT_DELAY_NS,
    FACT_IRQ,
    EduDevice,
    EduHardwareError,
    factorial32,
)
from iomem.devices.pci import MsiDoorbell, PciHost
from iomem.devices.pci import regs as R
from iomem.machine import Machine
from iomem.phys import ABORT, IGNORE, BusError

BAR = 0xFEA00000
MS = 1_000_000


class Rig:
    """A pc-like machine with edu at 00:04.0, BAR0 at 0xfea00000, decode and mastering on."""

    def __init__(self, policy: str = IGNORE, ram: int = 1 << 20, **edu_kw) -> None:
        self.m = Machine("pc", arch="x86_64", bus_error_policy=policy)
        self.m.add_ram("ram", 0, ram)
        self.host = PciHost.i440fx(self.m)
        self.doorbell = MsiDoorbell.x86_apic()
        self.m.add_device(self.doorbell, 0xFEE00000)
        self.edu = self.host.plug(EduDevice(**edu_kw), 4)
        self.host.assign_interrupt_lines()
        self.cfg_write(R.PCI_BASE_ADDRESS_0, 4, BAR)
        self.cfg_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_MASTER)
        self.intx = self.m.irq(11)

    def cfg_read(self, off: int, size: int) -> int:
        return self.host.config_read(0, self.edu.devfn, off, size)

    def cfg_write(self, off: int, size: int, value: int) -> None:
        self.host.config_write(0, self.edu.devfn, off, size, value)

    def readl(self, off: int) -> int:
        return self.m.memory.read(BAR + off, 4)

    def writel(self, off: int, value: int) -> None:
        self.m.memory.write(BAR + off, 4, value)

    def readq(self, off: int) -> int:
        return self.m.memory.read(BAR + off, 8)

    def writeq(self, off: int, value: int) -> None:
        self.m.memory.write(BAR + off, 8, value)

    def step(self, ns: int) -> None:
        self.m.step(ns)

    def enable_msi(self, data: int = 0x41) -> None:
        pos = self.edu.msi.offset
        self.cfg_write(pos + R.PCI_MSI_ADDRESS_LO, 4, 0xFEE00000)
        self.cfg_write(pos + R.PCI_MSI_ADDRESS_HI, 4, 0)
        self.cfg_write(pos + R.PCI_MSI_DATA_64, 2, data)
        self.cfg_write(pos + R.PCI_MSI_FLAGS, 2, R.PCI_MSI_FLAGS_ENABLE)


@pytest.fixture
def rig() -> Rig:
    return Rig()


# -- PCI identity ------------------------------------------------------------------------------

def test_config_space_identity(rig):
    assert rig.cfg_read(R.PCI_VENDOR_ID, 2) == 0x1234
    assert rig.cfg_read(R.PCI_DEVICE_ID, 2) == 0x11E8
    assert rig.cfg_read(R.PCI_REVISION_ID, 1) == 0x10
    assert rig.cfg_read(R.PCI_CLASS_PROG, 1) == 0x00
    assert rig.cfg_read(R.PCI_CLASS_DEVICE, 2) == 0x00FF
    assert rig.cfg_read(R.PCI_HEADER_TYPE, 1) == 0
    assert rig.cfg_read(R.PCI_SUBSYSTEM_VENDOR_ID, 2) == 0x1AF4
    assert rig.cfg_read(R.PCI_SUBSYSTEM_ID, 2) == 0x1100
    assert rig.cfg_read(R.PCI_INTERRUPT_PIN, 1) == 1
    assert rig.cfg_read(R.PCI_INTERRUPT_LINE, 1) == 11  # PIRQD on pc, as SeaBIOS routes it
    assert rig.cfg_read(R.PCI_STATUS, 2) == R.PCI_STATUS_CAP_LIST
    assert rig.edu.address == "0000:00:04.0"


def test_msi_capability_at_0x40(rig):
    assert rig.cfg_read(R.PCI_CAPABILITY_LIST, 1) == 0x40
    assert rig.cfg_read(0x40, 1) == R.PCI_CAP_ID_MSI
    assert rig.cfg_read(0x41, 1) == 0  # the only capability
    assert rig.cfg_read(0x42, 2) == R.PCI_MSI_FLAGS_64BIT  # 1 vector, 64-bit, no masking
    assert rig.edu.config.capabilities() == [(R.PCI_CAP_ID_MSI, 0x40)]
    # QEMU leaves config bytes past the 14-byte capability writable
    rig.cfg_write(0x4E, 2, 0xBEEF)
    assert rig.cfg_read(0x4E, 2) == 0xBEEF


def test_bar0_sizing_and_type():
    r = Rig()
    r.cfg_write(R.PCI_COMMAND, 2, 0)
    r.cfg_write(R.PCI_BASE_ADDRESS_0, 4, 0xFFFFFFFF)
    assert r.cfg_read(R.PCI_BASE_ADDRESS_0, 4) == 0xFFF00000  # 1 MiB, 32-bit, non-prefetchable
    for off in range(R.PCI_BASE_ADDRESS_1, R.PCI_BASE_ADDRESS_5 + 4, 4):
        r.cfg_write(off, 4, 0xFFFFFFFF)
        assert r.cfg_read(off, 4) == 0
    r.cfg_write(R.PCI_ROM_ADDRESS, 4, 0xFFFFFFFE)
    assert r.cfg_read(R.PCI_ROM_ADDRESS, 4) == 0
    assert r.edu.mmio.name == "edu-mmio"


def test_memory_decode_off_makes_bar_unreachable(rig):
    assert rig.m.memory.region_at(BAR).name == "edu-mmio"
    rig.cfg_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MASTER)
    assert rig.m.memory.region_at(BAR) is None
    assert rig.readl(0) == 0xFFFFFFFF


# -- access rules ------------------------------------------------------------------------------

def test_identification(rig):
    assert rig.readl(0x00) == 0x010000ED
    rig.writel(0x00, 0)
    assert rig.readl(0x00) == 0x010000ED


def test_8_byte_access_below_0x80_reads_all_ones_and_writes_nothing(rig):
    assert rig.readq(0x00) == 0xFFFFFFFFFFFFFFFF
    assert rig.readq(0x08) == 0xFFFFFFFFFFFFFFFF
    rig.writeq(0x08, 5)  # not a factorial request
    assert not rig.edu.computing and rig.readl(0x08) == 0
    rig.writeq(0x60, 0xFF)  # not an interrupt
    assert rig.readl(0x24) == 0


@pytest.mark.parametrize("size", [1, 2])
def test_narrow_accesses_are_rejected_by_the_bus(rig, size):
    errors = rig.m.memory.bus_errors
    assert rig.m.memory.read(BAR, size) == 0  # x86: a rejected read gives 0
    assert errors[-1].kind == "size" and errors[-1].region == "edu-mmio"
    rig.m.memory.write(BAR + 0x04, size, 0x12)
    assert rig.readl(0x04) == 0  # the write was dropped


def test_narrow_access_aborts_on_an_aborting_board():
    r = Rig(ABORT)
    with pytest.raises(BusError) as err:
        r.m.memory.read(BAR, 2)
    assert err.value.kind == "size"


def test_misaligned_accesses_are_rejected(rig):
    assert rig.m.memory.read(BAR + 2, 4) == 0
    assert rig.m.memory.bus_errors[-1].kind == "unaligned"
    assert rig.m.memory.read(BAR + 0x84, 8) == 0
    assert rig.m.memory.bus_errors[-1].kind == "unaligned"


@pytest.mark.parametrize("off", [0x0C, 0x10, 0x1C, 0x28, 0x40, 0x60, 0x64, 0x7C, 0x84, 0x8C,
                                 0x94, 0x9C, 0xA0, 0x40000, 0x40FFC, 0xFFFFC])
def test_unknown_offsets_read_all_ones(rig, off):
    assert rig.readl(off) == 0xFFFFFFFF


@pytest.mark.parametrize("off", [0x40000, 0x80000, 0xFFFF8])
def test_unknown_offsets_read_all_ones_8_bytes(rig, off):
    assert rig.readq(off) == 0xFFFFFFFFFFFFFFFF


def test_writes_to_unknown_and_read_only_offsets_are_ignored(rig):
    rig.edu.dma_buf[0:4] = b"\x01\x02\x03\x04"
    before = (rig.readl(0x04), rig.readl(0x08), rig.readl(0x20), rig.readl(0x24))
    for off in (0x00, 0x0C, 0x24, 0x28, 0x84, 0x9C, 0x40000):
        rig.writel(off, 0xFFFFFFFF)
    assert (rig.readl(0x04), rig.readl(0x08), rig.readl(0x20), rig.readl(0x24)) == before
    assert rig.edu.dma_buf[0:4] == b"\x01\x02\x03\x04"  # the buffer is not visible by MMIO


def test_reset_state_is_all_zeroes(rig):
    for off in (0x04, 0x08, 0x20, 0x24, 0x80, 0x88, 0x90, 0x98):
        assert rig.readl(off) == 0, hex(off)


# -- liveness ----------------------------------------------------------------------------------

_LIVE = Rig()


@settings(deadline=None)
@given(st.integers(0, 0xFFFFFFFF))
def test_liveness_stores_the_complement(value):
    _LIVE.writel(0x04, value)
    assert _LIVE.readl(0x04) == value ^ 0xFFFFFFFF


# -- factorial ---------------------------------------------------------------------------------

def test_factorial_by_polling(rig):
    rig.writel(0x08, 13)
    assert rig.readl(0x20) & 1  # computing
    assert rig.readl(0x08) == 13  # the input, until the result lands
    rig.step(FACT_DELAY_NS - 1)
    assert rig.readl(0x20) & 1
    rig.step(1)
    assert rig.readl(0x20) & 1 == 0
    assert rig.readl(0x08) == 1932053504
    assert not rig.intx.level  # no irq unless status bit 7 asked for one


@pytest.mark.parametrize("n,expected", [(0, 1), (1, 1), (5, 120), (12, 479001600),
                                        (13, 1932053504), (20, 2192834560), (33, 2147483648),
                                        (34, 0), (100, 0), (0xFFFFFFFF, 0)])
def test_factorial_values(rig, n, expected):
    rig.writel(0x08, n)
    rig.step(FACT_DELAY_NS)
    assert rig.readl(0x08) == expected


@given(st.integers(0, 0xFFFFFFFF))
def test_factorial32_is_the_wrapping_product(n):
    if n < 200:
        assert factorial32(n) == factorial(n) % (1 << 32)
    else:
        assert factorial32(n) == 0


def test_write_while_computing_is_ignored(rig):
    rig.writel(0x08, 5)
    rig.writel(0x08, 13)
    rig.step(FACT_DELAY_NS)
    assert rig.readl(0x08) == 120
    rig.writel(0x08, 13)  # accepted again once done
    rig.step(FACT_DELAY_NS)
    assert rig.readl(0x08) == 1932053504


def test_status_bit_0_is_read_only_and_bit_7_is_writable(rig):
    rig.writel(0x20, 0xFFFFFFFF)
    assert rig.readl(0x20) == 0x80
    rig.writel(0x20, 0x7F)
    assert rig.readl(0x20) == 0x00
    rig.writel(0x08, 3)
    rig.writel(0x20, 0)  # does not clear "computing"
    assert rig.readl(0x20) == 0x01


def test_factorial_by_intx(rig):
    rig.writel(0x20, 0x80)
    rig.writel(0x08, 10)
    assert not rig.intx.level
    rig.step(FACT_DELAY_NS)
    assert rig.readl(0x08) == 3628800
    assert rig.readl(0x24) == FACT_IRQ
    assert rig.intx.level
    assert rig.cfg_read(R.PCI_STATUS, 2) & R.PCI_STATUS_INTERRUPT
    rig.writel(0x64, FACT_IRQ)
    assert not rig.intx.level and rig.readl(0x24) == 0
    assert not rig.cfg_read(R.PCI_STATUS, 2) & R.PCI_STATUS_INTERRUPT


def test_irq_enable_is_read_when_the_result_lands(rig):
    rig.writel(0x08, 4)
    rig.writel(0x20, 0x80)  # set while computing: still honoured
    rig.step(FACT_DELAY_NS)
    assert rig.intx.level and rig.readl(0x24) == FACT_IRQ


def test_factorial_by_msi(rig):
    rig.enable_msi(0x41)
    rig.writel(0x20, 0x80)
    rig.writel(0x08, 6)
    rig.step(FACT_DELAY_NS)
    assert rig.doorbell.messages == [(0xFEE00000, 0x41)]
    assert rig.m.irq(0x41).count == 1 and not rig.intx.level
    assert rig.readl(0x24) == FACT_IRQ


# -- interrupt raise / acknowledge -------------------------------------------------------------

def test_raise_and_ack_over_intx(rig):
    rig.writel(0x60, 0x30)
    assert rig.readl(0x24) == 0x30 and rig.intx.level
    rig.writel(0x60, 0x01)
    assert rig.readl(0x24) == 0x31
    rig.writel(0x64, 0x10)
    assert rig.readl(0x24) == 0x21 and rig.intx.level  # still pending
    rig.writel(0x64, 0xFFFFFFFF)
    assert rig.readl(0x24) == 0 and not rig.intx.level
    assert rig.readl(0x60) == 0xFFFFFFFF and rig.readl(0x64) == 0xFFFFFFFF  # write-only
    rig.writel(0x60, 0)  # raising nothing asserts nothing
    assert not rig.intx.level


def test_intx_disable_hides_the_line(rig):
    rig.cfg_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_INTX_DISABLE)
    rig.writel(0x60, 1)
    assert not rig.intx.level
    assert rig.cfg_read(R.PCI_STATUS, 2) & R.PCI_STATUS_INTERRUPT
    rig.cfg_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    assert rig.intx.level


def test_raise_over_msi_sends_a_message_per_raise(rig):
    rig.enable_msi(0x52)
    rig.writel(0x60, 0x1)
    rig.writel(0x60, 0x1)  # every raise with a non-zero status is a message
    assert rig.doorbell.messages == [(0xFEE00000, 0x52)] * 2
    assert rig.m.irq(0x52).count == 2
    assert not rig.intx.level
    rig.writel(0x64, 0x1)
    assert rig.readl(0x24) == 0


def test_msi_needs_bus_mastering(rig):
    rig.enable_msi()
    rig.cfg_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    rig.writel(0x60, 1)
    assert rig.doorbell.messages == [] and rig.edu.dma_blocked == [("msi", 0xFEE00000, 4)]
    assert not rig.intx.level  # and no INTx either: MSI is enabled


def test_enabling_msi_drops_an_asserted_intx(rig):
    rig.writel(0x60, 1)
    assert rig.intx.level
    rig.enable_msi()
    assert not rig.intx.level
    rig.writel(0x64, 1)  # acking with MSI on does not touch INTx
    assert not rig.intx.level


# -- DMA ---------------------------------------------------------------------------------------

def start_dma(rig: Rig, src: int, dst: int, count: int, cmd: int) -> None:
    rig.writeq(0x80, src)
    rig.writeq(0x88, dst)
    rig.writeq(0x90, count)
    rig.writeq(0x98, cmd)


def test_dma_registers(rig):
    rig.writeq(0x80, 0x1122334455667788)
    assert rig.readq(0x80) == 0x1122334455667788
    assert rig.readl(0x80) == 0x55667788  # a 4-byte read gives the low half
    assert rig.readl(0x84) == 0xFFFFFFFF  # the upper half is not a register
    rig.writel(0x80, 0xAABBCCDD)  # a 4-byte write sets the whole register, zero-extended
    assert rig.readq(0x80) == 0xAABBCCDD
    rig.writel(0x88, 7)
    rig.writel(0x90, 100)
    assert (rig.readq(0x88), rig.readq(0x90)) == (7, 100)


def test_dma_round_trip_100_bytes(rig):
    payload = bytes(range(100))
    rig.m.memory.write_bytes(0x10000, payload)
    start_dma(rig, 0x10000, 0x40000, 100, 0x1)  # RAM -> buffer
    assert rig.readq(0x98) == 1
    rig.step(100 * MS - 1)
    assert rig.readq(0x98) == 1 and bytes(rig.edu.dma_buf[:100]) == bytes(100)
    rig.step(1)
    assert rig.readq(0x98) == 0
    assert bytes(rig.edu.dma_buf[:100]) == payload
    start_dma(rig, 0x40000, 0x20000, 100, 0x7)  # buffer -> RAM, with an interrupt
    rig.step(100 * MS)
    assert rig.m.memory.read_bytes(0x20000, 100) == payload
    assert rig.readq(0x98) == 6  # bit 0 cleared, direction and irq bits kept
    assert rig.readl(0x24) == DMA_IRQ and rig.intx.level


def test_dma_completes_on_the_millisecond_timer(rig):
    rig.step(MS // 2)  # 0.5 ms: QEMU's ms clock still reads 0
    start_dma(rig, 0x1000, 0x40000, 4, 0x1)
    rig.step(100 * MS - MS // 2 - 1)
    assert rig.edu.dma_running
    rig.step(1)  # at exactly 100 ms
    assert not rig.edu.dma_running


def test_dma_registers_and_command_are_frozen_while_running(rig):
    start_dma(rig, 0x1000, 0x40000, 16, 0x1)
    rig.writeq(0x80, 0x9999)
    rig.writeq(0x88, 0x9999)
    rig.writeq(0x90, 0x9999)
    rig.writeq(0x98, 0x7)
    assert (rig.readq(0x80), rig.readq(0x88), rig.readq(0x90), rig.readq(0x98)) == \
        (0x1000, 0x40000, 16, 1)
    rig.step(100 * MS)
    assert rig.readl(0x24) == 0  # the ignored command's irq bit was never taken


def test_dma_command_without_start_bit_is_ignored(rig):
    rig.writeq(0x98, 0x6)
    assert rig.readq(0x98) == 0
    rig.step(200 * MS)
    assert rig.readl(0x24) == 0


def test_dma_mask_clamps_the_ram_address(rig):
    rig.m.memory.write_bytes(0x3000, b"masked")
    start_dma(rig, (1 << 28) | 0x3000, 0x40010, 6, 0x1)
    rig.step(100 * MS)
    assert bytes(rig.edu.dma_buf[0x10:0x16]) == b"masked"
    assert "clamping DMA 0x0000000010003000 to 0x0000000000003000" in rig.edu.log[-1]


def test_dma_mask_is_a_property():
    r = Rig(dma_mask=(1 << 32) - 1)
    r.m.add_ram("high", 0x10000000, 0x1000)
    r.m.memory.write_bytes(0x10000000, b"hi")
    start_dma(r, 0x10000000, 0x40000, 2, 0x1)
    r.step(100 * MS)
    assert bytes(r.edu.dma_buf[:2]) == b"hi"


def test_dma_without_bus_mastering_moves_nothing_but_completes(rig):
    rig.m.memory.write_bytes(0x1000, b"data")
    rig.edu.dma_buf[0:4] = b"buff"
    rig.cfg_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    start_dma(rig, 0x1000, 0x40000, 4, 0x1 | 0x4)
    rig.step(100 * MS)
    assert bytes(rig.edu.dma_buf[0:4]) == bytes(4)  # the bus-master space reads zeros
    start_dma(rig, 0x40000, 0x2000, 4, 0x3)
    rig.step(100 * MS)
    assert rig.m.memory.read_bytes(0x2000, 4) == bytes(4)  # the write went nowhere
    assert [k for k, _a, _n in rig.edu.dma_blocked] == ["read", "write"]
    assert rig.readl(0x24) == DMA_IRQ  # still raised


@pytest.mark.parametrize("addr,count", [(0x40000, 4096), (0x40000, 0), (0x3FFFF, 2),
                                        (0x40FFF, 2), (0x41000, 1)])
def test_out_of_range_dma_is_a_hardware_error_in_qemu_7_2(rig, addr, count):
    start_dma(rig, 0x1000, addr, count, 0x1)
    with pytest.raises(EduHardwareError, match="EDU: DMA range"):
        rig.step(100 * MS)
    assert rig.edu.log[-1].startswith("qemu: hardware error: EDU: DMA range")


def test_largest_dma_qemu_7_2_accepts(rig):
    rig.m.memory.write_bytes(0x5000, b"\xab" * 4095)
    start_dma(rig, 0x5000, 0x40000, 4095, 0x1)
    rig.step(100 * MS)
    assert bytes(rig.edu.dma_buf[:4095]) == b"\xab" * 4095


def test_out_of_range_dma_in_newer_qemu_skips_the_copy():
    r = Rig(dma_oob="skip")
    r.m.memory.write_bytes(0x5000, b"\xcd" * 4096)
    start_dma(r, 0x5000, 0x40000, 4096, 0x1)  # a full buffer is fine in newer QEMU
    r.step(100 * MS)
    assert bytes(r.edu.dma_buf) == b"\xcd" * 4096
    start_dma(r, 0x40800, 0x9000, 4096, 0x7)  # past the end: skipped, still completes
    r.step(100 * MS)
    assert r.m.memory.read_bytes(0x9000, 16) == bytes(16)
    assert r.readq(0x98) == 6 and r.readl(0x24) == DMA_IRQ
    assert "out of bounds" in r.edu.log[-1]
    with pytest.raises(ValueError):
        EduDevice(dma_oob="ignore")


def test_dma_interrupt_over_msi(rig):
    rig.enable_msi(0x60)
    start_dma(rig, 0x1000, 0x40000, 8, 0x5)
    rig.step(100 * MS)
    assert rig.m.irq(0x60).count == 1 and rig.readl(0x24) == DMA_IRQ


# -- reset and unplug --------------------------------------------------------------------------

def test_pci_reset_keeps_the_registers_as_qemu_does(rig):
    rig.writel(0x04, 0)
    rig.enable_msi()
    rig.edu.reset()
    assert rig.cfg_read(R.PCI_COMMAND, 2) == 0
    assert rig.cfg_read(R.PCI_BASE_ADDRESS_0, 4) == 0
    assert not rig.edu.msi_enabled()
    assert rig.m.memory.region_at(BAR) is None
    assert rig.edu.addr4 == 0xFFFFFFFF  # edu has no reset handler of its own


def test_unplug_stops_the_timers(rig):
    start_dma(rig, 0x1000, 0x40000, 8, 0x1)
    rig.writel(0x08, 3)
    rig.host.root.unplug(rig.edu)
    assert rig.m.clock.pending() == 0
    assert rig.m.memory.region_at(BAR) is None


def test_edu_needs_a_machine_for_its_timers():
    edu = EduDevice()
    with pytest.raises(RuntimeError, match="plug the device"):
        edu.mmio_write(0x08, 4, 3)


# -- cross-check against QEMU 7.2 itself (qtest: no guest kernel needed) ----------------------

QEMU = shutil.which("qemu-system-x86_64")


def _need_qemu() -> None:
    if QEMU is None:
        if os.environ.get("CI") == "true":
            pytest.fail("qemu-system-x86_64 is required under CI (apt-get install qemu-system-x86)")
        pytest.skip("qemu-system-x86_64 is not installed")


class QemuEdu:
    """QEMU's pc machine with edu at 00:04.0, driven through the qtest protocol.

    qtest accesses go through QEMU's address_space_read/write, which split a
    misaligned access where a CPU access would be rejected, so only aligned
    accesses are compared.  Without the qtest accelerator (Debian's build has
    none) the virtual clock runs only while the machine runs: ``running`` boots
    SeaBIOS and lets it finish enumeration first.
    """

    def __init__(self, running: bool = False) -> None:
        args = [QEMU, "-machine", "pc", "-nodefaults", "-m", "64", "-display", "none",
                "-device", "edu,addr=04.0", "-qtest", "stdio", "-qtest-log", "/dev/null"]
        if not running:
            args.append("-S")
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, bufsize=1)
        self.irqs: list[str] = []
        self.printed: list[str] = []
        if running:
            deadline = time.monotonic() + 20
            # until SeaBIOS has assigned BAR0 and enabled decode (its last word on edu)
            while self.cfg_read(R.PCI_BASE_ADDRESS_0) == 0 or self.cfg_read(R.PCI_COMMAND, 2) == 0:
                assert time.monotonic() < deadline, "SeaBIOS never assigned edu's BAR0"
                time.sleep(0.05)
            time.sleep(0.3)
        # route PIRQA-D to 10, 10, 11, 11 and set the interrupt line as SeaBIOS does,
        # and watch the IOAPIC inputs
        self.cfg_write(0x60, 0x0B0B0A0A, devfn=R.PCI_DEVFN(1, 0))
        self.cfg_write(R.PCI_INTERRUPT_LINE, 11, 1)
        self.cmd("irq_intercept_in ioapic")
        self.cfg_write(R.PCI_COMMAND, 0, 2)
        self.cfg_write(R.PCI_BASE_ADDRESS_0, BAR)
        self.cfg_write(R.PCI_COMMAND, R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_MASTER, 2)

    def cmd(self, line: str) -> str:
        assert self.p.stdin is not None and self.p.stdout is not None
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        while True:
            reply = self.p.stdout.readline()
            if not reply:
                raise EOFError("QEMU went away")
            if reply.startswith("IRQ"):
                self.irqs.append(reply.strip())
                continue
            if not reply.startswith(("OK", "FAIL", "ERR")):
                self.printed.append(reply.rstrip("\n"))  # QEMU 7.2's edu printf()s
                continue
            assert reply.startswith("OK"), f"{line!r} -> {reply!r}"
            return reply.strip()

    def _value(self, line: str) -> int:
        return int(self.cmd(line).split()[1], 16)

    def cfg_read(self, off: int, size: int = 4, devfn: int = R.PCI_DEVFN(4, 0)) -> int:
        self.cmd(f"outl 0xcf8 {0x80000000 | (devfn << 8) | (off & 0xFC):#x}")
        return self._value(f"in{'bwl'[size // 2]} {0xCFC + (off & 3):#x}")

    def cfg_write(self, off: int, value: int, size: int = 4,
                  devfn: int = R.PCI_DEVFN(4, 0)) -> None:
        self.cmd(f"outl 0xcf8 {0x80000000 | (devfn << 8) | (off & 0xFC):#x}")
        self.cmd(f"out{'bwl'[size // 2]} {0xCFC + (off & 3):#x} {value:#x}")

    def read(self, off: int, size: int) -> int:
        return self._value(f"read{'bwlq'[size.bit_length() - 1]} {BAR + off:#x}")

    def write(self, off: int, size: int, value: int) -> None:
        self.cmd(f"write{'bwlq'[size.bit_length() - 1]} {BAR + off:#x} {value:#x}")

    def ram_write(self, addr: int, data: bytes) -> None:
        self.cmd(f"write {addr:#x} {len(data)} 0x{data.hex()}")

    def ram_read(self, addr: int, n: int) -> bytes:
        return bytes.fromhex(self.cmd(f"read {addr:#x} {n}").split()[1][2:])

    @property
    def irq11(self) -> bool:
        level = False
        for event in self.irqs:
            if event.endswith(" 11"):
                level = event.startswith("IRQ raise")
        return level

    def close(self) -> tuple[int, str]:
        assert self.p.stdin is not None and self.p.stderr is not None
        with contextlib.suppress(BrokenPipeError):
            self.p.stdin.close()
        try:
            rc = self.p.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.p.terminate()
            rc = self.p.wait(timeout=20)
        return rc, self.p.stderr.read()


def test_qemu_config_space_and_write_masks_match():
    _need_qemu()
    q = QemuEdu()
    r = Rig()
    try:
        r.cfg_write(R.PCI_COMMAND, 2, 0)
        q.cfg_write(R.PCI_COMMAND, 0, 2)
        r.cfg_write(R.PCI_BASE_ADDRESS_0, 4, 0)
        q.cfg_write(R.PCI_BASE_ADDRESS_0, 0)
        for off in range(0, 256, 4):
            assert q.cfg_read(off) == r.cfg_read(off, 4), f"config 0x{off:02x}"
        for off in range(0, 256, 4):
            if off == R.PCI_COMMAND:
                continue
            for value in (0xFFFFFFFF, 0, 0xA5A5A5A5, 0x5A5A5A5A):
                q.cfg_write(off, value)
                r.cfg_write(off, 4, value)
                assert q.cfg_read(off) == r.cfg_read(off, 4), f"0x{value:x} -> 0x{off:02x}"
        for value in (0xFFFF, 0, R.PCI_COMMAND_MEMORY):
            q.cfg_write(R.PCI_COMMAND, value, 2)
            r.cfg_write(R.PCI_COMMAND, 2, value)
            assert q.cfg_read(R.PCI_COMMAND) == r.cfg_read(R.PCI_COMMAND, 4)
    finally:
        q.close()


# (offset, size, value or None for a read) -- aligned accesses only, see QemuEdu
_SCRIPT = [
    (0x00, 4, None), (0x00, 8, None), (0x00, 2, None), (0x00, 1, None), (0x04, 4, None),
    (0x04, 4, 0x12345678), (0x04, 4, None), (0x04, 2, 0xFFFF), (0x04, 4, None),
    (0x08, 8, 5), (0x08, 4, None), (0x20, 4, None), (0x24, 4, None),
    (0x20, 4, 0xFFFFFFFF), (0x20, 4, None), (0x20, 4, 0), (0x20, 4, None),
    (0x60, 4, 0x30), (0x24, 4, None), (0x60, 4, 0x101), (0x24, 4, None), (0x64, 4, 0x10),
    (0x24, 4, None), (0x64, 4, 0xFFFFFFFF), (0x24, 4, None), (0x60, 8, 1), (0x24, 4, None),
    (0x80, 8, 0x1122334455667788), (0x80, 8, None), (0x80, 4, None), (0x84, 4, None),
    (0x80, 4, 0xAABBCCDD), (0x80, 8, None), (0x88, 8, 0x40000), (0x88, 4, None),
    (0x90, 4, 0x64), (0x90, 8, None), (0x98, 8, 0x6), (0x98, 8, None), (0x98, 4, None),
    (0x0C, 4, None), (0x10, 4, None), (0x28, 4, None), (0x60, 4, None), (0x64, 4, None),
    (0x8C, 4, None), (0x94, 4, None), (0x9C, 4, None), (0xA0, 8, None), (0x100, 4, None),
    (0x40000, 4, None), (0x40000, 8, None), (0xFFFF8, 8, None), (0x24, 4, 0xFF),
    (0x24, 4, None), (0x00, 4, 0), (0x00, 4, None),
]


def test_qemu_register_file_matches():
    _need_qemu()
    q = QemuEdu()
    r = Rig()
    try:
        for off, size, value in _SCRIPT:
            if value is None:
                assert q.read(off, size) == r.m.memory.read(BAR + off, size), \
                    f"{size}-byte read at 0x{off:x}"
            else:
                q.write(off, size, value)
                r.m.memory.write(BAR + off, size, value)
            assert q.irq11 == r.intx.level, f"INTx after 0x{off:x}"
        # the factorial (QEMU's thread needs wall time, the model virtual time)
        def q_wait() -> None:
            deadline = time.monotonic() + 10
            while q.read(0x20, 4) & 1:
                assert time.monotonic() < deadline, "QEMU's factorial thread never finished"
                time.sleep(0.01)

        for n in (13, 34, 0, 20):
            q.write(0x08, 4, n)
            r.writel(0x08, n)
            q_wait()
            r.step(FACT_DELAY_NS)
            assert q.read(0x08, 4) == r.readl(0x08) == factorial32(n)
            assert q.read(0x20, 4) == r.readl(0x20) == 0
        q.write(0x20, 4, 0x80)
        r.writel(0x20, 0x80)
        q.write(0x08, 4, 5)
        r.writel(0x08, 5)
        q_wait()
        deadline = time.monotonic() + 10
        while not q.read(0x24, 4):  # QEMU's thread raises after clearing bit 0
            assert time.monotonic() < deadline, "QEMU's factorial interrupt never came"
            time.sleep(0.01)
        r.step(FACT_DELAY_NS)
        assert q.read(0x24, 4) == r.readl(0x24) == FACT_IRQ
        assert q.irq11 and r.intx.level
        assert q.cfg_read(R.PCI_COMMAND) == r.cfg_read(R.PCI_COMMAND, 4)  # status: INTx
        # INTx disable by a word write, re-enable by a byte write to offset 5: QEMU 7.2
        # does not re-drive the line, and the acknowledge then *raises* it
        steps = [("cfg", R.PCI_COMMAND, 2, 0x406), ("cfg", R.PCI_COMMAND + 1, 1, 0),
                 ("mmio", 0x64, 4, FACT_IRQ), ("mmio", 0x60, 4, 1), ("mmio", 0x64, 4, 1)]
        levels = []
        for kind, off, size, value in steps:
            if kind == "cfg":
                q.cfg_write(off, value, size)
                r.cfg_write(off, size, value)
            else:
                q.write(off, size, value)
                r.m.memory.write(BAR + off, size, value)
            assert q.irq11 == r.intx.level, f"after {kind} 0x{off:x} <- 0x{value:x}"
            levels.append(r.intx.level)
        assert levels == [False, False, True, False, True]
    finally:
        q.close()


def test_qemu_dma_msi_and_bus_mastering_match():
    _need_qemu()
    q = QemuEdu(running=True)
    r = Rig(ram=4 << 20)
    payload = bytes(range(7, 107))
    try:
        def both_dma(src: int, dst: int, count: int, cmd: int) -> None:
            for off, value in ((0x80, src), (0x88, dst), (0x90, count), (0x98, cmd)):
                q.write(off, 8, value)
                r.writeq(off, value)
            assert q.read(0x98, 8) == r.readq(0x98)
            deadline = time.monotonic() + 10
            while q.read(0x98, 8) & 1:  # QEMU's virtual clock runs with the host's
                assert time.monotonic() < deadline, "QEMU's DMA timer never fired"
                time.sleep(0.02)
            r.step(101 * MS)
            assert q.read(0x98, 8) == r.readq(0x98)
            assert q.read(0x24, 4) == r.readl(0x24)

        q.ram_write(0x200000, payload)
        r.m.memory.write_bytes(0x200000, payload)
        both_dma(0x200000, 0x40000, 100, 0x1)
        both_dma(0x40000, 0x210000, 100, 0x7)
        assert q.ram_read(0x210000, 100) == r.m.memory.read_bytes(0x210000, 100) == payload
        assert q.irq11 and r.intx.level
        q.write(0x64, 4, DMA_IRQ)
        r.writel(0x64, DMA_IRQ)
        # the largest transfer QEMU 7.2 accepts, through the dma_mask clamp
        big = bytes((i * 7) & 0xFF for i in range(4095))
        q.ram_write(0x220000, big)
        r.m.memory.write_bytes(0x220000, big)
        both_dma((1 << 28) | 0x220000, 0x40000, 4095, 0x1)
        both_dma(0x40000, 0x230000, 4095, 0x3)
        assert q.ram_read(0x230000, 4095) == r.m.memory.read_bytes(0x230000, 4095) == big
        assert q.printed == r.edu.log == ["EDU: clamping DMA 0x0000000010220000 to "
                                          "0x0000000000220000!"]
        # bus mastering off: reads give zeros, writes vanish, the command completes
        for dev in (q, r):
            if dev is q:
                q.cfg_write(R.PCI_COMMAND, R.PCI_COMMAND_MEMORY, 2)
            else:
                r.cfg_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
        both_dma(0x200000, 0x40000, 16, 0x1)
        both_dma(0x40000, 0x240000, 16, 0x3)
        assert q.ram_read(0x240000, 16) == r.m.memory.read_bytes(0x240000, 16) == bytes(16)
        q.cfg_write(R.PCI_COMMAND, R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_MASTER, 2)
        r.cfg_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_MASTER)
        both_dma(0x40000, 0x240000, 16, 0x3)
        assert q.ram_read(0x240000, 16) == r.m.memory.read_bytes(0x240000, 16) == bytes(16)
        # MSI: a DWORD write of the data to the address -- into RAM here
        for off, value, size in ((0x44, 0x250000, 4), (0x48, 0, 4), (0x4C, 0x4142, 2),
                                 (0x42, R.PCI_MSI_FLAGS_ENABLE, 2)):
            q.cfg_write(off, value, size)
            r.cfg_write(off, size, value)
        q.write(0x60, 4, 0x8)
        r.writel(0x60, 0x8)
        assert q.ram_read(0x250000, 4) == r.m.memory.read_bytes(0x250000, 4) == b"\x42\x41\0\0"
        assert not q.irq11 and not r.intx.level
    finally:
        q.close()


def test_qemu_7_2_aborts_on_a_full_buffer_dma():
    _need_qemu()
    q = QemuEdu(running=True)
    r = Rig()
    for off, value in ((0x80, 0x80000), (0x88, 0x40000), (0x90, 4096), (0x98, 1)):
        q.write(off, 8, value)
        r.writeq(off, value)
    with contextlib.suppress(subprocess.TimeoutExpired):
        q.p.wait(timeout=10)  # hw_error: QEMU aborts 100 ms later
    rc, stderr = q.close()
    with pytest.raises(EduHardwareError):
        r.step(100 * MS)
    assert rc == -signal.SIGABRT
    assert r.edu.log[-1] in stderr.splitlines()
