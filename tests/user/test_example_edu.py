"""The userspace edu driver (examples/edu_userspace.py) against the simulated edu device.

The same driver runs against QEMU's edu in the VM lab (tests/vm/test_userspace_edu.py)
through PCI sysfs, /dev/mem, UIO and VFIO; here it goes through a read/write-pair
window onto the simulator's physical address space, which is what a simulated
backend hands the accessor object. Both must give the example's EXPECTED facts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from iomem.devices.edu import EduDevice
from iomem.devices.pci import PciHost
from iomem.devices.pci import regs as R
from iomem.machine import Machine
from iomem.phys import IGNORE
from iomem.user import Mmio, MmioAccessError, Window

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import edu_userspace  # noqa: E402

BAR = 0xFEA00000
ACCESS_NS = 100  # each access moves the virtual clock, as a bus transaction takes time


class SimulatedEdu:
    """A pc-like machine with edu at 00:04.0 (BAR0 at 0xfea00000) and a window on BAR0."""

    def __init__(self) -> None:
        self.m = Machine("pc", arch="x86_64", bus_error_policy=IGNORE)
        self.m.add_ram("ram", 0, 1 << 20)
        self.host = PciHost.i440fx(self.m)
        self.edu = self.host.plug(EduDevice(), 4)
        self.host.assign_interrupt_lines()
        self.host.config_write(0, self.edu.devfn, R.PCI_BASE_ADDRESS_0, 4, BAR)
        self.host.config_write(0, self.edu.devfn, R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
        self.accesses: list[tuple[str, int, int]] = []

    def read(self, off: int, size: int) -> int:
        self.accesses.append(("r", off, size))
        self.m.clock.advance(ACCESS_NS)
        return self.m.memory.read(BAR + off, size)

    def write(self, off: int, size: int, value: int) -> None:
        self.accesses.append(("w", off, size))
        self.m.clock.advance(ACCESS_NS)
        self.m.memory.write(BAR + off, size, value)

    def mmio(self) -> Mmio:
        return Mmio(Window(size=1 << 20, name="simulated edu BAR0", read=self.read,
                           write=self.write, phys=BAR))


def test_the_driver_sees_what_it_sees_on_qemu() -> None:
    sim = SimulatedEdu()
    with sim.mmio() as m:
        facts = edu_userspace.run_checks(m)
    assert edu_userspace.mismatches(facts) == []
    assert facts["mapping"].startswith("simulated edu BAR0, [mem 0xfea00000-0xfeafffff]")


def test_every_driver_access_is_one_access_of_its_width() -> None:
    sim = SimulatedEdu()
    with sim.mmio() as m:
        edu = edu_userspace.Edu(m)
        sim.accesses.clear()
        assert edu.factorial(6) == 720
        m.writeq(0x0123456789ABCDEF, 0x80)
    assert sim.accesses[0] == ("w", 0x08, 4)
    assert all(size == 4 for _, _, size in sim.accesses[:-1])
    assert sim.accesses[-1] == ("w", 0x80, 8)


def test_a_width_bug_shows() -> None:
    """Driving the factorial register with 16-bit stores gets no answer at all."""
    sim = SimulatedEdu()
    with sim.mmio() as m:
        m.writew(5, 0x08)
        assert m.readl(0x20) & 1 == 0  # never started
        assert m.readl(0x08) == 0
        with pytest.raises(MmioAccessError, match="not 4-byte aligned"):
            m.readl(0x0A)


def test_the_example_command_line(capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    sim = SimulatedEdu()
    monkeypatch.setattr(edu_userspace, "open_target", lambda *a, **k: sim.mmio())
    assert edu_userspace.main(["sim:edu", "--json"]) == 0
    assert '"id": 16777453' in capsys.readouterr().out
