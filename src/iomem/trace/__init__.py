"""MMIO traces: record, read, replay, diff and plot them, in the kernel's formats.

- Formats: mmiotrace text exactly as the kernel prints it
  (:mod:`.mmiotrace`), the rwmmio tracepoints (:mod:`.rwmmio`) and a lossless
  structured form, JSON lines (:mod:`.jsonl`), all read into the records of
  :mod:`.events`; :func:`read` picks the format from the first line.
- Recording (:mod:`.recorder`): ``with iomem.trace.record("t.txt"): ...``
  records every mapping and access of the simulated kernel and of userspace
  mappings (simulated or real), to a file or a bounded ring; ``mark(text)``
  adds a MARK line; ``emit(kind, **fields)`` is how other parts of iomem
  (the CPU model, the sanitizer, device models) add their events, and does
  nothing while no recorder runs.
- Tools: :mod:`.model` (accesses attributed to mappings and PCI devices),
  :mod:`.decode` (register and field names), :mod:`.stats`, :mod:`.diff`,
  :mod:`.replay`, :mod:`.plot`; the ``iomem trace`` command (:mod:`.cli`).
"""

from .events import (
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
from .reader import read, read_text, sniff
from .recorder import Recorder, emit, mark, record, recording

__all__ = ["Event", "Info", "Lost", "Map", "Mark", "ParseError", "PciDev", "Recorder", "Rw",
           "Unknown", "Unmap", "Version", "emit", "mark", "read", "read_text", "record",
           "recording", "sniff"]
