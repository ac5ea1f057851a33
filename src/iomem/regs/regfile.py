"""A register map with values: the storage a device model answers the bus from.

The access modes of the map are applied here once (write-1-to-clear,
read-to-clear, ...), so a model only writes the behaviour that is its own:
a hook that supplies a register's value on read (a FIFO pop, a counter that
runs on the virtual clock) or reacts after a write (start a timer, clear
interrupt status).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .model import Register, RegisterMap

ReadHook = Callable[[], int]
WriteHook = Callable[[int], None]
#: called for an access that hits no register: (offset, size, is_write, value)
UnmappedHook = Callable[[int, int, bool, int], None]


class RegisterFile:
    """Values for every register of ``regmap``, and bus-side ``read``/``write``.

    ``on_read[name]()`` supplies the value a software read sees instead of the
    stored one (the access mode then does nothing: the hook is the behaviour).
    ``on_write[name](value)`` runs after the access mode has updated the
    stored value, with the value the bus carried.  The hardware side uses
    ``regs["NAME"]`` (no side effects) to look and to set.
    """

    def __init__(self, regmap: RegisterMap, *, on_read: Mapping[str, ReadHook] | None = None,
                 on_write: Mapping[str, WriteHook] | None = None,
                 on_unmapped: UnmappedHook | None = None) -> None:
        self.map = regmap
        self.values: dict[str, int] = {}
        for name in (on_read or {}):
            regmap[name]  # noqa: B018 - validates the name
        for name in (on_write or {}):
            regmap[name]  # noqa: B018
        self._at = {r.offset: r for r in regmap.registers}  # the bus's fast path
        self._read_hooks = dict(on_read or {})
        self._write_hooks = dict(on_write or {})
        self.on_unmapped = on_unmapped
        self.reset()

    def reset(self) -> None:
        """Every register back to its reset value."""
        self.values = {r.name: r.reset for r in self.map.registers}

    # -- hardware side -------------------------------------------------------------

    def __getitem__(self, name: str) -> int:
        return self.values[name]

    def __setitem__(self, name: str, value: int) -> None:
        reg = self.map[name]
        self.values[name] = value & reg.all_ones

    def field(self, reg: str, name: str) -> int:
        return self.map[reg][name].extract(self.values[reg])

    def set_field(self, reg: str, name: str, value: int) -> None:
        f = self.map[reg][name]
        self.values[reg] = f.insert(self.values[reg], value)

    def decode(self, name: str) -> str:
        """The stored value of ``name`` decoded (what a read would show, without reading)."""
        reg = self.map[name]
        return reg.decode(self.values[name])

    def dump(self) -> str:
        return "\n".join(self.decode(r.name) for r in self.map.registers)

    # -- bus side ------------------------------------------------------------------

    def read_register(self, reg: Register) -> int:
        """One software read of a whole register (hooks and read side effects apply)."""
        hook = self._read_hooks.get(reg.name)
        if hook is not None:
            return hook() & reg.all_ones
        seen, after = reg.read_value(self.values[reg.name])
        self.values[reg.name] = after
        return seen

    def write_register(self, reg: Register, value: int, strobe: int | None = None) -> None:
        """One software write of ``value`` to ``reg`` (``strobe``: the bits carried)."""
        name = reg.name
        self.values[name] = reg.write_value(self.values[name], value, strobe)
        hook = self._write_hooks.get(name)
        if hook is not None:
            hook(value & (reg.all_ones if strobe is None else strobe))

    def read(self, offset: int, size: int) -> int:
        """A bus read of ``size`` bytes at ``offset``; registers it does not fill
        exactly are read whole and their byte lanes extracted (little-endian lanes)."""
        reg = self._at.get(offset)
        if reg is not None and reg.size == size:
            hook = self._read_hooks.get(reg.name)
            if hook is not None:
                return hook() & reg.all_ones
            return self.read_register(reg)
        return self._split_read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        reg = self._at.get(offset)
        if reg is not None and reg.size == size:
            self.write_register(reg, value)
            return
        self._split_write(offset, size, value)

    def _pieces(self, offset: int, size: int) -> list[tuple[Register | None, int, int]]:
        """(register or None, first byte, byte count) covering [offset, offset+size)."""
        out: list[tuple[Register | None, int, int]] = []
        pos = offset
        end = offset + size
        while pos < end:
            reg = self.map.covering(pos)
            if reg is None:
                nxt = min((r.offset for r in self.map.registers if r.offset > pos), default=end)
                n = min(nxt, end) - pos
            else:
                n = min(reg.offset + reg.size, end) - pos
            out.append((reg, pos, n))
            pos += n
        return out

    def _split_read(self, offset: int, size: int) -> int:
        value = 0
        for reg, pos, n in self._pieces(offset, size):
            if reg is None:
                if self.on_unmapped is not None:
                    self.on_unmapped(pos, n, False, 0)
                continue
            shift = 8 * (pos - reg.offset)
            part = (self.read_register(reg) >> shift) & ((1 << (8 * n)) - 1)
            value |= part << (8 * (pos - offset))
        return value

    def _split_write(self, offset: int, size: int, value: int) -> None:
        for reg, pos, n in self._pieces(offset, size):
            part = (value >> (8 * (pos - offset))) & ((1 << (8 * n)) - 1)
            if reg is None:
                if self.on_unmapped is not None:
                    self.on_unmapped(pos, n, True, part)
                continue
            shift = 8 * (pos - reg.offset)
            self.write_register(reg, part << shift, ((1 << (8 * n)) - 1) << shift)
