"""A PCI bus segment: 32 slots of up to 8 functions each.

Mirrors QEMU's ``PCIBus`` (hw/pci/pci.c, include/hw/pci/pci_bus.h): the root
bus belongs to a host bridge; a secondary bus belongs to a PCI-PCI bridge and
takes its number from that bridge's secondary-bus register.  INTx from a
function on a secondary bus is swizzled onto the bridge's pins (PCI-PCI
bridge spec, table 9-1) until it reaches the root, where the host routes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from . import regs as R
from .config import ConfigError

if TYPE_CHECKING:
    from .bridge import PciBridge
    from .function import PciFunction
    from .host import PciHost


def swizzle(slot: int, pin: int) -> int:
    """The standard INTx swizzle across a bridge: (pin + slot) mod 4, pins 0-based."""
    return (pin + slot) % 4


class PciBus:
    """One bus: ``devices`` maps devfn to the function plugged there."""

    def __init__(self, host: PciHost | None, parent: PciBridge | None = None,
                 number: int = 0) -> None:
        self.host = host
        self.parent = parent
        self._number = number
        self.devices: dict[int, PciFunction] = {}

    @property
    def is_root(self) -> bool:
        return self.parent is None

    @property
    def number(self) -> int:
        """The bus number: fixed for a root bus, the bridge's secondary bus number otherwise."""
        if self.parent is None:
            return self._number
        return self.parent.config.get_byte(R.PCI_SECONDARY_BUS)

    @property
    def subordinate(self) -> int:
        """The highest bus number below this bus."""
        if self.parent is None:
            return 0xFF
        return self.parent.config.get_byte(R.PCI_SUBORDINATE_BUS)

    # -- population ------------------------------------------------------------------------

    def plug(self, function: PciFunction, slot: int, func: int = 0) -> PciFunction:
        """Put ``function`` at ``slot``.``func`` of this bus (QEMU's multifunction rules:
        functions other than 0 need function 0 to say it is multifunction)."""
        if not 0 <= slot < 32 or not 0 <= func < 8:
            raise ConfigError(f"PCI address {slot:02x}.{func} is out of range (slots 0-31, "
                              "functions 0-7)")
        if self.host is None:
            raise ConfigError("plug the bridge into a bus before plugging functions behind it")
        devfn = R.PCI_DEVFN(slot, func)
        if devfn in self.devices:
            raise ConfigError(f"slot {slot:02x}.{func} on bus {self.number:02x} is in use "
                              f"by {self.devices[devfn].name}")
        if function.bus is not None:
            raise ConfigError(f"{function.name} is already plugged in at {function.address}")
        f0 = self.devices.get(R.PCI_DEVFN(slot, 0))
        if func and f0 is not None and not f0.multifunction:
            raise ConfigError(f"{slot:02x}.0 is a single-function device; "
                              f"{slot:02x}.{func} cannot be populated")
        if not func and not function.multifunction and any(
                R.PCI_DEVFN(slot, f) in self.devices for f in range(1, 8)):
            raise ConfigError(f"{slot:02x}.0 says single function, but other functions "
                              "of the slot are populated")
        self.devices[devfn] = function
        function.attach(self, devfn)
        function.update_mappings()
        return function

    def unplug(self, function: PciFunction) -> None:
        if function.bus is not self or function.devfn is None:
            raise ConfigError(f"{function.name} is not on bus {self.number:02x}")
        devfn = function.devfn
        function.detach()
        del self.devices[devfn]

    def function(self, devfn: int) -> PciFunction | None:
        return self.devices.get(devfn)

    def bridges(self) -> Iterator[PciBridge]:
        from .bridge import PciBridge
        for devfn in sorted(self.devices):
            fn = self.devices[devfn]
            if isinstance(fn, PciBridge):
                yield fn

    def walk(self) -> Iterator[PciFunction]:
        """Every function on this bus and below, bus by bus in devfn order (depth first)."""
        for devfn in sorted(self.devices):
            fn = self.devices[devfn]
            yield fn
            secondary = getattr(fn, "secondary", None)
            if secondary is not None:
                yield from secondary.walk()

    def find_bus(self, number: int) -> PciBus | None:
        """The bus with ``number`` at or below this one, found the way type-1 config
        cycles are forwarded: into the bridge whose [secondary, subordinate] holds it."""
        if self.number == number:
            return self
        for bridge in self.bridges():
            sec = bridge.config.get_byte(R.PCI_SECONDARY_BUS)
            sub = bridge.config.get_byte(R.PCI_SUBORDINATE_BUS)
            if sec and sec <= number <= sub:
                return bridge.secondary.find_bus(number)
        return None

    # -- forwarding -----------------------------------------------------------------------------

    def forwards(self, io: bool, start: int, end: int) -> bool:
        """Does a CPU access to [start, end] reach this bus (through every bridge above)?"""
        if self.parent is None:
            return self.host is not None and self.host.forwards(io, start, end)
        return self.parent.forwards_down(io, start, end) and self.parent.bus is not None \
            and self.parent.bus.forwards(io, start, end)

    def refresh_mappings(self) -> None:
        """A bridge above changed its windows or decode: every BAR below re-evaluates."""
        for fn in list(self.devices.values()):
            fn.update_mappings()

    def change_irq_level(self, function: PciFunction, pin: int, change: int) -> None:
        """Carry an INTx level change (+1 / -1) towards the host."""
        if self.parent is None:
            if self.host is not None:
                self.host.change_irq_level(R.PCI_SLOT(function.devfn or 0), pin, change)
            return
        bridge = self.parent
        if bridge.bus is None:
            return
        bridge.bus.change_irq_level(bridge, swizzle(R.PCI_SLOT(function.devfn or 0), pin),
                                    change)

    def reset(self) -> None:
        """Reset every function on this bus and below (a secondary bus reset)."""
        for fn in list(self.devices.values()):
            fn.reset()

    def __repr__(self) -> str:
        return f"<PciBus {self.number:02x} ({len(self.devices)} functions)>"
