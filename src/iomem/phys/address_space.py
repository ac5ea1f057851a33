"""The physical address space: regions, a flattened view and bus transactions.

Like QEMU's ``AddressSpace``/``FlatView`` (softmmu/memory.c): regions may
overlap and the higher priority wins; accesses go through a flattened,
sorted list of disjoint ranges found by bisection, with a last-hit cache in
front.  The flat view is rebuilt lazily after the map changes.

What happens on a bus error is the board's policy: ``abort`` raises
:class:`BusError` (an arm64 synchronous external abort), ``ignore`` records
the error and reads return all-ones for an unassigned address (a PCI master
abort) and 0 for an access the region rejected (what QEMU's memory core gives
for an invalid access on x86).  Either way the error is recorded.
"""

from __future__ import annotations

import heapq
import struct
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .region import BIG, BusError, Region, bswap, mask_for

ABORT = "abort"
IGNORE = "ignore"

_UNPACK = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}
_MASK = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF, 8: 0xFFFFFFFFFFFFFFFF}


@dataclass(frozen=True)
class FlatRange:
    """A disjoint piece of the flat view: [start, end] served by ``region`` from ``offset``."""

    start: int
    end: int
    region: Region
    offset: int  # offset into the region of ``start``
    #: the address space's hot tuple for this range, made on its first hit
    hot: tuple | None = field(default=None, compare=False, repr=False)


_NONE: frozenset[int] = frozenset()
_ALL = frozenset(_UNPACK)
_COLD: tuple = (1, 0, 0, None, _NONE, _NONE, None)  # matches no address


def _hot(fr: FlatRange) -> tuple:
    """The hot tuple for ``fr``: (start, end + 1, offset - start, ops, sizes read
    inline, sizes written inline, RAM's typed views).  Inline: aligned accesses to RAM
    (and reads of ROM) and the sizes a little-endian device both accepts and
    implements; everything else takes the full path."""
    region = fr.region
    ops = region.ops
    head = (fr.start, fr.end + 1, fr.offset - fr.start)
    if ops is None:
        if region.kind == "ram":
            return (*head, None, _ALL, _ALL, region._views)
        if region.kind == "rom":
            return (*head, None, _ALL, _NONE, region._views)
        return (*head, None, _NONE, _NONE, None)
    rules = ops.rules
    if rules.endian == BIG:
        return (*head, None, _NONE, _NONE, None)
    fast = rules.valid_sizes & rules.implemented
    return (*head, ops, fast, fast, None)


def _bad_size(size: object) -> ValueError:
    return ValueError(f"access size {size!r} is not one of 1, 2, 4, 8")


class AddressSpace:
    """A physical address space made of :class:`Region` objects."""

    def __init__(self, name: str = "memory", bus_error_policy: str = ABORT,
                 width_bits: int = 64) -> None:
        if bus_error_policy not in (ABORT, IGNORE):
            raise ValueError(f"bus error policy must be {ABORT!r} or {IGNORE!r}")
        self.name = name
        self.policy = bus_error_policy
        self.limit = (1 << width_bits) - 1
        self.regions: list[Region] = []
        self._order: dict[int, int] = {}
        self._seq = 0
        self._flat: list[FlatRange] = []
        self._starts: list[int] = []
        self._dirty = False
        self._last: FlatRange | None = None
        #: the last hit as one tuple (see _hot): the access paths unpack it in one step
        #: instead of walking FlatRange -> Region -> ops -> rules on every access
        self._hot: tuple = _COLD
        self.bus_errors: list[BusError] = []
        #: called with each BusError before the policy applies (the kernel logs them)
        self.on_bus_error: Callable[[BusError], None] | None = None
        self._on_access: Callable[[int, int, bool, int, Region], None] | None = None

    # -- the map -----------------------------------------------------------

    def add_region(self, region: Region) -> Region:
        """Place ``region`` in the map; it must lie inside the address space."""
        if id(region) in self._order:  # O(1): the same test as "in self.regions"
            raise ValueError(f"region '{region.name}' is already in {self.name}")
        if region.end > self.limit:
            raise ValueError(f"region '{region.name}' ends at 0x{region.end:x}, beyond "
                             f"the {self.name} address space (0x{self.limit:x})")
        self.regions.append(region)
        self._order[id(region)] = self._seq
        self._seq += 1
        self._invalidate()
        return region

    def add_regions(self, regions: Iterable[Region]) -> None:
        for r in regions:
            self.add_region(r)

    def remove_region(self, region: Region) -> None:
        self.regions.remove(region)
        del self._order[id(region)]
        self._invalidate()

    def move_region(self, region: Region, base: int) -> None:
        """Move a region (a BAR reprogrammed); the flat view follows."""
        if base < 0 or base + region.size - 1 > self.limit:
            raise ValueError(f"region '{region.name}' cannot move to {base:#x}")
        region.base = base
        self._invalidate()

    def set_enabled(self, region: Region, enabled: bool) -> None:
        """Turn decoding of a region on or off (e.g. PCI memory decode)."""
        region.enabled = enabled
        self._invalidate()

    @property
    def on_access(self) -> Callable[[int, int, bool, int, Region], None] | None:
        """Called after every completed device access (tracers, virtual time)."""
        return self._on_access

    @on_access.setter
    def on_access(self, hook: Callable[[int, int, bool, int, Region], None] | None) -> None:
        self._on_access = hook
        self._hot = _COLD  # the inline path does not call it

    def _invalidate(self) -> None:
        self._dirty = True
        self._last = None
        self._hot = _COLD

    def flat_view(self) -> list[FlatRange]:
        """The disjoint ranges the bus decodes, sorted by address."""
        if self._dirty:
            self._rebuild()
        return self._flat

    def _rebuild(self) -> None:
        live = [r for r in self.regions if r.enabled]
        live.sort(key=lambda r: (r.base, r.end))
        overlapping = any(a.end >= b.base for a, b in zip(live, live[1:], strict=False))
        if not overlapping:
            flat = [FlatRange(r.base, r.end, r, 0) for r in live]
        else:
            flat = self._resolve_overlaps(live)
        self._flat = flat
        self._starts = [f.start for f in flat]
        self._dirty = False

    def _resolve_overlaps(self, live: list[Region]) -> list[FlatRange]:
        # Sweep the boundaries; the active region with the highest
        # (priority, insertion order) owns each elementary interval.
        points = sorted({r.base for r in live} | {r.end + 1 for r in live})
        by_start: dict[int, list[Region]] = {}
        for r in live:
            by_start.setdefault(r.base, []).append(r)
        heap: list[tuple[int, int, int, Region]] = []
        flat: list[FlatRange] = []
        for i, p in enumerate(points[:-1]):
            for r in by_start.get(p, ()):
                heapq.heappush(heap, (-r.priority, -self._order[id(r)], id(r), r))
            while heap and heap[0][3].end < p:
                heapq.heappop(heap)
            if not heap:
                continue
            owner = heap[0][3]
            hi = points[i + 1] - 1
            prev = flat[-1] if flat else None
            if prev is not None and prev.region is owner and prev.end + 1 == p:
                flat[-1] = FlatRange(prev.start, hi, owner, prev.offset)
            else:
                flat.append(FlatRange(p, hi, owner, p - owner.base))
        return flat

    def lookup(self, addr: int) -> FlatRange | None:
        """The flat range decoding ``addr``, or None: O(log n), last hit cached."""
        last = self._last
        if last is not None and last.start <= addr <= last.end:
            return last
        if self._dirty:
            self._rebuild()
        i = bisect_right(self._starts, addr) - 1
        if i >= 0:
            fr = self._flat[i]
            if addr <= fr.end:
                self._last = fr
                if self._on_access is None:
                    hot = fr.hot
                    if hot is None:
                        hot = _hot(fr)
                        object.__setattr__(fr, "hot", hot)  # a cache, not a field's value
                    self._hot = hot
                return fr
        return None

    def region_at(self, addr: int) -> Region | None:
        fr = self.lookup(addr)
        return fr.region if fr is not None else None

    # -- transactions --------------------------------------------------------

    def read(self, addr: int, size: int) -> int:
        """One bus read of ``size`` bytes; returns the value as the CPU sees it (LE)."""
        start, stop, delta, ops, fast, _wfast, views = self._hot
        if start <= addr and addr + size <= stop and size in fast:
            off = addr + delta
            if not off % size:
                if ops is None:
                    return views[size][off // size]
                return ops.read(off, size) & _MASK[size]
        fr = self._last
        if fr is None or not (fr.start <= addr and addr + size - 1 <= fr.end):
            fr = self.lookup(addr)
            if fr is None or addr + size - 1 > fr.end:
                return self._fail("unassigned" if fr is None else "straddle", addr, size,
                                  False, fr)
        region = fr.region
        off = addr - fr.start + fr.offset
        if region.ops is None:  # RAM / ROM
            try:
                if off % size == 0:
                    return region._views[size][off // size]
                return struct.unpack_from(_UNPACK[size], region.data, off)[0]
            except (KeyError, ZeroDivisionError):
                raise _bad_size(size) from None
        # the common device access inline: valid, implemented, aligned, little-endian
        ops = region.ops
        rules = ops.rules
        impl = rules.impl_sizes
        if size in rules.valid_sizes and not off % size and rules.endian != BIG and \
                (impl is None or size in impl):
            value = ops.read(off, size)
            if self._on_access is not None:
                self._on_access(addr, size, False, value, region)
            return value & _MASK[size]
        return self._io_read(region, off, addr, size)

    def write(self, addr: int, size: int, value: int) -> None:
        """One bus write of ``size`` bytes of ``value`` (as the CPU holds it, LE)."""
        start, stop, delta, ops, _rfast, fast, views = self._hot
        if start <= addr and addr + size <= stop and size in fast:
            off = addr + delta
            if not off % size:
                if ops is None:
                    views[size][off // size] = value
                else:
                    ops.write(off, size, value)
                return
        fr = self._last
        if fr is None or not (fr.start <= addr and addr + size - 1 <= fr.end):
            fr = self.lookup(addr)
            if fr is None or addr + size - 1 > fr.end:
                self._fail("unassigned" if fr is None else "straddle", addr, size, True, fr)
                return
        region = fr.region
        off = addr - fr.start + fr.offset
        if region.ops is None:
            if region.kind == "rom":
                if size not in _UNPACK:
                    raise _bad_size(size)
                return  # ROM ignores writes, as real ROM does
            try:
                if off % size == 0:
                    region._views[size][off // size] = value
                else:
                    struct.pack_into(_UNPACK[size], region.data, off, value)
            except (KeyError, ZeroDivisionError):
                raise _bad_size(size) from None
            return
        ops = region.ops
        rules = ops.rules
        impl = rules.impl_sizes
        if size in rules.valid_sizes and not off % size and rules.endian != BIG and \
                (impl is None or size in impl):
            ops.write(off, size, value)
            if self._on_access is not None:
                self._on_access(addr, size, True, value, region)
            return
        self._io_write(region, off, addr, size, value)

    def _io_read(self, region: Region, off: int, addr: int, size: int) -> int:
        ops = region.ops
        rules = ops.rules
        if size not in rules.valid_sizes:
            return self._fail("size", addr, size, False, region,
                              f"accepts {rules.describe()}")
        if off % size and not rules.unaligned:
            return self._fail("unaligned", addr, size, False, region,
                              f"accepts {rules.describe()}")
        impl = rules.implemented
        if size in impl and (off % size == 0 or rules.unaligned):
            value = ops.read(off, size)
        else:
            value = self._adjusted_read(ops, off, size, impl, rules.endian)
        if rules.endian == BIG:
            value = bswap(value, size)
        if self._on_access is not None:
            self._on_access(addr, size, False, value, region)
        return value & mask_for(size)

    def _io_write(self, region: Region, off: int, addr: int, size: int, value: int) -> None:
        ops = region.ops
        rules = ops.rules
        if size not in rules.valid_sizes:
            self._fail("size", addr, size, True, region, f"accepts {rules.describe()}")
            return
        if off % size and not rules.unaligned:
            self._fail("unaligned", addr, size, True, region, f"accepts {rules.describe()}")
            return
        dev_value = bswap(value, size) if rules.endian == BIG else value
        impl = rules.implemented
        if size in impl and (off % size == 0 or rules.unaligned):
            ops.write(off, size, dev_value)
        else:
            self._adjusted_write(ops, off, size, dev_value, impl, rules.endian)
        if self._on_access is not None:
            self._on_access(addr, size, True, value, region)

    # QEMU's access_with_adjusted_size: a valid size the model does not
    # implement becomes one or more accesses of an implemented size.
    @staticmethod
    def _pick_size(size: int, impl: frozenset[int]) -> int:
        smaller = [s for s in impl if s <= size]
        return max(smaller) if smaller else min(impl)

    def _adjusted_read(self, ops, off: int, size: int, impl: frozenset[int], endian: str) -> int:
        unit = self._pick_size(size, impl)
        if unit > size:  # widen: read the containing unit and extract
            base = off - off % unit
            word = ops.read(base, unit)
            shift = (off - base) if endian != BIG else (unit - size - (off - base))
            return (word >> (8 * shift)) & mask_for(size)
        value = 0
        for i in range(0, size, unit):
            part = ops.read(off + i, unit)
            shift = i if endian != BIG else size - unit - i
            value |= part << (8 * shift)
        return value

    def _adjusted_write(self, ops, off: int, size: int, value: int, impl: frozenset[int],
                        endian: str) -> None:
        unit = self._pick_size(size, impl)
        if unit > size:  # a narrow write the model cannot take: QEMU widens it, merging zeros
            base = off - off % unit
            shift = (off - base) if endian != BIG else (unit - size - (off - base))
            ops.write(base, unit, (value & mask_for(size)) << (8 * shift))
            return
        for i in range(0, size, unit):
            shift = i if endian != BIG else size - unit - i
            ops.write(off + i, unit, (value >> (8 * shift)) & mask_for(unit))

    def _fail(self, kind: str, addr: int, size: int, is_write: bool,
              where: FlatRange | Region | None, detail: str = "") -> int:
        if size not in _UNPACK:
            raise _bad_size(size)
        if not isinstance(addr, int) or addr < 0:
            raise ValueError(f"bus address {addr!r} is not a physical address")
        region = where.region if isinstance(where, FlatRange) else where
        err = BusError(kind, addr, size, is_write, region.name if region else None, detail)
        self.bus_errors.append(err)
        if self.on_bus_error is not None:
            self.on_bus_error(err)
        if self.policy == ABORT:
            raise err
        if is_write:
            return 0
        return mask_for(size) if kind == "unassigned" else 0

    # -- bulk helpers (DMA, loaders) -----------------------------------------

    def read_bytes(self, addr: int, n: int) -> bytes:
        """Copy ``n`` bytes out of RAM/ROM (DMA engines and loaders); device
        regions are read a byte at a time through their rules."""
        out = bytearray()
        while n > 0:
            fr = self.lookup(addr)
            if fr is None:
                self._fail("unassigned", addr, 1, False, None)
                out += b"\xff"
                addr += 1
                n -= 1
                continue
            chunk = min(n, fr.end - addr + 1)
            off = addr - fr.start + fr.offset
            if fr.region.ops is None:
                out += fr.region.data[off:off + chunk]
            else:
                out += bytes(self.read(addr + i, 1) for i in range(chunk))
            addr += chunk
            n -= chunk
        return bytes(out)

    def write_bytes(self, addr: int, data: bytes) -> None:
        """Copy ``data`` into RAM (DMA engines and loaders)."""
        pos = 0
        while pos < len(data):
            fr = self.lookup(addr + pos)
            if fr is None:
                self._fail("unassigned", addr + pos, 1, True, None)
                pos += 1
                continue
            chunk = min(len(data) - pos, fr.end - (addr + pos) + 1)
            off = addr + pos - fr.start + fr.offset
            r = fr.region
            if r.ops is None:
                if r.kind == "ram":
                    r.data[off:off + chunk] = data[pos:pos + chunk]
            else:
                for i in range(chunk):
                    self.write(addr + pos + i, 1, data[pos + i])
            pos += chunk

    # -- views -------------------------------------------------------------------

    def mtree(self, flat: bool = False) -> str:
        """The map as QEMU's ``info mtree`` (or ``info mtree -f``) prints it."""
        if flat:
            lines = ["FlatView #0", f' AS "{self.name}", root: system',
                     " Root memory region: system"]
            for fr in self.flat_view():
                r = fr.region
                off = f" @{fr.offset:016x}" if fr.offset else ""
                lines.append(f"  {fr.start:016x}-{fr.end:016x} (prio {r.priority}, "
                             f"{r.type_name()}): {r.name}{off}")
            return "\n".join(lines) + "\n"
        lines = [f"address-space: {self.name}",
                 f"  {0:016x}-{self.limit:016x} (prio 0, i/o): system"]
        for r in sorted(self.regions, key=lambda r: (r.base, -r.priority, r.end)):
            dis = " [disabled]" if not r.enabled else ""
            lines.append(f"    {r.base:016x}-{r.end:016x} (prio {r.priority}, "
                         f"{r.type_name()}): {r.name}{dis}")
        return "\n".join(lines) + "\n"
