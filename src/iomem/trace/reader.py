"""Reading a trace file of any of the three formats, streaming.

The format is known from the first line: ``VERSION`` (or any mmiotrace
record) is mmiotrace, ``{`` is JSON lines, a ``# tracer:`` header or an
ftrace line is the rwmmio tracepoints.  ``.gz`` and ``.xz`` files are
decompressed as they are read.
"""

from __future__ import annotations

import gzip
import itertools
import lzma
import os
from collections.abc import Iterator
from typing import IO, Any

from . import jsonl, mmiotrace, rwmmio
from .events import Event

_MMIOTRACE_WORDS = ("VERSION ", "PCIDEV ", "MAP ", "UNMAP ", "R ", "W ", "UNKNOWN ", "MARK ")


def sniff(first_line: str) -> str:
    """``mmiotrace``, ``jsonl`` or ``rwmmio`` for a file starting with ``first_line``."""
    if first_line.startswith(_MMIOTRACE_WORDS):
        return "mmiotrace"
    if first_line.lstrip().startswith("{"):
        return "jsonl"
    if rwmmio.looks_like(first_line):
        return "rwmmio"
    return "mmiotrace"  # its parser says what is wrong with the line


def open_text(path: str | os.PathLike[str]) -> IO[str]:
    """A text stream of the file (decompressed when it ends in .gz or .xz)."""
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    if str(path).endswith(".xz"):
        return lzma.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace", buffering=1 << 20)  # noqa: SIM115


def parse_stream(fh: IO[str] | Iterator[str], *, source: str = "<trace>",
                 format: str | None = None, **kw: Any) -> Iterator[Event]:
    """Records from an open text stream (the format sniffed when not given)."""
    it = iter(fh)
    first = next(it, None)
    if first is None:
        return
    fmt = format or sniff(first)
    lines = itertools.chain((first,), it)
    if fmt == "mmiotrace":
        yield from mmiotrace.parse(lines, source=source, **kw)
    elif fmt == "jsonl":
        yield from jsonl.parse(lines, source=source, **kw)
    elif fmt == "rwmmio":
        yield from rwmmio.to_events(rwmmio.parse(lines, source=source, **kw))
    else:
        raise ValueError(f"unknown trace format {fmt!r}; one of mmiotrace, jsonl, rwmmio")


def read(path: str | os.PathLike[str], *, format: str | None = None, skip_bad: bool = False,
         skipped: list[tuple[int, str, str]] | None = None) -> Iterator[Event]:
    """Records of a trace file, one at a time (a million-line log never sits in memory).

    A line that is not a record raises :class:`~iomem.trace.mmiotrace.ParseError`
    naming the file and line; ``skip_bad`` passes over such lines (each goes
    into ``skipped`` as (line number, reason, line) when that list is given).
    """
    with open_text(path) as fh:
        yield from parse_stream(fh, source=str(path), format=format, skip_bad=skip_bad,
                                skipped=skipped)


def read_text(text: str, *, format: str | None = None, **kw: Any) -> list[Event]:
    """All records of a string."""
    return list(parse_stream(iter(text.splitlines(True)), format=format, **kw))


def file_format(path: str | os.PathLike[str]) -> str:
    with open_text(path) as fh:
        return sniff(fh.readline())


__all__ = ["file_format", "open_text", "parse_stream", "read", "read_text", "sniff"]
