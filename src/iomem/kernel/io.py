"""``__iomem`` cookies and the MMIO accessor family (include/asm-generic/io.h,
include/linux/io-64-nonatomic-{lo-hi,hi-lo}.h, lib/iomap.c, Documentation/driver-api/device-io.rst).

A cookie (:class:`IoMem`) is its own type, as sparse makes ``__iomem`` one:
cookie + int is a cookie, while using a cookie as a plain pointer (indexing
it, turning it into an int) or passing a plain int where a cookie belongs is
an error in sparse's words.  The accessors are generated from one table, not
written out one by one: every entry is one access of exactly its width.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..phys import BusError, bswap, byte_view
from .errno import ErrPtr

if TYPE_CHECKING:
    from .ioremap import VmArea


class SparseError(TypeError):
    """What sparse reports for a mix-up of ``__iomem`` and plain pointers."""


class KernelOops(RuntimeError):
    """The simulated kernel crashed (page fault, external abort): the log has the details."""


class KernelBuildError(NameError):
    """Code that would not compile for the configured kernel (e.g. readq on 32-bit)."""


class IoMem:
    """``void __iomem *``: a position inside an ioremap (or ioport_map) area."""

    __slots__ = ("_map", "_off")

    def __init__(self, area: VmArea, offset: int = 0) -> None:
        self._map = area
        self._off = offset

    # pointer arithmetic keeps the address space
    def __add__(self, n: int) -> IoMem:
        if isinstance(n, int) and not isinstance(n, bool):
            return IoMem(self._map, self._off + n)
        if isinstance(n, IoMem):
            raise SparseError("error: incompatible types in binary operation "
                              "(void [noderef] __iomem * + void [noderef] __iomem *)")
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other: int | IoMem) -> IoMem | int:
        if isinstance(other, IoMem):
            return self.vaddr - other.vaddr
        if isinstance(other, int) and not isinstance(other, bool):
            return IoMem(self._map, self._off - other)
        return NotImplemented

    @property
    def vaddr(self) -> int:
        """The kernel virtual address (``%px``)."""
        return self._map.addr + self._off

    @property
    def area(self) -> VmArea:
        return self._map

    @property
    def phys(self) -> int:
        """The physical address this cookie maps (what ``virt_to_phys`` would say)."""
        return self._map.phys_addr + self._off

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IoMem) and other.vaddr == self.vaddr

    def __hash__(self) -> int:
        return hash(self.vaddr)

    def __lt__(self, other: IoMem) -> bool:
        return self.vaddr < other.vaddr

    def __bool__(self) -> bool:
        return True  # never NULL: ioremap returns None for NULL

    def __repr__(self) -> str:
        return f"(void __iomem *)0x{self.vaddr:x}"

    # a cookie is not a plain pointer
    def __getitem__(self, _i: object) -> int:
        raise SparseError("warning: dereference of noderef expression\n"
                          "  (use readl()/readb()/... on an __iomem pointer)")

    def __setitem__(self, _i: object, _v: object) -> None:
        raise SparseError("warning: dereference of noderef expression\n"
                          "  (use writel()/writeb()/... on an __iomem pointer)")

    def __int__(self) -> int:
        raise SparseError("warning: cast removes address space '__iomem' of expression\n"
                          "  (an __iomem pointer is not an integer; use .vaddr to print it, "
                          "or .phys for the physical address)")

    __index__ = __int__


def _cookie_param(fn: str, x86: bool) -> tuple[int, str]:
    """Where ``fn``'s C prototype takes the ``__iomem`` pointer, and how it is qualified
    (asm-generic/io.h; x86's ioread/iowrite family comes from lib/iomap.c)."""
    if fn == "memcpy_fromio":
        return 2, "void const volatile"
    if fn in ("memcpy_toio", "memset_io"):
        return 1, "void volatile"
    if fn.startswith("iowrite"):
        return (1 if fn.endswith("_rep") else 2), ("void" if x86 else "void volatile")
    if fn.startswith("ioread"):
        return 1, ("void const" if x86 else "void const volatile")
    if fn.startswith(("write", "__raw_write")):
        return (1 if fn.startswith("writes") else 2), "void volatile"
    return 1, "void const volatile"


def not_a_cookie(fn: str, addr: object) -> int:
    """Report an accessor called with something that is not an ``__iomem`` cookie."""
    from .kernel import _current, _last_booted, current_kernel

    if addr is None or isinstance(addr, ErrPtr):
        current_kernel().bad_pointer_access(fn, addr)
    k = _current.get() or _last_booted
    argno, quals = _cookie_param(fn, k is not None and k.arch.is_x86)
    got = "unsigned long" if isinstance(addr, int) else type(addr).__name__
    raise SparseError(
        f"warning: incorrect type in argument {argno} (different address spaces)\n"
        f"    expected {quals} [noderef] __iomem *addr\n"
        f"    got {got}\n"
        f"  ({fn}() takes the cookie ioremap() returned, not a physical address or an int)")


_WIDTH = {1: 8, 2: 16, 4: 32, 8: 64}


def _value(fn: str, value: object, size: int) -> int:
    """A value for a ``size``-byte store: an int that fits the width, as an unsigned
    or a signed (two's complement) number."""
    if not isinstance(value, int):  # a bool is 0 or 1, as C converts it (writel(on, reg))
        raise TypeError(f"{fn}: the value must be an integer, not {type(value).__name__}")
    bits = _WIDTH[size]
    if not -(1 << (bits - 1)) <= value < (1 << bits):
        raise ValueError(f"{fn}: value {value:#x} does not fit in {bits} bits")
    return value & ((1 << bits) - 1)


# -- the table ----------------------------------------------------------------
#
# name -> (size, is_write, byteswap, ordered, pio_ok).  "ordered" accessors
# carry the barriers of asm-generic/io.h (readX: __io_br/__io_ar, writeX:
# __io_bw/__io_aw); relaxed and __raw_ ones do not.  ioread/iowrite also
# accept port-I/O cookies from ioport_map()/pci_iomap() of an I/O BAR.

_SIZES = {"b": 1, "w": 2, "l": 4, "q": 8}
_ISIZES = {"8": 1, "16": 2, "32": 4, "64": 8}

ACCESSORS: dict[str, tuple[int, bool, bool, bool, bool]] = {}
for _s, _n in _SIZES.items():
    ACCESSORS[f"read{_s}"] = (_n, False, False, True, False)
    ACCESSORS[f"write{_s}"] = (_n, True, False, True, False)
    ACCESSORS[f"read{_s}_relaxed"] = (_n, False, False, False, False)
    ACCESSORS[f"write{_s}_relaxed"] = (_n, True, False, False, False)
    ACCESSORS[f"__raw_read{_s}"] = (_n, False, False, False, False)
    ACCESSORS[f"__raw_write{_s}"] = (_n, True, False, False, False)
for _s, _n in _ISIZES.items():
    ACCESSORS[f"ioread{_s}"] = (_n, False, False, True, True)
    ACCESSORS[f"iowrite{_s}"] = (_n, True, False, True, True)
    if _n > 1:
        ACCESSORS[f"ioread{_s}be"] = (_n, False, True, True, True)
        ACCESSORS[f"iowrite{_s}be"] = (_n, True, True, True, True)

#: accessors that only 64-bit kernels have
SIXTY_FOUR_ONLY = frozenset(n for n, (size, *_r) in ACCESSORS.items() if size == 8)


def _make(name: str, size: int, is_write: bool, swap: bool, ordered: bool,
          pio_ok: bool) -> Callable:
    limit = (1 << (size * 8)) - 1
    only64 = size == 8
    if is_write:
        def accessor(value: int, addr: IoMem) -> None:
            if addr.__class__ is not IoMem:
                not_a_cookie(name, addr)
            if value.__class__ is not int or not 0 <= value <= limit:
                value = _value(name, value, size)
            area = addr._map
            if area.pio and not pio_ok:
                area.kernel.pio_misuse(name, addr)
            if only64 and not area.kernel.arch.has_readq:
                no_64bit_accessor(name)
            if swap:
                value = bswap(value, size)
            if ordered:
                area.write(addr._off, size, value)
            else:
                area.write_relaxed(addr._off, size, value)
        kind = "store"
    else:
        def accessor(addr: IoMem) -> int:  # type: ignore[misc]
            if addr.__class__ is not IoMem:
                not_a_cookie(name, addr)
            area = addr._map
            if area.pio and not pio_ok:
                area.kernel.pio_misuse(name, addr)
            if only64 and not area.kernel.arch.has_readq:
                no_64bit_accessor(name)
            v = area.read(addr._off, size) if ordered else area.read_relaxed(addr._off, size)
            return bswap(v, size) if swap else v
        kind = "load"
    sig = f"{name}(value, addr)" if is_write else f"{name}(addr)"
    accessor.__doc__ = (f"``{sig}``: one {size * 8}-bit {'big-endian ' if swap else ''}{kind}"
                        f"{'' if ordered else ', no barriers'}.")
    accessor.__name__ = accessor.__qualname__ = name
    return accessor


def no_64bit_accessor(name: str) -> None:
    """``readq``/``writeq`` do not exist on 32-bit kernels (asm-generic/io.h)."""
    raise KernelBuildError(
        f"error: implicit declaration of function '{name}'\n"
        f"  (32-bit kernels have no 64-bit MMIO accessors: include "
        f"<linux/io-64-nonatomic-lo-hi.h> and use lo_hi_readq()/lo_hi_writeq(), which make "
        f"two 32-bit accesses)")


def _fast_readl() -> Callable:
    """``readl`` without the generic machinery: the one most drivers call most."""
    def readl(addr: IoMem) -> int:
        if addr.__class__ is not IoMem:
            not_a_cookie("readl", addr)
        area = addr._map
        if area.pio:
            area.kernel.pio_misuse("readl", addr)
        return area.read(addr._off, 4)
    readl.__doc__ = "``readl(addr)``: one 32-bit little-endian load, ordered."
    return readl


def _fast_writel() -> Callable:
    def writel(value: int, addr: IoMem) -> None:
        if addr.__class__ is not IoMem:
            not_a_cookie("writel", addr)
        if value.__class__ is not int or not 0 <= value <= 0xFFFFFFFF:
            value = _value("writel", value, 4)
        area = addr._map
        if area.pio:
            area.kernel.pio_misuse("writel", addr)
        area.write(addr._off, 4, value)
    writel.__doc__ = "``writel(value, addr)``: one 32-bit little-endian store, ordered."
    return writel


_generated: dict[str, Callable] = {n: _make(n, *spec) for n, spec in ACCESSORS.items()}
_generated["readl"] = _fast_readl()
_generated["writel"] = _fast_writel()
globals().update(_generated)


def accessor(name: str) -> Callable:
    """Look an accessor up by name (for tables, CLIs and the 32-bit check)."""
    return _generated[name]


# -- 64-bit through two 32-bit halves (io-64-nonatomic-*.h) --------------------

def _split_pair(order: str, half: str) -> tuple[Callable, Callable]:
    """A 64-bit read and write made of two 32-bit ``half`` accesses ("l",
    "l_relaxed" or "io32": ioread64_lo_hi and friends use ioread32/iowrite32, so
    they take port cookies too), low word first for ``lo_hi``."""
    rd, wr = {"l": ("readl", "writel"), "l_relaxed": ("readl_relaxed", "writel_relaxed"),
              "io32": ("ioread32", "iowrite32")}[half]
    rd, wr = _generated[rd], _generated[wr]
    first_lo = order == "lo_hi"

    def read64(addr: IoMem) -> int:
        if first_lo:
            lo = rd(addr)
            hi = rd(addr + 4)
        else:
            hi = rd(addr + 4)
            lo = rd(addr)
        return (hi << 32) | lo

    def write64(value: int, addr: IoMem) -> None:
        value = _value(write64.__name__, value, 8)
        if first_lo:
            wr(value & 0xFFFFFFFF, addr)
            wr(value >> 32, addr + 4)
        else:
            wr(value >> 32, addr + 4)
            wr(value & 0xFFFFFFFF, addr)
    return read64, write64


for _order in ("lo_hi", "hi_lo"):
    for _half, _rn, _wn in (("l", f"{_order}_readq", f"{_order}_writeq"),
                            ("l_relaxed", f"{_order}_readq_relaxed",
                             f"{_order}_writeq_relaxed"),
                            ("io32", f"ioread64_{_order}", f"iowrite64_{_order}")):
        _r, _w = _split_pair(_order, _half)
        for _fn, _nm in ((_r, _rn), (_w, _wn)):
            _fn.__name__ = _fn.__qualname__ = _nm
            _generated[_nm] = _fn
globals().update(_generated)


# -- string accessors: repeated access to one register (no swap, no barriers) ---

def _count(fn: str, count: object) -> int:
    """A C ``count``/``size`` argument: a non-negative int."""
    if not isinstance(count, int) or isinstance(count, bool):
        raise TypeError(f"{fn}: the count must be an integer, not {type(count).__name__}")
    if count < 0:
        raise ValueError(f"{fn}: the count must not be negative ({count})")
    return count


def _make_string(name: str, size: int, is_write: bool) -> Callable:
    fmt = {1: "B", 2: "H", 4: "I", 8: "Q"}[size]
    only64 = size == 8
    if is_write:
        def writes(addr: IoMem, buffer, count: int) -> None:
            if addr.__class__ is not IoMem:
                not_a_cookie(name, addr)
            if only64 and not addr._map.kernel.arch.has_readq:
                no_64bit_accessor(name)
            count = _count(name, count)
            mv = byte_view(name, buffer)
            if len(mv) < count * size:
                raise ValueError(f"{name}: buffer holds {len(mv) // size} elements, "
                                 f"count is {count}")
            items = mv[:count * size].cast(fmt)
            area = addr._map
            for v in items:
                area.write_relaxed(addr._off, size, v)
        writes.__doc__ = f"``{name}(addr, buffer, count)``: {size * 8}-bit stores to one register."
        fn = writes
    else:
        def reads(addr: IoMem, buffer, count: int) -> None:
            if addr.__class__ is not IoMem:
                not_a_cookie(name, addr)
            if only64 and not addr._map.kernel.arch.has_readq:
                no_64bit_accessor(name)
            count = _count(name, count)
            mv = byte_view(name, buffer, writable=True)
            if len(mv) < count * size:
                raise ValueError(f"{name}: buffer holds {len(mv) // size} elements, "
                                 f"count is {count}")
            out = mv[:count * size].cast(fmt)
            area = addr._map
            for i in range(count):
                out[i] = area.read_relaxed(addr._off, size)
        reads.__doc__ = f"``{name}(addr, buffer, count)``: {size * 8}-bit loads from one register."
        fn = reads
    fn.__name__ = fn.__qualname__ = name
    return fn


for _s, _n in _SIZES.items():
    _generated[f"reads{_s}"] = _make_string(f"reads{_s}", _n, False)
    _generated[f"writes{_s}"] = _make_string(f"writes{_s}", _n, True)
for _s, _n in _ISIZES.items():
    if _n < 8:
        _generated[f"ioread{_s}_rep"] = _make_string(f"ioread{_s}_rep", _n, False)
        _generated[f"iowrite{_s}_rep"] = _make_string(f"iowrite{_s}_rep", _n, True)
SIXTY_FOUR_ONLY = SIXTY_FOUR_ONLY | {"readsq", "writesq"}
globals().update(_generated)


# -- block copies ---------------------------------------------------------------

def _chunks(vaddr: int, count: int, unit: int):
    """Split [vaddr, vaddr+count) as the generic string routines do (arm64's
    __memcpy_fromio): bytes up to alignment, then ``unit``-sized accesses, then
    the byte tail."""
    pos = 0
    while pos < count and (vaddr + pos) % unit:
        yield pos, 1
        pos += 1
    while count - pos >= unit:
        yield pos, unit
        pos += unit
    while pos < count:
        yield pos, 1
        pos += 1


def _chunks_x86(vaddr: int, count: int):
    """Split as x86's string_memcpy_{from,to}io (arch/x86/lib/iomem.c): a byte and
    then a word to align the I/O side to 4, ``rep movsl``, then a word and a byte."""
    pos = 0
    if count and vaddr & 1:
        yield pos, 1
        pos += 1
    if count - pos > 1 and (vaddr + pos) & 2:
        yield pos, 2
        pos += 2
    n = count - pos
    for _ in range(n // 4):
        yield pos, 4
        pos += 4
    if n & 2:
        yield pos, 2
        pos += 2
    if n & 1:
        yield pos, 1


def _copy_chunks(cookie: IoMem, count: int):
    arch = cookie._map.kernel.arch
    if arch.is_x86:
        return _chunks_x86(cookie.vaddr, count)
    return _chunks(cookie.vaddr, count, arch.copy_unit)


def _n_chunks(cookie: IoMem, count: int) -> int:
    """How many accesses :func:`_copy_chunks` makes, without making them."""
    vaddr = cookie.vaddr
    arch = cookie._map.kernel.arch
    if arch.is_x86:
        n = pos = 0
        if count and vaddr & 1:
            n, pos = 1, 1
        if count - pos > 1 and (vaddr + pos) & 2:
            n, pos = n + 1, pos + 2
        rest = count - pos
        return n + rest // 4 + (rest >> 1 & 1) + (rest & 1)
    unit = arch.copy_unit
    head = min(count, -vaddr % unit)
    rest = count - head
    return head + rest // unit + rest % unit


def _ram_block(cookie: IoMem, count: int, writing: bool):
    """The RAM bytes behind [cookie, cookie+count) when a block copy may move them in
    one go: a direct area (nothing watches single accesses), inside what was mapped,
    one RAM region (ROM too for reads), no bus hook.  The copy then costs the virtual
    time of the accesses the arch routine would make, which is all a RAM region could
    ever tell apart."""
    area = cookie._map
    if not area.direct or count <= 0:
        return None
    off = cookie._off
    if off < area.lo or off + count > area.hi:
        return None
    k = area.kernel
    memory = k.machine.memory
    if memory.on_access is not None:
        return None
    phys = area.phys_addr + off
    fr = memory.lookup(phys)
    if fr is None or fr.region.ops is not None or phys + count - 1 > fr.end:
        return None
    if writing and fr.region.kind != "ram":
        return None
    accesses = _n_chunks(cookie, count)
    k.machine.clock.advance(accesses * k.machine.access_ns)
    start = phys - fr.start + fr.offset
    return memoryview(fr.region.data)[start:start + count]


def memcpy_fromio(dst, src: IoMem, count: int) -> None:
    """Copy ``count`` bytes from I/O memory into the writable buffer ``dst``."""
    if src.__class__ is not IoMem:
        not_a_cookie("memcpy_fromio", src)
    count = _count("memcpy_fromio", count)
    out = byte_view("memcpy_fromio", dst, "destination buffer", writable=True)
    if len(out) < count:
        raise ValueError(f"memcpy_fromio: destination holds {len(out)} bytes, count is {count}")
    block = _ram_block(src, count, writing=False)
    if block is not None:
        out[:count] = block
        return
    area = src._map
    for pos, n in _copy_chunks(src, count):
        v = area.read_relaxed(src._off + pos, n)
        out[pos:pos + n] = v.to_bytes(n, "little")


def memcpy_toio(dst: IoMem, src, count: int) -> None:
    """Copy ``count`` bytes from the buffer ``src`` into I/O memory."""
    if dst.__class__ is not IoMem:
        not_a_cookie("memcpy_toio", dst)
    count = _count("memcpy_toio", count)
    data = byte_view("memcpy_toio", src, "source buffer")
    if len(data) < count:
        raise ValueError(f"memcpy_toio: source holds {len(data)} bytes, count is {count}")
    block = _ram_block(dst, count, writing=True)
    if block is not None:
        block[:] = data[:count]
        return
    area = dst._map
    for pos, n in _copy_chunks(dst, count):
        area.write_relaxed(dst._off + pos, n, int.from_bytes(data[pos:pos + n], "little"))


def memset_io(dst: IoMem, value: int, count: int) -> None:
    """Fill ``count`` bytes of I/O memory with the byte ``value``."""
    if dst.__class__ is not IoMem:
        not_a_cookie("memset_io", dst)
    byte = _value("memset_io", value, 1)
    count = _count("memset_io", count)
    area = dst._map
    for pos, n in _chunks(dst.vaddr, count, area.kernel.arch.copy_unit):
        area.write_relaxed(dst._off + pos, n, int.from_bytes(bytes([byte]) * n, "little"))


for _fn in (memcpy_fromio, memcpy_toio, memset_io):
    _generated[_fn.__name__] = _fn


# -- barriers -------------------------------------------------------------------

def _barrier(kind: str) -> Callable[[], None]:
    def fn() -> None:
        from .kernel import current_kernel

        current_kernel().barrier(kind)
    fn.__name__ = fn.__qualname__ = kind
    fn.__doc__ = f"``{kind}()``: see Documentation/memory-barriers.txt."
    return fn


BARRIERS = ("mb", "rmb", "wmb", "dma_mb", "dma_rmb", "dma_wmb", "iowmb", "mmiowb")
for _b in BARRIERS:
    _generated[_b] = _barrier(_b)
globals().update(_generated)


# -- the access paths --------------------------------------------------------------

class IoPaths:
    """Chooses, when an area is made (or unmapped), the functions its accesses run.

    The direct path is a closure over the bus and clock: a bounds check, one
    clock tick and one bus transaction.  Layers (tracing, the sanitizer, the
    CPU memory model) wrap it when enabled for that area.
    """

    def __init__(self, kernel) -> None:
        self.k = kernel
        #: callables (area, read, write, ordered) -> (read, write), applied in order
        self.layers: list[Callable] = []

    def install(self, area: VmArea) -> None:
        k = self.k
        if area.dead:
            def dead_read(off: int, size: int) -> int:
                return k.page_fault(area, off, size, False)

            def dead_write(off: int, size: int, value: int) -> None:
                k.page_fault(area, off, size, True)
            area.read = area.read_relaxed = dead_read
            area.write = area.write_relaxed = dead_write
            area.direct = False
            return
        bus = k.machine.io if area.pio else k.machine.memory
        rd0, wr0 = self._direct(area, bus)
        rd, wr = rd_r, wr_r = rd0, wr0
        for layer in self.layers:
            rd, wr = layer(area, rd, wr, True)
            rd_r, wr_r = layer(area, rd_r, wr_r, False)
        area.read, area.write = rd, wr
        area.read_relaxed, area.write_relaxed = rd_r, wr_r
        #: nothing observes this area's accesses one by one (no tracer, sanitizer or
        #: CPU model wrapped them): block copies to plain RAM may copy in one go
        area.direct = not area.pio and (rd, wr, rd_r, wr_r) == (rd0, wr0, rd0, wr0)

    def _direct(self, area: VmArea, bus) -> tuple[Callable, Callable]:
        k = self.k
        lo, hi = area.lo, area.hi
        base = area.phys_addr
        clock = k.machine.clock
        ns = k.machine.access_ns
        bread, bwrite = bus.read, bus.write

        def read(off: int, size: int) -> int:
            if off < lo or off + size > hi:
                return k.out_of_bounds(area, off, size, False)
            t = clock.now + ns
            if t >= clock.next_due:
                clock.advance(ns)
            else:
                clock.now = t
            try:
                return bread(base + off, size)
            except BusError as e:
                return k.bus_abort(e, area, off, size, False)

        def write(off: int, size: int, value: int) -> None:
            if off < lo or off + size > hi:
                k.out_of_bounds(area, off, size, True)
                return
            t = clock.now + ns
            if t >= clock.next_due:
                clock.advance(ns)
            else:
                clock.now = t
            try:
                bwrite(base + off, size, value)
            except BusError as e:
                k.bus_abort(e, area, off, size, True)
        return read, write
