"""``iomem read/write/dump/set/clear/poll --board NAME``: the devmem-style commands through
a simulated board's userspace interfaces, with the output they give on a real machine."""

from __future__ import annotations

from click.testing import CliRunner

from iomem.cli.main import cli


def iomem(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_read_edu_identification_through_simulated_pci_sysfs() -> None:
    assert iomem("read", "--board", "pc", "--pci", "1234:11e8", "0x0", "32") == \
        (0, "0x010000ed\n", "")


def test_every_path_reads_the_same_register() -> None:
    for args in (["--pci", "0000:00:04.0/0"], [], ["--cmdline", "iomem=relaxed"],
                 ["--bind", "uio_pci_generic=1234:11e8", "--uio", "uio_pci_generic"],
                 ["--cmdline", "vfio.enable_unsafe_noiommu_mode=1", "--bind",
                  "vfio-pci=00:04.0", "--vfio", "00:04.0"]):
        addr = "0" if any(a.startswith("--") and a in ("--pci", "--uio", "--vfio")
                          for a in args) else "0xfea00000"
        assert iomem("read", "--board", "pc", *args, addr) == (0, "0x010000ed\n", ""), args


def test_write_set_clear_dump_poll() -> None:
    base = ["--board", "pc", "--pci", "1234:11e8"]
    assert iomem("write", *base, "0x4", "32", "0x12345678")[0] == 0
    assert iomem("set", *base, "0x20", "0x80") == (0, "0x00000000 -> 0x00000080\n", "")
    assert iomem("clear", *base, "0x20", "0x80") == (0, "0x00000000 -> 0x00000000\n", "")
    code, out, _ = iomem("dump", *base, "0", "0x20")
    assert out.splitlines() == ["00000000  010000ed 00000000 00000000 ffffffff",
                                "00000010  ffffffff ffffffff ffffffff ffffffff", "00000020"]
    assert iomem("poll", *base, "0x20", "0x1", "0x0") == (0, "0x00000000\n", "")


def test_a_negative_value_is_its_twos_complement_and_unknown_options_stay_refused() -> None:
    base = ["--board", "pc", "--pci", "1234:11e8"]
    assert iomem("write", *base, "0x4", "32", "-2") == (0, "", "")  # no "--" needed
    code, _, err = iomem("write", *base, "0x4", "8", "-129")
    assert code == 2 and "-129 does not fit in 8 bits" in err
    for args in (["0x4", "32", "--bogus"], ["--bogus", "0x4", "32", "1"], ["-x", "0x4", "32", "1"]):
        code, _, err = iomem("write", *base, *args)
        assert code == 2 and "No such option" in err, args


def test_refusals_are_one_line() -> None:
    code, out, err = iomem("read", "--board", "pc", "--bind", "edu=1234:11e8", "0xfea00000")
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("Error: /dev/mem refused to map [mem 0xfea00000-0xfea00003] (EPERM)")
    code, _, err = iomem("read", "--board", "pc", "0x100000")
    assert code == 1 and "it is System RAM" in err
    code, _, err = iomem("read", "--board", "pc", "--bind", "vfio-pci=00:04.0", "--vfio",
                         "00:04.0", "0")
    assert code == 1 and "vfio.enable_unsafe_noiommu_mode=1" in err
    code, _, err = iomem("read", "--cmdline", "iomem=relaxed", "0xfea00000")
    assert code == 2 and "--cmdline and --bind go with --board" in err
