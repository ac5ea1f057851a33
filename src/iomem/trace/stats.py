"""``iomem trace stats``: per device and register, how many reads and writes, of what
widths, with which values, in one streaming pass.

Values are counted per register and direction up to :data:`MAX_VALUES`
distinct ones (the rest are counted together), so a trace of a DMA ring or
a counter does not grow the table without bound.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .events import Info, Lost, Map, Mark, PciDev, Rw, Unknown, Unmap, Version
from .model import MapInfo, Registers, TraceModel

MAX_VALUES = 16

_KINDS = {Version: "VERSION", PciDev: "PCIDEV", Map: "MAP", Unmap: "UNMAP", Unknown: "UNKNOWN",
          Mark: "MARK", Lost: "LOST"}


@dataclass
class RegStats:
    """One register (offset) of one device region."""

    offset: int
    reads: int = 0
    writes: int = 0
    widths: Counter[int] = field(default_factory=Counter)
    read_values: Counter[int] = field(default_factory=Counter)
    write_values: Counter[int] = field(default_factory=Counter)
    #: accesses whose value was not counted (past MAX_VALUES distinct ones)
    read_other: int = 0
    write_other: int = 0

    def add(self, ev: Rw) -> None:
        self.widths[ev.width] += 1
        if ev.op == "R":
            self.reads += 1
            vals = self.read_values
            if ev.value in vals or len(vals) < MAX_VALUES:
                vals[ev.value] += 1
            else:
                self.read_other += 1
        else:
            self.writes += 1
            vals = self.write_values
            if ev.value in vals or len(vals) < MAX_VALUES:
                vals[ev.value] += 1
            else:
                self.write_other += 1


@dataclass
class Region:
    """What one device region (a BAR, or a physical range) saw, over all its mappings."""

    key: str
    label: str
    maps: list[MapInfo] = field(default_factory=list)
    regs: dict[int, RegStats] = field(default_factory=dict)
    reads: int = 0
    writes: int = 0

    @property
    def first(self) -> MapInfo:
        return self.maps[0]


@dataclass
class TraceStats:
    """Counts of one trace."""

    records: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    info: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    regions: dict[str, Region] = field(default_factory=dict)
    devices: list[PciDev] = field(default_factory=list)
    maps: list[MapInfo] = field(default_factory=list)

    @property
    def reads(self) -> int:
        return self.kinds["R"]

    @property
    def writes(self) -> int:
        return self.kinds["W"]


def compute(events: Iterable[Any]) -> TraceStats:
    """Count a stream of records (one pass; memory grows with registers, not events)."""
    st = TraceStats()
    model = TraceModel()
    regions = st.regions
    by_map: dict[int, Region] = {}  # id(MapInfo) -> region
    kinds = st.kinds
    locate = model.locate
    for ev in events:
        st.records += 1
        t = type(ev)
        if t is Rw:
            kinds[ev.op] += 1
            mi, off = locate(ev)
            reg = by_map.get(id(mi))
            if reg is None:
                reg = regions.get(mi.key)
                if reg is None:
                    reg = regions[mi.key] = Region(mi.key, mi.label)
                reg.maps.append(mi)
                by_map[id(mi)] = reg
            roff = off + mi.bar_offset
            rs = reg.regs.get(roff)
            if rs is None:
                rs = reg.regs[roff] = RegStats(roff)
            rs.add(ev)
            if ev.op == "R":
                reg.reads += 1
            else:
                reg.writes += 1
            continue
        if t is Info:
            st.info[ev.kind] += 1
            kinds["MARK"] += 1
            continue
        kinds[_KINDS.get(t, t.__name__)] += 1
        if t is Lost:
            st.lost += ev.count
        model.feed(ev)
    st.devices = list(model.devices.values())
    st.maps = [m for m in model.history if not m.synthetic]
    return st


def _values(c: Counter[int], other: int, width: int, limit: int = 6) -> str:
    digits = max(width, 1) * 2
    parts = [f"0x{v:0{digits}x} x{n}" for v, n in c.most_common(limit)]
    rest = sum(n for _v, n in c.most_common()[limit:]) + other
    distinct = len(c) + (1 if other else 0)
    if rest:
        parts.append(f"... ({distinct}{'+' if other else ''} distinct, {rest} more)")
    return ", ".join(parts)


def render_text(st: TraceStats, registers: Registers | None = None,
                max_values: int = 6) -> str:
    """The stats as a report for people."""
    registers = registers or Registers()
    out: list[str] = []
    order = ("VERSION", "PCIDEV", "MAP", "UNMAP", "R", "W", "UNKNOWN", "MARK", "LOST")
    counts = ", ".join(f"{st.kinds[k]} {k}" for k in order if st.kinds[k])
    out.append(f"{st.records} records: {counts}")
    if st.lost:
        out.append(f"lost events: {st.lost}")
    if st.info:
        out.append("iomem events: " + ", ".join(f"{n} {k}" for k, n in sorted(st.info.items())))
    out.append(f"maps: {len(st.maps)}; reads: {st.reads}; writes: {st.writes}")
    for reg in sorted(st.regions.values(), key=lambda r: -(r.reads + r.writes)):
        mi = reg.first
        out.append("")
        out.append(f"{reg.label}: {mi.describe()}")
        ids = sorted({m.map_id for m in reg.maps if not m.synthetic})
        if len(ids) > 1:
            out.append(f"  maps {', '.join(map(str, ids))}")
        out.append(f"  {reg.reads} reads, {reg.writes} writes, {len(reg.regs)} registers")
        out.append(f"  {'offset':>8}  {'register':<14} {'reads':>7} {'writes':>7}  "
                   f"{'widths':<8} values")
        for off in sorted(reg.regs):
            rs = reg.regs[off]
            w = max(rs.widths, key=lambda k: rs.widths[k])
            name = registers.name(mi, off - mi.bar_offset, w)
            widths = ",".join(str(k) for k in sorted(rs.widths))
            vals = []
            if rs.reads:
                vals.append("R: " + _values(rs.read_values, rs.read_other, w, max_values))
            if rs.writes:
                vals.append("W: " + _values(rs.write_values, rs.write_other, w, max_values))
            out.append(f"  0x{off:06x}  {name:<14} {rs.reads:>7} {rs.writes:>7}  {widths:<8} "
                       f"{'; '.join(vals)}")
    return "\n".join(out) + "\n"


def to_dict(st: TraceStats, registers: Registers | None = None) -> dict[str, Any]:
    """The stats as JSON-ready data."""
    registers = registers or Registers()
    regions = []
    for reg in st.regions.values():
        mi = reg.first
        regs = []
        for off in sorted(reg.regs):
            rs = reg.regs[off]
            w = max(rs.widths, key=lambda k: rs.widths[k])
            regs.append({"offset": off, "register": registers.name(mi, off - mi.bar_offset, w),
                         "reads": rs.reads, "writes": rs.writes,
                         "widths": {str(k): n for k, n in sorted(rs.widths.items())},
                         "read_values": {f"0x{v:x}": n for v, n in rs.read_values.items()},
                         "write_values": {f"0x{v:x}": n for v, n in rs.write_values.items()},
                         "read_other": rs.read_other, "write_other": rs.write_other})
        regions.append({"key": reg.key, "label": reg.label, "describe": mi.describe(),
                        "maps": sorted({m.map_id for m in reg.maps if not m.synthetic}),
                        "reads": reg.reads, "writes": reg.writes, "registers": regs})
    return {"records": st.records, "kinds": dict(st.kinds), "iomem_events": dict(st.info),
            "lost": st.lost, "maps": len(st.maps), "reads": st.reads, "writes": st.writes,
            "devices": [{"bdf": d.bdf, "id": d.ident, "irq": d.irq, "driver": d.driver}
                        for d in st.devices],
            "regions": regions}


def render_json(st: TraceStats, registers: Registers | None = None) -> str:
    return json.dumps(to_dict(st, registers), indent=1)


__all__ = ["MAX_VALUES", "Region", "RegStats", "TraceStats", "compute", "render_json",
           "render_text", "to_dict"]
