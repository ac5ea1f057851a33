"""Register maps: registers, fields and what software accesses do to them.

A :class:`RegisterMap` is a description (offsets, widths, reset values,
access modes); it holds no state.  The same description serves a device
model (:class:`~iomem.regs.RegisterFile` keeps the values and applies the
access modes), a driver or script (:func:`~iomem.regs.bind` does field
read-modify-write over any accessor pair) and the importers/exporters.

Access modes are those of CMSIS-SVD and SystemRDL, reduced to what a bus
access does to a bit: which bits read back, which a read clears or sets, and
what a written 1 or 0 does.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class Access(enum.Enum):
    """What a software access does to a field."""

    RO = "ro"      #: read-only: writes ignored (hardware sets the value)
    RW = "rw"      #: read-write
    WO = "wo"      #: write-only: reads return 0, the written value is latched
    W1C = "w1c"    #: write 1 to clear, 0 leaves the bit
    W1S = "w1s"    #: write 1 to set
    W1T = "w1t"    #: write 1 to toggle
    W0C = "w0c"    #: write 0 to clear
    W0S = "w0s"    #: write 0 to set
    WC = "wc"      #: any write clears the field
    WS = "ws"      #: any write sets the field
    RC = "rc"      #: read-only, a read clears the field
    RS = "rs"      #: read-only, a read sets the field
    RSVD = "rsvd"  #: reserved: reads 0, writes ignored

    @property
    def readable(self) -> bool:
        return self not in (Access.WO, Access.RSVD)

    @property
    def writable(self) -> bool:
        """Whether a write can change the stored value."""
        return self not in (Access.RO, Access.RC, Access.RS, Access.RSVD)

    @property
    def read_side_effect(self) -> bool:
        return self in (Access.RC, Access.RS)

    @property
    def neutral_write(self) -> int | None:
        """Bit value that writes without effect (for read-modify-write), or None
        when every written value has an effect or the write is simply stored."""
        if self in (Access.W1C, Access.W1S, Access.W1T):
            return 0
        if self in (Access.W0C, Access.W0S):
            return 1
        return None

    @classmethod
    def parse(cls, text: str | Access) -> Access:
        """Accept the enum, its value, or the usual spellings (``read-only``, ``r/w``)."""
        if isinstance(text, Access):
            return text
        key = text.strip().lower().replace("_", "-")
        alias = _ACCESS_ALIASES.get(key, key)
        try:
            return cls(alias)
        except ValueError:
            raise ValueError(f"unknown access mode {text!r}; one of "
                             + ", ".join(a.value for a in cls)) from None


_ACCESS_ALIASES = {
    "read-only": "ro", "r": "ro", "readonly": "ro",
    "read-write": "rw", "r/w": "rw", "readwrite": "rw",
    "write-only": "wo", "w": "wo", "writeonly": "wo",
    "write-1-to-clear": "w1c", "write-one-to-clear": "w1c", "onetoclear": "w1c",
    "write-1-to-set": "w1s", "write-one-to-set": "w1s", "onetoset": "w1s",
    "write-1-to-toggle": "w1t", "onetotoggle": "w1t",
    "read-to-clear": "rc", "read-clear": "rc", "clear-on-read": "rc",
    "read-to-set": "rs",
    "reserved": "rsvd",
}


@dataclass(frozen=True)
class Field:
    """A bit field ``[lsb + width - 1 : lsb]`` of a register.

    ``access`` None inherits the register's mode.  ``values`` names values
    (``{0: "free", 1: "periodic"}``) for decoding and for writes by name.
    """

    name: str
    lsb: int
    width: int = 1
    access: Access | None = None
    reset: int | None = None
    values: Mapping[int, str] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"field name {self.name!r} is not an identifier")
        if self.lsb < 0 or self.width < 1:
            raise ValueError(f"field {self.name}: bad bit range lsb={self.lsb} width={self.width}")
        if self.access is not None and not isinstance(self.access, Access):
            object.__setattr__(self, "access", Access.parse(self.access))
        object.__setattr__(self, "values", dict(self.values))
        for v, n in self.values.items():
            if not isinstance(n, str) or not n.isidentifier():
                raise ValueError(f"field {self.name}: value name {n!r} for {v} is not an "
                                 "identifier")
        if self.reset is not None and not 0 <= self.reset <= self.max:
            raise ValueError(f"field {self.name}: reset {self.reset:#x} does not fit "
                             f"{self.width} bit(s)")

    @property
    def msb(self) -> int:
        return self.lsb + self.width - 1

    @property
    def max(self) -> int:
        return (1 << self.width) - 1

    @property
    def mask(self) -> int:
        """The field's bits in place within the register."""
        return self.max << self.lsb

    def extract(self, reg_value: int) -> int:
        return (reg_value >> self.lsb) & self.max

    def insert(self, reg_value: int, value: int) -> int:
        return (reg_value & ~self.mask) | ((value & self.max) << self.lsb)

    def encode(self, value: int | str | bool) -> int:
        """A field value from an int, a bool or one of the field's value names."""
        if isinstance(value, str):
            for v, n in self.values.items():
                if n == value:
                    return v
            known = ", ".join(self.values.values()) or "none"
            raise ValueError(f"field {self.name} has no value named {value!r} (known: {known})")
        value = int(value)
        if not 0 <= value <= self.max:
            raise ValueError(f"value {value:#x} does not fit field {self.name} "
                             f"({self.width} bit{'s' if self.width > 1 else ''})")
        return value

    def format(self, value: int) -> str:
        name = self.values.get(value)
        if name is not None:
            return name
        return str(value) if value < 10 else f"{value:#x}"


class Register:
    """A register: name, byte offset, width in bits, reset value, access mode, fields.

    Bits no field covers are reserved (read 0, writes ignored).  A register
    without fields is one field of its full width with the register's access.
    """

    __slots__ = ("name", "offset", "width", "access", "fields", "reset", "description",
                 "_by_name", "read_mask", "rc_mask", "rs_mask", "store_mask", "w1c_mask",
                 "w1s_mask", "w1t_mask", "w0c_mask", "w0s_mask", "wc_mask", "ws_mask",
                 "side_effect_read", "neutral_mask", "neutral_bits", "implicit")

    def __init__(self, name: str, offset: int, fields: Iterable[Field] = (), *,
                 width: int = 32, access: Access | str = Access.RW, reset: int | None = None,
                 description: str = "") -> None:
        if not name.isidentifier():
            raise ValueError(f"register name {name!r} is not an identifier")
        if width not in (8, 16, 32, 64):
            raise ValueError(f"register {name}: width must be 8, 16, 32 or 64 bits, not {width}")
        if offset < 0:
            raise ValueError(f"register {name}: negative offset")
        self.name = name
        self.offset = offset
        self.width = width
        self.access = Access.parse(access)
        self.description = description
        flist = list(fields)
        self.implicit = not flist
        if not flist:
            flist = [Field(name, 0, width, self.access)]
        seen = 0
        by_name: dict[str, Field] = {}
        for f in flist:
            if f.msb >= width:
                raise ValueError(f"register {name}: field {f.name} [{f.msb}:{f.lsb}] is outside "
                                 f"{width} bits")
            if seen & f.mask:
                raise ValueError(f"register {name}: field {f.name} overlaps another field")
            if f.name in by_name:
                raise ValueError(f"register {name}: field {f.name} defined twice")
            seen |= f.mask
            by_name[f.name] = f
        self.fields: tuple[Field, ...] = tuple(sorted(flist, key=lambda f: f.lsb))
        self._by_name = by_name
        if reset is None:
            reset = 0
            for f in self.fields:
                if f.reset:
                    reset = f.insert(reset, f.reset)
        if not 0 <= reset < (1 << width):
            raise ValueError(f"register {name}: reset {reset:#x} does not fit {width} bits")
        self.reset = reset
        self._compile_masks()

    def _compile_masks(self) -> None:
        masks = {a: 0 for a in Access}
        for f in self.fields:
            masks[self.field_access(f)] |= f.mask
        self.read_mask = sum(m for a, m in masks.items() if a.readable)
        self.rc_mask = masks[Access.RC]
        self.rs_mask = masks[Access.RS]
        self.store_mask = masks[Access.RW] | masks[Access.WO]
        self.w1c_mask = masks[Access.W1C]
        self.w1s_mask = masks[Access.W1S]
        self.w1t_mask = masks[Access.W1T]
        self.w0c_mask = masks[Access.W0C]
        self.w0s_mask = masks[Access.W0S]
        self.wc_mask = masks[Access.WC]
        self.ws_mask = masks[Access.WS]
        self.side_effect_read = bool(self.rc_mask | self.rs_mask)
        # bits a read-modify-write must write as a fixed value to do nothing
        self.neutral_mask = (self.w1c_mask | self.w1s_mask | self.w1t_mask | self.w0c_mask
                             | self.w0s_mask)
        self.neutral_bits = self.w0c_mask | self.w0s_mask

    # -- description -----------------------------------------------------------

    @property
    def size(self) -> int:
        """Width in bytes (the access size)."""
        return self.width // 8

    @property
    def all_ones(self) -> int:
        return (1 << self.width) - 1

    def field_access(self, f: Field) -> Access:
        return f.access if f.access is not None else self.access

    def __getitem__(self, name: str) -> Field:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"register {self.name} has no field {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def __repr__(self) -> str:
        return (f"Register({self.name!r}, {self.offset:#x}, width={self.width}, "
                f"access={self.access.value}, reset={self.reset:#x})")

    # -- what accesses do ------------------------------------------------------

    def read_value(self, stored: int) -> tuple[int, int]:
        """A software read of ``stored``: (value seen, value stored afterwards)."""
        seen = stored & self.read_mask
        if self.side_effect_read:
            stored = (stored & ~self.rc_mask) | self.rs_mask
        return seen, stored

    def write_value(self, stored: int, value: int, strobe: int | None = None) -> int:
        """The stored value after software writes ``value``; ``strobe`` masks the
        bits the access carries (byte lanes of a narrow write), None = all."""
        m = self.all_ones if strobe is None else strobe & self.all_ones
        v = value & m
        nv = ~value & m
        new = (stored & ~(self.store_mask & m)) | (v & self.store_mask)
        new &= ~(v & self.w1c_mask)
        new |= v & self.w1s_mask
        new ^= v & self.w1t_mask
        new &= ~(nv & self.w0c_mask)
        new |= nv & self.w0s_mask
        new &= ~(self.wc_mask & m)
        new |= self.ws_mask & m
        return new

    def compose(self, base: int = 0, **fields: int | str | bool) -> int:
        """``base`` with the named fields replaced (values may be value names)."""
        value = base
        for name, v in fields.items():
            f = self[name]
            value = f.insert(value, f.encode(v))
        return value

    def decode(self, value: int, *, all_fields: bool = False) -> str:
        """``CR = 0x00000301 [UARTEN=1 TXE=1 RXE=1]``: the value and its non-zero fields."""
        digits = self.width // 4
        head = f"{self.name} = 0x{value:0{digits}x}"
        if self.implicit:
            return head
        parts = []
        for f in self.fields:
            v = f.extract(value)
            if v or all_fields:
                parts.append(f"{f.name}={f.format(v)}")
        return f"{head} [{' '.join(parts)}]"

    def fields_of(self, value: int) -> dict[str, int]:
        return {f.name: f.extract(value) for f in self.fields}

    # -- export ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "offset": self.offset, "width": self.width,
                             "access": self.access.value, "reset": self.reset}
        if self.description:
            d["description"] = self.description
        if not self.implicit:
            d["fields"] = [_field_dict(f) for f in self.fields]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Register:
        fields = [Field(f["name"], f["lsb"], f.get("width", 1),
                        Access.parse(f["access"]) if f.get("access") else None,
                        f.get("reset"), {int(k): v for k, v in f.get("values", {}).items()},
                        f.get("description", ""))
                  for f in d.get("fields", ())]
        return cls(d["name"], int(d["offset"]), fields, width=d.get("width", 32),
                   access=d.get("access", "rw"), reset=d.get("reset"),
                   description=d.get("description", ""))


def _field_dict(f: Field) -> dict[str, Any]:
    d: dict[str, Any] = {"name": f.name, "lsb": f.lsb, "width": f.width}
    if f.access is not None:
        d["access"] = f.access.value
    if f.reset is not None:
        d["reset"] = f.reset
    if f.values:
        d["values"] = {str(k): v for k, v in f.values.items()}
    if f.description:
        d["description"] = f.description
    return d


class RegisterMap:
    """The registers of one block, by name and by offset.

    ``size`` is the block's address range (defaults to just past the last
    register); ``base`` is where an imported description placed it, if it said.
    """

    def __init__(self, name: str, registers: Iterable[Register], *, size: int | None = None,
                 description: str = "", base: int | None = None) -> None:
        self.name = name
        self.description = description
        self.base = base
        regs = sorted(registers, key=lambda r: r.offset)
        by_name: dict[str, Register] = {}
        for prev, cur in zip(regs, regs[1:], strict=False):
            if prev.offset + prev.size > cur.offset:
                raise ValueError(f"register map {name}: {prev.name} at {prev.offset:#x} "
                                 f"overlaps {cur.name} at {cur.offset:#x}")
        for r in regs:
            if r.name in by_name:
                raise ValueError(f"register map {name}: register {r.name} defined twice")
            by_name[r.name] = r
        self.registers: tuple[Register, ...] = tuple(regs)
        self._by_name = by_name
        self._by_offset = {r.offset: r for r in regs}
        end = regs[-1].offset + regs[-1].size if regs else 0
        if size is None:
            size = end
        elif size < end:
            raise ValueError(f"register map {name}: size {size:#x} is smaller than its "
                             f"registers ({end:#x})")
        self.size = size

    def __getitem__(self, name: str) -> Register:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"register map {self.name} has no register {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Register]:
        return iter(self.registers)

    def __len__(self) -> int:
        return len(self.registers)

    def at(self, offset: int) -> Register | None:
        """The register starting at ``offset`` (None if none starts there)."""
        return self._by_offset.get(offset)

    def covering(self, offset: int) -> Register | None:
        """The register whose bytes include ``offset``."""
        r = self._by_offset.get(offset)
        if r is not None:
            return r
        for r in self.registers:
            if r.offset <= offset < r.offset + r.size:
                return r
            if r.offset > offset:
                break
        return None

    def __repr__(self) -> str:
        return f"RegisterMap({self.name!r}, {len(self.registers)} registers, size={self.size:#x})"

    def describe(self) -> str:
        """A table for people: offset, name, width, access, reset, fields."""
        lines = [f"{self.name}: {len(self.registers)} registers, {self.size:#x} bytes"]
        for r in self.registers:
            lines.append(f"  +0x{r.offset:03x} {r.name:<12} {r.width:>2}-bit "
                         f"{r.access.value:<4} reset=0x{r.reset:0{r.width // 4}x}"
                         + (f"  {r.description}" if r.description else ""))
            if not r.implicit:
                for f in r.fields:
                    bits = f"[{f.msb}:{f.lsb}]" if f.width > 1 else f"[{f.lsb}]"
                    lines.append(f"      {bits:<8} {f.name:<12} "
                                 f"{r.field_access(f).value}")
        return "\n".join(lines)

    # -- export: a dict / JSON (lossless) --------------------------------------

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "size": self.size,
                             "registers": [r.to_dict() for r in self.registers]}
        if self.description:
            d["description"] = self.description
        if self.base is not None:
            d["base"] = self.base
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RegisterMap:
        return cls(d["name"], [Register.from_dict(r) for r in d["registers"]],
                   size=d.get("size"), description=d.get("description", ""), base=d.get("base"))

    @classmethod
    def from_json(cls, text: str) -> RegisterMap:
        return cls.from_dict(json.loads(text))

    def to_svd(self, **kwargs: Any) -> str:
        """This map as a CMSIS-SVD document (see :func:`iomem.regs.svd.to_svd`)."""
        from .svd import to_svd
        return to_svd(self, **kwargs)
