"""Real traces from the VM lab, without booting anything: the e1000 driver's mmiotrace
(an excerpt saved in data/, and the VM lab's own capture in tests/vm/data), and the
userspace edu run on QEMU compared with the simulated kernel edu driver."""

from __future__ import annotations

import gzip
import importlib.util
import lzma
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from trace_rig import DATA

import iomem
from iomem.drivers import edu as edu_drv
from iomem.kernel.pci import pci_core
from iomem.trace import Map, Rw, Unmap, mmiotrace, read, read_text, record
from iomem.trace.diff import diff
from iomem.trace.model import Registers
from iomem.trace.replay import SimTarget, replay
from iomem.trace.show import lines
from iomem.trace.stats import compute

E1000 = DATA / "e1000-mmiotrace.txt.gz"
VM_E1000 = Path(__file__).resolve().parents[1] / "vm" / "data" / "pc-e1000-mmiotrace.txt.xz"
EDU_REAL = DATA / "edu-user-real.jsonl"
GUEST = Path(__file__).resolve().parents[1] / "vm" / "guest_trace_edu.py"


@pytest.fixture(scope="module")
def e1000_text() -> str:
    return gzip.decompress(E1000.read_bytes()).decode()


def independent_count(text: str) -> tuple[Counter, Counter]:
    """Record kinds by first word, and accesses per (offset from the MAP, R/W)."""
    words: Counter = Counter()
    regs: Counter = Counter()
    base = 0
    for line in text.splitlines():
        f = line.split()
        words[f[0]] += 1
        if f[0] == "MAP":
            base = int(f[3], 16)
        elif f[0] in ("R", "W"):
            regs[(int(f[4], 16) - base, f[0])] += 1
    return words, regs


def test_the_real_e1000_trace_parses_and_writes_back_unchanged(e1000_text: str) -> None:
    events = mmiotrace.loads(e1000_text, source=str(E1000))
    assert len(events) == len(e1000_text.splitlines()) == 2906
    assert mmiotrace.dumps(events) == e1000_text
    assert list(read(E1000)) == events


def test_the_vm_labs_own_e1000_capture_parses_and_writes_back_unchanged() -> None:
    text = lzma.decompress(VM_E1000.read_bytes()).decode()
    events = mmiotrace.loads(text, source=str(VM_E1000))
    assert mmiotrace.dumps(events) == text
    words, _regs = independent_count(text)
    st = compute(events)
    assert (st.reads, st.writes, len(st.maps)) == (words["R"], words["W"], words["MAP"])


def test_the_real_e1000_stats_match_an_independent_count(e1000_text: str) -> None:
    words, regs = independent_count(e1000_text)
    st = compute(read(E1000))
    assert (st.reads, st.writes) == (words["R"], words["W"]) == (1572, 1320)
    assert st.kinds["MAP"] == words["MAP"] == 1 and st.kinds["UNMAP"] == words["UNMAP"] == 1
    assert st.kinds["PCIDEV"] == 9 and st.kinds["MARK"] == 2
    (region,) = st.regions.values()
    got: Counter = Counter()
    for off, rs in region.regs.items():
        got.update({(off, "R"): rs.reads, (off, "W"): rs.writes})
    assert +got == regs


def test_real_e1000_accesses_are_attributed_to_its_bar(e1000_text: str) -> None:
    events = mmiotrace.loads(e1000_text)
    (m,) = [e for e in events if type(e) is Map]
    (u,) = [e for e in events if type(e) is Unmap]
    assert (m.map_id, m.phys, m.length, u.map_id) == (1, 0xFEB40000, 0x20000, 1)
    st = compute(events)
    (region,) = st.regions.values()
    assert (region.label, region.key) == ("00:03.0 BAR0", "8086:100e BAR0")
    shown = list(lines(events, accesses_only=True))
    assert shown[0].endswith("00:03.0 BAR0   +0x00008  STATUS = 0x80080783 "
                             "[FD=1 LU=1 SPEED=S1000 ASDV=S1000]")
    # every register the driver touched has a name in the built-in map
    regs = Registers()
    mi = st.maps[0]
    unnamed = {off for off in region.regs if regs.name(mi, off).startswith("+0x")}
    assert not unnamed, sorted(unnamed)


def test_plotting_the_real_trace(tmp_path: Path) -> None:
    from iomem.trace.plot import plot

    s = plot(read(E1000), tmp_path / "e1000.svg")
    assert s.accesses == 2892 and s.marks == 2
    assert b"<svg" in (tmp_path / "e1000.svg").read_bytes()[:400]


# -- the edu device: real userspace against the simulated kernel driver ----------------------

def _scenario() -> Any:
    spec = importlib.util.spec_from_file_location("guest_trace_edu", GUEST)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.scenario


def simulated(path: Path) -> list:
    with record(path, format="jsonl"):
        k = iomem.boot("pc")
        with k:
            edu_drv.edu_init()  # the probe reads the identification register
            pdev = next(d for d in pci_core(k).devices() if d.device == 0x11E8)
            _scenario()(edu_drv.edu_get(pdev), probe_check=False)
    return list(read(path))


def test_the_real_userspace_edu_run_agrees_with_the_simulated_driver(tmp_path: Path) -> None:
    real = list(read(EDU_REAL))
    sim = simulated(tmp_path / "sim.jsonl")
    res = diff(sim, real, polls=True)
    assert res.identical, res.render()
    assert set(res.sides[0].keys) == set(res.sides[1].keys) == {"1234:11e8 BAR0"}
    # without folding the poll loops they differ only in how often STATUS was read
    strict = diff(sim, real)
    assert not strict.identical
    text = strict.render()
    assert "STATUS" in text and "FACTORIAL" not in text.split("registers that differ")[1]


def test_the_real_userspace_edu_trace_replays_on_the_simulated_board() -> None:
    rep = replay(read(EDU_REAL), SimTarget("pc"), polls=True)
    assert rep.ok, rep.render()
    assert rep.writes == 5


def test_the_real_userspace_trace_names_the_driver_lines() -> None:
    real = read_text(EDU_REAL.read_text())
    first = next(e for e in real if type(e) is Rw)
    assert first.extra["func"] == "edu_is_edu"
    assert "iomem/drivers/edu.py:" in first.extra["site"]
    assert first.extra["sym0"].startswith("scenario+0x")


def test_the_same_userspace_driver_on_the_simulated_board_agrees_with_the_real_run() -> None:
    """Through the simulated kernel's PCI sysfs resource0 mmap: recorded once, as the
    userspace mapping it is (a userspace VMA is not an ioremap: mmiotrace would not
    see it, so the kernel layer does not record it twice)."""
    from iomem.user import open_target

    with record(format="jsonl") as rec, open_target("sim:pc:pci:1234:11e8") as m:
        facts = _scenario()(m)
    assert facts["fact_13"] == 1932053504
    sim = list(rec.events())
    (mp,) = [e for e in sim if type(e) is Map]
    assert mp.extra["user"] and mp.extra["backend"] == "pci-sysfs"
    res = diff(sim, read(EDU_REAL), polls=True)
    assert res.identical, res.render()
