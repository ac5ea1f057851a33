"""The userspace edu driver on a real Linux kernel, through every host backend.

Three boots, each running tests/vm/guest_userspace_edu.py once and bringing
back its JSON: the pc machine with ``iomem=relaxed`` (PCI sysfs, /dev/mem, UIO
with uio_pci_generic, the command line), the pc machine without it (what
strict /dev/mem allows and refuses), and q35 with an Intel IOMMU (VFIO, mmap
and read()/write()). The driver (examples/edu_userspace.py) must give the same
facts everywhere, and the same as on the simulated edu (tests/user).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import edu_userspace  # noqa: E402

GUEST = str(Path(__file__).with_name("guest_userspace_edu.py"))
VALUE = 0x0123456789ABCDEF


def _boot(vm_lab: Any, mode: str, **options: Any) -> dict[str, Any]:
    result = vm_lab.run([sys.executable, GUEST, mode], timeout=600, **options)
    assert result.ok, f"guest run failed ({result.status}):\n{result.output[-4000:]}"
    return result.json(f"userspace-{mode}.json")


@pytest.fixture(scope="module")
def relaxed(vm_lab: Any) -> dict[str, Any]:
    return _boot(vm_lab, "relaxed", append=["iomem=relaxed"], modules=["uio_pci_generic"])


@pytest.fixture(scope="module")
def strict(vm_lab: Any) -> dict[str, Any]:
    return _boot(vm_lab, "strict")


@pytest.fixture(scope="module")
def vfio(vm_lab: Any) -> dict[str, Any]:
    return _boot(vm_lab, "vfio", machine="q35-iommu", modules=["vfio_pci", "vfio_iommu_type1"])


def _driver_ok(facts: dict[str, Any], key: str, *, irq: bool = False) -> dict[str, Any]:
    got = facts[key]
    assert "error" not in got, got
    assert edu_userspace.mismatches(got, irq=irq) == []
    return got


# -- the same driver through each path ------------------------------------------------


def test_pci_sysfs(relaxed: dict[str, Any]) -> None:
    got = _driver_ok(relaxed, "sysfs")
    assert got["mapping"] == (
        "0000:00:04.0 BAR0, [mem 0xfea00000-0xfeafffff], 0x100000 bytes, memtype UC"
    )
    assert relaxed["edu"]["bar0_text"] == "Memory at fea00000 (32-bit, non-prefetchable) [size=1M]"


def test_devmem_with_iomem_relaxed(relaxed: dict[str, Any]) -> None:
    assert "iomem=relaxed" in relaxed["cmdline"]
    got = _driver_ok(relaxed, "devmem")
    assert got["mapping"].startswith("/dev/mem 0xfea00000, [mem 0xfea00000-0xfeafffff]")


def test_uio_with_interrupts(relaxed: dict[str, Any]) -> None:
    (uio0,) = relaxed["uio_devices"]
    assert uio0[:3] == ["uio0", "uio_pci_generic", "0.01.0"]
    assert uio0[3][0]["addr"] == 0xFEA00000 and uio0[3][0]["size"] == 1 << 20
    assert relaxed["edu_driver_after_bind"] == "uio_pci_generic"
    got = _driver_ok(relaxed, "uio", irq=True)
    # /dev/uio0 returns the running total: one per raise, one for the factorial
    assert [got["irq_raise_0x40"]["count"], got["irq_raise_0x1"]["count"]] == [1, 2]
    assert relaxed["uio_event"] == 3


def test_vfio_mmap_with_interrupts(vfio: dict[str, Any]) -> None:
    assert vfio["bind"] == "vfio-pci"
    got = _driver_ok(vfio, "vfio", irq=True)
    assert "memtype UC" in got["mapping"]


def test_vfio_read_write_path(vfio: dict[str, Any]) -> None:
    got = vfio["vfio_rw"]
    assert "via read()/write()" in got["mapping"]
    assert edu_userspace.mismatches(got, irq=True) == [
        f"{key}: got {got[key]!r}, want {edu_userspace.EXPECTED[key]!r}"
        for key in (
            "readq_id",
            "dma_src_writeq_readq",
            "dma_src_lo_hi_writeq_readq",
            "dma_src_writeq_lo_hi_readq",
        )
    ]
    # 64-bit accesses are refused there, with the reason, instead of being split
    assert "makes an 8-byte access as two 4-byte ones before Linux 6.10" in got["readq_id"]
    assert got["dma_src_lo_hi_writeq_lo_hi_readq"] == 0xFFFFFFFF89ABCDEF


def test_vfio_kernel_splits_8_byte_read_write_on_6_1(vfio: dict[str, Any]) -> None:
    """Why the read()/write() path refuses 64-bit: the raw 8-byte pwrite/pread pair
    is two 4-byte accesses, so 0x84 (ignored, all-ones) shows up in the high word."""
    assert vfio["release"].startswith("6.1.")
    assert vfio["vfio_raw_pread8"] == 0xFFFFFFFF89ABCDEF


def test_vfio_regions_irqs_and_refusals(vfio: dict[str, Any]) -> None:
    info = vfio["vfio_info"]
    bar0 = info["regions"][0]
    assert bar0["size"] == 1 << 20 and bar0["offset"] == 0 and bar0["flags"] & 0x7 == 0x7
    config = next(r for r in info["regions"] if r["index"] == 7)
    assert config["offset"] == 7 << 40
    assert info["irqs"][0]["count"] == 1  # INTx
    assert vfio["vfio_config"] == {"readl0": 0x11E81234, "readw2": 0x11E8}
    assert "bound to no driver, not vfio-pci" in vfio["vfio_unbound_refused"]["message"]
    assert vfio["vfio_busy"]["errno"] == 16
    assert vfio["cli_vfio_read"] == {"status": 0, "stdout": "0x010000ed\n", "stderr": ""}


def test_a_64bit_access_is_one_access_everywhere(
    relaxed: dict[str, Any], vfio: dict[str, Any]
) -> None:
    """edu keeps all 64 bits of one 8-byte store at 0x80; two 32-bit halves lose the
    high word (0x84 ignores stores and reads all-ones)."""
    for facts, key in ((relaxed, "sysfs"), (relaxed, "devmem"), (relaxed, "uio"), (vfio, "vfio")):
        got = facts[key]
        assert got["dma_src_writeq_readq"] == VALUE, key
        assert got["dma_src_lo_hi_writeq_readq"] == VALUE & 0xFFFFFFFF, key
        assert got["dma_src_writeq_lo_hi_readq"] == 0xFFFFFFFF << 32 | VALUE & 0xFFFFFFFF, key


# -- strict /dev/mem -------------------------------------------------------------------


def test_strict_devmem_refuses_a_driver_held_range_clearly(strict: dict[str, Any]) -> None:
    assert "iomem=relaxed" not in strict["cmdline"]
    held = strict["held_device"]
    assert held["driver"] == "virtio-pci"
    refused = strict["devmem_held_read"]
    assert refused["error"] == "MapError"
    assert "(EPERM): it is held by 'virtio-pci-modern'" in refused["message"]
    assert "boot with iomem=relaxed" in refused["message"]
    cli = strict["cli_devmem_held_read"]
    assert cli["status"] == 1 and cli["stderr"].count("\n") == 1
    assert cli["stderr"].startswith("Error: /dev/mem refused to map [mem 0xfe000000-0xfe000003]")
    # sysfs resourceN of the same range: the kernel answers EINVAL, explained the same way
    assert "(EINVAL): the range is held by 'virtio-pci-modern'" in strict["held_read"]["message"]


def test_strict_devmem_still_maps_a_range_no_driver_holds(strict: dict[str, Any]) -> None:
    """CONFIG_IO_STRICT_DEVMEM refuses BUSY ranges only: edu's BAR has no driver."""
    _driver_ok(strict, "devmem")


def test_relaxed_devmem_maps_the_held_range_read_only(relaxed: dict[str, Any]) -> None:
    assert relaxed["devmem_held_read"] == {"readl0": 1}
    assert relaxed["held_read"]["readl0"] == 1
    for key in ("devmem_held_write", "held_write_refused"):
        assert relaxed[key]["error"] == "OwnershipError"
        assert "held by 'virtio-pci-modern'" in relaxed[key]["message"]
        assert "force=True (--force)" in relaxed[key]["message"]


def test_ram_is_refused_in_either_mode(relaxed: dict[str, Any], strict: dict[str, Any]) -> None:
    for facts in (relaxed, strict):
        assert "it is System RAM" in facts["devmem_ram"]["message"]
        assert facts["devmem_ram"]["errno"] == 1


# -- diagnosis on the real kernel --------------------------------------------------------


def test_decode_off_write_combining_and_io_bars(relaxed: dict[str, Any]) -> None:
    off = relaxed["decode_off"]
    assert "memory decode off (bit 1 of the PCI command register is 0)" in off["refused"]["message"]
    assert off["enabled_id"] == 0x010000ED
    assert "BAR0 is not prefetchable" in relaxed["wc_refused"]["message"]
    io = relaxed["io_bar"]
    assert io["bdf"] == "0000:00:03.0" and "[io  0x" in io["describe"]
    assert "I/O ports are 8, 16 and 32 bits wide" in io["readq"]["message"]
    assert relaxed["config"]["readl0"] == 0x11E81234


# -- the command line ----------------------------------------------------------------------


def test_cli_on_a_real_kernel(relaxed: dict[str, Any]) -> None:
    assert relaxed["cli_read"] == {"status": 0, "stdout": "0x010000ed\n", "stderr": ""}
    assert relaxed["cli_write"]["status"] == 0 and relaxed["cli_write"]["stdout"] == ""
    assert relaxed["cli_read_back"]["stdout"] == "0xedcba987\n"
    assert relaxed["cli_dump"]["stdout"].splitlines() == [
        "00000000  010000ed edcba987 00000078 ffffffff",
        "00000010  ffffffff ffffffff ffffffff ffffffff",
        "00000020  00000000 00000000 ffffffff ffffffff",
        "00000030  ffffffff ffffffff ffffffff ffffffff",
        "*",
        "00000080  00000000 ffffffff 00000000 ffffffff",
        "*",
        "000000a0  ffffffff ffffffff ffffffff ffffffff",
        "*",
        "00000100",
    ]
    assert relaxed["cli_set"]["stdout"] == "0x00000000 -> 0x00000080\n"
    assert relaxed["cli_clear"]["stdout"] == "0x00000080 -> 0x00000000\n"
    assert relaxed["cli_poll"]["stdout"] == "0x00000000\n"
    timeout = relaxed["cli_poll_timeout"]
    assert (
        timeout["status"] == 1
        and "timed out after 0.2 s: last read 0x010000ed" in timeout["stderr"]
    )
    assert relaxed["cli_devmem_read"]["stdout"] == "0x010000ed\n"
    assert relaxed["cli_devmem_read64"]["stdout"] == "0x0000000000000000\n"
    assert relaxed["cli_misaligned"]["stderr"] == (
        "Error: readl: offset 0x2 (physical 0xfea00002) is not 4-byte aligned; "
        "a 32-bit access must be naturally aligned\n"
    )
