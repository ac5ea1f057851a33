"""The ``iomem lspci``, ``iomem pci-sysfs`` and ``iomem iomem --board pc`` commands."""

from __future__ import annotations

from click.testing import CliRunner

from iomem.cli.main import cli


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_lspci_shows_the_edu_bar() -> None:
    r = _run("lspci", "-s", "00:04.0", "-vv")
    assert r.exit_code == 0
    assert "\tRegion 0: Memory at fea00000 (32-bit, non-prefetchable) [size=1M]\n" in r.output
    assert "\tCapabilities: [40] MSI: Enable- Count=1/1 Maskable- 64bit+\n" in r.output


def test_lspci_with_the_edu_driver_loaded() -> None:
    r = _run("lspci", "-k", "-s", "4", "--driver", "edu")
    assert r.output.endswith("\tKernel driver in use: edu\n")
    r = _run("lspci", "-x", "-s", "4")
    assert r.output.splitlines()[1] == \
        "00: 34 12 e8 11 03 01 10 00 10 00 ff 00 00 00 00 00"


def test_pci_sysfs_prints_the_resource_file() -> None:
    r = _run("pci-sysfs", "0000:00:04.0")
    assert r.output.splitlines()[0] == "0x00000000fea00000 0x00000000feafffff 0x0000000000040200"
    assert _run("pci-sysfs", "00:04.0", "vendor").output == "0x1234\n"


def test_user_mistakes_are_one_line() -> None:
    r = _run("pci-sysfs", "00:09.0")
    assert r.exit_code == 1 and "no PCI device '00:09.0' on pc" in r.output
    r = _run("lspci", "--driver", "nope")
    assert r.exit_code == 2 and "unknown driver 'nope'" in r.output
    r = _run("lspci", "-s", "0:0:0:0")
    assert r.exit_code == 1 and "Traceback" not in r.output


def test_iomem_on_the_pc_board() -> None:
    r = _run("iomem", "--board", "pc")
    assert "40000000-febfffff : PCI Bus 0000:00\n  fd000000-fdffffff : 0000:00:02.0\n" \
           "  fea00000-feafffff : 0000:00:04.0\n" in r.output


def test_interrupts_with_the_edu_driver() -> None:
    r = _run("interrupts", "--driver", "edu")
    assert r.output.splitlines() == ["           CPU0       ",
                                     " 24:          0   PCI-MSI 65536-edge      edu"]
