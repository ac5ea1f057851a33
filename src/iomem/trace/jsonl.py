"""The lossless structured form: one JSON object per line.

mmiotrace text has no room for what the simulator knows about an access
(the driver's source line, whether the accessor was relaxed, the mapping's
memory type and owner) or for events that are not accesses (interrupts,
barriers, DMA, sanitizer findings, CPU memory-model events, exact virtual
time in nanoseconds).  This form keeps all of it, and converts to and from
the same records as the mmiotrace reader, so every tool reads both::

    {"ev":"VERSION","version":"20070824"}
    {"ev":"MAP","t_ns":1200,"map":1,"phys":4271898624,"virt":...,"len":1048576,"pc":0,"pid":0,"memtype":"UC-","name":"0000:00:04.0"}
    {"ev":"R","width":4,"t_ns":1500,"map":1,"phys":4271898624,"value":16777453,"pc":...,"pid":0,"site":"edu.py:108","func":"edu_ident"}
    {"ev":"irq","t_ns":2400,"line":11,"level":1}

Keys after the record's own are its ``extra`` (or, for iomem's own events,
its fields), in the order they were written, so text -> records -> text
gives the same text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from .events import (
    MMIOTRACE_VERSION,
    RESERVED_KINDS,
    Event,
    Info,
    Lost,
    Map,
    Mark,
    PciDev,
    Rw,
    Unknown,
    Unmap,
    Version,
)
from .mmiotrace import ParseError

_dumps = json.JSONEncoder(separators=(",", ":"), default=str).encode

_BASE: dict[str, tuple[str, ...]] = {
    "R": ("width", "t_ns", "map", "phys", "value", "pc", "pid"),
    "W": ("width", "t_ns", "map", "phys", "value", "pc", "pid"),
    "MAP": ("t_ns", "map", "phys", "virt", "len", "pc", "pid"),
    "UNMAP": ("t_ns", "map", "pc", "pid"),
    "UNKNOWN": ("t_ns", "map", "phys", "opcode", "pc", "pid"),
    "MARK": ("t_ns", "text"),
    "LOST": ("count",),
    "VERSION": ("version",),
    "PCIDEV": ("bus", "devfn", "vendor", "device", "irq", "starts", "sizes", "driver"),
}


def _with_extra(d: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    if extra:
        for key, value in extra.items():
            if key in d:
                raise ValueError(f"extra field {key!r} would overwrite the record's own")
            d[key] = value
    return d


def to_dict(ev: Event) -> dict[str, Any]:
    """A record as the JSON object this form writes."""
    t = type(ev)
    if t is Rw:
        return _with_extra({"ev": ev.op, "width": ev.width, "t_ns": ev.t_ns, "map": ev.map_id,
                            "phys": ev.phys, "value": ev.value, "pc": ev.pc, "pid": ev.pid},
                           ev.extra)
    if t is Map:
        return _with_extra({"ev": "MAP", "t_ns": ev.t_ns, "map": ev.map_id, "phys": ev.phys,
                            "virt": ev.virt, "len": ev.length, "pc": ev.pc, "pid": ev.pid},
                           ev.extra)
    if t is Unmap:
        return _with_extra({"ev": "UNMAP", "t_ns": ev.t_ns, "map": ev.map_id, "pc": ev.pc,
                            "pid": ev.pid}, ev.extra)
    if t is Unknown:
        return _with_extra({"ev": "UNKNOWN", "t_ns": ev.t_ns, "map": ev.map_id,
                            "phys": ev.phys, "opcode": list(ev.opcode), "pc": ev.pc,
                            "pid": ev.pid}, ev.extra)
    if t is Mark:
        return _with_extra({"ev": "MARK", "t_ns": ev.t_ns, "text": ev.text}, ev.extra)
    if t is Lost:
        return {"ev": "LOST", "count": ev.count}
    if t is Version:
        return {"ev": "VERSION", "version": ev.version}
    if t is PciDev:
        return {"ev": "PCIDEV", "bus": ev.bus, "devfn": ev.devfn, "vendor": ev.vendor,
                "device": ev.device, "irq": ev.irq, "starts": list(ev.starts),
                "sizes": list(ev.sizes), "driver": ev.driver}
    if t is Info:
        return _with_extra({"ev": ev.kind, "t_ns": ev.t_ns}, ev.fields)
    raise TypeError(f"not a trace record: {ev!r}")


def format_event(ev: Event) -> str:
    """One record as one line of JSON (no newline)."""
    return _dumps(to_dict(ev))


def _int(d: dict[str, Any], key: str) -> int:
    v = d[key]
    if type(v) is not int:
        raise ValueError(f"{key!r} must be an integer, not {type(v).__name__}")
    return v


def _ints(d: dict[str, Any], key: str, n: int) -> tuple[int, ...]:
    v = d[key]
    if not isinstance(v, list) or len(v) != n or any(type(x) is not int for x in v):
        raise ValueError(f"{key!r} must be a list of {n} integers")
    return tuple(v)


def _extra(d: dict[str, Any], kind: str) -> dict[str, Any] | None:
    base = _BASE[kind]
    rest = {k: v for k, v in d.items() if k != "ev" and k not in base}
    return rest or None


def from_dict(d: dict[str, Any]) -> Event:
    """The record a JSON object describes; ValueError (or KeyError) when it is not one."""
    kind = d.get("ev")
    if not isinstance(kind, str) or not kind:
        raise ValueError("no \"ev\" key naming the record")
    try:
        if kind in ("R", "W"):
            return Rw(kind, _int(d, "width"), _int(d, "t_ns"), _int(d, "map"), _int(d, "phys"),
                      _int(d, "value"), _int(d, "pc"), _int(d, "pid"), _extra(d, kind))
        if kind == "MAP":
            return Map(_int(d, "t_ns"), _int(d, "map"), _int(d, "phys"), _int(d, "virt"),
                       _int(d, "len"), _int(d, "pc"), _int(d, "pid"), _extra(d, kind))
        if kind == "UNMAP":
            return Unmap(_int(d, "t_ns"), _int(d, "map"), _int(d, "pc"), _int(d, "pid"),
                         _extra(d, kind))
        if kind == "UNKNOWN":
            op = _ints(d, "opcode", 3)
            return Unknown(_int(d, "t_ns"), _int(d, "map"), _int(d, "phys"),
                           (op[0], op[1], op[2]), _int(d, "pc"), _int(d, "pid"),
                           _extra(d, kind))
        if kind == "MARK":
            text = d["text"]
            if not isinstance(text, str):
                raise ValueError("'text' must be a string")
            return Mark(_int(d, "t_ns"), text, _extra(d, kind))
        if kind == "LOST":
            return Lost(_int(d, "count"))
        if kind == "VERSION":
            return Version(str(d["version"]))
        if kind == "PCIDEV":
            driver = d["driver"]
            if not isinstance(driver, str):
                raise ValueError("'driver' must be a string")
            return PciDev(_int(d, "bus"), _int(d, "devfn"), _int(d, "vendor"),
                          _int(d, "device"), _int(d, "irq"), _ints(d, "starts", 7),
                          _ints(d, "sizes", 7), driver)
    except KeyError as e:
        raise ValueError(f"a {kind} record needs the key {e.args[0]!r}") from None
    if kind in RESERVED_KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    fields = {k: v for k, v in d.items() if k not in ("ev", "t_ns")}
    return Info(kind, _int(d, "t_ns"), fields)


def parse(lines: Iterable[str], *, source: str = "<trace>", skip_bad: bool = False,
          skipped: list[tuple[int, str, str]] | None = None, first_line: int = 1
          ) -> Iterator[Event]:
    """Records from lines of JSON; a bad line raises :class:`ParseError` with its number
    (or, with ``skip_bad``, is appended to ``skipped``)."""
    loads = json.loads
    lineno = first_line - 1
    for raw in lines:
        lineno += 1
        line = raw[:-1] if raw[-1:] == "\n" else raw
        try:
            d = loads(line)
            if not isinstance(d, dict):
                raise ValueError("not a JSON object")
            yield from_dict(d)
        except ValueError as e:
            reason = str(e)
            if isinstance(e, json.JSONDecodeError):
                reason = f"not JSON ({e.msg} at column {e.colno})"
            if not skip_bad:
                raise ParseError(source, lineno, line, reason) from None
            if skipped is not None:
                skipped.append((lineno, reason, line))


def write(events: Iterable[Event], fh: IO[str], *, chunk: int = 4096) -> int:
    """Write records as JSON lines; returns how many lines were written."""
    n = 0
    buf: list[str] = []
    for ev in events:
        buf.append(_dumps(to_dict(ev)))
        if len(buf) >= chunk:
            fh.write("\n".join(buf) + "\n")
            n += len(buf)
            buf.clear()
    if buf:
        fh.write("\n".join(buf) + "\n")
        n += len(buf)
    return n


def dumps(events: Iterable[Event]) -> str:
    lines = [format_event(ev) for ev in events]
    return "\n".join(lines) + "\n" if lines else ""


def loads(text: str, **kw: Any) -> list[Event]:
    return list(parse(text.splitlines(), **kw))


def header(pcidevs: Iterable[PciDev] = ()) -> list[Event]:
    return [Version(MMIOTRACE_VERSION), *pcidevs]


__all__ = ["dumps", "format_event", "from_dict", "header", "loads", "parse", "to_dict", "write"]
