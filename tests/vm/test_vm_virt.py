"""First real facts from the arm64 virt guest, and QEMU's DTB for the board."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iomem.vm import dump_dtb
from iomem.vm.runner import RunResult

pytestmark = pytest.mark.vm(machine="virt")


@pytest.fixture(scope="module")
def guest(vm_lab: Any) -> RunResult:
    return vm_lab.run(
        "uname -m; cat /proc/device-tree/compatible; echo",
        machine="virt",
        collect=["/proc/iomem", "/sys/firmware/fdt"],
        check=True,
    )


def test_virt_guest_is_arm64(guest: RunResult) -> None:
    assert guest.output.splitlines()[0] == "aarch64"
    assert "linux,dummy-virt" in guest.output
    assert guest.kernel.endswith("-arm64")


def test_proc_iomem_lists_the_pl011_at_0x09000000(guest: RunResult) -> None:
    lines = guest.text("/proc/iomem").splitlines()
    assert "09000000-09000fff : pl011@9000000" in lines
    i = lines.index("09000000-09000fff : pl011@9000000")
    assert lines[i + 1] == "  09000000-09000fff : 9000000.pl011 pl011@9000000"


def test_guest_fdt_is_a_device_tree(guest: RunResult) -> None:
    fdt = guest.files["/sys/firmware/fdt"]
    assert fdt[:4] == bytes.fromhex("d00dfeed")


def test_dump_dtb_writes_qemus_blob(vm_lab: Any, tmp_path: Path) -> None:
    vm_lab.assets("virt")
    out = dump_dtb(tmp_path / "virt.dtb", "virt")
    blob = out.read_bytes()
    assert blob[:4] == bytes.fromhex("d00dfeed")
    assert int.from_bytes(blob[4:8], "big") == len(blob)
    assert b"arm,pl011" in blob and b"linux,dummy-virt" in blob
