"""UIO on the simulated pc: uio_pci_generic bound through new_id, the sysfs text in the
kernel's formats, /dev/uio0's read/write/mmap rules, and the event counter fed by edu's
INTx (masked by the handler in the command register, unmasked by userspace there)."""

from __future__ import annotations

import errno
import os
import struct

import pytest
from sim_rig import edu_pdev

from iomem.kernel import Kernel
from iomem.kernel import pci_mmap as P
from iomem.kernel import remap as M
from iomem.kernel import uio as U
from iomem.kernel.pci import new_id_store
from iomem.user import open_target

INTX_DISABLE = 0x400


def bound(k: Kernel) -> U.uio_device:
    drv = U.uio_pci_generic_init(k)
    assert edu_pdev(k).driver is None  # no id table: nothing binds until new_id
    assert new_id_store(drv, "1234 11e8") == 0
    assert new_id_store(drv, "1234 11e8") == -errno.EEXIST
    assert edu_pdev(k).driver is drv
    idev = U.find_uio(k, "uio0")
    assert idev is not None
    return idev


def test_sysfs_files_in_the_kernels_formats(k: Kernel) -> None:
    idev = bound(k)
    assert U.uio_sysfs(idev) == {
        "name": "uio_pci_generic\n", "version": "0.01.0\n", "event": "0\n", "dev": "243:0\n",
        "maps/map0/name": "0000:00:04.0\n", "maps/map0/addr": "0x00000000fea00000\n",
        "maps/map0/size": "0x0000000000100000\n", "maps/map0/offset": "0x0\n"}


def test_read_write_rules(k: Kernel) -> None:
    bound(k)
    f = U.uio_open(k, 0, os.O_RDWR | os.O_NONBLOCK)
    for call, err in ((lambda: U.uio_read(f, 8), errno.EINVAL),
                      (lambda: U.uio_read(f, 4), errno.EAGAIN),
                      (lambda: U.uio_write(f, b"\1\0"), errno.EINVAL),
                      (lambda: U.uio_write(f, struct.pack("<i", 1)), errno.ENOSYS)):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.errno == err
    blocking = U.uio_open(k, 0, os.O_RDWR)
    with pytest.raises(TimeoutError):
        U.uio_read(blocking, 4, timeout_ns=1_000_000)


def test_mmap_rules(k: Kernel) -> None:
    bound(k)
    f = U.uio_open(k, 0, os.O_RDWR)
    vma = M.do_mmap(f, 1 << 20, offset=0)
    assert vma.memtype == "UC-" and vma.read(0, 4) == 0x010000ED
    for length, offset in (((1 << 20) + 0x1000, 0), (0x1000, 0x1000), (0x1000, 5 * 0x1000)):
        with pytest.raises(OSError) as e:
            M.do_mmap(f, length, offset=offset)  # too long, map1 absent, past MAX_UIO_MAPS
        assert e.value.errno == errno.EINVAL


def test_the_event_counter_counts_edus_interrupts(k: Kernel) -> None:
    idev = bound(k)
    pdev = edu_pdev(k)
    f = U.uio_open(k, 0, os.O_RDWR)
    vma = M.do_mmap(f, 1 << 20, offset=0)
    vma.write(0x60, 4, 0x40)                      # raise
    assert U.uio_poll(f)
    assert struct.unpack("<i", U.uio_read(f, 4))[0] == 1
    assert pdev._rd(4, 2) & INTX_DISABLE          # the handler masked INTx
    vma.write(0x64, 4, 0x40)                      # ack
    cmd = P.pci_read_config_file(pdev, 5, 1)[0]   # unmask as userspace does: config byte 5
    P.pci_write_config_file(pdev, 5, bytes([cmd & ~0x4]))
    assert not pdev._rd(4, 2) & INTX_DISABLE
    vma.write(0x60, 4, 0x1)
    assert struct.unpack("<i", U.uio_read(f, 4))[0] == 2
    assert U.uio_sysfs(idev)["event"] == "2\n"


def test_a_masked_interrupt_is_not_counted(k: Kernel) -> None:
    """The handler masks INTx; until userspace unmasks it (bit 2 of config byte 5, as it
    must for uio_pci_generic, which has no irqcontrol) nothing more is counted. The
    interrupt raised meanwhile is acknowledged in the device before unmasking, the
    order the UIO howto gives."""
    bound(k)
    pdev = edu_pdev(k)
    with open_target("uio:uio0", kernel=k, irq=True) as m:
        m.writel(0x40, 0x60)
        assert m.irq.wait(1.0) == 1
        m.writel(0x40, 0x64)
        m.writel(0x2, 0x60)       # INTx still masked: the line never reaches the irq
        with pytest.raises(TimeoutError):
            m.irq.wait(0.001)
        assert m.readl(0x24) == 0x2
        m.writel(0x2, 0x64)
        m.irq.enable()            # ENOSYS from write(1), then config byte 5
        assert not pdev._rd(4, 2) & INTX_DISABLE
        m.writel(0x1, 0x60)
        assert m.irq.wait(0.001) == 2


def test_unbinding_unregisters_uio0(k: Kernel) -> None:
    bound(k)
    k.devices.unbind(edu_pdev(k).name)
    assert U.uio_devices(k) == {}
