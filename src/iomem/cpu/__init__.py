"""The CPU between a driver and its devices: memory types, write-combining buffers,
a cache, posted writes, the store buffer for normal memory, and barriers.

``k.cpu`` is the kernel's :class:`MemoryModel`; ``k.memory_model = "realistic"``
(or ``"adversarial"``) swaps it, and new mappings take the paths the model
gives their memory type.  ``strict``, the default, puts nothing in between:
every access reaches the bus at once, in program order, at the speed of the
plain path.  Device models that DMA reach memory through :func:`dma_read` and
:func:`dma_write`, so the model can say when a device read what the CPU had
not yet made visible; passing themselves as ``requester`` lets the sanitizer
judge each DMA against the last register write that device received.
"""

from __future__ import annotations

from typing import Any

from .events import Event
from .model import DmaBuffer, MemoryModel
from .policy import LINE, MODES, POLICIES, Kind, Policy, classify, is_pci


def dma_read(machine: Any, phys: int, n: int, requester: Any = None) -> bytes:
    """A bus master's read of memory (what the CPU has made visible, nothing more);
    ``requester``, the device model, lets the sanitizer tell which write it acts on."""
    cpu = getattr(machine, "cpu", None)
    if cpu is not None:
        return cpu.device_read(phys, n, requester)
    return machine.memory.read_bytes(phys, n)


def dma_write(machine: Any, phys: int, data: bytes, requester: Any = None) -> None:
    """A bus master's write into memory."""
    cpu = getattr(machine, "cpu", None)
    if cpu is not None:
        cpu.device_write(phys, data, requester)
    else:
        machine.memory.write_bytes(phys, data)


__all__ = ["MemoryModel", "DmaBuffer", "Event", "Policy", "POLICIES", "MODES", "Kind", "LINE",
           "classify", "is_pci", "dma_read", "dma_write"]
