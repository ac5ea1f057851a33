"""Run inside the pc guest with the host's Python: the edu driver's register logic
(iomem.drivers.edu) against QEMU's real edu, through PCI sysfs ``resource0``.

The logic is the very code the simulated kernel's driver runs; here its
``readl``/``writel`` are single aligned 32-bit accesses on a plain mmap of
the BAR.  Results go to ``$IOMEM_VM_OUT/edu-real.json``.
"""

import json
import mmap
import os
import sys
from pathlib import Path

from iomem.drivers import edu as E

SLOT = "0000:00:04.0"
PROBES = (0x0C, 0x30, 0x84, 0x9C, 0x1000, 0x40000)
FACTORIALS = (0, 1, 5, 12, 13, 20, 33, 34, 100)
LIVENESS = (0, 1, 0x12345678, 0x80000000, 0xFFFFFFFF)


class SysfsRegs:
    """readl/writel over an mmap of resource0, one aligned access each."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_SYNC)
        self.map = mmap.mmap(self.fd, 1 << 20, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.u32 = memoryview(self.map).cast("I")
        self.u16 = memoryview(self.map).cast("H")

    def readl(self, off: int) -> int:
        return self.u32[off // 4]

    def writel(self, value: int, off: int) -> None:
        self.u32[off // 4] = value

    def readw(self, off: int) -> int:
        return self.u16[off // 2]

    def close(self) -> None:
        self.u32.release()
        self.u16.release()
        self.map.close()
        os.close(self.fd)


def run(regs) -> dict:
    """What the test compares: the same calls the simulated side makes."""
    return {
        "ident": list(E.edu_ident(regs)),
        "liveness": [E.edu_liveness(regs, v) for v in LIVENESS],
        "factorial": [E.edu_factorial(regs, n) for n in FACTORIALS],
        "unknown": [E.edu_read(regs, off) for off in PROBES],
        "status_after": E.edu_read(regs, E.EDU_STATUS),
        "readw_0": regs.readw(0),
    }


def main() -> None:
    base = Path("/sys/bus/pci/devices") / SLOT
    regs = SysfsRegs(base / "resource0")
    try:
        facts = run(regs)
    finally:
        regs.close()
    facts["python"] = sys.version
    out = Path(os.environ["IOMEM_VM_OUT"]) / "edu-real.json"
    out.write_text(json.dumps(facts, indent=1) + "\n")
    print("edu ok", facts["ident"])


if __name__ == "__main__":
    main()
