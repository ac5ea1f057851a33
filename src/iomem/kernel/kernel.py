"""The simulated kernel: one object holding a booted machine's kernel state.

A :class:`Kernel` owns the resource trees, the ioremap state, the log, the
device model and the access paths.  Driver code calls the kernel's
functions by their C names (``request_mem_region(...)``); those find the
kernel from the context the driver runs in (the kernel sets itself current
around probe/remove and ``with k:`` blocks), falling back to the most
recently booted kernel for scripts.  The same functions are methods of the
kernel for scripts and tests.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from ..machine import Machine
from ..phys import BusError
from . import arch as A
from . import ioport as F
from . import resource as R
from .errno import ErrPtr
from .io import IoMem, IoPaths, KernelOops, SparseError
from .ioremap import Ioremap, VmArea
from .printk import KERN_ERR, KERN_INFO, KERN_WARNING, Printk
from .vsprintf import pa, pR

if TYPE_CHECKING:
    from .device import DeviceCore

_current: contextvars.ContextVar[Kernel | None] = contextvars.ContextVar("iomem_kernel",
                                                                         default=None)
_last_booted: Kernel | None = None

KERNEL_RELEASE = "6.1.0-iomem"

#: what a new kernel starts with: the CPU memory model (``strict``: every access
#: reaches the bus at once, in program order; the fastest) and whether the MMIO
#: sanitizer watches it.  ``iomem run`` and the test fixtures change these.
BOOT_DEFAULTS: dict[str, object] = {"memory_model": "strict", "sanitize": False}
#: called with each new kernel once it is set up (``iomem run`` collects them)
BOOT_HOOKS: list = []

#: taint flags in bit order (kernel/panic.c taint_flags[], Linux 6.1)
TAINT_FLAGS = "PFSRMBUDAWCIOELKXTN"

# Source files of the simulated kernel's plumbing: frames in them are not
# "callers" for %pS / vmallocinfo purposes.
_HERE = os.path.dirname(os.path.abspath(__file__))
# The interpreter's own library (stdlib, site-packages: click, pytest, ...) is not
# part of any call trace the kernel would print.
_RUNTIME = tuple({os.path.dirname(os.__file__) + os.sep,
                  *(sysconfig.get_paths()[k] + os.sep for k in ("purelib", "platlib"))})
_PLUMBING = {os.path.join(_HERE, f) for f in ("kernel.py", "ioremap.py", "api.py", "io.py")}


def current_kernel() -> Kernel:
    """The kernel the calling code runs in."""
    k = _current.get()
    if k is None:
        k = _last_booted
    if k is None:
        raise RuntimeError("no simulated kernel is running: boot one first, "
                           "e.g. k = iomem.boot('virt')")
    return k


def frame_symbol(frame: FrameType) -> str:
    """A Python frame as ``%pS`` prints a code address: ``func+0xoff/0xsize``
    (bytecode offset and length stand in for the instruction offset and symbol size)."""
    co = frame.f_code
    return f"{co.co_name}+0x{max(frame.f_lasti, 0):x}/0x{len(co.co_code):x}"


class Kernel:
    """A booted simulated kernel on a :class:`~iomem.machine.Machine`."""

    def __init__(self, machine: Machine, arch: str | A.ArchProfile = "arm64",
                 cmdline: str = "", board_name: str = "") -> None:
        global _last_booted
        self.machine = machine
        self.arch = arch if isinstance(arch, A.ArchProfile) else A.profile(arch)
        self.board_name = board_name or machine.name
        self.cmdline = cmdline
        self.log = Printk(lambda: machine.clock.now)
        self.iomem_resource, self.ioport_resource = R.new_roots()
        self.io_paths = IoPaths(self)
        self.ioremap_state = Ioremap(self)
        self.pid = 1
        self.comm = "swapper/0"
        self._warned_once: set[str] = set()
        #: taint flags set so far (W after a WARN, D after an oops), as print_tainted shows
        self.tainted: set[str] = set()
        self._die_counter = 0
        #: problems the kernel itself noticed (bad iounmap, out-of-bounds access, ...)
        self.reports: list[dict] = []
        self.strict_devmem = self._parse_iomem_param(cmdline)
        #: this CPU's interrupt mask (local_irq_save) and whether a handler is running
        self.irqs_disabled = False
        self.irq_context = False
        #: deliveries held back while interrupts were masked, replayed on unmask
        self.pending_irq_deliveries: list = []
        machine.memory.on_bus_error = None
        self._devcore: DeviceCore | None = None
        # hooks for the CPU memory model, the sanitizer and tracers: plain lists of
        # callables, so a kernel with none of them pays one empty loop per event
        #: called with the barrier's name (``mb``, ``wmb``, ``dma_rmb``, ...)
        self.barrier_hooks: list = []
        #: called as (ns, kind) for a udelay/ndelay/mdelay/msleep, before time passes
        self.delay_hooks: list = []
        #: called with each entry appended to :attr:`reports`
        self.report_hooks: list = []
        #: called with each area iounmap frees
        self.iounmap_hooks: list = []
        #: called as (event, parent, start, n, res): ``request`` after a region is
        #: claimed, ``release`` after it is freed (res None: nothing matched)
        self.region_hooks: list = []
        #: called as (event, dev): ``probe``, ``probed``, ``probe-failed`` (after the
        #: devres release), ``remove``, ``unbound`` (after the devres release)
        self.driver_hooks: list = []
        #: called as (event, irq, dev_id, name): ``request`` and ``free`` of a handler
        self.irq_hooks: list = []
        from ..cpu import MemoryModel
        #: the CPU between the driver and the bus (see :mod:`iomem.cpu`)
        self.cpu = MemoryModel(self, "strict")
        self.cpu.attach()  # strict: on no path; device models reach memory through it
        self.sanitizer = None
        _last_booted = self
        if BOOT_DEFAULTS["memory_model"] != "strict":
            self.memory_model = str(BOOT_DEFAULTS["memory_model"])
        if BOOT_DEFAULTS["sanitize"]:
            self.sanitize = True
        for hook in BOOT_HOOKS:
            hook(self)

    # -- the CPU memory model and the sanitizer ---------------------------------------

    @property
    def memory_model(self) -> str:
        """``strict``, ``realistic`` or ``adversarial`` (see :mod:`iomem.cpu`).

        Setting it rebuilds the access paths of the live mappings, so it is
        best done right after boot, before a driver holds data in flight."""
        return self.cpu.mode

    @memory_model.setter
    def memory_model(self, mode: str) -> None:
        from ..cpu import MemoryModel

        if mode == self.cpu.mode:
            return
        new = MemoryModel(self, mode, previous=self.cpu)  # validates the name first
        self.cpu.detach()
        self.cpu = new
        new.attach()
        self.reinstall_paths()

    @property
    def sanitize(self) -> bool:
        """Whether the MMIO sanitizer (:mod:`iomem.check`) watches this kernel."""
        return self.sanitizer is not None

    @sanitize.setter
    def sanitize(self, on: bool) -> None:
        from ..check.sanitizer import Sanitizer

        if bool(on) == self.sanitize:
            return
        if on:
            self.sanitizer = Sanitizer(self)
            self.sanitizer.attach()
        else:
            self.sanitizer.detach()
            self.sanitizer = None
        self.reinstall_paths()

    def reinstall_paths(self) -> None:
        """Choose the access functions of every live mapping again (after a layer
        was added or removed)."""
        for area in self.ioremap_state.vmalloc:
            self.io_paths.install(area)
        for area in self.__dict__.get("_user_areas", ()):  # userspace VMAs (remap.py)
            self.io_paths.install(area)

    def _report(self, entry: dict) -> None:
        self.reports.append(entry)
        for hook in self.report_hooks:
            hook(entry)

    # -- context ---------------------------------------------------------------------

    @contextmanager
    def active(self) -> Iterator[Kernel]:
        """Make this the current kernel for the calls inside the block."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)

    def __enter__(self) -> Kernel:
        self._tokens = getattr(self, "_tokens", [])
        self._tokens.append(_current.set(self))
        return self

    def __exit__(self, *exc: object) -> None:
        _current.reset(self._tokens.pop())

    @property
    def devices(self) -> DeviceCore:
        """The driver model (buses, devices, drivers)."""
        if self._devcore is None:
            from .device import DeviceCore
            self._devcore = DeviceCore(self)
        return self._devcore

    # -- printk and friends ---------------------------------------------------------

    def printk(self, level: int, text: str) -> None:
        self.log.printk(level, text)

    def printk_info(self, text: str) -> None:
        self.log.printk(KERN_INFO, text)

    def printk_warn(self, text: str) -> None:
        self.log.printk(KERN_WARNING, text)

    def printk_err(self, text: str) -> None:
        self.log.printk(KERN_ERR, text)

    def dmesg(self) -> str:
        """The kernel log as ``dmesg`` prints it."""
        return self.log.dmesg()

    def _call_trace(self, skip_plumbing: bool = True, limit: int = 8) -> list[str]:
        frames = []
        f: FrameType | None = sys._getframe(1)
        while f is not None and len(frames) < limit:
            path = os.path.abspath(f.f_code.co_filename)
            if not (skip_plumbing and path in _PLUMBING) and not path.startswith(_RUNTIME):
                frames.append(frame_symbol(f))
            f = f.f_back
        return frames

    def dump_stack(self) -> None:
        """``dump_stack()``: the CPU line and a call trace of the Python frames."""
        self._cpu_lines()
        self._trace_lines()

    def _cpu_lines(self) -> None:
        self.printk_warn(f"CPU: 0 PID: {self.pid} Comm: {self.comm} {self.print_tainted()} "
                         f"{KERNEL_RELEASE} #1")
        hw = {"x86_64": "QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 "
                        "04/01/2014",
              "arm64": "linux,dummy-virt (DT)"}.get(self.arch.name, self.board_name)
        self.printk_warn(f"Hardware name: {hw}")

    def _trace_lines(self) -> None:
        if self.arch.is_x86:
            self.printk_warn("Call Trace:")
            self.printk_warn(" <TASK>")
            for s in self._call_trace():
                self.printk_warn(f" {s}")
            self.printk_warn(" </TASK>")
        else:
            self.printk_warn("Call trace:")
            for s in self._call_trace():
                self.printk_warn(f" {s}")

    def print_tainted(self) -> str:
        """``print_tainted()`` (kernel/panic.c): one column per taint flag once tainted."""
        if not self.tainted:
            return "Not tainted"
        cols = "".join(c if c in self.tainted else ("G" if c == "P" else " ")
                       for c in TAINT_FLAGS)
        return f"Tainted: {cols}"

    def add_taint(self, flag: str) -> None:
        if flag not in TAINT_FLAGS:
            raise ValueError(f"unknown taint flag {flag!r}; known: {TAINT_FLAGS}")
        self.tainted.add(flag)

    def WARN(self, message: str | None, file: str, func: str, once: bool = False) -> None:  # noqa: N802
        """``WARN()``/``WARN_ONCE()``: cut-here banner, message, location, call trace.

        A ``_ONCE`` warning fires once per call site, whatever its message says."""
        if once:
            site = sys._getframe(1)
            while site.f_code.co_name in ("WARN_ON", "WARN_ON_ONCE") and site.f_back:
                site = site.f_back
            key = f"{file}:{func}:{site.f_code.co_filename}:{site.f_lineno}"
            if key in self._warned_once:
                return
            self._warned_once.add(key)
        self.printk_warn("------------[ cut here ]------------")
        if message:
            self.printk_warn(message)
        caller = sys._getframe(1)  # the warning's site: where WARN_ON*() was called
        while caller.f_code.co_name in ("WARN_ON", "WARN_ON_ONCE") and caller.f_back:
            caller = caller.f_back
        self.printk_warn(f"WARNING: CPU: 0 PID: {self.pid} at {file}:{caller.f_lineno} "
                         f"{func}+0x{max(caller.f_lasti, 0):x}/0x{len(caller.f_code.co_code):x}")
        self.printk_warn("Modules linked in:")
        self._cpu_lines()
        self._trace_lines()
        self.printk_warn("---[ end trace 0000000000000000 ]---")
        self.add_taint("W")
        self._report({"rule": "kernel-warning", "message": message or func, "where": file})

    def WARN_ON(self, file: str, func: str) -> None:  # noqa: N802
        self.WARN(None, file, func)

    def WARN_ON_ONCE(self, file: str, func: str) -> None:  # noqa: N802
        self.WARN(None, file, func, once=True)

    def hashed_ptr(self, value: int) -> str:
        """``%p``: the kernel prints a hash of the pointer, not its value."""
        h = hashlib.blake2b(value.to_bytes(8, "little"), digest_size=4,
                            key=b"iomem-ptr-key").hexdigest()
        return "00000000" + h if self.arch.bits == 64 else h

    def oops(self, lines: list[str]) -> None:
        """Log an oops and stop the calling code, as the kernel kills the task.

        ``[#N]`` in the lines is the die counter: the kernel numbers its oopses."""
        self._die_counter += 1
        lines = [ln.replace("[#N]", f"[#{self._die_counter}]") for ln in lines]
        for ln in lines:
            self.printk(0, ln)
        self._cpu_lines()
        self._trace_lines()
        self.printk(0, "---[ end trace 0000000000000000 ]---")
        self.add_taint("D")
        raise KernelOops("\n".join(lines))

    # -- faults raised by the access paths ---------------------------------------------

    def page_fault(self, area: VmArea, off: int, size: int, is_write: bool) -> int:
        va = area.addr + off
        if area.dead:
            self._report({"rule": "use-after-iounmap", "message":
                          f"{size * 8}-bit {'write' if is_write else 'read'} at "
                          f"{self.arch.ptr(va)} after iounmap", "area": area, "offset": off,
                          "size": size, "is_write": is_write})
        return self._fault_at(va, is_write)

    def deref_dev(self, dev: object, is_write: bool = False) -> None:
        """``dev->...`` in a kernel function: a NULL or ERR_PTR ``dev`` oopses there (the
        call trace starts at that function: this file's frames are left out of it)."""
        from .device import bad_device_address

        if (va := bad_device_address(dev)) is not None:
            self._fault_at(va, is_write)

    def _fault_at(self, va: int, is_write: bool) -> int:
        if self.arch.is_x86:
            what = "write" if is_write else "read"
            code = 0x0002 if is_write else 0x0000
            if va < 0x1000:
                head = f"BUG: kernel NULL pointer dereference, address: {va:016x}"
            else:
                head = f"BUG: unable to handle page fault for address: {self.arch.ptr(va)}"
            self.oops([head, f"#PF: supervisor {what} access in kernel mode",
                       f"#PF: error_code(0x{code:04x}) - not-present page",
                       f"Oops: {code:04x} [#N] PREEMPT SMP NOPTI"])
        esr = 0x96000047 if is_write else 0x96000007
        if va < 0x1000:
            head = ("Unable to handle kernel NULL pointer dereference at virtual address "
                    f"{self.arch.ptr(va)}")
        else:
            head = f"Unable to handle kernel paging request at virtual address {self.arch.ptr(va)}"
        self.oops([head, f"Internal error: Oops: {esr:016x} [#N] SMP"])
        return 0

    def out_of_bounds(self, area: VmArea, off: int, size: int, is_write: bool) -> int:
        """An access outside what ioremap was asked for: past the request inside
        the mapped pages (reported, refused), or outside them (a page fault)."""
        mapped_lo, mapped_hi = 0, area.mapped_size
        if area.dead or off < mapped_lo or off + size > mapped_hi:
            return self.page_fault(area, off, size, is_write)
        what = "write" if is_write else "read"
        va = area.addr + off
        rel = off - area.lo
        where = f"-0x{-rel:x}" if rel < 0 else f"0x{rel:x}"
        raise IndexError(
            f"{size * 8}-bit {what} at offset {where} ({self.arch.ptr(va)}) is "
            f"outside the 0x{area.req_size:x}-byte mapping of {pa(area.req_phys)} made by "
            f"{area.caller or 'ioremap'}; map the registers you access")

    def bus_abort(self, err: BusError, area: VmArea, off: int, size: int, is_write: bool) -> int:
        """A bus error on a kernel access: an external abort on arm64."""
        va = area.addr + off
        if self.arch.is_x86:
            # x86 has no synchronous abort for MMIO: the board policy decides the value
            raise err
        esr = 0x96000010
        self.oops([f"Internal error: synchronous external abort: {esr:016x} [#N] SMP",
                   f"  ({err} at {self.arch.ptr(va)})"])
        return 0

    def bad_pointer_access(self, fn: str, addr: object) -> None:
        """An accessor got NULL or an ERR_PTR: the kernel faults on that address."""
        va = addr.value if isinstance(addr, ErrPtr) else 0
        self._report({"rule": "unchecked-result", "message":
                      f"{fn}() on {'NULL' if addr is None else repr(addr)}", "fn": fn,
                      "value": addr})
        self._fault_at(va, fn.startswith(("write", "iowrite")))

    def pio_misuse(self, fn: str, addr: IoMem) -> None:
        raise SparseError(f"{fn}() on a port-I/O cookie from ioport_map()/pci_iomap(): "
                          f"use ioread/iowrite, which handle both MMIO and port I/O")

    def sparse_error(self, fn: str, value: object) -> None:
        got = "unsigned long" if isinstance(value, int) else type(value).__name__
        raise SparseError(f"warning: incorrect type in argument 1 (different address spaces)\n"
                          f"    expected void volatile [noderef] __iomem *addr\n"
                          f"    got {got}\n  ({fn}() takes the cookie ioremap() returned)")

    def note_bad_iounmap(self, cookie: IoMem, area: VmArea) -> None:
        self._report({"rule": "bad-iounmap", "message":
                      f"iounmap of {cookie!r}, which is not a live ioremap address",
                      "area": area, "cookie": cookie})

    def on_iounmap(self, area: VmArea) -> None:
        """An area went away: tell the hooks (tracers, the sanitizer, the CPU model)."""
        for hook in self.iounmap_hooks:
            hook(area)

    def deliver_pending_irqs(self) -> None:
        """Interrupts were unmasked: run what arrived meanwhile, in arrival order."""
        while self.pending_irq_deliveries and not self.irqs_disabled:
            self.pending_irq_deliveries.pop(0)()

    def barrier(self, kind: str) -> None:
        """A CPU barrier: the memory model drains what it must, the sanitizer notes it."""
        for hook in self.barrier_hooks:
            hook(kind)

    # -- resources -----------------------------------------------------------------------

    @staticmethod
    def _parse_iomem_param(cmdline: str) -> bool:
        words = cmdline.split()
        if "iomem=strict" in words:
            return True
        return "iomem=relaxed" not in words

    def request_resource(self, root: R.Resource, new: R.Resource) -> int:
        return R.request_resource(root, new)

    def insert_resource(self, parent: R.Resource, new: R.Resource) -> int:
        return R.insert_resource(parent, new)

    def release_resource(self, old: R.Resource) -> int:
        return R.release_resource(old)

    def remove_resource(self, old: R.Resource) -> int:
        return R.remove_resource(old)

    def __request_region(self, parent: R.Resource, start: int, n: int, name: str | None,
                         flags: int = 0) -> R.Resource | None:
        _check_range("request_region", start, n)
        res = R.request_region_locked(parent, start, n, name, flags)
        if res is not None:
            for hook in self.region_hooks:
                hook("request", parent, start, n, res)
        return res

    def release_region_in(self, parent: R.Resource, start: int, n: int) -> R.Resource | None:
        """``__release_region``; the hooks hear of it, released or not."""
        res = R.release_region_locked(parent, start, n, self.printk_warn)
        for hook in self.region_hooks:
            hook("release", parent, start, n, res)
        return res

    def request_mem_region(self, start: int, n: int, name: str | None) -> R.Resource | None:
        """Claim [start, start+n) in iomem as BUSY; None if anything busy is in the way."""
        return self.__request_region(self.iomem_resource, start, n, name)

    def request_mem_region_muxed(self, start: int, n: int, name: str | None):
        return self.__request_region(self.iomem_resource, start, n, name, F.IORESOURCE_MUXED)

    def request_mem_region_exclusive(self, start: int, n: int, name: str | None):
        return self.__request_region(self.iomem_resource, start, n, name, F.IORESOURCE_EXCLUSIVE)

    def request_region(self, start: int, n: int, name: str | None) -> R.Resource | None:
        """Claim I/O ports."""
        return self.__request_region(self.ioport_resource, start, n, name)

    def release_mem_region(self, start: int, n: int) -> None:
        _check_range("release_mem_region", start, n)
        self.release_region_in(self.iomem_resource, start, n)

    def release_region(self, start: int, n: int) -> None:
        _check_range("release_region", start, n)
        self.release_region_in(self.ioport_resource, start, n)

    def add_system_ram(self, start: int, size: int, name: str = "System RAM") -> R.Resource:
        res = R.Resource(start, start + size - 1, name,
                         F.IORESOURCE_SYSTEM_RAM | F.IORESOURCE_BUSY)
        conflict = R.insert_resource_conflict(self.iomem_resource, res)
        if conflict is not None:
            raise ValueError(f"System RAM {pR(res)} conflicts with {conflict.name} {pR(conflict)}")
        return res

    def resource_sanity_check(self, start: int, last: int) -> str | None:
        """x86 ``iomem_map_sanity_check``: a mapping that spans more than one resource."""
        p = R.find_conflict_spanning(self.iomem_resource, start, last, self.arch.page_shift)
        if p is None:
            return None
        # Linux 6.1 prints the range with %#010llx (6.2 moved to %pa)
        return (f"resource sanity check: requesting [mem {start:#010x}-{last:#010x}], "
                f"which spans more than {p.name} {pR(p)}")

    def pfn_is_map_memory(self, phys: int) -> bool:
        """Is this page in the kernel's linear map (System RAM)?"""
        for r in self.iomem_resource.children:
            if (r.flags & F.IORESOURCE_SYSTEM_RAM) == F.IORESOURCE_SYSTEM_RAM and \
                    r.start <= phys <= r.end:
                return True
        return False

    def iomem_is_exclusive(self, addr: int) -> bool:
        """``iomem_is_exclusive`` for /dev/mem (kernel/resource.c)."""
        size = self.arch.page_size
        addr &= ~(size - 1)
        for p in self.iomem_resource.walk():
            if p.start >= addr + size:
                break
            if p.end < addr:
                continue
            if (p.flags & F.IORESOURCE_SYSTEM_RAM) == F.IORESOURCE_SYSTEM_RAM or \
                    p.flags & F.IORESOURCE_EXCLUSIVE:
                return True
            if not self.strict_devmem:
                continue
            if p.flags & F.IORESOURCE_BUSY:  # CONFIG_IO_STRICT_DEVMEM=y
                return True
        return False

    # -- ioremap -----------------------------------------------------------------------

    def _caller(self) -> str:
        f: FrameType | None = sys._getframe(2)
        while f is not None and os.path.abspath(f.f_code.co_filename) in _PLUMBING:
            f = f.f_back
        return frame_symbol(f) if f is not None else ""

    def _ioremap(self, variant: str, phys: int, size: int) -> IoMem | None:
        return self.ioremap_state.map(variant, phys, size, self._caller())

    def ioremap(self, phys: int, size: int) -> IoMem | None:
        """Map device registers (Device-nGnRE on arm64, UC- on x86); None on failure."""
        return self._ioremap("ioremap", phys, size)

    def ioremap_np(self, phys: int, size: int) -> IoMem | None:
        return self._ioremap("ioremap_np", phys, size)

    def ioremap_uc(self, phys: int, size: int) -> IoMem | None:
        return self._ioremap("ioremap_uc", phys, size)

    def ioremap_wc(self, phys: int, size: int) -> IoMem | None:
        return self._ioremap("ioremap_wc", phys, size)

    def ioremap_wt(self, phys: int, size: int) -> IoMem | None:
        return self._ioremap("ioremap_wt", phys, size)

    def ioremap_cache(self, phys: int, size: int) -> IoMem | None:
        return self._ioremap("ioremap_cache", phys, size)

    def iounmap(self, addr: IoMem | None) -> None:
        self.ioremap_state.unmap(addr, None)

    def ioport_map(self, port: int, nr: int) -> IoMem | None:
        """A cookie for I/O ports, usable with ioread*/iowrite* (lib/iomap.c)."""
        if port < 0 or nr <= 0 or port + nr - 1 > 0xFFFF:
            return None
        # PIO_OFFSET: port cookies sit below PIO_RESERVED, never in the vmalloc window
        area = VmArea(self, 0x10000 + port, nr, port, self._caller(), "port", port, nr,
                      flags=0, pio=True)
        return IoMem(area, 0)

    def ioport_unmap(self, addr: IoMem) -> None:
        """Port cookies hold nothing to free."""

    def pte(self, vaddr: int | IoMem):
        """The page-table entry mapping a kernel virtual address (or a cookie)."""
        va = vaddr.vaddr if isinstance(vaddr, IoMem) else vaddr
        return self.ioremap_state.page_table.lookup(va)

    def vm_areas(self) -> list[VmArea]:
        return list(self.ioremap_state.vmalloc)

    # -- time ----------------------------------------------------------------------------

    def _delay(self, ns: int, kind: str) -> None:
        for hook in self.delay_hooks:
            hook(ns, kind)
        self.machine.clock.advance(ns)

    def udelay(self, us: int) -> None:
        self._delay(int(us * 1000), "udelay")

    def ndelay(self, ns: int) -> None:
        self._delay(int(ns), "ndelay")

    def mdelay(self, ms: int) -> None:
        """A busy-wait of ``ms`` milliseconds (a delay loop, where msleep sleeps)."""
        self._delay(int(ms * 1_000_000), "mdelay")

    def msleep(self, ms: int) -> None:
        self._delay(int(ms * 1_000_000), "msleep")

    # -- views -----------------------------------------------------------------------------

    def proc_iomem(self, privileged: bool = True) -> str:
        """``/proc/iomem``; an unprivileged reader sees zeroed addresses."""
        return R.r_show(self.iomem_resource, privileged)

    def proc_ioports(self, privileged: bool = True) -> str:
        return R.r_show(self.ioport_resource, privileged)

    def proc_vmallocinfo(self) -> str:
        return self.ioremap_state.vmallocinfo()

    def mtree(self, flat: bool = False) -> str:
        """The physical map as QEMU's ``info mtree`` prints it."""
        return self.machine.memory.mtree(flat)


def _check_range(fn: str, start: object, n: object) -> None:
    for what, v in (("start", start), ("n", n)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"{fn}: {what} must be an integer, not {type(v).__name__} ({v!r})")
