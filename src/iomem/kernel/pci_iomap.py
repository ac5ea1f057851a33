"""Mapping PCI BARs (lib/pci_iomap.c, lib/iomap.c pci_iounmap) and their managed forms
(lib/devres.c pcim_iomap, pcim_iomap_table, pcim_iomap_regions).

``pci_iomap`` maps a memory BAR with ``ioremap`` (so ``/proc/vmallocinfo``
names ``pci_iomap_range`` as the caller, as on a real kernel) and an I/O BAR
with ``ioport_map``; either cookie works with ``ioread32``/``iowrite32``.
The managed table holds one cookie per standard BAR and is unmapped when
the driver unbinds, before ``pcim_enable_device``'s own release runs.
"""

from __future__ import annotations

from . import ioport as F
from .device import Device
from .errno import EINVAL, ENOMEM
from .io import IoMem
from .pci import (
    PCI_STD_NUM_BARS,
    pci_dev,
    pci_release_region,
    pci_request_region,
    pci_resource_flags,
    pci_resource_len,
    pci_resource_start,
    to_pci_dev,
)

PCIM_IOMAP_MAX = PCI_STD_NUM_BARS


def pci_iomap_range(dev: pci_dev, bar: int, offset: int, maxlen: int) -> IoMem | None:
    """Map ``maxlen`` bytes (0: the rest of the BAR) of BAR ``bar`` from ``offset``."""
    start = pci_resource_start(dev, bar)
    length = pci_resource_len(dev, bar)
    flags = pci_resource_flags(dev, bar)
    if length <= offset or not start:
        return None
    length -= offset
    start += offset
    if maxlen and length > maxlen:
        length = maxlen
    k = dev.kernel
    if flags & F.IORESOURCE_IO:
        return k.ioport_map(start, length)
    if flags & F.IORESOURCE_MEM:
        return k._ioremap("ioremap", start, length)
    return None


def pci_iomap_wc_range(dev: pci_dev, bar: int, offset: int, maxlen: int) -> IoMem | None:
    """Write-combining mapping of a memory BAR (NULL for an I/O BAR)."""
    start = pci_resource_start(dev, bar)
    length = pci_resource_len(dev, bar)
    flags = pci_resource_flags(dev, bar)
    if flags & F.IORESOURCE_IO:
        return None
    if length <= offset or not start:
        return None
    length -= offset
    start += offset
    if maxlen and length > maxlen:
        length = maxlen
    if flags & F.IORESOURCE_MEM:
        return dev.kernel._ioremap("ioremap_wc", start, length)
    return None


def pci_iomap(dev: pci_dev, bar: int, maxlen: int = 0) -> IoMem | None:
    """An ``__iomem`` cookie for BAR ``bar`` (memory or I/O), or None."""
    return pci_iomap_range(dev, bar, 0, maxlen)


def pci_iomap_wc(dev: pci_dev, bar: int, maxlen: int = 0) -> IoMem | None:
    return pci_iomap_wc_range(dev, bar, 0, maxlen)


def pci_iounmap(dev: pci_dev, addr: IoMem | None) -> None:
    """Undo pci_iomap: iounmap for memory, nothing for a port cookie."""
    if addr is None:
        return
    if isinstance(addr, IoMem) and addr.area.pio:
        dev.kernel.ioport_unmap(addr)
        return
    dev.kernel.iounmap(addr)


# -- managed (lib/devres.c) --------------------------------------------------------------

def _pcim_iomap_release(d: Device, table: list[IoMem | None]) -> None:
    pdev = to_pci_dev(d)
    for i in range(PCIM_IOMAP_MAX):
        if table[i] is not None:
            pci_iounmap(pdev, table[i])
    pdev.__dict__.pop("_pcim_iomap", None)


def pcim_iomap_table(pdev: pci_dev) -> list[IoMem | None]:
    """The device's table of managed BAR cookies (made on first use)."""
    table = pdev.__dict__.get("_pcim_iomap")
    if table is None:
        table = [None] * PCIM_IOMAP_MAX
        pdev.__dict__["_pcim_iomap"] = table
        pdev.kernel.devices.devres_add(pdev.dev, _pcim_iomap_release, table,
                                       "pcim_iomap_release")
    return table


def pcim_iomap(pdev: pci_dev, bar: int, maxlen: int = 0) -> IoMem | None:
    """Managed pci_iomap; None if the BAR is already mapped through the table."""
    tbl = pcim_iomap_table(pdev)
    if tbl[bar] is not None:
        return None  # duplicate mappings are not allowed
    tbl[bar] = pci_iomap(pdev, bar, maxlen)
    return tbl[bar]


def pcim_iounmap(pdev: pci_dev, addr: IoMem | None) -> None:
    tbl = pcim_iomap_table(pdev)
    pci_iounmap(pdev, addr)
    for i in range(PCIM_IOMAP_MAX):
        if tbl[i] is addr or (addr is not None and tbl[i] == addr):
            tbl[i] = None
            return
    pdev.kernel.WARN_ON("lib/devres.c", "pcim_iounmap")


def pcim_iomap_regions(pdev: pci_dev, mask: int, name: str | None) -> int:
    """Request and map the BARs in ``mask``; 0, -EINVAL (a BAR without length),
    -EBUSY (someone holds the region) or -ENOMEM (mapping failed)."""
    iomap = pcim_iomap_table(pdev)
    done: list[int] = []
    for i in range(PCIM_IOMAP_MAX):
        if not mask & (1 << i):
            continue
        rc = -EINVAL
        if not pci_resource_len(pdev, i):
            break
        rc = pci_request_region(pdev, i, name)
        if rc:
            break
        if pcim_iomap(pdev, i, 0) is None:
            rc = -ENOMEM
            pci_release_region(pdev, i)
            break
        done.append(i)
    else:
        return 0
    for j in reversed(done):
        pcim_iounmap(pdev, iomap[j])
        pci_release_region(pdev, j)
    return rc


def pcim_iomap_regions_request_all(pdev: pci_dev, mask: int, name: str | None) -> int:
    from .pci import pci_release_regions, pci_request_regions

    request_mask = ((1 << 6) - 1) & ~mask
    rc = pci_request_regions(pdev, name) if request_mask else 0
    if rc:
        return rc
    rc = pcim_iomap_regions(pdev, mask, name)
    if rc:
        pci_release_regions(pdev)
    return rc


def pcim_iounmap_regions(pdev: pci_dev, mask: int) -> None:
    iomap = pcim_iomap_table(pdev)
    for i in range(PCIM_IOMAP_MAX):
        if not mask & (1 << i):
            continue
        pcim_iounmap(pdev, iomap[i])
        pci_release_region(pdev, i)


__all__ = ["PCIM_IOMAP_MAX", "pci_iomap", "pci_iomap_range", "pci_iomap_wc",
           "pci_iomap_wc_range", "pci_iounmap", "pcim_iomap", "pcim_iomap_regions",
           "pcim_iomap_regions_request_all", "pcim_iomap_table", "pcim_iounmap",
           "pcim_iounmap_regions"]
