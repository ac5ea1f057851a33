"""What the bench cases run on: a small board, a register model, big address spaces.

Built once per run (cached), so every row measures access, not setup.  The
board is arm64 with DRAM registered as System RAM and an on-chip SRAM that
is not: the kernel refuses to ioremap System RAM, so the SRAM is how a
"ram"-kind region is reached through an ``__iomem`` cookie, as drivers do
with real on-chip SRAM.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from iomem.boards import Board, boot
from iomem.kernel import ioport as F
from iomem.kernel.io import IoMem
from iomem.kernel.kernel import Kernel
from iomem.kernel.resource import Resource
from iomem.machine import Machine
from iomem.phys import AccessRules, AddressSpace, Region

DRAM_BASE = 0x40000000
DRAM_SIZE = 0x100000
SRAM_BASE = 0x10000000
SRAM_SIZE = 0x100000  # 1 MiB: room for the 1 MiB copy
REGS_BASE = 0x09000000
REGS_SIZE = 0x1000


class RegisterFile:
    """A minimal device model: 4 KiB of registers taking 1/2/4/8-byte accesses.

    Typed memoryviews keep the model itself to one indexed load or store, so
    the register rows measure the memory core and the kernel, not the model.
    """

    rules = AccessRules(valid_sizes=frozenset({1, 2, 4, 8}))

    def __init__(self, size: int = REGS_SIZE) -> None:
        self.size = size
        mv = memoryview(bytearray(size))
        self._views = {1: mv, 2: mv.cast("H"), 4: mv.cast("I"), 8: mv.cast("Q")}

    def read(self, offset: int, size: int) -> int:
        return self._views[size][offset // size]

    def write(self, offset: int, size: int, value: int) -> None:
        self._views[size][offset // size] = value


class NullOps:
    """A register file that answers nothing: lookup rows never call it."""

    rules = AccessRules()

    def read(self, offset: int, size: int) -> int:
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        pass


@dataclass
class BenchBoard:
    kernel: Kernel
    machine: Machine
    regs: RegisterFile
    sram: IoMem  # ioremap of the whole SRAM
    reg: IoMem  # ioremap of the register file


def _passthrough_layer(area, read: Callable, write: Callable, ordered: bool):
    """An access-path layer that adds nothing but its own call: what any layer
    (tracer, sanitizer, memory model) costs before it does its work."""
    def rd(off: int, size: int) -> int:
        return read(off, size)

    def wr(off: int, size: int, value: int) -> None:
        write(off, size, value)
    return rd, wr


#: ways to set a kernel up before the bench maps anything: access paths are
#: chosen when a mapping is made, so a variant installs its layers here
#: (e.g. a sanitizer, a tracer, a CPU memory model) and rows name it
VARIANTS: dict[str, Callable[[Kernel], None]] = {
    "plain": lambda k: None,
    "passthrough": lambda k: k.io_paths.layers.append(_passthrough_layer),
}


def _setup(model: str, sanitize: bool) -> Callable[[Kernel], None]:
    def apply(k: Kernel) -> None:
        k.memory_model = model
        k.sanitize = sanitize
    return apply


# the CPU memory models and the MMIO sanitizer (iomem.cpu, iomem.check), alone and together
for _model in ("strict", "realistic", "adversarial"):
    VARIANTS[_model] = _setup(_model, False)
    VARIANTS[f"sanitizer+{_model}"] = _setup(_model, True)


@functools.cache
def bench_board(variant: str = "plain") -> BenchBoard:
    """Boot the bench board, apply ``variant``, map its SRAM and its register file."""
    m = Machine("bench", arch="arm64")
    m.add_ram("dram", DRAM_BASE, DRAM_SIZE)
    m.memory.add_region(Region("sram", SRAM_BASE, SRAM_SIZE, "ram"))
    regs = RegisterFile()
    m.memory.add_region(Region("regs", REGS_BASE, REGS_SIZE, "io", ops=regs))

    def populate(k: Kernel) -> None:
        k.add_system_ram(DRAM_BASE, DRAM_SIZE)
        for name, base, size in (("sram", SRAM_BASE, SRAM_SIZE), ("regs", REGS_BASE, REGS_SIZE)):
            k.insert_resource(k.iomem_resource,
                              Resource(base, base + size - 1, name, F.IORESOURCE_MEM))

    k = boot(Board("bench", m, "arm64", populate, model="iomem bench"))
    VARIANTS[variant](k)
    sram = k.ioremap(SRAM_BASE, SRAM_SIZE)
    reg = k.ioremap(REGS_BASE, REGS_SIZE)
    if sram is None or reg is None:
        raise RuntimeError("the bench board could not ioremap its SRAM or registers:\n"
                           + k.dmesg())
    return BenchBoard(k, m, regs, sram, reg)


REGION_STRIDE = 0x2000  # 4 KiB regions with 4 KiB holes between them
REGION_SIZE = 0x1000


@functools.cache
def address_space(n: int) -> AddressSpace:
    """An address space of ``n`` disjoint 4 KiB device regions, flat view built."""
    ops = NullOps()
    space = AddressSpace(f"bench-{n}")
    space.add_regions(Region(f"r{i}", 0x100000000 + i * REGION_STRIDE, REGION_SIZE, "io", ops=ops)
                      for i in range(n))
    space.flat_view()
    return space


def region_addr(i: int, off: int = 0x80) -> int:
    """An address inside region ``i`` of :func:`address_space`."""
    return 0x100000000 + i * REGION_STRIDE + off
