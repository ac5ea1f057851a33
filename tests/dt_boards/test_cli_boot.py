"""``iomem boot``, ``--board FILE.dts|FILE.dtb`` for every view, ``iomem dt``'s driver column,
and the runnable example."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from iomem.cli.main import cli
from iomem.of import builtin_dtb

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dt_board"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_boot_prints_the_boot_log_of_virt() -> None:
    r = run("boot", "--board", "virt")
    assert r.exit_code == 0, r.output
    lines = [ln.split("] ", 1)[1] for ln in r.output.splitlines()]
    assert lines[:2] == ["Linux version 6.1.0-iomem (iomem@simulated) (arm64) #1 SMP",
                         "Machine model: linux,dummy-virt"]
    for line in ("9000000.pl011: ttyAMA0 at MMIO 0x9000000 (irq = 13, base_baud = 0) is a "
                 "PL011 rev1", "pl061_gpio 9030000.pl061: PL061 GPIO chip registered",
                 "rtc-pl031 9010000.pl031: registered as rtc0"):
        assert line in lines


def test_boot_shows_views_after_the_log() -> None:
    r = run("boot", "--board", "virt", "--no-builtin-drivers", "--show", "iomem",
            "--show", "devices")
    assert r.exit_code == 0, r.output
    tail = r.output.split("-- iomem:\n", 1)[1]
    assert tail.startswith("09000000-09000fff : pl011@9000000\n09010000-09010fff : "
                           "pl031@9010000\n")
    assert "amba      9000000.pl011            -\n" in tail


def test_boot_a_dts_with_a_driver_module() -> None:
    r = run("boot", "--board", str(EXAMPLES / "acme.dts"), "--driver",
            str(EXAMPLES / "widget.py"), "--show", "iomem", "--show", "interrupts")
    assert r.exit_code == 0, r.output
    assert "acme-widget a000000.widget: Acme widget 0xac3e0001, irq 10" in r.output
    assert "0a000000-0a0000ff : a000000.widget widget@a000000\n" in r.output
    assert r.output.rstrip().endswith("widget")


def test_a_driver_that_fails_to_load_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import nosuchthing\n")
    r = run("boot", "--board", "virt", "--driver", str(bad))
    assert r.exit_code == 1
    assert "insmod: could not insert module" in r.output and "ModuleNotFoundError" in r.output
    assert "Traceback" not in r.output


def test_views_take_dtb_and_dts_boards(tmp_path: Path) -> None:
    blob = tmp_path / "qemu.dtb"
    blob.write_bytes(builtin_dtb("virt"))
    r = run("iomem", "--board", str(blob))
    assert r.exit_code == 0 and r.output.startswith("09000000-09000fff : pl011@9000000\n")
    r = run("dmesg", "--board", str(EXAMPLES / "acme.dts"))
    assert "Machine model: Acme widget board" in r.output
    bad = tmp_path / "broken.dts"
    bad.write_text("/dts-v1/; / { oops")
    r = run("iomem", "--board", str(bad))
    assert r.exit_code == 2 and "Traceback" not in r.output  # a --board error


def test_dt_lists_models_and_drivers() -> None:
    out = run("dt", "virt").output
    row = next(ln for ln in out.splitlines() if ln.strip().startswith("9000000.pl011"))
    assert row.split()[-2:] == ["PL011", "uart-pl011"]
    assert "3 with a model, 6 with a driver" in out


def test_the_python_board_example_runs() -> None:
    p = subprocess.run([sys.executable, str(EXAMPLES / "acme_board.py")], capture_output=True,
                       text=True, check=True)
    assert "jobs completed by interrupt: 1" in p.stdout
    assert " 10:          1     GIC-0  37 Level     widget" in p.stdout
    ns = runpy.run_path(str(EXAMPLES / "acme_board.py"))
    assert ns["acme_board"]().model == "Acme widget board"


def test_the_sanitizer_does_not_count_the_built_in_drivers_boot_claims(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text("import iomem\nk = iomem.current_kernel()\n"
                      "k.devices.unbind('9010000.pl031')\nprint(k.proc_iomem().count('rtc'))\n")
    r = run("run", "--check", "--board", "virt", str(script))
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == "0"
    assert "iomem sanitizer: no problems found" in r.output
