"""The MMIO sanitizer: watches one kernel and reports the pitfalls of :mod:`.rules`.

It sits on the access paths as the outermost layer (chosen when a mapping
is made, so a kernel without it pays nothing), and listens on the kernel's
hooks: barriers, delays, iounmap, region requests and releases, driver
bind and unbind, the CPU's stores and loads of DMA buffers, and the
problems the kernel itself reports (NULL or ERR_PTR cookies, accesses after
iounmap, bad iounmaps).  What the kernel does about a problem (an oops, a
sparse error, a warning in dmesg) still happens; the sanitizer adds a
report that names the driver's line and the fix.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..cpu.policy import Kind, classify
from ..kernel import ioport as F
from ..kernel.io import SparseError
from ..phys import BIG
from .report import NOWHERE, Report, Site, where, where_tb
from .rules import rule

if TYPE_CHECKING:
    from ..kernel.ioremap import VmArea
    from ..kernel.kernel import Kernel
    from ..kernel.resource import Resource
    from ..phys import Region


@dataclass
class _Area:
    """What the sanitizer knows of one mapping."""

    site: Site
    owner: Any
    key: int
    posted: bool
    endian: str | None
    region: Region | None
    tracked: bool
    reads: dict[int, tuple] = field(default_factory=dict)
    writes: dict[int, tuple] = field(default_factory=dict)
    unmap_site: Site | None = None
    by_devres: bool = False
    leak_reported: bool = False


@dataclass
class _Unordered:
    """CPU stores to DMA buffers that no wmb()/mb()/writeX() has yet ordered before
    later MMIO writes."""

    first: Site
    buf: str
    ranges: list[tuple[int, int]]  #: (phys, nbytes) the stores wrote
    count: int = 0  #: how many stores
    dma_wmb: bool = False


@dataclass
class _Bell:
    """A relaxed MMIO write issued while stores were unordered: a problem only if the
    device, acting on it, reads bytes of those stores (then it is a doorbell rung
    too early), so it is judged when the device reads memory, not when written."""

    site: Site
    fn: str
    register: str | None
    phys: int
    vaddr: int
    device: int  #: :func:`_device_key` of the device it was written to
    issued: int  #: virtual ns when issued, to tell it from earlier writes when delivered
    stores: _Unordered
    reported: bool = False


def _device_key(region: Region | None) -> int:
    """Who a register region belongs to, as bus masters name themselves to the CPU model
    (``dma_read(machine, phys, n, requester)``): the object whose ``read`` serves the
    region (a device model, or the PCI function behind a BAR's callables)."""
    ops = getattr(region, "ops", None)
    return id(getattr(getattr(ops, "read", None), "__self__", None) or ops)


def _overlaps(ranges: list[tuple[int, int]], phys: int, n: int) -> bool:
    return any(pa < phys + n and phys < pa + size for pa, size in ranges)


def _add_range(ranges: list[tuple[int, int]], phys: int, n: int) -> None:
    """Append [phys, phys + n), merged into the last range when they touch (a loop of
    small stores or a device filling a buffer stays one range)."""
    if ranges:
        pa, size = ranges[-1]
        if pa <= phys + n and phys <= pa + size:
            lo = min(pa, phys)
            ranges[-1] = (lo, max(pa + size, phys + n) - lo)
            return
    ranges.append((phys, n))


def _uncovered(ranges: list[tuple[int, int]], phys: int, n: int) -> list[tuple[int, int]]:
    """``ranges`` without the bytes of [phys, phys + n)."""
    out = []
    for pa, size in ranges:
        if pa >= phys + n or phys >= pa + size:
            out.append((pa, size))
            continue
        if pa < phys:
            out.append((pa, phys - pa))
        if pa + size > phys + n:
            out.append((phys + n, pa + size - phys - n))
    return out


@dataclass
class _Held:
    """A region, interrupt or DMA buffer a driver holds."""

    kind: str
    what: str
    site: Site
    owner: Any
    obj: Any = None


_OK: tuple = ()


class Sanitizer:
    """The sanitizer of one kernel (``k.sanitizer``); ``k.sanitize = True`` makes one."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.reports: list[Report] = []
        self._seen: dict[tuple, Report] = {}
        self._areas: weakref.WeakKeyDictionary[VmArea, _Area] = weakref.WeakKeyDictionary()
        self.disabled: weakref.WeakSet[VmArea] = weakref.WeakSet()
        self._held: dict[Any, _Held] = {}
        self._owners: list[Any] = []
        self._drivers: dict[int, str] = {}
        self._quiet = 0
        # ordering state: stores not yet ordered before MMIO writes; the write a device
        # received last, if it was a relaxed one issued while stores were unordered; such
        # writes a CPU model still holds, by address; the latest relaxed read since the
        # last read barrier, and what devices wrote to memory since then
        self._unordered: _Unordered | None = None
        self._last_write: dict[int, _Bell] = {}  # device key -> its last write, if a bell
        self._bells: dict[int, list[_Bell]] = {}
        self._relaxed_read: tuple | None = None  # (site, phys, register)
        self._dma_written: list[tuple[int, int]] = []  # before the latest relaxed read
        self._dma_fresh: list[tuple[int, int]] = []  # since it
        self._reads_dirty = False  # any of the three set: the next readX() clears them
        # device key -> (area, off, value, register, owner)
        self._posted: dict[int, tuple] = {}
        #: called with each new :class:`Report`
        self.report_hooks: list[Callable[[Report], None]] = []

    # -- wiring ------------------------------------------------------------------------

    def attach(self) -> None:
        k = self.k
        for area in k.ioremap_state.vmalloc:  # mappings made before: known, not judged
            if not area.pio:
                self._areas[area] = self._new_info(area, NOWHERE, tracked=False)
        k.io_paths.layers.append(self.layer)
        k.barrier_hooks.append(self._barrier)
        k.delay_hooks.append(self._delay)
        k.report_hooks.append(self._kernel_report)
        k.iounmap_hooks.append(self._iounmap)
        k.region_hooks.append(self._region)
        k.driver_hooks.append(self._driver)
        k.irq_hooks.append(self._irq)
        self._hook_cpu(k.cpu)

    def _cpu_hooks(self, cpu: Any) -> list[tuple[list, Callable]]:
        return [(cpu.store_hooks, self._cpu_store), (cpu.load_hooks, self._cpu_load),
                (cpu.buffer_hooks, self._buffer), (cpu.device_read_hooks, self._device_read),
                (cpu.device_write_hooks, self._device_write)]

    def _hook_cpu(self, cpu: Any) -> None:
        for hooks, fn in self._cpu_hooks(cpu):
            if fn not in hooks:
                hooks.append(fn)

    def detach(self) -> None:
        k = self.k
        k.io_paths.layers.remove(self.layer)
        k.barrier_hooks.remove(self._barrier)
        k.delay_hooks.remove(self._delay)
        k.report_hooks.remove(self._kernel_report)
        k.iounmap_hooks.remove(self._iounmap)
        k.region_hooks.remove(self._region)
        k.driver_hooks.remove(self._driver)
        k.irq_hooks.remove(self._irq)
        cpu = k.cpu
        for hooks, fn in [*self._cpu_hooks(cpu), (cpu.deliver_watch, self._delivered)]:
            if fn in hooks:
                hooks.remove(fn)

    def set_mapping(self, area: VmArea, enabled: bool) -> None:
        """Check accesses through ``area`` or not (map-time checks have already run)."""
        if enabled:
            self.disabled.discard(area)
        else:
            self.disabled.add(area)
        if not area.dead:
            self.k.io_paths.install(area)

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Mappings and claims made inside the block are neither judged nor tracked."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    # -- reporting ---------------------------------------------------------------------

    def emit(self, rule_id: str, message: str, site: Site | None = None, *,
             phys: int | None = None, vaddr: int | None = None, register: str | None = None,
             notes: list[str] | None = None) -> Report:
        """Add a report (once per rule, place and address; repeats are counted)."""
        if site is None:
            site = where(sys._getframe(1))
        key = (rule_id, site.file, site.line, phys)
        old = self._seen.get(key)
        if old is not None:
            old.count += 1
            return old
        rep = Report(rule_id, rule(rule_id).severity, message, site, phys, vaddr, register,
                     list(notes or []))
        self._seen[key] = rep
        self.reports.append(rep)
        for hook in self.report_hooks:
            hook(rep)
        return rep

    @property
    def errors(self) -> list[Report]:
        return [r for r in self.reports if r.is_error]

    def clear(self) -> None:
        self.reports.clear()
        self._seen.clear()

    def by_rule(self, rule_id: str) -> list[Report]:
        return [r for r in self.reports if r.rule == rule_id]

    def report_exception(self, exc: BaseException) -> Report | None:
        """A report for an exception the kernel raised at the driver (a sparse error, an
        oops the sanitizer has not explained yet); None when there is nothing to add."""
        site = where_tb(exc.__traceback__)
        if isinstance(exc, SparseError):
            text = str(exc)
            first = text.splitlines()[0] if text else ""
            if "different address spaces" in first:
                return self.emit("int-as-iomem", f"sparse: {first.removeprefix('warning: ')}",
                                 site, notes=text.splitlines()[1:])
            if "port-I/O cookie" in text:
                return None
            return self.emit("iomem-as-pointer", f"sparse: {first.removeprefix('warning: ')}",
                             site, notes=text.splitlines()[1:])
        if isinstance(exc, TypeError) and "'ErrPtr'" in str(exc):
            return self.emit("unchecked-result", f"arithmetic on an ERR_PTR: {exc}", site)
        if isinstance(exc, TypeError) and "'NoneType'" in str(exc) and \
                _calls_accessor(site):
            return self.emit("unchecked-result", f"arithmetic on a NULL cookie (a failed "
                             f"ioremap?): {exc}", site)
        return None  # an oops follows a report already made, or is the kernel's own

    # -- mappings ----------------------------------------------------------------------

    def _new_info(self, area: VmArea, site: Site, tracked: bool) -> _Area:
        bus = self.k.machine.memory
        region = bus.region_at(area.phys_addr + area.lo)
        kind = classify(area.memtype, region, area.pio)
        endian = None
        ops = getattr(region, "ops", None)
        if ops is not None:
            declared = getattr(ops, "endianness", None)
            endian = declared or ("big" if ops.rules.endian == BIG else None)
        return _Area(site, self._owners[-1] if self._owners else None,
                     id(region) if region is not None else id(area), kind is Kind.POSTED,
                     endian, region, tracked)

    def _info(self, area: VmArea) -> _Area:
        info = self._areas.get(area)
        if info is None:
            site = NOWHERE if self._quiet else where()
            info = self._new_info(area, site, tracked=site.file is not None and not area.linear)
            self._areas[area] = info
            if info.tracked:
                self._map_checks(area, info)
        return info

    def _map_checks(self, area: VmArea, info: _Area) -> None:
        k = self.k
        start, last = area.req_phys, area.req_phys + area.req_size - 1
        busy = F.IORESOURCE_BUSY
        claimed = any(r.flags & busy and r.start <= start and r.end >= last
                      for r in k.iomem_resource.walk())
        if not claimed:
            self.emit("ioremap-unclaimed",
                      f"{_variant(area)}({start:#x}, {area.req_size:#x}): nothing claims "
                      "this range in /proc/iomem", info.site, phys=start)
        sane = k.resource_sanity_check(start, last)
        if sane is not None:
            self.emit("ioremap-spans-resources", sane, info.site, phys=start)
        region = info.region
        ops = getattr(region, "ops", None)
        if ops is None:
            return
        kind = classify(area.memtype, region)
        if kind in (Kind.WB, Kind.WT):
            self.emit("cacheable-registers",
                      f"{_variant(area)}() maps the registers of {region.name} as "
                      f"{area.memtype}: reads may return a stale cached value and writes may "
                      "never reach the device", info.site, phys=start)
        elif kind is Kind.WC and not self._prefetchable(region, start, last):
            self.emit("wc-registers",
                      f"{_variant(area)}() maps the registers of {region.name} as "
                      f"{area.memtype}: writes may merge, arrive late and out of order",
                      info.site, phys=start)

    def _prefetchable(self, region: Region, start: int, last: int) -> bool:
        if getattr(region.ops, "prefetchable", False):
            return True
        return any(r.flags & F.IORESOURCE_PREFETCH and r.start <= start and r.end >= last
                   for r in self.k.iomem_resource.walk())

    # -- the access-path layer ---------------------------------------------------------

    def layer(self, area: VmArea, read: Callable, write: Callable, ordered: bool
              ) -> tuple[Callable, Callable]:
        """An :class:`~iomem.kernel.io.IoPaths` layer: the checking functions for ``area``."""
        if area.pio:
            return read, write
        info = self._info(area)
        if area in self.disabled or info.region is None:
            return read, write
        s = self
        reads, writes = info.reads, info.writes
        key = info.key
        posted = info.posted
        endian = info.endian
        owner = info.owner
        pending = self._posted  # cleared in place, never replaced
        # a write the CPU model holds back reaches the device later, when the model says
        deferred = s.k.cpu.kind_of(area) in (Kind.POSTED, Kind.WC, Kind.WB)
        device = _device_key(info.region)

        def rd(off: int, size: int) -> int:
            f = reads.get(off * 16 + size)
            if f is None:
                f = reads[off * 16 + size] = s._analyse(info, area, off, size, False)
            if f[0]:
                s._findings(f[0], area, off)
            if endian is not None:
                s._endian(info, area, off, size, False, sys._getframe(1))
            if pending and key in pending:
                del pending[key]
            if ordered:
                if s._reads_dirty:
                    s._read_ordered()
            elif s.k.cpu.dma_buffers:
                s._relaxed(area, off, f[1], sys._getframe(1))
            return read(off, size)

        def wr(off: int, size: int, value: int) -> None:
            f = writes.get(off * 16 + size)
            if f is None:
                f = writes[off * 16 + size] = s._analyse(info, area, off, size, True)
            if f[0]:
                s._findings(f[0], area, off)
            if endian is not None:
                s._endian(info, area, off, size, True, sys._getframe(1))
            if s._unordered is not None or s._last_write:
                s._ordering(area, off, f[1], ordered, deferred, device, sys._getframe(1))
            if posted:
                pending[key] = (area, off, value, f[1], owner)
            write(off, size, value)
        return rd, wr

    def _register(self, info: _Area, area: VmArea, off: int) -> str | None:
        region = info.region
        regmap = getattr(region.ops, "regmap", None) if region is not None else None
        if regmap is None:
            return None
        roff = area.phys_addr + off - region.base
        reg = regmap.covering(roff)
        return reg.name if reg is not None else None

    def _analyse(self, info: _Area, area: VmArea, off: int, size: int, is_write: bool
                 ) -> tuple:
        """(what is wrong with every ``size``-byte read/write at ``off``, the register's
        name): computed once per area, offset, size and direction."""
        pa = area.phys_addr + off
        fr = self.k.machine.memory.lookup(pa)
        if fr is None or fr.region.ops is None:
            return _OK, None
        region = fr.region
        roff = pa - fr.start + fr.offset
        rules = region.ops.rules
        what = "write" if is_write else "read"
        found: list[tuple[str, str, str | None]] = []
        regmap = getattr(region.ops, "regmap", None)
        reg = regmap.covering(roff) if regmap is not None else None
        name = reg.name if reg is not None else None
        place = f"{name} (+{roff:#x} of {region.name})" if name else f"+{roff:#x} of {region.name}"
        if size not in rules.valid_sizes:
            found.append(("access-width", f"{size * 8}-bit {what} of {place}, which takes "
                          f"{rules.describe()}", name))
        elif roff % size and not rules.unaligned:
            found.append(("access-unaligned", f"{size * 8}-bit {what} at {place} is not "
                          f"{size}-byte aligned ({rules.describe()})", name))
        elif reg is not None and (reg.offset != roff or reg.size != size):
            spills = roff + size > reg.offset + reg.size
            shift = 8 * (roff - reg.offset)
            carried = ((1 << (8 * size)) - 1) << shift
            defined = 0
            for fld in reg.fields:
                defined |= fld.mask
            # a narrow write the model does not implement is widened by the bus, and the
            # bytes it does not carry are written as zeros: a bug where fields live there
            clobbers = is_write and size not in rules.implemented and defined & ~carried
            if spills or clobbers or (not is_write and reg.side_effect_read):
                found.append(("access-width", f"{size * 8}-bit {what} at {place}: {name} is a "
                              f"{reg.width}-bit register at +{reg.offset:#x}"
                              + (" (the write also clears the fields it does not carry)"
                                 if clobbers and not spills else ""), name))
        if reg is not None:
            writable = (reg.store_mask | reg.w1c_mask | reg.w1s_mask | reg.w1t_mask
                        | reg.w0c_mask | reg.w0s_mask | reg.wc_mask | reg.ws_mask)
            if is_write and not writable:
                found.append(("write-read-only", f"write to {place}, a read-only register: "
                              "the device ignores it", name))
            if not is_write and not reg.read_mask:
                found.append(("read-write-only", f"read of {place}, a write-only register: "
                              "the value read is not what was written", name))
        return tuple(found), name

    def _findings(self, found: tuple, area: VmArea, off: int) -> None:
        site = where(sys._getframe(2))
        for rule_id, message, name in found:
            self.emit(rule_id, message, site, phys=area.phys_addr + off,
                      vaddr=area.addr + off, register=name)

    def _endian(self, info: _Area, area: VmArea, off: int, size: int, is_write: bool,
                frame: Any) -> None:
        if size == 1:
            return
        co = frame.f_code.co_name
        if co == "accessor":
            loc = frame.f_locals
            be, fn = bool(loc.get("swap")), str(loc.get("name"))
        elif co in ("readl", "writel"):
            be, fn = False, co
        else:
            return  # string and block copies move bytes, not numbers
        if be == (info.endian == "big"):
            return
        reg = self._register(info, area, off)
        place = reg or f"+{area.phys_addr + off - info.region.base:#x}"
        self.emit("endian-mismatch",
                  f"{fn}() is a {'big' if be else 'little'}-endian accessor; {place} of "
                  f"{info.region.name} is {info.endian}-endian: the value is byte-swapped",
                  where(frame), phys=area.phys_addr + off, vaddr=area.addr + off, register=reg)

    # -- ordering ----------------------------------------------------------------------

    def _ordering(self, area: VmArea, off: int, reg: str | None, ordered: bool,
                  deferred: bool, device: int, frame: Any) -> None:
        """An MMIO write while stores are unordered, or after a relaxed one was."""
        u = self._unordered
        if ordered or u is None:  # writeX() starts with wmb(): earlier stores go first
            self._unordered = None
            self._last_write.pop(device, None)
            return
        fn = frame.f_locals.get("name", "writel_relaxed") if frame.f_code.co_name == "accessor" \
            else frame.f_code.co_name
        bell = _Bell(where(frame), fn, reg, area.phys_addr + off, area.addr + off, device,
                     self.k.machine.clock.now, replace(u, ranges=list(u.ranges)))
        if not deferred:  # the device gets it inside write(), and may act on it there
            self._last_write[device] = bell
        else:  # it gets it when the CPU model lets it go
            self._last_write.pop(device, None)
            self._bells.setdefault(bell.phys, []).append(bell)
            watch = self.k.cpu.deliver_watch
            if self._delivered not in watch:
                watch.append(self._delivered)

    def _delivered(self, phys: int, issued: int | None) -> None:
        """The CPU model lets a held-back write reach the bus: which one the device gets."""
        bells = self._bells.get(phys)
        # the model stamps a write after its access time passed, so a write issued before
        # the bell (a clean one to the same register) carries a time <= the bell's
        if bells and (issued is None or issued > bells[0].issued):
            bell = bells.pop(0)
            self._last_write[bell.device] = bell
            if not bells:
                del self._bells[phys]
        else:
            fr = self.k.machine.memory.lookup(phys)
            if fr is not None:
                self._last_write.pop(_device_key(fr.region), None)
        if not self._bells and not self._last_write:  # else: which write comes next
            watch = self.k.cpu.deliver_watch
            if self._delivered in watch:
                watch.remove(self._delivered)

    def _device_read(self, phys: int, n: int, requester: object = None) -> None:
        if not self._last_write:
            return
        if requester is not None:  # judged against what that device received last
            bell = self._last_write.get(id(requester))
        else:  # a bus master that does not say who it is: the latest of them all
            bell = max(self._last_write.values(), key=lambda b: b.issued)
        if bell is None or bell.reported or not _overlaps(bell.stores.ranges, phys, n):
            return
        bell.reported = True
        u = bell.stores
        notes = [f"the device read {n} byte(s) at {phys:#x} on receiving it",
                 f"the first of the stores: {u.first.describe()}"]
        if u.dma_wmb:
            notes.append("dma_wmb() orders stores to memory among themselves, not before MMIO")
        self.emit("relaxed-doorbell",
                  f"{bell.fn}() to {bell.register or hex(bell.phys)} while {u.count} "
                  f"store(s) to the {u.buf} may not be visible to the device yet",
                  bell.site, phys=bell.phys, vaddr=bell.vaddr, register=bell.register,
                  notes=notes)

    def _cpu_store(self, phys: int, n: int) -> None:
        if self._dma_written or self._dma_fresh:  # the CPU's own bytes are current
            self._dma_written = _uncovered(self._dma_written, phys, n)
            self._dma_fresh = _uncovered(self._dma_fresh, phys, n)
        buf = self.k.cpu.dma_buffer_at(phys)
        if buf is None:
            return
        if self._unordered is None:
            self._unordered = _Unordered(where(sys._getframe(1)), _bufdesc(buf), [])
        _add_range(self._unordered.ranges, phys, n)
        self._unordered.count += 1

    def _relaxed(self, area: VmArea, off: int, reg: str | None, frame: Any) -> None:
        """A relaxed read: device writes to memory before it may not be seen after it."""
        self._relaxed_read = (where(frame), area.phys_addr + off, reg)
        self._reads_dirty = True
        if self._dma_fresh:
            self._dma_written += self._dma_fresh
            self._dma_fresh = []

    def _read_ordered(self) -> None:
        """readX() or rmb(): later loads see what devices wrote before it."""
        self._relaxed_read = None
        self._dma_written = []
        self._dma_fresh = []
        self._reads_dirty = False

    def _device_write(self, phys: int, n: int, requester: object = None) -> None:
        if self.k.cpu.dma_buffer_at(phys) is not None:
            _add_range(self._dma_fresh, phys, n)
            self._reads_dirty = True

    def _cpu_load(self, phys: int, n: int) -> None:
        if self._relaxed_read is None or not _overlaps(self._dma_written, phys, n):
            return
        buf = self.k.cpu.dma_buffer_at(phys)
        if buf is None:
            return
        site, pa, reg = self._relaxed_read
        self.emit("relaxed-status-read",
                  f"read of the {_bufdesc(buf)} at {phys:#x} after a relaxed read of "
                  f"{reg or hex(pa)} with no rmb(): it may return data older than the status "
                  "says", where(sys._getframe(1)), phys=phys,
                  notes=[f"the relaxed read: {site.describe()}",
                         "a device wrote these bytes before that read"])

    def _barrier(self, kind: str) -> None:
        if kind in ("wmb", "mb"):
            self._unordered = None
        if kind in ("rmb", "mb"):
            self._read_ordered()
        if kind == "dma_wmb" and self._unordered is not None:
            self._unordered.dma_wmb = True

    def _delay(self, ns: int, kind: str) -> None:
        if not self._posted or kind == "msleep":  # a sleeping wait re-checks; a delay loop
            return                                # trusts the clock
        pending = list(self._posted.values())
        self._posted.clear()
        area, off, value, reg, _owner = pending[0]
        more = f" (and {len(pending) - 1} more)" if len(pending) > 1 else ""
        self.emit("posted-write-delay",
                  f"{kind}() of {_human(ns)} starts while the write of {value:#x} to "
                  f"{reg or hex(area.phys_addr + off)}{more} may still be on its way: the "
                  "device has not waited as long as the driver thinks",
                  where(sys._getframe(2)), phys=area.phys_addr + off, register=reg)

    def dependent_action(self, what: str, owner: Any = ...) -> None:
        """An action that assumes the device has seen earlier writes (freeing the DMA memory
        it may still use): report writes of ``owner``'s mappings that may still be posted."""
        pending = [(k_, v) for k_, v in self._posted.items() if owner is ... or v[4] is owner]
        if not pending:
            return
        _key, (area, off, value, reg, _owner) = pending[0]
        self.emit("posted-write-delay",
                  f"{what} while the write of {value:#x} to {reg or hex(area.phys_addr + off)} "
                  "may still be on its way to the device", where(sys._getframe(1)),
                  phys=area.phys_addr + off, register=reg)
        for k_, _v in pending:
            self._posted.pop(k_, None)

    # -- lifetime ----------------------------------------------------------------------

    def _iounmap(self, area: VmArea) -> None:
        info = self._areas.get(area)
        if info is None:
            return
        frames = []
        f = sys._getframe(1)
        while f is not None:
            frames.append(f.f_code.co_name)
            f = f.f_back
        info.unmap_site = where(sys._getframe(1))
        info.by_devres = "devres_release_all" in frames

    def _kernel_report(self, entry: dict) -> None:
        what = entry.get("rule")
        if what == "unchecked-result":
            value = entry.get("value")
            shown = "NULL" if value is None else repr(value)
            self.emit("unchecked-result", f"{entry.get('fn')}() on {shown}: the mapping "
                      "failed and the result was used without a check", where())
        elif what == "use-after-iounmap":
            area = entry["area"]
            info = self._areas.get(area)
            notes = []
            if info is not None and info.unmap_site is not None:
                how = "released by devres when the driver unbound" if info.by_devres \
                    else "unmapped"
                notes.append(f"{how} at {info.unmap_site.describe()}")
            if info is not None and info.site.file is not None:
                notes.append(f"mapped at {info.site.describe()}")
            self.emit("use-after-iounmap", entry["message"], where(),
                      vaddr=area.addr + entry["offset"],
                      phys=area.phys_addr + entry["offset"], notes=notes,
                      register=self._register(info, area, entry["offset"])
                      if info is not None else None)
        elif what == "bad-iounmap":
            area = entry["area"]
            info = self._areas.get(area)
            if area.dead:
                notes = []
                if info is not None and info.unmap_site is not None:
                    how = "by devres when the driver unbound" if info.by_devres else ""
                    notes.append(f"first unmapped {how + ' ' if how else ''}at "
                                 f"{info.unmap_site.describe()}")
                self.emit("double-iounmap", f"iounmap({entry['cookie']!r}) of a mapping "
                          "already unmapped", where(), vaddr=entry["cookie"].vaddr,
                          notes=notes)
            else:
                self.emit("bad-iounmap", f"iounmap({entry['cookie']!r}): not the address "
                          "ioremap() returned (nor inside its first page)", where(),
                          vaddr=entry["cookie"].vaddr)

    def _region(self, event: str, parent: Resource, start: int, n: int,
                res: Resource | None) -> None:
        if event == "request":
            if self._quiet or res is None:
                return
            site = where()
            if site.file is None:
                return
            self._held[id(res)] = _Held("region", f"{_restype(parent)} region "
                                        f"[{start:#x}-{start + n - 1:#x}] {res.name!r}",
                                        site, self._owners[-1] if self._owners else None, res)
        elif res is None:
            self.emit("release-unrequested",
                      f"release of [{start:#x}-{start + n - 1:#x}], which no one requested "
                      "(or which was already released)", where(), phys=start)
        else:
            self._held.pop(id(res), None)

    def _buffer(self, event: str, buf: Any) -> None:
        if event == "add":
            if self._quiet:
                return
            site = where()
            if site.file is None and buf.dev is None:
                return
            owner = buf.dev if buf.dev is not None else \
                (self._owners[-1] if self._owners else None)
            self._held[id(buf)] = _Held("dma", _bufdesc(buf), site, owner, buf)
        else:
            if buf.dev is not None:
                self.dependent_action(f"freeing the {_bufdesc(buf)}", buf.dev)
            self._held.pop(id(buf), None)

    def _irq(self, event: str, irq: int, dev_id: Any, name: str) -> None:
        key = ("irq", irq, id(dev_id))
        if event == "request":
            if self._quiet:
                return
            site = where()
            if site.file is None:
                return
            owner = self._owners[-1] if self._owners else None
            self._held[key] = _Held("irq", f"irq {irq} ({name})", site, owner, dev_id)
        else:
            self._held.pop(key, None)
            if self._posted:  # the write that silenced the device may not have arrived
                self.dependent_action(f"free_irq({irq})",
                                      self._owners[-1] if self._owners else None)

    def _driver(self, event: str, dev: Any) -> None:
        if event in ("probe", "remove"):
            self._owners.append(dev)
            self._drivers[id(dev)] = dev.driver.name if dev.driver is not None else "?"
        elif event in ("probed", "probe-failed", "unbound"):
            if self._owners and self._owners[-1] is dev:
                self._owners.pop()
            if event != "probed":
                drv = self._drivers.pop(id(dev), "?")
                when = (f"{drv}'s probe of {dev.name} failed" if event == "probe-failed" else
                        f"{drv} unbound from {dev.name}")
                self.leaks(dev, when)

    def leaks(self, owner: Any = ..., when: str = "the run ended") -> list[Report]:
        """Report what ``owner`` (a device; None: code outside any driver; ``...``: anyone)
        still holds, as kmemleak would."""
        out = []
        for area, info in list(self._areas.items()):
            if not info.tracked or info.leak_reported or area.dead or area.linear:
                continue
            if owner is not ... and info.owner is not owner:
                continue
            info.leak_reported = True
            out.append(self.emit(
                "leak-mapping", f"unreferenced mapping {area.addr + area.lo:#x} (phys "
                f"{area.req_phys:#x}, size {area.req_size:#x}) still mapped when {when}",
                info.site, phys=area.req_phys, vaddr=area.addr + area.lo,
                notes=[f"backtrace: {_variant(area)}() at {info.site.describe()}"]))
        for key, held in list(self._held.items()):
            if owner is not ... and held.owner is not owner:
                continue
            if held.kind == "region" and held.obj.parent is None:
                del self._held[key]
                continue
            del self._held[key]
            phys = held.obj.start if held.kind == "region" else \
                held.obj.phys if held.kind == "dma" else None
            out.append(self.emit(f"leak-{held.kind}", f"unreferenced {held.what} still held "
                                 f"when {when}", held.site, phys=phys,
                                 notes=[f"backtrace: acquired at {held.site.describe()}"]))
        return out

    def finish(self, leaks: bool = True) -> list[Report]:
        """The end of a run: leaks of everyone (unless the run stopped early, when what is
        still held is no news); returns all reports."""
        if leaks:
            self.leaks(..., "the run ended")
        return self.reports


def _variant(area: VmArea) -> str:
    return {"Device-nGnRE": "ioremap", "UC-": "ioremap", "Device-nGnRnE": "ioremap_np",
            "UC": "ioremap_uc", "WC": "ioremap_wc", "Normal-NC": "ioremap_wc",
            "WT": "ioremap_wt", "WB": "ioremap_cache", "Normal": "ioremap_cache"
            }.get(area.memtype, "ioremap")


def _calls_accessor(site: Site) -> bool:
    """Whether the source line at ``site`` calls an MMIO accessor."""
    import linecache
    import re

    from ..kernel.io import _generated

    if site.file is None or site.line is None:
        return False
    text = linecache.getline(site.file, site.line)
    return any(name in _generated for name in re.findall(r"(\w+)\s*\(", text))


def _human(ns: int) -> str:
    for unit, scale in (("ms", 1_000_000), ("us", 1000)):
        if ns >= scale and ns % scale == 0:
            return f"{ns // scale} {unit}"
    return f"{ns} ns"


def _bufdesc(buf: Any) -> str:
    name = f" {buf.name!r}" if buf.name and buf.name != buf.kind else ""
    return f"{buf.kind} DMA buffer{name} [{buf.phys:#x}+{buf.size:#x}]"


def _restype(parent: Resource) -> str:
    return "I/O" if parent.flags & F.IORESOURCE_IO else "memory"
