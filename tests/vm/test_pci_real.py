"""The simulated pc board against a real one: one boot of Debian's 6.1 kernel on QEMU's
pc machine with edu, compared with the simulated kernel line by line.

- the edu driver's register logic (identification, liveness, factorials,
  unknown offsets, a 2-byte read) through PCI sysfs ``resource0`` on the real
  device and through the simulated kernel's driver gives the same numbers;
- ``lspci -v``/``-vvv``/``-x``/``-xxx`` (pciutils on the host, run in the guest)
  for edu, and ``-v`` for every function both boards have, are identical;
- ``/proc/iomem`` is identical but for the virtio driver's claims (the kernel
  is booted with ``nokaslr`` so its image lines are fixed);
- the ``resource`` and ``config`` sysfs files of edu, and the PCI lines of
  the boot log, are the real ones.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from iomem.boards import boot
from iomem.drivers import edu as E
from iomem.kernel.pci import pci_core, resource_show
from iomem.kernel.pci_sysfs import device_attributes
from iomem.pci.lspci import lspci
from iomem.vm.runner import RunResult

pytestmark = pytest.mark.vm

GUEST = Path(__file__).with_name("guest_pci_edu.py")
EDU = "/sys/bus/pci/devices/0000:00:04.0"
LSPCI = ["lspci -v", "lspci -vvv -s 00:04.0", "lspci -x -s 00:04.0", "lspci -xxx -s 00:04.0"]
#: the functions the simulated pc has as the real one does (virtio-9p only as BARs)
SHARED = ("00:00.0", "00:01.0", "00:01.1", "00:01.3", "00:02.0", "00:03.0", "00:04.0")


def _ensure_lspci() -> bool:
    """pciutils on the host is what the guest runs (it sees the host's root)."""
    if shutil.which("lspci"):
        return True
    if shutil.which("apt-get") and hasattr(__import__("os"), "geteuid") and \
            __import__("os").geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "pciutils"], capture_output=True)
    return shutil.which("lspci") is not None


@pytest.fixture(scope="module")
def guest(vm_lab: Any) -> RunResult:
    has_lspci = _ensure_lspci()
    return vm_lab.run(
        [sys.executable, str(GUEST)],
        append=["nokaslr"],
        collect=["/proc/iomem", "/proc/ioports", f"{EDU}/resource", f"{EDU}/config",
                 "dmesg", *(LSPCI if has_lspci else [])],
        check=True,
    )


@pytest.fixture(scope="module")
def sim():
    """The simulated pc as the lab's boot is: edu, then the two virtio-9p shares."""
    return boot("pc", devices=["edu", "virtio-9p-pci", "virtio-9p-pci"])


def _lspci_text(guest: RunResult, key: str) -> str:
    if key not in guest.files:
        pytest.skip(f"lspci did not run in the guest: {guest.missing.get(key)}")
    return guest.text(key)


def test_the_driver_logic_gives_the_same_numbers(guest: RunResult) -> None:
    from guest_pci_edu import run

    real = guest.json("edu-real.json")
    k = boot("pc")
    with k:
        E.edu_init()
        edu = E.edu_get(pci_core(k).find("00:04.0"))

        from iomem.kernel import readw

        edu.readw = lambda off: readw(edu.base + off)  # what the guest's adapter adds
        simulated = run(edu)
    real.pop("python")
    assert simulated == real
    assert real["ident"] == [0x010000ED, 1, 0]
    assert real["factorial"][FACT13] == 1932053504 and real["factorial"][FACT34] == 0


FACT13 = 4  # positions in guest_pci_edu.FACTORIALS
FACT34 = 7


def test_edu_lspci_is_identical(guest: RunResult, sim) -> None:
    for key in LSPCI[1:]:
        args = key.split(" ", 1)[1]
        assert lspci(sim, args) == _lspci_text(guest, key), key


def test_lspci_v_is_identical_for_every_function_both_boards_have(guest: RunResult,
                                                                  sim) -> None:
    def blocks(text: str) -> dict[str, str]:
        return {b.split(" ", 1)[0]: b for b in text.strip("\n").split("\n\n")}
    real = blocks(_lspci_text(guest, "lspci -v"))
    ours = blocks(lspci(sim, "-v"))
    for slot in SHARED:
        assert ours[slot] == real[slot], slot


def test_proc_iomem_is_identical_but_for_the_virtio_drivers_claims(guest: RunResult,
                                                                   sim) -> None:
    real = [ln for ln in guest.text("/proc/iomem").splitlines()
            if "virtio-pci-modern" not in ln]
    ours = sim.proc_iomem().splitlines()
    assert ours == real
    i = real.index("40000000-febfffff : PCI Bus 0000:00")
    assert "  fea00000-feafffff : 0000:00:04.0" in real[i:]


def test_proc_ioports_lines_are_real_ones_in_order(guest: RunResult, sim) -> None:
    real = guest.text("/proc/ioports").splitlines()
    pos = [real.index(ln) for ln in sim.proc_ioports().splitlines()]
    assert pos == sorted(pos)


def test_edu_sysfs_files_are_identical(guest: RunResult, sim) -> None:
    dev = pci_core(sim).find("00:04.0")
    assert resource_show(dev) == guest.text(f"{EDU}/resource")
    assert device_attributes(dev)["config"] == guest.files[f"{EDU}/config"]


def test_the_pci_lines_of_the_boot_log_are_real_ones(guest: RunResult, sim) -> None:
    def pci_lines(text: str) -> list[str]:
        lines = [re.sub(r"^\[[ 0-9.]+\] ", "", ln) for ln in text.splitlines()]
        return [ln for ln in lines if ln.startswith(("pci ", "pci_bus ", "PCI host bridge",
                                                      "ACPI: PCI: Interrupt link"))]
    real = pci_lines(guest.text("dmesg"))
    ours = pci_lines(sim.dmesg())
    assert ours == [ln for ln in real if ln in set(ours)]  # same lines, same order
    missing = [ln for ln in real if ln not in set(ours)]
    # what only the real kernel's other drivers and quirks print
    assert all(re.search(r"vgaarb|PIIX3: Enabling|Limiting direct", ln) for ln in missing), \
        missing
