"""/dev/mem on the simulated pc, as the Debian 6.1 kernel (CONFIG_STRICT_DEVMEM +
CONFIG_IO_STRICT_DEVMEM) behaves on the real guest: System RAM is refused in either
mode (the first megabyte excepted, x86's devmem_is_allowed), a range a driver claimed
(BUSY) is refused unless iomem=relaxed, an unclaimed device range maps either way, and
a driver that claims a range later revokes the existing mappings of it."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

import pytest
from sim_rig import EDU_BAR0, NOIOMMU, edu_pdev

from iomem.kernel import Kernel
from iomem.kernel import devmem as D
from iomem.kernel import remap as M
from iomem.user import MapError, OwnershipError, open_target
from iomem.user.sim import bind

EDU = "devmem:0xfea00000+0x1000"


def allowed(k: Kernel, phys: int) -> int:
    return D.devmem_is_allowed(k, phys >> 12)


@pytest.mark.parametrize("cmdline, claimed, expect", [
    ("", False, 1),                      # unclaimed edu BAR: mapped without iomem=relaxed
    ("", True, 0),                       # claimed by the edu driver: EPERM
    ("iomem=relaxed", False, 1),
    ("iomem=relaxed", True, 1),          # relaxed lifts the driver rule
    ("iomem=relaxed iomem=strict", True, 0),  # strict wins when both are given
])
def test_the_matrix_for_a_device_range(boot: Callable[..., Kernel], cmdline: str,
                                       claimed: bool, expect: int) -> None:
    k = boot(cmdline, [("edu", "1234:11e8")] if claimed else [])
    assert allowed(k, EDU_BAR0) == expect
    assert k.iomem_is_exclusive(EDU_BAR0) == (not expect)
    if expect:
        with open_target(EDU, kernel=k, write=False) as m:
            assert m.readl(0) == 0x010000ED
    else:
        with pytest.raises(MapError) as e:
            open_target(EDU, kernel=k, write=False)
        assert e.value.errno == errno.EPERM
        assert str(e.value) == (
            "/dev/mem refused to map [mem 0xfea00000-0xfea00fff] (EPERM): it is held by 'edu' "
            "(fea00000-feafffff, under 0000:00:04.0), and with CONFIG_STRICT_DEVMEM + "
            "CONFIG_IO_STRICT_DEVMEM the kernel keeps /dev/mem off ranges a driver requested; "
            "unbind the driver, or boot with iomem=relaxed (the kernel command line has no "
            "iomem=relaxed)")


@pytest.mark.parametrize("cmdline", ["", "iomem=relaxed"])
def test_ram_is_refused_in_either_mode_except_the_first_megabyte(
        boot: Callable[..., Kernel], cmdline: str) -> None:
    k = boot(cmdline)
    assert allowed(k, 0x100000) == 0           # System RAM
    assert allowed(k, 0x1000) == 2             # System RAM below 1 MiB: reads show zeros
    assert allowed(k, 0xC0000) == 1            # Video ROM: BUSY, below 1 MiB
    assert allowed(k, 0xFEC00000) == (0 if k.strict_devmem else 1)  # IOAPIC 0 (BUSY)
    with pytest.raises(MapError) as e:
        open_target("devmem:0x100000+0x1000", kernel=k, write=False)
    assert e.value.errno == errno.EPERM
    assert "it is System RAM ('System RAM' (00100000-3ffdffff))" in str(e.value)
    with open_target("devmem:0xc0000+0x1000", kernel=k, write=False) as m:
        assert "memtype WB" in m.describe()  # the ISA range is not tracked by PAT


def test_relaxed_maps_a_held_range_read_only_unless_forced(boot: Callable[..., Kernel]) -> None:
    k = boot("iomem=relaxed", [("edu", "1234:11e8")])
    with open_target(EDU, kernel=k, write=False) as m:
        assert m.readl(0) == 0x010000ED and "owner edu" in m.describe()
    with pytest.raises(OwnershipError) as e:
        open_target(EDU, kernel=k)
    assert "held by 'edu'" in str(e.value) and "force=True (--force)" in str(e.value)
    with open_target(EDU, kernel=k, force=True) as m:
        m.writel(0x12345678, 4)
        assert m.readl(4) == 0xEDCBA987


@pytest.mark.parametrize("cmdline, target, why", [
    ("", "devmem:0x100000+0x4", "which CONFIG_STRICT_DEVMEM never lets /dev/mem map"),
    ("iomem=relaxed", "devmem:0x100000+0x4", "which CONFIG_STRICT_DEVMEM never lets"),
    ("", EDU, "unbind the driver, or boot with iomem=relaxed"),
])
def test_a_write_the_kernel_refuses_anyway_does_not_suggest_force(
        boot: Callable[..., Kernel], cmdline: str, target: str, why: str) -> None:
    # --force only gets past iomem's own ownership check; where strict devmem refuses the
    # range, the error is the kernel's refusal and what would lift it
    k = boot(cmdline, [("edu", "1234:11e8")])
    for force in (False, True):
        with pytest.raises(MapError) as e:
            open_target(target, kernel=k, force=force)
        assert not isinstance(e.value, OwnershipError)
        assert e.value.errno == errno.EPERM
        assert why in str(e.value) and "--force" not in str(e.value)


def test_open_needs_cap_sys_rawio(k: Kernel) -> None:
    task = M.Task(k, comm="user", pid=4242, uid=1000, caps=frozenset())
    with pytest.raises(OSError) as e:
        D.open_mem(k, os.O_RDWR, task)
    assert e.value.errno == errno.EPERM


def test_mmap_fails_as_mmap_mem_returns(k: Kernel) -> None:
    f = D.open_mem(k, os.O_RDWR | os.O_SYNC)
    assert M.do_mmap(f, 0x1000, offset=EDU_BAR0).memtype == "UC-"
    with pytest.raises(OSError) as e:
        M.do_mmap(f, 0x1000, offset=0x200000)
    assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        M.do_mmap(f, 0x1000, offset=1 << 40)  # beyond the 40 physical address bits
    assert e.value.errno == errno.EINVAL


def test_a_driver_claiming_the_range_revokes_existing_mappings(k: Kernel) -> None:
    """revoke_iomem: /dev/mem and PCI resource mappings share the iomem address space."""
    dm = open_target(EDU, kernel=k)
    sysfs = open_target("pci:1234:11e8", kernel=k)
    assert dm.readl(0) == sysfs.readl(0) == 0x010000ED
    bind(k, "edu", "1234:11e8")
    for m in (dm, sysfs):
        with pytest.raises(M.SigBus) as e:
            m.readl(0)
        assert "the kernel revoked it (a driver claimed [mem 0xfea00000-0xfeafffff])" \
            in str(e.value)
        m.close()


def test_relaxed_keeps_mappings_when_a_driver_claims_the_range(
        boot: Callable[..., Kernel]) -> None:
    k = boot("iomem=relaxed")
    with open_target(EDU, kernel=k, write=False) as m:
        bind(k, "edu", "1234:11e8")
        assert m.readl(0) == 0x010000ED


def test_a_vfio_mmap_claims_the_bar_and_revokes_devmem(boot: Callable[..., Kernel]) -> None:
    k = boot(NOIOMMU)
    dm = open_target(EDU, kernel=k, write=False)
    bind(k, "vfio-pci", "00:04.0")
    assert dm.readl(0) == 0x010000ED  # binding claims nothing yet
    with open_target("vfio:00:04.0", kernel=k) as v:
        assert "    fea00000-feafffff : vfio-pci" in k.proc_iomem()
        with pytest.raises(M.SigBus):
            dm.readl(0)
        assert v.readl(0) == 0x010000ED
    dm.close()
    assert "vfio-pci" not in k.proc_iomem()


def test_unbinding_the_driver_lets_devmem_map_again(k: Kernel) -> None:
    bind(k, "edu", "1234:11e8")
    assert allowed(k, EDU_BAR0) == 0
    k.devices.unbind(edu_pdev(k).name)
    with open_target(EDU, kernel=k) as m:
        assert m.readl(0) == 0x010000ED
