"""The CPU memory model: what happens between an accessor and the bus.

One :class:`MemoryModel` per kernel (``k.cpu``).  Under ``strict`` it puts
nothing on the access paths; otherwise it installs itself as the innermost
access-path layer when a mapping is made and gives each mapping the
functions its memory type calls for (see :func:`~iomem.cpu.policy.classify`):

* device memory (Device-nGnRnE, non-PCI UC): each access reaches the
  device in program order;
* posted device memory (Device-nGnRE, PCI UC/UC-): writes are acknowledged
  at once and queued per device; they arrive one to two ``posted_ns`` later,
  or when a read from the same device pushes them (PCI: a read never passes a
  posted write);
* write-combining (WC, Normal-NC): stores gather in 64-byte line buffers,
  later stores to the same bytes merge, and lines leave at a barrier, a
  read of the device, when full, or when evicted, in the policy's order;
* cacheable (WB, WT, Normal) onto a register file: reads are answered from
  the cache once a line holds the bytes; write-back stores stay in the cache
  until the line is evicted.

Normal memory (DMA buffers) goes through :meth:`MemoryModel.store` and
:meth:`MemoryModel.load`: stores wait in a store buffer, and loads of
registered DMA buffers may return what memory held before an unordered
read.  The ordering rules are Documentation/memory-barriers.txt's ("KERNEL
I/O BARRIER EFFECTS") and asm-generic/io.h's: ``writeX`` is ``wmb(); str``
(earlier normal stores and write-combined data go first), ``readX`` is
``ldr; rmb()`` (later loads wait for it), the ``_relaxed`` forms keep only
the order of accesses to one device.  ``wmb``/``mb`` drain the store buffer
and the write-combining buffers; ``rmb``/``mb`` end load speculation;
``dma_rmb`` orders loads of coherent memory only; ``dma_wmb`` keeps the
order of normal stores, which this store buffer never breaks.  No barrier
makes a posted write arrive: only a read from the device proves it has.

Everything is deterministic: time is the machine's virtual clock, and the
one free choice (the order write-combining lines leave) is a fixed policy or
a seeded PRNG.
"""

from __future__ import annotations

import random
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..phys import BusError
from .events import Event
from .policy import LINE, MODES, POLICIES, Kind, classify

if TYPE_CHECKING:
    from ..kernel.ioremap import VmArea
    from ..kernel.kernel import Kernel

EVENT_LIMIT = 10_000
_POSTED = ("{}-byte write of {:#x} to {:#x} is acknowledged; it reaches the device at "
           "{:.3f} us unless a read pushes it")
# A posted write in flight is one tuple, (issued ns, phys, size, value, arrival ns, area),
# that serves as its queue entry and as its event record (the other records are
# (ns, kind, template, phys, args)): this is the realistic models' hot path.
_FULL = (1 << LINE) - 1
_LMASK = ~(LINE - 1)


@dataclass
class DmaBuffer:
    """Normal memory a device reads or writes by DMA (a coherent buffer or a
    streaming mapping), as the model and the sanitizer know it."""

    phys: int
    size: int
    name: str = ""
    dev: Any = None
    kind: str = "coherent"  #: ``coherent`` or ``streaming``

    def __contains__(self, pa: int) -> bool:
        return self.phys <= pa < self.phys + self.size


@dataclass
class _Line:
    """A write-combining line buffer or a cache line: bytes, which are valid, which dirty."""

    area: VmArea
    base: int
    data: bytearray = field(default_factory=lambda: bytearray(LINE))
    valid: int = 0
    dirty: int = 0


@dataclass
class _Window:
    """Loads may have been satisfied as early as ``t_ns``: what the DMA buffers held then,
    and the bytes loaded (or stored) since, which are current."""

    t_ns: int
    why: str
    snap: dict[int, bytes]
    fresh: dict[int, bytearray]


class MemoryModel:
    """The CPU of one kernel under one of :data:`MODES`."""

    def __init__(self, kernel: Kernel, mode: str = "strict", *, seed: int | None = None,
                 previous: MemoryModel | None = None) -> None:
        if mode not in POLICIES:
            raise ValueError(f"unknown memory model {mode!r}; one of {', '.join(MODES)}")
        self.k = kernel
        self.mode = mode
        self.policy = POLICIES[mode]
        self._log: deque[tuple] = deque(maxlen=EVENT_LIMIT)
        #: called with each :class:`Event` (tracers)
        self.event_hooks: list[Callable[[Event], None]] = []
        #: called as (phys, nbytes) for each CPU store to / load from normal memory
        self.store_hooks: list[Callable[[int, int], None]] = []
        self.load_hooks: list[Callable[[int, int], None]] = []
        #: called as (event, buffer): ``add`` or ``remove`` (the sanitizer's leak check)
        self.buffer_hooks: list[Callable[[str, DmaBuffer], None]] = []
        #: called as (phys, nbytes, requester) for each bus master read of / write into
        #: memory (requester: the device model, or None when it did not say)
        self.device_read_hooks: list[Callable[[int, int, Any], None]] = []
        self.device_write_hooks: list[Callable[[int, int, Any], None]] = []
        #: called as (phys, issued ns or None) as each write this model held back (posted,
        #: write-combined, cached) reaches the bus; empty unless someone asks (the sanitizer,
        #: while it waits to see which write a device acts on)
        self.deliver_watch: list[Callable[[int, int | None], None]] = []
        self.dma_buffers: dict[int, DmaBuffer] = {}
        self.seed = seed
        if previous is not None:
            self.event_hooks = previous.event_hooks
            self.store_hooks = previous.store_hooks
            self.load_hooks = previous.load_hooks
            self.buffer_hooks = previous.buffer_hooks
            self.device_read_hooks = previous.device_read_hooks
            self.device_write_hooks = previous.device_write_hooks
            self.deliver_watch = previous.deliver_watch
            self.dma_buffers = previous.dma_buffers
            if seed is None:
                self.seed = previous.seed
        self._rng = random.Random(self.seed) if self.seed is not None else None
        self._sb: list[tuple[int, bytes, int]] = []  # (phys, data, time stored)
        self._sb_timer = None
        self._wc: OrderedDict[tuple[int, int], _Line] = OrderedDict()
        #: device key -> its posted writes in flight (never empty): batches (lists) of
        #: posted records, one batch per arrival time, oldest first
        self._posted: dict[int, deque] = {}
        self._cache: OrderedDict[int, _Line] = OrderedDict()
        self._mmio_win: _Window | None = None
        self._load_win: _Window | None = None
        self._attached = False

    # -- wiring ------------------------------------------------------------------------

    def attach(self) -> None:
        """Put the model on the kernel's paths (strict: only where devices find it)."""
        k = self.k
        k.machine.cpu = self  # device models reach DMA memory through it
        if self.mode == "strict" or self._attached:
            return
        k.io_paths.layers.insert(0, self.layer)
        k.barrier_hooks.append(self.barrier)
        k.iounmap_hooks.append(self._unmapped)
        self._attached = True

    def detach(self) -> None:
        """Let everything in flight land, then leave the paths."""
        self.settle()
        if not self._attached:
            return
        k = self.k
        k.io_paths.layers.remove(self.layer)
        k.barrier_hooks.remove(self.barrier)
        k.iounmap_hooks.remove(self._unmapped)
        self._attached = False

    def reseed(self, seed: int | None) -> None:
        """Choose the write-combining flush order with a PRNG seeded by ``seed``
        (None: the policy's fixed order)."""
        self.seed = seed
        self._rng = random.Random(seed) if seed is not None else None

    def _event(self, kind: str, template: str, phys: int | None = None, *args: Any) -> None:
        """Record an event; its text is made from ``template`` and ``args`` only when read."""
        rec = (self.k.machine.clock.now, kind, template, phys, args)
        self._log.append(rec)
        if self.event_hooks:
            ev = _materialise(rec)
            for hook in self.event_hooks:
                hook(ev)

    @property
    def events(self) -> list[Event]:
        """What the model did, oldest first (the last :data:`EVENT_LIMIT`)."""
        return [_materialise(rec) for rec in self._log]

    # -- DMA buffers -------------------------------------------------------------------

    def add_dma_buffer(self, phys: int, size: int, name: str = "", dev: Any = None,
                       kind: str = "coherent") -> DmaBuffer:
        """Register normal memory a device reaches by DMA (dma_alloc_coherent, dma_map_*)."""
        buf = DmaBuffer(phys, size, name, dev, kind)
        self.dma_buffers[phys] = buf
        for hook in self.buffer_hooks:
            hook("add", buf)
        return buf

    def remove_dma_buffer(self, phys: int) -> DmaBuffer | None:
        buf = self.dma_buffers.pop(phys, None)
        if buf is not None:
            for hook in self.buffer_hooks:
                hook("remove", buf)
            self.drain("buffer freed")
            for win in (self._mmio_win, self._load_win):
                if win is not None:
                    win.snap.pop(phys, None)
                    win.fresh.pop(phys, None)
        return buf

    def dma_buffer_at(self, phys: int) -> DmaBuffer | None:
        for buf in self.dma_buffers.values():
            if buf.phys <= phys < buf.phys + buf.size:
                return buf
        return None

    # -- normal memory: the CPU side ---------------------------------------------------

    def store(self, phys: int, data: bytes | bytearray | memoryview) -> None:
        """A CPU store to normal memory (a DMA buffer's CPU address)."""
        data = bytes(data)
        for hook in self.store_hooks:
            hook(phys, len(data))
        if self._mmio_win is not None or self._load_win is not None:
            self._mark_fresh(phys, len(data))
        delay = self.policy.store_ns
        if delay == 0:
            self._ram_write(phys, data)
            return
        now = self.k.machine.clock.now
        self._sb.append((phys, data, now))
        self._event("store", "{} bytes at {:#x} wait in the store buffer", phys, len(data), phys)
        if delay is not None and self._sb_timer is None:
            self._sb_timer = self.k.machine.clock.after(delay, self._sb_due)

    def load(self, phys: int, n: int) -> bytes:
        """A CPU load of ``n`` bytes of normal memory: the CPU's own pending stores
        forwarded, and (adversarial) bytes of DMA buffers as an early load saw them."""
        for hook in self.load_hooks:
            hook(phys, n)
        out = bytearray(self.k.machine.memory.read_bytes(phys, n))
        if self.policy.speculate and self.dma_buffers:
            buf = self.dma_buffer_at(phys)
            if buf is not None:
                if self._load_win is None:
                    self._load_win = self._open("a load of normal memory")
                    self._mark(self._load_win, phys, n)
                self._speculated(out, phys, n)
        for pa, data, _t in self._sb:  # store-to-load forwarding, oldest first
            lo, hi = max(pa, phys), min(pa + len(data), phys + n)
            if lo < hi:
                out[lo - phys:hi - phys] = data[lo - pa:hi - pa]
        return bytes(out)

    @property
    def watching(self) -> bool:
        """Whether CPU accesses to kernel buffers must come through :meth:`store`/:meth:`load`
        (a model other than strict, or someone listening)."""
        return self._attached or bool(self.store_hooks) or bool(self.load_hooks)

    def buffer_store(self, buf: Any, i: int | slice, value: Any) -> None:
        """``buf[i] = value`` on a kernel buffer (a ``view`` and a ``phys``), as a store."""
        mv = buf.view
        if isinstance(i, slice):
            start, stop, step = i.indices(len(mv))
            if step != 1:
                mv[i] = value  # rare: stored at once, still heard
                for hook in self.store_hooks:
                    hook(buf.phys + start, max(stop - start, 0))
                return
            data = bytes(memoryview(value).cast("B")) if not isinstance(value, bytes) \
                else value
            if len(data) != max(stop - start, 0):
                raise ValueError("memoryview assignment: lvalue and rvalue have different "
                                 "structures")
            if data:
                self.store(buf.phys + start, data)
            return
        idx = i + len(mv) if i < 0 else i
        if not 0 <= idx < len(mv):
            raise IndexError("index out of bounds on dimension 1")
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFF:
            raise ValueError("memoryview: invalid value for format 'B'")
        self.store(buf.phys + idx, bytes((value,)))

    def buffer_load(self, buf: Any, i: int | slice) -> int | bytes:
        """``buf[i]`` on a kernel buffer, as a load."""
        mv = buf.view
        if isinstance(i, slice):
            start, stop, step = i.indices(len(mv))
            if step != 1:
                for hook in self.load_hooks:
                    hook(buf.phys + start, max(stop - start, 0))
                return bytes(mv[i])
            return self.load(buf.phys + start, max(stop - start, 0)) if stop > start else b""
        idx = i + len(mv) if i < 0 else i
        if not 0 <= idx < len(mv):
            raise IndexError("index out of bounds on dimension 1")
        return self.load(buf.phys + idx, 1)[0]

    def store_int(self, phys: int, size: int, value: int) -> None:
        self.store(phys, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))

    def load_int(self, phys: int, size: int) -> int:
        return int.from_bytes(self.load(phys, size), "little")

    def drain(self, why: str = "drained") -> None:
        """Make every store in the store buffer visible (what wmb() waits for)."""
        if not self._sb:
            return
        entries = list(self._sb)
        self._sb.clear()  # in place: the access paths hold this list
        if self._sb_timer is not None:
            self._sb_timer.cancel()
            self._sb_timer = None
        for pa, data, _t in entries:
            self._ram_write(pa, data)
        self._event("store-drain", f"{len(entries)} store(s) reach memory ({why})")

    def _sb_due(self) -> None:
        self._sb_timer = None
        now = self.k.machine.clock.now
        delay = self.policy.store_ns or 0
        n = 0
        while self._sb and self._sb[0][2] + delay <= now:
            pa, data, _t = self._sb.pop(0)
            self._ram_write(pa, data)
            n += 1
        if n:
            self._event("store-drain", f"{n} store(s) reach memory (in time)")
        if self._sb:
            self._sb_timer = self.k.machine.clock.at(self._sb[0][2] + delay, self._sb_due)

    def _ram_write(self, phys: int, data: bytes) -> None:
        self.k.machine.memory.write_bytes(phys, data)

    # -- normal memory: the device side ------------------------------------------------

    def device_read(self, phys: int, n: int, requester: Any = None) -> bytes:
        """What a bus master reads: memory as it is, without the CPU's pending stores."""
        for hook in self.device_read_hooks:
            hook(phys, n, requester)
        for pa, data, _t in self._sb:
            if pa < phys + n and phys < pa + len(data):
                self._event("dma-stale", f"a device read {n} bytes at {phys:#x} while "
                            f"{len(data)} bytes at {pa:#x} were still in the CPU's store "
                            "buffer: it got the old data", phys)
                break
        return self.k.machine.memory.read_bytes(phys, n)

    def device_write(self, phys: int, data: bytes, requester: Any = None) -> None:
        """A bus master's write into memory."""
        for hook in self.device_write_hooks:
            hook(phys, len(data), requester)
        self.k.machine.memory.write_bytes(phys, data)

    # -- load speculation --------------------------------------------------------------

    def _open(self, why: str) -> _Window:
        mem = self.k.machine.memory
        snap = {b.phys: mem.read_bytes(b.phys, b.size) for b in self.dma_buffers.values()}
        fresh = {b.phys: bytearray(b.size) for b in self.dma_buffers.values()}
        return _Window(self.k.machine.clock.now, why, snap, fresh)

    def _mark(self, win: _Window, phys: int, n: int) -> None:
        for base, mask in win.fresh.items():
            lo, hi = max(base, phys), min(base + len(mask), phys + n)
            if lo < hi:
                mask[lo - base:hi - base] = b"\x01" * (hi - lo)

    def _mark_fresh(self, phys: int, n: int) -> None:
        for win in (self._mmio_win, self._load_win):
            if win is not None:
                self._mark(win, phys, n)

    def _speculated(self, out: bytearray, phys: int, n: int) -> None:
        """Replace bytes of ``out`` an early load would have seen; then they are current."""
        wins = sorted((w for w in (self._mmio_win, self._load_win) if w is not None),
                      key=lambda w: w.t_ns)
        stale = 0
        for win in wins:
            for base, snap in win.snap.items():
                mask = win.fresh[base]
                lo, hi = max(base, phys), min(base + len(snap), phys + n)
                for a in range(lo, hi):
                    i = a - base
                    if not mask[i]:
                        if out[a - phys] != snap[i]:
                            stale += 1
                        out[a - phys] = snap[i]
        for win in wins:
            self._mark(win, phys, n)
        if stale:
            w = wins[0]
            self._event("stale-load", f"a load of {n} bytes at {phys:#x} was satisfied before "
                        f"{w.why} at {w.t_ns / 1000:.3f} us: {stale} byte(s) are older than "
                        "memory", phys)

    def _close_windows(self, loads_only: bool = False) -> None:
        self._load_win = None
        if not loads_only:
            self._mmio_win = None

    # -- barriers ----------------------------------------------------------------------

    def barrier(self, kind: str) -> None:
        """What each barrier makes happen (asm-generic/barrier.h, memory-barriers.txt)."""
        if kind in ("mb", "wmb"):
            self._wmb(kind)
        if kind in ("mb", "rmb"):
            self._close_windows()
        elif kind in ("dma_rmb", "dma_mb"):
            self._close_windows(loads_only=True)

    def _wmb(self, why: str) -> None:
        self.drain(why)
        if self._wc:
            self._flush_wc(None, why)

    # -- write-combining buffers -------------------------------------------------------

    def _wc_store(self, area: VmArea, key: int, pa: int, size: int, value: int) -> None:
        data = value.to_bytes(size, "little")
        merged = 0
        for i in range(size):
            a = pa + i
            lkey = (key, a & _LMASK)
            line = self._wc.get(lkey)
            if line is None:
                line = self._wc[lkey] = _Line(area, a & _LMASK)
            bit = 1 << (a - line.base)
            if line.valid & bit:
                merged += 1
            line.valid |= bit
            line.data[a - line.base] = data[i]
        if merged:
            self._event("wc-merge", f"{size}-byte store to {pa:#x} overwrote {merged} byte(s) "
                        "still in a write-combining buffer: the earlier store never leaves", pa)
        else:
            self._event("wc-gather", "{}-byte store to {:#x} waits in a write-combining buffer",
                        pa, size, pa)
        for lkey in {(key, pa & _LMASK), (key, (pa + size - 1) & _LMASK)}:
            line = self._wc.get(lkey)
            if line is not None and line.valid == _FULL:
                self._flush_line(self._wc.pop(lkey), "line full")
        while len(self._wc) > self.policy.wc_lines:
            _k, line = self._wc.popitem(last=False)
            self._flush_line(line, "buffer evicted")

    def _flush_wc(self, key: int | None, why: str) -> None:
        """Flush the lines of device ``key`` (None: all), in the policy's order."""
        keys = [lk for lk in self._wc if key is None or lk[0] == key]
        if not keys:
            return
        if self._rng is not None:
            self._rng.shuffle(keys)
        elif self.policy.wc_order == "reverse":
            keys.reverse()
        for lk in keys:
            self._flush_line(self._wc.pop(lk), why)

    def _flush_line(self, line: _Line, why: str) -> None:
        chunks = _chunks(line.valid, line.area)
        if self.policy.wc_order == "reverse":
            chunks.reverse()
        for off, size in chunks:
            value = int.from_bytes(line.data[off:off + size], "little")
            self._deliver(line.area, line.base + off, size, value)
        self._event("wc-flush", f"line {line.base:#x} leaves the write-combining buffer "
                    f"({why}): {len(chunks)} write(s) "
                    + ", ".join(f"{line.base + o:#x}/{s}" for o, s in chunks), line.base)

    # -- posted writes -----------------------------------------------------------------

    def _arrive(self, key: int) -> None:
        """The timer of device ``key``'s earliest posted writes: those due now land."""
        q = self._posted.get(key)
        now = self.k.machine.clock.now
        if not q or q[0][0][4] > now:
            return  # a read pushed them already
        landed = _Landed(q.popleft())
        while q and q[0][0][4] <= now:
            landed.extend(q.popleft())
        if not q:
            del self._posted[key]
        bus_write = self.k.machine.memory.write
        watch = self.deliver_watch
        for t, pa, size, value, _due, area in landed:
            if watch:
                watch[0](pa, t)
            try:
                bus_write(pa, size, value)
            except BusError as e:
                self.k.bus_abort(e, area, pa - area.phys_addr, size, True)
        self._event("arrive", "{} posted write(s) reach the device: {}", landed[0][1],
                    len(landed), landed)

    def _push(self, key: int, why: str) -> None:
        for batch in self._posted.pop(key, ()):
            for t, pa, size, value, _due, area in batch:
                self._deliver(area, pa, size, value, t)
                self._event("arrive", "posted write of {:#x} reaches {:#x} ({})", pa, value,
                            pa, why)

    def pending_posted(self) -> int:
        return sum(len(batch) for q in self._posted.values() for batch in q)

    def _deliver(self, area: VmArea, pa: int, size: int, value: int,
                 issued: int | None = None) -> None:
        """A write leaving the CPU for the bus (its time was charged when it was issued;
        ``issued`` is that time where the write is one store, not a merged line)."""
        if self.deliver_watch:
            self.deliver_watch[0](pa, issued)
        try:
            self.k.machine.memory.write(pa, size, value)
        except BusError as e:
            self.k.bus_abort(e, area, pa - area.phys_addr, size, True)

    # -- the cache ---------------------------------------------------------------------

    def _cache_get(self, pa: int, size: int) -> int | None:
        base = pa & _LMASK
        if (pa + size - 1) & _LMASK != base:
            return None
        line = self._cache.get(base)
        if line is None:
            return None
        off = pa - base
        need = ((1 << size) - 1) << off
        if line.valid & need != need:
            return None
        self._cache.move_to_end(base)
        return int.from_bytes(line.data[off:off + size], "little")

    def _cache_put(self, area: VmArea, pa: int, size: int, value: int, dirty: bool) -> None:
        base = pa & _LMASK
        if (pa + size - 1) & _LMASK != base:  # a line-crossing access: not cached
            if dirty:
                self._deliver(area, pa, size, value)
            return
        line = self._cache.get(base)
        if line is None:
            line = self._cache[base] = _Line(area, base)
        else:
            self._cache.move_to_end(base)
        off = pa - base
        line.data[off:off + size] = value.to_bytes(size, "little")
        bits = ((1 << size) - 1) << off
        line.valid |= bits
        if dirty:
            line.dirty |= bits
        limit = self.policy.cache_lines
        while limit is not None and len(self._cache) > limit:
            _b, old = self._cache.popitem(last=False)
            self._writeback(old, "evicted")

    def _writeback(self, line: _Line, why: str) -> None:
        if not line.dirty:
            return
        chunks = _chunks(line.dirty, line.area)
        for off, size in chunks:
            self._deliver(line.area, line.base + off, size,
                          int.from_bytes(line.data[off:off + size], "little"))
        self._event("writeback", f"dirty line {line.base:#x} written back ({why}): "
                    f"{len(chunks)} write(s)", line.base)
        line.dirty = 0

    def flush_cache(self, why: str = "flushed") -> None:
        """Write back and drop every cached line (clean and invalidate to the point of
        coherency): the only way a write-back store to registers reaches them."""
        while self._cache:
            _b, line = self._cache.popitem(last=False)
            self._writeback(line, why)

    def dirty_lines(self) -> list[tuple[int, int]]:
        """(line address, dirty byte count) of stores still sitting in the cache."""
        return [(b, bin(line.dirty).count("1")) for b, line in self._cache.items() if line.dirty]

    # -- settling ----------------------------------------------------------------------

    def settle(self) -> list[tuple[int, int]]:
        """Let what is in flight land (write-combining lines, the store buffer, posted
        writes); returns the cached dirty lines, which never reach the device."""
        if self._wc:
            self._flush_wc(None, "settle")
        self.drain("settle")
        for key in list(self._posted):
            self._push(key, "settle")
        self._close_windows()
        lost = self.dirty_lines()
        for base, n in lost:
            self._event("lost", f"{n} byte(s) of stores to {base:#x} are still in the cache: "
                        "the device never saw them", base)
        return lost

    def _unmapped(self, area: VmArea) -> None:
        for lk in [lk for lk, line in self._wc.items() if line.area is area]:
            self._flush_line(self._wc.pop(lk), "iounmap")

    # -- the access-path layer ---------------------------------------------------------

    def kind_of(self, area: VmArea) -> Kind:
        """How this model treats accesses through ``area``."""
        if self.mode == "strict":
            return Kind.DIRECT
        region = self.k.machine.memory.region_at(area.phys_addr + area.lo) \
            if not area.pio else None
        kind = classify(area.memtype, region, area.pio)
        if kind is Kind.POSTED and region is None:
            return Kind.DEVICE  # nothing answers: let the error be synchronous
        return kind

    def layer(self, area: VmArea, read: Callable, write: Callable, ordered: bool
              ) -> tuple[Callable, Callable]:
        """An :class:`~iomem.kernel.io.IoPaths` layer: the functions for ``area``."""
        kind = self.kind_of(area)
        if area.pio:
            return read, write
        region = self.k.machine.memory.region_at(area.phys_addr + area.lo)
        key = id(region) if region is not None else id(area)
        if kind is Kind.DIRECT:
            return self._direct_paths(read, write, ordered)
        if kind in (Kind.DEVICE, Kind.POSTED):
            return self._device_paths(area, read, write, ordered, key, kind is Kind.POSTED)
        if kind is Kind.WC:
            return self._wc_paths(area, read, ordered, key)
        return self._cached_paths(area, read, write, ordered, key, kind is Kind.WT)

    def _direct_paths(self, read: Callable, write: Callable, ordered: bool
                      ) -> tuple[Callable, Callable]:
        if not ordered:
            return read, write
        m = self

        def rd(off: int, size: int) -> int:
            v = read(off, size)
            if m._mmio_win is not None or m._load_win is not None:
                m._close_windows()
            return v

        def wr(off: int, size: int, value: int) -> None:
            if m._sb or m._wc:
                m._wmb("writeX")
            write(off, size, value)
        return rd, wr

    def _checked(self, area: VmArea) -> Callable[[int, int, bool], bool]:
        """Bounds check and clock tick for an access the model answers itself."""
        k = self.k
        lo, hi = area.lo, area.hi
        clock = k.machine.clock
        ns = k.machine.access_ns

        def ok(off: int, size: int, is_write: bool) -> bool:
            if off < lo or off + size > hi:
                k.out_of_bounds(area, off, size, is_write)
                return False
            clock.tick(ns)
            return True
        return ok

    def _device_paths(self, area: VmArea, read: Callable, write: Callable, ordered: bool,
                      key: int, posted: bool) -> tuple[Callable, Callable]:
        m = self
        x86 = self.k.arch.is_x86
        base = area.phys_addr
        ok = self._checked(area)
        posted_map = self._posted
        wc = self._wc
        speculate = self.policy.speculate

        def rd(off: int, size: int) -> int:
            # later loads may pass a relaxed read from the moment it issues: before the
            # writes it pushes arrive and before what the device does about them
            if not ordered and speculate and m._mmio_win is None and m.dma_buffers:
                m._mmio_win = m._open(f"a relaxed read of {base + off:#x}")
            if wc:  # x86: a UC access drains every WC buffer; anywhere: a read of the device
                m._flush_wc(None if x86 else key, "a read of the device")
            if key in posted_map:
                m._push(key, "pushed by a read of the same device")
            if ordered:
                v = read(off, size)
                if m._mmio_win is not None or m._load_win is not None:
                    m._close_windows()  # __io_ar(): rmb
                return v
            return read(off, size)

        if posted:
            return rd, self._posting_writer(area, ordered, key)

        def wr(off: int, size: int, value: int) -> None:
            if ordered:
                if m._sb or wc:
                    m._wmb("writeX")  # __io_bw(): wmb
            elif x86 and wc:
                m._flush_wc(None, "a UC write")
            if key in posted_map:
                m._push(key, "a non-posted write to the same device")
            write(off, size, value)
        del ok
        return rd, wr

    def _posting_writer(self, area: VmArea, ordered: bool, key: int) -> Callable:
        """The write function of a posted mapping: the hot path of the realistic and
        adversarial models on arm64 (every ``ioremap`` is Device-nGnRE), kept flat."""
        m = self
        k = self.k
        x86 = k.arch.is_x86
        base, lo, hi = area.phys_addr, area.lo, area.hi
        clock = k.machine.clock
        ns = k.machine.access_ns
        step = self.policy.posted_ns or 1
        posted_map, wc, log, sb = self._posted, self._wc, self._log, self._sb
        hooks = self.event_hooks  # mutated in place, never replaced
        after = clock.after

        def arrive() -> None:
            m._arrive(key)

        def wr(off: int, size: int, value: int) -> None:
            if ordered:
                if sb or wc:
                    m._wmb("writeX")  # __io_bw(): wmb
            elif x86 and wc:
                m._flush_wc(None, "a UC write")
            if off < lo or off + size > hi:
                k.out_of_bounds(area, off, size, True)
                return
            now = clock.now + ns
            if now >= clock.next_due:
                clock.advance(ns)  # ends at ``now``
            else:
                clock.now = now
            # arrivals fall on a grid of posted_ns: writes issued together drain together,
            # on one timer per device and grid step
            arrival = (now // step + 2) * step
            rec = (now, base + off, size, value, arrival, area)
            q = posted_map.get(key)
            if q is None:
                posted_map[key] = deque(([rec],))
                after(arrival - now, arrive)
            else:
                batch = q[-1]
                if batch[0][4] == arrival:
                    batch.append(rec)
                else:
                    q.append([rec])
                    after(arrival - now, arrive)
            log.append(rec)
            if hooks:
                ev = _materialise(rec)
                for hook in hooks:
                    hook(ev)
        return wr

    def _wc_paths(self, area: VmArea, read: Callable, ordered: bool, key: int
                  ) -> tuple[Callable, Callable]:
        m = self
        base = area.phys_addr
        ok = self._checked(area)
        speculate = self.policy.speculate
        x86 = self.k.arch.is_x86

        def rd(off: int, size: int) -> int:
            if not ordered and speculate and m._mmio_win is None and m.dma_buffers:
                m._mmio_win = m._open(f"a relaxed read of {base + off:#x}")  # as above
            m._flush_wc(key, "a read of the device")
            if key in m._posted:
                m._push(key, "pushed by a read of the same device")
            if ordered:
                v = read(off, size)
                m._close_windows()
                return v
            return read(off, size)

        def wr(off: int, size: int, value: int) -> None:
            if ordered:
                if x86:  # writel is a plain mov: stores to WC stay weakly ordered
                    if m._sb:
                        m.drain("writeX")
                elif m._sb or m._wc:
                    m._wmb("writeX")
            if ok(off, size, True):
                m._wc_store(area, key, base + off, size, value)
        return rd, wr

    def _cached_paths(self, area: VmArea, read: Callable, write: Callable, ordered: bool,
                      key: int, through: bool) -> tuple[Callable, Callable]:
        m = self
        base = area.phys_addr
        lo, hi = area.lo, area.hi
        k = self.k
        ok = self._checked(area)

        def rd(off: int, size: int) -> int:
            if off < lo or off + size > hi:
                return k.out_of_bounds(area, off, size, False)
            pa = base + off
            v = m._cache_get(pa, size)
            if v is None:
                if key in m._posted:
                    m._push(key, "pushed by a read of the same device")
                v = read(off, size)
                m._cache_put(area, pa, size, v, False)
            else:
                k.machine.clock.tick(k.machine.access_ns)
                m._event("cache-hit", "{}-byte read of {:#x} answered from the cache ({:#x}); "
                         "the device was not asked", pa, size, pa, v)
            if ordered and (m._mmio_win is not None or m._load_win is not None):
                m._close_windows()
            return v

        def wr(off: int, size: int, value: int) -> None:
            if ordered and (m._sb or m._wc):
                m._wmb("writeX")
            pa = base + off
            if through:
                write(off, size, value)
                if m._cache_get(pa, size) is not None:
                    m._cache_put(area, pa, size, value, False)
                return
            if ok(off, size, True):
                m._cache_put(area, pa, size, value, True)
                m._event("cache-dirty", "{}-byte write of {:#x} to {:#x} stays in the cache "
                         "(write-back)", pa, size, value, pa)
        return rd, wr


class _Landed(list):
    """The records of posted writes that arrived together; formatted only when the
    event is read."""

    def __format__(self, spec: str) -> str:
        return ", ".join(f"{r[3]:#x} to {r[1]:#x}" for r in self)


def _materialise(rec: tuple) -> Event:
    if len(rec) == 6:  # a posted record
        t, pa, size, value, arrival, _area = rec
        return Event(t, "posted", _POSTED.format(size, value, pa, arrival / 1000), pa)
    t, kind, template, phys, args = rec
    return Event(t, kind, template.format(*args) if args else template, phys)


def _chunks(mask: int, area: VmArea) -> list[tuple[int, int]]:
    """Split the set bytes of a line into the widest aligned writes the target accepts."""
    region = area.kernel.machine.memory.region_at(area.phys_addr + area.lo)
    rules = region.rules if region is not None else None
    sizes = sorted(rules.valid_sizes, reverse=True) if rules is not None else [8, 4, 2, 1]
    out: list[tuple[int, int]] = []
    off = 0
    while off < LINE:
        if not mask >> off & 1:
            off += 1
            continue
        for s in sizes:
            need = ((1 << s) - 1) << off
            if off % s == 0 and off + s <= LINE and mask & need == need:
                out.append((off, s))
                off += s
                break
        else:
            out.append((off, 1))
            off += 1
    return out
