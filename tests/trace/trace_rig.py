"""What the trace tests share: a simulated pc with the edu driver bound, a userspace
window onto the simulated edu's BAR 0 (what a simulated backend hands Mmio), and the
fake host tree of the userspace tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import iomem
from iomem.drivers import edu as edu_drv
from iomem.kernel.pci import pci_core
from iomem.user import Mmio, Window

DATA = Path(__file__).with_name("data")
EDU_BAR = 0xFEA00000


class SimEdu:
    """The pc board, the edu driver bound to 00:04.0, and its state."""

    def __init__(self) -> None:
        self.k = iomem.boot("pc")
        with self.k:
            self.drv = edu_drv.edu_init()
        self.pdev = next(d for d in pci_core(self.k).devices() if d.device == 0x11E8)

    @property
    def edu(self) -> edu_drv.edu_dev:
        dev = edu_drv.edu_get(self.pdev)
        assert dev is not None
        return dev

    def user_window(self, clock: bool = True) -> Mmio:
        """A userspace mapping of BAR 0 through the simulated bus (a read/write pair)."""
        mem = self.k.machine.memory
        clk = self.k.machine.clock

        def read(off: int, size: int) -> int:
            clk.advance(100)
            return mem.read(EDU_BAR + off, size)

        def write(off: int, size: int, value: int) -> None:
            clk.advance(100)
            mem.write(EDU_BAR + off, size, value)
        info: dict[str, Any] = {"memtype": "UC", "backend": "simulated"}
        if clock:
            info["clock"] = clk
        return Mmio(Window(size=1 << 20, name="0000:00:04.0 BAR0", read=read, write=write,
                           phys=EDU_BAR, info=info))


def fake_host(root: Path) -> Any:
    """The userspace tests' miniature pc host tree (sysfs, /proc/iomem) under ``root``."""
    tests = str(Path(__file__).resolve().parents[1])
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from user.fakehost import standard

    return standard(root)
