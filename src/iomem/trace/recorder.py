"""Recording: every mapping and access of the simulated kernel and of userspace
mappings (simulated or on real hardware), into a ring buffer or a file.

Where it hooks in, chosen when a mapping is made and never tested on an access:

- the simulated kernel: a layer on :class:`~iomem.kernel.io.IoPaths` (so each
  ``ioremap`` area made while recording gets recording read/write functions,
  and areas made before do not, as mmiotrace traces only mappings made while
  it is on), the kernel's iounmap, barrier, delay and report hooks, the CPU
  memory model's events and DMA buffers, and the board's interrupt lines;
- userspace: :data:`iomem.user.mmio.MAP_HOOKS`, where a new mapping's
  element views are swapped for recording ones (PCI sysfs, UIO, VFIO and
  /dev/mem on a real machine, and any simulated window alike);
- everyone else: :func:`emit` (``iomem.trace.emit("irq", line=11, level=1)``),
  a no-op while nothing records.

The hot path appends one plain tuple to a list; every ``chunk`` entries the
list is spilled, into a bounded deque of chunks (the ring: the oldest go, and
the count of lost events is kept) or formatted and written to the file.  So a
recording of any length holds at most ``ring`` (or ``chunk``) events.

Times are the simulated kernel's virtual clock for its accesses, the window's
clock for a simulated userspace window that has one (``info["clock"]``), and
nanoseconds since the recording started for real hardware.  A simulated
access's ``pc`` is a stable number made from the driver's file and line
(:func:`~iomem.trace.events.site_pc`); the structured form keeps the file,
line and function.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import sys
import sysconfig
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType, FrameType
from typing import IO, Any, NamedTuple

from . import jsonl, mmiotrace, rwmmio
from .events import (
    MMIOTRACE_VERSION,
    PCI_REGION_FLAG_MASK,
    RESERVED_KINDS,
    Event,
    Info,
    Lost,
    Map,
    Mark,
    PciDev,
    Rw,
    Unmap,
    Version,
    site_pc,
)

FORMATS = ("mmiotrace", "jsonl", "rwmmio")
_WORD = re.compile(r"[A-Za-z][\w-]*")
#: an R/W line (``"%c %d %u.%06lu %d 0x%llx 0x%lx 0x%lx %d"``); %-formatting is the
#: quickest way Python has to write one
_RW_LINE = "%s %d %d.%06d %d 0x%x 0x%x 0x%x %d"
#: events a ring keeps unless told otherwise
DEFAULT_RING = 1_000_000
CHUNK = 4096

#: the recorders running now, oldest first
_ACTIVE: list[Recorder] = []


def format_for(path: str | os.PathLike[str] | None) -> str:
    """The format a file name asks for: ``.jsonl``/``.json`` -> jsonl, ``.rwmmio`` ->
    rwmmio, anything else -> mmiotrace."""
    name = str(path or "").lower()
    if name.endswith((".jsonl", ".json")):
        return "jsonl"
    if name.endswith(".rwmmio"):
        return "rwmmio"
    return "mmiotrace"


# -- where an access comes from ----------------------------------------------------------

class Site(NamedTuple):
    """The driver line an access came from."""

    where: str  # file:line
    func: str
    sym: str  # %pS-style: func+0xoff/0xsize (bytecode offset and length)
    sym0: str  # the caller's, as rwmmio's caller0
    pc: int


_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_DRIVERS = _PKG + "drivers" + os.sep
_RUNTIME = tuple({os.path.abspath(p) + os.sep for p in
                  (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]) if p})


def _internal(path: str) -> bool:
    """Frames of iomem itself (but not its drivers) and of the interpreter are not sites."""
    if path.startswith("<"):
        return path.startswith("<frozen")
    p = os.path.abspath(path)
    if p.startswith(_PKG):
        return not p.startswith(_DRIVERS)
    return p.startswith(_RUNTIME)


def _sym(f: FrameType | None) -> str:
    if f is None:
        return "0x0"
    co = f.f_code
    return f"{co.co_name}+0x{max(f.f_lasti, 0):x}/0x{len(co.co_code):x}"


def _shown_path(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


# Keyed by id(): cheaper than hashing code objects.  The values keep the code objects
# alive, so an id is never reused while cached.
_internal_code: dict[int, tuple[bool, CodeType]] = {}
_sites: dict[tuple[int, int], tuple[Site, CodeType]] = {}
_sites_with_caller: dict[tuple[int, int, int, int], tuple[Site, CodeType, Any]] = {}


def current_site(depth: int = 1) -> Site | None:
    """The innermost driver frame above ``depth`` frames up (None: only iomem's own).

    ``sym0`` is the caller's symbol as first seen from this line (finding the caller
    on every access would cost as much again; :func:`current_site_and_caller` does)."""
    f: FrameType | None = sys._getframe(depth + 1)
    internal = _internal_code
    while f is not None:
        co = f.f_code
        known = internal.get(id(co))
        if known is None:
            known = internal[id(co)] = (_internal(co.co_filename), co)
        if not known[0]:
            key = (id(co), f.f_lasti)
            hit = _sites.get(key)
            if hit is None:
                hit = _sites[key] = (_make_site(f, f.f_back), co)
            return hit[0]
        f = f.f_back
    return None


def current_site_and_caller(depth: int = 1) -> Site | None:
    """:func:`current_site` with the caller's symbol of this very call (rwmmio's caller0)."""
    f: FrameType | None = sys._getframe(depth + 1)
    internal = _internal_code
    while f is not None:
        co = f.f_code
        known = internal.get(id(co))
        if known is None:
            known = internal[id(co)] = (_internal(co.co_filename), co)
        if not known[0]:
            parent = f.f_back
            pco = parent.f_code if parent is not None else None
            key = (id(co), f.f_lasti, id(pco), parent.f_lasti if parent is not None else -1)
            hit = _sites_with_caller.get(key)
            if hit is None:
                hit = _sites_with_caller[key] = (_make_site(f, parent), co, pco)
            return hit[0]
        f = f.f_back
    return None


def _make_site(f: FrameType, parent: FrameType | None) -> Site:
    co = f.f_code
    return Site(f"{_shown_path(co.co_filename)}:{f.f_lineno}", co.co_name, _sym(f), _sym(parent),
                site_pc(co.co_filename, f.f_lineno or 0))


def _no_site() -> None:
    return None


# -- sinks ---------------------------------------------------------------------------------

class _Sink:
    """Where recorded entries go: ``buf`` is appended to on the hot path and
    :meth:`spill` is called when it holds ``limit`` entries."""

    def __init__(self, limit: int) -> None:
        self.buf: list[Any] = []
        self.limit = limit

    def spill(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.spill()


class RingSink(_Sink):
    """The last ``capacity`` entries, in chunks; older ones are dropped and counted."""

    def __init__(self, capacity: int, chunk: int = CHUNK) -> None:
        if capacity <= 0:
            raise ValueError(f"a ring must hold at least one event, not {capacity}")
        chunk = max(1, min(chunk, capacity))
        super().__init__(chunk)
        self.capacity = capacity
        self.chunks: deque[list[Any]] = deque(maxlen=-(-capacity // chunk))
        self.dropped = 0

    def spill(self) -> None:
        if not self.buf:
            return
        if len(self.chunks) == self.chunks.maxlen:
            self.dropped += len(self.chunks[0])
        self.chunks.append(self.buf.copy())
        self.buf.clear()

    def entries(self) -> tuple[int, list[Any]]:
        """(how many were lost, what is kept, oldest first)."""
        out = [e for chunk in self.chunks for e in chunk]
        out += self.buf
        excess = len(out) - self.capacity
        if excess > 0:
            return self.dropped + excess, out[excess:]
        return self.dropped, out


class FileSink(_Sink):
    """Entries formatted and written every ``chunk`` entries."""

    def __init__(self, write: Callable[[list[Any]], None], chunk: int = CHUNK) -> None:
        super().__init__(chunk)
        self._write = write
        self.written = 0

    def spill(self) -> None:
        if self.buf:
            batch = self.buf.copy()
            self.buf.clear()
            self.written += len(batch)
            self._write(batch)


# -- the recorder ----------------------------------------------------------------------------

class Recorder:
    """Records MMIO traces; ``with Recorder("trace.txt"):`` or ``start()``/``stop()``.

    ``path``: a file (or text stream) to stream to; without one the events go
    to a ring of ``ring`` events (:meth:`events` reads it).  With both, the ring
    is written to the file when recording stops.  ``format``: ``mmiotrace``
    (the kernel's text), ``jsonl`` (lossless, with iomem's own events) or
    ``rwmmio`` (tracepoint lines); by default from the file name.  ``kernel`` /
    ``user``: record the simulated kernel / userspace mappings.  ``sites``:
    find the driver's line of each access (the ``pc`` and the structured form's
    file:line; about half the cost of recording).  ``existing``: also record
    kernel mappings made before recording started (mmiotrace does not).
    """

    def __init__(self, path: str | os.PathLike[str] | IO[str] | None = None, *,
                 format: str | None = None, ring: int | None = None, kernel: bool = True,
                 user: bool = True, sites: bool = True, existing: bool = False,
                 chunk: int = CHUNK) -> None:
        self.format = format or (format_for(path) if not hasattr(path, "write") else
                                 "mmiotrace")
        if self.format not in FORMATS:
            raise ValueError(f"unknown trace format {self.format!r}; one of {', '.join(FORMATS)}")
        self.path = path
        self.ring = ring
        self.kernel = kernel
        self.user = user
        self.sites = sites
        self.existing = existing
        self.chunk = chunk
        self._fh: IO[str] | None = None
        self._own_fh = False
        self._sink: _Sink
        find = current_site_and_caller if self.format == "rwmmio" else current_site
        self._find_site = find
        self._site = find if sites else _no_site
        self._header: list[Event] = [Version(MMIOTRACE_VERSION)]
        self._next = 0
        self._pids: dict[int, int] = {}
        self._area_ids: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self._skip: weakref.WeakSet[Any] = weakref.WeakSet()
        self._kernels: weakref.WeakKeyDictionary[Any, _KernelWatch] = \
            weakref.WeakKeyDictionary()
        self._irq_lines: weakref.WeakKeyDictionary[Any, Callable] = weakref.WeakKeyDictionary()
        self._user_maps: list[tuple[weakref.ref, list[tuple[int, Any]]]] = []
        self._pcidevs: set[tuple[int, int, int]] = set()
        self._rw_maps: dict[int, Map] = {}
        self._t0 = time.monotonic_ns()
        self.running = False
        self.stopped = False

    # -- starting and stopping ------------------------------------------------------------

    def start(self) -> Recorder:
        if self.running or self.stopped:
            raise RuntimeError("a recorder records once: make a new one")
        if self.path is not None and self.ring is None:
            self._open()
            self._sink = FileSink(self._write_batch, self.chunk)
            self._write_header()
        else:
            self._sink = RingSink(self.ring or DEFAULT_RING, self.chunk)
        self.running = True
        _ACTIVE.append(self)
        if self.kernel:
            from ..kernel import kernel as K

            K.BOOT_HOOKS.append(self.attach_kernel)
            k = K._current.get() or K._last_booted
            if k is not None:
                self.attach_kernel(k)
        if self.user:
            from ..user import mmio as U

            U.MAP_HOOKS.append(self._user_map)
        return self

    def stop(self) -> None:
        """Stop recording, take the layers off every path, and write what is left."""
        if not self.running:
            return
        self.running = False
        self.stopped = True
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        from ..kernel import kernel as K
        from ..user import mmio as U

        if self.attach_kernel in K.BOOT_HOOKS:
            K.BOOT_HOOKS.remove(self.attach_kernel)
        if self._user_map in U.MAP_HOOKS:
            U.MAP_HOOKS.remove(self._user_map)
        for k in list(self._kernels.keys()):
            self._detach_kernel(k)
        for ref, views in self._user_maps:
            shared = ref()
            if shared is not None:
                for vi, inner in views:
                    shared.views[vi] = inner
        self._user_maps.clear()
        for line, fn in list(self._irq_lines.items()):
            line.disconnect(fn)
        self._irq_lines.clear()
        if isinstance(self._sink, FileSink):
            self._sink.close()
        elif self.path is not None:
            self._open()
            events = self.events()
            if self.format == "rwmmio":
                self._write_header()
                next(events)  # the VERSION line has no rwmmio form
            self._write_batch(list(events))
        if self._fh is not None:
            self._fh.flush()
            if self._own_fh:
                self._fh.close()
            self._fh = None

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _open(self) -> None:
        if hasattr(self.path, "write"):
            self._fh = self.path  # type: ignore[assignment]
            return
        p = Path(self.path)  # type: ignore[arg-type]
        if not p.parent.is_dir():
            raise FileNotFoundError(f"cannot write the trace {str(p)!r}: the directory "
                                    f"{str(p.parent)!r} does not exist")
        self._fh = open(p, "w", encoding="utf-8", buffering=1 << 16)  # noqa: SIM115
        self._own_fh = True

    # -- what was recorded -----------------------------------------------------------------

    @property
    def lost(self) -> int:
        """Events the ring dropped (0 for a file)."""
        sink = getattr(self, "_sink", None)
        return sink.entries()[0] if isinstance(sink, RingSink) else 0

    def events(self) -> Iterator[Event]:
        """The ring's records (header, the lost-events mark if any, then the events)."""
        sink = getattr(self, "_sink", None)
        if isinstance(sink, FileSink):
            raise RuntimeError("this recorder streamed to a file: read the file")
        lost, entries = sink.entries() if isinstance(sink, RingSink) else (0, [])
        extras = self.format != "mmiotrace"
        yield from self._header
        if lost:
            yield Lost(lost)
        conv = self._convert
        for e in entries:
            yield conv(e, extras)

    def _convert(self, e: Any, extras: bool) -> Event:
        if type(e) is not tuple:
            return e
        op, t, mid, phys, width, value, site, ordered = e
        pid = self._pids.get(mid, 0)
        if site is None:
            extra = None if ordered or not extras else {"relaxed": True}
            return Rw(op, width, t, mid, phys, value, 0, pid, extra)
        if extras:
            extra = {"site": site.where, "func": site.func, "sym": site.sym, "sym0": site.sym0}
            if not ordered:
                extra["relaxed"] = True
        else:
            extra = None
        return Rw(op, width, t, mid, phys, value, site.pc, pid, extra)

    def _write_header(self) -> None:
        if self.format == "rwmmio":
            assert self._fh is not None
            self._fh.write("# tracer: nop\n#\n")
        else:
            self._write_batch(list(self._header))

    def _write_batch(self, batch: list[Any]) -> None:
        fh = self._fh
        assert fh is not None
        if self.format == "mmiotrace":  # accesses straight from their tuples: the bulk
            pids = self._pids
            fmt = mmiotrace.format_event
            lines: list[str] = []
            add = lines.append
            for e in batch:
                if type(e) is tuple:
                    op, t, mid, phys, width, value, site, _ordered = e
                    secs, us = divmod((t + 500) // 1000, 1_000_000)
                    add(_RW_LINE % (op, width, secs, us, mid, phys, value,
                                    site.pc if site else 0, pids.get(mid, 0)))
                else:
                    add(fmt(e))
            fh.write("\n".join(lines) + "\n")
            return
        records = [self._convert(e, True) for e in batch]
        if self.format == "jsonl":
            jsonl.write(records, fh)
        else:
            for r in rwmmio.from_events(records, maps=self._rw_maps):
                fh.write(rwmmio.format_record(r) + "\n")

    # -- adding events ---------------------------------------------------------------------

    def _record(self, ev: Event) -> None:
        sink = self._sink
        sink.buf.append(ev)
        if len(sink.buf) >= sink.limit:
            sink.spill()

    def _pcidev(self, dev: PciDev) -> None:
        key = (dev.bus, dev.devfn, dev.vendor << 16 | dev.device)
        if key in self._pcidevs:
            return
        self._pcidevs.add(key)
        if isinstance(self._sink, RingSink):
            self._header.append(dev)  # the header outlives the ring, as trace_pipe's does
        else:
            self._record(dev)

    def _new_id(self, pid: int = 0) -> int:
        self._next += 1
        if pid:
            self._pids[self._next] = pid
        return self._next

    def now(self) -> int:
        """Nanoseconds on the clock of what is being recorded (the current simulated
        kernel's, else the time since recording started)."""
        from ..kernel import kernel as K

        k = K._current.get() or K._last_booted
        if k is not None and k in self._kernels:
            return k.machine.clock.now
        return time.monotonic_ns() - self._t0

    def mark(self, text: str) -> None:
        """A ``MARK`` line (what writing to trace_marker gives)."""
        if not self.running:
            return
        if "\n" in text:
            raise ValueError("a mark is one line of text")
        self._record(Mark(self.now(), text))

    def emit(self, kind: str, fields: dict[str, Any]) -> None:
        """One of iomem's own events (see :func:`emit`)."""
        if not self.running:
            return
        if kind in RESERVED_KINDS or not _WORD.fullmatch(kind):
            raise ValueError(f"{kind!r} cannot name an event (a word, not one of "
                             f"{', '.join(sorted(RESERVED_KINDS))})")
        t = fields.pop("t_ns", None)
        if t is None:
            t = self.now()
        self._record(Info(kind, int(t), fields))

    # -- the simulated kernel ------------------------------------------------------------------

    def attach_kernel(self, k: Any) -> None:
        """Record kernel ``k`` from now on (new kernels are attached at boot)."""
        if k in self._kernels or not self.running:
            return
        self._kernels[k] = watch = _KernelWatch(self, k)
        if not self.existing:
            for area in k.ioremap_state.vmalloc:
                self._skip.add(area)
        k.io_paths.layers.append(self._layer)
        watch.attach()
        if self.existing:
            k.reinstall_paths()

    def _detach_kernel(self, k: Any) -> None:
        watch = self._kernels.pop(k, None)
        if self._layer in k.io_paths.layers:
            k.io_paths.layers.remove(self._layer)
        if watch is not None:
            watch.detach()
        k.reinstall_paths()

    def _kernel_map(self, area: Any) -> int:
        k = area.kernel
        watch = self._kernels.get(k)
        if watch is not None:
            watch.header()
        self._hook_irqs(k)
        mid = self._new_id()
        self._area_ids[area] = mid
        if not area.trace_id:
            area.trace_id = mid
        extra: dict[str, Any] = {"memtype": area.memtype}
        if area.caller:
            extra["caller"] = area.caller
        owners = _owners(k, area.req_phys)
        if owners:
            extra["resources"] = owners
        site = self._site()
        if site is not None:
            extra["site"] = site.where
            extra["func"] = site.func
        self._record(Map(k.machine.clock.now, mid, area.req_phys, area.addr + area.lo,
                         area.req_size, 0, 0, extra))
        return mid

    def _layer(self, area: Any, read: Callable, write: Callable, ordered: bool
               ) -> tuple[Callable, Callable]:
        """The IoPaths layer: recording read/write for areas mapped while recording."""
        if area.pio or not self.running or isinstance(area, _user_area_type()):
            # port I/O is not MMIO; a userspace VMA (kernel/remap.py) is not an ioremap,
            # so mmiotrace does not see it: it is recorded as the userspace mapping it is
            return read, write
        mid = self._area_ids.get(area)
        if mid is None:
            if area in self._skip:
                return read, write
            mid = self._kernel_map(area)
        base = area.phys_addr
        clock = area.kernel.machine.clock
        sink = self._sink
        buf = sink.buf
        append = buf.append
        limit = sink.limit
        spill = sink.spill
        if self.sites:
            site = self._find_site

            def rd(off: int, size: int) -> int:
                v = read(off, size)
                append(("R", clock.now, mid, base + off, size, v, site(1), ordered))
                if len(buf) >= limit:
                    spill()
                return v

            def wr(off: int, size: int, value: int) -> None:
                write(off, size, value)
                append(("W", clock.now, mid, base + off, size, value, site(1), ordered))
                if len(buf) >= limit:
                    spill()
        else:
            def rd(off: int, size: int) -> int:
                v = read(off, size)
                append(("R", clock.now, mid, base + off, size, v, None, ordered))
                if len(buf) >= limit:
                    spill()
                return v

            def wr(off: int, size: int, value: int) -> None:
                write(off, size, value)
                append(("W", clock.now, mid, base + off, size, value, None, ordered))
                if len(buf) >= limit:
                    spill()
        return rd, wr

    def _hook_irqs(self, k: Any) -> None:
        clock = k.machine.clock
        for line in list(k.machine.irqs.values()):
            if line in self._irq_lines:
                continue

            def listener(ln: Any, level: bool, clock: Any = clock) -> None:
                if self.running:
                    self._record(Info("irq", clock.now, {"line": ln.number, "name": ln.name,
                                                         "level": int(level)}))
            self._irq_lines[line] = listener
            line.connect(listener)

    # -- userspace mappings ------------------------------------------------------------------

    def attach_mapping(self, mmio: Any) -> None:
        """Record an :class:`~iomem.user.Mmio` made before recording started (new ones
        are recorded when made); its sub-windows share the recording."""
        shared = mmio._shared
        if any(ref() is shared for ref, _views in self._user_maps):
            return
        self._user_map(shared)

    def _user_map(self, shared: Any) -> None:
        if not self.running:
            return
        w = shared.window
        pid = os.getpid()
        mid = self._new_id(pid)
        clock = w.info.get("clock")
        if clock is not None:
            def now(clock: Any = clock) -> int:
                return clock.now
        else:
            t0 = self._t0
            mono = time.monotonic_ns

            def now() -> int:
                return mono() - t0
        phys = w.phys if w.phys is not None else 0
        vma = w.info.get("vma")
        if vma is not None:  # a simulated kernel's userspace mapping: its PCI functions
            for dev in _kernel_pcidevs(vma.vm_mm.k):
                self._pcidev(dev)
        else:
            dev = _sysfs_pcidev(w.info.get("path"))
            if dev is None and isinstance(w.info.get("pcidev"), PciDev):
                dev = w.info["pcidev"]
            if dev is not None:
                self._pcidev(dev)
        extra: dict[str, Any] = {"name": w.name, "user": True}
        for key in ("memtype", "backend", "path"):
            if w.info.get(key):
                extra[key] = str(w.info[key])
        site = self._site()
        if site is not None:
            extra["site"] = site.where
            extra["func"] = site.func
        self._record(Map(now(), mid, phys, _buffer_address(w), w.size, 0, pid, extra))
        swapped = []
        for size, shift in ((1, 0), (2, 1), (4, 2), (8, 3)):
            for vi, ordered in ((size, True), (size + 16, False)):
                inner = shared.views[vi]
                if inner is None:
                    continue
                shared.views[vi] = self._traced_view(inner, size, shift, phys - w.delta, mid,
                                                     ordered, now)
                swapped.append((vi, inner))
        self._user_maps.append((weakref.ref(shared), swapped))

        def unmapped() -> None:
            if self.running:
                self._record(Unmap(now(), mid, 0, pid, None))
        shared.unmap_hooks.append(unmapped)

    def _traced_view(self, inner: Any, size: int, shift: int, base: int, mid: int,
                     ordered: bool, now: Callable[[], int]) -> Any:
        """An element view that records each load and store through ``inner``
        (a class made for this view, so the hot path reads only closure cells)."""
        sink = self._sink
        buf = sink.buf
        append = buf.append
        limit = sink.limit
        spill = sink.spill
        site = self._find_site if self.sites else None

        if site is not None:
            def getitem(_self: Any, i: int) -> int:
                v = inner[i]
                append(("R", now(), mid, base + (i << shift), size, v, site(1), ordered))
                if len(buf) >= limit:
                    spill()
                return v

            def setitem(_self: Any, i: int, value: int) -> None:
                inner[i] = value
                append(("W", now(), mid, base + (i << shift), size, value, site(1), ordered))
                if len(buf) >= limit:
                    spill()
        else:
            def getitem(_self: Any, i: int) -> int:
                v = inner[i]
                append(("R", now(), mid, base + (i << shift), size, v, None, ordered))
                if len(buf) >= limit:
                    spill()
                return v

            def setitem(_self: Any, i: int, value: int) -> None:
                inner[i] = value
                append(("W", now(), mid, base + (i << shift), size, value, None, ordered))
                if len(buf) >= limit:
                    spill()
        cls = type("TracedView", (), {"__slots__": (), "__getitem__": getitem,
                                      "__setitem__": setitem,
                                      "__doc__": "Records each access through a view."})
        return cls()


class _KernelWatch:
    """One recorder's hooks on one simulated kernel: its events go in with that
    kernel's clock, after its PCIDEV lines (once its PCI functions are enumerated)."""

    def __init__(self, rec: Recorder, k: Any) -> None:
        self.rec = rec
        self.k = k
        self.pci_done = False
        self.hooks: list[tuple[list, Callable]] = [
            (k.iounmap_hooks, self.iounmap), (k.barrier_hooks, self.barrier),
            (k.delay_hooks, self.delay), (k.report_hooks, self.kernel_report),
            (k.driver_hooks, self.driver), (k.cpu.event_hooks, self.cpu_event),
            (k.cpu.buffer_hooks, self.dma_buffer)]
        if k.sanitizer is not None:
            self.hooks.append((k.sanitizer.report_hooks, self.sanitizer_report))

    def attach(self) -> None:
        for hooks, fn in self.hooks:
            hooks.append(fn)

    def detach(self) -> None:
        for hooks, fn in self.hooks:
            if fn in hooks:
                hooks.remove(fn)

    def header(self) -> None:
        """The kernel's PCIDEV records, before anything else of it (as trace_pipe
        prints them when opened)."""
        if not self.pci_done:
            devs = _kernel_pcidevs(self.k)
            if devs:
                self.pci_done = True
                for dev in devs:
                    self.rec._pcidev(dev)

    def info(self, kind: str, fields: dict[str, Any], t_ns: int | None = None) -> None:
        if not self.rec.running:
            return
        self.header()
        self.rec._record(Info(kind, self.k.machine.clock.now if t_ns is None else t_ns,
                              fields))

    def iounmap(self, area: Any) -> None:
        mid = self.rec._area_ids.get(area)
        if mid is None or not self.rec.running:
            return
        site = self.rec._site()
        extra = {"site": site.where, "func": site.func} if site is not None else None
        self.rec._record(Unmap(self.k.machine.clock.now, mid, 0, 0, extra))

    def barrier(self, kind: str) -> None:
        fields: dict[str, Any] = {"kind": kind}
        site = self.rec._site()
        if site is not None:
            fields["site"] = site.where
        self.info("barrier", fields)

    def delay(self, ns: int, kind: str = "delay") -> None:
        self.info("delay", {"kind": kind, "ns": ns})

    def driver(self, event: str, dev: Any) -> None:
        self.info("driver", {"event": event, "device": str(getattr(dev, "name", dev))})

    def kernel_report(self, entry: dict) -> None:
        self.info("kernel", {"rule": str(entry.get("rule", "")),
                             "message": str(entry.get("message", ""))})

    def sanitizer_report(self, rep: Any) -> None:
        fields = {"rule": rep.rule, "severity": rep.severity, "message": rep.message,
                  "site": str(rep.site)}
        if rep.phys is not None:
            fields["phys"] = rep.phys
        if rep.register:
            fields["register"] = rep.register
        self.info("report", fields)

    def cpu_event(self, ev: Any) -> None:
        fields: dict[str, Any] = {"event": ev.kind, "text": ev.text}
        if ev.phys is not None:
            fields["phys"] = ev.phys
        self.info("cpu", fields, ev.t_ns)

    def dma_buffer(self, what: str, buf: Any) -> None:
        self.info("dma", {"action": "alloc" if what == "add" else "free", "phys": buf.phys,
                          "size": buf.size, "name": buf.name, "kind": buf.kind})


@functools.cache
def _user_area_type() -> type | tuple[type, ...]:
    """The kernel's area class for userspace VMAs (none in a kernel without them)."""
    try:
        from ..kernel.remap import UserArea
    except ImportError:
        return ()
    return UserArea


# -- facts about what is mapped ------------------------------------------------------------

def _buffer_address(w: Any) -> int:
    """Where a window's buffer sits in this process (0 for a read/write-pair window)."""
    if w.buffer is None:
        return 0
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(w.buffer)) + w.delta
    except (TypeError, ValueError, BufferError):
        return 0


def _owners(k: Any, phys: int) -> list[str]:
    """The names of the iomem resources holding ``phys``, outermost first."""
    out: list[str] = []
    res = k.iomem_resource
    while True:
        nxt = next((c for c in res.children if c.start <= phys <= c.end), None)
        if nxt is None:
            return out
        out.append(nxt.name or "<BAD>")
        res = nxt


def _kernel_pcidevs(k: Any) -> list[PciDev]:
    """PCIDEV records of a simulated kernel's PCI functions (none before enumeration)."""
    core = k.__dict__.get("_pcicore")
    if core is None:
        return []
    out = []
    for d in core.devices():
        res = d.resource[:7]
        starts = tuple(r.start | (r.flags & PCI_REGION_FLAG_MASK) for r in res)
        sizes = tuple(r.end - r.start + 1 if r.start < r.end else 0 for r in res)
        drv = getattr(d, "driver", None)
        out.append(PciDev(d.bus.number, d.devfn, d.vendor, d.device, d.irq, starts, sizes,
                          drv.name if drv is not None else ""))
    return out


def _sysfs_pcidev(path: object) -> PciDev | None:
    """The PCIDEV record of the function whose sysfs resourceN file ``path`` is."""
    if not path or "/sys/" not in str(path):
        return None
    dev = Path(str(path)).parent
    try:
        bdf = dev.name  # dddd:bb:ss.f
        _dom, bus, slotfn = bdf.split(":")
        slot, fn = slotfn.split(".")
        vendor = int((dev / "vendor").read_text(), 16)
        device = int((dev / "device").read_text(), 16)
        irq = int((dev / "irq").read_text())
        lines = (dev / "resource").read_text().split("\n")[:7]
    except (OSError, ValueError):
        return None
    starts, sizes = [], []
    for ln in lines:
        parts = ln.split()
        if len(parts) != 3:
            return None
        s, e, fl = (int(x, 16) for x in parts)
        starts.append(s | (fl & PCI_REGION_FLAG_MASK))
        sizes.append(e - s + 1 if s < e else 0)
    while len(starts) < 7:
        starts.append(0)
        sizes.append(0)
    drv = dev / "driver"
    driver = os.path.basename(os.readlink(drv)) if drv.is_symlink() else ""
    return PciDev(int(bus, 16), int(slot, 16) << 3 | int(fn), vendor, device, irq,
                  tuple(starts), tuple(sizes), driver)


# -- the module-level interface ---------------------------------------------------------------

def emit(kind: str, **fields: Any) -> None:
    """Record one of iomem's own events on every running recorder; nothing when none runs.

    ``kind`` is a word (``irq``, ``dma``, ``barrier``, ``report``, ...) and the
    fields are JSON values; ``t_ns=`` gives the time (default: the clock of
    what is recorded).  The structured form keeps the fields; mmiotrace text
    carries them in a ``MARK`` line.
    """
    if _ACTIVE:
        for rec in list(_ACTIVE):
            rec.emit(kind, dict(fields))


def recording() -> bool:
    """Whether any recorder runs (to skip building an event's fields when none does)."""
    return bool(_ACTIVE)


def mark(text: str) -> None:
    """A ``MARK`` line on every running recorder (what writing to trace_marker does)."""
    for rec in list(_ACTIVE):
        rec.mark(text)


def record(path: str | os.PathLike[str] | IO[str] | None = None, **options: Any) -> Recorder:
    """A :class:`Recorder` for a ``with`` block: ``with iomem.trace.record("t.txt"): ...``."""
    return Recorder(path, **options)


__all__ = ["CHUNK", "DEFAULT_RING", "FORMATS", "FileSink", "Recorder", "RingSink", "Site",
           "current_site", "current_site_and_caller", "emit", "format_for", "mark", "record",
           "recording"]
