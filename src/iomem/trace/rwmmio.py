"""The rwmmio tracepoints (include/trace/events/rwmmio.h, CONFIG_TRACE_MMIO_ACCESS),
as a tracefs ``trace`` file shows them (one line each, wrapped here)::

              insmod-231     [000] .....    12.345678: rwmmio_write: edu_probe+0x1c/0x90
                  -> edu_writel+0x8/0x20 width=32 val=0x12345678 addr=0xffffc90000100004
              insmod-231     [000] .....    12.345680: rwmmio_post_read: edu_probe+0x24/0x90
                  -> edu_readl+0x8/0x20 width=32 val=0xedcba987 addr=0xffffc90000100004

Each line is ftrace's context (``"%16s-%-7d "`` comm and pid, ``"[%03d] "``
CPU, five latency flags, ``" %5lu.%06lu: "`` time) then ``"%s: "`` the event
and its TP_printk: ``"%pS -> %pS width=%d val=%#llx addr=%#lx"`` for
rwmmio_write, rwmmio_post_write and rwmmio_post_read, ``"%pS -> %pS width=%d
addr=%#lx"`` for rwmmio_read (caller0, then caller; the width in bits; the
address is the ``__iomem`` virtual address).  ``trace_marker`` writes show
as ``tracing_mark_write: TEXT``; lines starting with ``#`` are the file's
header.

Unlike mmiotrace, the tracepoints see every architecture and every access
made through the accessors, but no physical addresses and no mappings:
:func:`to_events` turns the records into accesses keyed by virtual address
(a read is its ``rwmmio_post_read``, which has the value).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import IO, Any, NamedTuple

from .events import Event, Map, Mark, Rw, Unmap, usecs
from .mmiotrace import ParseError

EVENTS = ("rwmmio_write", "rwmmio_post_write", "rwmmio_read", "rwmmio_post_read")


class RwmmioRecord(NamedTuple):
    """One tracepoint hit (``value`` is None for rwmmio_read, which has none)."""

    comm: str
    pid: int
    cpu: int
    flags: str
    t_us: int
    event: str
    caller0: str
    caller: str
    width_bits: int
    value: int | None
    addr: int


class TraceLine(NamedTuple):
    """Any other line of the file: the ``#`` header, or a ``tracing_mark_write``."""

    text: str
    t_us: int | None = None
    mark: str | None = None


def _hex(v: int) -> str:
    """``%#llx`` as the kernel's vsprintf prints it (0 too gets its ``0x``)."""
    return f"0x{v:x}"


def _context(comm: str, pid: int, cpu: int, flags: str, t_us: int) -> str:
    secs, usec = divmod(t_us, 1_000_000)
    return f"{comm:>16}-{pid:<7} [{cpu:03d}] {flags} {secs:5d}.{usec:06d}: "


def format_record(r: RwmmioRecord | TraceLine) -> str:
    """One line as the ``trace`` file prints it (no newline)."""
    if isinstance(r, TraceLine):
        return r.text
    head = _context(r.comm, r.pid, r.cpu, r.flags, r.t_us)
    val = "" if r.value is None else f" val={_hex(r.value)}"
    return (f"{head}{r.event}: {r.caller0} -> {r.caller} width={r.width_bits}{val} "
            f"addr={_hex(r.addr)}")


_LINE = re.compile(r"\s*(.+)-(\d+)\s+\[(\d{3,})\] (\S{4,5}) +(\d+)\.(\d{6}): (\w+): (.*)", re.S)
_BODY = re.compile(r"(\S+) -> (\S+) width=(\d+)(?: val=(0x[0-9a-f]+|0))? addr=(0x[0-9a-f]+|0)")


def parse(lines: Iterable[str], *, source: str = "<trace>", skip_bad: bool = False,
          skipped: list[tuple[int, str, str]] | None = None, first_line: int = 1
          ) -> Iterator[RwmmioRecord | TraceLine]:
    """rwmmio records (and header lines and marks) from a tracefs ``trace`` file."""
    lineno = first_line - 1
    for raw in lines:
        lineno += 1
        line = raw[:-1] if raw[-1:] == "\n" else raw
        try:
            yield _parse_line(line)
        except ValueError as e:
            if not skip_bad:
                raise ParseError(source, lineno, line, str(e)) from None
            if skipped is not None:
                skipped.append((lineno, str(e), line))


def _parse_line(line: str) -> RwmmioRecord | TraceLine:
    if line.startswith("#"):
        return TraceLine(line)
    m = _LINE.fullmatch(line)
    if m is None:
        raise ValueError("not a trace line (COMM-PID [CPU] FLAGS SECS.USECS: EVENT: ...)")
    comm, pid, cpu, flags, secs, usec, event, body = m.groups()
    t_us = int(secs) * 1_000_000 + int(usec)
    if event == "tracing_mark_write":
        return TraceLine(line, t_us, body)
    if event not in EVENTS:
        raise ValueError(f"not an rwmmio event ({event})")
    b = _BODY.fullmatch(body)
    if b is None:
        raise ValueError(f"{event}: not 'CALLER0 -> CALLER width=N [val=V] addr=A'")
    caller0, caller, width, val, addr = b.groups()
    if (val is None) != (event == "rwmmio_read"):
        raise ValueError(f"{event} {'has no' if val is None else 'has a'} val=")
    return RwmmioRecord(comm.strip(), int(pid), int(cpu), flags, t_us, event, caller0, caller,
                       int(width), None if val is None else int(val, 16), int(addr, 16))



def to_events(records: Iterable[RwmmioRecord | TraceLine]) -> Iterator[Event]:
    """Accesses (and marks) from rwmmio records: ``phys`` holds the virtual address,
    map 0; ``extra`` keeps the callers and the task."""
    for r in records:
        if isinstance(r, TraceLine):
            if r.mark is not None and r.t_us is not None:
                yield Mark(r.t_us * 1000, r.mark)
            continue
        if r.event in ("rwmmio_read", "rwmmio_post_write"):
            continue
        op = "W" if r.event == "rwmmio_write" else "R"
        yield Rw(op, r.width_bits // 8, r.t_us * 1000, 0, r.addr, r.value or 0, 0, r.pid,
                 {"addr": "virtual", "caller": r.caller, "caller0": r.caller0, "comm": r.comm})


def from_events(events: Iterable[Event], *, comm: str = "python", cpu: int = 0,
                flags: str = ".....", maps: dict[int, Map] | None = None
                ) -> Iterator[RwmmioRecord | TraceLine]:
    """rwmmio records for recorded accesses: a write is rwmmio_write then
    rwmmio_post_write, a read rwmmio_read then rwmmio_post_read, at the mapping's
    virtual address.  ``maps`` carries the live mappings from one call to the next
    (a stream written in chunks)."""
    if maps is None:
        maps = {}
    for ev in events:
        t = type(ev)
        if t is Map:
            maps[ev.map_id] = ev
        elif t is Unmap:
            maps.pop(ev.map_id, None)
        elif t is Mark:
            t_us = usecs(ev.t_ns)
            yield TraceLine(_context(comm, 0, cpu, flags, t_us) + f"tracing_mark_write: {ev.text}",
                            t_us, ev.text)
        elif t is Rw:
            x = ev.extra or {}
            m = maps.get(ev.map_id)
            addr = m.virt + (ev.phys - m.phys) if m is not None else ev.phys
            caller = str(x.get("sym", "0x0"))
            caller0 = str(x.get("sym0", "0x0"))
            t_us = usecs(ev.t_ns)
            pid = ev.pid
            bits = ev.width * 8
            if ev.op == "W":
                for name in ("rwmmio_write", "rwmmio_post_write"):
                    yield RwmmioRecord(comm, pid, cpu, flags, t_us, name, caller0, caller, bits,
                                       ev.value, addr)
            else:
                yield RwmmioRecord(comm, pid, cpu, flags, t_us, "rwmmio_read", caller0, caller,
                                   bits, None, addr)
                yield RwmmioRecord(comm, pid, cpu, flags, t_us, "rwmmio_post_read", caller0,
                                   caller, bits, ev.value, addr)


def write(events: Iterable[Event], fh: IO[str], **kw: Any) -> int:
    """Write recorded events as rwmmio trace lines; returns how many lines."""
    n = 0
    for rec in from_events(events, **kw):
        fh.write(format_record(rec) + "\n")
        n += 1
    return n


def dumps(records: Iterable[RwmmioRecord | TraceLine]) -> str:
    lines = [format_record(r) for r in records]
    return "\n".join(lines) + "\n" if lines else ""


def loads(text: str, **kw: Any) -> list[RwmmioRecord | TraceLine]:
    return list(parse(text.splitlines(), **kw))


def looks_like(first_line: str) -> bool:
    """Whether a file starting with this line is a tracefs ``trace`` file."""
    return first_line.startswith("# tracer:") or bool(_LINE.fullmatch(first_line.rstrip("\n")))


__all__ = ["EVENTS", "RwmmioRecord", "TraceLine", "dumps", "format_record",
           "from_events", "loads", "looks_like", "parse", "to_events", "write"]
