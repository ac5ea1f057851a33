"""The edu driver's register logic, recorded: inside a VM-lab guest through PCI sysfs,
or (imported by the test) through the simulated kernel driver.

``python guest_trace_edu.py [OUT.jsonl]`` (default ``$IOMEM_VM_OUT/edu-user.jsonl``)
maps the real edu's BAR 0 through ``/sys/bus/pci/devices/0000:00:04.0/resource0``
and runs :func:`scenario` on it under iomem's recorder (mmiotrace cannot see
userspace accesses).  The same :func:`scenario` on the simulated pc, through
the kernel edu driver's ``pcim_iomap`` cookie, must make the same accesses and
read the same values.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from iomem.drivers import edu as E


def scenario(regs: Any, *, probe_check: bool = True) -> dict[str, int]:
    """What the driver does with the device: its probe's identification check, then
    liveness and factorials by polling (``regs`` has readl/writel)."""
    out: dict[str, int] = {}
    if probe_check:  # what edu_probe reads before anything else
        out["is_edu"] = int(E.edu_is_edu(regs))
    out["id"] = E.edu_ident(regs)[0]
    out["live_12345678"] = E.edu_liveness(regs, 0x12345678)
    out["live_0"] = E.edu_liveness(regs, 0)
    out["fact_5"] = E.edu_factorial(regs, 5)
    out["fact_13"] = E.edu_factorial(regs, 13)
    regs.writel(0xCAFE, E.EDU_DMA_SRC)
    out["dma_src"] = regs.readl(E.EDU_DMA_SRC)
    return out


def main(out: str) -> int:
    import iomem.trace
    from iomem.user import open_target

    with iomem.trace.record(out, format="jsonl"), open_target("pci:0000:00:04.0") as m:
        facts = scenario(m)
    print(facts)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else
                  os.path.join(os.environ["IOMEM_VM_OUT"], "edu-user.jsonl")))
