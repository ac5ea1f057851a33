"""One userspace edu driver (examples/edu_userspace.py), unchanged, through each of the
simulated pc's userspace paths: PCI sysfs, /dev/mem, UIO (uio_pci_generic, interrupts
through /dev/uio0) and VFIO (mmap and read()/write(), INTx through an eventfd). The
facts must be the example's EXPECTED, as on QEMU's edu in the VM lab
(tests/vm/test_userspace_edu.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import edu_userspace
from sim_rig import NOIOMMU

from iomem.kernel import Kernel
from iomem.kernel.uio import find_uio, uio_sysfs
from iomem.user import open_target

VALUE = 0x0123456789ABCDEF


def run(k: Kernel, target: str, irq: bool = False) -> dict[str, Any]:
    with open_target(target, kernel=k, irq=irq) as m:
        facts = edu_userspace.run_checks(m, m.irq)
    assert edu_userspace.mismatches(facts, irq=irq) == []
    return facts


def test_pci_sysfs(k: Kernel) -> None:
    got = run(k, "pci:1234:11e8")
    assert got["mapping"] == "0000:00:04.0 BAR0, [mem 0xfea00000-0xfeafffff], 0x100000 " \
                             "bytes, memtype UC-"


def test_devmem_without_iomem_relaxed_maps_an_unclaimed_bar(k: Kernel) -> None:
    assert "iomem=relaxed" not in k.cmdline and k.strict_devmem
    got = run(k, "devmem:0xfea00000+1M")
    assert got["mapping"].startswith("/dev/mem 0xfea00000, [mem 0xfea00000-0xfeafffff]")


def test_devmem_with_iomem_relaxed(boot: Callable[..., Kernel]) -> None:
    run(boot("iomem=relaxed"), "devmem:0xfea00000+1M")


def test_uio_with_interrupts(boot: Callable[..., Kernel]) -> None:
    k = boot(binds=[("uio_pci_generic", "1234:11e8")])
    idev = find_uio(k, "uio_pci_generic")
    assert idev is not None and idev.name == "uio0"
    got = run(k, "uio:uio_pci_generic", irq=True)
    assert got["mapping"].startswith("uio0 map0, [mem 0xfea00000-0xfeafffff], 0x100000 bytes")
    # /dev/uio0 returns the running total: one per raise, one for the factorial
    assert [got["irq_raise_0x40"]["count"], got["irq_raise_0x1"]["count"]] == [1, 2]
    assert uio_sysfs(idev)["event"] == "3\n"


def test_vfio_mmap_with_interrupts(boot: Callable[..., Kernel]) -> None:
    k = boot(NOIOMMU, [("vfio-pci", "00:04.0")])
    got = run(k, "vfio:0000:00:04.0", irq=True)
    assert "memtype UC-" in got["mapping"]
    assert [got["irq_raise_0x40"]["count"], got["irq_raise_0x1"]["count"]] == [1, 2]


def test_vfio_read_write_path_refuses_64bit_as_linux_6_1_splits_it(
        boot: Callable[..., Kernel]) -> None:
    k = boot(NOIOMMU, [("vfio-pci", "00:04.0")])
    with open_target("vfio-rw:0000:00:04.0", kernel=k, irq=True) as m:
        got = edu_userspace.run_checks(m, m.irq)
    assert "via read()/write()" in got["mapping"]
    wrong = {line.split(":")[0] for line in edu_userspace.mismatches(got, irq=True)}
    assert wrong == {"readq_id", "dma_src_writeq_readq", "dma_src_lo_hi_writeq_readq",
                     "dma_src_writeq_lo_hi_readq"}  # the same four as on the real 6.1 guest
    assert "makes an 8-byte access as two 4-byte ones before Linux 6.10" in got["readq_id"]


def test_a_64bit_access_is_one_access_on_every_mapping(boot: Callable[..., Kernel]) -> None:
    k = boot(NOIOMMU, [("uio_pci_generic", "1234:11e8")])
    for target in ("pci:1234:11e8", "devmem:0xfea00000+1M", "uio:uio0"):
        got = run(k, target)
        assert got["dma_src_writeq_readq"] == VALUE, target
        assert got["dma_src_lo_hi_writeq_readq"] == VALUE & 0xFFFFFFFF, target


def test_sim_target_strings_boot_their_board() -> None:
    """What the example's command line takes: the board, options, then the path."""
    for target, irq in (("sim:pc:pci:1234:11e8", False),
                        ("sim:pc,bind=uio_pci_generic@1234:11e8:uio:uio_pci_generic", True),
                        (f"sim:pc,{NOIOMMU},bind=vfio-pci@00:04.0:vfio:00:04.0", True)):
        assert edu_userspace.main([target, "--json"] + (["--irq"] if irq else [])) == 0
