"""The q35-iommu guest: an Intel IOMMU, modules loaded in order, tracefs, VFIO binding."""

from __future__ import annotations

from typing import Any

import pytest

from iomem.vm.runner import RunResult

pytestmark = pytest.mark.vm

BIND = """
set -e
slot=$(grep -l 0x11e8 /sys/bus/pci/devices/*/device | head -n1 | cut -d/ -f6)
echo "edu $slot"
group=$(basename "$(readlink /sys/bus/pci/devices/$slot/iommu_group)")
echo "group $group"
echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id
basename "$(readlink /sys/bus/pci/devices/$slot/driver)"
ls /dev/vfio
"""


@pytest.fixture(scope="module")
def guest(vm_lab: Any) -> RunResult:
    return vm_lab.run(
        BIND,
        machine="q35-iommu",
        modules=["vfio_pci"],
        tracefs=True,
        collect=[
            "/proc/modules",
            "/sys/kernel/tracing/available_tracers",
            "/proc/cmdline",
            "ls /sys/class/iommu",
        ],
        check=True,
    )


def test_intel_iommu_is_on(guest: RunResult) -> None:
    assert "intel_iommu=on" in guest.text("/proc/cmdline").split()
    assert "dmar0" in guest.text("ls /sys/class/iommu").split()


def test_requested_modules_loaded_with_dependencies(guest: RunResult) -> None:
    loaded = {line.split()[0] for line in guest.text("/proc/modules").splitlines()}
    assert {"vfio_pci", "vfio_pci_core", "vfio", "irqbypass"} <= loaded
    assert {"9p", "9pnet_virtio"} <= loaded


def test_tracefs_offers_mmiotrace(guest: RunResult) -> None:
    assert "mmiotrace" in guest.text("/sys/kernel/tracing/available_tracers").split()


def test_edu_binds_to_vfio_pci(guest: RunResult) -> None:
    lines = guest.output.splitlines()
    group = next(ln.split()[1] for ln in lines if ln.startswith("group "))
    assert "vfio-pci" in lines
    assert group in lines[lines.index("vfio-pci") + 1 :]  # /dev/vfio/<group> appeared
