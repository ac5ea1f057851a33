"""Boards for the core tests, built in place: RAM, one recording register file, and a
kernel booted on them for each architecture profile.

The recording model logs every bus access it receives as ``(kind, offset, size)``
(plus the value for writes), so a test can prove that an accessor made exactly one
device access of the width it asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import iomem
from iomem.boards import Board
from iomem.devices.base import MmioDevice
from iomem.kernel import Kernel
from iomem.machine import Machine
from iomem.phys import ABORT, AccessRules

RAM_BASE = 0x4000_0000
RAM_SIZE = 0x10_0000
DEV_BASE = 0x0900_0000
DEV_SIZE = 0x1000


class Recorder(MmioDevice):
    """A register file backed by bytes, logging each access it is handed.

    Registers hold the device's own numbers; the bytes store them little-endian,
    so a big-endian device keeps its register values whatever the bus does.
    """

    name = "rec"

    def __init__(self, name: str = "rec", size: int = DEV_SIZE,
                 rules: AccessRules | None = None) -> None:
        super().__init__(name)
        self.size = size
        self.rules = rules or AccessRules()
        self.mem = bytearray(size)
        self.log: list[tuple] = []

    def read(self, offset: int, size: int) -> int:
        self.log.append(("r", offset, size))
        return int.from_bytes(self.mem[offset:offset + size], "little")

    def write(self, offset: int, size: int, value: int) -> None:
        self.log.append(("w", offset, size, value))
        self.mem[offset:offset + size] = value.to_bytes(size, "little")

    def sizes(self) -> list[tuple[str, int, int]]:
        """The log without values: ``(kind, offset, size)``."""
        return [e[:3] for e in self.log]

    def poke(self, offset: int, size: int, value: int) -> None:
        """Set a register without going through the bus."""
        self.mem[offset:offset + size] = value.to_bytes(size, "little")


@dataclass
class Rig:
    k: Kernel
    dev: Recorder
    machine: Machine


def build(arch: str = "arm64", *, rules: AccessRules | None = None, policy: str = ABORT,
          cmdline: str = "", populate: Callable[[Kernel], None] | None = None) -> Rig:
    """Boot ``arch`` on a board with System RAM and one :class:`Recorder`."""
    m = Machine("testboard", arch=arch, bus_error_policy=policy)
    m.add_ram("ram", RAM_BASE, RAM_SIZE)
    dev = Recorder(rules=rules)
    m.add_device(dev, DEV_BASE)

    def pop(k: Kernel) -> None:
        k.add_system_ram(RAM_BASE, RAM_SIZE)
        if populate is not None:
            populate(k)

    k = iomem.boot(Board("testboard", m, arch, pop), cmdline=cmdline)
    return Rig(k, dev, m)


def new_lines(k: Kernel, since: int) -> list[str]:
    """The text of the log records after the first ``since`` (no timestamps)."""
    return [r.text for r in k.log.records[since:]]
