"""Generic models: memories, a syscon register block, and a stand-in that logs.

* :class:`Ram`, :class:`Rom`, :class:`Sram`: byte stores.  They answer the
  bus as device models, and :meth:`Memory.region` gives a fast
  :class:`~iomem.phys.Region` over the same bytes for boards that want the
  address space's RAM path.
* :class:`Syscon`: a block of 32-bit registers ("syscon" in device trees:
  clock/reset/pin controllers that several drivers poke through regmap),
  plain read-write storage or a given :class:`~iomem.regs.RegisterMap`.
* :class:`Unmodelled`: for a device-tree node with no model, so a driver
  still probes and its author sees every register it touched: reads return 0
  (or a configured value), writes are dropped, all of it is recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..phys import BIG, LITTLE, AccessRules, Region
from ..regs import RegisterFile, RegisterMap
from .base import MmioDevice
from .dtprops import Props, prop_bool

log = logging.getLogger("iomem.devices")

_ANY = AccessRules(valid_sizes=frozenset({1, 2, 4, 8}), unaligned=True)


class Memory(MmioDevice):
    """A byte store answering the bus (little-endian values)."""

    kind = "ram"
    rules = _ANY

    def __init__(self, size: int, name: str | None = None, *,
                 data: bytes | bytearray | None = None) -> None:
        super().__init__(name)
        if size <= 0:
            raise ValueError("a memory needs a positive size")
        self.size = size
        self.data = bytearray(size)
        if data is not None:
            if len(data) > size:
                raise ValueError(f"{len(data)} bytes of contents do not fit {size} bytes")
            self.data[:len(data)] = data
        self._initial = bytes(self.data)

    def reset(self) -> None:
        if self.kind != "ram":
            self.data[:] = self._initial

    def read(self, offset: int, size: int) -> int:
        return int.from_bytes(self.data[offset:offset + size], "little")

    def write(self, offset: int, size: int, value: int) -> None:
        self.data[offset:offset + size] = value.to_bytes(size, "little")

    def region(self, base: int, name: str | None = None) -> Region:
        """A RAM/ROM region over this memory's bytes, for the address space's fast path."""
        kind = "rom" if self.kind == "rom" else "ram"
        return Region(name or self.name, base, self.size, kind, data=self.data)


class Ram(Memory):
    """System RAM."""

    name = "ram"
    kind = "ram"


class Sram(Memory):
    """On-chip SRAM (``mmio-sram``); contents survive a device reset, as SRAM does."""

    name = "sram"
    kind = "sram"
    compatible = ("mmio-sram",)

    def __init__(self, size: int = 0x10000, name: str | None = None, *,
                 data: bytes | bytearray | None = None) -> None:
        super().__init__(size, name, data=data)

    def reset(self) -> None:
        pass

    @classmethod
    def from_dt(cls, props: Props, *, name: str | None = None,
                size: int | None = None) -> Sram:
        return cls(size or 0x10000, name)


class Rom(Memory):
    """Read-only memory: writes are ignored (and counted, since a driver that
    writes its boot ROM has a bug worth seeing)."""

    name = "rom"
    kind = "rom"

    def __init__(self, data: bytes | bytearray, name: str | None = None, *,
                 size: int | None = None) -> None:
        super().__init__(size or len(data), name, data=data)
        self.ignored_writes = 0

    def write(self, offset: int, size: int, value: int) -> None:
        self.ignored_writes += 1


class Syscon(MmioDevice):
    """A system-controller register block.

    With ``regmap`` the block behaves as the map says (access modes, reset
    values); without, every aligned 32-bit word is a plain read-write
    register that resets to ``reset_values.get(offset, 0)``.
    ``big_endian`` follows the device tree's ``big-endian`` property.
    """

    name = "syscon"
    compatible = ("syscon",)

    def __init__(self, name: str | None = None, *, size: int = 0x1000,
                 regmap: RegisterMap | None = None,
                 reset_values: Mapping[int, int] | None = None,
                 big_endian: bool = False) -> None:
        super().__init__(name)
        self.size = max(size, regmap.size if regmap is not None else 0)
        self.rules = AccessRules(valid_sizes=frozenset({1, 2, 4}), impl_sizes=frozenset({4}),
                                 endian=BIG if big_endian else LITTLE)
        self.regfile = RegisterFile(regmap) if regmap is not None else None
        self.reset_values = dict(reset_values or {})
        for off in self.reset_values:
            if off % 4 or not 0 <= off < self.size:
                raise ValueError(f"syscon reset value at {off:#x}: not a register offset")
        self.words: dict[int, int] = {}
        self.reset()

    @classmethod
    def from_dt(cls, props: Props, *, name: str | None = None,
                size: int | None = None) -> Syscon:
        return cls(name, size=size or 0x1000, big_endian=prop_bool(props, "big-endian"))

    def reset(self) -> None:
        self.words = dict(self.reset_values)
        if self.regfile is not None:
            self.regfile.reset()

    def read(self, offset: int, size: int) -> int:
        if self.regfile is not None:
            return self.regfile.read(offset, size)
        return self.words.get(offset, 0)

    def write(self, offset: int, size: int, value: int) -> None:
        if self.regfile is not None:
            self.regfile.write(offset, size, value)
            return
        self.words[offset] = value & 0xFFFFFFFF


@dataclass(frozen=True)
class Access:
    """One access to an unmodelled region."""

    time_ns: int
    offset: int
    size: int
    is_write: bool
    value: int

    def __str__(self) -> str:
        what = "write" if self.is_write else "read "
        arrow = "<-" if self.is_write else "->"
        return (f"[{self.time_ns:>12}ns] {what} {self.size} @ +0x{self.offset:04x} "
                f"{arrow} 0x{self.value:x}")


class Unmodelled(MmioDevice):
    """A region for a node with no model: reads give ``read_value`` (an int for
    every offset, or a mapping offset -> value, default 0), writes are dropped,
    and every access is kept in :attr:`accesses` and logged."""

    name = "unmodelled"
    rules = _ANY

    def __init__(self, size: int = 0x1000, name: str | None = None, *,
                 read_value: int | Mapping[int, int] = 0,
                 compatible: tuple[str, ...] = (),
                 on_access: Callable[[Access], None] | None = None) -> None:
        super().__init__(name)
        self.size = size
        self.read_value = read_value
        self.node_compatible = compatible
        self.accesses: list[Access] = []
        self.on_access = on_access

    def _record(self, offset: int, size: int, is_write: bool, value: int) -> None:
        clock = self.clock
        a = Access(clock.now if clock is not None else 0, offset, size, is_write, value)
        self.accesses.append(a)
        if self.on_access is not None:
            self.on_access(a)
        log.info("%s (unmodelled%s): %s", self.name,
                 f" {self.node_compatible[0]}" if self.node_compatible else "", a)

    def read(self, offset: int, size: int) -> int:
        rv = self.read_value
        value = rv.get(offset, 0) if isinstance(rv, Mapping) else rv
        value &= (1 << (8 * size)) - 1
        self._record(offset, size, False, value)
        return value

    def write(self, offset: int, size: int, value: int) -> None:
        self._record(offset, size, True, value)

    def touched(self) -> dict[int, tuple[int, int]]:
        """offset -> (reads, writes): which registers the driver used."""
        out: dict[int, tuple[int, int]] = {}
        for a in self.accesses:
            r, w = out.get(a.offset, (0, 0))
            out[a.offset] = (r, w + 1) if a.is_write else (r + 1, w)
        return dict(sorted(out.items()))

    def summary(self) -> str:
        """One line per offset touched: for the driver author's notes."""
        lines = [f"{self.name}: {len(self.accesses)} accesses to an unmodelled region"]
        for off, (r, w) in self.touched().items():
            lines.append(f"  +0x{off:04x}: {r} read(s), {w} write(s)")
        return "\n".join(lines)
