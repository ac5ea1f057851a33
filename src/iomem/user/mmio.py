"""The userspace accessor object: the kernel's MMIO accessors over a mapping.

``m.readl(off)``, ``m.writel(value, off)``, ``m.ioread32be(off)``,
``m.readsl(off, buf, n)``, ``m.memcpy_fromio(buf, off, n)``,
``m.lo_hi_writeq(value, off)``... keep the names, argument order and
semantics of include/asm-generic/io.h and include/linux/io-64-nonatomic-*.h
(see :mod:`iomem.kernel.io` for the kernel side), with an offset into the
mapping where the kernel takes an ``__iomem`` cookie.

Every access is exactly one aligned access of the asked width: on a mapped
buffer it is one element of a typed memoryview cached when the mapping is
made (CPython copies an element with a fixed-size ``memcpy``, which compiles
to a single load or store); on a read/write-pair window it is one call of
the pair with that size. Accesses are never sliced, split or widened; a
misaligned, negative or out-of-range offset, a value that does not fit, or
a width the window cannot do in one access is refused with an error that
says which. Ordered and relaxed accessors make the same single access on a
real mapping (what ordering the CPU gives is the mapping's memory type);
the simulator's windows tell them apart.

The accessors are generated from one table, as the kernel side's are.
"""

from __future__ import annotations

import contextlib
import mmap
import platform
import struct
import weakref
from collections.abc import Callable
from typing import Any

from ..phys.region import byte_view
from .errors import MmioAccessError, MmioClosedError, MmioReadOnlyError, MmioValueError
from .window import Window

_FMT = {1: "B", 2: "H", 4: "I", 8: "Q"}
_SHIFT = {1: 0, 2: 1, 4: 2, 8: 3}
_BITS = {1: 8, 2: 16, 4: 32, 8: 64}
_RELAXED = 16  # relaxed views sit at index size + 16 of the view table

#: A 64-bit element copy is one access only where the CPU has 64-bit loads.
HOST_HAS_64BIT_ACCESS = struct.calcsize("P") == 8
_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i486", "i586", "i686")


def _swab(value: int, size: int) -> int:
    return int.from_bytes(value.to_bytes(size, "little"), "big") if size > 1 else value


def _check_value(fn: str, value: object, size: int) -> int:
    """A value for a ``size``-byte store: an int that fits as unsigned or as
    two's complement (what C's conversion to ``u8``..``u64`` accepts without loss)."""
    if not isinstance(value, int):  # a bool is 0 or 1, as C converts it (writel(on, reg))
        raise TypeError(f"{fn}: the value must be an integer, not {type(value).__name__}")
    bits = _BITS[size]
    if not -(1 << (bits - 1)) <= value < (1 << bits):
        raise MmioValueError(f"{fn}: value {value:#x} does not fit in {bits} bits")
    return value & ((1 << bits) - 1)


def _count(fn: str, count: object) -> int:
    if not isinstance(count, int) or isinstance(count, bool):
        raise TypeError(f"{fn}: the count must be an integer, not {type(count).__name__}")
    if count < 0:
        raise MmioValueError(f"{fn}: the count must not be negative ({count})")
    return count


class _ViewTable(list):
    """The per-width view table of a mapping.  Accessor objects keep the views in
    plain attributes for speed; replacing a view here (a tracer wrapping a mapping
    that already exists) refreshes them."""

    def __init__(self, size: int) -> None:
        super().__init__([None] * size)
        self.users: weakref.WeakSet[Mmio] = weakref.WeakSet()

    def __setitem__(self, i: Any, value: Any) -> None:
        super().__setitem__(i, value)
        for user in list(self.users):
            user._flatten()


class _Refused(Exception):
    """The fast path cannot take this access; the general path checks and explains."""


class _Shifted:
    """Window-relative element access over any view: index ``i`` is byte
    ``lo + i * size`` of the mapping.  Anything the fast path must not do (not an
    aligned element inside the window, a value that does not fit) raises
    :class:`_Refused` before the view is touched, so a device callback runs at
    most once and its own exceptions reach the caller unchanged."""

    __slots__ = ("_view", "_lo", "_shift", "_mask", "_hi", "_limit")

    def __init__(self, view: Any, lo: int, size: int, hi: int) -> None:
        self._view, self._lo, self._shift, self._mask, self._hi = (
            view, lo, _SHIFT[size], size - 1, hi)
        self._limit = (1 << (8 * size)) - 1

    def _index(self, i: int) -> int:
        p = (i << self._shift) + self._lo
        if p & self._mask or p > self._hi or self._view is None:
            raise _Refused
        return p >> self._shift

    def __getitem__(self, i: int) -> int:
        return self._view[self._index(i)]

    def __setitem__(self, i: int, value: int) -> None:
        if value.__class__ is not int or not 0 <= value <= self._limit:
            raise _Refused
        self._view[self._index(i)] = value


class _PairView:
    """Index-addressed element access over a read/write pair: what a typed
    memoryview is for a buffer window (index ``i`` is byte ``i * size``)."""

    __slots__ = ("_read", "_write", "_size", "_shift", "_why")

    def __init__(self, read: Callable[[int, int], int],
                 write: Callable[[int, int, int], None] | None, size: int, why: str) -> None:
        self._read, self._write, self._size, self._shift = read, write, size, _SHIFT[size]
        self._why = why

    def __getitem__(self, i: int) -> int:
        return self._read(i << self._shift, self._size)

    def __setitem__(self, i: int, value: int) -> None:
        if self._write is None:
            raise _Refused(self._why)  # the accessor reports the read-only window
        if value.__class__ is not int or not 0 <= value < 1 << (8 * self._size):
            raise ValueError("value does not fit the access")  # the accessor explains
        self._write(i << self._shift, self._size, value)


#: Called with each new mapping's shared state (views built, nothing accessed yet):
#: a tracer swaps the views for recording ones here, so the choice is made once per
#: mapping and never tested on an access.
MAP_HOOKS: list[Callable[[Any], None]] = []


class _Shared:
    """The mapping and its cached views, shared by an accessor object and its sub-windows.

    The mapping is released when the last of them is closed; numpy arrays and
    memoryviews handed out keep the pages mapped until they are gone too.
    """

    def __init__(self, window: Window) -> None:
        self.window = window
        self.users = 0
        self.views: list[Any] = _ViewTable(32)
        #: called once when the mapping is released (a tracer's UNMAP)
        self.unmap_hooks: list[Callable[[], None]] = []
        self._base: memoryview | None = None
        self._casts: list[memoryview] = []
        w = window
        widths = set(w.widths)
        if not HOST_HAS_64BIT_ACCESS:
            widths.discard(8)
        self.widths = frozenset(widths)
        if w.buffer is not None:
            base = memoryview(w.buffer).cast("B")
            if not w.writable:
                base = base.toreadonly()  # stores fail even where the buffer would take them
            self._base = base
            for size, fmt in _FMT.items():
                usable = len(base) - len(base) % size
                view = base[:usable].cast(fmt) if size > 1 else base
                if size > 1:
                    self._casts.append(view)
                self.views[size] = self.views[size + _RELAXED] = view
        else:
            why = w.readonly_reason or f"{w.name} is read-only"
            rd_r = w.read_relaxed or w.read
            wr = w.write if w.writable else None
            wr_r = (w.write_relaxed or w.write) if w.writable else None
            assert w.read is not None and rd_r is not None
            for size in _FMT:
                self.views[size] = _PairView(w.read, wr, size, why)
                self.views[size + _RELAXED] = _PairView(rd_r, wr_r, size, why)
        for hook in MAP_HOOKS:
            hook(self)

    def fresh_buffer(self) -> memoryview:
        """A new byte view of the whole buffer, for exports that may outlive close()."""
        if self.window.buffer is None:
            raise MmioAccessError(
                f"{self.window.name} is not mapped into memory (it is reached through "
                f"read()/write() calls), so it has no buffer or numpy view")
        mv = memoryview(self.window.buffer).cast("B")
        return mv if self.window.writable else mv.toreadonly()

    def release(self) -> None:
        for fn in self.unmap_hooks:
            fn()
        for v in self._casts:
            v.release()
        if self._base is not None:
            self._base.release()
        self.views = [None] * 32
        buf = self.window.buffer
        if isinstance(buf, mmap.mmap):
            # a numpy array or memoryview may still use the pages: unmapped when it goes
            with contextlib.suppress(BufferError):
                buf.close()
        if self.window.release is not None:
            self.window.release()


class Mmio:
    """One mapping (or a window of one) with the kernel's accessor names.

    Made by the backends (``iomem.host.pci.map_bar``, ``iomem.host.uio``,
    ``iomem.host.vfio``, ``iomem.host.devmem``), or over any buffer for
    tests: ``Mmio.from_buffer(mmap.mmap(-1, 4096))``. Use it in a ``with``
    block, or ``close()`` it; views taken from it stay valid until they go.
    """

    __slots__ = ("_shared", "_views", "_hi", "_lo", "_start", "_size", "_closed", "irq",
                 "_v1", "_v2", "_v4", "_v8", "_v17", "_v18", "_v20", "_v24",
                 "__weakref__")

    def __init__(self, window: Window, *, _shared: _Shared | None = None, _start: int = 0,
                 _size: int | None = None) -> None:
        shared = _shared or _Shared(window)
        shared.users += 1
        self._shared = shared
        self._start = _start
        self._size = window.size - _start if _size is None else _size
        self._lo = window.delta + _start
        self._closed = False
        #: The device's interrupt, when the backend has one (UIO, VFIO INTx).
        self.irq: Any = None
        self._arm()

    def _arm(self) -> None:
        """Point the accessors at the shared views and set the per-width bounds."""
        s = self._shared
        self._views = s.views
        if isinstance(s.views, _ViewTable):
            s.views.users.add(self)
        hi = [-1] * 9
        for size in _FMT:
            if size in s.widths:
                hi[size] = self._lo + self._size - size
        self._hi = hi
        self._flatten()

    def _flatten(self) -> None:
        """Set the fast views: per width, a memoryview slice from this window's first
        byte to its last whole element, so an offset indexes it directly and the slice
        bounds the window.  Where that cannot be (a mapping reached through calls, a
        recording view, a window that starts unaligned) an adapter that checks the
        physical alignment and bound itself takes its place."""
        aligned = self._lo % 8 == 0
        for size in _FMT:
            hi = self._hi[size]
            for vi in (size, size + _RELAXED):
                view = self._views[vi]
                if aligned and type(view) is memoryview and hi >= 0:
                    first = self._lo >> _SHIFT[size]
                    fast: Any = view[first:first + self._size // size]
                else:
                    fast = _Shifted(view, self._lo, size, hi)
                setattr(self, f"_v{vi}", fast)

    def _general_read(self, name: str, off: object, size: int, vi: int, swap: bool) -> int:
        """Every check, for what the fast path does not take; explains a refusal."""
        if off.__class__ is int:
            p = off + self._lo  # type: ignore[operator]
            if not p & (size - 1) and off >= 0 and p <= self._hi[size]:  # type: ignore[operator]
                v = self._views[vi][p >> _SHIFT[size]]
                return _swab(v, size) if swap else v
        return self._refuse(name, off, size)

    def _general_write(self, name: str, value: object, off: object, size: int, vi: int,
                       swap: bool) -> None:
        value = _check_value(name, value, size)  # a bad value raises here
        if off.__class__ is int:
            p = off + self._lo  # type: ignore[operator]
            if not p & (size - 1) and off >= 0 and p <= self._hi[size]:  # type: ignore[operator]
                try:
                    self._views[vi][p >> _SHIFT[size]] = _swab(value, size) if swap else value
                    return
                except (TypeError, _Refused):  # a read-only buffer or window
                    self._readonly(name)
        self._refuse(name, off, size)

    # -- making and closing ---------------------------------------------------

    @classmethod
    def from_buffer(cls, buffer: Any, *, name: str = "buffer", offset: int = 0,
                    size: int | None = None, writable: bool | None = None,
                    phys: int | None = None) -> Mmio:
        """An accessor over any buffer (an mmap, a bytearray): for tests and RAM."""
        nbytes = memoryview(buffer).nbytes
        ro = memoryview(buffer).readonly
        return cls(Window(size=nbytes - offset if size is None else size, name=name,
                          buffer=buffer, delta=offset, phys=phys,
                          writable=not ro if writable is None else writable, ram_like=True))

    def window(self, offset: int, size: int | None = None) -> Mmio:
        """A sub-window sharing this mapping: offsets in it start at ``offset`` here."""
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0 \
                or offset > self._size:
            raise MmioAccessError(f"window: offset {offset!r} is outside {self._describe_range()}")
        size = self._size - offset if size is None else size
        if size < 0 or offset + size > self._size:
            raise MmioAccessError(f"window: {size:#x} bytes at {offset:#x} do not fit "
                                  f"{self._describe_range()}")
        self._check_open("window")
        sub = Mmio(self._shared.window, _shared=self._shared, _start=self._start + offset,
                   _size=size)
        sub.irq = self.irq
        return sub

    def close(self) -> None:
        """Stop using the mapping; the last user releases it (views keep it until they go)."""
        if self._closed:
            return
        self._closed = True
        self._hi = [-1] * 9
        self._views = [None] * 32
        self._flatten()
        s = self._shared
        s.users -= 1
        if s.users == 0:
            if self.irq is not None and hasattr(self.irq, "close"):
                self.irq.close()  # before the device it belongs to
            s.release()

    def __enter__(self) -> Mmio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- facts ----------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return self._size

    @property
    def name(self) -> str:
        return self._shared.window.name

    @property
    def phys(self) -> int | None:
        """Physical address of offset 0, when the backend knows it."""
        p = self._shared.window.phys
        return None if p is None else p + self._start

    @property
    def writable(self) -> bool:
        return self._shared.window.writable

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def widths(self) -> frozenset[int]:
        """Access sizes in bytes that this mapping makes as one access."""
        return self._shared.widths

    @property
    def info(self) -> dict[str, Any]:
        return dict(self._shared.window.info)

    def describe(self) -> str:
        """One line: what is mapped, where, how big, and whether stores are allowed."""
        w = self._shared.window
        parts = [w.name]
        if self.phys is not None:
            end = self.phys + max(self._size, 1) - 1
            parts.append(f"[io  {self.phys:#06x}-{end:#06x}]" if w.info.get("space") == "io"
                         else f"[mem {self.phys:#010x}-{end:#010x}]")
        parts.append(f"{self._size:#x} bytes")
        for key in ("memtype", "owner"):
            if w.info.get(key):
                parts.append(f"{key} {w.info[key]}")
        if w.buffer is None and not w.info.get("mmap"):  # a simulated mmap is a pair too
            parts.append("via read()/write()")
        if not w.writable:
            parts.append("read-only" + (f" ({w.readonly_reason})" if w.readonly_reason else ""))
        return ", ".join(parts)

    def __repr__(self) -> str:
        state = "closed " if self._closed else ""
        return f"<{state}Mmio {self.describe()}>"

    # -- errors (the slow path) ----------------------------------------------

    def _describe_range(self) -> str:
        end = self._size - 1
        return f"the mapping (offsets 0x0-{end:#x}, {self.name})" if self._size else \
            f"the empty mapping ({self.name})"

    def _check_open(self, fn: str) -> None:
        if self._closed:
            raise MmioClosedError(f"{fn}: the mapping of {self.name} is closed")

    def _refuse(self, fn: str, off: object, size: int) -> Any:
        """Raise the error that explains why ``fn`` at ``off`` is not one access."""
        if not isinstance(off, int) or isinstance(off, bool):
            raise TypeError(f"{fn}: the offset must be an integer, not {type(off).__name__}")
        self._check_open(fn)
        bits = _BITS[size]
        if size not in self._shared.widths:
            why = self._shared.window.widths_reason or (
                "this host has no single 64-bit load/store" if size == 8 and
                not HOST_HAS_64BIT_ACCESS else "the backend cannot make one")
            raise MmioAccessError(
                f"{fn}: {self.name} does not make {bits}-bit accesses as one access ({why}); "
                f"use narrower accessors explicitly (e.g. lo_hi_readq) if two halves are right "
                f"for the device")
        if off < 0:
            raise MmioAccessError(f"{fn}: offset {off:#x} is negative")
        if (self._lo + off) % size:
            where = f"offset {off:#x}"
            if self.phys is not None:
                where += f" (physical {self.phys + off:#x})"
            raise MmioAccessError(f"{fn}: {where} is not {size}-byte aligned; a {bits}-bit "
                                  f"access must be naturally aligned")
        raise MmioAccessError(f"{fn}: {size} bytes at offset {off:#x} are outside "
                              f"{self._describe_range()}")

    def _range(self, fn: str, off: object, count: int) -> int:
        """Check a block [off, off+count) once; returns the buffer position of ``off``."""
        if not isinstance(off, int) or isinstance(off, bool):
            raise TypeError(f"{fn}: the offset must be an integer, not {type(off).__name__}")
        self._check_open(fn)
        if off < 0:
            raise MmioAccessError(f"{fn}: offset {off:#x} is negative")
        if off + count > self._size:
            raise MmioAccessError(f"{fn}: {count} bytes at offset {off:#x} run past "
                                  f"{self._describe_range()}")
        return self._lo + off

    def _readonly(self, fn: str) -> None:
        """Called from ``except TypeError`` around a store: a read-only buffer's refusal
        becomes the reason; any other TypeError (from a backend) goes on as it was."""
        w = self._shared.window
        if w.writable:
            raise  # the TypeError being handled, unchanged
        why = w.readonly_reason or "it was mapped read-only"
        raise MmioReadOnlyError(f"{fn}: {w.name} does not accept stores: {why}")

    # -- generic access (what iomem.regs.bind needs) ---------------------------------

    def read(self, offset: int, size: int) -> int:
        """One ordered read of ``size`` bytes (1, 2, 4, 8): ``readb``..``readq``."""
        try:
            fn = _BY_SIZE[size][0]
        except (KeyError, TypeError):
            raise MmioAccessError(f"read: size must be 1, 2, 4 or 8 bytes, not {size!r}") from None
        return fn(self, offset)

    def write(self, offset: int, size: int, value: int) -> None:
        """One ordered write of ``size`` bytes: ``writeb``..``writeq`` (note the order:
        offset, size, value, as :func:`iomem.regs.bind` calls it)."""
        try:
            fn = _BY_SIZE[size][1]
        except (KeyError, TypeError):
            raise MmioAccessError(f"write: size must be 1, 2, 4 or 8 bytes, not {size!r}") \
                from None
        fn(self, value, offset)

    def bind(self, regmap: Any, *, offset: int = 0, clock: Any = None,
             sleep_us: int = 10) -> Any:
        """Bind an :class:`iomem.regs.RegisterMap` to this mapping (fields, RMW, polls)."""
        from ..regs import bind
        return bind(regmap, self.read, self.write, offset=offset, clock=clock,
                    sleep_us=sleep_us)

    # -- views ----------------------------------------------------------------------------

    def buffer(self) -> memoryview:
        """A byte memoryview of the window (for RAM-like ranges; not single accesses)."""
        self._check_open("buffer")
        mv = self._shared.fresh_buffer()
        return mv[self._lo:self._lo + self._size]

    def array(self, dtype: Any = "u4", offset: int = 0, count: int = -1) -> Any:
        """A numpy array over the window, for RAM-like ranges (frame buffers, BAR memory).

        numpy copies with whatever width it likes (vector loads, memcpy), so it is
        not for registers: use the accessors there. The array keeps the pages
        mapped after ``close()``.
        """
        import numpy as np

        dt = np.dtype(dtype)
        self._check_open("array")
        if offset < 0 or offset > self._size:
            raise MmioAccessError(f"array: offset {offset:#x} is outside {self._describe_range()}")
        if count < 0:
            count = (self._size - offset) // dt.itemsize
        self._range("array", offset, count * dt.itemsize)
        return np.frombuffer(self._shared.fresh_buffer(), dtype=dt, count=count,
                             offset=self._lo + offset)


# -- the table -------------------------------------------------------------------
#
# name -> (size, is_write, byteswap, relaxed). The kernel's readX/writeX are
# little-endian; ioreadXbe/iowriteXbe swap; *_relaxed and __raw_* carry no
# barriers (and __raw_ no swap, which on a little-endian CPU is the same value).

_SIZES = {"b": 1, "w": 2, "l": 4, "q": 8}
_ISIZES = {"8": 1, "16": 2, "32": 4, "64": 8}

ACCESSORS: dict[str, tuple[int, bool, bool, bool]] = {}
for _s, _n in _SIZES.items():
    ACCESSORS[f"read{_s}"] = (_n, False, False, False)
    ACCESSORS[f"write{_s}"] = (_n, True, False, False)
    ACCESSORS[f"read{_s}_relaxed"] = (_n, False, False, True)
    ACCESSORS[f"write{_s}_relaxed"] = (_n, True, False, True)
    ACCESSORS[f"__raw_read{_s}"] = (_n, False, False, True)
    ACCESSORS[f"__raw_write{_s}"] = (_n, True, False, True)
for _s, _n in _ISIZES.items():
    ACCESSORS[f"ioread{_s}"] = (_n, False, False, False)
    ACCESSORS[f"iowrite{_s}"] = (_n, True, False, False)
    if _n > 1:
        ACCESSORS[f"ioread{_s}be"] = (_n, False, True, False)
        ACCESSORS[f"iowrite{_s}be"] = (_n, True, True, False)


# The accessors are generated from one template per direction, with the width's
# attribute names written in.  The fast path indexes a memoryview slice that
# starts at the window's first byte and ends at its last element (see
# Mmio._flatten), so an access is a type check, an alignment test, a sign test
# and one typed-memoryview element: the slice's own bounds check refuses the
# rest.  Anything else (a window that is not a plain buffer, an unaligned
# window start, a value or offset the fast path cannot take) goes to the general
# path, which checks everything and explains a refusal.
_READ_TEMPLATE = """
def {name}(self, off):
    if off.__class__ is int and not off & {mask} and off >= 0:
        try:
            return {load}
        except _Refused:
            pass
        except IndexError:  # past a slice's end; anything else came from a device
            if self._v{vi}.__class__ is not memoryview:
                raise
    return self._general_read({name!r}, off, {size}, {vi}, {swap})
"""

_WRITE_TEMPLATE = """
def {name}(self, value, off):
    if off.__class__ is int and not off & {mask} and off >= 0:
        try:
            {precheck}self._v{vi}[off >> {shift}] = {store}
            return
        except _Refused:
            pass
        except (IndexError, TypeError, ValueError, OverflowError):
            if self._v{vi}.__class__ is not memoryview:
                raise  # from a device or backend: the access was made
    self._general_write({name!r}, value, off, {size}, {vi}, {swap})
"""


def _make(name: str, size: int, is_write: bool, swap: bool, relaxed: bool) -> Callable:
    vi = size + (_RELAXED if relaxed else 0)
    element = f"self._v{vi}[off >> {_SHIFT[size]}]"
    src = (_WRITE_TEMPLATE if is_write else _READ_TEMPLATE).format(
        name=name, size=size, mask=size - 1, vi=vi, shift=_SHIFT[size], swap=swap,
        load=f"_swab({element}, {size})" if swap else element,
        store=f"_swab(value, {size})" if swap else "value",
        precheck=(f"value = _check_value({name!r}, value, {size})\n            ")
        if swap else "")
    namespace: dict[str, Any] = {"_swab": _swab, "_check_value": _check_value,
                                 "_Refused": _Refused}
    # compiled under this file's name, so frame walkers (tracers, the sanitizer) that
    # skip iomem's own frames skip these too
    exec(compile(src, __file__, "exec"), namespace)  # noqa: S102
    accessor = namespace[name]
    sig, kind = (f"{name}(value, offset)", "store") if is_write else (f"{name}(offset)", "load")
    endian = "big-endian" if swap else "little-endian"
    accessor.__doc__ = (f"``{sig}``: one {_BITS[size]}-bit {endian} {kind}"
                        f"{', relaxed' if relaxed else ''}.")
    accessor.__qualname__ = f"Mmio.{name}"
    return accessor


_generated: dict[str, Callable] = {n: _make(n, *spec) for n, spec in ACCESSORS.items()}

#: size -> (read, write): the ordered accessor of each width.
_BY_SIZE = {n: (_generated[f"read{s}"], _generated[f"write{s}"]) for s, n in _SIZES.items()}


# -- 64-bit through two 32-bit halves (io-64-nonatomic-{lo-hi,hi-lo}.h) -------------

def _make_split(name: str, first_lo: bool, relaxed: bool, is_write: bool) -> Callable:
    rd = _generated["readl_relaxed" if relaxed else "readl"]
    wr = _generated["writel_relaxed" if relaxed else "writel"]
    if is_write:
        def split_write(self: Mmio, value: int, off: int) -> None:
            value = _check_value(name, value, 8)
            self._range(name, off, 8)  # both halves fit, or neither is written
            if first_lo:
                wr(self, value & 0xFFFFFFFF, off)
                wr(self, value >> 32, off + 4)
            else:
                wr(self, value >> 32, off + 4)
                wr(self, value & 0xFFFFFFFF, off)
        fn = split_write
    else:
        def split_read(self: Mmio, off: int) -> int:
            if first_lo:
                lo = rd(self, off)
                hi = rd(self, off + 4)
            else:
                hi = rd(self, off + 4)
                lo = rd(self, off)
            return (hi << 32) | lo
        fn = split_read  # type: ignore[assignment]
    order = "low word first" if first_lo else "high word first"
    fn.__doc__ = f"``{name}``: two 32-bit accesses, {order} (not one 64-bit access)."
    fn.__name__ = fn.__qualname__ = name
    return fn


for _order, _first_lo in (("lo_hi", True), ("hi_lo", False)):
    for _sfx, _rel in (("", False), ("_relaxed", True)):
        _generated[f"{_order}_readq{_sfx}"] = _make_split(f"{_order}_readq{_sfx}", _first_lo,
                                                          _rel, False)
        _generated[f"{_order}_writeq{_sfx}"] = _make_split(f"{_order}_writeq{_sfx}", _first_lo,
                                                           _rel, True)
    _generated[f"ioread64_{_order}"] = _make_split(f"ioread64_{_order}", _first_lo, False, False)
    _generated[f"iowrite64_{_order}"] = _make_split(f"iowrite64_{_order}", _first_lo, False,
                                                    True)


# -- string accessors: repeated accesses to one register --------------------------

def _make_string(name: str, size: int, is_write: bool) -> Callable:
    shift, fmt = _SHIFT[size], _FMT[size]
    vi = size + _RELAXED

    def prepare(self: Mmio, off: int, buffer: Any, count: int) -> tuple[memoryview, int]:
        count = _count(name, count)
        mv = byte_view(name, buffer, writable=not is_write)
        if len(mv) < count * size:
            raise MmioValueError(f"{name}: the buffer holds {len(mv) // size} elements, "
                                 f"count is {count}")
        return mv[:count * size].cast(fmt), count

    if is_write:
        def writes(self: Mmio, off: int, buffer: Any, count: int) -> None:
            items, count = prepare(self, off, buffer, count)
            if count:  # the first access checks offset, width and writability once
                self._general_write(name, items[0], off, size, vi, False)
            view = self._views[vi]
            p = (off + self._lo) >> shift
            try:
                for v in items[1:]:
                    view[p] = v
            except (TypeError, _Refused):
                self._readonly(name)
        fn = writes
    else:
        def reads(self: Mmio, off: int, buffer: Any, count: int) -> None:
            out, count = prepare(self, off, buffer, count)
            if count:
                out[0] = self._general_read(name, off, size, vi, False)
            view = self._views[vi]
            p = (off + self._lo) >> shift
            for i in range(1, count):
                out[i] = view[p]
        fn = reads  # type: ignore[assignment]
    kind = "store" if is_write else "load"
    fn.__doc__ = (f"``{name}(offset, buffer, count)``: ``count`` {_BITS[size]}-bit {kind}s "
                  f"at one register (a FIFO), no byte swap.")
    fn.__name__ = fn.__qualname__ = name
    return fn


for _s, _n in _SIZES.items():
    _generated[f"reads{_s}"] = _make_string(f"reads{_s}", _n, False)
    _generated[f"writes{_s}"] = _make_string(f"writes{_s}", _n, True)
for _s, _n in _ISIZES.items():
    if _n < 8:
        _generated[f"ioread{_s}_rep"] = _make_string(f"ioread{_s}_rep", _n, False)
        _generated[f"iowrite{_s}_rep"] = _make_string(f"iowrite{_s}_rep", _n, True)


# -- block copies ---------------------------------------------------------------------

def copy_chunks(pos: int, count: int, widths: frozenset[int]) -> list[tuple[int, int]]:
    """(offset, size) pieces of a block at buffer position ``pos``, as the kernel splits
    it: on x86 string_memcpy_{to,from}io's bytes and word up to 4-byte alignment,
    32-bit moves, then a word and a byte; elsewhere bytes up to alignment, the widest
    access the window makes (8 on 64-bit hosts), then bytes."""
    out: list[tuple[int, int]] = []
    i = 0
    if _X86 or 8 not in widths:
        if count and (pos + i) & 1:
            out.append((i, 1))
            i += 1
        if count - i > 1 and (pos + i) & 2:
            out.append((i, 2))
            i += 2
        n = count - i
        out.extend((i + 4 * k, 4) for k in range(n // 4))
        i += n - n % 4
        if n & 2:
            out.append((i, 2))
            i += 2
        if n & 1:
            out.append((i, 1))
        return out
    while i < count and (pos + i) % 8:
        out.append((i, 1))
        i += 1
    while count - i >= 8:
        out.append((i, 8))
        i += 8
    while i < count:
        out.append((i, 1))
        i += 1
    return out


def memcpy_fromio(self: Mmio, dst: Any, off: int, count: int) -> None:
    """``memcpy_fromio(dst, offset, count)``: copy device memory into a writable buffer."""
    count = _count("memcpy_fromio", count)
    out = byte_view("memcpy_fromio", dst, "destination buffer", writable=True)
    if len(out) < count:
        raise MmioValueError(f"memcpy_fromio: the destination holds {len(out)} bytes, "
                             f"count is {count}")
    pos = self._range("memcpy_fromio", off, count)
    views = self._views
    for i, n in copy_chunks(pos, count, self._shared.widths):
        v = views[n + _RELAXED][(pos + i) >> _SHIFT[n]]
        out[i:i + n] = v.to_bytes(n, "little")


def memcpy_toio(self: Mmio, off: int, src: Any, count: int) -> None:
    """``memcpy_toio(offset, src, count)``: copy a buffer into device memory."""
    count = _count("memcpy_toio", count)
    data = byte_view("memcpy_toio", src, "source buffer")
    if len(data) < count:
        raise MmioValueError(f"memcpy_toio: the source holds {len(data)} bytes, "
                             f"count is {count}")
    pos = self._range("memcpy_toio", off, count)
    views = self._views
    try:
        for i, n in copy_chunks(pos, count, self._shared.widths):
            views[n + _RELAXED][(pos + i) >> _SHIFT[n]] = int.from_bytes(data[i:i + n],
                                                                           "little")
    except (TypeError, _Refused):
        self._readonly("memcpy_toio")


def memset_io(self: Mmio, off: int, value: int, count: int) -> None:
    """``memset_io(offset, value, count)``: fill device memory with one byte value."""
    byte = _check_value("memset_io", value, 1)
    count = _count("memset_io", count)
    pos = self._range("memset_io", off, count)
    views = self._views
    fill = {n: int.from_bytes(bytes([byte]) * n, "little") for n in _FMT}
    try:
        for i, n in copy_chunks(pos, count, self._shared.widths):
            views[n + _RELAXED][(pos + i) >> _SHIFT[n]] = fill[n]
    except (TypeError, _Refused):
        self._readonly("memset_io")


for _fn in (memcpy_fromio, memcpy_toio, memset_io):
    _generated[_fn.__name__] = _fn

for _name, _fn in _generated.items():
    setattr(Mmio, _name, _fn)

#: Every accessor name the object has, for tables, the CLI and tests.
ACCESSOR_NAMES: tuple[str, ...] = tuple(_generated)
