"""Booting: the board registry, boot() on a board built in place, and the virt board."""

from __future__ import annotations

import pytest
from core_rig import DEV_BASE, build

import iomem
from iomem import (
    IORESOURCE_IRQ,
    IORESOURCE_MEM,
    devm_ioremap_resource,
    platform_get_resource,
    readl,
)
from iomem.boards import Board, board_names, make_board, register_board
from iomem.kernel import Kernel, current_kernel
from iomem.kernel.amba import amba_driver, amba_driver_register, amba_id
from iomem.machine import Machine


def test_boot_prints_the_banner_and_runs_the_board_population() -> None:
    seen = []
    m = Machine("tiny", arch="x86_64")

    def populate(k: Kernel) -> None:
        seen.append(current_kernel() is k)
        k.add_system_ram(0x100000, 0x100000)

    k = iomem.boot(Board("tiny", m, "x86_64", populate, model="Tiny Board",
                         cmdline="console=ttyS0"))
    assert seen == [True]
    assert [r.text for r in k.log.records] == [
        "Linux version 6.1.0-iomem (iomem@simulated) (x86_64) #1 SMP",
        "Machine model: Tiny Board",
        "Kernel command line: console=ttyS0"]
    assert k.dmesg().startswith("[    0.000000] Linux version 6.1.0-iomem")
    assert k.proc_iomem() == "00100000-001fffff : System RAM\n"
    assert k.arch.name == "x86_64" and k.board_name == "tiny"
    assert current_kernel() is k  # the most recently booted kernel serves scripts


def test_an_explicit_command_line_wins_over_the_boards() -> None:
    k = build("arm64", cmdline="iomem=relaxed").k
    assert "Kernel command line: iomem=relaxed" in k.dmesg()
    assert not k.strict_devmem


def test_the_current_kernel_follows_the_context() -> None:
    a, b = build().k, build().k
    with a:
        assert current_kernel() is a
        with b.active():
            assert current_kernel() is b
        assert current_kernel() is a
    assert current_kernel() is b


def test_unknown_board_and_architecture() -> None:
    assert "virt" in board_names()
    with pytest.raises(ValueError, match=r"unknown board 'nope'; known boards: .*virt"):
        iomem.boot("nope")
    with pytest.raises(ValueError, match=r"unknown architecture 'sparc'; known: arm64, "
                                         r"x86_64, arm"):
        Kernel(Machine("m"), "sparc")


def test_a_registered_board_boots_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import iomem.boards as boards

    monkeypatch.setattr(boards, "_BOARDS", dict(boards._BOARDS))

    @register_board("scratch")
    def scratch(ram_mb: int = 1) -> Board:
        m = Machine("scratch")
        m.add_ram("ram", 0x80000000, ram_mb << 20)
        return Board("scratch", m, "arm64", lambda k: k.add_system_ram(0x80000000, ram_mb << 20))

    assert "scratch" in board_names()
    assert make_board("scratch", ram_mb=2).machine.memory.region_at(0x801FFFFF).name == "ram"
    k = iomem.boot("scratch", ram_mb=2)
    assert k.proc_iomem() == "80000000-801fffff : System RAM\n"


# -- the virt board --------------------------------------------------------------------------

def test_virt_boots_with_ram_and_a_pl011() -> None:
    k = iomem.boot("virt")
    assert k.arch.name == "arm64" and k.board_name == "virt"
    assert "Machine model: linux,dummy-virt" in k.dmesg()
    assert "40000000-7fffffff : System RAM" in k.proc_iomem().splitlines()
    mtree = k.mtree().splitlines()
    assert mtree[:3] == ["address-space: memory",
                         "  0000000000000000-ffffffffffffffff (prio 0, i/o): system",
                         "    0000000000000000-0000000003ffffff (prio 0, i/o): virt.flash0"]
    for line in ("    0000000009000000-0000000009000fff (prio 0, i/o): pl011",
                 "    000000000a000000-000000000a0001ff (prio 0, i/o): virtio-mmio",
                 "    0000000040000000-000000007fffffff (prio 0, ram): mach-virt.ram"):
        assert line in mtree
    adev = k.devices.find_device("9000000.pl011")
    assert adev.bus.name == "amba" and adev.driver.name == "uart-pl011"
    mem = platform_get_resource(adev, IORESOURCE_MEM, 0)
    assert (str(mem), mem.name) == ("[mem 0x09000000-0x09000fff]", "pl011@9000000")
    assert adev.irq[0] == 13  # SPI 1 (INTID 33) is Linux irq 13, as on the real guest
    assert platform_get_resource(adev, IORESOURCE_IRQ, 0) is None


def test_a_driver_binds_to_the_virt_pl011_and_reads_its_ids() -> None:
    k = iomem.boot("virt", drivers=False)
    ids = []

    def probe(adev, id) -> int:
        base = devm_ioremap_resource(adev, adev.res)
        ids.extend(readl(base + 0xFE0 + 4 * i) & 0xFF for i in range(8))
        return 0

    with k:
        amba_driver_register(amba_driver("uart-pl011", probe=probe,
                                         id_table=[amba_id(0x00041011, 0x000FFFFF)]))
    # QEMU's PL011: UARTPeriphID0..3 (part 0x011, ARM, r1) then the PrimeCell ID
    assert ids == [0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1]
    claims = [ln.strip() for ln in k.proc_iomem().splitlines()]
    assert "09000000-09000fff : 9000000.pl011 pl011@9000000" in claims  # "<dev> <res>"
    assert k.devices.find_device("9000000.pl011").driver.name == "uart-pl011"
    k.devices.unbind("9000000.pl011")
    assert "9000000.pl011" not in k.proc_iomem() and k.vm_areas() == []


def test_virt_proc_iomem_shows_the_amba_resource_as_linux_does() -> None:
    """amba_device_add() request_resource()s each PrimeCell's resource under the node's
    name whether or not a driver comes; the drivers then claim inside it."""
    bare = iomem.boot("virt", drivers=False)
    assert bare.proc_iomem() == ("09000000-09000fff : pl011@9000000\n"
                                 "09010000-09010fff : pl031@9010000\n"
                                 "09030000-09030fff : pl061@9030000\n"
                                 "40000000-7fffffff : System RAM\n")
    k = iomem.boot("virt")
    assert k.proc_iomem() == ("09000000-09000fff : pl011@9000000\n"
                              "  09000000-09000fff : 9000000.pl011 pl011@9000000\n"
                              "09010000-09010fff : pl031@9010000\n"
                              "  09010000-09010fff : rtc-pl031\n"
                              "09030000-09030fff : pl061@9030000\n"
                              "  09030000-09030fff : 9030000.pl061 pl061@9030000\n"
                              "10000000-3efeffff : pcie@10000000\n"
                              "  10000000-1003ffff : 0000:00:01.0\n"
                              "  10040000-10040fff : 0000:00:01.0\n"
                              "40000000-7fffffff : System RAM\n"
                              "4010000000-401fffffff : PCI ECAM\n"
                              "8000000000-ffffffffff : pcie@10000000\n"
                              "  8000000000-8000003fff : 0000:00:01.0\n")


def test_boards_built_in_tests_map_their_device() -> None:
    r = build("arm64")
    assert r.machine.memory.region_at(DEV_BASE).ops is r.dev
