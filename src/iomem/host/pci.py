"""PCI functions through sysfs (drivers/pci/pci-sysfs.c, Documentation/PCI/sysfs-pci.rst).

``/sys/bus/pci/devices/DDDD:BB:DD.F/`` holds ``vendor``/``device``/``class``,
``resource`` (one ``"0x%016llx 0x%016llx 0x%016llx"`` start/end/flags line per
resource; BARs are lines 0-5, the ROM line 6), ``resourceN`` (mmap of a memory
BAR at offset 0; read()/write() of 1, 2 or 4 bytes for an I/O BAR),
``resourceN_wc`` (prefetchable BARs only), ``config`` (config space by
pread/pwrite), ``enable``, ``driver`` (a link to the bound driver),
``driver_override`` and ``iommu_group``. Binding goes through
``/sys/bus/pci/drivers/NAME/{bind,unbind,new_id}`` and
``/sys/bus/pci/drivers_probe``.
"""

from __future__ import annotations

import errno
import mmap
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..user.errors import DeviceNotFoundError, MapError, OwnershipError
from ..user.mmio import Mmio
from ..user.window import Window
from . import diagnose
from .procfs import Iomem, IomemEntry, IomemUnavailable, read_iomem, write_refusal

# include/linux/ioport.h resource flags (as sysfs prints them)
IORESOURCE_IO = 0x100
IORESOURCE_MEM = 0x200
IORESOURCE_PREFETCH = 0x2000
IORESOURCE_MEM_64 = 0x100000
IORESOURCE_DISABLED = 0x10000000
IORESOURCE_UNSET = 0x20000000

PCI_COMMAND = 0x04
PCI_COMMAND_IO = 0x1
PCI_COMMAND_MEMORY = 0x2
PCI_COMMAND_MASTER = 0x4
PCI_COMMAND_INTX_DISABLE = 0x400

_BDF = re.compile(r"^(?:([0-9a-fA-F]{4,}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$")
_VENDOR_DEVICE = re.compile(r"^([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4})$")
_PAGE = mmap.PAGESIZE


def _rel(root: str | Path, rel: str) -> Path:
    return Path(root) / rel.lstrip("/")


@dataclass(frozen=True)
class PciResource:
    """One line of the ``resource`` file."""

    index: int
    start: int
    end: int
    flags: int

    @property
    def size(self) -> int:
        return self.end - self.start + 1 if self.end or self.start else 0

    @property
    def is_mem(self) -> bool:
        return bool(self.flags & IORESOURCE_MEM)

    @property
    def is_io(self) -> bool:
        return bool(self.flags & IORESOURCE_IO)

    @property
    def prefetchable(self) -> bool:
        return bool(self.flags & IORESOURCE_PREFETCH)

    @property
    def mem64(self) -> bool:
        return bool(self.flags & IORESOURCE_MEM_64)

    @property
    def unused(self) -> bool:
        return self.size == 0 or not self.flags & (IORESOURCE_MEM | IORESOURCE_IO)

    def describe(self) -> str:
        if self.unused:
            return "unused"
        if self.is_io:
            return f"I/O ports at {self.start:04x} [size={self.size}]"
        bits = "64-bit" if self.mem64 else "32-bit"
        pref = "prefetchable" if self.prefetchable else "non-prefetchable"
        return f"Memory at {self.start:08x} ({bits}, {pref}) [size={_size_text(self.size)}]"


def _size_text(n: int) -> str:
    """lspci's size: divided by 1024 while it divides, with K/M/G/T."""
    for suffix in ("", "K", "M", "G", "T"):
        if n % 1024 or suffix == "T":
            return f"{n}{suffix}"
        n //= 1024
    return str(n)


def normalize_bdf(spec: str) -> str:
    """``00:04.0`` -> ``0000:00:04.0``; raises ValueError for anything else."""
    m = _BDF.match(spec.strip())
    if not m:
        raise ValueError(f"not a PCI address: {spec!r} (expected DDDD:BB:DD.F or BB:DD.F)")
    dom, bus, dev, fn = m.groups()
    return f"{int(dom or '0', 16):04x}:{bus.lower()}:{dev.lower()}.{fn}"


class PciDevice:
    """A PCI function as sysfs shows it."""

    def __init__(self, path: str | Path, *, root: str | Path = "/") -> None:
        self.path = Path(path)
        self.root = Path(root)
        self.bdf = self.path.name

    def _text(self, name: str) -> str:
        return (self.path / name).read_text().strip()

    def _hex(self, name: str) -> int:
        return int(self._text(name), 16)

    @property
    def vendor(self) -> int:
        return self._hex("vendor")

    @property
    def device(self) -> int:
        return self._hex("device")

    @property
    def class_code(self) -> int:
        return self._hex("class")

    @property
    def revision(self) -> int:
        return self._hex("revision")

    @property
    def irq(self) -> int:
        return int(self._text("irq"))

    @property
    def driver(self) -> str | None:
        """The bound driver's name, or None."""
        link = self.path / "driver"
        return os.path.basename(os.readlink(link)) if link.is_symlink() else None

    @property
    def iommu_group(self) -> int | None:
        link = self.path / "iommu_group"
        return int(os.path.basename(os.readlink(link))) if link.is_symlink() else None

    def resources(self) -> list[PciResource]:
        lines = (self.path / "resource").read_text().splitlines()
        out = []
        for i, line in enumerate(lines):
            start, end, flags = (int(x, 16) for x in line.split())
            out.append(PciResource(i, start, end, flags))
        return out

    def resource(self, bar: int) -> PciResource:
        res = self.resources()
        if not 0 <= bar < min(len(res), 6):
            raise DeviceNotFoundError(f"{self.bdf} has no BAR{bar} (BARs are 0-5)")
        return res[bar]

    def bars(self) -> list[PciResource]:
        """The BARs in use (unused lines left out)."""
        return [r for r in self.resources()[:6] if not r.unused]

    def __repr__(self) -> str:
        try:
            ident = f" [{self.vendor:04x}:{self.device:04x}]"
        except OSError:
            ident = ""
        drv = self.driver
        return f"<PciDevice {self.bdf}{ident}{' driver ' + drv if drv else ''}>"

    # -- config space ------------------------------------------------------------------

    def config_read(self, offset: int, size: int) -> int:
        """One config read of ``size`` bytes (1, 2, 4) at an aligned ``offset``."""
        _config_check(offset, size)
        fd = os.open(self.path / "config", os.O_RDONLY)
        try:
            data = os.pread(fd, size, offset)
        finally:
            os.close(fd)
        if len(data) != size:
            raise MapError(f"{self.bdf}: config space ends before {offset:#x} (only root reads "
                           f"past the first 64 bytes)", errno.EIO)
        return int.from_bytes(data, "little")

    def config_write(self, offset: int, size: int, value: int) -> None:
        _config_check(offset, size)
        fd = os.open(self.path / "config", os.O_WRONLY)
        try:
            os.pwrite(fd, value.to_bytes(size, "little"), offset)
        finally:
            os.close(fd)

    def config(self, *, write: bool = False) -> Mmio:
        """Config space as an accessor object (``readw(0)`` is the vendor id), through
        pread/pwrite on ``config``: 8-, 16- and 32-bit accesses, as the kernel makes them."""
        path = self.path / "config"
        flags = os.O_RDWR if write else os.O_RDONLY
        try:
            fd = os.open(path, flags)
        except OSError as e:
            raise MapError(diagnose.explain_open(e, path), e.errno) from None
        size = os.fstat(fd).st_size or 256

        def read(off: int, n: int) -> int:
            return int.from_bytes(os.pread(fd, n, off), "little")

        def write_(off: int, n: int, value: int) -> None:
            os.pwrite(fd, value.to_bytes(n, "little"), off)

        return Mmio(Window(size=size, name=f"{self.bdf} config", read=read,
                           write=write_ if write else None, writable=write,
                           readonly_reason="config space was opened read-only (write=True)",
                           widths=frozenset({1, 2, 4}),
                           widths_reason="the kernel's config accessors are 8, 16 and 32 bits",
                           release=lambda: os.close(fd), info={"backend": "pci-config"}))

    @property
    def command(self) -> int:
        return self.config_read(PCI_COMMAND, 2)

    @property
    def memory_decode(self) -> bool:
        return bool(self.command & PCI_COMMAND_MEMORY)

    @property
    def enabled(self) -> bool:
        return self._text("enable") != "0"

    def enable(self) -> None:
        """``echo 1 > enable``: pci_enable_device (turns on decode of its BARs)."""
        (self.path / "enable").write_text("1")

    def disable(self) -> None:
        (self.path / "enable").write_text("0")

    def intx_unmask(self) -> None:
        """Clear the INTx-disable bit (command bit 10), as uio_pci_generic's users must
        after each interrupt (its handler masks INTx, and it has no irqcontrol)."""
        cmd = self.config_read(PCI_COMMAND + 1, 1)
        if cmd & (PCI_COMMAND_INTX_DISABLE >> 8):
            self.config_write(PCI_COMMAND + 1, 1, cmd & ~(PCI_COMMAND_INTX_DISABLE >> 8))

    # -- drivers ---------------------------------------------------------------------------

    def unbind(self) -> None:
        drv = self.driver
        if drv:
            (self.path / "driver" / "unbind").write_text(self.bdf)

    def bind(self, driver: str) -> None:
        """Bind ``driver`` through ``driver_override`` (any driver, any device), e.g.
        ``vfio-pci`` or ``uio_pci_generic``; unbinds the current driver first."""
        if self.driver == driver:
            return
        self.unbind()
        (self.path / "driver_override").write_text(driver)
        try:
            _rel(self.root, "sys/bus/pci/drivers_probe").write_text(self.bdf)
        except OSError as e:
            raise MapError(f"binding {self.bdf} to {driver} failed: {e.strerror} (is the "
                           f"module loaded? modprobe {driver.replace('-', '_')})",
                           e.errno) from None
        if self.driver != driver:
            raise MapError(f"binding {self.bdf} to {driver} failed: the driver did not take "
                           f"the device (see dmesg)")

    def bind_new_id(self, driver: str, timeout: float = 5.0) -> None:
        """Teach ``driver`` this function's vendor:device through ``new_id`` (how
        uio_pci_generic, which has no id table, is bound) and wait until it binds."""
        if self.driver == driver:
            return
        new_id = _rel(self.root, f"sys/bus/pci/drivers/{driver}/new_id")
        try:
            new_id.write_text(f"{self.vendor:04x} {self.device:04x}")
        except FileNotFoundError:
            raise MapError(f"there is no PCI driver {driver} (modprobe "
                           f"{driver.replace('-', '_')})", errno.ENOENT) from None
        except FileExistsError:
            # the id is known already: the driver passed this function over; probe it
            _rel(self.root, "sys/bus/pci/drivers_probe").write_text(self.bdf)
        deadline = time.monotonic() + timeout
        while self.driver != driver:
            if time.monotonic() > deadline:
                now = self.driver
                raise MapError(f"{driver} did not bind {self.bdf} within {timeout:g} s"
                               + (f" (it is bound to {now}; unbind it first)" if now else ""),
                               errno.ETIMEDOUT)
            time.sleep(0.01)

    def claims(self, bar: int, tree: Iomem | None = None) -> list[IomemEntry]:
        """Driver claims inside BAR ``bar``'s range in /proc/iomem (/proc/ioports for an
        I/O BAR); empty when there are none or the file cannot say."""
        res = self.resource(bar)
        if res.unused:
            return []
        if tree is None:
            tree = _resource_tree(self.root, res)
            if tree is None:
                return []
        return [e for e in tree.owners(res.start, res.end) if e.kind == "claim"]


def _resource_tree(root: Path, res: PciResource) -> Iomem | None:
    """/proc/iomem or /proc/ioports, whichever holds ``res``; None if unreadable."""
    try:
        return read_iomem(_rel(root, "proc/ioports" if res.is_io else "proc/iomem"))
    except (OSError, IomemUnavailable, ValueError):
        return None


def _config_check(offset: int, size: int) -> None:
    if size not in (1, 2, 4):
        raise ValueError(f"config accesses are 1, 2 or 4 bytes, not {size}")
    if offset < 0 or offset % size:
        raise ValueError(f"config offset {offset:#x} is not {size}-byte aligned")


def pci_devices(root: str | Path = "/") -> list[PciDevice]:
    """Every PCI function, in address order."""
    base = _rel(root, "sys/bus/pci/devices")
    try:
        names = sorted(os.listdir(base))
    except FileNotFoundError:
        return []
    return [PciDevice(base / n, root=root) for n in names]


def find_pci(spec: str, root: str | Path = "/") -> PciDevice:
    """A PCI function by address (``0000:00:04.0``, ``00:04.0``) or by ``vendor:device``
    in hex (``1234:11e8``; the first match, or ``1234:11e8#1`` for the second)."""
    spec = spec.strip()
    base = _rel(root, "sys/bus/pci/devices")
    if _BDF.match(spec):
        bdf = normalize_bdf(spec)
        if not (base / bdf).exists():
            raise DeviceNotFoundError(f"no PCI function {bdf} (see {base})")
        return PciDevice(base / bdf, root=root)
    nth = 0
    if "#" in spec:
        spec, _, n = spec.partition("#")
        nth = int(n)
    m = _VENDOR_DEVICE.match(spec)
    if not m:
        raise ValueError(f"not a PCI address or vendor:device: {spec!r} "
                         f"(e.g. 0000:00:04.0, 00:04.0, 1234:11e8)")
    vendor, device = int(m.group(1), 16), int(m.group(2), 16)
    found = [d for d in pci_devices(root) if d.vendor == vendor and d.device == device]
    if len(found) <= nth:
        raise DeviceNotFoundError(f"no PCI function {vendor:04x}:{device:04x}"
                                  + (f" #{nth}" if nth else "") + f" (see {base})")
    return found[nth]


class PciBarBackend:
    """A BAR through ``resourceN`` (or ``resourceN_wc``): the :class:`Backend` for PCI sysfs.

    Memory BARs are mapped; I/O BARs are reached by pread/pwrite of 1, 2 or 4
    bytes. Before mapping for writing it checks /proc/iomem and refuses a BAR a
    kernel driver holds (``force=True`` overrides); a BAR with memory decode off
    is refused with the reason unless ``enable=True`` turns the device on (and
    off again when the mapping is released).
    """

    def __init__(self, device: PciDevice | str, bar: int = 0, *, wc: bool = False,
                 enable: bool = False, root: str | Path = "/") -> None:
        self.device = device if isinstance(device, PciDevice) else find_pci(device, root)
        self.bar = bar
        self.wc = wc
        self.enable = enable
        self.root = Path(root)
        self._res: PciResource | None = None

    def describe(self) -> str:
        res = self._res or self.device.resource(self.bar)
        return f"PCI {self.device.bdf} BAR{self.bar}: {res.describe()}"

    def open(self) -> None:
        res = self.device.resource(self.bar)
        if res.unused:
            raise DeviceNotFoundError(f"{self.device.bdf} BAR{self.bar} is not implemented "
                                      f"(size 0 in {self.device.path}/resource)")
        if self.wc and not (res.is_mem and res.prefetchable):
            raise MapError(diagnose.explain_pci_mmap(
                OSError(errno.ENOENT, "no such file"), self.device, self.bar, wc=True,
                root=self.root), errno.ENOENT)
        self._res = res

    def close(self) -> None:
        self._res = None

    def _ownership(self, res: PciResource, write: bool, force: bool) -> dict[str, str]:
        info: dict[str, str] = {}
        tree = _resource_tree(self.root, res)
        if tree is None:
            return info
        held = self.device.claims(self.bar, tree)
        if held:
            info["owner"] = held[-1].name
        if write and not force:
            why = write_refusal(tree, res.start, res.end, space="io" if res.is_io else "mem")
            if why:
                raise OwnershipError(f"refusing to map {self.device.bdf} BAR{self.bar} for "
                                     f"writing: {why}; map it read-only (write=False), unbind "
                                     f"the driver, or pass force=True (--force)")
        return info

    def map(self, offset: int = 0, size: int | None = None, *, write: bool = True,
            force: bool = False) -> Window:
        if self._res is None:
            self.open()
        res = self._res
        assert res is not None
        total = res.size
        size = total - offset if size is None else size
        if offset < 0 or size < 0 or offset + size > total:
            raise MapError(f"{size:#x} bytes at {offset:#x} do not fit {self.device.bdf} "
                           f"BAR{self.bar} ({total:#x} bytes)", errno.EINVAL)
        info = {"backend": "pci-sysfs", "bdf": self.device.bdf, "bar": str(self.bar)}
        info.update(self._ownership(res, write, force))
        enabled_here = False
        if res.is_mem and not self.device.memory_decode:
            if not self.enable:
                raise MapError(diagnose.explain_decode_off(self.device, self.bar), errno.EIO)
            self.device.enable()
            enabled_here = True
        fname = f"resource{self.bar}{'_wc' if self.wc else ''}"
        path = self.device.path / fname
        try:
            fd = os.open(path, (os.O_RDWR if write else os.O_RDONLY) | os.O_SYNC)
        except OSError as e:
            if e.errno == errno.ENOENT:
                msg = diagnose.explain_pci_mmap(e, self.device, self.bar, wc=self.wc,
                                                root=self.root)
            else:
                msg = diagnose.explain_open(e, path, "root")
            raise MapError(msg, e.errno) from None
        name = f"{self.device.bdf} BAR{self.bar}"
        disable = self.device.disable if enabled_here else None
        if res.is_io:
            return _io_window(fd, res, offset, size, name, write, info, disable)
        info["memtype"] = "WC" if self.wc else "UC"
        page_off = offset % _PAGE
        map_off = offset - page_off
        length = page_off + size
        try:
            mm = mmap.mmap(fd, max(length, 1), mmap.MAP_SHARED,
                           mmap.PROT_READ | (mmap.PROT_WRITE if write else 0), offset=map_off)
        except OSError as e:
            os.close(fd)
            raise MapError(diagnose.explain_pci_mmap(e, self.device, self.bar, wc=self.wc,
                                                     root=self.root), e.errno) from None
        os.close(fd)
        return Window(size=size, name=name, buffer=mm, delta=page_off,
                      phys=res.start + offset, writable=write,
                      readonly_reason="opened with write=False",
                      ram_like=res.prefetchable, release=disable,
                      info={**info, "path": str(path)})


def _io_window(fd: int, res: PciResource, offset: int, size: int, name: str, write: bool,
               info: dict[str, str], disable: object) -> Window:
    """An I/O-port BAR: the kernel's pci_resource_io does one inb/inw/inl per read()."""
    def read(off: int, n: int) -> int:
        return int.from_bytes(os.pread(fd, n, off), "little")

    def write_(off: int, n: int, value: int) -> None:
        os.pwrite(fd, value.to_bytes(n, "little"), off)

    def release() -> None:
        os.close(fd)
        if callable(disable):
            disable()

    return Window(size=size, name=name, read=read, write=write_ if write else None,
                  delta=offset, phys=res.start + offset, writable=write,
                  readonly_reason="opened with write=False",
                  widths=frozenset({1, 2, 4}),
                  widths_reason="I/O ports are 8, 16 and 32 bits wide",
                  release=release, info={**info, "memtype": "I/O ports", "space": "io"})


def map_bar(device: PciDevice | str, bar: int = 0, *, wc: bool = False, write: bool = True,
            force: bool = False, enable: bool = False, offset: int = 0,
            size: int | None = None, root: str | Path = "/") -> Mmio:
    """Map a PCI BAR through sysfs: ``map_bar("1234:11e8", 0).readl(0)``."""
    backend = PciBarBackend(device, bar, wc=wc, enable=enable, root=root)
    backend.open()
    return Mmio(backend.map(offset, size, write=write, force=force))
