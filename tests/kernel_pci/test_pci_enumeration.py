"""Enumeration on the pc board: config access, BAR sizing, the resource tree, the log.

The reference is the real pc guest (Debian 6.1 on QEMU 7.2) captured in
tests/vm/data and tests/kernel_pci/data.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pci_rig import Scratch, ecam_board, pc

from iomem.devices.pci import regs as R
from iomem.kernel import Kernel, readl
from iomem.kernel.errno import EINVAL
from iomem.kernel.pci import (
    PCI_DEVFN,
    PCIBIOS_BAD_REGISTER_NUMBER,
    __pci_read_base,
    pci_bus_read_config_byte,
    pci_bus_read_config_dword,
    pci_bus_read_config_word,
    pci_core,
    pci_dev,
    pci_read_config_byte,
    pci_read_config_dword,
    pci_read_config_word,
    pci_resource_flags,
    pci_resource_len,
    pci_resource_start,
    pci_write_config_byte,
    pci_write_config_dword,
    pci_write_config_word,
    resource_show,
)

VM_DATA = Path(__file__).parents[1] / "vm" / "data"
DATA = Path(__file__).parent / "data"


def _log(k: Kernel) -> list[str]:
    return [re.sub(r"^\[[ 0-9.]+\] ", "", ln) for ln in k.dmesg().splitlines()]


def _no_kernel_image(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if "Kernel " not in ln]


# -- what the scan finds -------------------------------------------------------------

def test_the_scan_finds_qemus_pc_functions_in_bus_order(k: Kernel) -> None:
    names = [(d.name, f"{d.vendor:04x}:{d.device:04x}") for d in pci_core(k).devices()]
    assert names == [("0000:00:00.0", "8086:1237"), ("0000:00:01.0", "8086:7000"),
                     ("0000:00:01.1", "8086:7010"), ("0000:00:01.3", "8086:7113"),
                     ("0000:00:02.0", "1234:1111"), ("0000:00:03.0", "8086:100e"),
                     ("0000:00:04.0", "1234:11e8")]


def test_the_edu_function_as_the_kernel_reads_it(pdev: pci_dev) -> None:
    assert (pdev.vendor, pdev.device, pdev.revision) == (0x1234, 0x11E8, 0x10)
    assert pdev.class_ == 0x00FF00
    assert (pdev.subsystem_vendor, pdev.subsystem_device) == (0x1AF4, 0x1100)
    assert (pdev.pin, pdev.irq) == (1, 11)
    assert pdev.msi_cap == 0x40
    assert pdev.hdr_type == 0 and not pdev.multifunction


def test_the_enumeration_log_is_the_real_guests(k: Kernel) -> None:
    """Every PCI line the real pc guest logs at boot, in the same order (the lab's
    two virtio-9p functions included, as the simulated board adds them too), except
    what only its virtio driver and the ACPI link rerouting print."""
    sim = _log(pc(devices=["edu", "virtio-9p-pci", "virtio-9p-pci"]))
    real = (DATA / "pc-dmesg-pci.txt").read_text().splitlines()
    driver_lines = {r"ACPI: \_SB_.LNKA: Enabled at IRQ 10",
                    r"ACPI: \_SB_.LNKB: Enabled at IRQ 11"}
    expected = [ln for ln in real if ln not in driver_lines]
    got = [ln for ln in sim if ln in set(expected)]
    assert got == expected


def test_the_edu_lines_of_the_log(k: Kernel) -> None:
    log = _log(k)
    assert "pci 0000:00:04.0: [1234:11e8] type 00 class 0x00ff00" in log
    assert "pci 0000:00:04.0: BAR 0 [mem 0xfea00000-0xfeafffff]" in log


# -- config space through the kernel's accessors ------------------------------------------

def test_an_absent_function_reads_all_ones(k: Kernel) -> None:
    bus = pci_core(k).root_buses[0]
    empty = PCI_DEVFN(9, 0)
    assert pci_bus_read_config_dword(bus, empty, 0) == (0, 0xFFFFFFFF)
    assert pci_bus_read_config_word(bus, empty, 2) == (0, 0xFFFF)
    assert pci_bus_read_config_byte(bus, empty, 8) == (0, 0xFF)


def test_unaligned_config_accesses_are_refused(pdev: pci_dev) -> None:
    assert pci_read_config_word(pdev, 1)[0] == PCIBIOS_BAD_REGISTER_NUMBER
    assert pci_read_config_dword(pdev, 2)[0] == PCIBIOS_BAD_REGISTER_NUMBER
    assert pci_write_config_word(pdev, 3, 0) == PCIBIOS_BAD_REGISTER_NUMBER


def test_type1_access_cannot_reach_extended_config_space(pdev: pci_dev) -> None:
    """QEMU's pc has no MMCONFIG: registers from 0x100 are out of reach."""
    assert pci_read_config_dword(pdev, 0x100) == (-EINVAL, 0xFFFFFFFF)


def test_config_writes_change_only_the_writable_bits(pdev: pci_dev) -> None:
    assert pci_read_config_dword(pdev, 0) == (0, 0x11E81234)
    pci_write_config_dword(pdev, 0, 0)  # identification is read-only
    assert pci_read_config_word(pdev, R.PCI_VENDOR_ID) == (0, 0x1234)
    pci_write_config_word(pdev, R.PCI_COMMAND, 0xFFFF)
    assert pci_read_config_word(pdev, R.PCI_COMMAND) == (0, 0x0507)
    pci_write_config_byte(pdev, R.PCI_INTERRUPT_LINE, 0x2A)
    assert pci_read_config_byte(pdev, R.PCI_INTERRUPT_LINE) == (0, 0x2A)
    pci_write_config_byte(pdev, R.PCI_INTERRUPT_PIN, 3)  # read-only
    assert pci_read_config_byte(pdev, R.PCI_INTERRUPT_PIN) == (0, 1)


def test_the_firmware_left_io_memory_and_serr_decode_on(pdev: pci_dev) -> None:
    assert pci_read_config_word(pdev, R.PCI_COMMAND) == (0, 0x0103)


# -- BAR sizing (__pci_read_base) -----------------------------------------------------------

class _Trace:
    def __init__(self, host) -> None:
        self.writes: list[tuple[int, int, int, int]] = []
        self._orig = host.config_write
        host.config_write = self

    def __call__(self, bus, devfn, where, size, value, **kw):
        self.writes.append((devfn, where, size, value))
        return self._orig(bus, devfn, where, size, value, **kw)


def test_sizing_disables_decode_writes_all_ones_and_restores(k: Kernel, pdev: pci_dev) -> None:
    host = k.machine.memory  # noqa: F841 - the BAR region is in here
    hw = pci_core(k).host_bridges[0].hw
    trace = _Trace(hw)
    res = pdev.resource[0]
    __pci_read_base(pdev, False, res, R.PCI_BASE_ADDRESS_0)
    ours = [(w, s, v) for d, w, s, v in trace.writes if d == pdev.devfn]
    assert ours == [(R.PCI_COMMAND, 2, 0x0100), (R.PCI_BASE_ADDRESS_0, 4, 0xFFFFFFFF),
                    (R.PCI_BASE_ADDRESS_0, 4, 0xFEA00000), (R.PCI_COMMAND, 2, 0x0103)]
    assert (res.start, res.end, res.flags) == (0xFEA00000, 0xFEAFFFFF, 0x40200)
    assert res.name == "0000:00:04.0"


def test_the_host_bridge_keeps_decoding_while_it_is_sized(k: Kernel) -> None:
    """quirk_mmio_always_on: host bridges are sized without touching their command."""
    hb = pci_core(k).find("00:00.0")
    assert hb.mmio_always_on
    trace = _Trace(pci_core(k).host_bridges[0].hw)
    __pci_read_base(hb, False, hb.resource[0], R.PCI_BASE_ADDRESS_0)
    assert all(w != R.PCI_COMMAND for d, w, s, v in trace.writes if d == hb.devfn)


def test_sizing_64bit_io_and_rom_bars() -> None:
    fn = Scratch([(0, 1 << 20, "mem64", True), (2, 32, "io", False)])
    fn.add_rom(b"\x55\xaa", size=64 << 10)
    rig = ecam_board([(fn, 1)], probe=False)
    from iomem.kernel.pci import pci_scan_root_bus_bridge

    with rig.k:
        pci_scan_root_bus_bridge(rig.bridge)
        d = rig.dev("00:01.0")
    assert pci_resource_len(d, 0) == 1 << 20
    assert pci_resource_flags(d, 0) == 0x0014220C  # MEM_64 | SIZEALIGN | PREFETCH | MEM
    assert d.resource[1].flags == 0  # the upper half of the 64-bit BAR
    assert pci_resource_len(d, 2) == 32
    assert pci_resource_flags(d, 2) == 0x00040101
    assert pci_resource_len(d, 6) == 64 << 10
    assert pci_resource_flags(d, 6) == 0x00046200
    log = _log(rig.k)
    assert "pci 0000:00:01.0: BAR 0 [mem 0x00000000-0x000fffff 64bit pref]" in log
    assert "pci 0000:00:01.0: BAR 2 [io  0x0000-0x001f]" in log
    assert "pci 0000:00:01.0: ROM [mem 0x00000000-0x0000ffff pref]" in log


def test_a_bar_that_reads_back_all_ones_is_ignored() -> None:
    """PCI_POSSIBLE_ERROR(sz): a broken BAR is not a resource."""
    fn = Scratch([(0, 4096, "mem32", False)])
    fn.config.set_wmask(R.PCI_BASE_ADDRESS_1, 4, 0)
    fn.config.set_long(R.PCI_BASE_ADDRESS_1, 0xFFFFFFFF)
    rig = ecam_board([(fn, 2)])
    assert rig.dev("00:02.0").resource[1].flags == 0


def test_memory_decode_off_means_the_bar_is_not_reachable(k: Kernel, pdev: pci_dev) -> None:
    base = k.ioremap(pci_resource_start(pdev, 0), 0x1000)
    assert readl(base) == 0x010000ED
    pci_write_config_word(pdev, R.PCI_COMMAND, 0x0101)
    assert readl(base) == 0xFFFFFFFF  # a master abort on the x86 bus
    pci_write_config_word(pdev, R.PCI_COMMAND, 0x0103)
    assert readl(base) == 0x010000ED


def test_functions_beyond_0_are_scanned_only_on_multifunction_devices() -> None:
    single = Scratch([(0, 4096, "mem32", False)])
    rig = ecam_board([(single, 3)])
    assert [d.name for d in pci_core(rig.k).devices()] == ["0000:00:00.0", "0000:00:03.0"]
    multi = Scratch([(0, 4096, "mem32", False)], multifunction=True)
    other = Scratch([(0, 4096, "mem32", False)])
    m = ecam_board([], probe=False)
    m.host.plug(multi, 3, 0)
    m.host.plug(other, 3, 5)
    from iomem.kernel.pci import pci_host_probe

    with m.k:
        pci_host_probe(m.bridge)
    names = [d.name for d in pci_core(m.k).devices()]
    assert names == ["0000:00:00.0", "0000:00:03.0", "0000:00:03.5"]
    assert pci_core(m.k).find("00:03.5").multifunction


# -- the resource tree and sysfs ------------------------------------------------------------

def test_the_resource_file_is_the_real_one(pdev: pci_dev) -> None:
    lines = resource_show(pdev).splitlines()
    assert len(lines) == 13  # the Debian kernel has SR-IOV: 6 IOV lines
    assert lines[0] == "0x00000000fea00000 0x00000000feafffff 0x0000000000040200"
    assert all(ln == "0x0000000000000000 0x0000000000000000 0x0000000000000000"
               for ln in lines[1:])


def test_proc_iomem_is_the_real_bare_guests(k: Kernel) -> None:
    """All of it, but the kernel image (KASLR moves it on every real boot)."""
    assert _no_kernel_image(k.proc_iomem()) == \
        _no_kernel_image((VM_DATA / "pc-proc-iomem.txt").read_text())


def test_proc_iomem_is_the_real_lab_guests_with_its_virtio_functions() -> None:
    """The lab's own boots add two virtio-9p functions; their BAR placement is the
    firmware's too.  Only the virtio driver's claims are missing."""
    k = pc(devices=["edu", "virtio-9p-pci", "virtio-9p-pci"])
    real = [ln for ln in _no_kernel_image((VM_DATA / "pc-lab-proc-iomem.txt").read_text())
            if "virtio-pci-modern" not in ln]
    assert _no_kernel_image(k.proc_iomem()) == real


def test_proc_ioports_lines_are_the_real_guests_in_order(k: Kernel) -> None:
    real = (VM_DATA / "pc-proc-ioports.txt").read_text().splitlines()
    sim = k.proc_ioports().splitlines()
    pos = [real.index(ln) for ln in sim]  # every simulated line is a real one...
    assert pos == sorted(pos)  # ...in the same order
    assert "0cf8-0cff : PCI conf1" in sim


def test_a_bar_nests_in_the_window_and_the_drivers_claim_in_the_bar(
        k: Kernel, pdev: pci_dev) -> None:
    from iomem.kernel.pci import pci_request_region

    assert pci_request_region(pdev, 0, "edu") == 0
    text = k.proc_iomem()
    assert "40000000-febfffff : PCI Bus 0000:00\n" in text
    assert "  fea00000-feafffff : 0000:00:04.0\n    fea00000-feafffff : edu\n" in text
    res = pdev.resource[0]
    assert res.parent.name == "PCI Bus 0000:00"


def test_a_bridge_window_nests_the_functions_behind_it() -> None:
    k = pc(devices=["edu", ("pci-bridge", ["edu", "edu@3"])])
    text = k.proc_iomem()
    m = re.search(r"\n  ([0-9a-f]+)-([0-9a-f]+) : PCI Bus 0000:01\n"
                  r"    ([0-9a-f]+)-([0-9a-f]+) : 0000:01:00.0\n"
                  r"    ([0-9a-f]+)-([0-9a-f]+) : 0000:01:03.0\n", text)
    assert m, text
    lo, hi = int(m.group(1), 16), int(m.group(2), 16)
    assert hi - lo + 1 == 2 << 20
    with k:
        d = pci_core(k).find("01:03.0")
        base = k.ioremap(pci_resource_start(d, 0), 4)
        assert readl(base) == 0x010000ED  # reachable through the bridge


@pytest.mark.parametrize("where", [0x00, 0x04, 0x08, 0x2C, 0x3C])
def test_kernel_config_reads_equal_the_hardwares(pdev: pci_dev, k: Kernel, where: int) -> None:
    fn = pci_core(k).host_bridges[0].hw.lookup("0000:00:04.0")
    assert pci_read_config_dword(pdev, where)[1] == fn.config.get_long(where)
