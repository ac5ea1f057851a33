"""The simulated virt board against a live arm64 virt guest (Debian's 6.1 kernel on QEMU).

One bare boot (no lab device on the machine) gives the guest's /proc/iomem,
/proc/interrupts, kernel log, AMBA IDs and its own device tree; the simulator
must agree on the devices both have drivers for (PL011, PL031, PL061), boot the
guest's tree with every node accounted for, and so must it QEMU's freshly dumped
DTB (``iomem vm dtb``).  tests/dt_boards/test_virt_vs_real.py checks the same
against the captures in tests/vm/data without a VM.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import iomem
from iomem.boards.dt import board_for_tree
from iomem.kernel.irq import proc_interrupts
from iomem.kernel.of import of_state
from iomem.of import load_dtb, of_account_nodes
from iomem.vm import dump_dtb
from iomem.vm.runner import RunResult

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dt_boards"))
from test_virt_vs_real import device_lines, irq_table, log_lines, outside_ram  # noqa: E402

pytestmark = pytest.mark.vm(machine="virt")

COLLECT = ["/proc/iomem", "/proc/interrupts", "dmesg", "/sys/firmware/fdt",
           "cat /sys/bus/amba/devices/9000000.pl011/id /sys/bus/amba/devices/9010000.pl031/id "
           "/sys/bus/amba/devices/9030000.pl061/id"]


@pytest.fixture(scope="module")
def guest(vm_lab: Any) -> RunResult:
    return vm_lab.run("true", machine="virt", bare=True, collect=COLLECT, check=True)


@pytest.fixture(scope="module")
def sim() -> iomem.Kernel:
    return iomem.boot("virt")


def test_proc_iomem_agrees_live(guest: RunResult, sim: iomem.Kernel) -> None:
    real = guest.text("/proc/iomem")
    assert device_lines(real) == device_lines(sim.proc_iomem())
    assert len(device_lines(real)) == 6
    # and everything outside RAM: the PCIe windows, ECAM and the NIC's BARs too
    assert outside_ram(real) == outside_ram(sim.proc_iomem())


def test_primecell_ids_agree_live(guest: RunResult, sim: iomem.Kernel) -> None:
    ids = guest.text(COLLECT[-1]).split()
    assert ids == [f"{sim.devices.find_device(n).periphid:08x}"
                   for n in ("9000000.pl011", "9010000.pl031", "9030000.pl061")]


def test_irq_numbers_agree_live(guest: RunResult, sim: iomem.Kernel) -> None:
    real = irq_table(guest.text("/proc/interrupts"))
    assert real == irq_table(proc_interrupts(sim))
    assert real["uart-pl011"] == (13, 33)


def test_probe_lines_agree_live(guest: RunResult, sim: iomem.Kernel) -> None:
    real = log_lines(guest.text("dmesg"))
    mine = log_lines(sim.dmesg())
    for prefix in ("9000000.pl011: ttyAMA0 at MMIO", "pl061_gpio 9030000.pl061:",
                   "rtc-pl031 9010000.pl031: registered", "Serial: AMBA PL011 UART driver",
                   "printk: console [ttyAMA0]", "hw perfevents:", "arch_timer:",
                   "pci-host-generic", "pci_bus", "pci "):
        assert [ln for ln in real if ln.startswith(prefix)] == \
            [ln for ln in mine if ln.startswith(prefix)], prefix


def test_the_guests_own_tree_boots_in_the_simulator(guest: RunResult) -> None:
    tree = load_dtb(guest.files["/sys/firmware/fdt"], "guest fdt")
    k = iomem.boot(board_for_tree(tree, "guest"))
    st = of_state(k)
    accounted = of_account_nodes(st.tree, st.populate)
    assert set(accounted) == set(tree.nodes())
    assert device_lines(k.proc_iomem()) == device_lines(guest.text("/proc/iomem"))
    assert "is a PL011 rev1" in k.dmesg()  # recognised as QEMU's virt: QEMU's PL011


def test_qemus_dumped_dtb_boots_with_every_node_accounted_for(vm_lab: Any,
                                                             tmp_path: Path) -> None:
    vm_lab.assets("virt")
    blob = dump_dtb(tmp_path / "virt.dtb", "virt").read_bytes()
    tree = load_dtb(blob, "qemu virt")
    k = iomem.boot(board_for_tree(tree, "qemu-virt"))
    st = of_state(k)
    accounted = of_account_nodes(st.tree, st.populate)
    assert set(accounted) == set(tree.nodes())
    made = [n for n, why in accounted.items() if why.startswith(("platform device",
                                                                  "amba device"))]
    assert len(made) == len([d for d in k.devices.devices if d.of_node is not None]) == 43
    assert "9000000.pl011: ttyAMA0 at MMIO 0x9000000" in k.dmesg()
