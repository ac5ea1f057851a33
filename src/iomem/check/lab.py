"""The pitfall lab: a board whose device makes every MMIO pitfall visible.

``iomem.boot("lab")`` (``--board lab``) is an arm64 machine with 64 MiB of
RAM, two copies of one small device, each a platform device with its
resources in the tree: ``a000000.lab`` (little-endian registers, SPI 16,
compatible ``iomem,pitfall-lab``) and ``a001000.lab`` (the same block with
big-endian registers, SPI 17, ``iomem,pitfall-lab-be``), and 64 KiB of
prefetchable frame-buffer memory ``c000000.fb`` (``iomem,pitfall-fb``), the
kind of memory ``ioremap_wc`` is for.  ``make_board("lab",
arch="x86_64")`` builds the same board for x86.

The device is made so that a broken driver sees the broken outcome:

* a reset (``CTRL.RESET``) takes ``reset_ns`` (10 us) from the moment the
  write *arrives*, and ``STATUS.READY`` says when it is over;
* ``TICKS`` counts microseconds, so a cached read that never changes shows;
* ``FIFO`` takes one entry per write and ``COUNT`` says how many arrived, so
  merged write-combined stores show;
* ``CTRL`` is one 32-bit register implemented as such: a narrower write
  clears the bytes it does not carry;
* ``STATUS`` is read-only (``STATUS.DONE`` clears through the write-1-to-clear
  ``IRQ_STATUS``); ``CMD`` and ``DOORBELL`` are write-only; ``CMD_SELFTEST``
  written to ``CMD`` completes (``IRQ_STATUS.DONE``) 1 us later;
* ``DOORBELL`` starts a copy described by a 16-byte descriptor in memory at
  ``DMA_DESC`` (``src``, ``dst``, ``len``, ``magic``), read the moment the
  doorbell arrives: a descriptor the CPU has not made visible yet is read as
  it was (``STATUS.ERROR``, or the old bytes copied).  The copy lands in
  ``dst`` ``dma_ns`` (2 us) later, then ``IRQ_STATUS.DONE`` is set (and the
  interrupt raised with ``CTRL.IRQ_EN``); ``DMA_RESULT`` is the CRC-32 of
  the bytes the device read.
"""

from __future__ import annotations

import zlib

from ..boards import Board, register_board
from ..cpu import dma_read, dma_write
from ..devices.base import MmioDevice
from ..kernel import ioport as F
from ..kernel.kernel import Kernel
from ..kernel.platform import platform_device, platform_device_register
from ..kernel.resource import Resource
from ..machine import Machine
from ..phys import ABORT, BIG, LITTLE, AccessRules, BusError, Region
from ..regs import Field, Register, RegisterFile, RegisterMap

LAB_RAM = 0x40000000
LAB_RAM_SIZE = 64 << 20
LAB_BASE = 0x0A000000
LAB_BE_BASE = 0x0A001000
LAB_SIZE = 0x1000
LAB_FB = 0x0C000000
LAB_FB_SIZE = 0x10000
LAB_SPI = 16
GIC_SPI_BASE = 32

LAB_ID = 0x1AB00001
DESC_MAGIC = 0xD5C0FFEE
DESC_SIZE = 16

# register offsets
ID, CTRL, STATUS, IRQ_STATUS = 0x00, 0x04, 0x08, 0x0C
DATA, CMD, FIFO, COUNT, SCRATCH, TICKS = 0x10, 0x14, 0x20, 0x24, 0x28, 0x30
DMA_DESC, DOORBELL, DMA_RESULT = 0x40, 0x48, 0x4C

# bits
CTRL_ENABLE, CTRL_IRQ_EN, CTRL_RESET = 1 << 0, 1 << 8, 1 << 31
ST_READY, ST_DONE, ST_ERROR, ST_BUSY = 1 << 0, 1 << 1, 1 << 2, 1 << 3
IRQ_DONE, IRQ_ERROR = 1 << 0, 1 << 1
CMD_SELFTEST = 1


def lab_map() -> RegisterMap:
    """The lab device's registers."""
    return RegisterMap("lab", [
        Register("ID", ID, access="ro", reset=LAB_ID, description="identification"),
        Register("CTRL", CTRL, [Field("ENABLE", 0), Field("IRQ_EN", 8), Field("RESET", 31)],
                 description="control; RESET starts a reset and reads back 0"),
        Register("STATUS", STATUS, [Field("READY", 0), Field("DONE", 1), Field("ERROR", 2),
                                    Field("BUSY", 3)], access="ro", description="status"),
        Register("IRQ_STATUS", IRQ_STATUS, [Field("DONE", 0), Field("ERROR", 1)], access="w1c",
                 description="interrupt status, write 1 to clear"),
        Register("DATA", DATA, description="general data"),
        Register("CMD", CMD, access="wo", description="command (write-only)"),
        Register("FIFO", FIFO, access="wo", description="push one entry per write"),
        Register("COUNT", COUNT, access="ro", description="FIFO entries received"),
        Register("SCRATCH", SCRATCH, description="scratch"),
        Register("TICKS", TICKS, access="ro", description="microseconds since power-on"),
        Register("DMA_DESC", DMA_DESC, description="physical address of the descriptor"),
        Register("DOORBELL", DOORBELL, access="wo", description="write to start the copy"),
        Register("DMA_RESULT", DMA_RESULT, access="ro",
                 description="CRC-32 of the bytes the last copy read"),
    ], size=LAB_SIZE)


class LabDevice(MmioDevice):
    """The pitfall lab's register block (see the module docstring)."""

    name = "lab"
    size = LAB_SIZE
    compatible = ("iomem,pitfall-lab",)

    def __init__(self, name: str | None = None, *, big_endian: bool = False,
                 reset_ns: int = 10_000, dma_ns: int = 2_000) -> None:
        super().__init__(name)
        self.rules = AccessRules(valid_sizes=frozenset({1, 2, 4}), impl_sizes=frozenset({4}),
                                 endian=BIG if big_endian else LITTLE)
        #: the model says what byte order its registers have (the sanitizer checks it)
        self.endianness = "big" if big_endian else "little"
        self.reset_ns = reset_ns
        self.dma_ns = dma_ns
        self.fifo: list[int] = []
        self.commands: list[int] = []
        self.ready_at = 0
        self.busy = False
        self.error = False
        self.regs = RegisterFile(lab_map(), on_read={
            "STATUS": self._status, "COUNT": lambda: len(self.fifo), "TICKS": self._ticks,
        }, on_write={
            "CTRL": self._ctrl, "CMD": self._cmd, "FIFO": self.fifo.append,
            "DOORBELL": self._doorbell, "IRQ_STATUS": self._irq_ack,
        })

    @property
    def regmap(self) -> RegisterMap:
        return self.regs.map

    def read(self, offset: int, size: int) -> int:
        return self.regs.read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        self.regs.write(offset, size, value)

    def _now(self) -> int:
        return self.machine.clock.now if self.machine is not None else 0

    def _ticks(self) -> int:
        return (self._now() // 1000) & 0xFFFFFFFF

    def _status(self) -> int:
        v = ST_READY if self._now() >= self.ready_at else 0
        if self.regs["IRQ_STATUS"] & IRQ_DONE:
            v |= ST_DONE
        if self.error:
            v |= ST_ERROR
        if self.busy:
            v |= ST_BUSY
        return v

    def _ctrl(self, value: int) -> None:
        if value & CTRL_RESET:
            self.regs.reset()
            self.fifo.clear()
            self.error = self.busy = False
            self.ready_at = self._now() + self.reset_ns
            self.set_irq(False)
        self.regs["CTRL"] = self.regs["CTRL"] & ~CTRL_RESET

    def _cmd(self, value: int) -> None:
        self.commands.append(value)
        if value == CMD_SELFTEST:
            self.machine.clock.after(1_000, lambda: self._complete(IRQ_DONE))

    def _irq_ack(self, _value: int) -> None:
        if not self.regs["IRQ_STATUS"]:
            self.set_irq(False)

    def _doorbell(self, _value: int) -> None:
        m = self.machine
        self.regs["IRQ_STATUS"] = self.regs["IRQ_STATUS"] & ~(IRQ_DONE | IRQ_ERROR)
        try:
            desc = dma_read(m, self.regs["DMA_DESC"], DESC_SIZE, self)
            src, dst, n, magic = (int.from_bytes(desc[i:i + 4], "little")
                                  for i in range(0, 16, 4))
            data = dma_read(m, src, n, self) if magic == DESC_MAGIC and n <= 0x10000 else None
        except BusError:  # a master abort: the device reports it, the CPU is not involved
            data = None
        if data is None:
            self.error = True
            self.regs["DMA_RESULT"] = 0
            self._complete(IRQ_ERROR)
            return
        self.error = False
        self.regs["DMA_RESULT"] = zlib.crc32(data)
        self.busy = True

        def land() -> None:
            try:
                dma_write(m, dst, data, self)
            except BusError:
                self.error = True
            self.busy = False
            self._complete(IRQ_DONE)
        m.clock.after(self.dma_ns, land)

    def _complete(self, bit: int) -> None:
        self.regs["IRQ_STATUS"] = self.regs["IRQ_STATUS"] | bit
        if self.regs["CTRL"] & CTRL_IRQ_EN:
            self.set_irq(True)


def descriptor(src: int, dst: int, n: int, magic: int = DESC_MAGIC) -> bytes:
    """The 16 bytes of a lab DMA descriptor."""
    return b"".join(v.to_bytes(4, "little") for v in (src, dst, n, magic))


@register_board("lab")
def build_lab(arch: str = "arm64", reset_ns: int = 10_000, dma_ns: int = 2_000) -> Board:
    """The pitfall lab board (see the module docstring)."""
    m = Machine("lab", arch=arch, bus_error_policy=ABORT)
    m.add_ram("lab.ram", LAB_RAM, LAB_RAM_SIZE)
    for i, (base, be) in enumerate(((LAB_BASE, False), (LAB_BE_BASE, True))):
        dev = LabDevice("lab-be" if be else "lab", big_endian=be, reset_ns=reset_ns,
                        dma_ns=dma_ns)
        m.add_device(dev, base)
        dev.connect_irq(0, m.irq(GIC_SPI_BASE + LAB_SPI + i))
    m.memory.add_region(Region("lab.fb", LAB_FB, LAB_FB_SIZE, "ram"))

    def populate(k: Kernel) -> None:
        k.add_system_ram(LAB_RAM, LAB_RAM_SIZE)
        for i, (base, compat) in enumerate(((LAB_BASE, "iomem,pitfall-lab"),
                                            (LAB_BE_BASE, "iomem,pitfall-lab-be"))):
            node = f"lab@{base:x}"
            irq = GIC_SPI_BASE + LAB_SPI + i
            res = [Resource(base, base + LAB_SIZE - 1, node, F.IORESOURCE_MEM),
                   Resource(irq, irq, None, F.IORESOURCE_IRQ)]
            pdev = platform_device(f"{base:x}.lab", resources=res)
            pdev.of_node = _Node([compat], node)
            platform_device_register(pdev)
        node = f"fb@{LAB_FB:x}"
        res = [Resource(LAB_FB, LAB_FB + LAB_FB_SIZE - 1, node,
                        F.IORESOURCE_MEM | F.IORESOURCE_PREFETCH)]
        pdev = platform_device(f"{LAB_FB:x}.fb", resources=res)
        pdev.of_node = _Node(["iomem,pitfall-fb"], node)
        platform_device_register(pdev)

    return Board("lab", m, arch, populate, model="iomem pitfall lab")


class _Node:
    """The facts of a DT node the driver core matches on."""

    def __init__(self, compatible: list[str], full_name: str) -> None:
        self.compatible = compatible
        self.full_name = full_name


def lab_devices(k: Kernel) -> tuple[LabDevice, LabDevice]:
    """The lab's two device models (little-endian, big-endian) on kernel ``k``'s machine."""
    devs = [d for d in k.machine.devices if isinstance(d, LabDevice)]
    if len(devs) < 2:
        raise LookupError(f"kernel booted on {k.board_name!r}, not the pitfall lab")
    return devs[0], devs[1]
