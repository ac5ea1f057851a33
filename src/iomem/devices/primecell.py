"""ARM PrimeCell identification registers, shared by the AMBA peripheral models.

Every PrimeCell ends its 4 KiB register window with eight read-only bytes,
one per 32-bit word: PeriphID0-3 at 0xFE0-0xFEC (part number, designer,
revision, configuration) and PCellID0-3 at 0xFF0-0xFFC (0x0D 0xF0 0x05
0xB1, the cell ID 0xB105F00D).  Linux's AMBA bus reads them at probe
(``amba_read_periphid``: the low byte of each word, at ``size - 0x20``)
and matches the driver's ``amba_id`` table with ``(periphid & mask) == id``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..phys import AccessRules
from ..regs import Register, RegisterFile, RegisterMap
from .base import MmioDevice
from .dtprops import Props, prop_int

CELL_ID = 0xB105F00D
PERIPHID_OFFSET = 0xFE0
CELLID_OFFSET = 0xFF0

log = logging.getLogger("iomem.devices")

#: APB peripherals: 32-bit registers; 8/16-bit accesses reach the model as a
#: 32-bit access (what QEMU's pl011 declares, and what an APB bridge does)
APB_RULES = AccessRules(valid_sizes=frozenset({1, 2, 4}), impl_sizes=frozenset({4}))


def id_registers(periphid: int, cellid: int = CELL_ID,
                 window: int = 0x1000) -> list[Register]:
    """The eight ID registers for ``periphid``/``cellid`` at the top of ``window``."""
    regs = []
    for i in range(4):
        regs.append(Register(f"PeriphID{i}", window - 0x20 + 4 * i, access="ro",
                             reset=(periphid >> (8 * i)) & 0xFF,
                             description=f"peripheral ID byte {i}"))
    for i in range(4):
        regs.append(Register(f"PCellID{i}", window - 0x10 + 4 * i, access="ro",
                             reset=(cellid >> (8 * i)) & 0xFF,
                             description=f"PrimeCell ID byte {i}"))
    return regs


def split_periphid(periphid: int) -> dict[str, int]:
    """Part number [11:0], designer [19:12] (0x41 = ARM), revision [23:20], config [31:24]."""
    return {"part": periphid & 0xFFF, "designer": (periphid >> 12) & 0xFF,
            "revision": (periphid >> 20) & 0xF, "config": (periphid >> 24) & 0xFF}


def read_ids(read: Callable[[int, int], int], size: int = 0x1000) -> tuple[int, int]:
    """(periphid, cellid) as the AMBA bus reads them: the low byte of eight 32-bit words."""
    pid = cid = 0
    for i in range(4):
        pid |= (read(size - 0x20 + 4 * i, 4) & 0xFF) << (8 * i)
        cid |= (read(size - 0x10 + 4 * i, 4) & 0xFF) << (8 * i)
    return pid, cid


class PrimeCell(MmioDevice):
    """A PrimeCell peripheral answered from a :class:`RegisterFile`.

    Subclasses build ``self.regs`` with :meth:`_make_regs` from their own
    registers (the ID block is appended) and hooks for the registers that
    have behaviour.  Accesses to offsets with no register read 0 and are
    logged, as QEMU logs a guest error.
    """

    size = 0x1000
    rules = APB_RULES
    periphid = 0
    cellid = CELL_ID

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        #: accesses to offsets with no register: (offset, size, is_write, value)
        self.bad_accesses: list[tuple[int, int, bool, int]] = []
        self.regs: RegisterFile

    def _make_regs(self, name: str, registers: Iterable[Register], *,
                   on_read: Mapping[str, Callable[[], int]] | None = None,
                   on_write: Mapping[str, Callable[[int], None]] | None = None) -> RegisterFile:
        regmap = RegisterMap(name, [*registers, *id_registers(self.periphid, self.cellid,
                                                              self.size)], size=self.size)
        hooks = dict(on_read or {})
        for i in range(4):  # read live, so a device tree's arm,primecell-periphid applies
            hooks[f"PeriphID{i}"] = lambda i=i: (self.periphid >> (8 * i)) & 0xFF
            hooks[f"PCellID{i}"] = lambda i=i: (self.cellid >> (8 * i)) & 0xFF
        return RegisterFile(regmap, on_read=hooks, on_write=on_write,
                            on_unmapped=self._bad_access)

    @classmethod
    def dt_params(cls, props: Props) -> dict[str, Any]:
        """Constructor keywords from device-tree properties (none by default)."""
        return {}

    @classmethod
    def from_dt(cls, props: Props, *, name: str | None = None,
                size: int | None = None) -> PrimeCell:
        """A model for a device-tree node; ``arm,primecell-periphid`` overrides the
        ID the bus reads, as it does for Linux's AMBA bus."""
        dev = cls(name, **cls.dt_params(props))
        pid = prop_int(props, "arm,primecell-periphid")
        if pid is not None:
            dev.periphid = pid
        return dev

    def _bad_access(self, offset: int, size: int, is_write: bool, value: int) -> None:
        self.bad_accesses.append((offset, size, is_write, value))
        what = f"write of 0x{value:x}" if is_write else "read"
        log.warning("%s: %s at bad offset 0x%x", self.name, what, offset)

    @property
    def regmap(self) -> RegisterMap:
        """This model's register map (for drivers, decode and export)."""
        return self.regs.map

    def read(self, offset: int, size: int) -> int:
        return self.regs.read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        self.regs.write(offset, size, value)
