"""``iomem trace diff A B``: where two traces of the same work part ways.

Both traces become sequences of accesses (op, width, mapping, offset, value),
with timestamps, map ids, virtual addresses and pids left out: a simulated
kernel driver and a userspace driver on real hardware map the same BAR at
different addresses, under different ids, at different times.  Mappings are
matched by what they are (the PCI device and BAR from the PCIDEV lines, or
the physical address), or, when the two traces name them differently, by
the order in which they are first used.

``polls`` folds each run of reads of one register into its last read: a
poll loop reads a status register until it changes, and how many times it
reads depends on timing alone.  ``pc`` also compares the code addresses.

Both traces are read once, side by side, so traces of millions of accesses
are compared in bounded memory (what grows is one counter per register).
"""

from __future__ import annotations

import itertools
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .events import Rw
from .model import MapInfo, Registers, TraceModel

#: distinct values remembered per register and direction for the summary
MAX_VALUES = 64


class Access(NamedTuple):
    """One access, as a diff sees it."""

    op: str
    width: int
    key: str  # what the mapping is (see MapInfo.key)
    offset: int  # into the device region (the BAR, when known)
    value: int
    pc: int
    #: record number in its trace (the line number for mmiotrace and JSON lines)
    line: int
    mi: MapInfo
    t_ns: int = 0


def accesses(events: Iterable[Any], *, polls: bool = False) -> Iterator[Access]:
    """The accesses of a trace, in order (poll loops folded when ``polls``)."""
    model = TraceModel()

    def raw() -> Iterator[Access]:
        for n, ev in enumerate(events, 1):
            if type(ev) is Rw:
                mi, off = model.locate(ev)
                yield Access(ev.op, ev.width, mi.key, off + mi.bar_offset, ev.value, ev.pc, n,
                             mi, ev.t_ns)
            else:
                model.feed(ev)
    return fold_polls(raw()) if polls else raw()


def fold_polls(acc: Iterable[Access]) -> Iterator[Access]:
    """Keep only the last read of each run of reads of one register."""
    prev: Access | None = None
    for a in acc:
        if prev is not None and not (prev.op == "R" and a.op == "R" and a.key == prev.key
                                     and a.offset == prev.offset and a.width == prev.width):
            yield prev
        prev = a
    if prev is not None:
        yield prev


@dataclass
class _Side:
    name: str
    count: int = 0
    ops: Counter[str] = field(default_factory=Counter)
    keys: dict[str, int] = field(default_factory=dict)  # key -> order of first use (1-based)
    regs: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    values: dict[tuple[str, int, str], set[int]] = field(default_factory=dict)
    labels: dict[tuple[str, int, str], tuple[MapInfo, int]] = field(default_factory=dict)

    def add(self, x: Access) -> int:
        self.count += 1
        self.ops[x.op] += 1
        order = self.keys.get(x.key)
        if order is None:
            order = self.keys[x.key] = len(self.keys) + 1
        k = (x.key, x.offset, x.op)
        self.regs[k] += 1
        vals = self.values.get(k)
        if vals is None:
            vals = self.values[k] = set()
            self.labels[k] = (x.mi, x.width)
        if len(vals) < MAX_VALUES:
            vals.add(x.value)
        return order


@dataclass
class _Mode:
    """First difference under one way of pairing mappings (by key or by order)."""

    first: int | None = None
    context: list[Access] = field(default_factory=list)
    pair: tuple[Access | None, Access | None] = (None, None)
    same_shape: int = 0


@dataclass
class DiffResult:
    """What :func:`diff` found."""

    sides: tuple[_Side, _Side]
    by_order: bool
    mode: _Mode
    notes: list[str]
    compare_pc: bool = False

    @property
    def identical(self) -> bool:
        return self.mode.first is None

    @property
    def first(self) -> int | None:
        """Index of the first access that differs (None: none does)."""
        return self.mode.first

    def norm(self, side: int, key: str) -> str:
        return f"#{self.sides[side].keys[key]}" if self.by_order else key

    def render(self, registers: Registers | None = None, max_registers: int = 20) -> str:
        registers = registers or Registers()
        out = []
        for label, s in zip("AB", self.sides, strict=True):
            out.append(f"{label}: {s.name}: {s.count} accesses ({s.ops['R']} reads, "
                       f"{s.ops['W']} writes) to {len(s.keys)} mapping(s)")
        out += self.notes
        m = self.mode
        if m.first is None:
            out.append("the traces agree on every access and value (times ignored)")
            return "\n".join(out) + "\n"

        def show(x: Access | None) -> str:
            if x is None:
                return "(no more accesses)"
            return (f"{x.op} {x.width} {x.mi.label} +0x{x.offset:05x} "
                    f"{registers.decode(x.mi, x.offset - x.mi.bar_offset, x.width, x.value)}"
                    + (f" pc 0x{x.pc:x}" if self.compare_pc else ""))
        xa, xb = m.pair
        where = ", ".join(f"{s} line {x.line}" for s, x in (("A", xa), ("B", xb)) if x)
        out.append(f"first difference at access {m.first + 1} ({where}):")
        out += [f"    = {show(x)}" for x in m.context]
        out.append(f"  A > {show(xa)}")
        out.append(f"  B > {show(xb)}")
        a, b = self.sides
        out.append(f"from there on: {a.count - m.first} accesses in A, {b.count - m.first} in "
                   f"B; at {m.same_shape} aligned positions both make the same access")
        out += self._registers(registers, max_registers)
        return "\n".join(out) + "\n"

    def _registers(self, registers: Registers, limit: int) -> list[str]:
        a, b = self.sides
        regs: list[Counter] = [Counter(), Counter()]
        vals: list[dict] = [{}, {}]
        labels: dict[tuple, tuple[MapInfo, int, int]] = {}
        for i, s in enumerate(self.sides):
            for (key, off, op), n in s.regs.items():
                k = (self.norm(i, key), off, op)
                regs[i][k] += n
                vals[i].setdefault(k, set()).update(s.values[(key, off, op)])
                mi, w = s.labels[(key, off, op)]
                labels.setdefault(k, (mi, off, w))
        rows = []
        for k in sorted(set(regs[0]) | set(regs[1])):
            ca, cb = regs[0][k], regs[1][k]
            va, vb = vals[0].get(k, set()), vals[1].get(k, set())
            if ca == cb and va == vb:
                continue
            mi, off, w = labels[k]
            name = registers.name(mi, off - mi.bar_offset, w)
            text = f"  {k[2]} {mi.label} {name}: {ca} in A, {cb} in B"
            only_a, only_b = sorted(va - vb), sorted(vb - va)
            if only_a:
                text += "; only A saw " + ", ".join(f"0x{v:x}" for v in only_a[:4])
            if only_b:
                text += "; only B saw " + ", ".join(f"0x{v:x}" for v in only_b[:4])
            rows.append(text)
        out = []
        if rows:
            out.append(f"registers that differ ({len(rows)}):")
            out += rows[:limit]
            if len(rows) > limit:
                out.append(f"  ... and {len(rows) - limit} more")
        return out


def diff(a: Iterable[Any], b: Iterable[Any], *, names: tuple[str, str] = ("A", "B"),
         polls: bool = False, pc: bool = False, pair: str = "auto",
         context: int = 3) -> DiffResult:
    """Compare two traces' accesses (see the module docstring); ``pair`` is ``auto``,
    ``key`` (devices or addresses must match) or ``order`` (first use)."""
    if pair not in ("auto", "key", "order"):
        raise ValueError(f"pair must be auto, key or order, not {pair!r}")
    sa, sb = _Side(names[0]), _Side(names[1])
    by_key, by_order = _Mode(), _Mode()
    recent: deque[Access] = deque(maxlen=context)
    for i, (xa, xb) in enumerate(itertools.zip_longest(accesses(a, polls=polls),
                                                       accesses(b, polls=polls))):
        oa = sa.add(xa) if xa is not None else 0
        ob = sb.add(xb) if xb is not None else 0
        for mode, ka, kb in ((by_key, xa and xa.key, xb and xb.key), (by_order, oa, ob)):
            if xa is None or xb is None:
                same_shape = same = False
            else:
                same_shape = (xa.op == xb.op and xa.width == xb.width and ka == kb
                              and xa.offset == xb.offset)
                same = same_shape and xa.value == xb.value and (not pc or xa.pc == xb.pc)
            if mode.first is None:
                if not same:
                    mode.first = i
                    mode.context = list(recent)
                    mode.pair = (xa, xb)
            elif same_shape:
                mode.same_shape += 1
        if xa is not None:
            recent.append(xa)
    notes: list[str] = []
    use_order = pair == "order" or (pair == "auto" and set(sa.keys) != set(sb.keys))
    if use_order:
        ka, kb = list(sa.keys), list(sb.keys)
        for i in range(max(len(ka), len(kb))):
            left = ka[i] if i < len(ka) else "(none)"
            right = kb[i] if i < len(kb) else "(none)"
            notes.append(f"mapping {i + 1} paired by order of first use: A {left} <-> "
                         f"B {right}")
    if polls:
        notes.append("poll loops folded: each run of reads of one register counts as its "
                     "last read")
    return DiffResult((sa, sb), use_order, by_order if use_order else by_key, notes, pc)


__all__ = ["Access", "DiffResult", "accesses", "diff", "fold_polls"]
