"""The ``pc`` board: QEMU's x86_64 i440FX machine as the VM lab runs it (hw/i386/pc_piix.c).

The hardware: RAM (1 GiB by default, the lab's size), the BIOS ROM at the top
of 4 GiB, the i440FX host bridge with CF8/CFC config access and PIIX3 INTx
routing (PIRQA-D on irqs 10, 10, 11, 11), the APIC MSI window at 0xfee00000,
and on the root bus QEMU's own functions (PIIX3 ISA 00:01.0, IDE 00:01.1,
PIIX4 ACPI 00:01.3), its default VGA (00:02.0) and e1000 (00:03.0), then the
devices asked for (``devices=["edu"]`` by default: 00:04.0).  The chipset,
VGA and e1000 functions carry their identity and BARs only; their registers
are not modelled.  ``nodefaults=True`` drops VGA and e1000 as
``-nodefaults`` does.

Firmware: the board plays SeaBIOS (src/fw/pciinit.c): it sizes every BAR,
sorts them by size and packs them downwards from 0xfec00000 (prefetchable
and non-prefetchable regions), I/O from 0xc000, turns on I/O, memory and
SERR decode and writes the interrupt line.  With the default devices this
lands the edu BAR at fea00000, as on the real guest.

Kernel: the resource tree as Debian 6.1 builds it on this machine (e820
Reserved/System RAM lines, the kernel image without KASLR, the option ROMs
probe_roms finds, the ACPI host bridge windows named "PCI Bus 0000:00",
IOAPIC/HPET/Local APIC, late e820 reservations), the IO-APIC irqs, type-1
config access, the firmware's BAR assignment kept (pcibios_resource_survey)
and the ACPI interrupt links announced the first time a device on them is
enabled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..devices.pci import MsiDoorbell, PciBridge, PciFunction, PciHost
from ..devices.pci import regs as PR
from ..devices.pci.config import BarKind
from ..devices.pci.function import BarOps
from ..kernel import ioport as F
from ..kernel.irq import irq_core
from ..kernel.kernel import Kernel
from ..kernel.pci import (
    PCI_SLOT,
    PciConf1Ops,
    pci_assign_unassigned_resources,
    pci_bus_add_devices,
    pci_core,
    pci_dev,
    pci_host_bridge,
    pci_scan_root_bus_bridge,
    pcibios_resource_survey,
)
from ..kernel.resource import Resource, insert_resource, insert_resource_conflict
from ..machine import Machine
from ..phys import IGNORE, AccessRules
from . import Board, register_board

MiB = 1 << 20
GiB = 1 << 30

PCI_HOLE_END = 0xFEC00000  # SeaBIOS BUILD_PCIMEM_END
IOAPIC_BASE = 0xFEC00000
HPET_BASE = 0xFED00000
LAPIC_BASE = 0xFEE00000
BIOS_SIZE = 256 * 1024
AMD_HT_START = 0xFD00000000
AMD_HT_END = 0xFFFFFFFFFF

# the Debian 6.1.0 kernel image as placed without KASLR (LOAD_PHYSICAL_ADDR, 16 MiB)
KERNEL_IMAGE = (("Kernel code", 0x01000000, 0x01E01D31),
                ("Kernel rodata", 0x02000000, 0x028EAFFF),
                ("Kernel data", 0x02A00000, 0x02C4897F),
                ("Kernel bss", 0x03310000, 0x043FFFFF))

_NOREGS = AccessRules(valid_sizes=frozenset({1, 2, 4, 8}))


def _noregs(name: str) -> BarOps:
    """A register file that is not modelled: reads 0, ignores writes."""
    return BarOps(_NOREGS, lambda off, size: 0, lambda off, size, value: None)


class QemuPciFunction(PciFunction):
    """A QEMU function present for its identity and BARs (the registers read 0)."""

    status = 0
    #: config bytes from 0x40 up as a booted guest shows them (chipset registers)
    extra: dict[int, int] = {}

    def __init__(self, name: str | None = None, **ident: int | bool | None) -> None:
        super().__init__(name, **ident)
        if self.status:
            self.config.set_word(PR.PCI_STATUS, self.status)
        for off, val in self.extra.items():
            self.config.set_byte(off, val)


class I440fxHost(QemuPciFunction):
    name = "i440FX"
    vendor_id, device_id, revision, class_code = 0x8086, 0x1237, 0x02, 0x060000
    extra = {0x57: 0x80, 0x59: 0x10, 0x5A: 0x11, 0x5B: 0x11, 0x5C: 0x11, 0x5D: 0x11,
             0x5E: 0x11, 0x5F: 0x33, 0x72: 0x0A}


class Piix3Isa(QemuPciFunction):
    name = "PIIX3"
    vendor_id, device_id, class_code = 0x8086, 0x7000, 0x060100
    multifunction = True
    status = 0x0200
    extra = {0x4C: 0x4D, 0x4E: 0x03, 0x60: 0x0A, 0x61: 0x0B, 0x62: 0x8B, 0x63: 0x8B,
             0x69: 0x02, 0x70: 0x80, 0x76: 0x0C, 0x77: 0x0C, 0x78: 0x02, 0x82: 0x02,
             0xA0: 0x08, 0xA8: 0x0F}


class Piix3Ide(QemuPciFunction):
    name = "piix3-ide"
    vendor_id, device_id, class_code = 0x8086, 0x7010, 0x010180
    status = 0x0280
    extra = {0x41: 0x80, 0x43: 0x80}

    def __init__(self) -> None:
        super().__init__()
        self.add_bar(4, 16, BarKind.IO, name="piix-bmdma", ops=_noregs("bmdma"))


class Piix4Acpi(QemuPciFunction):
    name = "PIIX4_PM"
    vendor_id, device_id, revision, class_code = 0x8086, 0x7113, 0x03, 0x068000
    interrupt_pin = 1
    status = 0x0280
    extra = {0x40: 0x01, 0x41: 0x06, 0x5B: 0x02, 0x5F: 0x10, 0x63: 0x60, 0x67: 0x08,
             0x80: 0x01, 0x90: 0x01, 0x91: 0x07, 0xD2: 0x09}


class StdVga(QemuPciFunction):
    """QEMU's ``VGA`` (1234:1111): 16 MiB framebuffer, 4 KiB MMIO, the vgabios ROM."""

    name = "VGA"
    vendor_id, device_id, revision, class_code = 0x1234, 0x1111, 0x02, 0x030000

    def __init__(self) -> None:
        super().__init__()
        self.add_bar(0, 16 * MiB, BarKind.MEM32, prefetch=True, name="vga.vram",
                     ops=_noregs("vram"))
        self.add_bar(2, 4096, BarKind.MEM32, name="vga.mmio", ops=_noregs("mmio"))
        self.add_rom(b"\x55\xaa\x4e", size=64 * 1024, name="vga.rom")


class E1000(QemuPciFunction):
    """QEMU's default NIC (8086:100e): 128 KiB MMIO, 64 I/O ports, the iPXE ROM."""

    name = "e1000"
    vendor_id, device_id, revision, class_code = 0x8086, 0x100E, 0x03, 0x020000
    interrupt_pin = 1

    def __init__(self) -> None:
        super().__init__()
        self.add_bar(0, 128 * 1024, BarKind.MEM32, name="e1000-mmio", ops=_noregs("mmio"))
        self.add_bar(1, 64, BarKind.IO, name="e1000-io", ops=_noregs("io"))
        self.add_rom(b"\x55\xaa\x01", size=256 * 1024, name="e1000.rom")


class Virtio9p(QemuPciFunction):
    """``virtio-9p-pci`` (1af4:1009), as the VM lab adds two for its shares: I/O,
    MMIO and 64-bit prefetchable BARs (MSI-X and the virtio capabilities are not
    modelled)."""

    name = "virtio-9p-pci"
    vendor_id, device_id, class_code = 0x1AF4, 0x1009, 0x000200
    subsystem_vendor_id, subsystem_id = 0x1AF4, 0x0009
    interrupt_pin = 1

    def __init__(self) -> None:
        super().__init__()
        self.add_bar(0, 64, BarKind.IO, name="virtio-pci-io", ops=_noregs("io"))
        self.add_bar(1, 4096, BarKind.MEM32, name="virtio-pci-msix", ops=_noregs("msix"))
        self.add_bar(4, 16 * 1024, BarKind.MEM64, prefetch=True, name="virtio-pci",
                     ops=_noregs("virtio"))


def _device_registry() -> dict[str, type[PciFunction]]:
    from ..devices.edu import EduDevice

    return {"edu": EduDevice, "pci-bridge": PciBridge, "VGA": StdVga, "e1000": E1000,
            "virtio-9p-pci": Virtio9p}


# -- firmware: SeaBIOS's PCI set-up (src/fw/pciinit.c) -----------------------------------

@dataclass
class _Entry:
    fn: PciFunction | None
    bar: int  # -1: a bridge window of the bus behind ``fn``
    size: int
    align: int
    kind: str  # io, mem, pref
    is64: bool
    child: int = -1


class SeaBios:
    """The PCI half of SeaBIOS: bus numbering, BAR sizing and packing, decode on."""

    def __init__(self, host: PciHost, mem_start: int, mem_end: int = PCI_HOLE_END) -> None:
        self.host = host
        self.mem_start = mem_start
        self.mem_end = mem_end
        self.buses: list[list[PciFunction]] = []
        self.bridges: dict[int, PciBridge] = {}

    def cfg_read(self, fn: PciFunction, off: int, size: int) -> int:
        assert fn.bus is not None and fn.devfn is not None
        return self.host.config_read(fn.bus.number, fn.devfn, off, size)

    def cfg_write(self, fn: PciFunction, off: int, size: int, value: int) -> None:
        assert fn.bus is not None and fn.devfn is not None
        self.host.config_write(fn.bus.number, fn.devfn, off, size, value)

    def run(self) -> None:
        self._number(self.host.root, 0)
        regions = self._check(0)
        self._place_root(regions)
        for fns in self.buses:
            for fn in fns:
                self._init_device(fn)

    def _number(self, bus, number: int) -> int:
        """Depth-first bus numbers (pci_bios_init_bus_rec)."""
        while len(self.buses) <= number:
            self.buses.append([])
        fns = [bus.devices[d] for d in sorted(bus.devices)]
        self.buses[number] = fns
        maxb = number
        for fn in fns:
            if isinstance(fn, PciBridge):
                sec = maxb + 1
                self.cfg_write(fn, PR.PCI_PRIMARY_BUS, 1, number)
                self.cfg_write(fn, PR.PCI_SECONDARY_BUS, 1, sec)
                self.cfg_write(fn, PR.PCI_SUBORDINATE_BUS, 1, 0xFF)
                self.bridges[sec] = fn
                maxb = self._number(fn.secondary, sec)
                self.cfg_write(fn, PR.PCI_SUBORDINATE_BUS, 1, maxb)
        return maxb

    def _bar_size(self, fn: PciFunction, reg: int, rom: bool) -> tuple[int, int, bool]:
        old = self.cfg_read(fn, reg, 4)
        mask = PR.PCI_ROM_ADDRESS_MASK if rom else 0xFFFFFFFF
        self.cfg_write(fn, reg, 4, mask)
        val = self.cfg_read(fn, reg, 4)
        self.cfg_write(fn, reg, 4, old)
        if rom:
            return ((~(val & PR.PCI_ROM_ADDRESS_MASK) + 1) & 0xFFFFFFFF if val else 0), val, False
        if val & PR.PCI_BASE_ADDRESS_SPACE_IO:
            m = PR.PCI_BASE_ADDRESS_IO_MASK & 0xFFFF
            return ((~(val & m) + 1) & 0xFFFF) if val & m else 0, val, False
        is64 = (val & PR.PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PR.PCI_BASE_ADDRESS_MEM_TYPE_64
        size = val & PR.PCI_BASE_ADDRESS_MEM_MASK
        if is64:
            oldh = self.cfg_read(fn, reg + 4, 4)
            self.cfg_write(fn, reg + 4, 4, 0xFFFFFFFF)
            hi = self.cfg_read(fn, reg + 4, 4)
            self.cfg_write(fn, reg + 4, 4, oldh)
            size |= hi << 32
            return ((~size + 1) & 0xFFFFFFFFFFFFFFFF) if size else 0, val, True
        return ((~size + 1) & 0xFFFFFFFF) if size else 0, val, False

    def _check(self, busnr: int) -> dict[str, list[_Entry]]:
        """Every entry of bus ``busnr``, sorted as pci_region_create_entry sorts them."""
        regions: dict[str, list[_Entry]] = {"io": [], "mem": [], "pref": []}
        for fn in self.buses[busnr]:
            if isinstance(fn, PciBridge):
                sec = fn.config.get_byte(PR.PCI_SECONDARY_BUS)
                child = self._check(sec)
                for kind, minimum in (("io", 0x1000), ("mem", MiB), ("pref", MiB)):
                    ents = child[kind]
                    if not ents:
                        continue
                    align = max(max(e.align for e in ents), minimum)
                    size = sum(e.size for e in ents)
                    size = (size + align - 1) & ~(align - 1)
                    is64 = kind == "pref" and all(e.is64 for e in ents)
                    self._insert(regions[kind], _Entry(fn, -1, size, align, kind, is64, sec))
                    fn.fw_regions = child  # type: ignore[attr-defined]
                nbars = 2
                rom_reg = PR.PCI_ROM_ADDRESS1
            else:
                nbars = 6
                rom_reg = PR.PCI_ROM_ADDRESS
            i = 0
            while i <= nbars:
                rom = i == nbars
                reg = rom_reg if rom else PR.PCI_BASE_ADDRESS_0 + 4 * i
                size, val, is64 = self._bar_size(fn, reg, rom)
                bar = PR.PCI_ROM_RESOURCE if rom else i
                i += 2 if is64 else 1
                if not size:
                    continue
                if not rom and val & PR.PCI_BASE_ADDRESS_SPACE_IO:
                    kind = "io"
                elif not rom and val & PR.PCI_BASE_ADDRESS_MEM_PREFETCH:
                    kind = "pref"
                else:
                    kind = "mem"
                self._insert(regions[kind], _Entry(fn, bar, size, size, kind, is64))
        return regions

    @staticmethod
    def _insert(lst: list[_Entry], e: _Entry) -> None:
        for i, pos in enumerate(lst):
            if pos.align < e.align or (pos.align == e.align and pos.size < e.size):
                lst.insert(i, e)
                return
        lst.append(e)

    def _place_root(self, regions: dict[str, list[_Entry]]) -> None:
        io = regions["io"]
        io_sum = sum(e.size for e in io)
        io_base = 0xC000 if io_sum < 0x4000 else 0x1000
        self._map(io, io_base)

        def align_of(lst: list[_Entry]) -> int:
            return lst[0].align if lst else 1
        r_end, r_start = regions["pref"], regions["mem"]
        if align_of(r_start) < align_of(r_end):
            r_end, r_start = r_start, r_end
        end_base = (self.mem_end - sum(e.size for e in r_end)) & ~(align_of(r_end) - 1)
        start_base = (end_base - sum(e.size for e in r_start)) & ~(align_of(r_start) - 1)
        if start_base < self.mem_start:
            raise ValueError("the PCI devices' memory BARs do not fit below 0xfec00000")
        self._map(r_end, end_base)
        self._map(r_start, start_base)

    def _map(self, entries: list[_Entry], base: int) -> None:
        for e in entries:
            addr = base
            base += e.size
            fn = e.fn
            assert fn is not None
            if e.bar == -1:
                self._set_window(fn, e.kind, addr, e.size)
                self._map(fn.fw_regions[e.kind], addr)  # type: ignore[attr-defined]
                continue
            if e.bar == PR.PCI_ROM_RESOURCE:
                reg = (PR.PCI_ROM_ADDRESS1 if isinstance(fn, PciBridge) else PR.PCI_ROM_ADDRESS)
                self.cfg_write(fn, reg, 4, addr & 0xFFFFFFFF)
                continue
            reg = PR.PCI_BASE_ADDRESS_0 + 4 * e.bar
            old = self.cfg_read(fn, reg, 4)
            low = old & (0x3 if e.kind == "io" else 0xF)
            self.cfg_write(fn, reg, 4, (addr & 0xFFFFFFFF) | low)
            if e.is64:
                self.cfg_write(fn, reg + 4, 4, addr >> 32)

    def _set_window(self, br: PciFunction, kind: str, addr: int, size: int) -> None:
        end = addr + size - 1
        if kind == "io":
            self.cfg_write(br, PR.PCI_IO_BASE, 1, (addr >> 8) & 0xF0)
            self.cfg_write(br, PR.PCI_IO_LIMIT, 1, (end >> 8) & 0xF0)
            self.cfg_write(br, PR.PCI_IO_BASE_UPPER16, 4, 0)
        elif kind == "mem":
            self.cfg_write(br, PR.PCI_MEMORY_BASE, 2, (addr >> 16) & 0xFFF0)
            self.cfg_write(br, PR.PCI_MEMORY_LIMIT, 2, (end >> 16) & 0xFFF0)
        else:
            self.cfg_write(br, PR.PCI_PREF_MEMORY_BASE, 2, (addr >> 16) & 0xFFF0)
            self.cfg_write(br, PR.PCI_PREF_MEMORY_LIMIT, 2, (end >> 16) & 0xFFF0)
            self.cfg_write(br, PR.PCI_PREF_BASE_UPPER32, 4, addr >> 32)
            self.cfg_write(br, PR.PCI_PREF_LIMIT_UPPER32, 4, end >> 32)

    def _init_device(self, fn: PciFunction) -> None:
        """pci_bios_init_device: decode and SERR on, the interrupt line written."""
        cmd = self.cfg_read(fn, PR.PCI_COMMAND, 2)
        self.cfg_write(fn, PR.PCI_COMMAND, 2, cmd | PR.PCI_COMMAND_IO | PR.PCI_COMMAND_MEMORY
                       | PR.PCI_COMMAND_SERR)
        if isinstance(fn, PciBridge):
            ctl = self.cfg_read(fn, PR.PCI_BRIDGE_CONTROL, 2)
            self.cfg_write(fn, PR.PCI_BRIDGE_CONTROL, 2, ctl | PR.PCI_BRIDGE_CTL_SERR)
        pin = self.cfg_read(fn, PR.PCI_INTERRUPT_PIN, 1)
        if not pin:
            return
        irq = 9 if isinstance(fn, Piix4Acpi) else self.host.irq_for(fn)
        if irq is not None:
            self.cfg_write(fn, PR.PCI_INTERRUPT_LINE, 1, irq)


# -- the board ------------------------------------------------------------------------

def _parse_device(spec: object, registry: dict[str, type[PciFunction]]
                  ) -> tuple[PciFunction, int | None, int]:
    """A device spec: a name ("edu"), "name@slot[.fn]", or a PciFunction instance."""
    if isinstance(spec, PciFunction):
        return spec, None, 0
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], PciFunction):
        return spec[0], int(spec[1]), 0
    if not isinstance(spec, str):
        raise TypeError(f"a pc device is a name or a PciFunction, not {spec!r}")
    name, _, where = spec.partition("@")
    cls = registry.get(name)
    if cls is None:
        raise ValueError(f"unknown pc device {name!r}; known: {', '.join(sorted(registry))}")
    slot, func = None, 0
    if where:
        s, _, f = where.partition(".")
        try:
            slot, func = int(s, 0), int(f or "0", 0)
        except ValueError:
            raise ValueError(f"bad slot in device spec {spec!r}: use name@slot[.fn]") from None
    return cls(), slot, func


def _plug_all(bus, specs: list[object], registry: dict[str, type[PciFunction]]) -> None:
    """Plug each spec into ``bus``; ``(bridge_spec, [specs...])`` plugs a bridge and then
    the devices behind it.  A spec without a slot takes the first free one (QEMU's rule)."""
    for spec in specs:
        children = None
        if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], list):
            spec, children = spec
        fn, slot, func = _parse_device(spec, registry)
        if slot is None:
            first = 1 if bus.parent is None else 0
            slot = next((s for s in range(first, 32)
                         if all(PCI_SLOT(d) != s for d in bus.devices)), None)
            if slot is None:
                raise ValueError("no free slot on the bus")
        bus.plug(fn, slot, func)
        if children is not None:
            if not isinstance(fn, PciBridge):
                raise ValueError(f"{fn.name} is not a bridge: nothing can sit behind it")
            _plug_all(fn.secondary, children, registry)


@register_board("pc")
def build_pc(ram_mb: int = 1024, devices: Iterable[object] | None = None,
             nodefaults: bool = False, kaslr: bool = False) -> Board:
    """QEMU ``pc`` with ``ram_mb`` of RAM, QEMU's default devices (unless
    ``nodefaults``) and ``devices`` (default: edu, landing at 00:04.0)."""
    if ram_mb < 64:
        raise ValueError("the pc board needs at least 64 MiB of RAM")
    ram = ram_mb * MiB
    below_4g = ram if ram < 0xE0000000 else 0xE0000000
    above_4g = ram - below_4g
    m = Machine("pc", arch="x86_64", bus_error_policy=IGNORE)
    m.add_ram("pc.ram", 0, 0xA0000)
    m.add_rom("pc.rom", 0xC0000, 0x40000)
    m.add_ram("pc.ram-high", 0x100000, below_4g - 0x100000)
    if above_4g:
        m.add_ram("pc.ram-above-4g", 1 << 32, above_4g)
    m.add_rom("pc.bios", (1 << 32) - BIOS_SIZE, BIOS_SIZE)
    m.add_device(MsiDoorbell.x86_apic(), LAPIC_BASE)
    host = PciHost.i440fx(m, with_host_bridge=False)
    host.plug(I440fxHost(), 0)
    host.plug(Piix3Isa(), 1, 0)
    host.plug(Piix3Ide(), 1, 1)
    host.plug(Piix4Acpi(), 1, 3)
    if not nodefaults:
        host.plug(StdVga(), 2)
        host.plug(E1000(), 3)
    registry = _device_registry()
    _plug_all(host.root, ["edu"] if devices is None else list(devices), registry)
    SeaBios(host, below_4g).run()
    hole64 = ((1 << 32) + above_4g + GiB - 1) & ~(GiB - 1)

    def populate(k: Kernel) -> None:
        _populate(k, host, below_4g, above_4g, hole64, kaslr)

    b = Board("pc", m, "x86_64", populate, model="")
    b.host = host  # type: ignore[attr-defined]
    return b


def _e820(below_4g: int, above_4g: int) -> list[tuple[int, int, str]]:
    """The e820 map SeaBIOS hands over, as the kernel keeps it (page 0 reserved)."""
    table = [(0x0, 0xFFF, "reserved"), (0x1000, 0x9FBFF, "usable"),
             (0x9FC00, 0x9FFFF, "reserved"), (0xF0000, 0xFFFFF, "reserved"),
             (0x100000, below_4g - 0x20001, "usable"),
             (below_4g - 0x20000, below_4g - 1, "reserved"),
             (0xFFFC0000, 0xFFFFFFFF, "reserved")]
    if above_4g:
        table.append((1 << 32, (1 << 32) + above_4g - 1, "usable"))
    table.append((AMD_HT_START, AMD_HT_END, "reserved"))
    return table


def _populate(k: Kernel, host: PciHost, below_4g: int, above_4g: int, hole64: int,
              kaslr: bool) -> None:
    e820 = _e820(below_4g, above_4g)
    k.printk_info("BIOS-provided physical RAM map:")
    raw = [(0x0, 0x9FBFF, "usable")] + e820[2:]
    for s, e, t in raw:
        k.printk_info(f"BIOS-e820: [mem 0x{s:016x}-0x{e:016x}] {t}")
    # e820__setup_pci_gap: the largest hole below 4 GiB
    k.printk_info(f"[mem {below_4g:#010x}-{(1 << 32) - BIOS_SIZE - 1:#010x}] available for "
                  "PCI devices")
    # probe_roms: the option ROMs SeaBIOS left in the shadow area (vgabios, the
    # e1000's iPXE after it shrank, linuxboot for the -kernel boot), the system ROM
    rom_flags = F.IORESOURCE_MEM | F.IORESOURCE_BUSY | F.IORESOURCE_READONLY
    fns = list(host.functions())
    pos = 0xC0000
    for present, size in ((any(isinstance(f, StdVga) for f in fns), 0x9C00),
                          (any(isinstance(f, E1000) for f in fns), 0xE00), (True, 0x600)):
        if not present:
            continue
        # probe_roms calls whatever ROM sits at 0xc0000 the video ROM
        name = "Video ROM" if pos == 0xC0000 else "Adapter ROM"
        k.request_resource(k.iomem_resource, Resource(pos, pos + size - 1, name, rom_flags))
        pos = (pos + size + 0x7FF) & ~0x7FF
    k.request_resource(k.iomem_resource, Resource(0xF0000, 0xFFFFF, "System ROM", rom_flags))
    # e820__reserve_resources: RAM and what lies below 1 MiB now, the rest late
    late: list[Resource] = []
    for s, e, t in e820:
        if t == "usable":
            res = Resource(s, e, "System RAM", F.IORESOURCE_SYSTEM_RAM | F.IORESOURCE_BUSY)
        else:
            res = Resource(s, e, "Reserved", F.IORESOURCE_MEM, F.IORES_DESC_RESERVED)
            if s >= 1 << 20:
                late.append(res)
                continue
            res.flags |= F.IORESOURCE_BUSY
        insert_resource(k.iomem_resource, res)
    if not kaslr:
        for name, s, e in KERNEL_IMAGE:
            insert_resource(k.iomem_resource, Resource(
                s, e, name, F.IORESOURCE_SYSTEM_RAM | F.IORESOURCE_BUSY))
    # legacy I/O ports (reserve_standard_io_resources)
    for s, e, name in ((0x00, 0x1F, "dma1"), (0x20, 0x21, "pic1"), (0x40, 0x43, "timer0"),
                       (0x50, 0x53, "timer1"), (0x60, 0x60, "keyboard"),
                       (0x64, 0x64, "keyboard"), (0x80, 0x8F, "dma page reg"),
                       (0xA0, 0xA1, "pic2"), (0xC0, 0xDF, "dma2"), (0xF0, 0xFF, "fpu")):
        k.request_resource(k.ioport_resource, Resource(s, e, name,
                                                       F.IORESOURCE_IO | F.IORESOURCE_BUSY))
    # the IO-APIC's inputs: ISA irqs are edge, the PCI/ACPI ones level (fasteoi)
    irqs = irq_core(k)
    irqs.auto_map = False
    for gsi in range(24):
        irqs.setup_irq_line(gsi, chip="IO-APIC", hwirq=gsi,
                            flow="fasteoi" if gsi in (9, 10, 11) or gsi >= 16 else "edge")
    # PCI: type-1 config access, the ACPI root bridge and its _CRS windows
    k.request_region(0xCF8, 8, "PCI conf1")
    k.printk_info("PCI: Using configuration type 1 for base access")
    k.printk_info('PCI: Using host bridge windows from ACPI; if necessary, use "pci=nocrs" '
                  "and report a bug")
    k.printk_info("PCI: Using E820 reservations for host bridge windows")
    k.printk_info("ACPI: PCI Root Bridge [PCI0] (domain 0000 [bus 00-ff])")
    core = pci_core(k)
    core.min_mem = below_4g  # PCIBIOS_MIN_MEM: pci_mem_start, the start of the e820 gap
    for slot in range(3, 32):
        core.slots[(0, 0, slot)] = str(slot)
        k.printk_info(f"acpiphp: Slot [{slot}] registered")
    bridge = pci_host_bridge(k, PciConf1Ops(k), hw=host)
    name = "PCI Bus 0000:00"
    windows = [Resource(0x0000, 0x0CF7, name, F.IORESOURCE_IO | F.IORESOURCE_WINDOW),
               Resource(0x0D00, 0xFFFF, name, F.IORESOURCE_IO | F.IORESOURCE_WINDOW),
               Resource(0xA0000, 0xBFFFF, name, F.IORESOURCE_MEM | F.IORESOURCE_WINDOW),
               Resource(below_4g, PCI_HOLE_END - 1, name,
                        F.IORESOURCE_MEM | F.IORESOURCE_WINDOW),
               Resource(hole64, hole64 + (2 * GiB) - 1, name,
                        F.IORESOURCE_MEM | F.IORESOURCE_WINDOW)]
    for w in windows:
        root = k.ioport_resource if w.flags & F.IORESOURCE_IO else k.iomem_resource
        conflict = insert_resource_conflict(root, w)
        if conflict is not None:
            k.printk_info(f"acpi PNP0A03:00: ignoring host bridge window {w} (conflicts with "
                          f"{conflict.name} {conflict})")
            continue
        bridge.add_window(w)
    bridge.add_window(Resource(0, 0xFF, None, F.IORESOURCE_BUS))
    pci_scan_root_bus_bridge(bridge)
    # ACPI interrupt links (\_SB_.LNKA-D from the PIIX3 PIRQ routing, LNKS the SCI)
    links = {i: host.intx_irqs[i] for i in range(4)}
    for i, irq in links.items():
        k.printk_info(f"ACPI: PCI: Interrupt link LNK{'ABCD'[i]} configured for IRQ {irq}")
    k.printk_info("ACPI: PCI: Interrupt link LNKS configured for IRQ 9")
    k.printk_info("PCI: Using ACPI for IRQ routing")
    k.printk_info("PCI: pci_cache_line_size set to 64 bytes")
    for _s, e, t in e820:
        if t != "usable":
            continue
        start = e + 1
        align = 64 << 10 if start < 1 << 20 else (1 << 20 if start < 16 << 20 else 64 << 20)
        end = ((start + align - 1) & ~(align - 1)) - 1
        if start < end:
            k.printk_info(f"e820: reserve RAM buffer [mem {start:#010x}-{end:#010x}]")
    enabled: set[int] = set()

    def acpi_pci_irq_enable(dev: pci_dev) -> int:
        if not dev.pin or dev.bus.number != 0 or PCI_SLOT(dev.devfn) == 1:
            return 0
        link = (dev.pin - 1 + PCI_SLOT(dev.devfn) - 1) & 3
        irq = links[link]
        if link not in enabled:
            enabled.add(link)
            k.printk_info(f"ACPI: \\_SB_.LNK{'ABCD'[link]}: Enabled at IRQ {irq}")
        dev.irq = irq
        return 0
    core.enable_irq_hook = acpi_pci_irq_enable
    # pcibios_resource_survey: keep SeaBIOS's assignment; then the fixed platform devices
    pcibios_resource_survey(k)
    for s, e, nm in ((IOAPIC_BASE, IOAPIC_BASE + 0x3FF, "IOAPIC 0"),
                     (HPET_BASE, HPET_BASE + 0x3FF, "HPET 0"),
                     (LAPIC_BASE, LAPIC_BASE + 0xFFF, "Local APIC")):
        insert_resource(k.iomem_resource, Resource(s, e, nm, F.IORESOURCE_MEM | F.IORESOURCE_BUSY))
    for res in late:
        insert_resource(k.iomem_resource, res)
    pci_assign_unassigned_resources(k)
    pci_bus_add_devices(bridge.bus)
    hpet = next(r for r in k.iomem_resource.walk() if r.name == "HPET 0")
    insert_resource(hpet, Resource(HPET_BASE, HPET_BASE + 0x3FF, "PNP0103:00",
                                   F.IORESOURCE_MEM | F.IORESOURCE_BUSY))


__all__ = ["build_pc", "SeaBios", "QemuPciFunction", "I440fxHost", "Piix3Isa", "Piix3Ide",
           "Piix4Acpi", "StdVga", "E1000", "Virtio9p", "KERNEL_IMAGE"]
