"""The simulated hardware a board is made of: address space, clock, interrupt lines."""

from .clock import Timer, VirtualClock
from .irq import IrqLine
from .machine import Machine

__all__ = ["Machine", "IrqLine", "Timer", "VirtualClock"]
