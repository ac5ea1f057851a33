"""Sanitizer behaviours the rest of the suite left unpinned: the endianness rule in both
directions, the barriers that clear the ordering checks, and the line every gallery report
names."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest
from lab_copy import PAYLOAD, lab_copy

import iomem
import iomem.check
from iomem.check import RULES
from iomem.check.lab import (
    LAB_BASE,
    LAB_BE_BASE,
    LAB_SIZE,
    SCRATCH,
    lab_devices,
)
from iomem.check.runner import KERNEL_STOPS, Session

GALLERY = Path(__file__).resolve().parents[2] / "examples" / "pitfalls"


def _line() -> int:
    return sys._getframe(1).f_lineno


# -- endianness ------------------------------------------------------------------------------

LE_READS = ["readl", "readl_relaxed", "ioread32"]
LE_WRITES = ["writel", "writel_relaxed", "iowrite32"]
BE_READS = ["ioread32be"]
BE_WRITES = ["iowrite32be"]


def _scratch_access(base_phys: int, fn: str) -> tuple[list, int, iomem.Kernel]:
    """One access to SCRATCH of the lab device at ``base_phys`` with accessor ``fn``:
    (the sanitizer's reports, the line of the access, the kernel)."""
    k = iomem.check.boot("lab", sanitize=True)
    with k:
        iomem.request_mem_region(base_phys, LAB_SIZE, "lab")
        base = iomem.ioremap(base_phys, LAB_SIZE)
        acc = getattr(iomem, fn)
        if fn.startswith(("write", "iowrite")):
            acc(0x11223344, base + SCRATCH); line = _line()  # noqa: E702
        else:
            acc(base + SCRATCH); line = _line()  # noqa: E702
        iomem.iounmap(base)
        iomem.release_mem_region(base_phys, LAB_SIZE)
    return k.sanitizer.finish(), line, k


@pytest.mark.parametrize("fn", BE_READS + BE_WRITES)
def test_a_big_endian_accessor_on_little_endian_registers_is_reported(fn: str) -> None:
    reports, line, k = _scratch_access(LAB_BASE, fn)
    assert lab_devices(k)[0].endianness == "little"
    (rep,) = reports
    assert rep.rule == "endian-mismatch" and rep.severity == "error"
    assert rep.register == "SCRATCH" and rep.phys == LAB_BASE + SCRATCH
    assert rep.message.startswith(f"{fn}() is a big-endian accessor; SCRATCH of ")
    assert rep.message.endswith("is little-endian: the value is byte-swapped")
    assert rep.site.file == __file__ and rep.site.line == line


@pytest.mark.parametrize("fn", LE_READS + LE_WRITES)
def test_a_little_endian_accessor_on_big_endian_registers_is_reported(fn: str) -> None:
    reports, line, k = _scratch_access(LAB_BE_BASE, fn)
    assert lab_devices(k)[1].endianness == "big"
    (rep,) = reports
    assert rep.rule == "endian-mismatch" and rep.severity == "error"
    assert rep.register == "SCRATCH" and rep.phys == LAB_BE_BASE + SCRATCH
    assert rep.message.startswith(f"{fn}() is a little-endian accessor; SCRATCH of ")
    assert rep.message.endswith("is big-endian: the value is byte-swapped")
    assert rep.site.file == __file__ and rep.site.line == line


@pytest.mark.parametrize(("base_phys", "fn"),
                         [(LAB_BASE, fn) for fn in LE_READS + LE_WRITES]
                         + [(LAB_BE_BASE, fn) for fn in BE_READS + BE_WRITES])
def test_the_accessor_matching_the_registers_byte_order_is_silent(base_phys: int,
                                                                  fn: str) -> None:
    reports, _line_no, _k = _scratch_access(base_phys, fn)
    assert reports == []


def test_the_right_accessor_reads_the_big_endian_value_and_the_wrong_one_swaps() -> None:
    k = iomem.check.boot("lab", sanitize=True)
    with k:
        iomem.request_mem_region(LAB_BE_BASE, LAB_SIZE, "lab-be")
        base = iomem.ioremap(LAB_BE_BASE, LAB_SIZE)
        iomem.iowrite32be(0x11223344, base + SCRATCH)
        assert iomem.ioread32be(base + SCRATCH) == 0x11223344
        assert k.sanitizer.reports == []
        assert iomem.readl(base + SCRATCH) == 0x44332211
        assert [r.rule for r in k.sanitizer.reports] == ["endian-mismatch"]
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BE_BASE, LAB_SIZE)


# -- barriers and the ordering checks --------------------------------------------------------

def _copy_run(barrier: str | None, doorbell: bool, model: str) -> tuple[list, bytes]:
    """One copy by the lab's DMA engine: (the sanitizer's reports, the bytes the CPU read
    back).  ``doorbell``: the descriptor stores, ``barrier``, then a ``writel_relaxed``
    doorbell; otherwise: a ``writel`` doorbell, a ``readl_relaxed`` poll of STATUS until
    the copy is done, ``barrier``, then the load of the copied bytes."""
    if doorbell:
        return lab_copy(model, before_bell=barrier or "", bell="writel_relaxed")
    return lab_copy(model, poll="readl_relaxed", after_poll=barrier or "")


MODELS = ["strict", "realistic", "adversarial"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("barrier", [None, "wmb", "dma_rmb", "dma_wmb"])
def test_a_buffer_load_after_a_relaxed_status_read_without_rmb_is_reported(
        barrier: str | None, model: str) -> None:
    reports, _copied = _copy_run(barrier, doorbell=False, model=model)
    assert [r.rule for r in reports] == ["relaxed-status-read"]
    assert "after a relaxed read of STATUS with no rmb()" in reports[0].message


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("barrier", ["rmb", "mb"])
def test_rmb_and_mb_clear_the_relaxed_status_read_check(barrier: str, model: str) -> None:
    reports, copied = _copy_run(barrier, doorbell=False, model=model)
    assert reports == []
    assert copied == PAYLOAD


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("barrier", [None, "rmb", "dma_wmb", "dma_rmb"])
def test_a_relaxed_doorbell_after_buffer_stores_without_wmb_is_reported(
        barrier: str | None, model: str) -> None:
    reports, _copied = _copy_run(barrier, doorbell=True, model=model)
    assert [r.rule for r in reports] == ["relaxed-doorbell"]
    assert reports[0].register == "DOORBELL"
    assert reports[0].message.startswith("writel_relaxed() to DOORBELL while 2 store(s)")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("barrier", ["wmb", "mb"])
def test_wmb_and_mb_clear_the_relaxed_doorbell_check(barrier: str, model: str) -> None:
    reports, copied = _copy_run(barrier, doorbell=True, model=model)
    assert reports == []
    assert copied == PAYLOAD


# -- the line a gallery report names ---------------------------------------------------------

def _run_bad(rule_id: str):
    path = GALLERY / f"{rule_id.replace('-', '_')}_bad.py"
    spec = importlib.util.spec_from_file_location(f"pitfall_gap_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with Session("adversarial") as session:
        try:
            mod.main("adversarial")
        except KERNEL_STOPS as e:
            session.note_exception(e)
    fired = [r for r in session.finish() if r.rule == rule_id]
    assert fired, rule_id
    return path, fired[0]


def _statement_lines(source: str) -> set[int]:
    """The first lines of the statements inside the example's functions."""
    lines: set[int] = set()
    for fn in ast.walk(ast.parse(source)):
        if isinstance(fn, ast.FunctionDef):
            lines |= {n.lineno for n in ast.walk(fn)
                      if isinstance(n, ast.stmt) and n is not fn}
    return lines


def _marked_line(source: str, marker: str) -> int:
    """The one line of code (not a comment, not the docstring) containing ``marker``."""
    code = _statement_lines(source)
    hits = [i for i, text in enumerate(source.splitlines(), 1)
            if marker in text.split("#", 1)[0] and i in code]
    assert len(hits) == 1, (marker, hits)
    return hits[0]


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_every_gallery_report_names_a_line_of_driver_code(
        rule_id: str, capsys: pytest.CaptureFixture) -> None:
    path, rep = _run_bad(rule_id)
    capsys.readouterr()
    assert rep.site.file == str(path)
    source = path.read_text()
    assert rep.site.line in _statement_lines(source), (rule_id, rep.site)
    text = source.splitlines()[rep.site.line - 1].strip()
    assert text and not text.startswith("#")


#: rules whose report must name the line of one obvious call of the broken driver
MARKERS = {
    "access-unaligned": "readl(base + DATA + 2)",
    "access-width": "iomem.writeb(",
    "cacheable-registers": "iomem.ioremap_cache(",
    "endian-mismatch": "iomem.readl(base + ID)",
    "int-as-iomem": "iomem.readl(LAB_BASE + ID)",
    "iomem-as-pointer": "base[ID]",
    "posted-write-delay": "iomem.udelay(10)",
    "read-write-only": "iomem.readl(base + CMD)",
    "relaxed-doorbell": "iomem.writel_relaxed(1, base + DOORBELL)",
    "relaxed-status-read": "copied = ring[",
    "release-unrequested": "iomem.release_mem_region(LAB_BASE, 0x100)",
    "wc-registers": "iomem.ioremap_wc(",
    "write-read-only": "iomem.writel(0, base + STATUS)",
}


@pytest.mark.parametrize("rule_id", sorted(MARKERS))
def test_a_gallery_report_names_the_line_of_the_offending_call(
        rule_id: str, capsys: pytest.CaptureFixture) -> None:
    path, rep = _run_bad(rule_id)
    capsys.readouterr()
    assert rep.site.line == _marked_line(path.read_text(), MARKERS[rule_id]), rep.site
