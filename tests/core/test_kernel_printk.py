"""The kernel log on the virtual clock, the pr_* functions, and the shape of WARN()
and dump_stack() output per architecture, with taint."""

from __future__ import annotations

import re

import pytest
from core_rig import Rig, new_lines

from iomem.kernel import pr_err, pr_info, pr_warn, printk
from iomem.kernel.printk import KERN_ERR, KERN_INFO, KERN_WARNING, LogRecord, Printk

SYM = r"[\w<>]+\+0x[0-9a-f]+/0x[0-9a-f]+"


@pytest.mark.parametrize("ns, prefix", [
    (0, "[    0.000000] "),
    (123_000, "[    0.000123] "),
    (999, "[    0.000000] "),  # microseconds, truncated
    (12_345_678_901, "[   12.345678] "),
    (99_999_999_999_999, "[99999.999999] "),
    (123_456_000_000_000, "[123456.000000] "),  # %5lu is a minimum width
])
def test_dmesg_line_format(ns: int, prefix: str) -> None:
    assert LogRecord(ns, KERN_INFO, "hello").line() == prefix + "hello"


def test_timestamps_come_from_the_virtual_clock(rig: Rig) -> None:
    k = rig.k
    rig.machine.clock.advance(1_500_000)
    pr_info("after %d.%d ms\n", 1, 5)
    k.udelay(250)
    pr_err("later")
    assert k.dmesg().splitlines()[-2:] == ["[    0.001500] after 1.5 ms",
                                          "[    0.001750] later"]
    assert [r.level for r in k.log.records[-2:]] == [KERN_INFO, KERN_ERR]


def test_one_record_per_line_and_listeners() -> None:
    now = [5_000]
    log = Printk(lambda: now[0])
    seen: list[str] = []
    log.listeners.append(lambda rec: seen.append(rec.text))
    log.printk(KERN_WARNING, "first\nsecond\n")
    assert len(log) == 2 and seen == ["first", "second"]
    assert log.dmesg() == "[    0.000005] first\n[    0.000005] second\n"
    assert log.dmesg(since=1) == "[    0.000005] second\n"


def test_printk_helpers_strip_the_newline(rig: Rig) -> None:
    n = len(rig.k.log)
    printk("plain\n")
    pr_warn("%s=%#x", "reg", 0x10)
    pr_info("100%")  # no arguments: not a format
    assert new_lines(rig.k, n) == ["plain", "reg=0x10", "100%"]


# -- WARN and dump_stack ---------------------------------------------------------------------

def warn_site(k) -> None:
    k.WARN("something odd", "drivers/misc/odd.c", "odd_probe")


def test_warn_shape_on_arm64(rig: Rig) -> None:
    k = rig.k
    n = len(k.log)
    warn_site(k)
    out = new_lines(k, n)
    assert out[0] == "------------[ cut here ]------------"
    assert out[1] == "something odd"
    assert re.fullmatch(r"WARNING: CPU: 0 PID: 1 at drivers/misc/odd.c:\d+ "
                        r"odd_probe\+0x[0-9a-f]+/0x[0-9a-f]+", out[2])
    assert out[3:7] == ["Modules linked in:",
                        "CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-iomem #1",
                        "Hardware name: linux,dummy-virt (DT)",
                        "Call trace:"]
    frames = out[7:-1]
    assert frames and all(re.fullmatch(rf" {SYM}", f) for f in frames)
    assert frames[0].startswith(" warn_site+")
    assert any(f.startswith(" test_warn_shape_on_arm64+") for f in frames)
    assert not any("pytest" in f or "pluggy" in f for f in frames)
    assert out[-1] == "---[ end trace 0000000000000000 ]---"
    assert all(r.level == KERN_WARNING for r in k.log.records[n:])


def test_warn_shape_on_x86(x86: Rig) -> None:
    k = x86.k
    n = len(k.log)
    warn_site(k)
    out = new_lines(k, n)
    assert out[5] == ("Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), "
                      "BIOS 1.16.2-debian-1.16.2-1 04/01/2014")
    assert out[6:8] == ["Call Trace:", " <TASK>"]
    assert out[-2:] == [" </TASK>", "---[ end trace 0000000000000000 ]---"]
    assert all(re.fullmatch(rf" {SYM}", f) for f in out[8:-2])


def test_a_warning_taints_the_kernel(anyarch: Rig) -> None:
    k = anyarch.k
    assert k.print_tainted() == "Not tainted"
    warn_site(k)
    tainted = "Tainted: G" + " " * 8 + "W" + " " * 9  # W is bit 9 of 19
    assert k.print_tainted() == tainted
    n = len(k.log)
    k.dump_stack()
    assert new_lines(k, n)[0] == f"CPU: 0 PID: 1 Comm: swapper/0 {tainted} 6.1.0-iomem #1"
    with pytest.raises(ValueError, match="unknown taint flag"):
        k.add_taint("Z")


def test_warn_once_fires_once_per_call_site(rig: Rig) -> None:
    k = rig.k

    def site_a(msg: str) -> None:
        k.WARN(msg, "a.c", "a", once=True)

    def site_b() -> None:
        k.WARN_ON_ONCE("b.c", "b")

    n = len(k.log)
    site_a("one")
    site_a("two")  # same site, another message: silent
    site_b()
    site_b()
    out = new_lines(k, n)
    assert out.count("------------[ cut here ]------------") == 2
    assert "one" in out and "two" not in out
