"""A userspace driver for QEMU's ``edu`` PCI device that runs unchanged on any backend.

    python examples/edu_userspace.py pci:1234:11e8          # PCI sysfs resource0
    python examples/edu_userspace.py devmem:0xfea00000+1M   # /dev/mem
    python examples/edu_userspace.py uio:uio_pci_generic --irq
    python examples/edu_userspace.py vfio:0000:00:03.0 --irq
    python examples/edu_userspace.py sim:pc:pci:1234:11e8   # the simulated pc board
    python examples/edu_userspace.py sim:pc,bind=uio_pci_generic@1234:11e8:uio:uio0 --irq

The driver only sees an :class:`iomem.user.Mmio` (and, with ``--irq``, the
device's interrupt as ``mmio.irq``); which of PCI sysfs, /dev/mem, UIO or
VFIO produced it, on a real kernel or on a simulated board (``sim:``
targets, :mod:`iomem.user.sim`), makes no difference. The register map is hw/misc/edu.c's
(docs/specs/edu.rst): identification at 0x00, liveness at 0x04 (reads back
the complement of what was written), factorial at 0x08 computed while
status bit 0 (0x20) is set, interrupt status/raise/ack at 0x24/0x60/0x64,
DMA address registers from 0x80. The device ignores accesses narrower than
32 bits, so an access of the wrong width shows up as a wrong answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from iomem.user import Mmio, MmioAccessError, open_target

EDU_ID = 0x00
EDU_LIVENESS = 0x04
EDU_FACTORIAL = 0x08
EDU_STATUS = 0x20
EDU_IRQ_STATUS = 0x24
EDU_IRQ_RAISE = 0x60
EDU_IRQ_ACK = 0x64
EDU_DMA_SRC = 0x80

STATUS_COMPUTING = 0x01
STATUS_IRQ_ON_FACTORIAL = 0x80
IDENTIFICATION_LOW = 0xED


class EduError(RuntimeError):
    """The device did not answer as an edu device does."""


def fact32(n: int) -> int:
    """The device's answer: n! in 32-bit wrapping arithmetic."""
    r = 1
    while n:
        r = (r * n) & 0xFFFFFFFF
        n -= 1
    return r


class Edu:
    """The edu device behind any mapping of its BAR0."""

    def __init__(self, mmio: Mmio, irq: Any = None) -> None:
        self.m = mmio
        self.irq = irq
        ident = mmio.readl(EDU_ID)
        if ident & 0xFF != IDENTIFICATION_LOW:
            raise EduError(f"{mmio.name}: identification {ident:#010x} is not an edu device's")
        self.version = (ident >> 24, (ident >> 16) & 0xFF)

    def liveness(self, value: int) -> int:
        self.m.writel(value, EDU_LIVENESS)
        return self.m.readl(EDU_LIVENESS)

    def factorial(self, n: int, timeout: float = 5.0) -> int:
        """Start a computation and poll status bit 0 until it is done."""
        m = self.m
        m.writel(n, EDU_FACTORIAL)
        deadline = time.monotonic() + timeout
        while m.readl(EDU_STATUS) & STATUS_COMPUTING:
            if time.monotonic() > deadline:
                raise EduError(f"factorial({n}) still computing after {timeout} s")
        return m.readl(EDU_FACTORIAL)

    def factorial_irq(self, n: int, timeout: float = 5.0) -> tuple[int, int]:
        """Compute with completion signalled by interrupt 0x1; returns (result, irq status)."""
        m, irq = self.m, self._need_irq()
        irq.enable()
        m.writel(STATUS_IRQ_ON_FACTORIAL, EDU_STATUS)
        m.writel(n, EDU_FACTORIAL)
        irq.wait(timeout)
        status = m.readl(EDU_IRQ_STATUS)
        m.writel(status, EDU_IRQ_ACK)
        m.writel(0, EDU_STATUS)
        irq.enable()
        return m.readl(EDU_FACTORIAL), status

    def raise_irq(self, bits: int, timeout: float = 5.0) -> dict[str, int]:
        """Raise interrupt ``bits`` through 0x60, wait for it, read and ack the status."""
        m, irq = self.m, self._need_irq()
        irq.enable()
        m.writel(bits, EDU_IRQ_RAISE)
        count = irq.wait(timeout)
        status = m.readl(EDU_IRQ_STATUS)
        m.writel(status, EDU_IRQ_ACK)
        after = m.readl(EDU_IRQ_STATUS)
        irq.enable()
        return {"count": count, "status": status, "after_ack": after}

    def _need_irq(self) -> Any:
        if self.irq is None:
            raise EduError(f"{self.m.name} has no interrupt attached (UIO or VFIO give one)")
        return self.irq


#: What :func:`run_checks` finds on a working edu device, through any backend that
#: makes single accesses. A 16-bit load is rejected by the device (QEMU reads 0); an
#: 8-byte load below 0x80 reads all-ones; the DMA source register at 0x80 keeps a
#: 64-bit store whole, while a store split in two halves loses the high word (0x84
#: ignores writes and reads all-ones).
EXPECTED: dict[str, Any] = {
    "id": 0x010000ED,
    "version": [1, 0],
    "liveness_0x12345678": 0xEDCBA987,
    "liveness_0": 0xFFFFFFFF,
    "factorial_5": 120,
    "factorial_13": fact32(13),
    "factorial_34": 0,
    "after_16bit_factorial_write": {"computing": 0, "result": 120},
    "readw_id": 0,
    "readq_id": (1 << 64) - 1,
    "dma_src_writeq_readq": 0x0123456789ABCDEF,
    "dma_src_lo_hi_writeq_readq": 0x89ABCDEF,
    "dma_src_writeq_lo_hi_readq": 0xFFFFFFFF89ABCDEF,
    "dma_src_lo_hi_writeq_lo_hi_readq": 0xFFFFFFFF89ABCDEF,
    "unknown_0x30": 0xFFFFFFFF,
}
EXPECTED_IRQ: dict[str, Any] = {
    "irq_raise_0x40": {"status": 0x40, "after_ack": 0},
    "irq_raise_0x1": {"status": 0x1, "after_ack": 0},
    "factorial_irq_6": [720, 0x1],
}


def mismatches(facts: dict[str, Any], *, irq: bool = False) -> list[str]:
    """How ``facts`` differ from :data:`EXPECTED` (and the interrupt facts when ``irq``)."""
    want = {**EXPECTED, **(EXPECTED_IRQ if irq else {})}
    out = []
    for key, value in want.items():
        got = facts.get(key)
        if isinstance(value, dict) and isinstance(got, dict):
            got = {k: got.get(k) for k in value}
        if got != value:
            out.append(f"{key}: got {got!r}, want {value!r}")
    return out


def _try(fn: Any) -> Any:
    try:
        return fn()
    except (MmioAccessError, OSError, EduError) as e:
        return f"{type(e).__name__}: {e}"


def run_checks(mmio: Mmio, irq: Any = None) -> dict[str, Any]:
    """Everything the driver can show about the device, as JSON-ready facts."""
    edu = Edu(mmio, irq)
    m = mmio
    r: dict[str, Any] = {"mapping": m.describe(), "id": m.readl(EDU_ID),
                         "version": list(edu.version)}
    r["liveness_0x12345678"] = edu.liveness(0x12345678)
    r["liveness_0"] = edu.liveness(0)
    r["factorial_5"] = edu.factorial(5)
    r["factorial_13"] = edu.factorial(13)
    r["factorial_34"] = edu.factorial(34)
    # The factorial register takes only 32-bit stores: a 16-bit one is dropped,
    # so the last result stays and the device does not start computing.
    edu.factorial(5)
    m.writew(6, EDU_FACTORIAL)
    r["after_16bit_factorial_write"] = {"computing": m.readl(EDU_STATUS) & STATUS_COMPUTING,
                                        "result": m.readl(EDU_FACTORIAL)}
    r["readw_id"] = _try(lambda: m.readw(EDU_ID))
    r["readq_id"] = _try(lambda: m.readq(EDU_ID))
    # 0x80 keeps all 64 bits of one 8-byte store; a 4-byte store at 0x84 is ignored,
    # so two 32-bit halves would lose the high word.
    value = 0x0123456789ABCDEF

    def store_then_load(store: Any, load: Any) -> Any:
        return _try(lambda: (store(value, EDU_DMA_SRC), load(EDU_DMA_SRC))[1])

    r["dma_src_writeq_readq"] = store_then_load(m.writeq, m.readq)
    r["dma_src_lo_hi_writeq_readq"] = store_then_load(m.lo_hi_writeq, m.readq)
    r["dma_src_writeq_lo_hi_readq"] = store_then_load(m.writeq, m.lo_hi_readq)
    r["dma_src_lo_hi_writeq_lo_hi_readq"] = store_then_load(m.lo_hi_writeq, m.lo_hi_readq)
    m.writel(0, EDU_DMA_SRC)
    r["unknown_0x30"] = m.readl(0x30)
    r["misaligned"] = _try(lambda: m.readl(0x2))
    r["out_of_range"] = _try(lambda: m.readl(m.size))
    if irq is not None:
        r["irq_raise_0x40"] = _try(lambda: edu.raise_irq(0x40))
        r["irq_raise_0x1"] = _try(lambda: edu.raise_irq(0x1))
        r["factorial_irq_6"] = _try(lambda: list(edu.factorial_irq(6)))
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("target", help="pci:BDF|VENDOR:DEVICE[/BAR], uio:NAME, vfio:BDF, "
                                   "devmem:ADDR+SIZE, or sim:BOARD[,OPTION...]:one of those")
    ap.add_argument("--irq", action="store_true", help="use the device's interrupt (UIO, VFIO)")
    ap.add_argument("--enable", action="store_true", help="turn on memory decode if off")
    ap.add_argument("--json", action="store_true", help="print the facts as JSON")
    args = ap.parse_args(argv)
    with open_target(args.target, irq=args.irq, enable=args.enable) as m:
        facts = run_checks(m, m.irq)
    if args.json:
        print(json.dumps(facts, indent=1))
    else:
        for k, v in facts.items():
            print(f"{k:32} {hex(v) if isinstance(v, int) else v}")
    wrong = mismatches(facts, irq=args.irq)
    for line in wrong:
        print("MISMATCH", line, file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
