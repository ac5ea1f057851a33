"""A PCI function: config space, BARs placed on the bus, INTx, MSI and DMA.

Mirrors the device half of QEMU's hw/pci/pci.c (``PCIDevice``):
``pci_default_write_config`` (masked write, then remap BARs and re-evaluate
INTx when the command register or a BAR changes), ``pci_bar_address`` (when
a BAR decodes: the command bit, a non-zero address, no wrap, a 32-bit BAR
below 4 GiB), ``pci_update_mappings``, ``pci_irq_handler`` (the interrupt
status bit and the INTx-disable gate) and ``pci_do_device_reset``.

A BAR's register file is an ordinary :class:`~iomem.phys.Region`; when
software enables decode or moves the BAR, the function adds, moves or
removes that region in the machine's memory (or I/O-port) address space, so
CPU accesses reach the model through the normal bus path with its access
rules.  DMA and MSI go the other way through the host's DMA address space
and only while the bus-master bit is set.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...phys import AccessRules, AddressSpace, BusError, Region, RegionOps
from ...trace import recorder as _trace  # device DMA shows on traces
from . import regs as R
from .config import BarKind, ConfigError, PciConfigSpace
from .msi import MsiCapability, MsixCapability

if TYPE_CHECKING:
    from ...machine import Machine
    from .bus import PciBus
    from .host import PciHost

_U64 = 0xFFFFFFFFFFFFFFFF


class BarOps:
    """Adapts a pair of callables to the :class:`~iomem.phys.RegionOps` protocol."""

    def __init__(self, rules: AccessRules, read: Callable[[int, int], int],
                 write: Callable[[int, int, int], None]) -> None:
        self.rules = rules
        self.read = read
        self.write = write


class Bar:
    """One base address register and the regions it decodes.

    ``address`` is the bus address the BAR decodes now (None: not decoding,
    as QEMU's ``PCI_BAR_UNMAPPED``); ``visible`` says whether its regions are
    in the address space (decoding, and forwarded by every bridge above).
    A BAR registered without ops decodes only its subregions (an MSI-X BAR).
    """

    def __init__(self, function: PciFunction, index: int, size: int, kind: BarKind,
                 prefetch: bool, name: str, ops: RegionOps | None,
                 rom_data: bytes | None = None) -> None:
        self.function = function
        self.index = index
        self.size = size
        self.kind = kind
        self.prefetch = prefetch
        self.name = name
        self.region: Region | None
        if kind is BarKind.ROM:
            data = bytearray(rom_data or b"")
            data.extend(b"\xff" * (size - len(data)))
            self.region = Region(name, 0, size, "rom", data=data)
        elif ops is not None:
            self.region = Region(name, 0, size, "io", ops=ops)
        else:
            self.region = None
        self.subregions: list[tuple[int, Region]] = []
        self.address: int | None = None
        self.visible = False
        self._space: AddressSpace | None = None

    @property
    def is_64bit(self) -> bool:
        return self.kind is BarKind.MEM64

    @property
    def offset(self) -> int:
        """Config-space offset of this BAR."""
        return self.function.config.bar_offset(self.index)

    def regions(self) -> list[tuple[int, Region]]:
        out = [(0, self.region)] if self.region is not None else []
        return out + self.subregions

    def add_subregion(self, offset: int, name: str, size: int, ops: RegionOps) -> Region:
        """A register file inside the BAR that overlays it (an MSI-X table): it is
        placed one priority level above the BAR's own region."""
        if offset < 0 or offset + size > self.size:
            raise ConfigError(f"subregion '{name}' does not fit in BAR {self.index}")
        region = Region(name, 0, size, "io", ops=ops)
        self.subregions.append((offset, region))
        if self.visible:
            self.function._place(self, self.address)
        return region

    def __repr__(self) -> str:
        where = f"0x{self.address:x}" if self.address is not None else "unmapped"
        return f"Bar({self.index}, {self.kind.value}, size=0x{self.size:x}, {where})"


class PciFunction:
    """Base class of PCI function models (type-0 header unless a subclass says otherwise).

    Identification comes from class attributes (or keyword arguments):
    ``vendor_id``, ``device_id``, ``revision``, ``class_code`` (24 bits:
    base class, subclass, programming interface), the subsystem ids (QEMU's
    default 1af4:1100 when not given), ``interrupt_pin`` (1 = INTA, 0 = none)
    and ``express`` (a 4096-byte config space).  Subclasses add BARs and
    capabilities in ``__init__`` after calling ``super().__init__()``.

    ``qemu_scratch``: QEMU makes every config byte from 0x40 up writable
    unless a capability claims it; real devices usually do not.  On by
    default, since the VM lab compares against QEMU.
    """

    name = "pci-function"
    vendor_id = 0xFFFF
    device_id = 0xFFFF
    revision = 0
    class_code = 0
    subsystem_vendor_id: int | None = None
    subsystem_id: int | None = None
    interrupt_pin = 0
    express = False
    multifunction = False
    qemu_scratch = True
    header_type = R.PCI_HEADER_TYPE_NORMAL

    _KNOWN = ("vendor_id", "device_id", "revision", "class_code", "subsystem_vendor_id",
              "subsystem_id", "interrupt_pin", "express", "multifunction", "qemu_scratch")

    def __init__(self, name: str | None = None, **ident: int | bool | None) -> None:
        for key, value in ident.items():
            if key not in self._KNOWN:
                raise TypeError(f"unknown PCI function property {key!r}")
            setattr(self, key, value)
        if name is not None:
            self.name = name
        if not 0 <= self.interrupt_pin <= 4:
            raise ConfigError(f"interrupt pin must be 0 (none) or 1-4, not {self.interrupt_pin}")
        self.config = PciConfigSpace(R.PCI_CFG_SPACE_EXP_SIZE if self.express
                                     else R.PCI_CFG_SPACE_SIZE)
        self.bars: dict[int, Bar] = {}
        self.msi: MsiCapability | None = None
        self.msix: MsixCapability | None = None
        self.express_offset: int | None = None
        self.bus: PciBus | None = None
        self.devfn: int | None = None
        self.machine: Machine | None = None
        self._irq_state = 0  # bit n: the model asserts INT(A+n)
        #: DMA the function attempted while its bus-master bit was clear: (kind, address, length)
        self.dma_blocked: list[tuple[str, int, int]] = []
        #: DMA that nothing answered (master aborts), MSI writes included
        self.dma_errors: list[BusError] = []
        self._init_header()

    # -- construction -----------------------------------------------------------------------

    def _init_header(self) -> None:
        cfg = self.config
        cfg.set_word(R.PCI_VENDOR_ID, self.vendor_id)
        cfg.set_word(R.PCI_DEVICE_ID, self.device_id)
        cfg.set_long(R.PCI_CLASS_REVISION, ((self.class_code & 0xFFFFFF) << 8)
                     | (self.revision & 0xFF))
        cfg.set_byte(R.PCI_HEADER_TYPE, self.header_type
                     | (R.PCI_HEADER_TYPE_MFD if self.multifunction else 0))
        if self.header_type == R.PCI_HEADER_TYPE_NORMAL:
            svid, sid = self.subsystem_vendor_id, self.subsystem_id
            if not svid and not sid:
                svid, sid = 0x1AF4, 0x1100  # QEMU's pci_set_default_subsystem_id
            cfg.set_word(R.PCI_SUBSYSTEM_VENDOR_ID, svid or 0)
            cfg.set_word(R.PCI_SUBSYSTEM_ID, sid or 0)
        cfg.set_byte(R.PCI_INTERRUPT_PIN, self.interrupt_pin)
        # what software may write (QEMU's pci_init_wmask / pci_init_w1cmask)
        cfg.set_wmask(R.PCI_CACHE_LINE_SIZE, 1, 0xFF)
        cfg.set_wmask(R.PCI_INTERRUPT_LINE, 1, 0xFF)
        cfg.set_wmask(R.PCI_COMMAND, 2, R.PCI_COMMAND_IO | R.PCI_COMMAND_MEMORY
                      | R.PCI_COMMAND_MASTER | R.PCI_COMMAND_INTX_DISABLE | R.PCI_COMMAND_SERR)
        if self.qemu_scratch:
            n = cfg.size - R.PCI_STD_HEADER_SIZEOF
            cfg.wmask[R.PCI_STD_HEADER_SIZEOF:] = b"\xff" * n
            if self.express:
                # an empty extended list: a read-only zero header at 0x100
                cfg.set_wmask(R.PCI_CFG_SPACE_SIZE, 4, 0)
        cfg.set_w1cmask(R.PCI_STATUS, 2, R.PCI_STATUS_ERROR_BITS)

    def add_bar(self, index: int, size: int, kind: BarKind | str = BarKind.MEM32,
                prefetch: bool = False, name: str | None = None,
                ops: RegionOps | None = None) -> Bar:
        """Register BAR ``index`` (its sizing masks) and the register file it decodes."""
        kind = BarKind(kind)
        if kind is BarKind.ROM:
            raise ConfigError("use add_rom() for the expansion ROM")
        if kind is BarKind.IO and prefetch:
            raise ConfigError("an I/O BAR cannot be prefetchable")
        self.config.register_bar(index, size, kind, prefetch)
        bar = Bar(self, index, size, kind, prefetch, name or f"{self.name}-bar{index}", ops)
        self.bars[index] = bar
        return bar

    def add_rom(self, data: bytes, size: int | None = None, name: str | None = None) -> Bar:
        """An expansion ROM holding ``data`` (size: the next power of two, 2 KiB at least)."""
        if size is None:
            size = 2048
            while size < len(data):
                size *= 2
        if len(data) > size:
            raise ConfigError(f"ROM image of {len(data)} bytes does not fit in 0x{size:x}")
        self.config.register_bar(R.PCI_ROM_RESOURCE, size, BarKind.ROM)
        bar = Bar(self, R.PCI_ROM_RESOURCE, size, BarKind.ROM, False,
                  name or f"{self.name}.rom", None, rom_data=bytes(data))
        self.bars[R.PCI_ROM_RESOURCE] = bar
        return bar

    def add_msi(self, vectors: int = 1, address64: bool = True, per_vector_mask: bool = False,
                offset: int | None = None) -> MsiCapability:
        if self.msi is not None:
            raise ConfigError("the function already has an MSI capability")
        self.msi = MsiCapability(self, vectors, address64, per_vector_mask, offset)
        return self.msi

    def add_msix(self, vectors: int, table_bar: int, table_offset: int = 0,
                 pba_bar: int | None = None, pba_offset: int | None = None,
                 offset: int | None = None) -> MsixCapability:
        """MSI-X with its table and PBA in (already registered) memory BARs; by default
        the PBA follows the table in the same BAR, 8-byte aligned."""
        if self.msix is not None:
            raise ConfigError("the function already has an MSI-X capability")
        if pba_bar is None:
            pba_bar = table_bar
        if pba_offset is None:
            pba_offset = (table_offset + vectors * R.PCI_MSIX_ENTRY_SIZE + 7) & ~7
        self.msix = MsixCapability(self, vectors, table_bar, table_offset, pba_bar,
                                   pba_offset, offset)
        return self.msix

    def add_pm(self, offset: int | None = None, **kw: int | bool) -> int:
        return self.config.add_pm_capability(offset, **kw)  # type: ignore[arg-type]

    def add_express(self, port_type: int = R.PCI_EXP_TYPE_ENDPOINT, offset: int | None = None,
                    **kw: int | bool) -> int:
        if not self.express:
            raise ConfigError("a PCI Express capability needs express=True (4 KiB config space)")
        self.express_offset = self.config.add_express_capability(port_type, offset, **kw)
        return self.express_offset

    # -- identity on the bus ----------------------------------------------------------------

    @property
    def host(self) -> PciHost | None:
        return self.bus.host if self.bus is not None else None

    @property
    def slot(self) -> int:
        return R.PCI_SLOT(self.devfn or 0)

    @property
    def function_number(self) -> int:
        return R.PCI_FUNC(self.devfn or 0)

    @property
    def address(self) -> str:
        """The kernel's pci_name(): ``dddd:bb:ss.f``."""
        if self.bus is None or self.devfn is None:
            return f"(unplugged {self.name})"
        return (f"{self.bus.host.domain:04x}:{self.bus.number:02x}:"
                f"{self.slot:02x}.{self.function_number}")

    def attach(self, bus: PciBus, devfn: int) -> None:
        """Called by the bus when the function is plugged in."""
        self.bus = bus
        self.devfn = devfn
        self.machine = bus.host.machine

    def detach(self) -> None:
        """Called by the bus when the function is unplugged: unmap, drop INTx."""
        self.deassert_intx()
        for bar in self.bars.values():
            self._place(bar, None)
            bar.address = None
        self.bus = None
        self.devfn = None

    @property
    def clock(self):
        return self.machine.clock if self.machine is not None else None

    # -- config cycles ----------------------------------------------------------------------

    @property
    def command(self) -> int:
        return self.config.get_word(R.PCI_COMMAND)

    @property
    def status(self) -> int:
        return self.config.get_word(R.PCI_STATUS)

    @property
    def bus_master(self) -> bool:
        return bool(self.command & R.PCI_COMMAND_MASTER)

    @property
    def intx_disabled(self) -> bool:
        return bool(self.command & R.PCI_COMMAND_INTX_DISABLE)

    def config_read(self, offset: int, size: int) -> int:
        """A config read that reached this function (``offset`` inside its space)."""
        return self.config.read(offset, size)

    def config_write(self, offset: int, size: int, value: int) -> None:
        """A config write that reached this function: masked write, then side effects.

        As in QEMU 7.2, the BARs are remapped when the write touches a BAR, the
        ROM BAR or the low command byte, and INTx is re-evaluated only when it
        touches the low command byte (a 1-byte write to offset 5 changes the
        INTx-disable bit without re-driving an already asserted line).
        """
        was_disabled = self.intx_disabled
        self.config.write(offset, size, value)
        end = offset + size
        covers_command = offset <= R.PCI_COMMAND < end
        if (covers_command or (offset < R.PCI_BASE_ADDRESS_0 + 24 and end > R.PCI_BASE_ADDRESS_0)
                or (offset < R.PCI_ROM_ADDRESS + 4 and end > R.PCI_ROM_ADDRESS)
                or (offset < R.PCI_ROM_ADDRESS1 + 4 and end > R.PCI_ROM_ADDRESS1)):
            self.update_mappings()
        if covers_command:
            self._update_intx_disabled(was_disabled)
        if self.msi is not None:
            self.msi.write_config(offset, size)
        if self.msix is not None:
            self.msix.write_config(offset, size)
        pos = self.express_offset
        if (pos is not None and offset < pos + R.PCI_EXP_DEVCTL + 2
                and end > pos + R.PCI_EXP_DEVCTL
                and self.config.get_word(pos + R.PCI_EXP_DEVCTL) & R.PCI_EXP_DEVCTL_BCR_FLR):
            # initiate function-level reset: the bit reads back 0
            self.config.clear_bits(pos + R.PCI_EXP_DEVCTL, 2, R.PCI_EXP_DEVCTL_BCR_FLR)
            self.reset()

    # -- BAR decode -------------------------------------------------------------------------

    def bar_address(self, bar: Bar) -> int | None:
        """The bus address BAR decodes now, or None (QEMU's pci_bar_address)."""
        cmd = self.command
        cfg = self.config
        off = bar.offset
        allow_zero = self.host.allow_zero_address if self.host is not None else False
        size = bar.size
        if bar.kind is BarKind.IO:
            if not cmd & R.PCI_COMMAND_IO:
                return None
            addr = cfg.get_long(off) & ~(size - 1)
            last = addr + size - 1
            if last <= addr or last >= 0xFFFFFFFF or (addr == 0 and not allow_zero):
                return None
            return addr
        if not cmd & R.PCI_COMMAND_MEMORY:
            return None
        addr = cfg.get_quad(off) if bar.kind is BarKind.MEM64 else cfg.get_long(off)
        if bar.kind is BarKind.ROM and not addr & R.PCI_ROM_ADDRESS_ENABLE:
            return None
        addr &= ~(size - 1) & _U64
        last = addr + size - 1
        if last <= addr or last >= _U64 or (addr == 0 and not allow_zero):
            return None
        if bar.kind is not BarKind.MEM64 and last >= 0xFFFFFFFF:
            return None
        return addr

    def update_mappings(self) -> None:
        """Re-evaluate every BAR: decode, address, and the bridges' forwarding windows."""
        for bar in self.bars.values():
            addr = self.bar_address(bar)
            bar.address = addr
            if addr is not None and self.bus is not None and not self.bus.forwards(
                    bar.kind is BarKind.IO, addr, addr + bar.size - 1):
                addr = None
            self._place(bar, addr)

    def _place(self, bar: Bar, addr: int | None) -> None:
        host = self.host
        regions = bar.regions()
        space: AddressSpace | None = None
        base = 0
        if addr is not None and host is not None:
            space, base = host.space_for(bar.kind is BarKind.IO)
            if base + addr + bar.size - 1 > space.limit:
                space = None
        if bar._space is not None and space is not bar._space:
            for _off, region in regions:
                if region in bar._space.regions:
                    bar._space.remove_region(region)
            bar._space = None
        bar.visible = space is not None
        if space is None:
            return
        prio = host.bar_priority if host is not None else 0
        for off, region in regions:
            if region in space.regions:
                if region.base != base + addr + off:
                    space.move_region(region, base + addr + off)
            else:
                region.base = base + addr + off
                region.priority = prio if region is bar.region else prio + 1
                space.add_region(region)
        bar._space = space

    # -- INTx -------------------------------------------------------------------------------

    @property
    def irq_state(self) -> int:
        """Bit n set while the model asserts INT(A+n)."""
        return self._irq_state

    def set_irq(self, level: bool | int, pin: int | None = None) -> None:
        """Assert or deassert the function's INTx pin (QEMU's pci_set_irq).

        The status register's interrupt bit follows the model's level; the
        line reaches the interrupt controller only while INTx is not disabled.
        """
        if pin is None:
            if not self.interrupt_pin:
                raise ConfigError(f"{self.name} has no interrupt pin")
            pin = self.interrupt_pin - 1
        level = 1 if level else 0
        bit = 1 << pin
        change = level - (1 if self._irq_state & bit else 0)
        if not change:
            return
        self._irq_state = (self._irq_state | bit) if level else (self._irq_state & ~bit)
        if self._irq_state:
            self.config.set_bits(R.PCI_STATUS, 2, R.PCI_STATUS_INTERRUPT)
        else:
            self.config.clear_bits(R.PCI_STATUS, 2, R.PCI_STATUS_INTERRUPT)
        if self.intx_disabled:
            return
        if self.bus is not None:
            self.bus.change_irq_level(self, pin, change)

    def deassert_intx(self) -> None:
        for pin in range(4):
            if self._irq_state & (1 << pin):
                self.set_irq(0, pin)

    def _update_intx_disabled(self, was_disabled: bool) -> None:
        disabled = self.intx_disabled
        if disabled == was_disabled or self.bus is None:
            return
        for pin in range(4):
            if self._irq_state & (1 << pin):
                self.bus.change_irq_level(self, pin, -1 if disabled else 1)

    # -- bus mastering: DMA and MSI ---------------------------------------------------------

    def _dma_space(self) -> AddressSpace:
        host = self.host
        if host is None:
            raise RuntimeError(f"{self.name}: DMA from a function that is not on a bus")
        return host.dma_space

    def _cpu(self, space: AddressSpace) -> Any:
        """The CPU model, where this function's DMA reaches system memory directly (no
        IOMMU between): the model and the sanitizer see what it reads and writes."""
        machine = getattr(self.host, "machine", None)
        if machine is None or space is not machine.memory:
            return None
        return getattr(machine, "cpu", None)

    def _master_abort(self, addr: int, size: int, is_write: bool, what: str) -> None:
        self.dma_errors.append(BusError("unassigned", addr, size, is_write, None,
                                        f"{what} by {self.address}"))

    def dma_read(self, addr: int, length: int) -> bytes:
        """Read ``length`` bytes at bus address ``addr`` as a bus master.

        Without the bus-master bit the read goes nowhere and yields zeros, as
        QEMU's disabled bus-master address space does; unassigned addresses
        read as zeros too and are recorded in ``dma_errors``.
        """
        if length <= 0:
            return b""
        if _trace.recording():
            _trace.emit("dma", device=self.address, op="read", addr=addr, len=length,
                        blocked=not self.bus_master)
        if not self.bus_master:
            self.dma_blocked.append(("read", addr, length))
            return bytes(length)
        space = self._dma_space()
        cpu = self._cpu(space)
        out = bytearray()
        pos, end = addr, addr + length
        while pos < end:
            fr = space.lookup(pos) if pos <= space.limit else None
            if fr is None:
                nxt = self._next_mapped(space, pos, end)
                self._master_abort(pos, nxt - pos, False, "DMA read")
                out += bytes(nxt - pos)
                pos = nxt
                continue
            chunk = min(end, fr.end + 1) - pos
            region = fr.region
            off = pos - fr.start + fr.offset
            if region.ops is None:
                out += cpu.device_read(pos, chunk, self) if cpu is not None else \
                    region.data[off:off + chunk]
            else:
                for i in range(chunk):
                    try:
                        out.append(space.read(pos + i, 1))
                    except BusError as err:
                        self.dma_errors.append(err)
                        out.append(0)
            pos += chunk
        return bytes(out)

    def dma_write(self, addr: int, data: bytes) -> None:
        """Write ``data`` at bus address ``addr`` as a bus master (dropped without
        the bus-master bit; unassigned bytes are recorded in ``dma_errors``)."""
        if not data:
            return
        if _trace.recording():
            _trace.emit("dma", device=self.address, op="write", addr=addr, len=len(data),
                        blocked=not self.bus_master)
        if not self.bus_master:
            self.dma_blocked.append(("write", addr, len(data)))
            return
        space = self._dma_space()
        cpu = self._cpu(space)
        pos, end = addr, addr + len(data)
        while pos < end:
            fr = space.lookup(pos) if pos <= space.limit else None
            if fr is None:
                nxt = self._next_mapped(space, pos, end)
                self._master_abort(pos, nxt - pos, True, "DMA write")
                pos = nxt
                continue
            chunk = min(end, fr.end + 1) - pos
            region = fr.region
            off = pos - fr.start + fr.offset
            src = data[pos - addr:pos - addr + chunk]
            if region.ops is None:
                if region.kind == "ram":
                    if cpu is not None:
                        cpu.device_write(pos, bytes(src), self)
                    else:
                        region.data[off:off + chunk] = src
            else:
                for i in range(chunk):
                    try:
                        space.write(pos + i, 1, src[i])
                    except BusError as err:
                        self.dma_errors.append(err)
            pos += chunk

    @staticmethod
    def _next_mapped(space: AddressSpace, pos: int, end: int) -> int:
        flat = space.flat_view()
        i = bisect_right([f.start for f in flat], pos)
        nxt = flat[i].start if i < len(flat) else end
        return min(nxt, end)

    def send_msi(self, address: int, data: int) -> None:
        """Post an MSI/MSI-X message: a DWORD write of ``data`` to ``address``."""
        if not self.bus_master:
            self.dma_blocked.append(("msi", address, 4))
            return
        host = self.host
        if host is None:
            return
        host.deliver_msi(self, address, data)

    def msi_enabled(self) -> bool:
        return self.msi is not None and self.msi.enabled

    def msix_enabled(self) -> bool:
        return self.msix is not None and self.msix.enabled

    def msi_notify(self, vector: int = 0) -> None:
        if self.msi is None:
            raise ConfigError(f"{self.name} has no MSI capability")
        self.msi.notify(vector)

    # -- reset ------------------------------------------------------------------------------

    def reset(self) -> None:
        """A conventional reset of the function (QEMU's pci_do_device_reset): INTx
        deasserted, writable command/status bits and the interrupt line cleared,
        BARs back to their type bits and unmapped, MSI and MSI-X off; then
        :meth:`reset_device` for the model's own registers."""
        self.deassert_intx()
        cfg = self.config
        cfg.clear_bits(R.PCI_COMMAND, 2, cfg.get_wmask(R.PCI_COMMAND, 2)
                       | cfg.get_w1cmask(R.PCI_COMMAND, 2))
        cfg.clear_bits(R.PCI_STATUS, 2, cfg.get_wmask(R.PCI_STATUS, 2)
                       | cfg.get_w1cmask(R.PCI_STATUS, 2))
        cfg.clear_bits(R.PCI_INTERRUPT_LINE, 1, cfg.get_wmask(R.PCI_INTERRUPT_LINE, 1)
                       | cfg.get_w1cmask(R.PCI_INTERRUPT_LINE, 1))
        cfg.set_byte(R.PCI_CACHE_LINE_SIZE, 0)
        for bar in self.bars.values():
            type_bits = cfg.get_long(bar.offset) & ~cfg.get_wmask(bar.offset, 4) & 0xFFFFFFFF
            if bar.kind is BarKind.ROM:
                type_bits = 0
            if bar.kind is BarKind.MEM64:
                cfg.set_quad(bar.offset, type_bits)
            else:
                cfg.set_long(bar.offset, type_bits)
        self.update_mappings()
        if self.msi is not None:
            self.msi.reset()
        if self.msix is not None:
            self.msix.reset()
        self.reset_device()

    def reset_device(self) -> None:
        """The model's own registers on a PCI reset (nothing, by default)."""

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.name} {self.vendor_id:04x}:{self.device_id:04x}"
                f" at {self.address}>")
