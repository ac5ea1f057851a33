"""Errors of userspace MMIO, each one sentence a person can act on.

They derive from the builtin exception a caller would expect (``ValueError``
for a bad offset or value, ``OSError`` for a mapping the kernel refused), so
``except ValueError`` code and the command line's one-line error reporting
work unchanged.
"""

from __future__ import annotations

import errno as _errno


class MmioError(Exception):
    """Base class of every userspace MMIO error."""


class MmioAccessError(MmioError, ValueError):
    """An access that would not be one aligned access inside the mapping."""


class MmioValueError(MmioError, ValueError):
    """A value that does not fit the access width."""


class MmioReadOnlyError(MmioAccessError):
    """A store to a mapping that was opened (or forced) read-only."""


class MmioClosedError(MmioError, ValueError):
    """An access through a mapping after ``close()``."""


class MapError(MmioError, OSError):
    """The mapping could not be made; ``str()`` says why and what to do.

    ``errno`` is the kernel's answer when there was one (``EPERM`` from a
    strict /dev/mem, ``EBUSY`` for a range a driver holds, ...).
    """

    def __init__(self, message: str, err: int | None = None) -> None:
        OSError.__init__(self, err if err is not None else _errno.EIO, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class OwnershipError(MapError):
    """A write mapping of a range that a kernel driver holds (``/proc/iomem``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, _errno.EBUSY)


class DeviceNotFoundError(MmioError, LookupError):
    """No device (PCI, UIO, VFIO, device-tree node) matches what was asked."""
