"""``iomem trace show``: a trace for people, with register and field names.

Each access is placed on its mapping and device (:class:`~.model.TraceModel`)
and decoded with that device's register map, so ``R 4 6.840921 1 0xfeb40008
0x80080783 0x0 0`` reads as ``6.840921  R 4  00:03.0 BAR0  +0x00008  STATUS =
0x80080783 [FD=1 LU=1 SPEED=S1000 ASDV=S1000]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .events import Info, Lost, Map, Mark, PciDev, Rw, Unknown, Unmap, Version, fmt_time
from .model import Registers, TraceModel


def _pcidev(d: PciDev) -> str:
    bars = " ".join(f"BAR{i} 0x{base:x}+0x{size:x}" for i, base, size in d.bars())
    drv = f" ({d.driver})" if d.driver else ""
    return f"PCIDEV {d.bdf} {d.ident} irq {d.irq}{drv}{' ' + bars if bars else ''}"


def _fields(fields: dict) -> str:
    out = []
    for k, v in fields.items():
        out.append(f"{k}=0x{v:x}" if isinstance(v, int) and k in ("phys", "addr") else f"{k}={v}")
    return " ".join(out)


def lines(events: Iterable[Any], registers: Registers | None = None, *,
          maps: set[int] | None = None, sites: bool = False, accesses_only: bool = False
          ) -> Iterator[str]:
    """One line per record; ``maps`` keeps only the accesses of those map ids."""
    registers = registers or Registers()
    model = TraceModel()
    for ev in events:
        t = type(ev)
        if t is Rw:
            if maps is not None and ev.map_id not in maps:
                continue
            mi, off = model.locate(ev)
            text = registers.decode(mi, off, ev.width, ev.value)
            line = (f"{fmt_time(ev.t_ns):>14}  {ev.op} {ev.width}  "
                    f"{mi.label:<14} +0x{off:05x}  {text}")
            x = ev.extra
            if sites and x and x.get("site"):
                line += f"  ({x['site']} {x.get('func', '')})".rstrip()
            yield line
            continue
        model.feed(ev)
        if accesses_only:
            continue
        if t is Map:
            mi = model.maps[ev.map_id]
            yield (f"{fmt_time(ev.t_ns):>14}  MAP    #{ev.map_id} "
                   f"0x{ev.phys:x}+0x{ev.length:x}: {mi.describe()}")
        elif t is Unmap:
            mi = model.maps.get(ev.map_id)
            yield (f"{fmt_time(ev.t_ns):>14}  UNMAP  #{ev.map_id}"
                   + (f" ({mi.label})" if mi is not None else ""))
        elif t is Mark:
            yield f"{fmt_time(ev.t_ns):>14}  MARK   {ev.text}"
        elif t is Info:
            yield (f"{fmt_time(ev.t_ns):>14}  {ev.kind:<6} "
                   f"{_fields(ev.fields)}")
        elif t is PciDev:
            yield _pcidev(ev)
        elif t is Version:
            yield f"VERSION {ev.version}"
        elif t is Lost:
            yield f"{'':>14}  LOST   {ev.count} events"
        elif t is Unknown:
            a, b, c = ev.opcode
            yield (f"{fmt_time(ev.t_ns):>14}  UNKNOWN #{ev.map_id} "
                   f"0x{ev.phys:x} opcode {a:02x},{b:02x},{c:02x}")


__all__ = ["lines"]
