"""A simulated machine: one physical address space, a virtual clock, interrupt lines
and the device models placed on them.  Boards build one; the kernel runs on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..phys import ABORT, AddressSpace, Region
from .clock import VirtualClock
from .irq import IrqLine

if TYPE_CHECKING:
    from ..devices.base import MmioDevice


class Machine:
    """Hardware only: no kernel state lives here."""

    def __init__(self, name: str, arch: str = "arm64", bus_error_policy: str = ABORT,
                 access_ns: int = 100) -> None:
        self.name = name
        self.arch = arch
        self.memory = AddressSpace("memory", bus_error_policy)
        self.io = AddressSpace("I/O", bus_error_policy, width_bits=16)  # x86 port space
        self.clock = VirtualClock()
        self.access_ns = access_ns  # virtual time one bus access takes
        self.irqs: dict[int, IrqLine] = {}
        self.devices: list[MmioDevice] = []

    def irq(self, number: int) -> IrqLine:
        """The interrupt line ``number`` (created on first use)."""
        line = self.irqs.get(number)
        if line is None:
            line = self.irqs[number] = IrqLine(number)
        return line

    def add_ram(self, name: str, base: int, size: int) -> Region:
        return self.memory.add_region(Region(name, base, size, "ram"))

    def add_rom(self, name: str, base: int, data: bytes | int) -> Region:
        buf = bytearray(data) if not isinstance(data, int) else bytearray(data)
        return self.memory.add_region(Region(name, base, len(buf), "rom", data=buf))

    def add_device(self, device: MmioDevice, base: int, name: str | None = None,
                   priority: int = 0) -> Region:
        """Attach a device model and map its register file at ``base``."""
        device.attach(self)
        self.devices.append(device)
        region = Region(name or device.name, base, device.size, "io", ops=device,
                        priority=priority)
        device.regions.append(region)
        return self.memory.add_region(region)

    def step(self, ns: int) -> None:
        """Let virtual time pass (device timers fire)."""
        self.clock.advance(ns)
