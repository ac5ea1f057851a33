"""Field access for drivers and scripts over any pair of accessors.

``bind(regmap, read, write)`` needs only ``read(offset, nbytes) -> int`` and
``write(offset, nbytes, value)``: a kernel ioremap cookie, a userspace
mapping, an address space or a device model all give that in one line.
Every register access is one bus access of the register's width.

    regs = bind(PL011_MAP, read, write, clock=machine.clock)
    regs.CR.UARTEN = 1                 # read CR, set the bit, write CR
    regs.CR.modify(TXE=1, RXE=1)       # one read, one write
    print(regs.CR.read())              # CR = 0x00000301 [UARTEN=1 TXE=1 RXE=1]
    regs.FR.wait(BUSY=0, timeout_us=1000)

A read-modify-write writes neutral values into write-1-to-clear (and
similar) fields, so it never clears status bits by accident, and refuses
registers whose read has side effects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .model import Field, Register, RegisterMap
from .poll import PollTimeout, TimeSource, poll_until

ReadFn = Callable[[int, int], int]
WriteFn = Callable[[int, int, int], None]


class RegisterAccessError(Exception):
    """An access the register's modes make wrong (e.g. a read-modify-write that
    would lose read-to-clear status)."""


class RegisterValue(int):
    """A value read from a register: an int that also knows its fields.

    ``v.BUSY`` is a field, ``str(v)`` the decode (``FR = 0x00000090 [RXFE=1 TXFE=1]``).
    """

    register: Register

    def __new__(cls, value: int, register: Register) -> RegisterValue:
        obj = super().__new__(cls, value)
        obj.register = register
        return obj

    def __getattr__(self, name: str) -> int:
        reg = self.__dict__.get("register")
        if reg is not None and name in reg:
            return reg[name].extract(int(self))
        raise AttributeError(name)

    def field(self, name: str) -> int:
        return self.register[name].extract(int(self))

    def fields(self) -> dict[str, int]:
        return self.register.fields_of(int(self))

    def decode(self, *, all_fields: bool = False) -> str:
        return self.register.decode(int(self), all_fields=all_fields)

    def __str__(self) -> str:
        return self.decode()

    def __repr__(self) -> str:
        return f"<{self.decode()}>"

    def __format__(self, spec: str) -> str:
        return int.__format__(int(self), spec) if spec else self.decode()


class BoundRegister:
    """One register of a :class:`RegisterBinding`: read, write, fields, poll."""

    __slots__ = ("_binding", "register")

    def __init__(self, binding: RegisterBinding, register: Register) -> None:
        object.__setattr__(self, "_binding", binding)
        object.__setattr__(self, "register", register)

    # -- whole register ---------------------------------------------------------

    def read(self) -> RegisterValue:
        b = self._binding
        r = self.register
        return RegisterValue(b._read(b.offset + r.offset, r.size) & r.all_ones, r)

    def write(self, value: int) -> None:
        b = self._binding
        r = self.register
        b._write(b.offset + r.offset, r.size, int(value) & r.all_ones)

    @property
    def value(self) -> RegisterValue:
        return self.read()

    def __int__(self) -> int:
        return int(self.read())

    def __index__(self) -> int:
        return int(self.read())

    # -- fields -----------------------------------------------------------------

    def _rmw_base(self, changing: int) -> int:
        """The value a read-modify-write starts from: the register as read, with
        bits that must not be written back replaced by their neutral value."""
        r = self.register
        needs_read = any(r.field_access(f).writable and r.field_access(f).neutral_write is None
                         and r.field_access(f).readable and not (f.mask & changing)
                         for f in r.fields)
        if needs_read and r.side_effect_read:
            raise RegisterAccessError(
                f"{r.name}: a read-modify-write would read it, and reading clears or sets "
                "status; write the whole register instead")
        cur = int(self.read()) if needs_read else r.reset & r.read_mask
        return (cur & ~r.neutral_mask) | r.neutral_bits

    def modify(self, **fields: int | str | bool) -> None:
        """Set the named fields in one read-modify-write (one read, one write)."""
        r = self.register
        changing = 0
        for name in fields:
            changing |= r[name].mask
        self.write(r.compose(self._rmw_base(changing), **fields))

    def set_bits(self, mask: int) -> None:
        self.write(self._rmw_base(mask) | mask)

    def clear_bits(self, mask: int) -> None:
        self.write(self._rmw_base(mask) & ~mask)

    def __getattr__(self, name: str) -> int:
        reg = self.register
        if name in reg:
            f: Field = reg[name]
            return f.extract(int(self.read()))
        raise AttributeError(f"register {reg.name} has no field {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.register:
            self.modify(**{name: value})
            return
        raise AttributeError(f"register {self.register.name} has no field {name!r}")

    # -- waiting -----------------------------------------------------------------

    def poll(self, cond: Callable[[RegisterValue], bool], *, timeout_us: int,
             sleep_us: int | None = None, clock: TimeSource | None = None) -> RegisterValue:
        """Read until ``cond(value)``; raise :class:`PollTimeout` after ``timeout_us``."""
        b = self._binding
        return poll_until(self.read, cond, timeout_us=timeout_us,
                          sleep_us=b.sleep_us if sleep_us is None else sleep_us,
                          clock=clock if clock is not None else b.clock,
                          what=f"{b.map.name}.{self.register.name}")

    def wait(self, *, timeout_us: int, sleep_us: int | None = None,
             clock: TimeSource | None = None, **fields: int | str | bool) -> RegisterValue:
        """Read until every named field has the given value (``FR.wait(BUSY=0, ...)``)."""
        r = self.register
        want = {name: r[name].encode(v) for name, v in fields.items()}
        return self.poll(lambda v: all(r[n].extract(int(v)) == x for n, x in want.items()),
                         timeout_us=timeout_us, sleep_us=sleep_us, clock=clock)

    def __repr__(self) -> str:
        return f"<{self._binding.map.name}.{self.register.name} at +{self.register.offset:#x}>"


class RegisterBinding:
    """A register map bound to accessors: ``regs.NAME`` is a :class:`BoundRegister`,
    ``regs.NAME = v`` writes the register."""

    def __init__(self, regmap: RegisterMap, read: ReadFn, write: WriteFn, *, offset: int = 0,
                 clock: TimeSource | None = None, sleep_us: int = 10) -> None:
        d = self.__dict__
        d["map"] = regmap
        d["_read"] = read
        d["_write"] = write
        d["offset"] = offset
        d["clock"] = clock
        d["sleep_us"] = sleep_us
        d["_regs"] = {r.name: BoundRegister(self, r) for r in regmap.registers}

    def __getattr__(self, name: str) -> BoundRegister:
        regs = self.__dict__.get("_regs", {})
        if name in regs:
            return regs[name]
        raise AttributeError(f"register map {self.map.name} has no register {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._regs:
            self._regs[name].write(value)
        elif name in ("clock", "sleep_us"):
            self.__dict__[name] = value
        else:
            raise AttributeError(f"register map {self.map.name} has no register {name!r}")

    def __getitem__(self, name: str) -> BoundRegister:
        return self._regs[name]

    def __iter__(self):
        return iter(self._regs.values())

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._regs))

    def dump(self, *, include_side_effects: bool = False) -> str:
        """Every readable register decoded; registers whose read changes state
        (read-to-clear) or that cannot be read are skipped unless asked."""
        lines = []
        for r in self.map.registers:
            if not r.read_mask or (r.side_effect_read and not include_side_effects):
                continue
            lines.append(str(self._regs[r.name].read()))
        return "\n".join(lines)


def bind(regmap: RegisterMap, read: ReadFn, write: WriteFn, *, offset: int = 0,
         clock: TimeSource | None = None, sleep_us: int = 10) -> RegisterBinding:
    """Bind ``regmap`` to ``read(offset, nbytes)`` / ``write(offset, nbytes, value)``;
    ``offset`` is added to every register offset, ``clock`` is the default for polls."""
    return RegisterBinding(regmap, read, write, offset=offset, clock=clock, sleep_us=sleep_us)


def bind_bus(regmap: RegisterMap, bus: Any, base: int, *, clock: TimeSource | None = None,
             sleep_us: int = 10) -> RegisterBinding:
    """Bind to anything with ``read(addr, size)`` / ``write(addr, size, value)`` (an
    :class:`~iomem.phys.AddressSpace`, a device model) at ``base``."""
    return RegisterBinding(regmap, bus.read, bus.write, offset=base, clock=clock,
                           sleep_us=sleep_us)


__all__ = ["RegisterBinding", "BoundRegister", "RegisterValue", "RegisterAccessError", "bind",
           "bind_bus", "PollTimeout"]
