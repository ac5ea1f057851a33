"""UIO devices (drivers/uio/uio.c, Documentation/driver-api/uio-howto.rst).

``/sys/class/uio/uioX/`` has ``name``, ``version``, ``event`` (the interrupt
count) and ``maps/mapN/{name,addr,size,offset}`` (at most five maps; ``addr``
and ``size`` printed with ``%pa``, ``offset`` the map's start within its first
page). Map N is mmapped from ``/dev/uioX`` at file offset ``N * PAGE_SIZE``,
at most the map's pages long (longer: EINVAL). Reading 4 bytes from
``/dev/uioX`` blocks until the next interrupt and returns the s32 total;
writing a s32 1 (0) enables (disables) it, where the driver has
``irqcontrol`` (ENOSYS otherwise). ``uio_pci_generic`` has none: its
handler masks INTx in the PCI command register, and the user unmasks it
there (clearing bit 10) to get the next interrupt.
"""

from __future__ import annotations

import errno
import mmap
import os
import select
import struct
from dataclasses import dataclass
from pathlib import Path

from ..user.errors import DeviceNotFoundError, MapError
from ..user.mmio import Mmio
from ..user.window import Window
from . import diagnose
from .pci import PciBarBackend, PciDevice

_PAGE = mmap.PAGESIZE
MAX_UIO_MAPS = 5


def _rel(root: str | Path, rel: str) -> Path:
    return Path(root) / rel.lstrip("/")


@dataclass(frozen=True)
class UioMap:
    index: int
    name: str
    addr: int
    size: int
    offset: int


class UioDevice:
    """One ``/sys/class/uio/uioX``."""

    def __init__(self, path: str | Path, *, root: str | Path = "/") -> None:
        self.path = Path(path)
        self.root = Path(root)
        self.id = self.path.name  # "uio0"

    def _text(self, name: str) -> str:
        return (self.path / name).read_text().strip()

    @property
    def name(self) -> str:
        return self._text("name")

    @property
    def version(self) -> str:
        return self._text("version")

    @property
    def event(self) -> int:
        return int(self._text("event"))

    @property
    def dev_node(self) -> Path:
        return _rel(self.root, f"dev/{self.id}")

    def maps(self) -> list[UioMap]:
        out = []
        base = self.path / "maps"
        for i in range(MAX_UIO_MAPS):
            d = base / f"map{i}"
            if not d.is_dir():
                break
            name = (d / "name").read_text().strip() if (d / "name").exists() else ""
            out.append(UioMap(i, name, int((d / "addr").read_text(), 16),
                              int((d / "size").read_text(), 16),
                              int((d / "offset").read_text(), 16)))
        return out

    @property
    def pci(self) -> PciDevice | None:
        """The PCI function behind this UIO device (uio_pci_generic), if any."""
        link = self.path / "device"
        if not link.exists():
            return None
        target = link.resolve()
        if (target / "config").exists() and (target / "resource").exists():
            return PciDevice(target, root=self.root)
        return None

    def irq(self) -> UioIrq:
        return UioIrq(self)

    def __repr__(self) -> str:
        return f"<UioDevice {self.id} {self.name!r}>"


def uio_devices(root: str | Path = "/") -> list[UioDevice]:
    base = _rel(root, "sys/class/uio")
    try:
        names = sorted(os.listdir(base), key=lambda n: (len(n), n))
    except FileNotFoundError:
        return []
    return [UioDevice(base / n, root=root) for n in names]


def find_uio(spec: str, root: str | Path = "/") -> UioDevice:
    """A UIO device by node (``uio0``), by ``name`` (``uio_pci_generic``; ``name#1`` for
    the second), or by the PCI address of the function behind it."""
    devs = uio_devices(root)
    if not devs:
        raise DeviceNotFoundError(f"no UIO devices ({_rel(root, 'sys/class/uio')} is empty or "
                                  f"absent: load a UIO driver, e.g. modprobe uio_pci_generic)")
    for d in devs:
        if d.id == spec:
            return d
    name, _, nth = spec.partition("#")
    found = [d for d in devs if d.name == name]
    if not found and ":" in spec:
        found = [d for d in devs if d.pci is not None and d.pci.bdf.endswith(spec)]
    index = int(nth) if nth else 0
    if len(found) <= index:
        have = ", ".join(f"{d.id} ({d.name})" for d in devs)
        raise DeviceNotFoundError(f"no UIO device {spec!r}; there are: {have}")
    return found[index]


class UioIrq:
    """The interrupt of a UIO device through ``/dev/uioX``."""

    def __init__(self, dev: UioDevice) -> None:
        self.dev = dev
        try:
            self._fd = os.open(dev.dev_node, os.O_RDWR)
        except OSError as e:
            raise MapError(diagnose.explain_open(e, dev.dev_node), e.errno) from None
        self.count = 0

    def fileno(self) -> int:
        return self._fd

    def enable(self) -> None:
        """Arm the next interrupt: write 1 (irqcontrol), or, for a PCI device whose
        driver has no irqcontrol (uio_pci_generic), unmask INTx in config space."""
        try:
            os.write(self._fd, struct.pack("i", 1))
            return
        except OSError as e:
            if e.errno != errno.ENOSYS:
                raise
        pci = self.dev.pci
        if pci is None:
            raise MapError(f"{self.dev.id} ({self.dev.name}) has no irqcontrol: its driver "
                           f"re-enables the interrupt itself", errno.ENOSYS)
        pci.intx_unmask()

    def disable(self) -> None:
        os.write(self._fd, struct.pack("i", 0))

    def wait(self, timeout: float | None = None) -> int:
        """Block until the next interrupt; returns the device's total count."""
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no interrupt from {self.dev.id} ({self.dev.name}) within "
                               f"{timeout:g} s")
        data = os.read(self._fd, 4)
        self.count = struct.unpack("i", data)[0]
        return self.count

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class UioBackend:
    """UIO map N through ``/dev/uioX`` (the :class:`Backend` for UIO).

    A PCI UIO device without maps (uio_pci_generic before it exported its
    BARs) is reached as UIO documents: the BAR through PCI sysfs, the
    interrupt through ``/dev/uioX``.
    """

    def __init__(self, device: UioDevice | str, map_index: int = 0, *,
                 root: str | Path = "/") -> None:
        self.device = device if isinstance(device, UioDevice) else find_uio(device, root)
        self.map_index = map_index
        self.root = Path(root)
        self._map: UioMap | None = None
        self._fallback: PciBarBackend | None = None

    def describe(self) -> str:
        if self._fallback is not None:
            return f"UIO {self.device.id} ({self.device.name}) via {self._fallback.describe()}"
        m = self._map
        where = f" [mem {m.addr:#010x} size {m.size:#x}]" if m else ""
        return f"UIO {self.device.id} ({self.device.name}) map{self.map_index}{where}"

    def open(self) -> None:
        maps = self.device.maps()
        if maps:
            if self.map_index >= len(maps):
                raise DeviceNotFoundError(f"{self.device.id} ({self.device.name}) has "
                                          f"{len(maps)} map(s); there is no map{self.map_index}")
            self._map = maps[self.map_index]
            return
        pci = self.device.pci
        if pci is None:
            raise DeviceNotFoundError(f"{self.device.id} ({self.device.name}) exports no maps")
        self._fallback = PciBarBackend(pci, self.map_index, root=self.root)
        self._fallback.open()

    def close(self) -> None:
        self._map = None
        self._fallback = None

    def map(self, offset: int = 0, size: int | None = None, *, write: bool = True,
            force: bool = False) -> Window:
        if self._map is None and self._fallback is None:
            self.open()
        if self._fallback is not None:
            return self._fallback.map(offset, size, write=write, force=force)
        m = self._map
        assert m is not None
        size = m.size - offset if size is None else size
        if offset < 0 or size < 0 or offset + size > m.size:
            raise MapError(f"{size:#x} bytes at {offset:#x} do not fit {self.device.id} "
                           f"map{m.index} ({m.size:#x} bytes)", errno.EINVAL)
        node = self.device.dev_node
        try:
            fd = os.open(node, os.O_RDWR if write else os.O_RDONLY)
        except OSError as e:
            raise MapError(diagnose.explain_open(e, node), e.errno) from None
        length = (m.offset + m.size + _PAGE - 1) // _PAGE * _PAGE
        try:
            mm = mmap.mmap(fd, length, mmap.MAP_SHARED,
                           mmap.PROT_READ | (mmap.PROT_WRITE if write else 0),
                           offset=m.index * _PAGE)
        except OSError as e:
            raise MapError(f"cannot map {node} map{m.index} ({length:#x} bytes): {e.strerror} "
                           f"(UIO refuses mappings longer than the map's pages)",
                           e.errno) from None
        finally:
            os.close(fd)
        return Window(size=size, name=f"{self.device.id} map{m.index}", buffer=mm,
                      delta=m.offset + offset, phys=m.addr + offset, writable=write,
                      readonly_reason="opened with write=False",
                      info={"backend": "uio", "uio": self.device.id, "map": m.name,
                            "memtype": "UC"})


def map_uio(device: UioDevice | str, map_index: int = 0, *, write: bool = True,
            force: bool = False, irq: bool = True, root: str | Path = "/") -> Mmio:
    """Map a UIO device's map (or PCI BAR) with its interrupt attached as ``.irq``."""
    backend = UioBackend(device, map_index, root=root)
    backend.open()
    m = Mmio(backend.map(write=write, force=force))
    if irq:
        try:
            m.irq = backend.device.irq()
        except MapError:
            m.close()
            raise
    return m
