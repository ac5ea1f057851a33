"""The ``virt`` board: QEMU's arm64 ``virt`` machine map (hw/arm/virt.c).

RAM at 0x40000000 and a PL011 UART at 0x09000000 (SPI 1), described as the
kernel sees them: System RAM in the resource tree and a platform device
named as ``of_device_make_bus_id`` names it, whose MEM resource carries the
DT node's full name.
"""

from __future__ import annotations

from ..kernel import ioport as F
from ..kernel.kernel import Kernel
from ..kernel.platform import platform_device, platform_device_register
from ..kernel.resource import Resource
from ..machine import Machine
from ..phys import ABORT
from . import Board, register_board

VIRT_RAM = 0x40000000
VIRT_UART = 0x09000000
GIC_SPI_BASE = 32


@register_board("virt")
def build_virt(ram_mb: int = 1024) -> Board:
    from ..devices.pl011 import PL011

    m = Machine("virt", arch="arm64", bus_error_policy=ABORT)
    m.add_ram("mach-virt.ram", VIRT_RAM, ram_mb << 20)
    uart = PL011(preconfigured=True)  # as firmware leaves it: enabled, 115200 8N1
    m.add_device(uart, VIRT_UART, name="pl011")
    uart.connect_irq(0, m.irq(GIC_SPI_BASE + 1))

    def populate(k: Kernel) -> None:
        k.add_system_ram(VIRT_RAM, ram_mb << 20)
        res = [Resource(VIRT_UART, VIRT_UART + 0xFFF, "pl011@9000000", F.IORESOURCE_MEM),
               Resource(GIC_SPI_BASE + 1, GIC_SPI_BASE + 1, None, F.IORESOURCE_IRQ)]
        pdev = platform_device("9000000.pl011", resources=res)
        pdev.of_node = _Node(["arm,pl011", "arm,primecell"], "pl011@9000000")
        platform_device_register(pdev, insert_resources=False)

    return Board("virt", m, "arm64", populate, model="linux,dummy-virt")


class _Node:
    """The two facts drivers use of a DT node until the tree is loaded from a DTB."""

    def __init__(self, compatible: list[str], full_name: str) -> None:
        self.compatible = compatible
        self.full_name = full_name
