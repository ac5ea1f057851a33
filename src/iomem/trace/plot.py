"""``iomem trace plot``: a timeline of a trace, one row per register.

Reads and writes are marks on their register's row (named from the register
map), interrupts and DMA have rows of their own, and MARK lines are vertical
lines with their text.  Drawn with matplotlib (``pip install 'iomem[trace]'``)
without pyplot, so it needs no display and keeps no global state; the output
format follows the file name (.png, .svg, .pdf).  The busiest ``max_rows``
registers are drawn when there are more.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .events import Info, Mark, Rw
from .model import Registers, TraceModel

#: marks drawn with their text at most (more would be unreadable)
MAX_MARK_LABELS = 30


@dataclass
class _Row:
    label: str
    order: tuple
    reads: list[float] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.reads) + len(self.writes)


@dataclass
class PlotSummary:
    """What was drawn."""

    rows: int
    hidden_rows: int
    accesses: int
    irqs: int
    dma: int
    marks: int
    path: str


def _need_matplotlib() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'iomem[trace]'") from e
    return Figure


def plot(events: Iterable[Any], out: str | os.PathLike[str], *,
         registers: Registers | None = None, max_rows: int = 40, title: str | None = None,
         width: float = 12.0, dpi: int = 120) -> PlotSummary:
    """Draw the timeline of ``events`` into ``out``."""
    figure_cls = _need_matplotlib()
    registers = registers or Registers()
    model = TraceModel()
    rows: dict[tuple, _Row] = {}
    irq_on: list[float] = []
    irq_off: list[float] = []
    dma: list[float] = []
    reports: list[float] = []
    marks: list[tuple[float, str]] = []
    n = 0
    for ev in events:
        t = type(ev)
        if t is Rw:
            mi, off = model.locate(ev)
            key = (mi.key, off + mi.bar_offset)
            row = rows.get(key)
            if row is None:
                name = registers.name(mi, off, ev.width)
                row = rows[key] = _Row(f"{mi.label} {name}", (mi.phys, off))
            (row.reads if ev.op == "R" else row.writes).append(ev.t_ns / 1e9)
            n += 1
        elif t is Info:
            ts = ev.t_ns / 1e9
            if ev.kind == "irq":
                (irq_on if ev.fields.get("level", 1) else irq_off).append(ts)
            elif ev.kind == "dma":
                dma.append(ts)
            elif ev.kind in ("report", "kernel"):
                reports.append(ts)
        elif t is Mark:
            marks.append((ev.t_ns / 1e9, ev.text))
        else:
            model.feed(ev)
    shown = sorted(rows.values(), key=lambda r: -r.count)[:max_rows]
    hidden = len(rows) - len(shown)
    shown.sort(key=lambda r: r.order, reverse=True)
    extra_rows = [(label, pts, color, marker) for label, pts, color, marker in (
        ("interrupts", irq_on, "tab:red", "v"), ("DMA", dma, "tab:green", "D"),
        ("findings", reports, "tab:purple", "X")) if pts]
    nrows = len(shown) + len(extra_rows)
    fig = figure_cls(figsize=(width, max(2.5, 0.28 * nrows + 1.6)), dpi=dpi)
    ax = fig.add_subplot()
    for y, row in enumerate(shown):
        if row.reads:
            ax.plot(row.reads, [y] * len(row.reads), linestyle="none", marker="o",
                    markersize=3, color="tab:blue", label="read" if y == 0 else None)
        if row.writes:
            ax.plot(row.writes, [y] * len(row.writes), linestyle="none", marker="^",
                    markersize=4, color="tab:orange", label="write" if y == 0 else None)
    base = len(shown)
    for i, (_label, pts, color, marker) in enumerate(extra_rows):
        ax.plot(pts, [base + i] * len(pts), linestyle="none", marker=marker, markersize=5,
                color=color)
    for ts in irq_on:
        ax.axvline(ts, color="tab:red", alpha=0.15, linewidth=0.8)
    for i, (ts, text) in enumerate(marks):
        ax.axvline(ts, color="0.4", linestyle="--", linewidth=0.8)
        if i < MAX_MARK_LABELS:
            ax.annotate(text[:40], (ts, 1.0), xycoords=("data", "axes fraction"),
                        rotation=90, va="top", ha="right", fontsize=7, color="0.3")
    labels = [r.label for r in shown] + [label for label, *_ in extra_rows]
    ax.set_yticks(range(nrows))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_ylim(-0.8, max(nrows, 1) - 0.2)
    ax.set_xlabel("time (s)")
    ax.grid(axis="x", alpha=0.3)
    head = title or f"{n} accesses to {len(rows)} registers"
    if hidden:
        head += f" (the {len(shown)} busiest shown)"
    ax.set_title(head, fontsize=9)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], linestyle="none", marker="o", color="tab:blue", label="read"),
               Line2D([], [], linestyle="none", marker="^", color="tab:orange", label="write")]
    ax.legend(handles=handles, loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(os.fspath(out))
    return PlotSummary(len(shown) + len(extra_rows), hidden, n, len(irq_on), len(dma),
                       len(marks), os.fspath(out))


__all__ = ["PlotSummary", "plot"]
