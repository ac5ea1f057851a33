"""mmiotrace text, written and read exactly as the kernel prints it
(kernel/trace/trace_mmiotrace.c; Documentation/trace/mmiotrace.rst)::

    VERSION 20070824
    PCIDEV 0018 8086100e b feb40000 c001 0 0 0 0 feb00000 20000 40 0 0 0 0 40000 e1000
    MAP 6.838018 1 0xfeb40000 0xff4533fbc06a0000 0x20000 0x0 0
    R 4 6.840921 1 0xfeb40008 0x80080783 0x0 0
    W 4 6.843948 1 0xfeb400d8 0xffffffff 0x0 0
    UNMAP 9.100000 1 0x0 0
    MARK 6.441318 free text from trace_marker
    MARK 0.000000 Lost 12 events.

The formats are the kernel's ``trace_seq_printf`` strings: R/W ``"%c %d %u.%06lu
%d 0x%llx 0x%lx 0x%lx %d"`` (width in bytes, time, map id, phys, value, pc,
pid), MAP ``"MAP %u.%06lu %d 0x%llx 0x%lx 0x%lx 0x%lx %d"`` (time, id, phys,
virt, len, pc, pid), UNMAP ``"UNMAP %u.%06lu %d 0x%lx %d"``, UNKNOWN
``"UNKNOWN %u.%06lu %d 0x%llx %02lx,%02lx,%02lx 0x%lx %d"``, MARK ``"MARK
%u.%06lu %s"`` and PCIDEV ``"PCIDEV %02x%02x %04x%04x %x"``, seven ``" %llx"``
of start | (flags & PCI_REGION_FLAG_MASK), seven sizes, then ``" %s\\n"``
(the driver) or ``" \\n"`` (none: the line ends in a space).

iomem's own events (interrupts, barriers, DMA, sanitizer findings) travel
as ``MARK`` lines of the form ``iomem KIND {json}``, which this reader turns
back into :class:`~iomem.trace.events.Info` records; any other reader sees
ordinary marks.

Reading streams line by line (a million lines in a few seconds), and a line
that is not one of these is an error naming the source and line number,
unless the caller asks to skip such lines (then each is kept in a list).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
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
    fmt_time,
)

_new = tuple.__new__

#: the MARK text iomem's own events start with
INFO_PREFIX = "iomem "


class ParseError(ValueError):
    """A line that is not a trace record: where it is, what it says, what is wrong."""

    def __init__(self, source: str, lineno: int, line: str, reason: str) -> None:
        self.source = source
        self.lineno = lineno
        self.line = line
        self.reason = reason
        shown = line if len(line) <= 120 else line[:117] + "..."
        super().__init__(f"{source}:{lineno}: {reason}: {shown!r}")


# -- writing ------------------------------------------------------------------------------

def _fmt_rw(e: Rw) -> str:
    return (f"{e.op} {e.width} {fmt_time(e.t_ns)} {e.map_id} 0x{e.phys:x} 0x{e.value:x} "
            f"0x{e.pc:x} {e.pid}")


def _fmt_map(e: Map) -> str:
    return (f"MAP {fmt_time(e.t_ns)} {e.map_id} 0x{e.phys:x} 0x{e.virt:x} 0x{e.length:x} "
            f"0x{e.pc:x} {e.pid}")


def _fmt_unmap(e: Unmap) -> str:
    return f"UNMAP {fmt_time(e.t_ns)} {e.map_id} 0x{e.pc:x} {e.pid}"


def _fmt_unknown(e: Unknown) -> str:
    a, b, c = e.opcode
    return (f"UNKNOWN {fmt_time(e.t_ns)} {e.map_id} 0x{e.phys:x} {a:02x},{b:02x},{c:02x} "
            f"0x{e.pc:x} {e.pid}")


def _fmt_mark(e: Mark) -> str:
    return f"MARK {fmt_time(e.t_ns)} {e.text}"


def _fmt_lost(e: Lost) -> str:
    return f"MARK 0.000000 Lost {e.count} events."


def _fmt_pcidev(e: PciDev) -> str:
    starts = "".join(f" {s:x}" for s in e.starts)
    sizes = "".join(f" {s:x}" for s in e.sizes)
    return (f"PCIDEV {e.bus:02x}{e.devfn:02x} {e.vendor:04x}{e.device:04x} {e.irq:x}"
            f"{starts}{sizes} {e.driver}")


def _fmt_version(e: Version) -> str:
    return f"VERSION {e.version}"


def info_text(kind: str, fields: dict[str, Any]) -> str:
    """The MARK text that carries an :class:`Info` record."""
    return f"{INFO_PREFIX}{kind} {json.dumps(fields, separators=(',', ':'), default=str)}"


def _fmt_info(e: Info) -> str:
    return f"MARK {fmt_time(e.t_ns)} {info_text(e.kind, e.fields)}"


_FORMATTERS: dict[type, Callable[[Any], str]] = {
    Rw: _fmt_rw, Map: _fmt_map, Unmap: _fmt_unmap, Unknown: _fmt_unknown, Mark: _fmt_mark,
    Lost: _fmt_lost, PciDev: _fmt_pcidev, Version: _fmt_version, Info: _fmt_info,
}


def format_event(ev: Event) -> str:
    """One record as the kernel prints it, without the newline."""
    return _FORMATTERS[type(ev)](ev)


def write(events: Iterable[Event], fh: IO[str], *, chunk: int = 4096) -> int:
    """Write records to ``fh`` in chunks; returns how many lines were written."""
    n = 0
    buf: list[str] = []
    fmt = _FORMATTERS
    for ev in events:
        buf.append(fmt[type(ev)](ev))
        if len(buf) >= chunk:
            fh.write("\n".join(buf) + "\n")
            n += len(buf)
            buf.clear()
    if buf:
        fh.write("\n".join(buf) + "\n")
        n += len(buf)
    return n


def dumps(events: Iterable[Event]) -> str:
    """The records as one string of mmiotrace text."""
    lines = [format_event(ev) for ev in events]
    return "\n".join(lines) + "\n" if lines else ""


# -- reading ------------------------------------------------------------------------------

_T = r"(\d+)\.(\d{6})"
_RW = re.compile(rf"([RW]) (\d+) {_T} (-?\d+) 0x([0-9a-fA-F]+) 0x([0-9a-fA-F]+) "
                 rf"0x([0-9a-fA-F]+) (-?\d+)")
_MAP = re.compile(rf"MAP {_T} (-?\d+) 0x([0-9a-fA-F]+) 0x([0-9a-fA-F]+) 0x([0-9a-fA-F]+) "
                  rf"0x([0-9a-fA-F]+) (-?\d+)")
_UNMAP = re.compile(rf"UNMAP {_T} (-?\d+) 0x([0-9a-fA-F]+) (-?\d+)")
_UNKNOWN = re.compile(rf"UNKNOWN {_T} (-?\d+) 0x([0-9a-fA-F]+) ([0-9a-fA-F]{{2}}),"
                      rf"([0-9a-fA-F]{{2}}),([0-9a-fA-F]{{2}}) 0x([0-9a-fA-F]+) (-?\d+)")
_MARK = re.compile(rf"MARK {_T} (.*)", re.S)
_LOST = re.compile(r"Lost (\d+) events\.")
_HEX = r"[0-9a-fA-F]+"
_PCIDEV = re.compile(rf"PCIDEV ({_HEX}) ({_HEX}) ({_HEX})((?: {_HEX}){{14}}) (.*)", re.S)
_VERSION = re.compile(r"VERSION (\S+)")

_WHAT = {"R": "an R record (R width time map phys value pc pid)",
         "W": "a W record (W width time map phys value pc pid)",
         "M": "a MAP or MARK record", "U": "an UNMAP or UNKNOWN record",
         "P": "a PCIDEV record", "V": "a VERSION line"}


def _ns(secs: str, usec: str) -> int:
    return int(secs) * 1_000_000_000 + int(usec) * 1000


def _parse_mark(t_ns: int, text: str) -> Event:
    if t_ns == 0:
        m = _LOST.fullmatch(text)
        if m:
            return Lost(int(m.group(1)))
    if text.startswith(INFO_PREFIX):
        kind, sep, body = text[len(INFO_PREFIX):].partition(" ")
        if sep and kind and kind not in RESERVED_KINDS and body.startswith("{"):
            try:
                fields = json.loads(body)
            except ValueError:
                fields = None
            if isinstance(fields, dict) and info_text(kind, fields) == text:
                return Info(kind, t_ns, fields)
    return Mark(t_ns, text)


def parse_line(line: str) -> Event:
    """One line (without its newline) as a record; ValueError says why it is not one."""
    c = line[:1]
    if c == "R" or c == "W":
        m = _RW.fullmatch(line)
        if m is None:
            raise ValueError(f"not {_WHAT[c]}")
        g = m.groups()
        return _new(Rw, (g[0], int(g[1]), int(g[2]) * 1_000_000_000 + int(g[3]) * 1000,
                         int(g[4]), int(g[5], 16), int(g[6], 16), int(g[7], 16), int(g[8]),
                         None))
    if line.startswith("MARK "):
        m = _MARK.fullmatch(line)
        if m is None:
            raise ValueError("not a MARK record (MARK time text)")
        return _parse_mark(_ns(m.group(1), m.group(2)), m.group(3))
    if line.startswith("MAP "):
        m = _MAP.fullmatch(line)
        if m is None:
            raise ValueError("not a MAP record (MAP time map phys virt len pc pid)")
        g = m.groups()
        return Map(_ns(g[0], g[1]), int(g[2]), int(g[3], 16), int(g[4], 16), int(g[5], 16),
                   int(g[6], 16), int(g[7]))
    if line.startswith("UNMAP "):
        m = _UNMAP.fullmatch(line)
        if m is None:
            raise ValueError("not an UNMAP record (UNMAP time map pc pid)")
        g = m.groups()
        return Unmap(_ns(g[0], g[1]), int(g[2]), int(g[3], 16), int(g[4]))
    if line.startswith("UNKNOWN "):
        m = _UNKNOWN.fullmatch(line)
        if m is None:
            raise ValueError("not an UNKNOWN record (UNKNOWN time map phys xx,xx,xx pc pid)")
        g = m.groups()
        return Unknown(_ns(g[0], g[1]), int(g[2]), int(g[3], 16),
                       (int(g[4], 16), int(g[5], 16), int(g[6], 16)), int(g[7], 16), int(g[8]))
    if line.startswith("PCIDEV "):
        m = _PCIDEV.fullmatch(line)
        if m is None:
            raise ValueError("not a PCIDEV record (PCIDEV bbdf vvvvdddd irq, 7 starts, "
                             "7 sizes, driver)")
        busdev, ids, irq, nums, driver = m.groups()
        if len(busdev) != 4 or len(ids) != 8:
            raise ValueError("PCIDEV wants 4 hex digits of bus and devfn and 8 of vendor "
                             "and device")
        vals = [int(x, 16) for x in nums.split()]
        return PciDev(int(busdev[:2], 16), int(busdev[2:], 16), int(ids[:4], 16),
                      int(ids[4:], 16), int(irq, 16), tuple(vals[:7]), tuple(vals[7:]), driver)
    if line.startswith("VERSION "):
        m = _VERSION.fullmatch(line)
        if m is None:
            raise ValueError("not a VERSION line (VERSION yyyymmdd)")
        return Version(m.group(1))
    if not line:
        raise ValueError("empty line")
    raise ValueError("not an mmiotrace record (VERSION, PCIDEV, MAP, UNMAP, R, W, UNKNOWN "
                     "or MARK)")


def parse(lines: Iterable[str], *, source: str = "<trace>", skip_bad: bool = False,
          skipped: list[tuple[int, str, str]] | None = None, first_line: int = 1
          ) -> Iterator[Event]:
    """Records from lines of mmiotrace text (each with or without its newline).

    A bad line raises :class:`ParseError`; with ``skip_bad`` it is passed over
    and, if ``skipped`` is given, appended to it as (line number, reason, line).
    """
    new = _new
    lineno = first_line - 1
    for raw in lines:
        lineno += 1
        line = raw[:-1] if raw[-1:] == "\n" else raw
        c = line[:1]
        if c == "R" or c == "W":  # the bulk of every trace: split, not a regex
            p = line.split(" ")
            if len(p) == 8 and line[1] == " ":
                op, w, t, mid, ph, v, pc, pid = p
                secs, _, us = t.partition(".")
                if len(us) == 6 and ph[:2] == "0x" and v[:2] == "0x" and pc[:2] == "0x" \
                        and us.isdigit() and w.isdigit():
                    try:
                        yield new(Rw, (op, int(w), int(secs) * 1_000_000_000 + int(us) * 1000,
                                       int(mid), int(ph, 16), int(v, 16),
                                       0 if pc == "0x0" else int(pc, 16),
                                       0 if pid == "0" else int(pid), None))
                        continue
                    except ValueError:
                        pass  # parse_line says what is wrong
        try:
            yield parse_line(line)
        except ValueError as e:
            if not skip_bad:
                raise ParseError(source, lineno, line, str(e)) from None
            if skipped is not None:
                skipped.append((lineno, str(e), line))


def loads(text: str, **kw: Any) -> list[Event]:
    """All records of a string of mmiotrace text."""
    return list(parse(text.splitlines(), **kw))


def header(pcidevs: Iterable[PciDev] = ()) -> list[Event]:
    """What trace_pipe prints when it is opened: VERSION, then one PCIDEV per function."""
    return [Version(MMIOTRACE_VERSION), *pcidevs]


__all__ = ["INFO_PREFIX", "ParseError", "dumps", "format_event", "header", "info_text", "loads",
           "parse", "parse_line", "write"]
