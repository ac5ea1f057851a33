"""First real facts from the pc guest: the edu device as a real Linux kernel sees it.

One boot for the whole module: the guest runs guest_pc_checks.py with the
host's own Python and the lab collects /proc/iomem, ``lspci -v`` and the
edu device's sysfs files.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from iomem.vm.runner import RunResult

pytestmark = pytest.mark.vm

CHECKS = Path(__file__).with_name("guest_pc_checks.py")
EDU = "/sys/bus/pci/devices/0000:00:04.0"


@pytest.fixture(scope="module")
def guest(vm_lab: Any) -> RunResult:
    return vm_lab.run(
        [sys.executable, str(CHECKS)],
        collect=["/proc/iomem", "lspci -v", f"{EDU}/resource", f"{EDU}/config", "/proc/cmdline"],
        check=True,
    )


@pytest.fixture(scope="module")
def facts(guest: RunResult) -> dict[str, Any]:
    return guest.json("pc.json")


def test_guest_ran_the_hosts_python(guest: RunResult, facts: dict[str, Any]) -> None:
    assert facts["python"] == sys.version
    assert facts["executable"] == sys.executable
    assert facts["uname"] == guest.kernel
    assert guest.output.strip() == "edu at ['0000:00:04.0']"
    assert facts["modules_dir"].endswith(f"/lib/modules/{guest.kernel}")
    assert facts["modules_dir_has_uio"]  # the guest kernel's modules, through the host's root


def test_edu_is_1234_11e8_in_sysfs_with_a_1mib_bar0(facts: dict[str, Any]) -> None:
    assert ("0x1234", "0x11e8") in [(d["vendor"], d["device"]) for d in facts["pci"]]
    edu = facts["edu"]
    assert edu["slot"] == "0000:00:04.0"
    assert edu["resource0_size"] == 1 << 20
    assert edu["revision"] == "0x10"
    assert edu["subsystem"] == ["0x1af4", "0x1100"]


def test_resource_file_has_the_kernels_format(guest: RunResult) -> None:
    lines = guest.text(f"{EDU}/resource").splitlines()
    assert len(lines) in (7, 13)  # 13 with SR-IOV in the kernel, as Debian's
    for line in lines:
        assert re.fullmatch(r"0x[0-9a-f]{16} 0x[0-9a-f]{16} 0x[0-9a-f]{16}", line)
    start, end, flags = (int(x, 16) for x in lines[0].split())
    assert end - start + 1 == 1 << 20
    assert flags == 0x40200  # IORESOURCE_MEM | IORESOURCE_SIZEALIGN
    assert all(set(line) <= set("0x ") for line in lines[1:])


def test_proc_iomem_nests_the_bar_in_the_pci_window(guest: RunResult) -> None:
    start, end, _ = (int(x, 16) for x in guest.text(f"{EDU}/resource").splitlines()[0].split())
    lines = guest.text("/proc/iomem").splitlines()
    bar = f"  {start:08x}-{end:08x} : 0000:00:04.0"
    assert bar in lines
    window = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) : PCI Bus 0000:00$")
    parent = next(ln for ln in reversed(lines[: lines.index(bar)]) if not ln.startswith(" "))
    m = window.match(parent)
    assert m, f"{bar!r} is not inside a PCI Bus 0000:00 window: parent is {parent!r}"
    assert int(m.group(1), 16) <= start and end <= int(m.group(2), 16)


def test_mapping_resource0_reads_id_and_liveness_inverts(facts: dict[str, Any]) -> None:
    edu = facts["edu"]
    assert edu["id"] == 0x010000ED
    assert edu["liveness_after_0x12345678"] == 0x12345678 ^ 0xFFFFFFFF
    assert edu["liveness_after_0"] == 0xFFFFFFFF
    assert edu["factorial_5"] == 120
    assert edu["unknown_offset_0x30"] == 0xFFFFFFFF


def test_config_space_identity(guest: RunResult) -> None:
    config = guest.files[f"{EDU}/config"]
    assert len(config) == 256
    assert config[0:4] == bytes([0x34, 0x12, 0xE8, 0x11])
    assert config[0x0B] == 0x00 and config[0x0A] == 0xFF  # class 00ff


def test_lspci_shows_the_bar(guest: RunResult) -> None:
    if "lspci -v" not in guest.files:
        pytest.skip(f"lspci is not available on the host: {guest.missing.get('lspci -v')}")
    text = guest.text("lspci -v")
    block = text.split("\n\n")[[i for i, b in enumerate(text.split("\n\n")) if "00:04.0" in b][0]]
    assert "Device 1234:11e8 (rev 10)" in block
    assert re.search(r"\tMemory at [0-9a-f]+ \(32-bit, non-prefetchable\) \[size=1M\]", block)


def _pci_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if "Kernel " not in ln]


def test_bare_run_sees_the_board_alone_and_matches_the_capture(vm_lab: Any) -> None:
    result = vm_lab.run(
        "grep -c . /proc/modules; lsmod | cut -d' ' -f1",
        bare=True,
        modules=["uio_pci_generic"],
        collect=["/proc/iomem"],
        check=True,
    )
    assert {"uio_pci_generic", "uio"} <= set(result.output.split())
    iomem = result.text("/proc/iomem")
    assert "0000:00:05.0" not in iomem and "virtio" not in iomem  # no lab devices
    capture = (Path(__file__).parent / "data" / "pc-proc-iomem.txt").read_text()
    assert _pci_lines(iomem) == _pci_lines(capture)
