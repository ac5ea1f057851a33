"""Address translation: ``reg`` through every parent bus's ``ranges`` to a CPU address.

Mirrors drivers/of/address.c of Linux 6.1 (no library does this: libfdt only
reads cells, it does not translate).  The rules kept:

- cell counts come from the parent, walking up to the root
  (``of_n_addr_cells``/``of_n_size_cells``; defaults 1 and 1);
- a bus needs 1..4 address cells and at least one size cell
  (``OF_CHECK_COUNTS``), so nodes under ``/cpus`` (#size-cells = 0) have no
  CPU address;
- a parent without ``ranges`` stops translation (OF_BAD_ADDR); an empty
  ``ranges`` is a 1:1 mapping; the root needs no ``ranges``;
- bus types: PCI (``device_type`` "pci"/"pciex", or a node named "pcie";
  3 address cells whose first cell holds the space code), ISA (node named
  "isa"; 2 address cells, bit 0 of the first = I/O) and the default bus.

Resources are plain data (:class:`OfResource`) so the kernel's resource tree
can take them over without this package depending on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .base import DeviceNode

OF_BAD_ADDR = (1 << 64) - 1
OF_MAX_ADDR_CELLS = 4
OF_ROOT_NODE_ADDR_CELLS_DEFAULT = 1
OF_ROOT_NODE_SIZE_CELLS_DEFAULT = 1

# include/linux/ioport.h
IORESOURCE_IO = 0x00000100
IORESOURCE_MEM = 0x00000200
IORESOURCE_PREFETCH = 0x00002000
IORESOURCE_MEM_64 = 0x00100000

_U64 = (1 << 64) - 1


class OfResource(NamedTuple):
    """What ``of_address_to_resource`` fills in: [start, end], the name
    (the ``reg-names`` entry, else the node's full name) and IORESOURCE_* flags."""

    start: int
    end: int
    name: str
    flags: int = IORESOURCE_MEM

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    def __str__(self) -> str:  # %pR for a MEM/IO resource
        kind = "io  " if self.flags & IORESOURCE_IO else "mem "
        width = 6 if self.flags & IORESOURCE_IO else 10
        text = f"[{kind}{self.start:#0{width}x}"
        if self.end != self.start:
            text += f"-{self.end:#0{width}x}"
        if self.flags & IORESOURCE_MEM_64:
            text += " 64bit"
        if self.flags & IORESOURCE_PREFETCH:
            text += " pref"
        return text + "]"


def of_read_number(cells: list[int] | tuple[int, ...]) -> int:
    """Cells to a number, keeping the low 64 bits as the kernel's u64 does."""
    value = 0
    for c in cells:
        value = ((value << 32) | c) & _U64
    return value


def of_n_addr_cells(node: DeviceNode) -> int:
    """#address-cells that applies to ``node``'s ``reg`` (looked up from its parent)."""
    return _n_cells(node, "#address-cells", OF_ROOT_NODE_ADDR_CELLS_DEFAULT)


def of_n_size_cells(node: DeviceNode) -> int:
    return _n_cells(node, "#size-cells", OF_ROOT_NODE_SIZE_CELLS_DEFAULT)


def _n_cells(node: DeviceNode, prop: str, default: int) -> int:
    np: DeviceNode | None = node
    while np is not None:
        if np.parent is not None:
            np = np.parent
        value = np.read_u32(prop)
        if value is not None:
            return value
        if np.parent is None:
            break
    return default


def _cells(node: DeviceNode, name: str) -> list[int] | None:
    """A property as cells, a trailing partial cell ignored (the kernel divides
    the length by 4); None when absent."""
    value = node.get_property(name)
    if value is None:
        return None
    return [int.from_bytes(value[i:i + 4], "big") for i in range(0, len(value) - 3, 4)]


def _check_addr_count(na: int) -> bool:
    return 0 < na <= OF_MAX_ADDR_CELLS


def _check_counts(na: int, ns: int) -> bool:
    return _check_addr_count(na) and ns > 0


# -- bus types ----------------------------------------------------------------

@dataclass(frozen=True)
class _Bus:
    name: str
    addresses: str = "reg"

    def match(self, np: DeviceNode) -> bool:
        return True

    def count_cells(self, child: DeviceNode) -> tuple[int, int]:
        return of_n_addr_cells(child), of_n_size_cells(child)

    def map(self, addr: list[int], rng: list[int], na: int, ns: int, pna: int) -> int:
        cp = of_read_number(rng[:na])
        s = of_read_number(rng[na + pna:na + pna + ns])
        da = of_read_number(addr[:na])
        if da < cp or da >= cp + s:
            return OF_BAD_ADDR
        return da - cp

    def translate(self, addr: list[int], offset: int, na: int) -> list[int]:
        a = (of_read_number(addr[:na]) + offset) & _U64
        out = [0] * na
        if na > 1:
            out[na - 2] = a >> 32
        out[na - 1] = a & 0xFFFFFFFF
        return out

    def get_flags(self, cells: list[int]) -> int:
        return IORESOURCE_MEM


def _pci_flags(w: int) -> int:
    flags = 0
    space = (w >> 24) & 3
    if space == 1:
        flags |= IORESOURCE_IO
    elif space == 2:
        flags |= IORESOURCE_MEM
    elif space == 3:
        flags |= IORESOURCE_MEM | IORESOURCE_MEM_64
    if w & 0x40000000:
        flags |= IORESOURCE_PREFETCH
    return flags


class _PciBus(_Bus):
    def match(self, np: DeviceNode) -> bool:
        return np.device_type in ("pci", "pciex", "vci", "ht") or np.name == "pcie"

    def count_cells(self, child: DeviceNode) -> tuple[int, int]:
        return 3, 2

    def map(self, addr: list[int], rng: list[int], na: int, ns: int, pna: int) -> int:
        if (_pci_flags(addr[0]) ^ _pci_flags(rng[0])) & (IORESOURCE_MEM | IORESOURCE_IO):
            return OF_BAD_ADDR
        cp = of_read_number(rng[1:na])
        s = of_read_number(rng[na + pna:na + pna + ns])
        da = of_read_number(addr[1:na])
        if da < cp or da >= cp + s:
            return OF_BAD_ADDR
        return da - cp

    def translate(self, addr: list[int], offset: int, na: int) -> list[int]:
        return [addr[0], *super().translate(addr[1:], offset, na - 1)]

    def get_flags(self, cells: list[int]) -> int:
        return _pci_flags(cells[0])


class _IsaBus(_Bus):
    def match(self, np: DeviceNode) -> bool:
        return np.name == "isa"

    def count_cells(self, child: DeviceNode) -> tuple[int, int]:
        return 2, 1

    def map(self, addr: list[int], rng: list[int], na: int, ns: int, pna: int) -> int:
        if (addr[0] ^ rng[0]) & 1:
            return OF_BAD_ADDR
        cp = of_read_number(rng[1:na])
        s = of_read_number(rng[na + pna:na + pna + ns])
        da = of_read_number(addr[1:na])
        if da < cp or da >= cp + s:
            return OF_BAD_ADDR
        return da - cp

    def translate(self, addr: list[int], offset: int, na: int) -> list[int]:
        return [addr[0], *super().translate(addr[1:], offset, na - 1)]

    def get_flags(self, cells: list[int]) -> int:
        return IORESOURCE_IO if cells[0] & 1 else IORESOURCE_MEM


# of_busses[] order: PCI, ISA, then the default bus that matches everything.
_BUSES: tuple[_Bus, ...] = (_PciBus("pci", "assigned-addresses"), _IsaBus("isa"),
                            _Bus("default"))


def of_match_bus(np: DeviceNode) -> _Bus:
    for bus in _BUSES:
        if bus.match(np):
            return bus
    raise AssertionError("the default bus matches every node")  # pragma: no cover


# -- translation ----------------------------------------------------------------

def _translate_one(parent: DeviceNode, bus: _Bus, pbus: _Bus, addr: list[int],
                   na: int, ns: int, pna: int) -> list[int] | None:
    """One hop through ``parent``'s ranges; None when the address is not in them."""
    ranges = _cells(parent, "ranges")
    if ranges is None:
        return None  # no ranges: the bus is not memory-mapped
    if not ranges:
        offset = of_read_number(addr[:na])  # empty ranges: 1:1
        return pbus.translate([0] * pna, offset, pna)
    rone = na + pna + ns
    for i in range(0, len(ranges) - rone + 1, rone):
        rng = ranges[i:i + rone]
        offset = bus.map(addr, rng, na, ns, pna)
        if offset != OF_BAD_ADDR:
            return pbus.translate(rng[na:na + pna], offset, pna)
    return None


def of_translate_address(node: DeviceNode, addr: list[int] | tuple[int, ...]) -> int:
    """The CPU physical address of bus address ``addr`` (cells of ``node``'s reg),
    or OF_BAD_ADDR when some bus on the way does not map it."""
    parent = node.parent
    if parent is None:
        return OF_BAD_ADDR
    bus = of_match_bus(parent)
    na, ns = bus.count_cells(node)
    if not _check_counts(na, ns) or len(addr) < na:
        return OF_BAD_ADDR
    cur = list(addr[:na])
    dev = node
    while True:
        dev = parent
        parent = dev.parent
        if parent is None:  # reached the root: its address space is the CPU's
            return of_read_number(cur[:na])
        pbus = of_match_bus(parent)
        pna, pns = pbus.count_cells(dev)
        if not _check_counts(pna, pns):
            return OF_BAD_ADDR
        nxt = _translate_one(dev, bus, pbus, cur, na, ns, pna)
        if nxt is None:
            return OF_BAD_ADDR
        cur, na, ns, bus = nxt, pna, pns, pbus


def of_get_address(node: DeviceNode, index: int) -> tuple[list[int], int, int] | None:
    """Entry ``index`` of ``reg`` (``assigned-addresses`` on PCI):
    (address cells, size, IORESOURCE_* flags), or None."""
    parent = node.parent
    if parent is None:
        return None
    bus = of_match_bus(parent)
    na, ns = bus.count_cells(node)
    if not _check_addr_count(na):
        return None
    cells = _cells(node, bus.addresses)
    if cells is None:
        return None
    one = na + ns
    start = index * one
    if index < 0 or start + one > len(cells):
        return None
    entry = cells[start:start + one]
    return entry[:na], of_read_number(entry[na:]), bus.get_flags(entry)


def of_address_to_resource(node: DeviceNode, index: int) -> OfResource | None:
    """Resource ``index`` of ``node`` as the kernel builds it, or None (-EINVAL).

    Only memory resources translate here: an I/O-space address becomes a port
    number through the PCI host bridge's I/O window (``of_translate_ioport``,
    logic_pio), which exists only after that bridge has probed.
    """
    got = of_get_address(node, index)
    if got is None:
        return None
    addr, size, flags = got
    if not flags & IORESOURCE_MEM:
        return None
    taddr = of_translate_address(node, addr)
    if taddr == OF_BAD_ADDR:
        return None
    name = node.read_string_index("reg-names", index) or node.full_name
    return OfResource(taddr, (taddr + size - 1) & _U64, name, flags)


def of_resources(node: DeviceNode) -> list[OfResource]:
    """Every memory resource, stopping at the first that fails, as
    ``of_device_alloc`` counts them."""
    out: list[OfResource] = []
    while (res := of_address_to_resource(node, len(out))) is not None:
        out.append(res)
    return out


def of_resource_by_name(node: DeviceNode, name: str) -> OfResource | None:
    """The resource whose ``reg-names`` entry is ``name`` (what
    ``platform_get_resource_byname`` finds for DT devices)."""
    index = node.match_string("reg-names", name)
    return None if index < 0 else of_address_to_resource(node, index)


# -- PCI host bridge windows (of_pci_range_parser) ------------------------------

class OfPciRange(NamedTuple):
    """One window of a PCI host bridge's ``ranges``."""

    flags: int  # IORESOURCE_* of the PCI space
    pci_space: int  # the first cell (phys.hi)
    pci_addr: int
    cpu_addr: int  # OF_BAD_ADDR when the parent does not map it
    size: int


def of_pci_ranges(node: DeviceNode) -> list[OfPciRange]:
    """The windows of a PCI bridge node, contiguous same-type entries merged,
    as ``for_each_of_pci_range`` yields them."""
    ranges = _cells(node, "ranges") or []
    na, ns = 3, 2
    pna = of_n_addr_cells(node)
    one = na + pna + ns
    out: list[OfPciRange] = []
    for i in range(0, len(ranges) - one + 1, one):
        e = ranges[i:i + one]
        flags = _pci_flags(e[0])
        pci_addr = of_read_number(e[1:3])
        cpu = of_translate_address(node, e[na:na + pna])
        size = of_read_number(e[na + pna:])
        if out:
            last = out[-1]
            if (last.flags == flags and last.pci_addr + last.size == pci_addr
                    and cpu != OF_BAD_ADDR and last.cpu_addr + last.size == cpu):
                out[-1] = last._replace(size=last.size + size)
                continue
        out.append(OfPciRange(flags, e[0], pci_addr, cpu, size))
    return out
