"""VFIO for PCI at the level userspace sees it (include/uapi/linux/vfio.h,
drivers/vfio/vfio_main.c, drivers/vfio/pci/vfio_pci.c, vfio_pci_core.c,
vfio_pci_intrs.c, vfio_pci_rdwr.c).

A container (``/dev/vfio/vfio``), a group and a device; each ioctl is a
method named after it, with the kernel's argument and result fields
(:class:`vfio_region_info`, :class:`vfio_irq_info`, ...) and -errno returns.
vfio-pci regions: BAR0-5 are 0-5, ROM 6, config 7, VGA 8, region N at file
offset ``N << 40``; a memory BAR of at least a page is mmappable (the mmap
claims the BAR as "vfio-pci", BUSY, which revokes /dev/mem mappings of it
under strict devmem), everything is also read()/write()able 1, 2 or 4 bytes
at a time (Linux 6.1 splits an 8-byte access in two). INTx goes to an
eventfd: the handler masks it with the command register's INTx-disable bit
(automasked) and ``VFIO_IRQ_SET_ACTION_UNMASK`` unmasks it.

Groups come from the IOMMU; the simulated boards model none, so groups exist
in VFIO's no-IOMMU mode (CONFIG_VFIO_NOIOMMU, boot with
``vfio.enable_unsafe_noiommu_mode=1``): ``/dev/vfio/noiommu-N``, the
``VFIO_NOIOMMU_IOMMU`` container type, CAP_SYS_RAWIO for the group and the
device, and the kernel tainted. Without it vfio-pci's probe fails with
-EINVAL, as on a machine without an IOMMU.
"""

from __future__ import annotations

import errno as _errno
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import ioport as F
from .io import ioread8, ioread16, ioread32, iowrite8, iowrite16, iowrite32
from .irq import IRQ_HANDLED, IRQ_NONE, IRQF_SHARED, irq_core
from .pci import (
    PCI_ROM_RESOURCE,
    PCI_STD_NUM_BARS,
    pci_check_and_mask_intx,
    pci_check_and_unmask_intx,
    pci_dev,
    pci_device_id,
    pci_disable_device,
    pci_driver,
    pci_enable_device,
    pci_intx_mask_supported,
    pci_register_driver,
    pci_release_selected_regions,
    pci_request_selected_regions,
    pci_resource_flags,
    pci_resource_len,
    pci_resource_start,
)
from .pci_iomap import pci_iomap, pci_iounmap
from .remap import (
    File,
    Task,
    current_task,
    pgprot_noncached,
    remap_pfn_range,
    syscall_error,
    vm_area_struct,
)

if TYPE_CHECKING:
    from .kernel import Kernel

VFIO_API_VERSION = 0
VFIO_TYPE1_IOMMU = 1
VFIO_SPAPR_TCE_IOMMU = 2
VFIO_TYPE1v2_IOMMU = 3
VFIO_NOIOMMU_IOMMU = 8

VFIO_GROUP_FLAGS_VIABLE = 1 << 0
VFIO_GROUP_FLAGS_CONTAINER_SET = 1 << 1
VFIO_DEVICE_FLAGS_RESET = 1 << 0
VFIO_DEVICE_FLAGS_PCI = 1 << 1
VFIO_REGION_INFO_FLAG_READ = 1 << 0
VFIO_REGION_INFO_FLAG_WRITE = 1 << 1
VFIO_REGION_INFO_FLAG_MMAP = 1 << 2
VFIO_IRQ_INFO_EVENTFD = 1 << 0
VFIO_IRQ_INFO_MASKABLE = 1 << 1
VFIO_IRQ_INFO_AUTOMASKED = 1 << 2
VFIO_IRQ_INFO_NORESIZE = 1 << 3
VFIO_IRQ_SET_DATA_NONE = 1 << 0
VFIO_IRQ_SET_DATA_BOOL = 1 << 1
VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2
VFIO_IRQ_SET_ACTION_MASK = 1 << 3
VFIO_IRQ_SET_ACTION_UNMASK = 1 << 4
VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5

VFIO_PCI_BAR0_REGION_INDEX = 0
VFIO_PCI_ROM_REGION_INDEX = 6
VFIO_PCI_CONFIG_REGION_INDEX = 7
VFIO_PCI_VGA_REGION_INDEX = 8
VFIO_PCI_NUM_REGIONS = 9
VFIO_PCI_INTX_IRQ_INDEX = 0
VFIO_PCI_MSI_IRQ_INDEX = 1
VFIO_PCI_MSIX_IRQ_INDEX = 2
VFIO_PCI_ERR_IRQ_INDEX = 3
VFIO_PCI_REQ_IRQ_INDEX = 4
VFIO_PCI_NUM_IRQS = 5
VFIO_PCI_OFFSET_SHIFT = 40
VFIO_PCI_OFFSET_MASK = (1 << VFIO_PCI_OFFSET_SHIFT) - 1


def VFIO_PCI_INDEX_TO_OFFSET(index: int) -> int:  # noqa: N802
    return index << VFIO_PCI_OFFSET_SHIFT


def VFIO_PCI_OFFSET_TO_INDEX(off: int) -> int:  # noqa: N802
    return off >> VFIO_PCI_OFFSET_SHIFT


@dataclass
class vfio_region_info:  # noqa: N801
    argsz: int = 32
    flags: int = 0
    index: int = 0
    cap_offset: int = 0
    size: int = 0
    offset: int = 0


@dataclass
class vfio_irq_info:  # noqa: N801
    argsz: int = 16
    flags: int = 0
    index: int = 0
    count: int = 0


@dataclass
class vfio_device_info:  # noqa: N801
    argsz: int = 20
    flags: int = 0
    num_regions: int = 0
    num_irqs: int = 0
    cap_offset: int = 0


@dataclass(eq=False)
class eventfd_ctx:  # noqa: N801
    """An eventfd's counter: signalled by the kernel, read (and zeroed) by userspace."""

    count: int = 0

    def read(self) -> int:
        """``read(efd)``: the count, then zero; -EAGAIN if it is zero (non-blocking)."""
        n, self.count = self.count, 0
        return n if n else -_errno.EAGAIN


def eventfd_signal(ctx: eventfd_ctx, n: int = 1) -> None:
    ctx.count += n


# -- the core state -------------------------------------------------------------------------

@dataclass(eq=False)
class vfio_group:  # noqa: N801
    k: Kernel
    id: int
    noiommu: bool
    devices: list[vfio_pci_core_device] = field(default_factory=list)
    opened: bool = False
    container: vfio_container | None = None

    @property
    def name(self) -> str:
        return f"{'noiommu-' if self.noiommu else ''}{self.id}"


@dataclass(eq=False)
class vfio_container:  # noqa: N801
    k: Kernel
    groups: list[vfio_group] = field(default_factory=list)
    iommu_type: int = 0


@dataclass(eq=False)
class vfio_pci_core_device:  # noqa: N801
    pdev: pci_dev
    group: vfio_group | None = None
    open_count: int = 0
    pci_2_3: bool = False
    reset_works: bool = False
    bar_mmap_supported: list[bool] = field(default_factory=lambda: [False] * 6)
    barmap: list[Any] = field(default_factory=lambda: [None] * 6)
    intx_trigger: eventfd_ctx | None = None
    intx_masked: bool = False
    irq_requested: bool = False


class VfioCore:
    """What vfio.ko and vfio-pci.ko keep for one kernel."""

    def __init__(self, k: Kernel) -> None:
        self.k = k
        words = k.cmdline.split()
        self.noiommu = any(w in ("vfio.enable_unsafe_noiommu_mode=1",
                                 "vfio.enable_unsafe_noiommu_mode=Y") for w in words)
        self.groups: dict[str, vfio_group] = {}
        self.devices: dict[str, vfio_pci_core_device] = {}
        self._next_group = 0


def vfio_core(k: Kernel) -> VfioCore:
    core = k.__dict__.get("_vfio")
    if core is None:
        core = k.__dict__["_vfio"] = VfioCore(k)
    return core


# -- vfio-pci, the driver --------------------------------------------------------------------

def _vfio_pci_probe(pdev: pci_dev, id: pci_device_id) -> int:
    from .device import dev_warn

    k = pdev.kernel
    core = vfio_core(k)
    if pdev.hdr_type & 0x7F != 0:
        return -_errno.EINVAL
    if not core.noiommu:
        return -_errno.EINVAL  # vfio_group_find_or_alloc: no iommu_group
    group = vfio_group(k, core._next_group, True)
    core._next_group += 1
    dev_warn(pdev.dev, "Adding kernel taint for vfio-noiommu group on device")
    k.add_taint("U")
    vdev = vfio_pci_core_device(pdev, group)
    group.devices.append(vdev)
    core.groups[group.name] = group
    core.devices[pdev.name] = vdev
    return 0


def _vfio_pci_remove(pdev: pci_dev) -> None:
    core = vfio_core(pdev.kernel)
    vdev = core.devices.pop(pdev.name, None)
    if vdev is not None and vdev.group is not None:
        core.groups.pop(vdev.group.name, None)


def vfio_pci_init(k: Kernel) -> pci_driver:
    """``modprobe vfio-pci`` on ``k`` (once): the driver, which binds via driver_override."""
    drv = k.devices.find_driver("vfio-pci")
    if isinstance(drv, pci_driver):
        return drv
    drv = pci_driver("vfio-pci", [], _vfio_pci_probe, _vfio_pci_remove)
    with k:
        pci_register_driver(drv)
    return drv


def vfio_pci_bind(pdev: pci_dev) -> int:
    """``echo vfio-pci > driver_override; echo BDF > drivers_probe``: 0 or -errno."""
    k = pdev.kernel
    vfio_pci_init(k)
    if pdev.driver is not None:
        return -_errno.EBUSY
    pdev.driver_override = "vfio-pci"
    with k:
        return k.devices.bind("vfio-pci", pdev.name)


def vfio_group_for(k: Kernel, pdev: pci_dev) -> vfio_group | None:
    vdev = vfio_core(k).devices.get(pdev.name)
    return vdev.group if vdev is not None else None


# -- files: container, group, device ------------------------------------------------------

def open_container(k: Kernel, task: Task | None = None) -> File:
    """``open("/dev/vfio/vfio")``."""
    return File("/dev/vfio/vfio", 2, task or current_task(k), private_data=vfio_container(k))


def open_group(k: Kernel, name: str, task: Task | None = None) -> File:
    """``open("/dev/vfio/NAME")``: ENOENT for no such group, EPERM for a no-IOMMU group
    without CAP_SYS_RAWIO, EBUSY while another file has it open."""
    task = task or current_task(k)
    path = f"/dev/vfio/{name}"
    group = vfio_core(k).groups.get(name)
    if group is None:
        raise syscall_error(_errno.ENOENT, path)
    if group.noiommu and not task.capable("CAP_SYS_RAWIO"):
        raise syscall_error(_errno.EPERM, path)
    if group.opened:
        raise syscall_error(_errno.EBUSY, path)
    group.opened = True

    def release(f: File) -> None:
        group.opened = False
        if group.container is not None:
            vfio_group_unset_container(group)
    return File(path, 2, task, release=release, private_data=group)


def vfio_check_extension(container: vfio_container, ext: int) -> int:
    """VFIO_CHECK_EXTENSION: 1 for the no-IOMMU type when that mode is on, else 0."""
    return int(ext == VFIO_NOIOMMU_IOMMU and vfio_core(container.k).noiommu)


def vfio_group_get_status(group: vfio_group) -> int:
    """VFIO_GROUP_GET_STATUS flags: VIABLE when every device is bound to vfio-pci."""
    viable = all(d.pdev.driver is not None and d.pdev.driver.name == "vfio-pci"
                 for d in group.devices)
    return (VFIO_GROUP_FLAGS_VIABLE if viable else 0) | \
        (VFIO_GROUP_FLAGS_CONTAINER_SET if group.container is not None else 0)


def vfio_group_set_container(group: vfio_group, container: vfio_container) -> int:
    if group.container is not None:
        return -_errno.EINVAL
    if group.noiommu and container.groups:
        return -_errno.EPERM  # a no-IOMMU group gets a container of its own
    group.container = container
    container.groups.append(group)
    return 0


def vfio_group_unset_container(group: vfio_group) -> int:
    c = group.container
    if c is None:
        return -_errno.EINVAL
    c.groups.remove(group)
    if not c.groups:
        c.iommu_type = 0
    group.container = None
    return 0


def vfio_set_iommu(container: vfio_container, iommu_type: int) -> int:
    """VFIO_SET_IOMMU: the container needs a group first; only the no-IOMMU type exists."""
    if not container.groups or container.iommu_type:
        return -_errno.EINVAL
    if not vfio_check_extension(container, iommu_type):
        return -_errno.ENODEV
    container.iommu_type = iommu_type
    return 0


def vfio_group_get_device_fd(group: vfio_group, name: str, task: Task | None = None) -> File:
    """VFIO_GROUP_GET_DEVICE_FD: opens the device (vfio_pci_core_enable); raises OSError."""
    from .device import dev_warn

    k = group.k
    task = task or current_task(k)
    if group.container is None or not group.container.iommu_type:
        raise syscall_error(_errno.EINVAL, "VFIO_GROUP_GET_DEVICE_FD")
    vdev = next((d for d in group.devices if d.pdev.name == name), None)
    if vdev is None:
        raise syscall_error(_errno.ENODEV, "VFIO_GROUP_GET_DEVICE_FD")
    if group.noiommu and not task.capable("CAP_SYS_RAWIO"):
        raise syscall_error(_errno.EPERM, "VFIO_GROUP_GET_DEVICE_FD")
    if vdev.open_count == 0:
        ret = _core_enable(vdev)
        if ret:
            raise syscall_error(ret, "VFIO_GROUP_GET_DEVICE_FD")
    vdev.open_count += 1
    if group.noiommu:
        dev_warn(vdev.pdev.dev, f"vfio-noiommu device opened by user ({task.comm}:{task.pid})")

    def release(f: File) -> None:
        vdev.open_count -= 1
        if vdev.open_count == 0:
            _core_disable(vdev)
    return File("anon_inode:[vfio-device]", 2, task, None,
                mmap=lambda f, v: vfio_pci_core_mmap(vdev, v), release=release,
                private_data=vdev)


def _core_enable(vdev: vfio_pci_core_device) -> int:
    pdev = vdev.pdev
    k = pdev.kernel
    with k:
        ret = pci_enable_device(pdev)
    if ret:
        return ret
    vdev.reset_works = False  # no FLR, PM or bus reset modelled for the function
    vdev.pci_2_3 = pci_intx_mask_supported(pdev)
    cmd = pdev._rd(0x04, 2)
    if vdev.pci_2_3 and cmd & 0x400:
        pdev._wr(0x04, 2, cmd & ~0x400)
    psize = k.arch.page_size
    for i in range(PCI_STD_NUM_BARS):
        flags, size = pci_resource_flags(pdev, i), pci_resource_len(pdev, i)
        start = pci_resource_start(pdev, i)
        vdev.bar_mmap_supported[i] = bool(flags & F.IORESOURCE_MEM and size and
                                          (size >= psize or not start & (psize - 1)))
    return 0


def _core_disable(vdev: vfio_pci_core_device) -> None:
    pdev = vdev.pdev
    _intx_disable(vdev)
    for i, cookie in enumerate(vdev.barmap):
        if cookie is not None:
            with pdev.kernel:
                pci_iounmap(pdev, cookie)
                pci_release_selected_regions(pdev, 1 << i)
            vdev.barmap[i] = None
    with pdev.kernel:
        pci_disable_device(pdev)


# -- device ioctls ------------------------------------------------------------------------------

def vfio_device_get_info(vdev: vfio_pci_core_device) -> vfio_device_info:
    flags = VFIO_DEVICE_FLAGS_PCI | (VFIO_DEVICE_FLAGS_RESET if vdev.reset_works else 0)
    return vfio_device_info(flags=flags, num_regions=VFIO_PCI_NUM_REGIONS,
                            num_irqs=VFIO_PCI_NUM_IRQS)


def vfio_device_get_region_info(vdev: vfio_pci_core_device, index: int
                                ) -> vfio_region_info | int:
    """VFIO_DEVICE_GET_REGION_INFO, or -EINVAL (VGA on a non-VGA function, no such index)."""
    pdev = vdev.pdev
    info = vfio_region_info(index=index, offset=VFIO_PCI_INDEX_TO_OFFSET(index))
    if 0 <= index < PCI_STD_NUM_BARS:
        info.size = pci_resource_len(pdev, index)
        if info.size:
            info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE
            if vdev.bar_mmap_supported[index]:
                info.flags |= VFIO_REGION_INFO_FLAG_MMAP
    elif index == VFIO_PCI_ROM_REGION_INDEX:
        info.size = pci_resource_len(pdev, PCI_ROM_RESOURCE)
        if info.size:
            info.flags = VFIO_REGION_INFO_FLAG_READ
    elif index == VFIO_PCI_CONFIG_REGION_INDEX:
        info.size = pdev.cfg_size
        info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE
    else:
        return -_errno.EINVAL
    return info


def vfio_device_get_irq_info(vdev: vfio_pci_core_device, index: int) -> vfio_irq_info | int:
    pdev = vdev.pdev
    if index == VFIO_PCI_INTX_IRQ_INDEX:
        count = 1 if pdev._rd(0x3D, 1) else 0
        return vfio_irq_info(flags=VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
                             VFIO_IRQ_INFO_AUTOMASKED, index=index, count=count)
    if index in (VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX):
        count = 1
        if index == VFIO_PCI_MSI_IRQ_INDEX:
            count = 1 << ((pdev._rd(pdev.msi_cap + 2, 2) & 0xE) >> 1) if pdev.msi_cap else 0
        elif index == VFIO_PCI_MSIX_IRQ_INDEX:
            count = (pdev._rd(pdev.msix_cap + 2, 2) & 0x7FF) + 1 if pdev.msix_cap else 0
        return vfio_irq_info(flags=VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE,
                             index=index, count=count)
    return -_errno.EINVAL  # ERR: only on PCI Express functions


def _intx_handler(irq: int, vdev: vfio_pci_core_device) -> int:
    if not vdev.pci_2_3 or not pci_check_and_mask_intx(vdev.pdev):
        return IRQ_NONE
    vdev.intx_masked = True
    if vdev.intx_trigger is not None:
        eventfd_signal(vdev.intx_trigger)
    return IRQ_HANDLED


def _intx_disable(vdev: vfio_pci_core_device) -> None:
    if vdev.irq_requested:
        irq_core(vdev.pdev.kernel).free_irq(vdev.pdev.irq, vdev)
        vdev.irq_requested = False
    vdev.intx_trigger = None
    vdev.intx_masked = False


def vfio_device_set_irqs(vdev: vfio_pci_core_device, index: int, flags: int, start: int,
                         count: int, data: list[eventfd_ctx] | None = None) -> int:
    """VFIO_DEVICE_SET_IRQS for INTx: trigger with an eventfd, unmask, mask, or disable."""
    if index != VFIO_PCI_INTX_IRQ_INDEX:
        return -_errno.ENOTTY if index >= VFIO_PCI_NUM_IRQS else -_errno.EINVAL
    pdev = vdev.pdev
    if start != 0 or count > 1:
        return -_errno.EINVAL
    if flags & VFIO_IRQ_SET_ACTION_TRIGGER:
        if flags & VFIO_IRQ_SET_DATA_NONE and count == 0:
            _intx_disable(vdev)
            return 0
        if not flags & VFIO_IRQ_SET_DATA_EVENTFD or not data:
            return -_errno.EINVAL
        if not vdev.irq_requested:
            if not pdev.irq:
                return -_errno.ENODEV
            ret = irq_core(pdev.kernel).request_threaded_irq(
                pdev.irq, _intx_handler, None, IRQF_SHARED if vdev.pci_2_3 else 0,
                f"vfio-intx({pdev.name})", vdev)
            if ret:
                return ret
            vdev.irq_requested = True
        vdev.intx_trigger = data[0]
        return 0
    if flags & VFIO_IRQ_SET_ACTION_UNMASK:
        if vdev.intx_masked:
            if not pci_check_and_unmask_intx(pdev):
                if vdev.intx_trigger is not None:  # pending: re-send instead
                    eventfd_signal(vdev.intx_trigger)
            else:
                vdev.intx_masked = False
        return 0
    if flags & VFIO_IRQ_SET_ACTION_MASK:
        if not vdev.intx_masked:
            cmd = pdev._rd(0x04, 2)
            pdev._wr(0x04, 2, cmd | 0x400)
            vdev.intx_masked = True
        return 0
    return -_errno.EINVAL


def vfio_device_reset(vdev: vfio_pci_core_device) -> int:
    return 0 if vdev.reset_works else -_errno.EINVAL


# -- read/write and mmap ---------------------------------------------------------------

def _setup_barmap(vdev: vfio_pci_core_device, index: int) -> int:
    if vdev.barmap[index] is not None:
        return 0
    pdev = vdev.pdev
    with pdev.kernel:
        ret = pci_request_selected_regions(pdev, 1 << index, "vfio-pci")
        if ret:
            return ret
        cookie = pci_iomap(pdev, index, 0)
    if cookie is None:
        with pdev.kernel:
            pci_release_selected_regions(pdev, 1 << index)
        return -_errno.ENOMEM
    vdev.barmap[index] = cookie
    return 0


def vfio_pci_rw(vdev: vfio_pci_core_device, pos: int, count: int, write: bool,
                data: bytes = b"") -> bytes | int:
    """pread/pwrite at ``pos`` of the device file: the bytes read (or b"" for a write), or
    -errno. BARs go through ioread/iowrite of 4, 2 or 1 bytes, as aligned as they can be."""
    index = VFIO_PCI_OFFSET_TO_INDEX(pos)
    off = pos & VFIO_PCI_OFFSET_MASK
    pdev = vdev.pdev
    if index == VFIO_PCI_CONFIG_REGION_INDEX:
        if off + count > pdev.cfg_size:
            return -_errno.EINVAL
        from .pci_mmap import _pieces

        out = bytearray()
        for where, n in _pieces(off, count):
            if write:
                pdev._wr(where, n, int.from_bytes(data[where - off:where - off + n], "little"))
            else:
                out += pdev._rd(where, n).to_bytes(n, "little")
        return bytes(out)
    if not 0 <= index < PCI_STD_NUM_BARS or not pci_resource_len(pdev, index):
        return -_errno.EINVAL
    if off + count > pci_resource_len(pdev, index):
        return -_errno.EINVAL
    ret = _setup_barmap(vdev, index)
    if ret:
        return ret
    io = vdev.barmap[index]
    out = bytearray()
    done = 0
    ops = {4: (ioread32, iowrite32), 2: (ioread16, iowrite16), 1: (ioread8, iowrite8)}
    with pdev.kernel:
        while done < count:
            at = off + done
            left = count - done
            n = 4 if left >= 4 and not at % 4 else 2 if left >= 2 and not at % 2 else 1
            rd, wr = ops[n]
            if write:
                wr(int.from_bytes(data[done:done + n], "little"), io + at)
            else:
                out += rd(io + at).to_bytes(n, "little")
            done += n
    return bytes(out)


def vfio_pci_core_mmap(vdev: vfio_pci_core_device, vma: vm_area_struct) -> int:
    """``vfio_pci_core_mmap``: BARs only, shared, inside the BAR's pages; claims the BAR.
    (6.1 fills the entries on the first fault; here at once.)"""
    pdev = vdev.pdev
    k = pdev.kernel
    shift = k.arch.page_shift
    index = vma.vm_pgoff >> (VFIO_PCI_OFFSET_SHIFT - shift)
    if index >= VFIO_PCI_NUM_REGIONS:
        return -_errno.EINVAL
    if not vma.vm_flags & 0x8:  # VM_SHARED
        return -_errno.EINVAL
    if index >= VFIO_PCI_ROM_REGION_INDEX or not vdev.bar_mmap_supported[index]:
        return -_errno.EINVAL
    psize = k.arch.page_size
    phys_len = (pci_resource_len(pdev, index) + psize - 1) & ~(psize - 1)
    pgoff = vma.vm_pgoff & ((1 << (VFIO_PCI_OFFSET_SHIFT - shift)) - 1)
    if (pgoff << shift) + vma.size > phys_len:
        return -_errno.EINVAL
    ret = _setup_barmap(vdev, index)
    if ret:
        return ret
    vma.vm_private_data = vdev
    vma.vm_page_prot = pgprot_noncached(vma.vm_page_prot)
    vma.vm_pgoff = (pci_resource_start(pdev, index) >> shift) + pgoff
    return remap_pfn_range(vma, vma.vm_start, vma.vm_pgoff, vma.size, vma.vm_page_prot)


__all__ = [n for n in list(globals()) if n.startswith(("VFIO_", "vfio_", "eventfd_"))] + [
    "VfioCore", "open_container", "open_group"]
