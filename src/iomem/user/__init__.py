"""Userspace MMIO: one accessor object over every kind of mapping.

:class:`Mmio` has the kernel's accessor names (``readl(off)``,
``writel(value, off)``, relaxed, ``be``, string, block and ``lo_hi`` forms)
and makes every access one aligned access of exactly its width. Backends hand
it a :class:`Window`: the real-machine ones live in :mod:`iomem.host` (PCI
sysfs, UIO, VFIO, /dev/mem), and :func:`open_target` opens any of them from
one string. :mod:`iomem.user.compat` has drop-in ``MMIO`` classes for scripts
written for python-periphery and PYNQ.
"""

from .errors import (
    DeviceNotFoundError,
    MapError,
    MmioAccessError,
    MmioClosedError,
    MmioError,
    MmioReadOnlyError,
    MmioValueError,
    OwnershipError,
)
from .mmio import ACCESSOR_NAMES, ACCESSORS, Mmio
from .target import open_target
from .window import Backend, Irq, Window

__all__ = ["ACCESSORS", "ACCESSOR_NAMES", "Backend", "DeviceNotFoundError", "Irq", "MapError",
           "Mmio", "MmioAccessError", "MmioClosedError", "MmioError", "MmioReadOnlyError",
           "MmioValueError", "OwnershipError", "Window", "open_target"]
