"""VFIO regions and interrupts, and PCI sysfs resource files, on the simulated pc."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

import pytest
from sim_rig import NOIOMMU, edu_pdev

from iomem.kernel import Kernel
from iomem.kernel import pci_mmap as P
from iomem.kernel import remap as M
from iomem.kernel import vfio as V
from iomem.kernel.pci import pci_core
from iomem.user import MapError, open_target
from iomem.user.sim import SimVfioDevice, bind


def test_vfio_regions_and_irqs(boot: Callable[..., Kernel]) -> None:
    k = boot(NOIOMMU, [("vfio-pci", "00:04.0")])
    assert "vfio-pci 0000:00:04.0: Adding kernel taint for vfio-noiommu group on device" \
        in k.dmesg()
    assert "U" in k.tainted
    dev = SimVfioDevice(k, "00:04.0")
    info = V.vfio_device_get_info(dev.vdev)
    assert (info.flags, info.num_regions, info.num_irqs) == (V.VFIO_DEVICE_FLAGS_PCI, 9, 5)
    bar0 = dev.region(0)
    assert (bar0.size, bar0.offset, bar0.flags) == (1 << 20, 0, 7)
    config = dev.region(7)
    assert (config.offset, config.size, config.flags) == (7 << 40, 256, 3)
    assert dev.region(1).flags == 0 and dev.region(6).size == 0
    assert V.vfio_device_get_region_info(dev.vdev, 8) == -errno.EINVAL  # no VGA
    intx = V.vfio_device_get_irq_info(dev.vdev, 0)
    assert not isinstance(intx, int) and (intx.count, intx.flags) == (1, 7)
    assert V.vfio_device_get_irq_info(dev.vdev, 3) == -errno.EINVAL  # ERR: not PCIe
    assert V.vfio_pci_rw(dev.vdev, 7 << 40, 4, False) == bytes.fromhex("3412e811")
    assert "vfio-noiommu device opened by user (python3:1000)" in k.dmesg()
    with pytest.raises(MapError) as e:
        SimVfioDevice(k, "00:04.0")  # the group has one opener at a time
    assert e.value.errno == errno.EBUSY
    dev.close()


def test_vfio_needs_an_iommu_group(k: Kernel) -> None:
    with pytest.raises(MapError) as e:
        bind(k, "vfio-pci", "00:04.0")
    assert e.value.errno == errno.EINVAL and "vfio.enable_unsafe_noiommu_mode=1" in str(e.value)
    assert "vfio-pci: probe of 0000:00:04.0 failed with error -22" in k.dmesg()


def test_vfio_refuses_an_unbound_device_clearly(boot: Callable[..., Kernel]) -> None:
    k = boot(NOIOMMU)
    with pytest.raises(MapError) as e:
        open_target("vfio:00:04.0", kernel=k)
    assert "bound to no driver, not vfio-pci" in str(e.value)


def test_vfio_group_needs_cap_sys_rawio_in_noiommu_mode(boot: Callable[..., Kernel]) -> None:
    k = boot(NOIOMMU, [("vfio-pci", "00:04.0")])
    user = M.Task(k, comm="user", uid=1000, caps=frozenset())
    with pytest.raises(OSError) as e:
        V.open_group(k, "noiommu-0", user)
    assert e.value.errno == errno.EPERM


def test_resource_files_and_their_refusals(k: Kernel) -> None:
    edu = edu_pdev(k)
    assert P.pci_resource_files(edu) == ["resource0"]
    with pytest.raises(MapError) as e:
        open_target("pci-wc:1234:11e8", kernel=k)
    assert e.value.errno == errno.ENOENT and "BAR0 is not prefetchable" in str(e.value)
    f = P.open_resource(edu, "resource0", os.O_RDWR)
    with pytest.raises(OSError) as e2:
        M.do_mmap(f, 0x1000, offset=1 << 20)  # past the BAR (6.1 logs nothing for it)
    assert e2.value.errno == errno.EINVAL
    bind(k, "edu", "1234:11e8")
    with pytest.raises(MapError) as e:
        open_target("pci:1234:11e8", kernel=k, write=False)
    assert e.value.errno == errno.EINVAL
    assert "(EINVAL): the range is held by 'edu'" in str(e.value)
    assert "boot with iomem=relaxed, or unbind the driver" in str(e.value)


def test_an_io_bar_is_read_and_written_not_mapped(k: Kernel) -> None:
    nic = next(d for d in pci_core(k).devices() if (d.vendor, d.device) == (0x8086, 0x100E))
    bar = next(i for i in range(6) if nic.resource[i].flags & 0x100)
    f = P.open_resource(nic, f"resource{bar}", os.O_RDWR)
    with pytest.raises(OSError) as e:
        M.do_mmap(f, 0x1000)
    assert e.value.errno == errno.ENODEV
    with open_target(f"pci:{nic.name}/{bar}", kernel=k, write=False) as m:
        assert "[io  0x" in m.describe()
        m.readl(0)
        with pytest.raises(ValueError, match="I/O ports are 8, 16 and 32 bits wide"):
            m.readq(0)


def test_memory_types_follow_the_pgprot(k: Kernel) -> None:
    with open_target("pci:1234:11e8", kernel=k) as m:
        assert "memtype UC-" in m.describe()
    edu = edu_pdev(k)
    vma = M.do_mmap(P.open_resource(edu, "resource0", os.O_RDWR), 0x1000)
    assert vma.vm_flags & (M.VM_IO | M.VM_PFNMAP) == M.VM_IO | M.VM_PFNMAP
    assert k.ioremap_state.memtypes[-1] == (0xFEA00000, 0xFEA01000, "UC-")
    M.do_munmap(vma)
    with pytest.raises(M.SigBus, match="it was unmapped"):
        vma.read(0, 4)


def test_userspace_accesses_take_the_kernels_access_paths(k: Kernel) -> None:
    """A layer on the kernel's IoPaths (the CPU model, sanitizer, tracers) sees them."""
    seen: list[tuple[int, int]] = []

    def layer(area, read, write, ordered):  # type: ignore[no-untyped-def]
        def rd(off: int, size: int) -> int:
            seen.append((area.phys_addr + off, size))
            return read(off, size)
        return rd, write
    with open_target("pci:1234:11e8", kernel=k) as m:
        k.io_paths.layers.append(layer)
        k.reinstall_paths()
        try:
            assert m.readl(0) == 0x010000ED
        finally:
            k.io_paths.layers.remove(layer)
            k.reinstall_paths()
    assert seen == [(0xFEA00000, 4)]
