"""The device-model protocol: what a register file on the bus implements.

A model declares its :class:`~iomem.phys.AccessRules` (the sizes the bus
accepts and the sizes it implements, alignment, endianness) and answers
``read(offset, size)`` / ``write(offset, size, value)`` with its own register
values.  It is attached to a :class:`~iomem.machine.Machine` to get the
virtual clock and its interrupt lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..phys import AccessRules, Region

if TYPE_CHECKING:
    from ..machine import IrqLine, Machine


class MmioDevice:
    """Base class for device models."""

    name = "device"
    size = 0x1000
    rules = AccessRules()
    #: DT ``compatible`` strings this model serves (the model registry key)
    compatible: tuple[str, ...] = ()

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name
        self.machine: Machine | None = None
        self.regions: list[Region] = []
        #: output interrupt lines, wired by the board (index = the model's irq output)
        self.irq_out: dict[int, IrqLine] = {}

    def attach(self, machine: Machine) -> None:
        self.machine = machine

    def connect_irq(self, index: int, line: IrqLine) -> None:
        """Wire the model's interrupt output ``index`` to a controller input."""
        self.irq_out[index] = line

    def set_irq(self, level: bool, index: int = 0) -> None:
        """Drive interrupt output ``index`` (unconnected outputs are ignored)."""
        line = self.irq_out.get(index)
        if line is not None:
            line.set(level)

    def reset(self) -> None:
        """Return to the power-on state."""

    def read(self, offset: int, size: int) -> int:  # pragma: no cover - models override
        raise NotImplementedError

    def write(self, offset: int, size: int, value: int) -> None:  # pragma: no cover
        raise NotImplementedError

    @property
    def clock(self):
        return self.machine.clock if self.machine is not None else None
