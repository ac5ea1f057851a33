"""Boards for the PCI kernel tests: the pc board, and a bare ECAM host whose BARs the
kernel assigns itself (the generic host flow of arm64 and other firmware-less hosts)."""

from __future__ import annotations

from dataclasses import dataclass

from iomem.boards import boot
from iomem.devices.pci import PciFunction, PciHost
from iomem.devices.pci.config import BarKind
from iomem.devices.pci.function import BarOps
from iomem.kernel import Kernel
from iomem.kernel import ioport as F
from iomem.kernel.pci import (
    PciEcamOps,
    pci_core,
    pci_dev,
    pci_host_bridge,
    pci_host_probe,
)
from iomem.kernel.resource import Resource, insert_resource
from iomem.machine import Machine
from iomem.phys import ABORT, AccessRules

ECAM = 0x4010000000
MEM_WINDOW = (0x10000000, 0x3EFEFFFF)
HIGH_WINDOW = (0x8000000000, 0xFFFFFFFFFF)
RAM = 0x40000000

_RULES = AccessRules(valid_sizes=frozenset({1, 2, 4, 8}))


class Scratch(PciFunction):
    """A function with the BARs a test asks for, each a plain register file."""

    name = "scratch"
    vendor_id = 0x1B36
    device_id = 0x0005
    class_code = 0x00FF00
    interrupt_pin = 1

    def __init__(self, bars: list[tuple[int, int, str, bool]], **ident) -> None:
        super().__init__(**ident)
        self.mem: dict[int, bytearray] = {}
        for index, size, kind, pref in bars:
            buf = self.mem.setdefault(index, bytearray(min(size, 1 << 16)))
            self.add_bar(index, size, BarKind(kind), prefetch=pref,
                         ops=BarOps(_RULES, self._reader(buf), self._writer(buf)))

    @staticmethod
    def _reader(buf: bytearray):
        def read(off: int, size: int) -> int:
            if off + size > len(buf):
                return 0
            return int.from_bytes(buf[off:off + size], "little")
        return read

    @staticmethod
    def _writer(buf: bytearray):
        def write(off: int, size: int, value: int) -> None:
            if off + size <= len(buf):
                buf[off:off + size] = value.to_bytes(size, "little")
        return write


@dataclass
class EcamRig:
    k: Kernel
    host: PciHost
    bridge: pci_host_bridge

    def dev(self, name: str) -> pci_dev:
        d = pci_core(self.k).find(name)
        assert d is not None, name
        return d


def ecam_board(functions: list[tuple[PciFunction, int]], *, probe: bool = True) -> EcamRig:
    """An arm64 machine with QEMU virt's generic ECAM host and windows, ``functions``
    plugged at their slots, and (``probe``) the kernel's pci_host_probe run on it."""
    m = Machine("virt", arch="arm64", bus_error_policy=ABORT)
    m.add_ram("ram", RAM, 64 << 20)
    host = PciHost.virt(m)
    for fn, slot in functions:
        host.plug(fn, slot)
    k = Kernel(m, "arm64", board_name="ecam-test")
    with k:
        k.add_system_ram(RAM, 64 << 20)
        hb = pci_host_bridge(k, PciEcamOps(k, ECAM), hw=host)
        mem = Resource(MEM_WINDOW[0], MEM_WINDOW[1], "pcie@10000000",
                       F.IORESOURCE_MEM | F.IORESOURCE_WINDOW)
        high = Resource(HIGH_WINDOW[0], HIGH_WINDOW[1], "pcie@10000000",
                        F.IORESOURCE_MEM | F.IORESOURCE_WINDOW | F.IORESOURCE_PREFETCH
                        | F.IORESOURCE_MEM_64)
        io = Resource(0x0000, 0xFFFF, "pcie@10000000", F.IORESOURCE_IO | F.IORESOURCE_WINDOW)
        for r in (mem, high):
            insert_resource(k.iomem_resource, r)
        insert_resource(k.ioport_resource, io)
        hb.add_window(io)
        hb.add_window(mem)
        hb.add_window(high)
        hb.add_window(Resource(0, 0xFF, None, F.IORESOURCE_BUS))
        hb.map_irq = lambda dev, slot, pin: 35 + ((slot + pin - 1) % 4)
        if probe:
            assert pci_host_probe(hb) == 0
    return EcamRig(k, host, hb)


def pc(**options) -> Kernel:
    """The pc board, booted."""
    return boot("pc", **options)
