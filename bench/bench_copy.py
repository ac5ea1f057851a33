"""Bulk copies: memcpy_toio / memcpy_fromio throughput on 4 KiB and 1 MiB.

The simulated copies split as the arch string routines do (arm64: 8-byte
accesses), one bus access each; the limit is a memoryview slice copy of the
same size.  One op is one whole copy; MB/s is 1e6 bytes per second.
"""

from __future__ import annotations

from fixtures import REGS_SIZE, bench_board
from harness import Case

from iomem.kernel import io

ORDER = 30

SIZES = ((4096, "4 KiB"), (1 << 20, "1 MiB"))


def _raw(n: int) -> dict[str, object]:
    dev = memoryview(bytearray(n))
    return {"dev": dev, "buf": bytearray(n), "n": n}


def _io(n: int, which: str = "ram") -> dict[str, object]:
    b = bench_board()
    return {"c": b.sram if which == "ram" else b.reg, "buf": bytearray(n), "n": n,
            "memcpy_toio": io.memcpy_toio, "memcpy_fromio": io.memcpy_fromio}


CASES: list[Case] = []
for _n, _label in SIZES:
    CASES += [
        Case("copy", f"copy.raw.to.{_n}", f"raw limit: mv[:n] = buf, {_label}", "dev[:n] = buf",
             lambda n=_n: _raw(n), nbytes=_n),
        Case("copy", f"copy.raw.from.{_n}", f"raw limit: buf[:] = mv[:n], {_label}",
             "buf[:] = dev[:n]", lambda n=_n: _raw(n), nbytes=_n),
        Case("copy", f"copy.toio.{_n}", f"memcpy_toio SRAM, {_label}", "memcpy_toio(c, buf, n)",
             lambda n=_n: _io(n), ref=f"copy.raw.to.{_n}", nbytes=_n),
        Case("copy", f"copy.fromio.{_n}", f"memcpy_fromio SRAM, {_label}",
             "memcpy_fromio(buf, c, n)", lambda n=_n: _io(n), ref=f"copy.raw.from.{_n}",
             nbytes=_n),
    ]
CASES += [
    Case("copy", "copy.toio.reg", "memcpy_toio register region, 4 KiB",
         "memcpy_toio(c, buf, n)", lambda: _io(REGS_SIZE, "reg"), ref=f"copy.raw.to.{REGS_SIZE}",
         nbytes=REGS_SIZE),
    Case("copy", "copy.fromio.reg", "memcpy_fromio register region, 4 KiB",
         "memcpy_fromio(buf, c, n)", lambda: _io(REGS_SIZE, "reg"),
         ref=f"copy.raw.from.{REGS_SIZE}", nbytes=REGS_SIZE),
]

TARGETS: list = []
