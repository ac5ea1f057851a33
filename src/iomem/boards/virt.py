"""The ``virt`` board: QEMU 7.2's arm64 ``virt`` machine, booted from the DTB QEMU
itself dumped (``virt.dtb``, see ``virt.dtb.md``).

Everything comes from the tree (:mod:`.dt`): 1 GiB of RAM at 0x40000000; the
PL011 UART, PL031 RTC and PL061 GPIO as AMBA devices with QEMU's own IDs
(PL011 and PL031 r1, PL061 r0) and QEMU's interrupt wiring (SPIs 1, 2, 7:
INTIDs 33, 34, 39); the 32 virtio-mmio slots, fw-cfg, the flash banks, the
GIC and the PCIe host's ECAM as unmodelled regions that log what touches
them; regions named as QEMU's ``info mtree`` names them.  Booting it gives
what Debian's 6.1 kernel prints on that machine for those devices: the
AMBA resources and the drivers' claims in /proc/iomem, ``ttyAMA0 at MMIO
0x9000000 (irq = 13, base_baud = 0) is a PL011 rev1``, ``rtc-pl031
9010000.pl031: registered as rtc0``, ``pl061_gpio 9030000.pl061: PL061 GPIO
chip registered``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..devices import PL011, PL031, PL061
from ..devices.base import MmioDevice
from ..devices.pci import PciFunction, PciHost
from ..devices.pci.config import BarKind
from ..devices.pci.function import BarOps
from ..of import DeviceNode, DeviceTree, load_builtin
from ..phys import AccessRules
from . import register_board
from .dt import DtBoard, dt_board

VIRT_RAM = 0x40000000
VIRT_UART = 0x09000000
VIRT_RTC = 0x09010000
VIRT_GPIO = 0x09030000
GIC_SPI_BASE = 32

#: what QEMU calls each node's regions (``info mtree``)
QEMU_NAMES: dict[str, tuple[str, ...]] = {
    "arm,pl011": ("pl011",), "arm,pl031": ("pl031",), "arm,pl061": ("pl061",),
    "virtio,mmio": ("virtio-mmio",), "cfi-flash": ("virt.flash0", "virt.flash1"),
    "arm,cortex-a15-gic": ("gic_dist", "gic_cpu"), "arm,gic-v2m-frame": ("gicv2m",),
    "qemu,fw-cfg-mmio": ("fwcfg",), "pci-host-ecam-generic": ("pcie-ecam",),
}


def qemu_region_name(node: DeviceNode, index: int) -> str:
    for c in node.compatible:
        names = QEMU_NAMES.get(c)
        if names:
            return names[index] if index < len(names) else f"{names[0]}.{index}"
    return node.name if index == 0 else f"{node.name}.{index}"


@lru_cache(maxsize=1)
def virt_tree() -> DeviceTree:
    """The shipped DTB, parsed once per process (the kernel never changes it)."""
    return load_builtin("virt")


def _pl011(node: DeviceNode, size: int) -> MmioDevice:
    return PL011("pl011", revision=1)  # QEMU's pl011_id_arm: 0x00141011


def _pl031(node: DeviceNode, size: int) -> MmioDevice:
    return PL031("pl031", revision=1)  # QEMU's pl031_id: 0x00141031


def _pl061(node: DeviceNode, size: int) -> MmioDevice:
    return PL061("pl061")  # QEMU's pl061_id: 0x00041061


def qemu_virt_options() -> dict[str, Any]:
    """The :func:`dt_board` options that make any QEMU virt tree QEMU's machine (a DTB
    dumped from another QEMU configuration, or the guest's /sys/firmware/fdt)."""
    return {"arch": "arm64", "region_name": qemu_region_name, "ram_name": "mach-virt.ram",
            "factories": {"arm,pl011": _pl011, "arm,pl031": _pl031, "arm,pl061": _pl061}}


class VirtioNetPci(PciFunction):
    """QEMU's default NIC on virt, ``virtio-net-pci`` (1af4:1000) at 00:01.0: its identity
    and BARs (I/O 32 bytes, MSI-X 4 KiB, 64-bit prefetchable 16 KiB, a 256 KiB option
    ROM); the registers are not modelled."""

    name = "virtio-net-pci"
    vendor_id, device_id, class_code = 0x1AF4, 0x1000, 0x020000
    subsystem_vendor_id, subsystem_id = 0x1AF4, 0x0001
    interrupt_pin = 1

    def __init__(self) -> None:
        super().__init__()
        for index, size, kind, pref, name in (
                (0, 32, BarKind.IO, False, "virtio-pci-io"),
                (1, 4096, BarKind.MEM32, False, "virtio-net-pci-msix"),
                (4, 16 * 1024, BarKind.MEM64, True, "virtio-pci")):
            self.add_bar(index, size, kind, prefetch=pref, name=name, ops=_noregs())
        self.add_rom(b"\x55\xaa", size=256 * 1024, name="virtio-net-pci.rom")


def _noregs() -> BarOps:
    return BarOps(AccessRules(valid_sizes=frozenset({1, 2, 4, 8})), lambda off, size: 0,
                  lambda off, size, value: None)


def add_pci_host(board: DtBoard, nic: bool = True) -> PciHost:
    """Replace the unmodelled ECAM of ``pcie@10000000`` by QEMU's GPEX host (ECAM, the
    I/O and memory windows, INTA-D on SPIs 3-6) with its bridge at 00:00.0 and, as
    QEMU's default configuration has, a virtio-net NIC at 00:01.0."""
    m = board.machine
    for region in [r for r in m.memory.regions if r.name == "pcie-ecam"]:
        m.memory.remove_region(region)
    host = PciHost.virt(m)
    if nic:
        host.plug(VirtioNetPci(), 1)
    m.pci_host = host  # type: ignore[attr-defined]
    board.models.pop("/pcie@10000000", None)
    board.regions.pop("/pcie@10000000", None)
    return host


@register_board("virt")
def build_virt(drivers: bool = True, nic: bool = True) -> DtBoard:
    """QEMU's arm64 virt board; ``drivers=False`` boots with no built-in driver,
    ``nic=False`` leaves the PCIe bus with its host bridge only (QEMU's ``-nic none``)."""
    board = dt_board(virt_tree(), "virt", builtin_drivers=drivers, **qemu_virt_options())
    add_pci_host(board, nic)
    return board
