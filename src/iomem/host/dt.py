"""Device-tree nodes of the running kernel (``/proc/device-tree``, a link to
``/sys/firmware/devicetree/base``; drivers/of/base.c, drivers/of/address.c).

Each node is a directory, each property a file holding its raw value:
``compatible`` is NUL-separated strings, ``reg`` big-endian 32-bit cells in
the parent's ``#address-cells``/``#size-cells`` (2 and 1 when absent), and a
parent's ``ranges`` (child address, parent address, size) translate a child's
address one level up, empty meaning identity and absent meaning the bus is not
memory-mapped. :func:`find_compatible` finds nodes as drivers match them, and
:meth:`DtNode.resources` gives their CPU physical ranges, as
``of_address_to_resource`` does, ready for ``/dev/mem``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..user.errors import DeviceNotFoundError
from ..user.mmio import Mmio


def dt_base(root: str | Path = "/") -> Path:
    root = Path(root)
    for rel in ("proc/device-tree", "sys/firmware/devicetree/base"):
        if (root / rel).is_dir():
            return root / rel
    raise DeviceNotFoundError("this system has no device tree (/proc/device-tree is absent: "
                              "ACPI or a kernel without CONFIG_OF)")


def _cells(raw: bytes) -> list[int]:
    return [int.from_bytes(raw[i:i + 4], "big") for i in range(0, len(raw) - len(raw) % 4, 4)]


def _join(cells: list[int]) -> int:
    v = 0
    for c in cells:
        v = (v << 32) | c
    return v


@dataclass(frozen=True)
class DtResource:
    start: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size - 1


class DtNode:
    """One node: its properties read on demand."""

    def __init__(self, path: Path, base: Path, root: str | Path = "/") -> None:
        self.dir = path
        self.base = base
        self.root = Path(root)

    @property
    def path(self) -> str:
        rel = self.dir.relative_to(self.base).as_posix()
        return "/" if rel == "." else "/" + rel

    @property
    def name(self) -> str:
        return self.dir.name if self.dir != self.base else "/"

    def prop(self, name: str) -> bytes | None:
        try:
            return (self.dir / name).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def strings(self, name: str) -> list[str]:
        raw = self.prop(name)
        return [s.decode(errors="replace") for s in raw.split(b"\0") if s] if raw else []

    @property
    def compatible(self) -> list[str]:
        return self.strings("compatible")

    @property
    def status(self) -> str:
        s = self.strings("status")
        return s[0] if s else "okay"

    @property
    def parent(self) -> DtNode | None:
        return None if self.dir == self.base else DtNode(self.dir.parent, self.base, self.root)

    def _int(self, name: str, default: int) -> int:
        raw = self.prop(name)
        return _cells(raw)[0] if raw and len(raw) >= 4 else default

    @property
    def address_cells(self) -> int:
        """``#address-cells`` of this node's children."""
        return self._int("#address-cells", 2)

    @property
    def size_cells(self) -> int:
        return self._int("#size-cells", 1)

    def reg(self) -> list[tuple[int, int]]:
        """``reg`` as (address, size) pairs on the parent's bus, untranslated."""
        raw = self.prop("reg")
        parent = self.parent
        if raw is None or parent is None:
            return []
        na, ns = parent.address_cells, parent.size_cells
        cells = _cells(raw)
        step = na + ns
        return [(_join(cells[i:i + na]), _join(cells[i + na:i + step]))
                for i in range(0, len(cells) - step + 1, step)]

    def resources(self) -> list[DtResource]:
        """``reg`` translated to CPU physical addresses through each parent's ``ranges``;
        entries on a bus that is not memory-mapped (no ``ranges``) are left out."""
        out = []
        for addr, size in self.reg():
            phys = self._translate(addr)
            if phys is not None:
                out.append(DtResource(phys, size))
        return out

    def _translate(self, addr: int) -> int | None:
        bus = self.parent
        while bus is not None and bus.parent is not None:
            ranges = bus.prop("ranges")
            if ranges is None:
                return None
            if ranges:
                grand = bus.parent
                cna, pna, ns = bus.address_cells, grand.address_cells, bus.size_cells
                cells = _cells(ranges)
                step = cna + pna + ns
                for i in range(0, len(cells) - step + 1, step):
                    child = _join(cells[i:i + cna])
                    parent_addr = _join(cells[i + cna:i + cna + pna])
                    size = _join(cells[i + cna + pna:i + step])
                    if child <= addr < child + size:
                        addr = parent_addr + (addr - child)
                        break
                else:
                    return None
            bus = bus.parent
        return addr

    def map(self, index: int = 0, *, write: bool = True, force: bool = False) -> Mmio:
        """Map the node's ``index``-th register range through /dev/mem."""
        from .devmem import map_devmem

        res = self.resources()
        if index >= len(res):
            raise DeviceNotFoundError(f"{self.path} has {len(res)} memory-mapped reg "
                                      f"range(s); there is no #{index}")
        return map_devmem(res[index].start, res[index].size, write=write, force=force,
                          root=self.root)

    def __repr__(self) -> str:
        return f"<DtNode {self.path} {self.compatible}>"


def dt_nodes(root: str | Path = "/") -> list[DtNode]:
    """Every node, in directory order (parents first)."""
    base = dt_base(root)
    out = [DtNode(base, base, root)]
    for dirpath, dirnames, _ in os.walk(base):
        dirnames.sort()
        out.extend(DtNode(Path(dirpath) / d, base, root) for d in dirnames)
    return out


def find_compatible(compatible: str, root: str | Path = "/", *,
                    enabled_only: bool = True) -> list[DtNode]:
    """Nodes whose ``compatible`` lists ``compatible`` (``"arm,pl011"``), enabled ones only
    unless asked (status ``okay``/``ok``)."""
    found = [n for n in dt_nodes(root) if compatible in n.compatible]
    if enabled_only:
        found = [n for n in found if n.status in ("okay", "ok")]
    return found
