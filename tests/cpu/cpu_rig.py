"""A board for the memory-model tests: RAM, two recording register files (one of them
fetches a buffer from RAM when its doorbell is written, as a DMA engine does) and
prefetchable SRAM for write-combining."""

from __future__ import annotations

from dataclasses import dataclass

from iomem.boards import Board, boot
from iomem.cpu import dma_read, dma_write
from iomem.devices.base import MmioDevice
from iomem.kernel import Kernel
from iomem.machine import Machine
from iomem.phys import ABORT, AccessRules, Region

RAM = 0x4000_0000
RAM_SIZE = 0x10_0000
DEV = 0x0900_0000
DMA_DEV = 0x0901_0000
SRAM = 0x1000_0000
SRAM_SIZE = 0x1_0000
BUF = RAM + 0x8000  # the DMA engine's buffer
BUF_SIZE = 64


class Recorder(MmioDevice):
    """Registers as bytes; every access it receives is logged."""

    def __init__(self, name: str = "rec", size: int = 0x2000) -> None:
        super().__init__(name)
        self.size = size
        self.rules = AccessRules()
        self.mem = bytearray(size)
        self.log: list[tuple] = []

    def read(self, offset: int, size: int) -> int:
        self.log.append(("r", offset, size))
        return int.from_bytes(self.mem[offset:offset + size], "little")

    def write(self, offset: int, size: int, value: int) -> None:
        self.log.append(("w", offset, size, value))
        self.mem[offset:offset + size] = value.to_bytes(size, "little")

    def writes(self) -> list[tuple]:
        return [e for e in self.log if e[0] == "w"]


class DmaEngine(Recorder):
    """Writing offset 0 fetches BUF from RAM at once (what the device saw is kept),
    offset 16 fetches it 1 us later; writing offset 8 fills BUF with the value's low
    byte, as a device writing its results into memory."""

    def __init__(self) -> None:
        super().__init__("dma")
        self.fetched: list[bytes] = []

    def write(self, offset: int, size: int, value: int) -> None:
        super().write(offset, size, value)
        if offset == 0:
            self._fetch()
        elif offset == 16:
            self.machine.clock.after(1000, self._fetch)
        elif offset == 8:
            dma_write(self.machine, BUF, bytes((value & 0xFF,)) * BUF_SIZE, self)

    def _fetch(self) -> None:
        self.fetched.append(dma_read(self.machine, BUF, BUF_SIZE, self))


@dataclass
class Rig:
    k: Kernel
    dev: Recorder
    dma: DmaEngine
    machine: Machine


def build(arch: str = "arm64", model: str = "strict") -> Rig:
    m = Machine("cpu-rig", arch=arch, bus_error_policy=ABORT)
    m.add_ram("ram", RAM, RAM_SIZE)
    dev, dma = Recorder(), DmaEngine()
    m.add_device(dev, DEV)
    m.add_device(dma, DMA_DEV)
    m.memory.add_region(Region("sram", SRAM, SRAM_SIZE, "ram"))

    def populate(k: Kernel) -> None:
        k.add_system_ram(RAM, RAM_SIZE)

    k = boot(Board("cpu-rig", m, arch, populate))
    k.memory_model = model
    k.cpu.add_dma_buffer(BUF, BUF_SIZE, "buf")
    return Rig(k, dev, dma, m)
