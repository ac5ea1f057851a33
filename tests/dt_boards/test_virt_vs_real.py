"""The simulated virt board against what Debian's 6.1 kernel printed on QEMU 7.2's virt
(captures in tests/vm/data; tests/vm/test_virt_real.py checks the same live).

Agree: all of /proc/iomem but what is inside System RAM (the AMBA resources and the
three drivers' claims, the PCIe host's windows and ECAM, the virtio-net BARs the PCI
core assigned); the irq numbers the kernel gave the timer, the PL011, the PMU and the
PL031 (the order of mappings is the kernel's); every probe line of those drivers and
of the PCI host, and the boot lines of the timer, the irq chip and the consoles.
Differ, on purpose: the guest's System RAM holds the kernel image and memblock
reservations (Kernel code/data, reserved) the simulator has no kernel image for; the
RTC's wall-clock time; the many lines of kernel subsystems that touch no MMIO.
"""

from __future__ import annotations

import re
from pathlib import Path

import iomem
from iomem.kernel.irq import proc_interrupts

DATA = Path(__file__).resolve().parents[1] / "vm" / "data"
DEVICES = ("pl011@9000000", "pl031@9010000", "pl061@9030000")


def device_lines(iomem_text: str, devices: tuple[str, ...] = DEVICES) -> list[str]:
    """The top-level entries named ``devices`` and everything nested in them."""
    out, keep = [], False
    for line in iomem_text.splitlines():
        if not line.startswith(" "):
            keep = line.split(" : ", 1)[1] in devices
        if keep:
            out.append(line)
    return out


def irq_table(text: str) -> dict[str, tuple[int, int]]:
    """action name -> (Linux irq, hwirq) from /proc/interrupts, whatever the column widths."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s*(\d+):\s+\d+\s+GIC-0\s+(\d+)\D.*?\s(\S+)$", line)
        if m:
            out[m.group(3)] = (int(m.group(1)), int(m.group(2)))
    return out


def log_lines(text: str) -> list[str]:
    return [re.sub(r"^\[\s*\d+\.\d+\] ", "", ln) for ln in text.splitlines()]


def outside_ram(iomem_text: str) -> list[str]:
    """/proc/iomem without what lies inside System RAM (the kernel image, memblock)."""
    out, in_ram = [], False
    for line in iomem_text.splitlines():
        if not line.startswith(" "):
            in_ram = line.endswith(" : System RAM")
        elif in_ram:
            continue
        out.append(line)
    return out


def test_proc_iomem_agrees_outside_ram() -> None:
    real = (DATA / "virt-proc-iomem.txt").read_text()
    assert outside_ram(iomem.boot("virt").proc_iomem()) == outside_ram(real)
    assert len(outside_ram(real)) == 13


def test_pci_host_lines_agree() -> None:
    real = log_lines((DATA / "virt-dmesg.txt").read_text())
    sim = log_lines(iomem.boot("virt").dmesg())

    def pci(lines: list[str]) -> list[str]:
        return [ln for ln in lines if ln.startswith(("pci-host-generic", "pci_bus", "pci "))]
    assert pci(sim) == pci(real)
    assert len(pci(real)) == 21


def test_proc_iomem_agrees_for_the_devices_both_have_drivers_for() -> None:
    real = (DATA / "virt-proc-iomem.txt").read_text()
    sim = iomem.boot("virt").proc_iomem()
    assert device_lines(sim) == device_lines(real) == [
        "09000000-09000fff : pl011@9000000",
        "  09000000-09000fff : 9000000.pl011 pl011@9000000",
        "09010000-09010fff : pl031@9010000",
        "  09010000-09010fff : rtc-pl031",
        "09030000-09030fff : pl061@9030000",
        "  09030000-09030fff : 9030000.pl061 pl061@9030000"]
    # RAM: the same top-level range; what is inside it is the guest kernel's own
    assert "40000000-7fffffff : System RAM" in real.splitlines()
    assert "40000000-7fffffff : System RAM" in sim.splitlines()


def test_linux_irq_numbers_agree() -> None:
    real = irq_table((DATA / "virt-proc-interrupts.txt").read_text())
    sim = irq_table(proc_interrupts(iomem.boot("virt")))
    assert real == sim == {"arch_timer": (11, 27), "uart-pl011": (13, 33), "arm-pmu": (14, 23),
                           "rtc-pl031": (16, 34)}


def test_the_boot_log_lines_of_the_modelled_devices_agree() -> None:
    real = log_lines((DATA / "virt-dmesg.txt").read_text())
    sim = log_lines(iomem.boot("virt").dmesg())
    same = ["Machine model: linux,dummy-virt",
            "NR_IRQS: 64, nr_irqs: 64, preallocated irqs: 0",
            "Root IRQ handler: gic_handle_irq",
            "arch_timer: cp15 timer(s) running at 62.50MHz (virt).",
            "clocksource: arch_sys_counter: mask: 0x1ffffffffffffff max_cycles: 0x1cd42e208c, "
            "max_idle_ns: 881590405314 ns",
            "sched_clock: 57 bits at 63MHz, resolution 16ns, wraps every 4398046511096ns",
            "Serial: AMBA PL011 UART driver",
            "9000000.pl011: ttyAMA0 at MMIO 0x9000000 (irq = 13, base_baud = 0) is a PL011 rev1",
            "printk: console [ttyAMA0] enabled",
            "hw perfevents: enabled with armv8_pmuv3 PMU driver, 7 counters available",
            "pl061_gpio 9030000.pl061: PL061 GPIO chip registered",
            "Serial: 8250/16550 driver, 4 ports, IRQ sharing enabled",
            "rtc-pl031 9010000.pl031: registered as rtc0",
            "uart-pl011 9000000.pl011: no DMA platform data"]
    for line in same:
        assert line in real, line
        assert line in sim, line
    # and in the same order on both sides
    assert [real.index(ln) for ln in same] == sorted(real.index(ln) for ln in same)
    assert [sim.index(ln) for ln in same] == sorted(sim.index(ln) for ln in same)
    hctosys = "rtc-pl031 9010000.pl031: setting system clock to "
    assert any(ln.startswith(hctosys) for ln in real)
    assert any(ln.startswith(hctosys) for ln in sim)
