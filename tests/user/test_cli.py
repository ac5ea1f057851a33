"""iomem read/write/dump/set/clear/poll through click's runner, on a fake host tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from iomem.cli.main import cli
from iomem.user.cli import dump_lines, parse_width

from .fakehost import FakeHost, standard

RES0 = "sys/bus/pci/devices/0000:00:04.0/resource0"


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    h = standard(tmp_path)
    h.add_devmem()
    return h


def run(host: FakeHost, *args: str):
    return CliRunner().invoke(cli, list(args), env={"IOMEM_HOST_ROOT": str(host.root)})


def test_read_prints_devmem_style(host: FakeHost) -> None:
    r = run(host, "read", "--pci", "1234:11e8", "0")
    assert (r.exit_code, r.output) == (0, "0x010000ed\n")
    assert run(host, "read", "--pci", "0000:00:04.0/0", "0", "8").output == "0xed\n"
    assert run(host, "read", "--pci", "00:04.0", "0x0", "h").output == "0x00ed\n"
    assert run(host, "read", "--pci", "00:04.0", "0", "64").output == "0x00000000010000ed\n"
    assert run(host, "read", "--pci", "00:04.0", "0", "l").output == "0x00000000010000ed\n"


def test_write_then_read(host: FakeHost) -> None:
    r = run(host, "write", "--pci", "1234:11e8", "0x10", "32", "0xcafef00d")
    assert (r.exit_code, r.output) == (0, "")
    assert host.peek(host.root / RES0, 0x10, 4) == (0xCAFEF00D).to_bytes(4, "little")
    assert run(host, "read", "--pci", "1234:11e8", "0x10", "16").output == "0xf00d\n"
    r = run(host, "write", "--pci", "1234:11e8", "0x10", "16", "-2")  # no "--" needed
    assert (r.exit_code, r.output) == (0, "")
    assert host.peek(host.root / RES0, 0x10, 4) == (0xCAFEFFFE).to_bytes(4, "little")


def test_devmem_is_the_default_target(host: FakeHost) -> None:
    host.poke(host.root / "dev/mem", 0xFEA00000, (0x010000ED).to_bytes(4, "little"))
    assert run(host, "read", "0xfea00000").output == "0x010000ed\n"
    assert run(host, "read", "--devmem", "0xfea00002", "16").output == "0x0100\n"
    r = run(host, "write", "0xfe000000", "32", "1")
    assert r.exit_code == 1
    assert r.output.startswith("Error: refusing to map /dev/mem for writing: "
                               "[mem 0xfe000000-0xfe000003] is held by 'virtio-pci-modern'")
    assert r.output.count("\n") == 1
    assert run(host, "write", "--force", "0xfe000000", "32", "1").exit_code == 0
    assert run(host, "read", "0xfe000000").output == "0x00000001\n"


def test_dump_collapses_repeats_as_hexdump_does(host: FakeHost) -> None:
    host.poke(host.root / RES0, 0x40, b"\xff" * 0x40)
    r = run(host, "dump", "--pci", "1234:11e8", "0", "0x100")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        "00000000  010000ed 00000000 00000000 00000000",
        "00000010  00000000 00000000 00000000 00000000",
        "*",
        "00000040  ffffffff ffffffff ffffffff ffffffff",
        "*",
        "00000080  00000000 00000000 00000000 00000000",
        "*",
        "00000100",
    ]
    r = run(host, "dump", "--pci", "1234:11e8", "0", "16", "--width", "8")
    assert r.output.splitlines()[0] == "00000000  ed 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00"
    assert run(host, "dump", "0xfea00000", "8").output.splitlines()[0].startswith("fea00000  ")


def test_dump_lines_ends_with_the_address_after_the_last_byte() -> None:
    assert dump_lines([1, 2, 3], 32, 0x1000) == ["00001000  00000001 00000002 00000003",
                                                 "0000100c"]
    assert dump_lines([0] * 12, 32, 0) == ["00000000  00000000 00000000 00000000 00000000",
                                           "*", "00000030"]


def test_set_and_clear_read_modify_write(host: FakeHost) -> None:
    r = run(host, "set", "--pci", "1234:11e8", "0x20", "0x81")
    assert r.output == "0x00000000 -> 0x00000081\n"
    r = run(host, "clear", "--pci", "1234:11e8", "0x20", "0x1", "--width", "8")
    assert r.output == "0x81 -> 0x80\n"
    assert host.peek(host.root / RES0, 0x20, 4) == b"\x80\0\0\0"


def test_poll_until_and_timeout(host: FakeHost) -> None:
    r = run(host, "poll", "--pci", "1234:11e8", "0", "0xff", "0xed", "--timeout", "0.1")
    assert (r.exit_code, r.output) == (0, "0x010000ed\n")
    r = run(host, "poll", "--pci", "1234:11e8", "0", "0xff", "0", "--timeout", "0.05")
    assert r.exit_code == 1
    assert r.output == ("Error: timed out after 0.05 s: last read 0x010000ed, & 0x000000ff = "
                        "0x000000ed, waiting for 0x00000000\n")
    r = run(host, "poll", "--pci", "1234:11e8", "0", "0xf", "0x10")
    assert r.exit_code == 2 and "bits outside MASK" in r.output


@pytest.mark.parametrize(("args", "message"), [
    (("read", "--pci", "1234:11e8", "0", "12"), "the width is 8, 16, 32 or 64 bits"),
    (("read", "--pci", "1234:11e8", "zz"), "'zz' is not a number"),
    (("write", "--pci", "1234:11e8", "0", "8", "0x100"), "0x100 does not fit in 8 bits"),
    (("read", "--pci", "1234:11e8", "--uio", "x", "0"), "choose one target, not --pci and --uio"),
    (("read", "--wc", "0"), "--wc goes with --pci"),
    (("dump", "--pci", "1234:11e8", "0", "6"), "not a positive multiple of 4 bytes"),
])
def test_usage_errors(host: FakeHost, args: tuple[str, ...], message: str) -> None:
    r = run(host, *args)
    assert r.exit_code == 2 and message in r.output


@pytest.mark.parametrize(("args", "message"), [
    (("read", "--pci", "1234:11e8", "0x2"), "Error: readl: offset 0x2 (physical 0xfea00002) "
                                            "is not 4-byte aligned"),
    (("read", "--pci", "1234:11e8", "0x100000"), "are outside the mapping"),
    (("read", "--pci", "1234:11e9", "0"), "Error: no PCI function 1234:11e9"),
    (("read", "--pci", "00:04.0/3", "0"), "BAR3 is not implemented"),
    (("read", "--uio", "uio_pci_generic", "0"), "no UIO devices"),
    (("read", "--pci", "8086:100e/1", "0", "64"), "I/O ports are 8, 16 and 32 bits wide"),
    (("read", "--pci", "1234:11e8", "--wc", "0"), "BAR0 is not prefetchable"),
])
def test_user_errors_are_one_line(host: FakeHost, args: tuple[str, ...], message: str) -> None:
    r = run(host, *args)
    assert r.exit_code == 1, r.output
    assert r.output.startswith(message) or message in r.output
    assert r.output.count("\n") == 1 and "Traceback" not in r.output


def test_parse_width() -> None:
    assert [parse_width(w) for w in ("8", "16", "32", "64", "b", "H", "w", "l")] == [
        8, 16, 32, 64, 8, 16, 32, 64]


def test_poll_refuses_timeouts_that_are_not_seconds() -> None:
    from click.testing import CliRunner

    from iomem.cli.main import cli

    for bad in ("nan", "-1", "inf"):
        r = CliRunner().invoke(cli, ["poll", "--board", "pc", "--pci", "1234:11e8", "0x20",
                                     "0x1", "0x1", "--timeout", bad])
        assert r.exit_code == 2, (bad, r.output)
        assert "--timeout" in r.output and "Traceback" not in r.output


def test_dump_past_the_end_reads_nothing() -> None:
    from click.testing import CliRunner

    from iomem.cli.main import cli

    r = CliRunner().invoke(cli, ["dump", "--board", "pc", "--pci", "1234:11e8", "0x0",
                                 "0x200000"])
    assert r.exit_code == 1 and "nothing was read" in r.output
