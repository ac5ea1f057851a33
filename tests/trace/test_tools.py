"""The tools: show, stats, diff, replay, plot and convert, as functions and as
``iomem trace`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from trace_rig import EDU_BAR, SimEdu, fake_host

from iomem.cli.main import cli
from iomem.drivers import edu as edu_drv
from iomem.trace import Info, Map, PciDev, Rw, Version, jsonl, mmiotrace, read, record
from iomem.trace.diff import diff
from iomem.trace.model import Registers, TraceModel
from iomem.trace.plot import plot
from iomem.trace.replay import SimTarget, UserTarget, replay
from iomem.trace.show import lines
from iomem.trace.stats import compute, render_text, to_dict

EDU = PciDev(0, 0x20, 0x1234, 0x11E8, 11, (EDU_BAR, 0, 0, 0, 0, 0, 0),
             (1 << 20, 0, 0, 0, 0, 0, 0), "")


def edu_trace(t0: int = 0, map_id: int = 1, virt: int = 0xFFFFC90000100000,
              status_polls: int = 2, factorial: int = 120) -> list:
    """A hand-made trace of the edu driver: identify, liveness, factorial(5) by polling."""
    ev: list = [Version(), EDU, Map(t0, map_id, EDU_BAR, virt, 1 << 20)]
    t = t0
    def rw(op: str, off: int, value: int, width: int = 4) -> None:
        nonlocal t
        t += 1000
        ev.append(Rw(op, width, t, map_id, EDU_BAR + off, value))
    rw("R", 0x00, 0x010000ED)
    rw("W", 0x04, 0x12345678)
    rw("R", 0x04, 0xEDCBA987)
    rw("W", 0x08, 5)
    for _ in range(status_polls):
        rw("R", 0x20, 1)
    rw("R", 0x20, 0)
    rw("R", 0x08, factorial)
    return ev


# -- attribution, show, stats ------------------------------------------------------------------

def test_accesses_are_placed_on_devices_even_without_a_map_line() -> None:
    model = TraceModel()
    model.feed(EDU)
    mi, off = model.locate(Rw("R", 4, 0, 7, EDU_BAR + 0x20, 0))
    assert (mi.synthetic, mi.label, mi.key, off) == (True, "00:04.0 BAR0", "1234:11e8 BAR0",
                                                     0x20)
    mi, off = model.locate(Rw("R", 4, 0, 7, 0x1234_5678, 0))
    assert (mi.phys, off, mi.key) == (0x1234_5000, 0x678, "phys 0x12345000")


def test_show_names_registers_and_fields() -> None:
    out = list(lines(edu_trace()))
    assert out[0] == "VERSION 20070824"
    assert out[1] == "PCIDEV 00:04.0 1234:11e8 irq 11 BAR0 0xfea00000+0x100000"
    assert "MAP    #1 0xfea00000+0x100000: map 1, [mem 0xfea00000-0xfeafffff], 00:04.0 " \
           "1234:11e8 BAR0" in out[2]
    assert out[3] == ("      0.000001  R 4  00:04.0 BAR0   +0x00000  "
                      "ID = 0x010000ed [MAGIC=0xed MAJOR=1]")
    assert out[-2].endswith("STATUS = 0x00000000 []")
    assert out[-3].endswith("STATUS = 0x00000001 [COMPUTING=1]")


def test_register_maps_are_chosen_per_mapping(tmp_path: Path) -> None:
    from iomem.regs import Register, RegisterMap

    rm = RegisterMap("mine", [Register("CTRL", 0x20)])
    (tmp_path / "mine.json").write_text(rm.to_json())
    model = TraceModel()
    model.feed(EDU)
    model.feed(Map(0, 1, EDU_BAR, 0, 0x1000))
    mi = model.maps[1]
    assert Registers().name(mi, 0x20) == "STATUS"  # built in by PCI id
    for spec in ("00:04.0=", "1234:11e8=", "1=", "0xfea00000=", ""):
        regs = Registers.from_specs([f"{spec}{tmp_path / 'mine.json'}"])
        assert regs.name(mi, 0x20) == "CTRL", spec
    assert Registers(builtin=False).name(mi, 0x20) == "+0x00020"
    assert Registers().name(mi, 0x84, 4) == "DMA_SRC+0x4"
    assert Registers().name(mi, 0x80, 4) == "DMA_SRC:32"
    with pytest.raises(ValueError, match="no register map 'nope'"):
        Registers.from_specs(["nope"])


def test_stats_count_per_register() -> None:
    st = compute(edu_trace(status_polls=3))
    assert (st.reads, st.writes, len(st.maps), st.kinds["PCIDEV"]) == (7, 2, 1, 1)
    (region,) = st.regions.values()
    status = region.regs[0x20]
    assert (status.reads, status.writes, dict(status.read_values)) == (4, 0, {1: 3, 0: 1})
    text = render_text(st)
    assert "00:04.0 BAR0: map 1" in text
    assert "0x000020  STATUS               4       0  4        R: 0x00000001 x3, 0x00000000 x1" \
        in text
    d = to_dict(st)
    assert d["reads"] == 7 and d["regions"][0]["registers"][0]["register"] == "ID"


# -- diff --------------------------------------------------------------------------------------

def test_diff_ignores_times_ids_and_addresses() -> None:
    res = diff(edu_trace(), edu_trace(t0=5_000_000, map_id=9, virt=0x7F0000000000))
    assert res.identical
    assert "agree on every access" in res.render()


def test_diff_finds_the_first_difference() -> None:
    res = diff(edu_trace(), edu_trace(factorial=121), names=("a.txt", "b.txt"))
    assert res.first == 7
    text = res.render()
    assert "first difference at access 8 (A line 11, B line 11):" in text
    assert "  A > R 4 00:04.0 BAR0 +0x00008 FACTORIAL = 0x00000078" in text
    assert "  B > R 4 00:04.0 BAR0 +0x00008 FACTORIAL = 0x00000079" in text
    assert "R 00:04.0 BAR0 FACTORIAL: 1 in A, 1 in B; only A saw 0x78; only B saw 0x79" in text


def test_diff_folds_poll_loops_when_asked() -> None:
    a, b = edu_trace(status_polls=1), edu_trace(status_polls=40)
    assert not diff(a, b).identical
    res = diff(a, b, polls=True)
    assert res.identical, res.render()


def test_diff_pairs_mappings_by_order_when_they_differ() -> None:
    other = [ev._replace(phys=ev.phys - EDU_BAR + 0x1000_0000) if type(ev) in (Rw, Map)
             else ev for ev in edu_trace() if type(ev) is not PciDev]
    res = diff(edu_trace(), other)
    assert res.identical
    assert "mapping 1 paired by order of first use: A 1234:11e8 BAR0 <-> B phys 0x10000000" \
        in res.render()
    assert not diff(edu_trace(), other, pair="key").identical


def test_diff_of_different_lengths() -> None:
    a = edu_trace()
    res = diff(a, a[:-1])
    assert res.first == 7
    assert "  B > (no more accesses)" in res.render()


# -- replay -----------------------------------------------------------------------------------

def _recorded_edu_session(path: Path) -> None:
    with record(path):
        sim = SimEdu()
        with sim.k:
            edu = sim.edu
            edu_drv.edu_liveness(edu, 0xCAFE)
            assert edu_drv.edu_factorial(edu, 6) == 720


def test_replay_on_the_simulated_board_reproduces_every_read(tmp_path: Path) -> None:
    path = tmp_path / "edu.jsonl"
    _recorded_edu_session(path)
    rep = replay(read(path), SimTarget("pc"))
    assert rep.ok, rep.render()
    assert rep.reads >= 5 and rep.writes == 2
    assert "every read returned what the trace recorded" in rep.render()


def test_replay_reports_reads_that_differ(tmp_path: Path) -> None:
    events = [ev._replace(value=0x12) if type(ev) is Rw and ev.phys == EDU_BAR + 4 and
              ev.op == "R" else ev for ev in edu_trace()]
    rep = replay(events, SimTarget("pc"), polls=True)
    assert rep.mismatch_count == 1 and not rep.ok
    text = rep.render()
    assert "line 6: R 4 00:04.0 BAR0 LIVENESS: recorded 0x12, got 0xedcba987" in text
    assert "1 of 4 reads differ" in text  # the STATUS poll loop is one read


def test_replay_polls_until_the_device_is_done() -> None:
    # no time between the accesses: the factorial is still running when first polled
    events = [ev._replace(t_ns=0) if hasattr(ev, "t_ns") else ev for ev in edu_trace()]
    strict = replay(events, SimTarget("pc"))
    assert not strict.ok
    rep = replay(events, SimTarget("pc"), polls=True)
    assert rep.ok, rep.render()
    assert rep.polls == 1


def test_replay_on_real_hardware_goes_through_pci_sysfs(tmp_path: Path) -> None:
    host = fake_host(tmp_path)
    events = [Version(), EDU, Map(0, 1, EDU_BAR, 0, 0x1000),
              Rw("R", 4, 0, 1, EDU_BAR, 0x010000ED), Rw("W", 4, 0, 1, EDU_BAR + 0x80, 0xAB),
              Rw("R", 4, 0, 1, EDU_BAR + 0x80, 0xAB)]
    target = UserTarget(root=str(tmp_path))
    rep = replay(events, target)
    assert rep.ok, rep.render()
    assert "pci:0000:00:04.0/0" in rep.render()
    assert host.peek(host.pci_dir / "0000:00:04.0/resource0", 0x80, 4) == b"\xab\0\0\0"
    target = UserTarget({"1": "devmem:0xfea00000+0x1000"}, root=str(tmp_path))
    model = TraceModel()
    for ev in events[:3]:
        model.feed(ev)
    assert target.spec(model.locate(events[3])[0]) == ("devmem:0xfea00000+0x1000", 0)


# -- plot -------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_plot_draws_a_timeline(tmp_path: Path, suffix: str) -> None:
    events = [*edu_trace(), Info("irq", 3000, {"line": 11, "level": 1}),
              Info("dma", 4000, {"phys": 0x1000, "size": 64})]
    out = tmp_path / f"t.{suffix}"
    s = plot(events, out, max_rows=3)
    assert (s.accesses, s.irqs, s.dma, s.hidden_rows) == (8, 1, 1, 1)
    head = out.read_bytes()[:64]
    assert head.startswith(b"\x89PNG") if suffix == "png" else b"<?xml" in head or b"<svg" in head


# -- the command line -------------------------------------------------------------------------

SCRIPT = """\
from iomem import current_kernel
from iomem.drivers import edu as E
from iomem.kernel.pci import pci_core
import iomem.trace

drv = E.edu_init()
pdev = next(d for d in pci_core(current_kernel()).devices() if d.device == 0x11e8)
iomem.trace.mark("probed")
print("factorial", E.edu_factorial(E.edu_get(pdev), 5))
E.edu_exit(drv)
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_record_an_iomem_run(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "drv.py").write_text(SCRIPT)
    r = runner.invoke(cli, ["trace", "record", "-o", "t.txt", "--", "iomem", "run", "--board",
                            "pc", "--model", "strict", "drv.py"])
    assert r.exit_code == 0, r.output
    assert "factorial 120" in r.output
    text = (tmp_path / "t.txt").read_text()
    assert text.startswith("VERSION 20070824\n")
    events = mmiotrace.loads(text)
    kinds = {type(e).__name__ for e in events}
    assert {"PciDev", "Map", "Rw", "Unmap", "Mark"} <= kinds
    assert "MARK" in text and " probed\n" in text
    r = runner.invoke(cli, ["trace", "stats", "t.txt"])
    assert r.exit_code == 0 and "00:04.0 BAR0: map 1" in r.output
    r = runner.invoke(cli, ["trace", "show", "t.txt", "--accesses", "--limit", "1"])
    assert r.output.strip().endswith("ID = 0x010000ed [MAGIC=0xed MAJOR=1]")


def test_record_a_python_script_to_json_lines(runner: CliRunner, tmp_path: Path,
                                              monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "drv.py").write_text("import iomem\niomem.boot('pc')\n" + SCRIPT)
    r = runner.invoke(cli, ["trace", "record", "-o", "t.jsonl", "--", "python", "drv.py"])
    assert r.exit_code == 0, r.output
    events = jsonl.loads((tmp_path / "t.jsonl").read_text())
    first = next(e for e in events if type(e) is Rw)
    assert first.extra["func"] == "readl" and first.extra["site"].endswith(".py:168") or \
        first.extra["site"]
    r = runner.invoke(cli, ["trace", "show", "t.jsonl", "--accesses", "--sites", "--limit", "1"])
    assert "edu.py:" in r.output


def test_record_refuses_what_it_cannot_watch(runner: CliRunner) -> None:
    r = runner.invoke(cli, ["trace", "record", "--", "ls", "-l"])
    assert r.exit_code == 2 and "not 'ls'" in r.output


def test_diff_exit_status_and_replay_command(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(mmiotrace.dumps(edu_trace()))
    (tmp_path / "b.jsonl").write_text(jsonl.dumps(edu_trace(t0=10**9, status_polls=7)))
    r = runner.invoke(cli, ["trace", "diff", str(tmp_path / "a.txt"), str(tmp_path / "b.jsonl")])
    assert r.exit_code == 1 and "first difference at access 7" in r.output
    r = runner.invoke(cli, ["trace", "diff", "--polls", str(tmp_path / "a.txt"),
                            str(tmp_path / "b.jsonl")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["trace", "replay", str(tmp_path / "a.txt"), "--board", "pc",
                            "--polls"])
    assert r.exit_code == 0, r.output
    assert "every read returned what the trace recorded" in r.output
    r = runner.invoke(cli, ["trace", "replay", str(tmp_path / "a.txt"), "--real"], input="n\n")
    assert r.exit_code == 1 and "makes 2 writes to real hardware" in r.output
    assert "pci:0000:00:04.0/0" in r.output and "Aborted" in r.output


def test_plot_stats_json_and_convert_commands(runner: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text(jsonl.dumps([*edu_trace(), Info("irq", 2000, {"line": 11, "level": 1})]))
    r = runner.invoke(cli, ["trace", "plot", str(src), "-o", str(tmp_path / "a.png")])
    assert r.exit_code == 0 and "8 accesses" in r.output and "1 interrupts" in r.output
    r = runner.invoke(cli, ["trace", "stats", "--json", str(src)])
    assert json.loads(r.output)["writes"] == 2
    r = runner.invoke(cli, ["trace", "convert", str(src), "-o", str(tmp_path / "a.txt")])
    assert r.exit_code == 0
    text = (tmp_path / "a.txt").read_text()
    assert 'MARK 0.000002 iomem irq {"line":11,"level":1}' in text
    assert list(read(tmp_path / "a.txt")) == list(read(src))


def test_a_malformed_file_is_one_line_with_its_number(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("VERSION 20070824\nR 4 0.000001 1 0xfea00000 0x10000ed 0x0 0\nR 4 junk\n")
    r = runner.invoke(cli, ["trace", "stats", str(bad)])
    assert r.exit_code == 1
    assert f"Error: {bad}:3: not an R record" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(cli, ["trace", "stats", "--skip-bad", str(bad)])
    assert r.exit_code == 0 and "skipped 1 line(s)" in r.output and f"{bad}:3:" in r.output
