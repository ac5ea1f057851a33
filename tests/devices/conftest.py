"""Helpers for device-model tests: a machine with one model on the bus."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from iomem.devices.base import MmioDevice
from iomem.machine import Machine


@dataclass
class Placed:
    """A model on a machine's bus at ``base``, with 32-bit helpers."""

    machine: Machine
    dev: MmioDevice
    base: int

    def r(self, off: int, size: int = 4) -> int:
        return self.machine.memory.read(self.base + off, size)

    def w(self, off: int, value: int, size: int = 4) -> None:
        self.machine.memory.write(self.base + off, size, value)

    def step_us(self, us: float) -> None:
        self.machine.step(round(us * 1000))

    @property
    def now(self) -> int:
        return self.machine.clock.now


@pytest.fixture
def place():
    """``place(model, irqs=n)`` -> Placed, with the model's outputs 0..n-1 wired to lines."""

    def _place(dev: MmioDevice, base: int = 0x10000000, irqs: int = 1) -> Placed:
        m = Machine("test")
        m.add_device(dev, base)
        for i in range(irqs):
            dev.connect_irq(i, m.irq(32 + i))
        return Placed(m, dev, base)

    return _place
