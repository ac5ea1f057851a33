"""Single accesses: the raw typed-memoryview limit, then readX/writeX through a
cookie on a RAM region and on a register region, per width, and the layers
one register readl goes through (to see where its time goes).

Every access row is compared with the raw limit of the same width and
direction, measured in the same run.
"""

from __future__ import annotations

from fixtures import REGS_BASE, bench_board
from harness import Case, Target

from iomem.kernel import io

ORDER = 10

WIDTHS = ((1, "b", "8"), (2, "w", "16"), (4, "l", "32"), (8, "q", "64"))
_FMT = {1: "B", 2: "H", 4: "I", 8: "Q"}
OFFSET = 0x40  # aligned for every width


def _raw(size: int) -> dict[str, object]:
    view = memoryview(bytearray(4096))
    v = view if size == 1 else view.cast(_FMT[size])
    return {"v": v, "i": OFFSET // size, "x": 0x5A}


def _cookie(which: str, variant: str = "plain") -> dict[str, object]:
    b = bench_board(variant)
    ns: dict[str, object] = {"c": (b.sram if which == "ram" else b.reg) + OFFSET, "x": 0x5A}
    for _size, s, _bits in WIDTHS:
        ns[f"read{s}"] = io.accessor(f"read{s}")
        ns[f"write{s}"] = io.accessor(f"write{s}")
    return ns


def _layers(variant: str = "plain") -> dict[str, object]:
    b = bench_board(variant)
    c = b.reg + OFFSET
    return {"model": b.regs, "bus": b.machine.memory, "area": c.area, "off": c._off,
            "pa": REGS_BASE + OFFSET, "readl": io.accessor("readl"),
            "readl_relaxed": io.accessor("readl_relaxed"), "c": c, "ops_off": OFFSET}


CASES: list[Case] = [Case("raw limit", "raw.loop", "timeit loop overhead (pass)", "pass",
                          dict)]
for _size, _s, _bits in WIDTHS:
    CASES += [
        Case("raw limit", f"raw.read{_bits}", f"memoryview.cast('{_FMT[_size]}')[i] read",
             "v[i]", lambda size=_size: _raw(size)),
        Case("raw limit", f"raw.write{_bits}", f"memoryview.cast('{_FMT[_size]}')[i] = x",
             "v[i] = x", lambda size=_size: _raw(size)),
    ]
for _which, _title in (("ram", "access: SRAM (ram region)"), ("reg", "access: register region")):
    for _size, _s, _bits in WIDTHS:
        CASES += [
            Case(_title, f"{_which}.read{_s}", f"read{_s}(c)", f"read{_s}(c)",
                 lambda w=_which: _cookie(w), ref=f"raw.read{_bits}"),
            Case(_title, f"{_which}.write{_s}", f"write{_s}(x, c)", f"write{_s}(x, c)",
                 lambda w=_which: _cookie(w), ref=f"raw.write{_bits}"),
        ]

_L = "layers: one 32-bit register read"
CASES += [
    Case(_L, "layer.model", "device model read(off, 4)", "model.read(ops_off, 4)", _layers,
         ref="raw.read32"),
    Case(_L, "layer.bus", "AddressSpace.read(pa, 4)", "bus.read(pa, 4)", _layers,
         ref="raw.read32"),
    Case(_L, "layer.area", "area.read(off, 4) (IoPaths._direct)", "area.read(off, 4)", _layers,
         ref="raw.read32"),
    Case(_L, "layer.relaxed", "readl_relaxed(c)", "readl_relaxed(c)", _layers,
         ref="raw.read32"),
    Case(_L, "layer.readl", "readl(c)", "readl(c)", _layers, ref="raw.read32"),
    Case(_L, "layer.passthrough", "readl(c), one pass-through layer", "readl(c)",
         lambda: _layers("passthrough"), ref="layer.readl"),
]

TARGETS = [
    Target("register-region readl under 1 us (sanitizer off: no layer on the path)",
           "reg.readl", None, 1000, unit="ns"),
    Target("register-region writel under 1 us (sanitizer off: no layer on the path)",
           "reg.writel", None, 1000, unit="ns"),
]
