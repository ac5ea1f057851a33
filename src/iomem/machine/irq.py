"""Interrupt lines between device models and the interrupt controller.

A device raises or lowers a level on its :class:`IrqLine`; whoever is
connected (the simulated kernel's irq core) is told about every change.
Edge-style users (MSI) call :meth:`IrqLine.pulse`.
"""

from __future__ import annotations

from collections.abc import Callable


class IrqLine:
    """One interrupt input of the board's interrupt controller."""

    def __init__(self, number: int, name: str = "") -> None:
        self.number = number
        self.name = name or f"irq{number}"
        self.level = False
        self.count = 0  # how many times it was asserted (rising edges and pulses)
        self._listeners: list[Callable[[IrqLine, bool], None]] = []

    def connect(self, listener: Callable[[IrqLine, bool], None]) -> None:
        self._listeners.append(listener)

    def disconnect(self, listener: Callable[[IrqLine, bool], None]) -> None:
        self._listeners.remove(listener)

    def set(self, level: bool) -> None:
        level = bool(level)
        if level == self.level:
            return
        self.level = level
        if level:
            self.count += 1
        for fn in list(self._listeners):
            fn(self, level)

    def raise_(self) -> None:
        self.set(True)

    def lower(self) -> None:
        self.set(False)

    def pulse(self) -> None:
        """An edge (an MSI message): assert then deassert."""
        self.set(True)
        self.set(False)

    def __repr__(self) -> str:
        return f"IrqLine({self.number}, level={int(self.level)})"
