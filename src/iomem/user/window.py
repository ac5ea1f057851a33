"""What a backend hands the accessor object: a window onto device memory.

A backend (PCI sysfs, UIO, VFIO, /dev/mem on a real machine; the simulated
kernel's userspace mappings later) does the opening, the checks and the
mapping, and returns a :class:`Window`. The accessor object
(:class:`iomem.user.Mmio`) needs nothing else, so a userspace driver cannot
tell one backend from another.

A window is either

- a **buffer** (an ``mmap`` or anything with the buffer protocol): every
  access is then one load or store through a cached typed memoryview, or
- a **read/write pair** ``read(offset, size) -> int`` and
  ``write(offset, size, value)``, for regions that cannot be mapped (VFIO
  regions without the mmap flag, I/O-port BARs through sysfs) and for the
  simulator, whose accesses must go through its bus model. ``widths`` says
  which sizes the pair does as one access; others are refused, not split.

A simulated-kernel backend (``/dev/mem``, UIO, VFIO or PCI sysfs of a booted
board) implements :class:`Backend` the same way: ``open`` runs the simulated
kernel's checks (CAP_SYS_RAWIO, lockdown, ``devmem_is_allowed`` against its
resource tree and ``iomem=``), ``map`` returns a pair window whose ``read``
and ``write`` (and ``read_relaxed``/``write_relaxed``, for the CPU model's
ordering) take window-relative offsets and go through the VMA's memory type to
the physical address space, with ``phys``, ``info["memtype"]`` and
``release`` (munmap, so a later ``request_mem_region`` can revoke the
mapping as IO_STRICT_DEVMEM does); refusals raise :class:`MapError` with the
text :mod:`iomem.host.diagnose` gives for the same situation on a real kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

ReadFn = Callable[[int, int], int]
WriteFn = Callable[[int, int, int], None]

ALL_WIDTHS = frozenset({1, 2, 4, 8})


@dataclass
class Window:
    """A mapped range as a backend describes it to :class:`~iomem.user.Mmio`.

    Offsets the user gives are relative to the window's start; ``delta`` is
    where that start lies inside ``buffer`` (a page offset when the range
    does not start on a page) and is also added before the pair is called.
    """

    size: int
    name: str
    buffer: Any = None
    delta: int = 0
    read: ReadFn | None = None
    write: WriteFn | None = None
    #: Unordered variants for the simulator's CPU model; default to read/write.
    read_relaxed: ReadFn | None = None
    write_relaxed: WriteFn | None = None
    #: Access sizes (bytes) that are one access; others are refused.
    widths: frozenset[int] = ALL_WIDTHS
    #: Why this window makes no single access of the missing widths.
    widths_reason: str = ""
    #: Physical address of offset 0, when known.
    phys: int | None = None
    writable: bool = True
    #: Why stores are refused, for the error message of a read-only window.
    readonly_reason: str = ""
    #: True for memory-like ranges (RAM, prefetchable BARs): numpy views welcome.
    ram_like: bool = False
    #: Called once, when the last accessor object over the window is closed.
    release: Callable[[], None] | None = None
    #: Facts for ``describe()``: backend, path, memory type, owner, ...
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.buffer is None and self.read is None:
            raise ValueError(f"window {self.name!r} has neither a buffer nor a read function")
        if self.size < 0 or self.delta < 0:
            raise ValueError(f"window {self.name!r}: negative size or delta")
        if self.buffer is not None:
            have = memoryview(self.buffer).nbytes
            if self.delta + self.size > have:
                raise ValueError(f"window {self.name!r}: {self.size:#x} bytes at "
                                 f"{self.delta:#x} do not fit a {have:#x}-byte buffer")


@runtime_checkable
class Backend(Protocol):
    """Where mappings come from: one device, map, or physical range.

    ``open`` finds and checks the target (nothing is mapped yet);
    ``map`` returns a :class:`Window`, read-only when ``write`` is false or
    the safety checks say so (``force`` overrides ownership refusals);
    ``describe`` says what the target is in one line; ``close`` releases
    what ``open`` took (windows already handed out stay valid).
    """

    def open(self) -> None: ...

    def map(self, offset: int = 0, size: int | None = None, *, write: bool = True,
            force: bool = False) -> Window: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


@runtime_checkable
class Irq(Protocol):
    """An interrupt a userspace driver waits for (UIO's /dev/uioX, a VFIO eventfd)."""

    def enable(self) -> None:
        """Arm the interrupt (again): UIO's write of 1, VFIO's unmask."""

    def wait(self, timeout: float | None = None) -> int:
        """Block until the interrupt fires; returns the backend's count.

        Raises TimeoutError when ``timeout`` seconds pass first.
        """

    def fileno(self) -> int:
        """For select/poll loops."""

    def close(self) -> None: ...
