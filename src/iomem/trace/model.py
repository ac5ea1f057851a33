"""What a trace's accesses touch: which mapping, which PCI device and BAR, which register.

mmiotrace gives each access a map id and a physical address; the MAP lines
give each map its physical range, and the PCIDEV lines each PCI function's
BARs.  :class:`TraceModel` follows them as records stream past, so an
access becomes (mapping, offset) and the mapping a device BAR.  An access
whose map id has no MAP line (a trace started late, a ring that dropped it,
rwmmio's virtual addresses) still gets a mapping: the BAR that holds the
address, or else its page.

:class:`Registers` then names the offset: a register map chosen per mapping
(``--regs [WHICH=]MAP``: WHICH is a map id, a PCI address such as ``00:03.0``,
a ``vendor:device`` pair, a physical address or a mapping's name; without
WHICH, every mapping no other choice names), or else the built-in map of the
device (:mod:`.regmaps`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..regs import RegisterMap
from . import regmaps
from .events import Map, PciDev, Rw, Unmap

PAGE = 0x1000


@dataclass
class MapInfo:
    """One mapping as the trace shows it."""

    map_id: int
    phys: int
    length: int
    virt: int = 0
    t_map: int | None = None
    t_unmap: int | None = None
    device: PciDev | None = None
    bar: int | None = None
    #: where the mapping starts inside its BAR
    bar_offset: int = 0
    name: str = ""
    user: bool = False
    #: no MAP line: made up from an access
    synthetic: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``00:03.0 BAR0``, the mapping's name, or its physical address."""
        if self.device is not None and self.bar is not None:
            at = f"+0x{self.bar_offset:x}" if self.bar_offset else ""
            return f"{self.device.bdf} BAR{self.bar}{at}"
        if self.name:
            return self.name
        return f"0x{self.phys:x}"

    @property
    def key(self) -> str:
        """What the mapping is, whoever made it and whenever: the device's
        ``vendor:device BARn+offset``, or its physical address."""
        if self.device is not None and self.bar is not None:
            at = f"+0x{self.bar_offset:x}" if self.bar_offset else ""
            return f"{self.device.ident} BAR{self.bar}{at}"
        return f"phys 0x{self.phys:x}"

    def describe(self) -> str:
        parts = [f"map {self.map_id}" if not self.synthetic else "no MAP line",
                 f"[mem 0x{self.phys:08x}-0x{self.phys + max(self.length, 1) - 1:08x}]"]
        if self.device is not None:
            parts.append(f"{self.device.bdf} {self.device.ident}"
                         + (f" BAR{self.bar}" if self.bar is not None else "")
                         + (f" ({self.device.driver})" if self.device.driver else ""))
        if self.name:
            parts.append(self.name)
        if self.user:
            parts.append("userspace")
        return ", ".join(parts)


class TraceModel:
    """Follows PCIDEV, MAP and UNMAP records; :meth:`locate` places an access."""

    def __init__(self) -> None:
        self.devices: dict[tuple[int, int], PciDev] = {}
        self.maps: dict[int, MapInfo] = {}
        #: every mapping seen, in order (MAP lines and made-up ones)
        self.history: list[MapInfo] = []
        self._synthetic: dict[tuple[int, int], MapInfo] = {}

    def feed(self, ev: Any) -> None:
        t = type(ev)
        if t is PciDev:
            self.devices[(ev.bus, ev.devfn)] = ev
        elif t is Map:
            self._map(ev)
        elif t is Unmap:
            mi = self.maps.get(ev.map_id)
            if mi is not None:
                mi.t_unmap = ev.t_ns

    def _device_of(self, phys: int) -> tuple[PciDev, int, int] | None:
        for dev in self.devices.values():
            hit = dev.bar_of(phys)
            if hit is not None:
                return dev, hit[0], hit[1]
        return None

    def _map(self, ev: Map) -> MapInfo:
        x = dict(ev.extra or {})
        name = str(x.get("name") or "")
        if not name and x.get("resources"):
            name = str(x["resources"][-1])
        mi = MapInfo(ev.map_id, ev.phys, ev.length, ev.virt, ev.t_ns, None, name=name,
                     user=bool(x.get("user")), extra=x)
        hit = self._device_of(ev.phys)
        if hit is not None:
            mi.device, mi.bar, mi.bar_offset = hit
        self.maps[ev.map_id] = mi
        self.history.append(mi)
        return mi

    def locate(self, ev: Rw) -> tuple[MapInfo, int]:
        """(mapping, offset into it) of an access."""
        mi = self.maps.get(ev.map_id)
        phys = ev.phys
        if mi is not None and mi.phys <= phys < mi.phys + max(mi.length, 1):
            return mi, phys - mi.phys
        hit = self._device_of(phys)
        if hit is not None:
            dev, bar, off = hit
            base = phys - off
            key = (ev.map_id, base)
            mi = self._synthetic.get(key)
            if mi is None:
                size = next(s for i, b, s in dev.bars() if i == bar)
                mi = MapInfo(ev.map_id, base, size, device=dev, bar=bar, synthetic=True)
                self._synthetic[key] = mi
                self.history.append(mi)
            return mi, off
        base = phys & ~(PAGE - 1)
        key = (ev.map_id, base)
        mi = self._synthetic.get(key)
        if mi is None:
            mi = MapInfo(ev.map_id, base, PAGE, synthetic=True)
            self._synthetic[key] = mi
            self.history.append(mi)
        return mi, phys - base


# -- register names ----------------------------------------------------------------------------

def _matches(sel: str, mi: MapInfo) -> bool:
    s = sel.strip().lower()
    if s.startswith("map"):
        s = s[3:]
    if s.isdigit():
        return mi.map_id == int(s) and not mi.synthetic
    dev = mi.device
    if dev is not None:
        bdf = dev.bdf
        if s in (bdf, f"0000:{bdf}") or s == dev.ident:
            return True
        if "/" in s:  # 00:03.0/1: that BAR
            who, _, bar = s.rpartition("/")
            return bar.isdigit() and int(bar) == mi.bar and _matches(who, mi)
    if s.startswith("0x"):
        try:
            return int(s, 16) == mi.phys
        except ValueError:
            return False
    return bool(mi.name) and s == mi.name.lower()


class Registers:
    """Names offsets: the register map for each mapping, and the decode of an access."""

    def __init__(self, selections: list[tuple[str | None, RegisterMap]] | None = None,
                 builtin: bool = True) -> None:
        self.selections = list(selections or [])
        self.builtin = builtin
        self._cache: dict[int, RegisterMap | None] = {}

    @classmethod
    def from_specs(cls, specs: list[str] | tuple[str, ...], builtin: bool = True) -> Registers:
        """``["e1000", "00:04.0=edu", "1=regs.json"]`` (see the module docstring)."""
        sel: list[tuple[str | None, RegisterMap]] = []
        for spec in specs:
            which, eq, what = spec.partition("=")
            if eq:
                sel.append((which, regmaps.load(what)))
            else:
                sel.append((None, regmaps.load(spec)))
        return cls(sel, builtin)

    def regmap(self, mi: MapInfo) -> RegisterMap | None:
        key = id(mi)
        if key in self._cache:
            return self._cache[key]
        found: RegisterMap | None = None
        for which, rm in self.selections:
            if which is not None and _matches(which, mi):
                found = rm
                break
        if found is None:
            found = next((rm for which, rm in self.selections if which is None), None)
        if found is None and self.builtin and mi.device is not None and mi.bar is not None:
            found = regmaps.builtin_for(mi.device.vendor, mi.device.device, mi.bar)
        self._cache[key] = found
        return found

    def name(self, mi: MapInfo, off: int, width: int = 0) -> str:
        """The register at ``off`` (``STATUS``, ``DMA_SRC+0x4``), or ``+0x00008``."""
        rm = self.regmap(mi)
        roff = off + mi.bar_offset
        if rm is not None:
            reg = rm.covering(roff)
            if reg is not None:
                if reg.offset == roff:
                    return reg.name if not width or width * 8 == reg.width else \
                        f"{reg.name}:{width * 8}"
                return f"{reg.name}+0x{roff - reg.offset:x}"
        return f"+0x{off:05x}"

    def decode(self, mi: MapInfo, off: int, width: int, value: int) -> str:
        """``STATUS = 0x80080783 [FD=1 LU=1 ...]`` when a register of this width sits
        there; otherwise the name (or offset) and the value."""
        rm = self.regmap(mi)
        roff = off + mi.bar_offset
        if rm is not None:
            reg = rm.at(roff)
            if reg is not None and reg.width == width * 8:
                return reg.decode(value)
        return f"{self.name(mi, off, width)} = 0x{value:0{width * 2}x}"


__all__ = ["MapInfo", "PAGE", "Registers", "TraceModel"]
