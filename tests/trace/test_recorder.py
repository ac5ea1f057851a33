"""Recording: the simulated kernel's mappings and accesses, userspace mappings, marks
and iomem's own events; nothing on the path when off; bounded memory when on."""

from __future__ import annotations

import io
import mmap
import tracemalloc
from pathlib import Path

import pytest
from trace_rig import EDU_BAR, SimEdu

from iomem.drivers import edu as edu_drv
from iomem.kernel import io as kio
from iomem.kernel.io import KernelOops
from iomem.trace import (
    Info,
    Lost,
    Map,
    Mark,
    PciDev,
    Recorder,
    Rw,
    Unmap,
    Version,
    emit,
    mark,
    read,
    record,
    recording,
)
from iomem.trace.events import site_pc
from iomem.user import Mmio


def _line_of(text: str) -> int:
    """The line of this file where ``text`` first appears."""
    lines = Path(__file__).read_text().splitlines()
    return next(i for i, ln in enumerate(lines, 1) if text in ln)


def _accesses(events: list) -> list[tuple]:
    return [(e.op, e.width, e.phys - EDU_BAR, e.value) for e in events if type(e) is Rw]


def test_kernel_mappings_and_accesses_are_recorded(sim_edu: SimEdu) -> None:
    edu = sim_edu.edu
    with record(format="jsonl") as rec:
        base = sim_edu.k.ioremap(EDU_BAR, 0x1000)
        assert edu_drv.edu_liveness(edu, 0x12345678) == 0xEDCBA987
        v = kio.readl(base + 0x20)
        kio.writel_relaxed(0, base + 0x20)
        sim_edu.k.iounmap(base)
    events = list(rec.events())
    assert events[0] == Version()
    devs = [e for e in events if type(e) is PciDev]
    assert ("00:04.0", "1234:11e8", "edu") in [(d.bdf, d.ident, d.driver) for d in devs]
    (m,) = [e for e in events if type(e) is Map]
    assert (m.phys, m.length, m.pc, m.pid) == (EDU_BAR, 0x1000, 0, 0)
    assert m.extra["memtype"] == "UC-" and m.extra["resources"][-1] == "edu"
    assert m.extra["site"].endswith(f"test_recorder.py:{_line_of('base = sim_edu.k.ioremap')}")
    # the driver's own mapping was made before recording began: mmiotrace would not
    # see its accesses either
    assert _accesses(events) == [("R", 4, 0x20, v), ("W", 4, 0x20, 0)]
    rws = [e for e in events if type(e) is Rw]
    assert {e.map_id for e in rws} == {m.map_id}
    assert rws[1].extra["relaxed"] is True and "relaxed" not in rws[0].extra
    line = _line_of("v = kio.readl(base + 0x20)")
    assert rws[0].extra["site"].endswith(f"test_recorder.py:{line}")
    assert rws[0].pc == site_pc("test_recorder.py", line)
    (u,) = [e for e in events if type(e) is Unmap]
    assert u.map_id == m.map_id
    # times are the board's virtual clock
    assert [e.t_ns for e in rws] == sorted(e.t_ns for e in rws)
    assert rws[-1].t_ns <= sim_edu.k.machine.clock.now


def test_mappings_made_before_recording_are_not_traced_unless_asked(sim_edu: SimEdu) -> None:
    with record() as rec:
        edu_drv.edu_ident(sim_edu.edu)
    assert _accesses(list(rec.events())) == []
    with record(existing=True) as rec:
        edu_drv.edu_ident(sim_edu.edu)
    events = list(rec.events())
    assert _accesses(events) == [("R", 4, 0, 0x010000ED)]
    assert [e.length for e in events if type(e) is Map] == [1 << 20]


def test_the_edu_driver_from_probe_with_interrupts_and_delays() -> None:
    with record(format="jsonl") as rec:
        sim = SimEdu()
        with sim.k:
            edu = sim.edu
            assert edu_drv.edu_factorial(edu, 5) == 120
            assert edu_drv.edu_factorial_irq(edu, 4) == 24
            mark("after the factorials")
    events = list(rec.events())
    kinds = [type(e).__name__ if type(e) is not Info else e.kind for e in events]
    assert kinds.count("Map") == 1
    assert "driver" in kinds and "delay" in kinds and "dma" in kinds
    assert Mark in [type(e) for e in events]
    acc = _accesses(events)
    assert acc[0] == ("R", 4, 0, 0x010000ED)  # the probe's identification check
    assert ("W", 4, 0x08, 5) in acc and ("R", 4, 0x08, 120) in acc
    # the interrupt handler's status read and ack
    assert ("R", 4, 0x24, 1) in acc and ("W", 4, 0x64, 1) in acc
    handler = next(e for e in events if type(e) is Rw and e.phys == EDU_BAR + 0x24)
    assert handler.extra["func"] == "edu_irq"


def test_recording_off_leaves_the_direct_path(sim_edu: SimEdu) -> None:
    base = sim_edu.k.ioremap(EDU_BAR, 0x1000)
    plain = base.area.read
    with record():
        traced = sim_edu.k.ioremap(EDU_BAR, 0x1000)
        assert traced.area.read.__qualname__.startswith("Recorder._layer")
        assert base.area.read is plain
    # stopping takes the layer off every mapping
    assert not traced.area.read.__qualname__.startswith("Recorder")
    assert not recording()


def test_a_ring_keeps_the_last_events_and_counts_the_lost(sim_edu: SimEdu) -> None:
    with record(ring=100, chunk=16, sites=False) as rec:
        base = sim_edu.k.ioremap(EDU_BAR, 0x1000)
        for i in range(1000):
            kio.writel(i, base + 4)
    events = list(rec.events())
    (lost,) = [e for e in events if type(e) is Lost]
    writes = [e for e in events if type(e) is Rw]
    assert len(writes) == 100
    assert writes[-1].value == 999 and writes[0].value == 900
    assert lost.count == 1 + 1000 - 100  # the MAP line went too
    assert rec.lost == lost.count


def test_a_file_is_streamed_in_bounded_memory(sim_edu: SimEdu, tmp_path: Path) -> None:
    base = sim_edu.k.ioremap(EDU_BAR, 0x1000)
    out = tmp_path / "t.txt"
    n = 50_000
    with Recorder(out, existing=True, sites=False, chunk=1024) as rec:
        tracemalloc.start()
        for i in range(n):
            kio.writel(i, base + 4)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert len(rec._sink.buf) < 1024
    assert peak < 2_000_000, peak  # about one chunk of tuples, not 50 000 of them
    lines = out.read_text().splitlines()
    assert lines[0] == "VERSION 20070824"
    assert sum(ln.startswith("W 4 ") for ln in lines) == n
    assert lines[-1].split()[5] == f"0x{n - 1:x}"


def test_userspace_mappings_are_recorded(sim_edu: SimEdu) -> None:
    with record(format="jsonl") as rec, sim_edu.user_window() as m:
        assert m.readl(0) == 0x010000ED
        m.writel(0x12345678, 4)
        assert m.readl(4) == 0xEDCBA987
        m.writeq(0x0123456789ABCDEF, 0x80)
        assert m.lo_hi_readq(0x80) == 0xFFFFFFFF89ABCDEF
        m.writel_relaxed(0, 0x20)
    events = list(rec.events())
    (mp,) = [e for e in events if type(e) is Map]
    assert (mp.phys, mp.length, mp.extra["user"], mp.extra["name"]) == (
        EDU_BAR, 1 << 20, True, "0000:00:04.0 BAR0")
    assert _accesses(events) == [("R", 4, 0, 0x010000ED), ("W", 4, 4, 0x12345678),
                                 ("R", 4, 4, 0xEDCBA987), ("W", 8, 0x80, 0x0123456789ABCDEF),
                                 ("R", 4, 0x80, 0x89ABCDEF), ("R", 4, 0x84, 0xFFFFFFFF),
                                 ("W", 4, 0x20, 0)]
    rws = [e for e in events if type(e) is Rw]
    assert rws[-1].extra["relaxed"] is True
    assert rws[0].extra["site"].endswith(f"test_recorder.py:{_line_of('m.readl(0) == 0x01')}")
    assert [type(e) for e in events].count(Unmap) == 1
    assert [e.t_ns for e in rws] == sorted(e.t_ns for e in rws)  # the window's clock


def test_a_real_mmap_is_recorded_and_restored_after(tmp_path: Path) -> None:
    mm = mmap.mmap(-1, 4096)
    with record() as rec:
        m = Mmio.from_buffer(mm, phys=0x1000_0000)
        m.writew(0xBEEF, 0x10)
        assert m.readb(0x11) == 0xBE
        buf = bytearray(4)
        m.memcpy_fromio(buf, 0x10, 4)
    events = list(rec.events())
    rw = [(e.op, e.width, e.phys, e.value) for e in events if type(e) is Rw]
    assert rw[:2] == [("W", 2, 0x1000_0010, 0xBEEF), ("R", 1, 0x1000_0011, 0xBE)]
    assert len(rw) > 2  # the block copy, piece by piece
    (mp,) = [e for e in events if type(e) is Map]
    assert mp.virt != 0 and mp.pid != 0
    # after the recording the mapping's views are the plain ones again
    assert type(m._views[2]) is memoryview
    m.writel(1, 0)
    assert len([e for e in rec.events() if type(e) is Rw]) == len(rw)
    m.close()


def test_emit_and_mark_do_nothing_without_a_recorder() -> None:
    assert not recording()
    emit("irq", line=3, level=1)
    mark("nobody listens")


def test_emit_records_iomem_events(tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    with record(out):
        assert recording()
        emit("dma", t_ns=5000, phys=0x4000, size=64, direction="to-device")
        mark("hello")
        with pytest.raises(ValueError, match="cannot name an event"):
            emit("R", x=1)
        with pytest.raises(ValueError, match="one line"):
            mark("two\nlines")
    events = list(read(out))
    assert events[1] == Info("dma", 5000, {"phys": 0x4000, "size": 64,
                                           "direction": "to-device"})
    assert type(events[2]) is Mark and events[2].text == "hello"


def test_the_sanitizer_and_the_cpu_model_events_are_recorded() -> None:
    from iomem.check import defaults

    with defaults(memory_model="realistic", sanitize=True), record(format="jsonl") as rec:
        sim = SimEdu()
        with sim.k:
            base = sim.k.ioremap(EDU_BAR, 0x1000)
            kio.writel(5, base + 8)
            sim.k.iounmap(base)
            with pytest.raises(KernelOops):
                kio.readl(base)  # after iounmap: an oops, and a finding
    kinds = {e.kind for e in rec.events() if type(e) is Info}
    assert {"report", "kernel"} <= kinds, kinds


def test_rwmmio_output_names_the_callers(sim_edu: SimEdu) -> None:
    buf = io.StringIO()
    with record(buf, format="rwmmio"):
        base = sim_edu.k.ioremap(EDU_BAR, 0x1000)
        kio.writel(7, base + 4)
    lines = buf.getvalue().splitlines()
    assert lines[0] == "# tracer: nop"
    w = next(ln for ln in lines if "rwmmio_write:" in ln)
    assert "width=32 val=0x7 addr=0x" in w
    assert "test_rwmmio_output_names_the_callers+0x" in w


def test_a_ring_written_to_a_file_when_recording_stops(sim_edu: SimEdu, tmp_path: Path) -> None:
    for name in ("t.txt", "t.jsonl", "t.rwmmio"):
        out = tmp_path / name
        with record(out, ring=10, sites=False):
            base = sim_edu.k.ioremap(EDU_BAR, 0x1000)
            for i in range(30):
                kio.writel(i, base + 4)
            assert not out.exists() or out.read_text() == ""
        text = out.read_text()
        if name == "t.rwmmio":
            assert text.startswith("# tracer: nop\n")
            assert text.count("rwmmio_write:") == 10
        else:
            events = list(read(out))
            assert Lost(21) in events  # 30 writes and the MAP, 10 kept
            assert [e.value for e in events if type(e) is Rw] == list(range(20, 30))


def test_a_mapping_made_before_can_be_added(tmp_path: Path) -> None:
    m = Mmio.from_buffer(bytearray(64), phys=0x2000)
    with record() as rec:
        m.writel(5, 8)  # not recorded: the mapping predates the recorder
        rec.attach_mapping(m)
        rec.attach_mapping(m)  # once is enough
        m.writel(6, 8)
    events = list(rec.events())
    assert [(e.op, e.phys, e.value) for e in events if type(e) is Rw] == [("W", 0x2008, 6)]
    assert [type(e) for e in events].count(Map) == 1


def test_a_recorder_records_once() -> None:
    rec = Recorder()
    with rec:
        pass
    with pytest.raises(RuntimeError, match="records once"):
        rec.start()
