"""Tracing: what recording costs per access (off, to a ring, to a file) on the
simulated kernel's readl/writel and on the userspace accessor, and how fast a
real mmiotrace log is read.

Recording is chosen when a mapping is made, so "off" is the plain path (no
layer at all) and each "on" row maps through a recorder: a ring that keeps
the last million events (full, dropping the oldest chunk by chunk, after the
first moments), or a file (``/dev/null``: every event is formatted as an
mmiotrace line and written, in chunks).  "sites" rows also find the
driver's line of each access (the ``pc`` and the structured form's
file:line).  The parse rows read the VM lab's real e1000 capture (about
12 000 lines, in memory) and give ns per line.
"""

from __future__ import annotations

import atexit
import collections
import functools
import gzip
import lzma
import mmap
import os
from pathlib import Path

from fixtures import VARIANTS, bench_board
from harness import Case, Target

from iomem.kernel import io
from iomem.kernel.kernel import Kernel
from iomem.trace import jsonl, mmiotrace
from iomem.trace.recorder import Recorder
from iomem.trace.stats import compute
from iomem.user import Mmio

ORDER = 50
OFFSET = 0x40
ROOT = Path(__file__).resolve().parents[1]
REAL = (ROOT / "tests/vm/data/pc-e1000-mmiotrace.txt.xz",
        ROOT / "tests/trace/data/e1000-mmiotrace.txt.gz")

_recorders: list[Recorder] = []


def _recorder(**kw: object) -> Recorder:
    """A recorder that records only what it is given (nothing booted or mapped later)."""
    target = kw.pop("path", None)
    rec = Recorder(target, kernel=False, user=False, **kw).start()  # type: ignore[arg-type]
    _recorders.append(rec)
    return rec


def _devnull() -> object:
    fh = open(os.devnull, "w")  # noqa: SIM115 - closed at exit
    atexit.register(fh.close)
    return fh


def _kernel_variant(**kw: object):
    def setup(k: Kernel) -> None:
        _recorder(**kw).attach_kernel(k)
    return setup


VARIANTS["trace-ring"] = _kernel_variant(sites=False)
VARIANTS["trace-ring-sites"] = _kernel_variant(sites=True)
VARIANTS["trace-file"] = _kernel_variant(sites=False, path=_devnull())
VARIANTS["trace-file-sites"] = _kernel_variant(sites=True, path=_devnull())


def _kernel(variant: str = "plain") -> dict[str, object]:
    b = bench_board(variant)
    return {"c": b.reg + OFFSET, "x": 0x5A, "readl": io.accessor("readl"),
            "writel": io.accessor("writel")}


@functools.cache
def _user(how: str) -> Mmio:
    mm = mmap.mmap(-1, 1 << 16)
    m = Mmio.from_buffer(mm, phys=0x1000_0000)
    if how == "ring":
        _recorder(sites=False).attach_mapping(m)
    elif how == "ring-sites":
        _recorder(sites=True).attach_mapping(m)
    elif how == "file":
        _recorder(sites=False, path=_devnull()).attach_mapping(m)
    return m


def _user_ns(how: str) -> dict[str, object]:
    return {"m": _user(how), "off": OFFSET, "x": 0x5A}


@functools.cache
def _real_lines() -> list[str]:
    for path in REAL:
        if path.is_file():
            opener = lzma.open if path.suffix == ".xz" else gzip.open
            with opener(path, "rt") as fh:
                return fh.readlines()
    raise FileNotFoundError("no real e1000 trace under tests/")


@functools.cache
def _real_jsonl() -> list[str]:
    return jsonl.dumps(mmiotrace.parse(_real_lines())).splitlines(True)


def _parse_ns() -> dict[str, object]:
    return {"lines": _real_lines(), "jlines": _real_jsonl(), "parse": mmiotrace.parse,
            "jparse": jsonl.parse, "drain": collections.deque, "compute": compute}


def _nlines() -> int:
    try:
        return len(_real_lines())
    except FileNotFoundError:
        return 1


def _no_real() -> str | None:
    return None if any(p.is_file() for p in REAL) else "no real e1000 trace under tests/"


_K = "trace: one 32-bit register access through the kernel"
_U = "trace: userspace Mmio.readl/writel on an anonymous mmap"
_P = "trace: reading the real e1000 mmiotrace (per line)"
CASES: list[Case] = []
for _op, _stmt in (("readl", "readl(c)"), ("writel", "writel(x, c)")):
    CASES += [
        Case(_K, f"trace.off.{_op}", f"{_stmt}, recording off", _stmt, _kernel),
        Case(_K, f"trace.ring.{_op}", f"{_stmt}, ring", _stmt,
             lambda: _kernel("trace-ring"), ref=f"trace.off.{_op}"),
        Case(_K, f"trace.ring-sites.{_op}", f"{_stmt}, ring + driver line", _stmt,
             lambda: _kernel("trace-ring-sites"), ref=f"trace.off.{_op}"),
        Case(_K, f"trace.file.{_op}", f"{_stmt}, file (mmiotrace text)", _stmt,
             lambda: _kernel("trace-file"), ref=f"trace.off.{_op}"),
        Case(_K, f"trace.file-sites.{_op}", f"{_stmt}, file + driver line", _stmt,
             lambda: _kernel("trace-file-sites"), ref=f"trace.off.{_op}"),
    ]
for _op, _stmt in (("readl", "m.readl(off)"), ("writel", "m.writel(x, off)")):
    CASES += [
        Case(_U, f"trace.us.off.{_op}", f"{_stmt}, recording off", _stmt,
             lambda: _user_ns("off")),
        Case(_U, f"trace.us.ring.{_op}", f"{_stmt}, ring", _stmt,
             lambda: _user_ns("ring"), ref=f"trace.us.off.{_op}"),
        Case(_U, f"trace.us.ring-sites.{_op}", f"{_stmt}, ring + driver line", _stmt,
             lambda: _user_ns("ring-sites"), ref=f"trace.us.off.{_op}"),
        Case(_U, f"trace.us.file.{_op}", f"{_stmt}, file (mmiotrace text)", _stmt,
             lambda: _user_ns("file"), ref=f"trace.us.off.{_op}"),
    ]
CASES += [
    Case(_P, "trace.parse.mmiotrace", "mmiotrace.parse (records)", "drain(parse(lines), 0)",
         _parse_ns, ops=_nlines(), skip=_no_real),
    Case(_P, "trace.parse.jsonl", "jsonl.parse, same trace (records)",
         "drain(jparse(jlines), 0)", _parse_ns, ops=_nlines(), ref="trace.parse.mmiotrace",
         skip=_no_real),
    Case(_P, "trace.stats", "parse + stats per device and register",
         "compute(parse(lines))", _parse_ns, ops=_nlines(), ref="trace.parse.mmiotrace",
         skip=_no_real),
]

TARGETS = [
    Target("recording off costs nothing: the plain readl stays under 1 us", "trace.off.readl",
           None, 1000, unit="ns"),
    Target("recording readl to a ring at most 2x the plain readl", "trace.ring.readl",
           "trace.off.readl", 2.0),
    Target("recording readl to a file at most 3x the plain readl", "trace.file.readl",
           "trace.off.readl", 3.0),
    Target("reading mmiotrace: a million lines in under 5 s (5 us per line)",
           "trace.parse.mmiotrace", None, 5000, unit="ns"),
]
