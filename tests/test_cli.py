"""The iomem command: the demo and the views, and one-line errors for user mistakes."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from iomem.cli.main import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_demo_walks_the_whole_life_cycle() -> None:
    r = run("demo")
    assert r.exit_code == 0, r.output
    out = r.output
    # claim, conflict, map, access, unmap, release, devres, in that order
    steps = ["09000000-09000fff : demo-uart",
             'request_mem_region(0x9000018, 4, "other-driver") -> None',
             "page-table entry: pfn 0x9000 (phys 0x9000000) Device-nGnRE rw",
             "phys=0x0000000009000000 ioremap",
             "the UART sent: 'Hello from iomem!\\n'",
             "incorrect type in argument 1 (different address spaces)",
             "Unable to handle kernel paging request at virtual address ffff800008000018",
             "Trying to free nonexistent resource",
             "09000000-09000fff : 9000000.pl011 pl011@9000000",
             "demo-pl011 9000000.pl011: registers at"]
    pos = 0
    for s in steps:
        i = out.find(s, pos)
        assert i >= 0, f"missing or out of order: {s!r}\n{out}"
        pos = i
    # after unbind, devres gave everything back
    tail = out[out.index("after unbind"):]
    assert "9000000.pl011" not in tail.split("-- dmesg")[0]


def test_demo_is_deterministic() -> None:
    first, second = (run("demo").output for _ in range(2))
    assert first == second


# what Debian's 6.1 kernel shows for these devices on QEMU's virt (tests/vm/data)
VIRT_IOMEM = ("09000000-09000fff : pl011@9000000\n"
              "  09000000-09000fff : 9000000.pl011 pl011@9000000\n"
              "09010000-09010fff : pl031@9010000\n"
              "  09010000-09010fff : rtc-pl031\n"
              "09030000-09030fff : pl061@9030000\n"
              "  09030000-09030fff : 9030000.pl061 pl061@9030000\n"
              "10000000-3efeffff : pcie@10000000\n"
              "  10000000-1003ffff : 0000:00:01.0\n"
              "  10040000-10040fff : 0000:00:01.0\n"
              "40000000-7fffffff : System RAM\n"
              "4010000000-401fffffff : PCI ECAM\n"
              "8000000000-ffffffffff : pcie@10000000\n"
              "  8000000000-8000003fff : 0000:00:01.0\n")


def test_python_dash_m_runs_the_cli() -> None:
    p = subprocess.run([sys.executable, "-m", "iomem", "iomem"], capture_output=True, text=True)
    assert p.returncode == 0
    assert p.stdout == VIRT_IOMEM


def test_views() -> None:
    assert run("iomem").output == VIRT_IOMEM
    assert run("iomem", "--user").output.splitlines()[:2] == [
        "00000000-00000000 : pl011@9000000", "  00000000-00000000 : 9000000.pl011 pl011@9000000"]
    # the drivers' mappings by address: uart-pl011, pl061_gpio, rtc-pl031, then the 256 MiB
    # ECAM window of pci-host-generic (ioremap_np) on its own alignment
    assert [ln.split("phys=")[1] for ln in run("vmallocinfo").output.splitlines()] == [
        "0x0000000009000000 ioremap", "0x0000000009030000 ioremap",
        "0x0000000009010000 ioremap", "0x0000004010000000 ioremap"]
    dm = run("dmesg", "--append", "iomem=relaxed").output
    assert "[    0.000000] Kernel command line: iomem=relaxed" in dm
    mt = run("mtree", "-f").output
    assert "0000000009000000-0000000009000fff (prio 0, i/o): pl011" in mt
    assert "0000000040000000-000000007fffffff (prio 0, ram): mach-virt.ram" in mt


def test_unknown_board_is_one_clear_line() -> None:
    r = run("iomem", "--board", "nosuch")
    assert r.exit_code == 2
    assert "unknown board 'nosuch'" in r.output
    assert "Traceback" not in r.output
