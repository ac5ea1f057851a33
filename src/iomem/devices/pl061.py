"""ARM PrimeCell GPIO (PL061), after the PL061 Technical Reference Manual (DDI 0190).

Eight pins.  GPIODATA is 256 words at 0x000-0x3FC: address bits [9:2] are
a mask, so a read returns only the masked pins (others read 0) and a write
changes only the masked bits, with no read-modify-write in software.  The
register map names the all-pins alias at 0x3FC ``DATA``.

A pin configured as output (GPIODIR = 1) drives the latched data value; an
input pin reads what the outside drives (:meth:`PL061.set_input`).
Interrupts (one output, GPIOINTR) are edge- (GPIOIS = 0: rising or
falling per GPIOIEV, or both with GPIOIBE) or level-sensitive (GPIOIS = 1:
high or low per GPIOIEV; the raw status follows the level, so GPIOIC does
not clear it while the level holds).  Edges are detected on input pins.
"""

from __future__ import annotations

from collections.abc import Callable

from ..regs import Field, Register
from .primecell import PrimeCell


def _pins(name: str, offset: int, access: str = "rw", description: str = "") -> Register:
    return Register(name, offset, [Field("PINS", 0, 8)], access=access, description=description)


def pl061_registers() -> list[Register]:
    return [
        _pins("DATA", 0x3FC, description="data, all pins (0x000-0x3F8 mask by address[9:2])"),
        _pins("DIR", 0x400, description="direction: 1 = output"),
        _pins("IS", 0x404, description="interrupt sense: 1 = level"),
        _pins("IBE", 0x408, description="interrupt on both edges"),
        _pins("IEV", 0x40C, description="interrupt event: 1 = rising edge / high level"),
        _pins("IE", 0x410, description="interrupt mask: 1 = enabled"),
        _pins("RIS", 0x414, "ro", "raw interrupt status"),
        _pins("MIS", 0x418, "ro", "masked interrupt status"),
        _pins("IC", 0x41C, "wo", "interrupt clear: write 1 to clear"),
        _pins("AFSEL", 0x420, description="mode control select (hardware control)"),
    ]


class PL061(PrimeCell):
    """PL061 GPIO.  ``inputs`` are the levels the outside drives on input pins;
    ``on_output(pin, level)`` is told when a pin driven by the PL061 changes."""

    name = "pl061"
    compatible = ("arm,pl061", "arm,primecell")
    periphid = 0x00041061
    npins = 8

    def __init__(self, name: str | None = None, *, inputs: int = 0) -> None:
        super().__init__(name)
        self.regs = self._make_regs("pl061", pl061_registers(), on_read={
            "DATA": lambda: self._read_data(0xFF), "MIS": self._mis,
        }, on_write={
            "DATA": lambda v: self._write_data(0xFF, v), "DIR": self._changed,
            "IS": self._changed, "IBE": self._changed, "IEV": self._changed,
            "IE": self._changed, "IC": self._clear,
        })
        self.on_output: Callable[[int, int], None] | None = None
        self._initial_inputs = inputs & 0xFF
        self.inputs = self._initial_inputs
        self.reset()

    def reset(self) -> None:
        self.regs.reset()
        self.inputs = self._initial_inputs
        self._out = 0  # latched data register
        self._last_pins = self.pins
        self._last_driven = 0
        self._changed()

    # -- pins ---------------------------------------------------------------------

    @property
    def pins(self) -> int:
        """The level on each pin: outputs from the data latch, inputs from outside."""
        d = self.regs["DIR"]
        return (self._out & d) | (self.inputs & ~d & 0xFF)

    @property
    def outputs(self) -> int:
        """The levels the PL061 drives (bits of input pins are 0)."""
        return self._out & self.regs["DIR"]

    def set_input(self, pin: int, level: bool | int) -> None:
        """Drive input ``pin`` (0-7) from outside."""
        if not 0 <= pin < self.npins:
            raise ValueError(f"PL061 has pins 0-7, not {pin}")
        bit = 1 << pin
        self.set_inputs(bit, bit if level else 0)

    def set_inputs(self, mask: int, value: int) -> None:
        """Drive several input pins at once: bits in ``mask`` take ``value``."""
        self.inputs = (self.inputs & ~mask) | (value & mask & 0xFF)
        self._changed()

    # -- data register -------------------------------------------------------------

    def _read_data(self, mask: int) -> int:
        return self.pins & mask

    def _write_data(self, mask: int, value: int) -> None:
        self._out = (self._out & ~mask) | (value & mask)
        self._changed()

    def read(self, offset: int, size: int) -> int:
        if offset < 0x3FC:
            return self._read_data((offset >> 2) & 0xFF)
        return self.regs.read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        if offset < 0x3FC:
            self._write_data((offset >> 2) & 0xFF, value & 0xFF)
            return
        self.regs.write(offset, size, value)

    # -- interrupts ------------------------------------------------------------------

    def _mis(self) -> int:
        return self.regs["RIS"] & self.regs["IE"]

    def _clear(self, value: int) -> None:
        self.regs["RIS"] &= ~value & 0xFF
        self._changed()

    def _changed(self, _value: int = 0) -> None:
        """Re-evaluate pins, edge and level detection, outputs and the interrupt line."""
        pins = self.pins
        r = self.regs
        is_, ibe, iev, d = r["IS"], r["IBE"], r["IEV"], r["DIR"]
        changed = (pins ^ self._last_pins) & ~d & ~is_ & 0xFF
        rising = changed & pins
        falling = changed & ~pins
        edges = changed & ibe | rising & ~ibe & iev | falling & ~ibe & ~iev
        levels = is_ & ~(pins ^ iev) & 0xFF
        # edge bits latch until GPIOIC; level bits follow the pin
        r["RIS"] = ((r["RIS"] | edges) & ~is_ & 0xFF) | levels
        self._last_pins = pins
        driven = self.outputs
        diff = driven ^ self._last_driven
        self._last_driven = driven
        if diff and self.on_output is not None:
            for pin in range(self.npins):
                if diff >> pin & 1:
                    self.on_output(pin, driven >> pin & 1)
        self.set_irq(bool(self._mis()))
