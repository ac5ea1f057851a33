"""BAR and bridge-window assignment by the kernel (setup-bus.c, setup-res.c): the generic
host flow on an ECAM host without firmware, and the x86 alignment rules."""

from __future__ import annotations

import re

from pci_rig import HIGH_WINDOW, MEM_WINDOW, Scratch, ecam_board

from iomem.devices.edu import EduDevice
from iomem.devices.pci import PciBridge
from iomem.devices.pci import regs as R
from iomem.kernel import Kernel, readl
from iomem.kernel import ioport as F
from iomem.kernel.errno import EINVAL
from iomem.kernel.pci import (
    BIOS_END,
    pci_core,
    pci_enable_device,
    pci_read_config_dword,
    pci_resource_flags,
    pci_resource_len,
    pci_resource_start,
    pcibios_align_resource,
)
from iomem.kernel.resource import check_tree


def _log(k: Kernel) -> list[str]:
    return [re.sub(r"^\[[ 0-9.]+\] ", "", ln) for ln in k.dmesg().splitlines()]


def test_bars_are_assigned_largest_alignment_first_inside_the_window() -> None:
    small = Scratch([(0, 4096, "mem32", False)])
    big = Scratch([(0, 1 << 20, "mem32", False), (1, 64 << 10, "mem32", False)])
    rig = ecam_board([(small, 1), (big, 2)])
    k = rig.k
    s, b = rig.dev("00:01.0"), rig.dev("00:02.0")
    assert pci_resource_start(b, 0) == 0x10000000  # 1 MiB first
    assert pci_resource_start(b, 1) == 0x10100000  # then 64 KiB
    assert pci_resource_start(s, 0) == 0x10110000  # then 4 KiB
    for d, i in ((s, 0), (b, 0), (b, 1)):
        start, size = pci_resource_start(d, i), pci_resource_len(d, i)
        assert start % size == 0
        assert MEM_WINDOW[0] <= start and start + size - 1 <= MEM_WINDOW[1]
        assert d.resource[i].parent.name == "pcie@10000000"
    assigned = [ln for ln in _log(k) if ln.endswith(": assigned")]
    assert assigned == ["pci 0000:00:02.0: BAR 0 [mem 0x10000000-0x100fffff]: assigned",
                        "pci 0000:00:02.0: BAR 1 [mem 0x10100000-0x1010ffff]: assigned",
                        "pci 0000:00:01.0: BAR 0 [mem 0x10110000-0x10110fff]: assigned"]
    check_tree(k.iomem_resource)


def test_the_assignment_is_written_into_the_bars() -> None:
    rig = ecam_board([(EduDevice(), 4)])
    d = rig.dev("00:04.0")
    with rig.k:
        assert pci_read_config_dword(d, R.PCI_BASE_ADDRESS_0) == (0, 0x10000000)
    fn = rig.host.lookup("0000:00:04.0")
    assert fn.config.get_long(R.PCI_BASE_ADDRESS_0) == 0x10000000


def test_a_64bit_prefetchable_bar_goes_above_4g() -> None:
    rig = ecam_board([(Scratch([(0, 1 << 20, "mem64", True)]), 1)])
    d = rig.dev("00:01.0")
    assert pci_resource_start(d, 0) == HIGH_WINDOW[0]
    assert pci_resource_flags(d, 0) & F.IORESOURCE_MEM_64
    fn = rig.host.lookup("0000:00:01.0")
    assert fn.config.get_quad(R.PCI_BASE_ADDRESS_0) & ~0xF == HIGH_WINDOW[0]


def test_a_bar_without_room_is_reported_and_cannot_be_enabled() -> None:
    huge = Scratch([(0, 1 << 30, "mem32", False)])  # larger than the 32-bit window
    rig = ecam_board([(huge, 1)])
    d = rig.dev("00:01.0")
    log = _log(rig.k)
    assert "pci 0000:00:01.0: BAR 0 [mem size 0x40000000]: can't assign; no space" in log
    assert "pci 0000:00:01.0: BAR 0 [mem size 0x40000000]: failed to assign" in log
    assert d.resource[0].flags & F.IORESOURCE_UNSET
    with rig.k:
        assert pci_enable_device(d) == -EINVAL
    assert "pci 0000:00:01.0: BAR 0 [mem size 0x40000000]: not assigned; can't enable " \
           "device" in _log(rig.k)


def test_enabling_a_device_turns_its_decode_on_with_the_kernels_message() -> None:
    rig = ecam_board([(EduDevice(), 4)])
    d = rig.dev("00:04.0")
    with rig.k:
        assert pci_enable_device(d) == 0
        assert "pci 0000:00:04.0: enabling device (0000 -> 0002)" in _log(rig.k)
        base = rig.k.ioremap(pci_resource_start(d, 0), 4)
        assert readl(base) == 0x010000ED


def test_a_bridge_window_is_sized_aligned_and_programmed() -> None:
    rig = ecam_board([], probe=False)
    br = PciBridge()
    rig.host.plug(br, 2)
    br.plug(EduDevice(), 0)
    br.plug(Scratch([(0, 4096, "mem32", False)]), 1)
    from iomem.kernel.pci import pci_host_probe

    with rig.k:
        assert pci_host_probe(rig.bridge) == 0
    k = rig.k
    bdev = pci_core(k).find("00:02.0")
    window = bdev.resource[14]  # the memory window
    assert window.name == "PCI Bus 0000:01"
    assert window.start % (1 << 20) == 0
    assert window.end - window.start + 1 == 2 << 20  # 1 MiB + 4 KiB, in 1 MiB units
    edu, scratch = pci_core(k).find("01:00.0"), pci_core(k).find("01:01.0")
    assert edu.resource[0].parent is window and scratch.resource[0].parent is window
    assert br.mem_window() == (window.start, window.end)
    log = _log(k)
    assert "pci 0000:00:02.0: PCI bridge to [bus 01]" in log
    assert f"pci 0000:00:02.0:   bridge window [mem {window.start:#010x}-{window.end:#010x}]" \
        in log
    text = k.proc_iomem()
    assert f"  {window.start:08x}-{window.end:08x} : PCI Bus 0000:01\n" \
           f"    {edu.resource[0].start:08x}-{edu.resource[0].end:08x} : 0000:01:00.0\n" in text
    with k:
        pci_enable_device(edu)
        base = k.ioremap(pci_resource_start(edu, 0), 4)
        assert readl(base) == 0x010000ED  # through the bridge the kernel set up
    check_tree(k.iomem_resource)


def test_the_bridge_gets_the_next_bus_number() -> None:
    rig = ecam_board([], probe=False)
    br = PciBridge()
    rig.host.plug(br, 2)
    br.plug(EduDevice(), 0)
    from iomem.kernel.pci import pci_host_probe

    with rig.k:
        pci_host_probe(rig.bridge)
    assert [br.config.get_byte(o) for o in (R.PCI_PRIMARY_BUS, R.PCI_SECONDARY_BUS,
                                            R.PCI_SUBORDINATE_BUS)] == [0, 1, 1]
    assert pci_core(rig.k).find("0000:01:00.0") is not None


def test_x86_keeps_io_off_isa_aliases_and_memory_above_1m() -> None:
    from pci_rig import pc

    k = pc()
    with k:
        dev = pci_core(k).find("00:04.0")
        assert pcibios_align_resource(dev, 0x1100, F.IORESOURCE_IO, 0x20, 0x20) == 0x1400
        assert pcibios_align_resource(dev, 0x1000, F.IORESOURCE_IO, 0x20, 0x20) == 0x1000
        assert pcibios_align_resource(dev, 0xA0000, F.IORESOURCE_MEM, 0x1000, 0x1000) == \
            BIOS_END
    arm = ecam_board([])
    with arm.k:
        d = pci_core(arm.k).find("00:00.0")
        assert pcibios_align_resource(d, 0x1100, F.IORESOURCE_IO, 0x20, 0x20) == 0x1100


def test_windows_the_firmware_left_on_a_bridge_are_read_as_the_kernel_reads_them() -> None:
    # pci_read_bridge_io/mmio/mmio_pref: 32-bit I/O, 32-bit memory and 64-bit prefetchable
    # windows from a bridge that firmware numbered and programmed
    rig = ecam_board([], probe=False)
    br = PciBridge(io32=True, pref64=True)
    rig.host.plug(br, 2)
    cfg = br.config
    cfg.set_long(R.PCI_PRIMARY_BUS, 0x010100)  # primary 0, secondary 1, subordinate 1
    cfg.set_byte(R.PCI_IO_BASE, 0x11)  # 0x1000 | type 32-bit
    cfg.set_byte(R.PCI_IO_LIMIT, 0x11)  # 0x1fff
    cfg.set_word(R.PCI_IO_BASE_UPPER16, 0x0000)
    cfg.set_word(R.PCI_MEMORY_BASE, 0x1010)  # 0x10100000
    cfg.set_word(R.PCI_MEMORY_LIMIT, 0x1020)  # 0x102fffff
    cfg.set_word(R.PCI_PREF_MEMORY_BASE, 0x0001)  # 0x80_0000_0000 | type 64-bit
    cfg.set_word(R.PCI_PREF_MEMORY_LIMIT, 0x0011)  # 0x80_001f_ffff
    cfg.set_long(R.PCI_PREF_BASE_UPPER32, 0x80)
    cfg.set_long(R.PCI_PREF_LIMIT_UPPER32, 0x80)
    from iomem.kernel.pci import pci_host_probe

    with rig.k:
        pci_host_probe(rig.bridge)
    log = _log(rig.k)
    for line in ("pci 0000:00:02.0: PCI bridge to [bus 01]",
                 "pci 0000:00:02.0:   bridge window [io  0x1000-0x1fff]",
                 "pci 0000:00:02.0:   bridge window [mem 0x10100000-0x102fffff]",
                 "pci 0000:00:02.0:   bridge window [mem 0x8000000000-0x80001fffff 64bit pref]",
                 # nothing is behind it: sizing gives the windows back, as arm64 does
                 "pci 0000:00:02.0: disabling bridge window [io  0x1000-0x1fff] to [bus 01] "
                 "(unused)"):
        assert line in log, line
