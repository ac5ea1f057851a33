"""Physical memory through ``/dev/mem`` (drivers/char/mem.c).

``open`` needs CAP_SYS_RAWIO (and no kernel lockdown); ``mmap`` maps whole
pages from the page-aligned file offset that is the physical address.
``O_SYNC`` asks for an uncached mapping (on x86 ``/dev/mem`` maps device
ranges uncached anyway, other architectures use it to choose). With
CONFIG_STRICT_DEVMEM, ``range_is_allowed`` refuses System RAM; with
CONFIG_IO_STRICT_DEVMEM too it refuses ranges a driver requested unless the
kernel was booted with ``iomem=relaxed``: EPERM either way, explained here by
:mod:`.diagnose`. Before mapping for writing, /proc/iomem is checked and a
range a driver holds (or RAM) is refused unless forced.
"""

from __future__ import annotations

import errno
import mmap
import os
from pathlib import Path

from ..user.errors import MapError, OwnershipError
from ..user.mmio import Mmio
from ..user.window import Window
from . import diagnose
from .procfs import IomemUnavailable, read_iomem, write_refusal

_PAGE = mmap.PAGESIZE


class DevMemBackend:
    """``[phys, phys + size)`` of physical memory as a :class:`Backend`."""

    def __init__(self, phys: int, size: int, *, path: str = "/dev/mem",
                 root: str | Path = "/", check_ownership: bool | None = None) -> None:
        if not isinstance(phys, int) or phys < 0:
            raise ValueError(f"physical address must be a non-negative integer, not {phys!r}")
        if not isinstance(size, int) or size <= 0:
            raise ValueError(f"size must be a positive integer, not {size!r}")
        self.phys = phys
        self.size = size
        self.root = Path(root)
        self.path = path
        self.dev_path = self.root / path.lstrip("/")
        #: /proc/iomem speaks of physical addresses: only /dev/mem offsets are those
        #: (/dev/gpiomem and friends are windows of their own).
        self.physical = path == "/dev/mem" if check_ownership is None else check_ownership

    def describe(self) -> str:
        return f"{self.path} [mem {self.phys:#010x}-{self.phys + self.size - 1:#010x}]"

    def open(self) -> None:
        pass  # nothing to find: the file is opened when mapping, with the right mode

    def close(self) -> None:
        pass

    def check_ownership(self, start: int, end: int) -> tuple[str | None, str | None]:
        """(why writing is refused or None, the owner's name or None) from /proc/iomem."""
        if not self.physical:
            return None, None
        try:
            iomem = read_iomem(self.root / "proc/iomem")
        except (OSError, IomemUnavailable, ValueError):
            return None, None
        owners = iomem.owners(start, end)
        return write_refusal(iomem, start, end), (owners[-1].name if owners else None)

    def map(self, offset: int = 0, size: int | None = None, *, write: bool = True,
            force: bool = False) -> Window:
        size = self.size - offset if size is None else size
        if offset < 0 or size <= 0 or offset + size > self.size:
            raise MapError(f"{size:#x} bytes at {offset:#x} do not fit {self.describe()}",
                           errno.EINVAL)
        start = self.phys + offset
        end = start + size - 1
        refusal, owner = self.check_ownership(start, end)
        if write and refusal and not force:
            raise OwnershipError(f"refusing to map {self.path} for writing: {refusal}; map it "
                                 f"read-only (write=False), or pass force=True (--force)")
        page_off = start % _PAGE
        base = start - page_off
        length = (page_off + size + _PAGE - 1) // _PAGE * _PAGE
        flags = (os.O_RDWR if write else os.O_RDONLY) | os.O_SYNC
        try:
            fd = os.open(self.dev_path, flags)
        except OSError as e:
            if not self.physical:
                raise MapError(diagnose.explain_open(e, self.dev_path), e.errno) from None
            raise MapError(diagnose.explain_devmem(e, start, end, stage="open", root=self.root,
                                                   path=self.path), e.errno) from None
        try:
            mm = mmap.mmap(fd, length, mmap.MAP_SHARED,
                           mmap.PROT_READ | (mmap.PROT_WRITE if write else 0), offset=base)
        except OSError as e:
            if not self.physical:
                raise MapError(f"cannot map {length:#x} bytes of {self.path} at {base:#x}: "
                               f"{e.strerror}", e.errno) from None
            raise MapError(diagnose.explain_devmem(e, start, end, root=self.root,
                                                   path=self.path), e.errno) from None
        except OverflowError:
            raise MapError(f"physical address {start:#x} does not fit this platform's file "
                           f"offsets", errno.EINVAL) from None
        finally:
            os.close(fd)
        info = {"backend": "devmem", "path": self.path}
        if self.physical:
            info["memtype"] = "UC (O_SYNC)"
        if owner:
            info["owner"] = owner
        return Window(size=size, name=f"{self.path} {start:#x}", buffer=mm, delta=page_off,
                      phys=start, writable=write,
                      readonly_reason="opened with write=False", info=info)


def map_devmem(phys: int, size: int, *, write: bool = True, force: bool = False,
               path: str = "/dev/mem", root: str | Path = "/") -> Mmio:
    """Map physical ``[phys, phys + size)``: ``map_devmem(0xfea00000, 0x1000).readl(0)``."""
    return Mmio(DevMemBackend(phys, size, path=path, root=root).map(write=write, force=force))
