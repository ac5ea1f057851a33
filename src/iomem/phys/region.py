"""Regions of the physical address space: RAM, ROM and device register files.

Mirrors the ideas of QEMU's ``MemoryRegion`` / ``MemoryRegionOps``: a device
region declares the access sizes the bus accepts (``valid_sizes``), the sizes
the model implements (``impl_sizes``; other valid sizes are split or widened
by the memory core, as QEMU's ``access_with_adjusted_size`` does), whether
unaligned accesses are accepted, and the device's endianness.  The CPU is
little-endian (arm64 and x86_64 as Linux runs them), so a big-endian device's
value reaches the CPU byte-swapped.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

_LAZY_RAM = 1 << 20

LITTLE = "little"
BIG = "big"

_SIZE_MASK = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF, 8: 0xFFFFFFFFFFFFFFFF}


def mask_for(size: int) -> int:
    """All-ones value for an access of ``size`` bytes."""
    return _SIZE_MASK[size]


def byte_view(fn: str, buffer: object, what: str = "buffer", *, writable: bool = False
              ) -> memoryview:
    """``buffer`` as a flat byte view for the string and block accessors, or the error
    that names the accessor (not Python's memoryview) and what it needs."""
    try:
        mv = memoryview(buffer).cast("B")  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{fn}: the {what} must be a contiguous bytes-like object (bytes, "
                        f"bytearray, array.array, memoryview), not {type(buffer).__name__}"
                        ) from None
    if writable and mv.readonly:
        raise TypeError(f"{fn}: the {what} must be writable")
    return mv


def bswap(value: int, size: int) -> int:
    """Byte-swap ``value`` as an integer of ``size`` bytes (the kernel's swab16/32/64)."""
    if size == 1:
        return value
    return int.from_bytes(value.to_bytes(size, "little"), "big")


@dataclass(frozen=True)
class AccessRules:
    """What a device region accepts on the bus and what its model implements."""

    valid_sizes: frozenset[int] = frozenset({1, 2, 4, 8})
    impl_sizes: frozenset[int] | None = None  # None: the model handles every valid size
    unaligned: bool = False
    endian: str = LITTLE

    def __post_init__(self) -> None:
        if not self.valid_sizes or (self.impl_sizes is not None and not self.impl_sizes):
            raise ValueError("a region must accept and implement at least one access size")
        for s in self.valid_sizes | (self.impl_sizes or frozenset()):
            if s not in _SIZE_MASK:
                raise ValueError(f"access size {s} is not one of 1, 2, 4, 8")
        if self.endian not in (LITTLE, BIG):
            raise ValueError(f"endianness must be {LITTLE!r} or {BIG!r}, not {self.endian!r}")

    @property
    def implemented(self) -> frozenset[int]:
        return self.impl_sizes if self.impl_sizes is not None else self.valid_sizes

    def describe(self) -> str:
        sizes = "/".join(str(s) for s in sorted(self.valid_sizes))
        extra = ", unaligned" if self.unaligned else ""
        return f"sizes {sizes}{extra}, {self.endian}-endian"


@runtime_checkable
class RegionOps(Protocol):
    """A device model's register file as the bus sees it.

    ``read``/``write`` get an offset inside the region and an access size the
    region implements; values are the device's own numeric register values
    (the memory core handles byte order and size adjustment).
    """

    rules: AccessRules

    def read(self, offset: int, size: int) -> int: ...

    def write(self, offset: int, size: int, value: int) -> None: ...


class BusError(Exception):
    """A bus transaction that nothing (or nothing willing) answered.

    ``kind`` is one of ``unassigned`` (no region), ``size`` (access size the
    region rejects), ``unaligned``, ``straddle`` (crosses a region's end).
    """

    def __init__(self, kind: str, addr: int, size: int, is_write: bool, region: str | None,
                 detail: str = "") -> None:
        self.kind = kind
        self.addr = addr
        self.size = size
        self.is_write = is_write
        self.region = region
        self.detail = detail
        what = "write" if is_write else "read"
        where = f"region '{region}'" if region else "no region"
        msg = f"bus error: {size}-byte {what} at 0x{addr:x} ({where}): {kind}"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)


@dataclass(eq=False)
class Region:
    """A piece of the physical address space.

    ``kind`` is ``ram``, ``rom`` or ``io``.  RAM and ROM hold their bytes in
    ``data`` (a bytearray; ROM ignores writes); ``io`` forwards to ``ops``.
    Higher ``priority`` wins where regions overlap.
    """

    name: str
    base: int
    size: int
    kind: str = "ram"
    ops: RegionOps | None = None
    priority: int = 0
    data: bytearray | mmap.mmap | None = field(default=None, repr=False)
    enabled: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.base, int) or not isinstance(self.size, int) or \
                isinstance(self.base, bool) or isinstance(self.size, bool):
            raise TypeError("region base and size must be integers")
        if self.size <= 0:
            raise ValueError(f"region '{self.name}': size must be positive, not {self.size}")
        if self.base < 0 or self.base + self.size - 1 > 0xFFFFFFFFFFFFFFFF:
            raise ValueError(
                f"region '{self.name}': [0x{self.base:x}, +0x{self.size:x}) is outside "
                "the 64-bit physical address space")
        if self.kind in ("ram", "rom"):
            if self.data is None:
                # Big RAM is an anonymous mapping: its zero pages cost nothing until
                # touched, where a bytearray would zero (and commit) every byte.
                self.data = (mmap.mmap(-1, self.size) if self.size >= _LAZY_RAM
                             else bytearray(self.size))
            elif len(self.data) != self.size:
                raise ValueError(f"region '{self.name}': data is {len(self.data)} bytes, "
                                 f"size is {self.size}")
            self._mv = memoryview(self.data)
            # typed views for one-load-per-access on aligned offsets (over the
            # longest prefix that is a whole number of elements)
            self._views = {1: self._mv}
            for sz, fmt in ((2, "H"), (4, "I"), (8, "Q")):
                self._views[sz] = self._mv[:self.size - self.size % sz].cast(fmt)
        elif self.kind == "io":
            if self.ops is None:
                raise ValueError(f"region '{self.name}': an io region needs ops (a device model)")
        else:
            raise ValueError(
                f"region '{self.name}': kind must be ram, rom or io, not {self.kind!r}")

    @property
    def end(self) -> int:
        return self.base + self.size - 1

    @property
    def rules(self) -> AccessRules | None:
        return self.ops.rules if self.ops is not None else None

    def type_name(self) -> str:
        """The type word QEMU's ``info mtree`` prints."""
        return {"ram": "ram", "rom": "rom", "io": "i/o"}[self.kind]
