"""``lspci`` as pciutils 3.9 prints it (lspci.c, ls-caps.c, ls-kernel.c), over the
functions of a simulated kernel or a sysfs tree (``/sys/bus/pci`` or one written
by :func:`iomem.kernel.pci_sysfs.write_sysfs_tree`).

The data is what lspci's linux-sysfs access method reads: the ``config``
file (the first 64 bytes, then more on demand: -xxx and the capability list
need root, as on Linux), ``resource`` for BAR addresses and sizes, ``irq``,
``vendor``/``device``/``class``, the ``driver`` link and the physical slots.
Names come from pci.ids with lspci's lookup rules (:mod:`iomem.pci.ids`).

Output: terse, ``-v``, ``-vv``/``-vvv``, ``-n``/``-nn``, ``-x``/``-xxx``/
``-xxxx``, ``-k``, ``-D``, ``-s`` and ``-d`` filters.  Capabilities decoded:
Power Management, MSI, MSI-X, Vendor Specific (generic form) and the first
line of PCI Express; others print lspci's generic ``#id [cap]`` form.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..devices.pci import regs as R
from .ids import Names, load_ids

if TYPE_CHECKING:
    from ..kernel.kernel import Kernel

PCI_ADDR_FLAG_MASK = 0xF
PCI_ADDR_MEM_MASK = ~0xF & 0xFFFFFFFFFFFFFFFF
PCI_STATUS_DEVSEL_SLOW = 0x400
PCI_STATUS_DEVSEL_MEDIUM = 0x200
PCI_STATUS_DEVSEL_FAST = 0x000
PCI_BIST_CAPABLE = 0x80
PCI_BIST_START = 0x40
PCI_BIST_CODE_MASK = 0x0F


@dataclass
class LsDevice:
    """One function as lspci's ``struct pci_dev`` + ``struct device`` see it."""

    domain: int
    bus: int
    dev: int
    func: int
    config: bytes
    vendor_id: int
    device_id: int
    device_class: int  # 16 bits: base class, subclass
    irq: int = 0
    base_addr: list[int] = field(default_factory=lambda: [0] * 6)
    #: the kernel's resource flags of each BAR (PCI_FILL_IO_FLAGS)
    flags: list[int] = field(default_factory=lambda: [0] * 6)
    size: list[int] = field(default_factory=lambda: [0] * 6)
    rom_base_addr: int = 0
    rom_size: int = 0
    rom_flags: int = 0
    phy_slot: str | None = None
    driver: str | None = None
    sizes_known: bool = True
    #: resources behind a bridge (the resource file's bridge lines), when present
    bridge_known: bool = False
    bridge_base: list[int] = field(default_factory=lambda: [0] * 4)
    bridge_size: list[int] = field(default_factory=lambda: [0] * 4)
    bridge_flags: list[int] = field(default_factory=lambda: [0] * 4)

    @property
    def slot_name(self) -> str:
        return f"{self.bus:02x}:{self.dev:02x}.{self.func}"

    def byte(self, pos: int) -> int:
        return self.config[pos]

    def word(self, pos: int) -> int:
        return self.config[pos] | (self.config[pos + 1] << 8)

    def long(self, pos: int) -> int:
        return int.from_bytes(self.config[pos:pos + 4], "little")

    def has(self, pos: int, n: int) -> bool:
        """config_fetch: are these bytes readable?"""
        return pos + n <= len(self.config)


# -- sources -------------------------------------------------------------------------

def _parse_resources(text: str) -> tuple[list[int], list[int], list[int], int, int, int]:
    base, size, flg = [0] * 6, [0] * 6, [0] * 6
    rom = rom_size = rom_flags = 0
    for i, line in enumerate(text.splitlines()[:7]):
        start, end, flags = (int(x, 16) for x in line.split())
        sz = end - start + 1 if end > start else 0
        if i < 6:
            flg[i] = flags
            base[i] = start | (flags & PCI_ADDR_FLAG_MASK)
            size[i] = sz
        else:
            rom_flags = flags
            rom, rom_size = start | (flags & PCI_ADDR_FLAG_MASK), sz
    return base, size, flg, rom, rom_size, rom_flags


def _bridge_lines(text: str) -> tuple[list[int], list[int], list[int]] | None:
    """The four bridge-window lines after the ROM (and after the six IOV lines)."""
    lines = text.splitlines()[:7 + 6 + 4]
    if len(lines) not in (7 + 4, 7 + 6 + 4):
        return None
    off = 7 + (6 if len(lines) == 17 else 0)
    base, size, flags = [], [], []
    for line in lines[off:off + 4]:
        start, end, fl = (int(x, 16) for x in line.split())
        base.append(start)
        size.append(end - start + 1 if end > start else 0)
        flags.append(fl)
    return base, size, flags


def _set_bridge(ld: LsDevice, text: str) -> None:
    br = _bridge_lines(text)
    if br is not None:
        ld.bridge_known = True
        ld.bridge_base, ld.bridge_size, ld.bridge_flags = br


def _slots(slots_dir: Path) -> dict[tuple[int, int, int], str]:
    out: dict[tuple[int, int, int], str] = {}
    if not slots_dir.is_dir():
        return out
    for s in sorted(slots_dir.iterdir(), key=lambda p: p.name):
        try:
            dom, bus, dev = (int(x, 16) for x in (s / "address").read_text().strip().split(":")[:3])
        except (OSError, ValueError):
            continue
        out.setdefault((dom, bus, dev), s.name)
    return out


def devices_from_sysfs(path: str | os.PathLike[str] = "/sys/bus/pci",
                       config_bytes: int | None = None) -> list[LsDevice]:
    """The functions under a sysfs ``bus/pci`` directory, sorted as lspci sorts them.
    ``config_bytes`` caps what ``config`` yields (64: a reader without root)."""
    base = Path(path)
    slots = _slots(base / "slots")
    out: list[LsDevice] = []
    for d in (base / "devices").iterdir():
        dom, bus, rest = d.name.split(":")
        dev, func = rest.split(".")
        cfg = (d / "config").read_bytes()
        if config_bytes is not None:
            cfg = cfg[:config_bytes]
        b, s, fl, rom, rom_size, rom_fl = _parse_resources((d / "resource").read_text())
        drv = os.path.basename(os.readlink(d / "driver")) if (d / "driver").is_symlink() else None
        ld = LsDevice(int(dom, 16), int(bus, 16), int(dev, 16), int(func),
                      cfg, int((d / "vendor").read_text(), 0),
                      int((d / "device").read_text(), 0), int((d / "class").read_text(), 0) >> 8,
                      int((d / "irq").read_text(), 0), b, fl, s, rom, rom_size, rom_fl,
                      driver=drv)
        ld.phy_slot = slots.get((ld.domain, ld.bus, ld.dev))
        _set_bridge(ld, (d / "resource").read_text())
        out.append(ld)
    out.sort(key=lambda x: (x.domain, x.bus, x.dev, x.func))
    return out


def devices_from_kernel(k: Kernel, config_bytes: int | None = None) -> list[LsDevice]:
    """The functions a simulated kernel enumerated, through its sysfs attributes."""
    from ..kernel.pci import pci_core
    from ..kernel.pci_sysfs import device_attributes

    core = pci_core(k)
    out: list[LsDevice] = []
    for dev in core.devices():
        attrs = device_attributes(dev)
        cfg = attrs["config"]
        assert isinstance(cfg, bytes)
        if config_bytes is not None:
            cfg = cfg[:config_bytes]
        res = attrs["resource"]
        assert isinstance(res, str)
        b, s, fl, rom, rom_size, rom_fl = _parse_resources(res)
        ld = LsDevice(dev.bus.domain_nr, dev.bus.number, dev.devfn >> 3, dev.devfn & 7, cfg,
                      dev.vendor, dev.device, dev.class_ >> 8, dev.irq, b, fl, s, rom, rom_size,
                      rom_fl,
                      driver=dev.driver.name if dev.driver is not None else None)
        ld.phy_slot = core.slots.get((ld.domain, ld.bus, ld.dev))
        _set_bridge(ld, res)
        out.append(ld)
    out.sort(key=lambda x: (x.domain, x.bus, x.dev, x.func))
    return out


# -- filters (lib/filter.c) ------------------------------------------------------------

def _hex_field(text: str, limit: int, what: str) -> int:
    """One hex field of a filter, or -1 for any; pciutils' lib/filter.c wording."""
    if text in ("", "*"):
        return -1
    try:
        value = int(text, 16)
    except ValueError:
        raise ValueError(what) from None
    if not 0 <= value <= limit or text.startswith(("-", "+", "0x", "0X")):
        raise ValueError(what)
    return value


def parse_slot_filter(text: str) -> tuple[int, int, int, int]:
    """``[[[[<domain>]:]<bus>]:][<slot>][.[<func>]]`` -> (domain, bus, slot, func), -1 = any."""
    domain = bus = -1
    head, _dot, f = text.partition(".")
    func = _hex_field(f, 7, "-s: Invalid function number")
    parts = head.split(":")
    if len(parts) > 3:
        raise ValueError("-s: Invalid slot/function number")
    if len(parts) == 3:
        domain = _hex_field(parts[0], 0x7FFFFFFF, "-s: Invalid domain number")
    if len(parts) >= 2:
        bus = _hex_field(parts[-2], 0xFF, "-s: Invalid bus number")
    slot = _hex_field(parts[-1], 0x1F, "-s: Invalid slot number")
    return domain, bus, slot, func


def parse_id_filter(text: str) -> tuple[int, int]:
    """``[<vendor>]:[<device>]`` -> (vendor, device), -1 = any."""
    parts = text.split(":")
    if len(parts) < 2:
        raise ValueError("-d: ':' expected")
    if len(parts) > 2:  # a class (and prog-if) filter: not supported here
        raise ValueError("-d: class and prog-if filters are not supported; "
                         "use -d VENDOR:DEVICE")
    vend = _hex_field(parts[0], 0xFFFF, "-d: Invalid vendor ID")
    dev = _hex_field(parts[1], 0xFFFF, "-d: Invalid device ID") if len(parts) > 1 else -1
    return vend, dev


# -- output -----------------------------------------------------------------------------

def _printf(fmt: str, *args: object) -> str:
    """C's printf formatting, for lspci's long flag lines."""
    return fmt % args


def _flag(v: int, bit: int) -> str:
    return "+" if v & bit else "-"


def _devsel(status: int) -> str:
    sel = status & R.PCI_STATUS_DEVSEL_MASK
    return {PCI_STATUS_DEVSEL_SLOW: "slow", PCI_STATUS_DEVSEL_MEDIUM: "medium",
            PCI_STATUS_DEVSEL_FAST: "fast"}.get(sel, "??")


_IORESOURCE_IO = 0x100
_IORESOURCE_MEM = 0x200
_IORESOURCE_TYPE_BITS = 0x1F00
_IORESOURCE_PREFETCH = 0x2000
_IORESOURCE_MEM_64 = 0x100000
_IORESOURCE_PCI_EA_BEI = 1 << 5


def _ioflg_to_pciflg(ioflg: int) -> int:
    """The BAR type bits the kernel's resource flags stand for."""
    if ioflg & _IORESOURCE_IO:
        return R.PCI_BASE_ADDRESS_SPACE_IO
    if not ioflg & _IORESOURCE_MEM:
        return 0
    flg = R.PCI_BASE_ADDRESS_SPACE_MEMORY
    flg |= R.PCI_BASE_ADDRESS_MEM_TYPE_64 if ioflg & _IORESOURCE_MEM_64 else 0
    if ioflg & _IORESOURCE_PREFETCH:
        flg |= R.PCI_BASE_ADDRESS_MEM_PREFETCH
    return flg


def _size(x: int) -> str:
    if not x:
        return ""
    suffix = ("", "K", "M", "G", "T")
    i = 0
    while i < len(suffix) - 1 and not x % 1024:
        x //= 1024
        i += 1
    return f" [size={x & 0xFFFFFFFF}{suffix[i]}]"


class Lspci:
    """One lspci run's options; :meth:`render` gives its standard output."""

    def __init__(self, verbose: int = 0, numeric: int = 0, hexdump: int = 0, kernel: bool = False,
                 domains: bool = False, ids_path: str | None = None) -> None:
        self.verbose = verbose
        self.hex = hexdump
        self.kernel = kernel
        self.domains = domains
        self.names = Names(load_ids(ids_path), numeric)
        self._out: list[str] = []

    def p(self, s: str) -> None:
        self._out.append(s)

    def render(self, devices: list[LsDevice], slot: str | None = None,
               ident: str | None = None) -> str:
        self._out = []
        show_domains = self.domains or any(d.domain for d in devices)
        flt = parse_slot_filter(slot) if slot else None
        idf = parse_id_filter(ident) if ident else None
        for d in devices:
            if flt is not None:
                fd, fb, fs, ff = flt
                if (fd >= 0 and fd != d.domain) or (fb >= 0 and fb != d.bus) or \
                        (fs >= 0 and fs != d.dev) or (ff >= 0 and ff != d.func):
                    continue
            if idf is not None:
                fv, fdev = idf
                if (fv >= 0 and fv != d.vendor_id) or (fdev >= 0 and fdev != d.device_id):
                    continue
            self._show_device(d, show_domains)
        return "".join(self._out)

    # lspci.c show_device
    def _show_device(self, d: LsDevice, show_domains: bool) -> None:
        if self.verbose:
            self._show_verbose(d, show_domains)
        else:
            self._show_terse(d, show_domains)
        if self.kernel or self.verbose:
            self._show_kernel(d)
        if self.hex:
            self._show_hex_dump(d)
        if self.verbose or self.hex:
            self.p("\n")

    def _slot(self, d: LsDevice, show_domains: bool) -> str:
        return (f"{d.domain:04x}:" if show_domains else "") + d.slot_name

    def _subids(self, d: LsDevice) -> tuple[int, int]:
        htype = d.byte(R.PCI_HEADER_TYPE) & 0x7F
        if htype == R.PCI_HEADER_TYPE_NORMAL:
            return d.word(R.PCI_SUBSYSTEM_VENDOR_ID), d.word(R.PCI_SUBSYSTEM_ID)
        if htype == R.PCI_HEADER_TYPE_CARDBUS and d.has(0x40, 4):
            return d.word(0x40), d.word(0x42)
        return 0xFFFF, 0xFFFF

    def _show_terse(self, d: LsDevice, show_domains: bool) -> None:
        n = self.names
        line = (f"{self._slot(d, show_domains)} {n.cls(d.device_class)}: "
                f"{n.vendor_device(d.vendor_id, d.device_id)}")
        rev = d.byte(R.PCI_REVISION_ID)
        if rev:
            line += f" (rev {rev:02x})"
        if self.verbose:
            c = d.byte(R.PCI_CLASS_PROG)
            x = n.progif(d.device_class, c)
            if c or x is not None:
                line += f" (prog-if {c:02x}"
                if x is not None:
                    line += f" [{x}]"
                line += ")"
        self.p(line + "\n")
        if self.verbose or self.kernel:
            sv, sd = self._subids(d)
            if sv and sv != 0xFFFF:
                self.p(f"\tSubsystem: {n.subsystem(d.vendor_id, d.device_id, sv, sd)}\n")

    def _show_verbose(self, d: LsDevice, show_domains: bool) -> None:
        status = d.word(R.PCI_STATUS)
        cmd = d.word(R.PCI_COMMAND)
        cls = d.device_class
        bist = d.byte(R.PCI_BIST)
        htype = d.byte(R.PCI_HEADER_TYPE) & 0x7F
        latency = d.byte(R.PCI_LATENCY_TIMER)
        cache_line = d.byte(R.PCI_CACHE_LINE_SIZE)
        int_pin = d.byte(R.PCI_INTERRUPT_PIN)
        irq = d.irq
        self._show_terse(d, show_domains)
        if htype == R.PCI_HEADER_TYPE_NORMAL:
            if cls == 0x0604:
                self.p(f"\t!!! Invalid class {cls:04x} for header type {htype:02x}\n")
            max_lat = d.byte(R.PCI_MAX_LAT)
            min_gnt = d.byte(R.PCI_MIN_GNT)
        elif htype in (R.PCI_HEADER_TYPE_BRIDGE, R.PCI_HEADER_TYPE_CARDBUS):
            if cls >> 8 != 0x06:
                self.p(f"\t!!! Invalid class {cls:04x} for header type {htype:02x}\n")
            min_gnt = max_lat = 0
        else:
            self.p(f"\t!!! Unknown header type {htype:02x}\n")
            return
        if d.phy_slot:
            self.p(f"\tPhysical Slot: {d.phy_slot}\n")
        if self.verbose > 1:
            self.p(_printf("\tControl: I/O%s Mem%s BusMaster%s SpecCycle%s MemWINV%s VGASnoop%s "
                   "ParErr%s Stepping%s SERR%s FastB2B%s DisINTx%s\n", *(
                       _flag(cmd, b) for b in (0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80,
                                               0x100, 0x200, 0x400))))
            self.p(_printf("\tStatus: Cap%s 66MHz%s UDF%s FastB2B%s ParErr%s DEVSEL=%s >TAbort%s "
                   "<TAbort%s <MAbort%s >SERR%s <PERR%s INTx%s\n", *(
                       _flag(status, 0x10), _flag(status, 0x20), _flag(status, 0x40),
                       _flag(status, 0x80), _flag(status, 0x100), _devsel(status),
                       _flag(status, 0x800), _flag(status, 0x1000), _flag(status, 0x2000),
                       _flag(status, 0x4000), _flag(status, 0x8000), _flag(status, 0x8))))
            if cmd & R.PCI_COMMAND_MASTER:
                line = f"\tLatency: {latency}"
                if min_gnt or max_lat:
                    line += " ("
                    if min_gnt:
                        line += f"{min_gnt * 250}ns min"
                    if min_gnt and max_lat:
                        line += ", "
                    if max_lat:
                        line += f"{max_lat * 250}ns max"
                    line += ")"
                if cache_line:
                    line += f", Cache Line Size: {cache_line * 4} bytes"
                self.p(line + "\n")
            if int_pin or irq:
                pin = chr(ord("A") + int_pin - 1) if int_pin else "?"
                self.p(f"\tInterrupt: pin {pin} routed to IRQ {irq}\n")
        else:
            line = "\tFlags: "
            if cmd & R.PCI_COMMAND_MASTER:
                line += "bus master, "
            if cmd & 0x20:
                line += "VGA palette snoop, "
            if cmd & 0x80:
                line += "stepping, "
            if cmd & 0x200:
                line += "fast Back2Back, "
            if status & 0x20:
                line += "66MHz, "
            if status & 0x40:
                line += "user-definable features, "
            line += f"{_devsel(status)} devsel"
            if cmd & R.PCI_COMMAND_MASTER:
                line += f", latency {latency}"
            if irq:
                line += f", IRQ {irq}"
            self.p(line + "\n")
        if bist & PCI_BIST_CAPABLE:
            if bist & PCI_BIST_START:
                self.p("\tBIST is running\n")
            else:
                self.p(f"\tBIST result: {bist & PCI_BIST_CODE_MASK:02x}\n")
        if htype == R.PCI_HEADER_TYPE_NORMAL:
            self._show_bases(d, 6)
            self._show_rom(d, R.PCI_ROM_ADDRESS)
            self._show_caps(d, R.PCI_CAPABILITY_LIST)
        elif htype == R.PCI_HEADER_TYPE_BRIDGE:
            self._show_htype1(d)
        else:
            self._show_bases(d, 1)

    def _show_bases(self, d: LsDevice, cnt: int) -> None:
        cmd = d.word(R.PCI_COMMAND)
        i = 0
        while i < cnt:
            pos = d.base_addr[i]
            length = d.size[i] if d.sizes_known else 0
            ioflg = d.flags[i]
            flg = _ioflg_to_pciflg(ioflg)
            hw_lower = hw_upper = 0
            broken = virtual = False
            if not pos and not flg and not length:
                i += 1
                continue
            line = f"\tRegion {i}: " if self.verbose > 1 else "\t"
            # a region the OS reports but the device's BAR does not hold
            hw_lower = d.long(R.PCI_BASE_ADDRESS_0 + 4 * i)
            if (hw_lower & R.PCI_BASE_ADDRESS_SPACE) == (flg & R.PCI_BASE_ADDRESS_SPACE):
                if (ioflg & _IORESOURCE_TYPE_BITS) == _IORESOURCE_MEM and \
                        (hw_lower & R.PCI_BASE_ADDRESS_MEM_TYPE_MASK) == \
                        R.PCI_BASE_ADDRESS_MEM_TYPE_64:
                    if i >= cnt - 1:
                        broken = True
                    else:
                        hw_upper = d.long(R.PCI_BASE_ADDRESS_0 + 4 * i + 1)
                if pos and not hw_lower and not hw_upper and not ioflg & _IORESOURCE_PCI_EA_BEI:
                    virtual = True
            if flg & R.PCI_BASE_ADDRESS_SPACE_IO:
                a = pos & R.PCI_BASE_ADDRESS_IO_MASK
                line += "I/O ports at "
                if a or cmd & R.PCI_COMMAND_IO:
                    line += f"{a:04x}"
                elif hw_lower:
                    line += "<ignored>"
                else:
                    line += "<unassigned>"
                if virtual:
                    line += " [virtual]"
                elif not cmd & R.PCI_COMMAND_IO:
                    line += " [disabled]"
            else:
                t = flg & R.PCI_BASE_ADDRESS_MEM_TYPE_MASK
                a = pos & PCI_ADDR_MEM_MASK
                line += "Memory at "
                if broken:
                    line += "<broken-64-bit-slot>"
                elif a:
                    line += f"{a:08x}"
                elif hw_lower or hw_upper:
                    line += "<ignored>"
                else:
                    line += "<unassigned>"
                kind = {0: "32-bit", 4: "64-bit", 2: "low-1M"}.get(t, "type 3")
                pref = "" if flg & R.PCI_BASE_ADDRESS_MEM_PREFETCH else "non-"
                line += f" ({kind}, {pref}prefetchable)"
                if virtual:
                    line += " [virtual]"
                elif not cmd & R.PCI_COMMAND_MEMORY:
                    line += " [disabled]"
            if ioflg & _IORESOURCE_PCI_EA_BEI:
                line += " [enhanced]"
            line += _size(length)
            self.p(line + "\n")
            i += 1

    def _show_rom(self, d: LsDevice, reg: int) -> None:
        rom = d.rom_base_addr
        length = d.rom_size if d.sizes_known else 0
        flg = d.long(reg)
        cmd = d.word(R.PCI_COMMAND)
        virtual = False
        if not rom and not flg and not length:
            return
        line = "\t"
        if rom & R.PCI_ROM_ADDRESS_MASK and not flg & R.PCI_ROM_ADDRESS_MASK:
            line += "[virtual] "
            flg = rom
            virtual = True
        line += "Expansion ROM at "
        if rom & R.PCI_ROM_ADDRESS_MASK:
            line += f"{rom & R.PCI_ROM_ADDRESS_MASK:08x}"
        elif flg & R.PCI_ROM_ADDRESS_MASK:
            line += "<ignored>"
        else:
            line += "<unassigned>"
        if not flg & R.PCI_ROM_ADDRESS_ENABLE:
            line += " [disabled]"
        elif not virtual and not cmd & R.PCI_COMMAND_MEMORY:
            line += " [disabled by cmd]"
        self.p(line + _size(length) + "\n")

    def _show_range(self, prefix: str, base: int, limit: int, bits: int,
                    disabled: bool) -> None:
        line = f"{prefix}:"
        if base <= limit or self.verbose > 2:
            w = (bits + 3) // 4
            line += f" {base:0{w}x}-{limit:0{w}x}"
        if not disabled and base <= limit:
            line += _size(limit - base + 1)
        else:
            line += " [disabled]"
        if bits:
            line += f" [{bits}-bit]"
        self.p(line + "\n")

    def _show_htype1(self, d: LsDevice) -> None:
        io_base = d.byte(R.PCI_IO_BASE)
        io_limit = d.byte(R.PCI_IO_LIMIT)
        io_type = io_base & R.PCI_IO_RANGE_TYPE_MASK
        mem_base = d.word(R.PCI_MEMORY_BASE)
        mem_limit = d.word(R.PCI_MEMORY_LIMIT)
        mem_type = mem_base & R.PCI_MEMORY_RANGE_TYPE_MASK
        pref_base = d.word(R.PCI_PREF_MEMORY_BASE)
        pref_limit = d.word(R.PCI_PREF_MEMORY_LIMIT)
        pref_type = pref_base & R.PCI_PREF_RANGE_TYPE_MASK
        sec_stat = d.word(R.PCI_SEC_STATUS)
        brc = d.word(R.PCI_BRIDGE_CONTROL)
        known = d.bridge_known
        io_dis = known and not d.bridge_size[0]
        mem_dis = known and not d.bridge_size[1]
        pref_dis = known and not d.bridge_size[2]
        self._show_bases(d, 2)
        self.p(f"\tBus: primary={d.byte(R.PCI_PRIMARY_BUS):02x}, "
               f"secondary={d.byte(R.PCI_SECONDARY_BUS):02x}, "
               f"subordinate={d.byte(R.PCI_SUBORDINATE_BUS):02x}, "
               f"sec-latency={d.byte(R.PCI_SEC_LATENCY_TIMER)}\n")
        if known and not io_dis:
            b = d.bridge_base[0] & ~0xF
            t = d.bridge_base[0] & R.PCI_IO_RANGE_TYPE_MASK
            self._show_range("\tI/O behind bridge", b, b + d.bridge_size[0] - 1,
                             32 if t == R.PCI_IO_RANGE_TYPE_32 else 16, io_dis)
        elif io_type != io_limit & R.PCI_IO_RANGE_TYPE_MASK or io_type not in (0, 1):
            self.p(f"\t!!! Unknown I/O range types {io_base:x}/{io_limit:x}\n")
        else:
            b = (io_base & R.PCI_IO_RANGE_MASK) << 8
            lim = (io_limit & R.PCI_IO_RANGE_MASK) << 8
            if io_type == R.PCI_IO_RANGE_TYPE_32:
                b |= d.word(R.PCI_IO_BASE_UPPER16) << 16
                lim |= d.word(R.PCI_IO_LIMIT_UPPER16) << 16
            if not (b == 0 and lim == 0 and io_dis):
                self._show_range("\tI/O behind bridge", b, lim + 0xFFF,
                                 32 if io_type == R.PCI_IO_RANGE_TYPE_32 else 16, io_dis)
        if known and not mem_dis:
            b = d.bridge_base[1] & ~0xF
            self._show_range("\tMemory behind bridge", b, b + d.bridge_size[1] - 1, 32, mem_dis)
        elif mem_type != mem_limit & R.PCI_MEMORY_RANGE_TYPE_MASK or mem_type:
            self.p(f"\t!!! Unknown memory range types {mem_base:x}/{mem_limit:x}\n")
        else:
            b = (mem_base & R.PCI_MEMORY_RANGE_MASK) << 16
            lim = (mem_limit & R.PCI_MEMORY_RANGE_MASK) << 16
            self._show_range("\tMemory behind bridge", b, lim + 0xFFFFF, 32, mem_dis)
        if known and not pref_dis:
            b = d.bridge_base[2] & ~0xF
            t = d.bridge_base[2] & R.PCI_MEMORY_RANGE_TYPE_MASK
            self._show_range("\tPrefetchable memory behind bridge", b, b + d.bridge_size[2] - 1,
                             64 if t == R.PCI_PREF_RANGE_TYPE_64 else 32, pref_dis)
        elif pref_type != pref_limit & R.PCI_PREF_RANGE_TYPE_MASK or pref_type not in (0, 1):
            self.p(f"\t!!! Unknown prefetchable memory range types {pref_base:x}/"
                   f"{pref_limit:x}\n")
        else:
            b = (pref_base & R.PCI_PREF_RANGE_MASK) << 16
            lim = (pref_limit & R.PCI_PREF_RANGE_MASK) << 16
            if pref_type == R.PCI_PREF_RANGE_TYPE_64:
                b |= d.long(R.PCI_PREF_BASE_UPPER32) << 32
                lim |= d.long(R.PCI_PREF_LIMIT_UPPER32) << 32
            if not (b == 0 and lim == 0 and pref_dis):
                self._show_range("\tPrefetchable memory behind bridge", b, lim + 0xFFFFF,
                                 64 if pref_type == R.PCI_PREF_RANGE_TYPE_64 else 32, pref_dis)
        if self.verbose > 1:
            self.p(_printf("\tSecondary status: 66MHz%s FastB2B%s ParErr%s DEVSEL=%s >TAbort%s "
                           "<TAbort%s <MAbort%s <SERR%s <PERR%s\n", *(
                               _flag(sec_stat, 0x20), _flag(sec_stat, 0x80),
                               _flag(sec_stat, 0x100), _devsel(sec_stat),
                               _flag(sec_stat, 0x800), _flag(sec_stat, 0x1000),
                               _flag(sec_stat, 0x2000), _flag(sec_stat, 0x4000),
                               _flag(sec_stat, 0x8000))))
        self._show_rom(d, R.PCI_ROM_ADDRESS1)
        if self.verbose > 1:
            self.p(_printf("\tBridgeCtl: Parity%s SERR%s NoISA%s VGA%s VGA16%s MAbort%s "
                           ">Reset%s FastB2B%s\n", *(
                               _flag(brc, 0x1), _flag(brc, 0x2), _flag(brc, 0x4),
                               _flag(brc, 0x8), _flag(brc, 0x10), _flag(brc, 0x20),
                               _flag(brc, 0x40), _flag(brc, 0x80))))
            self.p(_printf("\t\tPriDiscTmr%s SecDiscTmr%s DiscTmrStat%s DiscTmrSERREn%s\n", *(
                _flag(brc, 0x100), _flag(brc, 0x200), _flag(brc, 0x400), _flag(brc, 0x800))))
        self._show_caps(d, R.PCI_CAPABILITY_LIST)

    # ls-caps.c
    def _show_caps(self, d: LsDevice, where: int) -> None:
        if not d.word(R.PCI_STATUS) & R.PCI_STATUS_CAP_LIST:
            return
        been: set[int] = set()
        where = d.byte(where) & ~3
        while where:
            line = "\tCapabilities: "
            if not d.has(where, 4):
                self.p(line + "<access denied>\n")
                break
            cid = d.byte(where)
            nxt = d.byte(where + 1) & ~3
            cap = d.word(where + 2)
            line += f"[{where:02x}] "
            if where in been:
                self.p(line + "<chain looped>\n")
                break
            been.add(where)
            if cid == 0xFF:
                self.p(line + "<chain broken>\n")
                break
            self.p(line)
            if cid == R.PCI_CAP_ID_PM:
                self._cap_pm(d, where, cap)
            elif cid == R.PCI_CAP_ID_MSI:
                self._cap_msi(d, where, cap)
            elif cid == R.PCI_CAP_ID_MSIX:
                self._cap_msix(d, where, cap)
            elif cid == R.PCI_CAP_ID_VNDR:
                self.p(f"Vendor Specific Information: Len={cap & 0xFF:02x} <?>\n")
            elif cid == R.PCI_CAP_ID_EXP:
                self._cap_express(d, where, cap)
            else:
                self.p(f"#{cid:02x} [{cap:04x}]\n")
            where = nxt

    def _cap_pm(self, d: LsDevice, where: int, cap: int) -> None:
        self.p(f"Power Management version {cap & 0x7}\n")
        if self.verbose < 2:
            return
        aux = (0, 55, 100, 160, 220, 270, 320, 375)[(cap & 0x1C0) >> 6]
        self.p(_printf("\t\tFlags: PMEClk%s DSI%s D1%s D2%s AuxCurrent=%dmA "
               "PME(D0%s,D1%s,D2%s,D3hot%s,D3cold%s)\n", *(
                   _flag(cap, 0x8), _flag(cap, 0x20), _flag(cap, 0x200), _flag(cap, 0x400), aux,
                   _flag(cap, 0x800), _flag(cap, 0x1000), _flag(cap, 0x2000),
                   _flag(cap, 0x4000), _flag(cap, 0x8000))))
        if not d.has(where + 4, 4):
            return
        t = d.word(where + 4)
        self.p(f"\t\tStatus: D{t & 3} NoSoftRst{_flag(t, 0x8)} PME-Enable{_flag(t, 0x100)} "
               f"DSel={(t & 0x1E00) >> 9} DScale={(t & 0x6000) >> 13} PME{_flag(t, 0x8000)}\n")
        b = d.byte(where + 6)
        if b:
            self.p(f"\t\tBridge: PM{_flag(b, 0x80)} B3{_flag(~b, 0x40)}\n")

    def _cap_msi(self, d: LsDevice, where: int, cap: int) -> None:
        self.p(_printf("MSI: Enable%s Count=%d/%d Maskable%s 64bit%s\n", *(
            _flag(cap, R.PCI_MSI_FLAGS_ENABLE), 1 << ((cap & R.PCI_MSI_FLAGS_QSIZE) >> 4),
            1 << ((cap & R.PCI_MSI_FLAGS_QMASK) >> 1), _flag(cap, R.PCI_MSI_FLAGS_MASKBIT),
            _flag(cap, R.PCI_MSI_FLAGS_64BIT))))
        if self.verbose < 2:
            return
        is64 = cap & R.PCI_MSI_FLAGS_64BIT
        end = (R.PCI_MSI_DATA_64 if is64 else R.PCI_MSI_DATA_32) + 2
        if not d.has(where + R.PCI_MSI_ADDRESS_LO, end - R.PCI_MSI_ADDRESS_LO):
            return
        line = "\t\tAddress: "
        if is64:
            line += f"{d.long(where + R.PCI_MSI_ADDRESS_HI):08x}"
            w = d.word(where + R.PCI_MSI_DATA_64)
        else:
            w = d.word(where + R.PCI_MSI_DATA_32)
        line += f"{d.long(where + R.PCI_MSI_ADDRESS_LO):08x}  Data: {w:04x}\n"
        self.p(line)
        if cap & R.PCI_MSI_FLAGS_MASKBIT:
            mpos = where + (R.PCI_MSI_MASK_64 if is64 else R.PCI_MSI_MASK_32)
            if not d.has(mpos, 8):
                return
            self.p(f"\t\tMasking: {d.long(mpos):08x}  Pending: {d.long(mpos + 4):08x}\n")

    def _cap_msix(self, d: LsDevice, where: int, cap: int) -> None:
        self.p(f"MSI-X: Enable{_flag(cap, 0x8000)} Count={(cap & 0x7FF) + 1} "
               f"Masked{_flag(cap, 0x4000)}\n")
        if self.verbose < 2 or not d.has(where + 4, 8):
            return
        off = d.long(where + 4)
        self.p(f"\t\tVector table: BAR={off & 7} offset={off & ~7 & 0xFFFFFFFF:08x}\n")
        off = d.long(where + 8)
        self.p(f"\t\tPBA: BAR={off & 7} offset={off & ~7 & 0xFFFFFFFF:08x}\n")

    def _cap_express(self, d: LsDevice, where: int, cap: int) -> None:
        kind = (cap & 0xF0) >> 4
        line = "Express "
        if self.verbose >= 2:
            line += f"(v{cap & 0xF}) "
        names = {0: "Endpoint", 1: "Legacy Endpoint", 4: "Root Port (Slot%s)",
                 5: "Upstream Port", 6: "Downstream Port (Slot%s)",
                 7: "PCI-Express to PCI/PCI-X Bridge", 8: "PCI/PCI-X to PCI-Express Bridge",
                 9: "Root Complex Integrated Endpoint", 10: "Root Complex Event Collector"}
        nm = names.get(kind)
        if nm is None:
            line += f"Unknown type {kind}"
        elif "%s" in nm:
            line += nm % _flag(cap, 0x100)
        else:
            line += nm
        self.p(line + f", MSI {(cap & 0x3E00) >> 9:02x}\n")

    # ls-kernel.c (no module lookup: the simulated kernel's drivers are built in)
    def _show_kernel(self, d: LsDevice) -> None:
        if d.driver:
            self.p(f"\tKernel driver in use: {d.driver}\n")

    def _show_hex_dump(self, d: LsDevice) -> None:
        cnt = 64
        if self.hex >= 3 and d.has(0, 256):
            cnt = 256
            if self.hex >= 4 and d.has(0, 4096):
                cnt = 4096
        for i in range(cnt):
            if not i & 15:
                self.p(f"{i:02x}:")
            self.p(f" {d.config[i]:02x}")
            if i & 15 == 15:
                self.p("\n")


def lspci(k: Kernel, args: str | list[str] = "", ids_path: str | None = None) -> str:
    """The output of ``lspci ARGS`` on kernel ``k``'s functions, e.g. ``lspci(k, "-vv")``."""
    argv = args.split() if isinstance(args, str) else list(args)
    opts = parse_args(argv)
    ls = Lspci(opts["verbose"], opts["numeric"], opts["hex"], opts["kernel"], opts["domains"],
               ids_path)
    return ls.render(devices_from_kernel(k), opts["slot"], opts["ident"])


def parse_args(argv: list[str]) -> dict:
    """lspci's short options (-v -n -x -k -D -s X -d X, combinable as -vvv, -nn)."""
    opts = {"verbose": 0, "numeric": 0, "hex": 0, "kernel": False, "domains": False,
            "slot": None, "ident": None}
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("-") or a == "-":
            raise ValueError(f"lspci: unexpected argument {a!r}")
        j = 1
        while j < len(a):
            c = a[j]
            if c in "sd":
                val = a[j + 1:] or (argv[i + 1] if i + 1 < len(argv) else None)
                if val is None:
                    raise ValueError(f"lspci: option -{c} requires an argument")
                if not a[j + 1:]:
                    i += 1
                opts["slot" if c == "s" else "ident"] = val
                break
            key = {"v": "verbose", "n": "numeric", "x": "hex"}.get(c)
            if key:
                opts[key] += 1
            elif c == "k":
                opts["kernel"] = True
            elif c == "D":
                opts["domains"] = True
            else:
                raise ValueError(f"lspci: invalid option -- '{c}'")
            j += 1
        i += 1
    return opts


__all__ = ["LsDevice", "Lspci", "devices_from_kernel", "devices_from_sysfs", "lspci",
           "parse_args", "parse_id_filter", "parse_slot_filter"]
