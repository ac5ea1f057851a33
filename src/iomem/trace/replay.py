"""``iomem trace replay``: make a trace's accesses again and check what the reads return.

Every mapping of the trace is mapped on the target, every write is made with
its recorded width and value, and every read is made and compared with the
value the trace recorded.  Targets:

- :class:`SimTarget`: a simulated board's kernel (``ioremap`` and the
  ``readX``/``writeX`` accessors, so a recorder running around the replay
  records it like any driver).  Virtual time follows the trace's timestamps,
  so a device's delays (a computation, a DMA) pass as they did.
- :class:`UserTarget`: real hardware through the userspace API (PCI sysfs by
  the PCIDEV lines, or /dev/mem; any ``open_target`` string per mapping).  It
  writes to a real device: the command line asks first.

With ``polls`` a run of reads of one register is a poll loop: it is read
until it returns the run's last recorded value (at most ``max_polls`` times),
as the driver waited for it, and only that last value is checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from .diff import Access, accesses
from .model import MapInfo, Registers


class Target(Protocol):
    """Where a replay's accesses go."""

    def map(self, mi: MapInfo) -> Any:
        """A handle for the mapping; raises ValueError, OSError or LookupError saying
        why not."""

    def read(self, handle: Any, off: int, width: int) -> int: ...

    def write(self, handle: Any, off: int, width: int, value: int) -> None: ...

    def at(self, t_ns: int) -> None:
        """The trace's time of the next access (a simulated target lets time pass)."""

    def describe(self, handle: Any) -> str: ...

    def close(self) -> None: ...


_SUFFIX = {1: "b", 2: "w", 4: "l", 8: "q"}


class SimTarget:
    """A simulated board: ``SimTarget("pc")``."""

    def __init__(self, board: str = "pc", cmdline: str = "", timing: bool = True) -> None:
        from ..boards import boot, make_board

        self.kernel = boot(make_board(board), cmdline=cmdline)
        self.timing = timing
        self._t0: tuple[int, int] | None = None
        from ..kernel import io

        self._rd = {w: io.accessor(f"read{s}") for w, s in _SUFFIX.items()}
        self._wr = {w: io.accessor(f"write{s}") for w, s in _SUFFIX.items()}

    def map(self, mi: MapInfo) -> Any:
        with self.kernel:
            cookie = self.kernel.ioremap(mi.phys, max(mi.length, 1))
        if cookie is None:
            raise ValueError(f"ioremap(0x{mi.phys:x}, 0x{mi.length:x}) failed on the "
                             f"{self.kernel.board_name} board")
        return cookie

    def read(self, handle: Any, off: int, width: int) -> int:
        with self.kernel:
            return self._rd[width](handle + off)

    def write(self, handle: Any, off: int, width: int, value: int) -> None:
        with self.kernel:
            self._wr[width](value, handle + off)

    def at(self, t_ns: int) -> None:
        if not self.timing:
            return
        clock = self.kernel.machine.clock
        if self._t0 is None:
            self._t0 = (t_ns, clock.now)
            return
        due = self._t0[1] + (t_ns - self._t0[0])
        if due > clock.now:
            clock.advance(due - clock.now)

    def describe(self, handle: Any) -> str:
        return f"{self.kernel.board_name}: ioremap at {handle!r}"

    def close(self) -> None:
        pass


class UserTarget:
    """Real hardware through iomem's userspace API.

    ``targets`` maps a mapping selector (map id, ``00:04.0``, ``vendor:device``,
    physical address; see :mod:`.model`) to an ``open_target`` string; other
    mappings go to the device's PCI sysfs BAR when the trace names the device,
    else to /dev/mem at the mapping's physical address.
    """

    def __init__(self, targets: dict[str, str] | None = None, *, force: bool = False,
                 root: str = "/") -> None:
        self.targets = dict(targets or {})
        self.force = force
        self.root = root
        self._open: list[Any] = []

    def spec(self, mi: MapInfo) -> tuple[str, int]:
        """(open_target string, offset of the mapping inside what it opens)."""
        from .model import _matches

        for sel, spec in self.targets.items():
            if _matches(sel, mi):
                return spec, 0
        if mi.device is not None and mi.bar is not None:
            return f"pci:0000:{mi.device.bdf}/{mi.bar}", mi.bar_offset
        return f"devmem:0x{mi.phys:x}+0x{max(mi.length, 1):x}", 0

    def map(self, mi: MapInfo) -> Any:
        from ..user import open_target

        spec, base = self.spec(mi)
        m = open_target(spec, force=self.force, root=self.root)
        self._open.append(m)
        return (m, base, spec)

    def read(self, handle: Any, off: int, width: int) -> int:
        m, base, _spec = handle
        return m.read(base + off, width)

    def write(self, handle: Any, off: int, width: int, value: int) -> None:
        m, base, _spec = handle
        m.write(base + off, width, value)

    def at(self, t_ns: int) -> None:
        pass

    def describe(self, handle: Any) -> str:
        m, base, spec = handle
        return f"{spec}{f' +0x{base:x}' if base else ''} ({m.describe()})"

    def close(self) -> None:
        for m in self._open:
            m.close()
        self._open.clear()


@dataclass
class Mismatch:
    """A read that did not return what the trace recorded."""

    access: Access
    got: int
    tries: int = 1


@dataclass
class ReplayReport:
    writes: int = 0
    reads: int = 0
    polls: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    mismatch_count: int = 0
    #: mappings that could not be made: (mapping, why)
    unmapped: list[tuple[MapInfo, str]] = field(default_factory=list)
    skipped: int = 0
    mapped: list[tuple[MapInfo, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatch_count and not self.skipped

    def render(self, registers: Registers | None = None, limit: int = 20) -> str:
        registers = registers or Registers()
        out = [f"mapped {mi.label} ({mi.describe()}) -> {how}" for mi, how in self.mapped]
        out += [f"could not map {mi.label}: {why}" for mi, why in self.unmapped]
        out.append(f"replayed {self.writes} writes and {self.reads} reads"
                   + (f" ({self.polls} poll loops)" if self.polls else "")
                   + (f"; skipped {self.skipped} accesses to unmapped ranges"
                      if self.skipped else ""))
        for mm in self.mismatches[:limit]:
            a = mm.access
            reg = registers.name(a.mi, a.offset - a.mi.bar_offset, a.width)
            tries = f" after {mm.tries} reads" if mm.tries > 1 else ""
            out.append(f"  line {a.line}: R {a.width} {a.mi.label} {reg}: recorded "
                       f"0x{a.value:x}, got 0x{mm.got:x}{tries}")
        if self.mismatch_count > limit:
            out.append(f"  ... and {self.mismatch_count - limit} more")
        out.append("every read returned what the trace recorded" if not self.mismatch_count
                   else f"{self.mismatch_count} of {self.reads} reads differ")
        return "\n".join(out) + "\n"


def _runs(acc: Iterator[Access], polls: bool) -> Iterator[list[Access]]:
    """Accesses one by one, or (with ``polls``) runs of reads of one register together."""
    run: list[Access] = []
    for a in acc:
        if run and polls and a.op == "R" and run[-1].op == "R" and a.key == run[-1].key \
                and a.offset == run[-1].offset and a.width == run[-1].width:
            run.append(a)
            continue
        if run:
            yield run
        run = [a]
    if run:
        yield run


def replay(events: Iterable[Any], target: Target, *, polls: bool = False,
           check: bool = True, max_polls: int = 100_000, keep: int = 1000) -> ReplayReport:
    """Replay ``events`` on ``target`` (streaming); see the module docstring."""
    rep = ReplayReport()
    handles: dict[int, Any] = {}
    failed: set[int] = set()
    try:
        for run in _runs(accesses(events), polls):
            a = run[-1]
            h = handles.get(id(a.mi))
            if h is None:
                if id(a.mi) in failed:
                    rep.skipped += len(run)
                    continue
                try:
                    h = handles[id(a.mi)] = target.map(a.mi)
                    rep.mapped.append((a.mi, target.describe(h)))
                except (ValueError, OSError, LookupError) as e:
                    failed.add(id(a.mi))
                    rep.unmapped.append((a.mi, str(e)))
                    rep.skipped += len(run)
                    continue
            off = a.offset - a.mi.bar_offset
            target.at(run[0].t_ns)
            if a.op == "W":
                target.write(h, off, a.width, a.value)
                rep.writes += 1
                continue
            got = target.read(h, off, a.width)
            tries = 1
            if len(run) > 1:
                rep.polls += 1
                while got != a.value and tries < max_polls:
                    got = target.read(h, off, a.width)
                    tries += 1
            rep.reads += 1
            if check and got != a.value:
                rep.mismatch_count += 1
                if len(rep.mismatches) < keep:
                    rep.mismatches.append(Mismatch(a, got, tries))
    finally:
        target.close()
    return rep


__all__ = ["Mismatch", "ReplayReport", "SimTarget", "Target", "UserTarget", "replay"]
