"""A fake host tree (sysfs, procfs, /dev) under a temporary directory.

Regular files stand in for the kernel's: ``resourceN`` and ``/dev/uioX`` are
files that mmap like the real ones, ``/dev/mem`` is a sparse file whose offset
is the physical address, ``config`` is 256 bytes of config space. Every host
function takes ``root=`` so it reads this tree instead of the machine's.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

IOMEM = """\
00000000-00000fff : Reserved
00001000-0009fbff : System RAM
000f0000-000fffff : Reserved
  000f0000-000fffff : System ROM
00100000-3ffdffff : System RAM
  0f600000-10401d31 : Kernel code
40000000-febfffff : PCI Bus 0000:00
  fd000000-fdffffff : 0000:00:02.0
  fe000000-fe003fff : 0000:00:05.0
    fe000000-fe003fff : virtio-pci-modern
  fea00000-feafffff : 0000:00:04.0
  feb00000-feb3ffff : 0000:00:03.0
  feb80000-feb8ffff : 0000:00:07.0
fec00000-fec003ff : IOAPIC 0
fed00000-fed003ff : HPET 0
  fed00000-fed003ff : PNP0103:00
fee00000-fee00fff : Local APIC
100000000-17fffffff : PCI Bus 0000:00
"""

MEM_32 = 0x40200  # IORESOURCE_MEM | IORESOURCE_SIZEALIGN
MEM_64_PREF = 0x14220C
IO = 0x40101


def resource_lines(bars: dict[int, tuple[int, int, int]], lines: int = 13) -> str:
    out = []
    for i in range(lines):
        start, size, flags = bars.get(i, (0, 0, 0))
        end = start + size - 1 if size else 0
        out.append(f"0x{start:016x} 0x{end:016x} 0x{flags:016x}")
    return "\n".join(out) + "\n"


class FakeHost:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "proc").mkdir(parents=True)
        (root / "proc/iomem").write_text(IOMEM)
        (root / "proc/cmdline").write_text("console=ttyS0 quiet\n")
        (root / "dev").mkdir()
        self.pci_dir = root / "sys/bus/pci/devices"
        self.pci_dir.mkdir(parents=True)
        (root / "sys/bus/pci/drivers").mkdir(parents=True)
        (root / "sys/bus/pci/drivers_probe").write_text("")

    def add_pci(self, bdf: str, vendor: int, device: int,
                bars: dict[int, tuple[int, int, int]], *, driver: str | None = None,
                command: int = 0x0103, wc: tuple[int, ...] = (), iommu_group: int | None = None,
                ) -> Path:
        d = self.pci_dir / bdf
        d.mkdir()
        for name, value in (("vendor", f"0x{vendor:04x}"), ("device", f"0x{device:04x}"),
                            ("class", "0x00ff00"), ("revision", "0x10"), ("irq", "11"),
                            ("enable", "0"), ("driver_override", "(null)")):
            (d / name).write_text(value + "\n")
        (d / "resource").write_text(resource_lines(bars))
        cfg = bytearray(256)
        struct.pack_into("<HHH", cfg, 0, vendor, device, command)
        cfg[8] = 0x10
        (d / "config").write_bytes(bytes(cfg))
        for i, (_start, size, _flags) in bars.items():
            if i < 6 and size:
                with open(d / f"resource{i}", "wb") as fh:
                    fh.truncate(size)
                if i in wc:
                    with open(d / f"resource{i}_wc", "wb") as fh:
                        fh.truncate(size)
        if driver:
            drv = self.root / "sys/bus/pci/drivers" / driver
            drv.mkdir(exist_ok=True)
            (drv / "unbind").write_text("")
            os.symlink(drv, d / "driver")
        if iommu_group is not None:
            grp = self.root / f"sys/kernel/iommu_groups/{iommu_group}"
            (grp / "devices").mkdir(parents=True, exist_ok=True)
            os.symlink(grp, d / "iommu_group")
        return d

    def add_uio(self, name: str = "uio0", driver_name: str = "uio_pci_generic",
                maps: list[tuple[str, int, int, int]] = (), pci: str | None = None,
                event: int = 0) -> Path:
        d = self.root / "sys/class/uio" / name
        d.mkdir(parents=True)
        (d / "name").write_text(driver_name + "\n")
        (d / "version").write_text("0.01.0\n")
        (d / "event").write_text(f"{event}\n")
        longest = 0
        for i, (mname, addr, size, offset) in enumerate(maps):
            m = d / "maps" / f"map{i}"
            m.mkdir(parents=True)
            (m / "name").write_text(mname + "\n")
            (m / "addr").write_text(f"0x{addr:016x}\n")
            (m / "size").write_text(f"0x{size:016x}\n")
            (m / "offset").write_text(f"0x{offset:x}\n")
            longest = max(longest, (i + 1) * os.sysconf("SC_PAGE_SIZE") + offset + size)
        with open(self.root / "dev" / name, "wb") as fh:
            fh.truncate(max(longest, 8))
        if pci:
            os.symlink(self.pci_dir / pci, d / "device")
        return d

    def add_devmem(self, size: int = 0xFF000000) -> Path:
        path = self.root / "dev/mem"
        with open(path, "wb") as fh:
            fh.truncate(size)  # sparse
        return path

    def poke(self, path: Path, offset: int, data: bytes) -> None:
        with open(path, "r+b") as fh:
            fh.seek(offset)
            fh.write(data)

    def peek(self, path: Path, offset: int, n: int) -> bytes:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read(n)


def standard(root: Path) -> FakeHost:
    """The pc machine of the VM lab, in miniature."""
    h = FakeHost(root)
    h.add_pci("0000:00:04.0", 0x1234, 0x11E8, {0: (0xFEA00000, 1 << 20, MEM_32)})
    h.add_pci("0000:00:05.0", 0x1AF4, 0x1049, {4: (0xFE000000, 0x4000, MEM_64_PREF)},
              driver="virtio-pci")
    h.add_pci("0000:00:03.0", 0x8086, 0x100E,
              {0: (0xFEB00000, 0x20000, MEM_32), 1: (0xC000, 0x40, IO)})
    h.add_pci("0000:00:07.0", 0x1B36, 0x0010, {2: (0xFEB80000, 0x10000, MEM_64_PREF)},
              wc=(2,))
    h.poke(h.pci_dir / "0000:00:04.0/resource0", 0, (0x010000ED).to_bytes(4, "little"))
    return h
