"""A PCI host bridge: the root bus, config access mechanisms, INTx routing, MSI/DMA.

Mirrors QEMU's hw/pci/pci_host.c (the x86 CONFIG_ADDRESS/CONFIG_DATA pair at
ports 0xcf8/0xcfc), hw/pci/pcie_host.c (ECAM, the memory-mapped config
space: bus << 20 | devfn << 12 | register) and the root-bus halves of
hw/pci/pci.c (``pci_data_read``: an absent function reads all-ones; INTx
``irq_count`` per routed line).  Presets build the two boards the VM lab runs:
the ``pc`` machine's i440FX host (CF8/CFC, PIRQ routing) and the arm64
``virt`` machine's generic ECAM host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from ...phys import AccessRules, AddressSpace, BusError, Region
from . import regs as R
from .bus import PciBus, swizzle
from .config import ConfigError
from .function import PciFunction

if TYPE_CHECKING:
    from ...machine import Machine

_SIZE_MASK = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF}
# x86 port I/O reaches a port register unaligned (QEMU splits it into aligned pieces,
# a real chipset sees byte enables): ``inw 0xcfd`` reads config bytes 1-2.
_PORT_RULES = AccessRules(valid_sizes=frozenset({1, 2, 4}), unaligned=True)
# ECAM is memory: a misaligned access is rejected like any other MMIO
_ECAM_RULES = AccessRules(valid_sizes=frozenset({1, 2, 4}))

Window = tuple[int, int]


def parse_bdf(text: str) -> tuple[int, int, int, int]:
    """``[dddd:]bb:ss.f`` -> (domain, bus, slot, function)."""
    parts = text.strip().split(":")
    try:
        if len(parts) == 3:
            domain = int(parts[0], 16)
            parts = parts[1:]
        elif len(parts) == 2:
            domain = 0
        else:
            raise ValueError
        bus = int(parts[0], 16)
        slot_s, func_s = parts[1].split(".")
        slot, func = int(slot_s, 16), int(func_s, 16)
    except ValueError:
        raise ValueError(f"'{text}' is not a PCI address ([dddd:]bb:ss.f)") from None
    if domain > 0xFFFF or bus > 0xFF or slot > 0x1F or func > 7:
        raise ValueError(f"'{text}' is out of range")
    return domain, bus, slot, func


class _ConfigAddressPort:
    """0xcf8: CONFIG_ADDRESS.  Only an aligned 4-byte write latches it; a read
    returns the latch and the bus keeps the low bytes (QEMU's pci_host_config_read)."""

    rules = _PORT_RULES

    def __init__(self, host: PciHost) -> None:
        self.host = host

    def read(self, offset: int, size: int) -> int:
        return self.host.config_address

    def write(self, offset: int, size: int, value: int) -> None:
        if offset == 0 and size == 4:
            self.host.config_address = value & 0xFFFFFFFF


class _ConfigDataPort:
    """0xcfc-0xcff: CONFIG_DATA, a window onto the register CONFIG_ADDRESS selects."""

    rules = _PORT_RULES

    def __init__(self, host: PciHost) -> None:
        self.host = host

    def _target(self, offset: int) -> tuple[int, int, int] | None:
        addr = self.host.config_address
        if not addr & 0x80000000:
            return None
        addr |= offset & 3
        return (addr >> 16) & 0xFF, (addr >> 8) & 0xFF, addr & 0xFF

    def read(self, offset: int, size: int) -> int:
        t = self._target(offset)
        if t is None:
            return 0xFFFFFFFF
        return self.host.config_read(t[0], t[1], t[2], size, extended=False)

    def write(self, offset: int, size: int, value: int) -> None:
        t = self._target(offset)
        if t is not None:
            self.host.config_write(t[0], t[1], t[2], size, value, extended=False)


class _EcamOps:
    """ECAM: offset = (bus - first bus) << 20 | devfn << 12 | register."""

    rules = _ECAM_RULES

    def __init__(self, host: PciHost, first_bus: int) -> None:
        self.host = host
        self.first_bus = first_bus

    def read(self, offset: int, size: int) -> int:
        bus = self.first_bus + (offset >> 20)
        return self.host.config_read(bus, (offset >> 12) & 0xFF, offset & 0xFFF, size)

    def write(self, offset: int, size: int, value: int) -> None:
        bus = self.first_bus + (offset >> 20)
        self.host.config_write(bus, (offset >> 12) & 0xFF, offset & 0xFFF, size, value)


class PciHost:
    """The host bridge of one PCI domain, between the CPU's address spaces and the root bus.

    - ``io_space``/``io_offset``: where PCI I/O addresses appear to the CPU
      (x86: the port space at 0; arm64 ``virt``: memory at 0x3eff0000).
      Memory BARs appear at their bus address in ``machine.memory``.
    - ``mem_windows``/``io_windows``: the host's forwarding apertures ((start,
      end) pairs of bus addresses); None forwards everything.
    - ``map_irq(slot, pin)`` -> index into ``intx_irqs`` (pins 0-based): the
      root bus's INTx routing; ``intx_irqs`` are machine interrupt numbers.
    - ``dma_space``: what bus masters reach (``machine.memory``; no IOMMU).
    - ``bar_priority``: priority of BAR regions in the address space (-1: RAM
      and the board's own devices win over a BAR placed on top of them, as
      QEMU's PCI address space sits below system memory).
    - ``express``: the root complex carries extended (4 KiB) config space.
    """

    def __init__(self, machine: Machine, *, name: str = "pci", domain: int = 0,
                 bus_number: int = 0, io_space: AddressSpace | None = None,
                 io_offset: int = 0, mem_windows: Iterable[Window] | None = None,
                 io_windows: Iterable[Window] | None = None,
                 dma_space: AddressSpace | None = None,
                 map_irq: Callable[[int, int], int] | None = None,
                 intx_irqs: Iterable[int | None] = (None, None, None, None),
                 bar_priority: int = -1, allow_zero_address: bool = False,
                 express: bool = False) -> None:
        self.machine = machine
        self.name = name
        self.domain = domain
        self.io_space = io_space if io_space is not None else machine.io
        self.io_offset = io_offset
        self.mem_windows = list(mem_windows) if mem_windows is not None else None
        self.io_windows = list(io_windows) if io_windows is not None else None
        self.dma_space = dma_space if dma_space is not None else machine.memory
        self.map_irq = map_irq or swizzle
        self.intx_irqs = list(intx_irqs)
        self.bar_priority = bar_priority
        self.allow_zero_address = allow_zero_address
        self.express = express
        self.root = PciBus(self, None, bus_number)
        self.config_address = 0  # the CF8 latch
        self._intx_count: dict[int, int] = {}
        #: every MSI/MSI-X message posted: (function address, message address, data)
        self.msi_log: list[tuple[str, int, int]] = []
        self.config_regions: list[Region] = []

    # -- presets ----------------------------------------------------------------------------

    @classmethod
    def i440fx(cls, machine: Machine, *, with_host_bridge: bool = True) -> PciHost:
        """QEMU's ``pc`` machine: CF8/CFC config access, I/O BARs in the port space,
        INTx through the PIIX3 PIRQ lines as SeaBIOS programs them (A-D -> 10, 10,
        11, 11; slot s pin p uses PIRQ (p + s - 1) mod 4), and the 440FX host
        bridge (8086:1237 rev 02) at 00:00.0."""
        host = cls(machine, name="pci", io_space=machine.io,
                   map_irq=lambda slot, pin: (pin + slot - 1) & 3,
                   intx_irqs=(10, 10, 11, 11))
        host.add_cf8_cfc()
        if with_host_bridge:
            host.plug(PciFunction("i440FX", vendor_id=0x8086, device_id=0x1237, revision=0x02,
                                  class_code=0x060000), 0)
        return host

    @classmethod
    def virt(cls, machine: Machine, *, with_host_bridge: bool = True) -> PciHost:
        """QEMU's arm64 ``virt`` machine: ECAM at 0x4010000000 (256 buses), PCI I/O
        space at 0x3eff0000, memory windows 0x10000000-0x3efeffff and
        0x8000000000-0xffffffffff, INTA-D on GIC SPIs 3-6 (interrupt IDs 35-38)
        swizzled by slot, and the generic host bridge (1b36:0008) at 00:00.0."""
        host = cls(machine, name="pcie", io_space=machine.memory, io_offset=0x3EFF0000,
                   io_windows=[(0, 0xFFFF)],
                   mem_windows=[(0x10000000, 0x3EFEFFFF), (0x8000000000, 0xFFFFFFFFFF)],
                   map_irq=swizzle, intx_irqs=(35, 36, 37, 38), express=True)
        host.add_ecam(0x4010000000, 256 << 20, name="pcie-ecam")
        if with_host_bridge:
            host.plug(PciFunction("gpex-root", vendor_id=0x1B36, device_id=0x0008,
                                  class_code=0x060000), 0)
        return host

    # -- config mechanisms ------------------------------------------------------------------

    def add_cf8_cfc(self, space: AddressSpace | None = None) -> tuple[Region, Region]:
        """Map CONFIG_ADDRESS (0xcf8, 4 bytes) and CONFIG_DATA (0xcfc, 4 bytes) in the
        I/O-port space, named as QEMU names them."""
        space = space if space is not None else self.machine.io
        idx = space.add_region(Region("pci-conf-idx", 0xCF8, 4, "io",
                                      ops=_ConfigAddressPort(self)))
        data = space.add_region(Region("pci-conf-data", 0xCFC, 4, "io",
                                       ops=_ConfigDataPort(self)))
        self.config_regions += [idx, data]
        return idx, data

    def add_ecam(self, base: int, size: int = 256 << 20, *, first_bus: int = 0,
                 name: str = "pcie-mmcfg-mmio", space: AddressSpace | None = None) -> Region:
        """Map an ECAM window of ``size`` bytes (1 MiB per bus) at ``base``."""
        if size < 1 << 20 or size & ((1 << 20) - 1) or size > 256 << 20:
            raise ConfigError(f"ECAM size 0x{size:x} is not 1-256 buses of 1 MiB")
        space = space if space is not None else self.machine.memory
        region = space.add_region(Region(name, base, size, "io",
                                         ops=_EcamOps(self, first_bus)))
        self.config_regions.append(region)
        return region

    # -- topology ---------------------------------------------------------------------------

    def plug(self, function: PciFunction, slot: int, func: int = 0,
             bus: PciBus | None = None) -> PciFunction:
        """Plug ``function`` at ``slot``.``func`` of ``bus`` (the root bus by default)."""
        return (bus or self.root).plug(function, slot, func)

    def find_bus(self, number: int) -> PciBus | None:
        return self.root.find_bus(number)

    def function_at(self, bus: int, devfn: int) -> PciFunction | None:
        """The function a config cycle to ``bus``/``devfn`` reaches, or None."""
        b = self.find_bus(bus)
        return b.function(devfn) if b is not None else None

    def lookup(self, address: str) -> PciFunction | None:
        """The function at ``[dddd:]bb:ss.f``."""
        domain, bus, slot, func = parse_bdf(address)
        if domain != self.domain:
            return None
        return self.function_at(bus, R.PCI_DEVFN(slot, func))

    def functions(self) -> Iterator[PciFunction]:
        return self.root.walk()

    # -- config cycles (the Python API the kernel's pci_ops use) ----------------------------

    def _limit(self, fn: PciFunction, extended: bool) -> int:
        if extended and self.express:
            return fn.config.size
        return R.PCI_CFG_SPACE_SIZE

    def config_read(self, bus: int, devfn: int, where: int, size: int, *,
                    extended: bool = True) -> int:
        """One config read: all-ones when no function answers or beyond its space."""
        if size not in _SIZE_MASK:
            raise ValueError(f"config access size must be 1, 2 or 4, not {size}")
        fn = self.function_at(bus, devfn)
        if fn is None:
            return _SIZE_MASK[size]
        limit = self._limit(fn, extended)
        if where < 0 or where >= limit:
            return _SIZE_MASK[size]
        n = min(size, limit - where)
        return fn.config_read(where, n)

    def config_write(self, bus: int, devfn: int, where: int, size: int, value: int, *,
                     extended: bool = True) -> None:
        """One config write (dropped when no function answers)."""
        if size not in _SIZE_MASK:
            raise ValueError(f"config access size must be 1, 2 or 4, not {size}")
        fn = self.function_at(bus, devfn)
        if fn is None:
            return
        limit = self._limit(fn, extended)
        if where < 0 or where >= limit:
            return
        n = min(size, limit - where)
        fn.config_write(where, n, value & _SIZE_MASK[n])

    # -- what the root complex forwards -----------------------------------------------------

    def space_for(self, io: bool) -> tuple[AddressSpace, int]:
        """(address space, offset) where a BAR of that kind appears to the CPU."""
        if io:
            return self.io_space, self.io_offset
        return self.machine.memory, 0

    def forwards(self, io: bool, start: int, end: int) -> bool:
        windows = self.io_windows if io else self.mem_windows
        if windows is None:
            return True
        return any(lo <= start and end <= hi for lo, hi in windows)

    # -- interrupts -------------------------------------------------------------------------

    def change_irq_level(self, slot: int, pin: int, change: int) -> None:
        """A root-bus INTx pin changed (+1/-1): count asserters per routed line and
        drive the machine interrupt it is routed to."""
        line = self.map_irq(slot, pin)
        self._intx_count[line] = self._intx_count.get(line, 0) + change
        irq = self.intx_irqs[line] if 0 <= line < len(self.intx_irqs) else None
        if irq is None:
            return
        # several routed lines may share one interrupt (PIRQC and PIRQD both on 11 on
        # pc): the interrupt is their OR.  A line is up while its count is non-zero,
        # as in QEMU's pci_bus_change_irq_level -- a count QEMU's byte-wide INTx-disable
        # quirk can drive negative (see PciFunction.config_write).
        level = any(c != 0 for ln, c in self._intx_count.items()
                    if 0 <= ln < len(self.intx_irqs) and self.intx_irqs[ln] == irq)
        self.machine.irq(irq).set(level)

    def irq_for(self, function: PciFunction, pin: int | None = None) -> int | None:
        """The machine interrupt a function's INTx pin reaches (pins 1-4; default its own)."""
        if pin is None:
            pin = function.interrupt_pin
        if not pin or function.bus is None:
            return None
        p = pin - 1
        dev: PciFunction = function
        bus = function.bus
        while bus.parent is not None:
            p = swizzle(dev.slot, p)
            dev = bus.parent
            if dev.bus is None:
                return None
            bus = dev.bus
        line = self.map_irq(dev.slot, p)
        return self.intx_irqs[line] if 0 <= line < len(self.intx_irqs) else None

    def assign_interrupt_lines(self) -> None:
        """Write each function's Interrupt Line register, as the firmware does."""
        for fn in self.functions():
            irq = self.irq_for(fn)
            if irq is not None:
                fn.config.set_byte(R.PCI_INTERRUPT_LINE, irq & 0xFF)

    def deliver_msi(self, function: PciFunction, address: int, data: int) -> None:
        """A bus master posted an MSI: a DWORD write of ``data`` at ``address`` through
        the DMA address space.  Nothing there: a master abort, recorded and dropped."""
        self.msi_log.append((function.address, address, data))
        space = self.dma_space
        fr = space.lookup(address) if address + 3 <= space.limit else None
        if fr is None or address + 3 > fr.end:
            function.dma_errors.append(BusError("unassigned", address, 4, True, None,
                                                f"MSI by {function.address}"))
            return
        try:
            space.write(address, 4, data & 0xFFFFFFFF)
        except BusError as err:
            function.dma_errors.append(err)

    # -- reset ------------------------------------------------------------------------------

    def reset(self) -> None:
        """A system reset of the hierarchy: every function, CF8 latch cleared."""
        self.config_address = 0
        self.root.reset()

    def __repr__(self) -> str:
        return f"<PciHost {self.name} domain {self.domain:04x}>"
