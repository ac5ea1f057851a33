"""mkdocs hooks of the guide: the pages and pictures made during the build.

- ``cli.md``: the command-line reference, from click's own help of ``iomem``
  and of every subcommand (groups included);
- ``img/*.svg``: pictures drawn from the real objects of freshly booted
  simulated kernels: the physical memory maps of the built-in boards (their
  flat views), the resource tree of the ``pc`` board (``k.iomem_resource``)
  and an access timeline of the edu device (a recording by
  :mod:`iomem.trace`).

Nothing here is written into ``docs/``: the files exist only in the build.
"""

from __future__ import annotations

from html import escape
from typing import Any

import click
from mkdocs.structure.files import File, Files

# -- the CLI reference -----------------------------------------------------------------


def _commands(cmd: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    out = [(path, cmd)]
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.commands):
            out.extend(_commands(cmd.commands[name], [*path, name]))
    return out


def cli_reference() -> str:
    from iomem.cli.main import cli

    parts = ["# Command-line reference\n",
             "Generated while the site is built, from the `--help` of `iomem` and of each "
             "of its subcommands; every command shown here is the installed one.\n"]
    for path, cmd in _commands(cli, ["iomem"]):
        parent: click.Context | None = None
        for i, name in enumerate(path):
            parent = click.Context(cli if i == 0 else _lookup(cli, path[1:i + 1]),
                                   info_name=name, parent=parent)
        assert parent is not None
        text = cmd.get_help(parent)
        level = "#" * min(len(path) + 1, 4)
        parts.append(f"{level} `{' '.join(path)}`\n\n```text\n{text}\n```\n")
    return "\n".join(parts)


def _lookup(group: click.Command, names: list[str]) -> click.Command:
    cmd = group
    for n in names:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[n]
    return cmd


# -- pictures ---------------------------------------------------------------------------

FONT = "font-family='DejaVu Sans Mono, monospace'"
COLOURS = {"ram": "#cfe8cf", "rom": "#f3e3b5", "i/o": "#c9dcf2", "gap": "#f4f4f4"}


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}'>\n<title>{escape(title)}</title>\n"
            f"<rect width='{width}' height='{height}' fill='white'/>\n"
            + "\n".join(body) + "\n</svg>\n")


def _text(x: float, y: float, s: str, extra: str = "", size: int = 12) -> str:
    return f"<text x='{x}' y='{y}' {FONT} font-size='{size}' {extra}>{escape(s)}</text>"


def memory_map_svg(board: str) -> str:
    """The board's physical address space, one row per piece of its flat view (not to
    scale: gaps are rows too), coloured by kind."""
    import iomem

    k = iomem.boot(board)
    rows: list[tuple[int, int, str, str]] = []
    pos = 0
    for fr in k.machine.memory.flat_view():
        if fr.start > pos:
            rows.append((pos, fr.start - 1, "(nothing: a bus error)", "gap"))
        rows.append((fr.start, fr.end, fr.region.name, fr.region.kind))
        pos = fr.end + 1
    top = (1 << 48) - 1 if k.arch.name == "arm64" else (1 << 40) - 1
    if pos <= top:
        rows.append((pos, top, "(nothing: a bus error)", "gap"))
    h, w = 26, 640
    body = [_text(10, 20, f"{board}: the physical address space (k.machine.memory)",
                  "font-weight='bold'")]
    for i, (s, e, name, kind) in enumerate(reversed(rows)):
        y = 34 + i * h
        body.append(f"<rect x='200' y='{y}' width='{w - 210}' height='{h - 2}' "
                    f"fill='{COLOURS.get(kind, '#ddd')}' stroke='#666'/>")
        body.append(_text(10, y + 16, f"{s:#014x}"))
        body.append(_text(210, y + 16, f"{name}  [{kind}, {_size(e - s + 1)}]"))
    return _svg(w, 44 + len(rows) * h, body, f"{board} memory map")


def _size(n: int) -> str:
    for unit in ("", "K", "M", "G", "T"):
        if n % 1024 or unit == "T":
            return f"{n} {unit}iB".replace(" iB", " B")
        n //= 1024
    return str(n)


def resource_tree_svg(board: str) -> str:
    """``k.iomem_resource`` as a tree: one row per resource, indented by depth, BUSY
    ones filled, windows and containers outlined."""
    import iomem
    from iomem import IORESOURCE_BUSY, IORESOURCE_SYSRAM, IORESOURCE_WINDOW

    k = iomem.boot(board)
    rows: list[tuple[int, Any]] = []

    def walk(res: Any, depth: int) -> None:
        for child in res.children:
            rows.append((depth, child))
            walk(child, depth + 1)

    walk(k.iomem_resource, 0)
    h, w = 22, 760
    body = [_text(10, 18, f"{board}: the resource tree (k.iomem_resource)",
                  "font-weight='bold'"),
            _text(10, 36, "filled: BUSY (claimed)   green: System RAM   dashed: bridge window",
                  "fill='#555'")]
    for i, (depth, r) in enumerate(rows):
        y = 48 + i * h
        x = 10 + depth * 28
        if depth:
            body.append(f"<path d='M{x - 18} {y - 8} V{y + 9} H{x}' fill='none' "
                        "stroke='#999'/>")
        fill = ("#cfe8cf" if r.flags & IORESOURCE_SYSRAM else
                "#c9dcf2" if r.flags & IORESOURCE_BUSY else "white")
        dash = " stroke-dasharray='4 3'" if r.flags & IORESOURCE_WINDOW else ""
        body.append(f"<rect x='{x}' y='{y}' width='{w - x - 10}' height='{h - 4}' "
                    f"fill='{fill}' stroke='#666'{dash}/>")
        body.append(_text(x + 6, y + 13, f"{r.start:08x}-{r.end:08x} : {r.name}"))
    return _svg(w, 56 + len(rows) * h, body, f"{board} resource tree")


EDU_REGS = {0x08: "FACT 0x08", 0x20: "STATUS 0x20", 0x24: "IRQ_STATUS 0x24",
            0x64: "IRQ_ACK 0x64"}


def access_timeline_svg() -> str:
    """A recorded run of the edu device on ``pc``: a factorial by polling, then the
    interrupt acknowledged; accesses, delays and the interrupt line against virtual time."""
    import iomem
    import iomem.trace as T

    k = iomem.boot("pc")
    with k, T.record() as rec:
        base = iomem.ioremap(0xFEA00000, 0x100)
        iomem.writel(0x80, base + 0x20)  # raise an interrupt when done
        iomem.writel(6, base + 0x08)
        while iomem.readl(base + 0x20) & 1:
            iomem.udelay(1)
        iomem.readl(base + 0x08)
        iomem.writel(iomem.readl(base + 0x24), base + 0x64)
        iomem.iounmap(base)
    events = list(rec.events())
    maps = [e for e in events if isinstance(e, T.Map)]
    phys0 = maps[0].phys
    lanes = [*EDU_REGS.values(), "udelay", "irq 11"]
    marks: list[tuple[int, str, str, str]] = []  # (t, lane, label, colour)
    for e in events:
        if isinstance(e, T.Rw):
            lane = EDU_REGS.get(e.phys - phys0, f"{e.phys - phys0:#x}")
            marks.append((e.t_ns, lane, f"{e.op} {e.value:#x}",
                          "#1f77b4" if e.op == "R" else "#d62728"))
        elif isinstance(e, T.Info) and e.kind == "delay":
            marks.append((e.t_ns, "udelay", f"{e.fields['ns'] // 1000}us", "#7f7f7f"))
        elif isinstance(e, T.Info) and e.kind == "irq":
            marks.append((e.t_ns, "irq 11", "high" if e.fields["level"] else "low",
                          "#2ca02c"))
    t0, t1 = marks[0][0], marks[-1][0]
    left, w, lane_h = 130, 900, 44
    span = max(t1 - t0, 1)

    def x(t: int) -> float:
        return round(left + (t - t0) * (w - left - 60) / span, 1)

    body = [_text(10, 18, "edu on pc: a factorial by polling, then the interrupt acked "
                  "(red: writel, blue: readl)", "font-weight='bold'")]
    for i, lane in enumerate(lanes):
        y = 40 + i * lane_h
        body.append(f"<line x1='{left}' y1='{y + 20}' x2='{w - 20}' y2='{y + 20}' "
                    "stroke='#ccc'/>")
        body.append(_text(10, y + 24, lane))
    last_x: dict[str, float] = {}
    for t, lane, label, colour in marks:
        i = lanes.index(lane) if lane in lanes else 0
        y = 40 + i * lane_h
        body.append(f"<circle cx='{x(t)}' cy='{y + 20}' r='4' fill='{colour}'/>")
        if x(t) - last_x.get(lane, -1e9) > 46:
            body.append(_text(x(t) - 10, y + 10, label, f"fill='{colour}'", size=10))
            last_x[lane] = x(t)
    y = 40 + len(lanes) * lane_h
    body.append(f"<line x1='{left}' y1='{y}' x2='{w - 20}' y2='{y}' stroke='#333'/>")
    for frac in (0, 0.25, 0.5, 0.75, 1):
        t = t0 + int(span * frac)
        body.append(_text(x(t) - 20, y + 16, f"{(t - t0) / 1000:.1f}us"))
    body.append(_text(left, y + 34, f"virtual time from {t0 / 1000:.1f} us after boot",
                      "fill='#555'"))
    return _svg(w, y + 44, body, "edu access timeline")


def pictures() -> dict[str, str]:
    return {"img/virt-memory-map.svg": memory_map_svg("virt"),
            "img/pc-memory-map.svg": memory_map_svg("pc"),
            "img/pc-resource-tree.svg": resource_tree_svg("pc"),
            "img/access-timeline.svg": access_timeline_svg()}


# -- the mkdocs hook --------------------------------------------------------------------


def on_files(files: Files, config: Any, **_: Any) -> Files:
    files.append(File.generated(config, "cli.md", content=cli_reference()))
    for path, svg in pictures().items():
        files.append(File.generated(config, path, content=svg))
    return files
