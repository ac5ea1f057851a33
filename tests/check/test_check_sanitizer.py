"""The sanitizer as a library: off by default, switches per kernel and per mapping,
reports (text, JSON, attribution, repeats), kernel hooks it listens on, and a real driver
(edu on the pc board) that runs clean under every memory model."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lab_copy import lab_copy

import iomem
import iomem.check
from iomem.check import RULES, render_json, render_text, sanitize_mapping, table
from iomem.check.lab import (
    CMD,
    CTRL,
    CTRL_RESET,
    DMA_DESC,
    DOORBELL,
    ID,
    LAB_BASE,
    LAB_SIZE,
    STATUS,
    descriptor,
)
from iomem.check.runner import Session
from iomem.kernel import kernel as K
from iomem.kernel.dma import dma_alloc_coherent, dma_free_coherent


def _lab(**kw) -> iomem.Kernel:
    return iomem.check.boot("lab", **kw)


def test_off_by_default_in_library_use() -> None:
    k = iomem.boot("virt")
    assert k.sanitizer is None and not k.sanitize and k.memory_model == "strict"
    assert k.io_paths.layers == []
    assert K.BOOT_DEFAULTS == {"memory_model": "strict", "sanitize": False}


def test_boot_with_both_knobs_and_defaults_restore() -> None:
    k = _lab(memory_model="adversarial", sanitize=True)
    assert k.sanitize and k.memory_model == "adversarial"
    assert K.BOOT_DEFAULTS["sanitize"] is False
    with iomem.check.defaults(sanitize=True):
        assert iomem.boot("virt").sanitize
    assert not iomem.boot("virt").sanitize
    with pytest.raises(ValueError, match="unknown memory model"):
        iomem.check.configure(memory_model="sloppy")


def test_turning_it_on_adopts_existing_mappings_without_judging_them() -> None:
    k = _lab()
    with k:
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)  # unclaimed, but before the sanitizer
        k.sanitize = True
        iomem.readl(base + CMD)  # checked now: a write-only register
        assert [r.rule for r in k.sanitizer.reports] == ["read-write-only"]
        k.sanitize = False
        assert k.io_paths.layers == [] and "_direct" in base.area.read.__qualname__


def test_one_mapping_can_be_left_alone() -> None:
    k = _lab(sanitize=True)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        sanitize_mapping(base, False)
        iomem.writel(0, base + STATUS)
        assert k.sanitizer.reports == []
        sanitize_mapping(base, True)
        iomem.writel(0, base + STATUS)
        assert [r.rule for r in k.sanitizer.reports] == ["write-read-only"]
    with pytest.raises(RuntimeError, match="sanitizer is off"):
        sanitize_mapping(_lab().ioremap(LAB_BASE, 4))


def test_quiet_blocks_are_neither_judged_nor_tracked() -> None:
    k = _lab(sanitize=True)
    with k, k.sanitizer.quiet():
        iomem.ioremap(LAB_BASE, LAB_SIZE)
    assert k.sanitizer.finish() == []


def test_a_report_names_the_line_and_repeats_are_counted() -> None:
    k = _lab(sanitize=True)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        for _ in range(3):
            iomem.writel(0, base + STATUS); line = _line()  # noqa: E702
    (rep,) = k.sanitizer.reports
    assert rep.site.file == __file__ and rep.site.line == line
    assert rep.site.function == "test_a_report_names_the_line_and_repeats_are_counted"
    assert rep.count == 3 and rep.register == "STATUS" and rep.phys == LAB_BASE + STATUS
    text = rep.text()
    assert text.startswith(f"tests/check/test_check_sanitizer.py:{line}: error: "
                           "[write-read-only] write to STATUS") or \
        text.split(": error: ")[0].endswith(f"test_check_sanitizer.py:{line}")
    assert "(seen 3 times here)" in text and "    fix: " in text and "    rule: " in text


def _line() -> int:
    import sys

    return sys._getframe(1).f_lineno


def test_reports_as_json() -> None:
    k = _lab(sanitize=True)
    with k:
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        iomem.writel(0, base + STATUS)
        iomem.iounmap(base)
    data = json.loads(render_json(k.sanitizer.finish()))
    assert data["errors"] == 1 and data["warnings"] == 1
    by_rule = {r["rule"]: r for r in data["reports"]}
    rep = by_rule["write-read-only"]
    assert set(rep) >= {"rule", "severity", "message", "site", "phys", "vaddr", "register",
                        "notes", "count", "title", "doc", "fix"}
    assert rep["site"]["file"] == __file__ and rep["register"] == "STATUS"
    assert rep["severity"] == "error" and by_rule["ioremap-unclaimed"]["severity"] == "warning"
    assert render_text([]) == "iomem sanitizer: no problems found"
    assert render_text(k.sanitizer.reports).endswith("iomem sanitizer: 1 error, 1 warning")


def test_every_rule_has_a_severity_a_document_and_a_fix() -> None:
    for r in RULES.values():
        assert r.severity in ("error", "warning") and r.doc and r.fix and r.title
    assert len(table().splitlines()) == len(RULES)
    with pytest.raises(KeyError, match="no sanitizer rule"):
        iomem.check.rule("nope")


def test_the_relaxed_doorbell_report_says_dma_wmb_is_not_enough() -> None:
    k = _lab(sanitize=True)
    with k:
        pdev = k.devices.find_device("a000000.lab")
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        ring, ring_dma = dma_alloc_coherent(pdev, 4096)
        iomem.writel(ring_dma, base + DMA_DESC)
        ring[0:16] = descriptor(ring_dma, ring_dma, 0)
        iomem.dma_wmb()
        iomem.writel_relaxed(1, base + DOORBELL)
        dma_free_coherent(pdev, 4096, ring, ring_dma)
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    (rep,) = k.sanitizer.finish()
    assert rep.rule == "relaxed-doorbell" and rep.register == "DOORBELL"
    assert any("dma_wmb()" in n for n in rep.notes)


MODELS = ["strict", "realistic", "adversarial"]


@pytest.mark.parametrize("model", MODELS)
def test_a_relaxed_write_that_is_not_the_doorbell_is_not_reported(model: str) -> None:
    # an unrelated relaxed write while the descriptor stores are unordered, then wmb() and
    # a relaxed doorbell: the device acts on the doorbell, whose stores are ordered
    reports, copied = lab_copy(model, "ctrl-relaxed wmb", "writel_relaxed", "readl", "")
    assert reports == [] and copied == b"hello, device!!!"


@pytest.mark.parametrize("model", MODELS)
def test_a_relaxed_doorbell_is_reported_under_every_model(model: str) -> None:
    reports, _copied = lab_copy(model, "ctrl-relaxed", "writel_relaxed", "readl", "")
    assert [r.rule for r in reports] == ["relaxed-doorbell"]
    assert reports[0].register == "DOORBELL"  # the write the device acted on, not CTRL
    assert any(n.startswith("the device read 16 byte(s) at ") for n in reports[0].notes)


@pytest.mark.parametrize("model", MODELS)
def test_a_relaxed_status_poll_then_the_copy_is_reported_unless_rmb(model: str) -> None:
    reports, _copied = lab_copy(model, "", "writel", "readl_relaxed", "")
    assert [r.rule for r in reports] == ["relaxed-status-read"]
    assert "after a relaxed read of STATUS" in reports[0].message
    assert lab_copy(model, "", "writel", "readl_relaxed", "rmb")[0] == []


@pytest.mark.parametrize("model", MODELS)
def test_reading_back_the_cpus_own_stores_after_a_relaxed_read_is_not_reported(
        model: str) -> None:
    k = _lab(sanitize=True, memory_model=model)
    with k:
        pdev = k.devices.find_device("a000000.lab")
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        ring, ring_dma = dma_alloc_coherent(pdev, 4096)
        iomem.readl_relaxed(base + ID)  # no device has written the buffer
        ring[0:4] = b"abcd"
        assert ring[0:4] == b"abcd"
        dma_free_coherent(pdev, 4096, ring, ring_dma)
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    assert k.sanitizer.finish() == []


@pytest.mark.parametrize("read_back", [False, True])
def test_free_irq_behind_a_posted_write_is_a_dependent_action(read_back: bool) -> None:
    from iomem.kernel.irq import IRQ_HANDLED, free_irq, request_irq

    k = _lab(sanitize=True)
    with k:
        pdev = k.devices.find_device("a000000.lab")
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        irq = iomem.platform_get_irq(pdev, 0)
        request_irq(irq, lambda i, d: IRQ_HANDLED, 0, "lab", pdev)
        iomem.writel(0, base + CTRL)  # silence the device: a posted write
        if read_back:
            iomem.readl(base + CTRL)
        free_irq(irq, pdev)
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    reports = k.sanitizer.finish()
    if read_back:
        assert reports == []
    else:
        (rep,) = reports
        assert (rep.rule, rep.register) == ("posted-write-delay", "CTRL")
        assert rep.message == (f"free_irq({irq}) while the write of 0x0 to CTRL may still be "
                               "on its way to the device")


def test_freeing_dma_memory_behind_a_posted_write_is_a_dependent_action() -> None:
    def probe(pdev):
        base = iomem.devm_platform_ioremap_resource(pdev, 0)
        ring, handle = dma_alloc_coherent(pdev, 4096)
        iomem.writel(CTRL_RESET, base + CTRL)  # stop the engine: posted
        dma_free_coherent(pdev, 4096, ring, handle)  # ...and the device may still be at it
        return 0

    k = _lab(sanitize=True)
    with k:
        drv = iomem.platform_driver("lab", probe=probe,
                                    of_match_table=[iomem.OfDeviceId("iomem,pitfall-lab")])
        iomem.platform_driver_register(drv)
        iomem.platform_driver_unregister(drv)
    (rep,) = k.sanitizer.finish()
    assert rep.rule == "posted-write-delay" and "freeing the coherent DMA buffer" in rep.message


def test_a_sleeping_wait_is_not_a_delay_loop() -> None:
    k = _lab(sanitize=True)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        iomem.writel(0, base + CTRL)
        iomem.msleep(1)
        iomem.writel(0, base + CTRL)
        iomem.mdelay(1)
        iomem.iounmap(base)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)
    (rep,) = k.sanitizer.finish()
    assert rep.rule == "posted-write-delay" and rep.message.startswith("mdelay() of 1 ms")


def test_a_leak_on_a_failed_probe() -> None:
    def probe(pdev):
        iomem.ioremap(LAB_BASE, LAB_SIZE)
        return -iomem.ENODEV  # the error path forgets the mapping

    k = _lab(sanitize=True)
    with k:
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        drv = iomem.platform_driver("lab", probe=probe,
                                    of_match_table=[iomem.OfDeviceId("iomem,pitfall-lab")])
        iomem.platform_driver_register(drv)
        leaks = [r for r in k.sanitizer.reports if r.rule == "leak-mapping"]
        assert len(leaks) == 1 and "lab's probe of a000000.lab failed" in leaks[0].message
        iomem.platform_driver_unregister(drv)
        iomem.release_mem_region(LAB_BASE, LAB_SIZE)


def test_hooks_follow_a_memory_model_change() -> None:
    k = _lab(sanitize=True)
    k.memory_model = "adversarial"
    assert k.sanitizer._cpu_store in k.cpu.store_hooks


@pytest.mark.parametrize("model", ["strict", "realistic", "adversarial"])
def test_the_edu_driver_runs_clean_under_every_model(model: str) -> None:
    from iomem.drivers import edu as E
    from iomem.kernel.pci import pci_core

    with Session(model) as s:
        k = iomem.boot("pc")
        with k:
            drv = E.edu_init()
            edu = E.edu_get(pci_core(k).find("0000:00:04.0"))
            got = (E.edu_factorial(edu, 5), E.edu_factorial_irq(edu, 6),
                   E.edu_dma_to_device(edu, b"abc"), E.edu_dma_from_device(edu, 3),
                   E.edu_liveness(edu, 0x1234))
            E.edu_exit(drv)
    assert s.finish() == []
    assert got == (120, 720, 0, b"abc", 0xFFFFEDCB)


def test_the_fixture_is_there_without_a_conftest(tmp_path) -> None:
    # installing iomem registers the plugin (pyproject's pytest11 entry point)
    (tmp_path / "test_it.py").write_text(textwrap.dedent('''
        import pytest, iomem.check

        @pytest.mark.memory_model("realistic")
        def test_it(mmio_check):
            assert iomem.check.boot("lab").sanitize
            assert iomem.check.boot("lab").memory_model == "realistic"
    '''))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path)], cwd=tmp_path, capture_output=True, text=True)
    assert "1 passed" in proc.stdout, proc.stdout + proc.stderr


def test_the_fixture_fails_a_test_on_errors(tmp_path) -> None:
    (tmp_path / "conftest.py").write_text("pytest_plugins = ['iomem.check.pytest_plugin']\n")
    (tmp_path / "test_it.py").write_text(textwrap.dedent("""
        import pytest
        import iomem, iomem.check
        from iomem.check.lab import LAB_BASE, LAB_SIZE, STATUS

        def _bad():
            k = iomem.check.boot("lab")
            with k:
                iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
                base = iomem.ioremap(LAB_BASE, LAB_SIZE)
                iomem.writel(0, base + STATUS)
                iomem.iounmap(base)
                iomem.release_mem_region(LAB_BASE, LAB_SIZE)

        def test_bad(mmio_check):
            _bad()

        def test_bad_expected(mmio_check):
            mmio_check.expect("write-read-only")
            _bad()

        def test_missing(mmio_check):
            mmio_check.expect("relaxed-doorbell")

        @pytest.mark.memory_model("adversarial")
        def test_model(mmio_check):
            assert iomem.check.boot("lab").memory_model == "adversarial"
    """))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-rE", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True)
    out = proc.stdout
    assert "4 passed, 2 errors" in out, out
    assert "ERROR test_it.py::test_bad - Failed: the MMIO sanitizer found errors" in out
    assert "expected sanitizer reports did not come: relaxed-doorbell" in out


def test_a_narrow_write_is_wrong_only_where_it_clears_fields() -> None:
    k = iomem.check.boot("virt", sanitize=True)  # the PL011: 32-bit registers, 16 bits used
    with k:
        iomem.request_mem_region(0x09000000, 0x1000, "uart-pl011")
        base = iomem.ioremap(0x09000000, 0x1000)
        cr = iomem.readw(base + 0x30)
        iomem.writew(cr, base + 0x30)  # what Linux's amba-pl011 does: fine
        assert k.sanitizer.reports == []
        iomem.writeb(cr & 0xFF, base + 0x30)  # TXE/RXE (bits 8, 9) are written as 0
        (rep,) = k.sanitizer.reports
        assert rep.rule == "access-width" and rep.register == "CR"
        assert "clears the fields it does not carry" in rep.message
        iomem.iounmap(base)
        iomem.release_mem_region(0x09000000, 0x1000)


def test_a_null_cookie_in_pointer_arithmetic(tmp_path) -> None:
    from iomem.check.runner import run_script

    script = tmp_path / "null.py"
    script.write_text("import iomem\n"
                      "base = iomem.ioremap(0, 0)\n"
                      "value = iomem.readl(base + 8)\n")
    res = run_script(str(script))
    (rep,) = res.reports
    assert rep.rule == "unchecked-result" and rep.site.line == 3 and res.status == 1


def test_structured_fields_of_lifetime_and_leak_reports() -> None:
    k = _lab(sanitize=True)
    with k:
        pdev = k.devices.find_device("a000000.lab")
        iomem.request_mem_region(LAB_BASE, LAB_SIZE, "lab")
        base = iomem.ioremap(LAB_BASE, LAB_SIZE)
        iomem.iounmap(base)
        with pytest.raises(iomem.KernelOops):
            iomem.readl(base + STATUS)
        _ring, ring_dma = dma_alloc_coherent(pdev, 4096)
    reports = {r.rule: r for r in k.sanitizer.finish()}
    use = reports["use-after-iounmap"]
    assert (use.register, use.phys) == ("STATUS", LAB_BASE + STATUS)
    assert reports["leak-region"].phys == LAB_BASE
    assert reports["leak-dma"].phys == ring_dma


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 60), st.integers(1, 8)), max_size=30))
def test_the_byte_ranges_the_ordering_checks_keep_match_a_set_of_bytes(ops) -> None:
    # stores and device writes are kept as merged (phys, n) ranges, and a CPU store takes
    # its bytes out of what a device wrote: the ranges must cover exactly those bytes
    from iomem.check.sanitizer import _add_range, _overlaps, _uncovered

    ranges: list[tuple[int, int]] = []
    truth: set[int] = set()
    for add, phys, n in ops:
        if add:
            _add_range(ranges, phys, n)
            truth |= set(range(phys, phys + n))
        else:
            ranges = _uncovered(ranges, phys, n)
            truth -= set(range(phys, phys + n))
        covered = {b for pa, size in ranges for b in range(pa, pa + size)}
        assert covered == truth and all(size > 0 for _pa, size in ranges)
        assert _overlaps(ranges, phys, n) == bool(truth & set(range(phys, phys + n)))


@pytest.mark.parametrize("model", ["strict", "realistic", "adversarial"])
def test_a_pci_driver_ringing_dma_with_writel_relaxed_is_reported(
        model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # edu's DMA reads system memory through the CPU model, as the lab device's does
    from iomem.drivers import edu as E
    from iomem.kernel.pci import pci_core

    monkeypatch.setattr(E, "writel", iomem.writel_relaxed)  # every register write relaxed
    with Session(model) as s:
        k = iomem.boot("pc")
        with k:
            drv = E.edu_init()
            edu = E.edu_get(pci_core(k).find("0000:00:04.0"))
            assert E.edu_dma_to_device(edu, b"abc") == 0
            E.edu_exit(drv)
    (rep,) = s.finish()
    assert rep.rule == "relaxed-doorbell" and rep.site.file.endswith("drivers/edu.py")
    assert rep.phys == pci_core(k).find("0000:00:04.0").resource[0].start + E.EDU_DMA_CMD
