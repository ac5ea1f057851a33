"""``iomem trace``: record, show, count, compare, replay and plot MMIO traces.

    iomem trace record -o t.txt -- iomem run driver.py     # or: -- python script.py
    iomem trace show t.txt --regs 00:04.0=edu
    iomem trace stats t.txt [--json]
    iomem trace diff a.txt b.jsonl --polls
    iomem trace replay t.txt --board pc                    # or --real (asks first)
    iomem trace plot t.txt -o t.png
    iomem trace convert t.jsonl -o t.txt

Files are mmiotrace text (what the kernel's trace_pipe gives), JSON lines
(iomem's lossless form) or rwmmio tracepoint lines, told apart by their
first line; ``.gz`` files are read through gzip.
"""

from __future__ import annotations

import itertools
import os
import runpy
import sys
import traceback
from collections.abc import Iterator
from typing import Any

import click

from ..cli.common import user_errors
from .recorder import FORMATS, Recorder, format_for


def _regs_option(fn: Any) -> Any:
    fn = click.option("--regs", "regs", multiple=True, metavar="[WHICH=]MAP",
                      help="decode with a register map: a built-in name (edu, e1000) or a "
                           ".json/.svd/.rdl file, for the mappings WHICH names (a map id, "
                           "00:04.0, 1234:11e8, 0xfea00000) or for all others")(fn)
    return click.option("--no-builtin-regs", is_flag=True,
                        help="do not pick register maps by PCI vendor:device")(fn)


def _skip_option(fn: Any) -> Any:
    return click.option("--skip-bad", is_flag=True,
                        help="pass over lines that are not trace records (they are counted "
                             "and the first ones shown) instead of stopping at the first")(fn)


def _registers(regs: tuple[str, ...], no_builtin: bool) -> Any:
    from .model import Registers

    return Registers.from_specs(list(regs), builtin=not no_builtin)


def _events(path: str, skip_bad: bool, skipped: list) -> Iterator[Any]:
    from .reader import read

    return read(path, skip_bad=skip_bad, skipped=skipped)


def _report_skipped(path: str, skipped: list, shown: int = 5) -> None:
    if not skipped:
        return
    click.echo(f"{path}: skipped {len(skipped)} line(s) that are not trace records:", err=True)
    for lineno, why, line in skipped[:shown]:
        click.echo(f"  {path}:{lineno}: {why}: {line[:80]!r}", err=True)


@click.group("trace")
def trace() -> None:
    """Record, show, count, compare, replay and plot MMIO traces (mmiotrace format)."""


# -- record -----------------------------------------------------------------------------------

@trace.command("record", context_settings={"ignore_unknown_options": True,
                                           "allow_interspersed_args": False})
@click.option("-o", "--output", default="trace.txt", show_default=True, metavar="FILE",
              help="where the trace goes (.jsonl: JSON lines, .rwmmio: tracepoint lines, "
                   "else mmiotrace text; '-': stdout)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="the format, whatever the file is called")
@click.option("--ring", type=int, default=None, metavar="N",
              help="keep only the last N events in memory and write them at the end "
                   "(default: stream everything to the file)")
@click.option("--no-kernel", is_flag=True, help="do not record the simulated kernel")
@click.option("--no-user", is_flag=True, help="do not record userspace mappings")
@click.option("--no-sites", is_flag=True,
              help="do not look up the driver's line of each access (faster; pc is 0)")
@click.option("--existing", is_flag=True,
              help="also record kernel mappings made before recording started")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@user_errors
def record_cmd(output: str, fmt: str | None, ring: int | None, no_kernel: bool, no_user: bool,
               no_sites: bool, existing: bool, command: tuple[str, ...]) -> None:
    """Run COMMAND (an iomem command or a Python script) and record its MMIO.

    \b
    iomem trace record -o edu.txt -- iomem run --board pc edu_script.py
    iomem trace record -o t.jsonl -- python my_driver.py --flag
    """
    target: Any = sys.stdout if output == "-" else output
    rec = Recorder(target, format=fmt or format_for(output), ring=ring, kernel=not no_kernel,
                   user=not no_user, sites=not no_sites, existing=existing)
    runner = _runner(list(command))
    with rec:
        status = runner()
    if output != "-":
        lost = f", {rec.lost} lost (ring of {ring})" if ring and rec.lost else ""
        click.echo(f"iomem trace: {rec.format} trace written to {output}{lost}", err=True)
    sys.exit(status)


def _runner(argv: list[str]) -> Any:
    """A function running ``argv`` in this process (so the recorder sees it); its
    result is the exit status."""
    head = os.path.basename(argv[0])
    if head == "iomem":
        return lambda: _run_iomem(argv[1:])
    if head.startswith("python") or head == os.path.basename(sys.executable):
        rest = argv[1:]
        if rest[:1] == ["-m"] and len(rest) > 1:
            return lambda: _run_python(rest[1], rest[2:], module=True)
        if rest and not rest[0].startswith("-"):
            return lambda: _run_python(rest[0], rest[1:], module=False)
        raise click.UsageError("record runs 'python SCRIPT.py ...' or 'python -m MODULE ...'")
    if argv[0].endswith(".py"):
        return lambda: _run_python(argv[0], argv[1:], module=False)
    raise click.UsageError(
        f"record runs what it can watch from inside this process: an iomem command or a "
        f"Python script, not {argv[0]!r} (a real kernel driver's MMIO is recorded by the "
        f"kernel's own mmiotrace: echo mmiotrace > /sys/kernel/tracing/current_tracer)")


def _exit_status(e: SystemExit) -> int:
    return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)


def _run_iomem(args: list[str]) -> int:
    from ..cli.main import cli

    try:
        rv = cli.main(args=args, prog_name="iomem", standalone_mode=False)
    except SystemExit as e:
        return _exit_status(e)
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    return rv if isinstance(rv, int) else 0


def _run_python(target: str, args: list[str], module: bool) -> int:
    if not module and not os.path.isfile(target):
        raise click.BadParameter(f"no such file: {target}", param_hint="COMMAND")
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [target, *args]
    if not module:
        sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
    try:
        if module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        return _exit_status(e)
    except Exception:  # noqa: BLE001 - the script's own error: shown as Python shows it
        traceback.print_exc()
        return 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0


# -- show, stats ----------------------------------------------------------------------------------

@trace.command("show")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_regs_option
@click.option("--map", "maps", type=int, multiple=True, metavar="ID",
              help="only the accesses of this map id (repeatable)")
@click.option("--accesses", is_flag=True, help="only the reads and writes")
@click.option("--sites", is_flag=True, help="the driver's file:line (JSON-lines traces)")
@click.option("--limit", type=int, default=None, metavar="N", help="stop after N lines")
@_skip_option
@user_errors
def show_cmd(file: str, regs: tuple[str, ...], no_builtin_regs: bool, maps: tuple[int, ...],
             accesses: bool, sites: bool, limit: int | None, skip_bad: bool) -> None:
    """Print FILE with register and field names instead of offsets."""
    from .show import lines

    skipped: list = []
    out = lines(_events(file, skip_bad, skipped), _registers(regs, no_builtin_regs),
                maps=set(maps) if maps else None, sites=sites, accesses_only=accesses)
    if limit is not None:
        out = itertools.islice(out, limit)
    buf: list[str] = []
    for line in out:
        buf.append(line)
        if len(buf) >= 1024:
            click.echo("\n".join(buf))
            buf.clear()
    if buf:
        click.echo("\n".join(buf))
    _report_skipped(file, skipped)


@trace.command("stats")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_regs_option
@click.option("--json", "as_json", is_flag=True, help="print the counts as JSON")
@click.option("--values", type=int, default=6, show_default=True, metavar="N",
              help="most frequent values shown per register and direction")
@_skip_option
@user_errors
def stats_cmd(file: str, regs: tuple[str, ...], no_builtin_regs: bool, as_json: bool,
              values: int, skip_bad: bool) -> None:
    """Reads, writes, widths and values per device and register."""
    from .stats import compute, render_json, render_text

    skipped: list = []
    st = compute(_events(file, skip_bad, skipped))
    registers = _registers(regs, no_builtin_regs)
    click.echo(render_json(st, registers) if as_json else render_text(st, registers, values),
               nl=as_json)
    _report_skipped(file, skipped)


# -- diff -----------------------------------------------------------------------------------------

@trace.command("diff")
@click.argument("a", type=click.Path(exists=True, dir_okay=False))
@click.argument("b", type=click.Path(exists=True, dir_okay=False))
@click.option("--polls", is_flag=True,
              help="fold each run of reads of one register into its last read (poll "
                   "loops run as long as timing makes them)")
@click.option("--pc", is_flag=True, help="also compare code addresses")
@click.option("--pair", type=click.Choice(["auto", "key", "order"]), default="auto",
              show_default=True,
              help="match mappings by device/address (key), by first use (order), or key "
                   "when both traces use the same ones")
@click.option("--context", type=int, default=3, show_default=True, metavar="N",
              help="accesses shown before the first difference")
@_regs_option
@_skip_option
@user_errors
def diff_cmd(a: str, b: str, polls: bool, pc: bool, pair: str, context: int,
             regs: tuple[str, ...], no_builtin_regs: bool, skip_bad: bool) -> None:
    """Where traces A and B first differ, and a summary (times ignored; exit 1 if they
    differ)."""
    from .diff import diff

    sa: list = []
    sb: list = []
    res = diff(_events(a, skip_bad, sa), _events(b, skip_bad, sb), names=(a, b), polls=polls,
               pc=pc, pair=pair, context=context)
    click.echo(res.render(_registers(regs, no_builtin_regs)), nl=False)
    _report_skipped(a, sa)
    _report_skipped(b, sb)
    sys.exit(0 if res.identical else 1)


# -- replay ---------------------------------------------------------------------------------------

@trace.command("replay")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--board", default="pc", show_default=True, metavar="NAME",
              help="the simulated board to replay on")
@click.option("--real", is_flag=True,
              help="replay on this machine's hardware through the userspace API "
                   "(PCI sysfs by the trace's PCIDEV lines, else /dev/mem); asks first")
@click.option("--map", "targets", multiple=True, metavar="WHICH=TARGET",
              help="with --real: where a mapping goes (e.g. 1=pci:0000:00:04.0/0, "
                   "00:04.0=uio:uio0, 0xfea00000=devmem:0xfea00000+1M)")
@click.option("--yes", is_flag=True, help="with --real: do not ask before writing")
@click.option("--force", is_flag=True, help="with --real: map ranges a driver holds")
@click.option("--polls", is_flag=True,
              help="re-read a polled register until it returns the run's last value")
@click.option("--no-check", is_flag=True, help="make the reads but do not compare them")
@click.option("--no-timing", is_flag=True,
              help="on a simulated board, do not let the trace's time pass between accesses")
@_regs_option
@_skip_option
@user_errors
def replay_cmd(file: str, board: str, real: bool, targets: tuple[str, ...], yes: bool,
               force: bool, polls: bool, no_check: bool, no_timing: bool,
               regs: tuple[str, ...], no_builtin_regs: bool, skip_bad: bool) -> None:
    """Make FILE's writes again and check that its reads return what it recorded."""
    from .replay import SimTarget, UserTarget, replay

    if targets and not real:
        raise click.UsageError("--map is for --real (a simulated board maps what the trace "
                               "mapped)")
    target: Any
    if real:
        mapping = {}
        for t in targets:
            which, eq, spec = t.partition("=")
            if not eq:
                raise click.BadParameter(f"{t!r} is not WHICH=TARGET", param_hint="--map")
            mapping[which] = spec
        target = UserTarget(mapping, force=force)
        if not yes:
            _confirm_real(file, target, skip_bad)
    else:
        from ..cli.common import resolve_board

        resolve_board(board)  # a clear error for an unknown board
        target = SimTarget(board, timing=not no_timing)
    skipped: list = []
    rep = replay(_events(file, skip_bad, skipped), target, polls=polls, check=not no_check)
    click.echo(rep.render(_registers(regs, no_builtin_regs)), nl=False)
    _report_skipped(file, skipped)
    sys.exit(0 if rep.ok else 1)


def _confirm_real(file: str, target: Any, skip_bad: bool) -> None:
    from .diff import accesses
    from .reader import read

    seen: dict[int, Any] = {}
    writes = 0
    for a in accesses(read(file, skip_bad=skip_bad)):
        seen.setdefault(id(a.mi), a.mi)
        writes += a.op == "W"
    click.echo(f"{file} makes {writes} writes to real hardware:", err=True)
    for mi in seen.values():
        spec, base = target.spec(mi)
        click.echo(f"  {mi.label} ({mi.describe()}) -> {spec}"
                   + (f" +0x{base:x}" if base else ""), err=True)
    click.confirm("Replay these writes on this machine's devices?", abort=True, err=True)


# -- plot, convert --------------------------------------------------------------------------------

@trace.command("plot")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, metavar="FILE.png|.svg",
              help="the picture (the format follows the name)")
@click.option("--max-rows", type=int, default=40, show_default=True, metavar="N",
              help="draw the N busiest registers")
@click.option("--title", default=None, help="the plot's title")
@_regs_option
@_skip_option
@user_errors
def plot_cmd(file: str, output: str, max_rows: int, title: str | None, regs: tuple[str, ...],
             no_builtin_regs: bool, skip_bad: bool) -> None:
    """A timeline of accesses per register, with interrupts, DMA and marks."""
    from .plot import plot

    skipped: list = []
    s = plot(_events(file, skip_bad, skipped), output,
             registers=_registers(regs, no_builtin_regs), max_rows=max_rows, title=title)
    hidden = f" ({s.hidden_rows} quieter registers not drawn)" if s.hidden_rows else ""
    click.echo(f"{output}: {s.accesses} accesses on {s.rows} rows{hidden}, {s.irqs} "
               f"interrupts, {s.dma} DMA events, {s.marks} marks")
    _report_skipped(file, skipped)


@trace.command("convert")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, metavar="FILE",
              help="where to write (the format follows the name, as for record)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None)
@_skip_option
@user_errors
def convert_cmd(file: str, output: str, fmt: str | None, skip_bad: bool) -> None:
    """Rewrite FILE in another format (JSON lines -> mmiotrace keeps what mmiotrace can
    say; iomem's own events become MARK lines)."""
    from . import jsonl, mmiotrace, rwmmio

    fmt = fmt or format_for(output)
    skipped: list = []
    events = _events(file, skip_bad, skipped)
    with click.open_file(output, "w") as fh:
        if fmt == "mmiotrace":
            n = mmiotrace.write((_plain(e) for e in events), fh)
        elif fmt == "jsonl":
            n = jsonl.write(events, fh)
        else:
            fh.write("# tracer: nop\n#\n")
            n = rwmmio.write(events, fh)
    if output != "-":
        click.echo(f"{output}: {n} lines ({fmt})", err=True)
    _report_skipped(file, skipped)


def _plain(ev: Any) -> Any:
    """mmiotrace text has no room for extras: drop them."""
    return ev._replace(extra=None) if getattr(ev, "extra", None) else ev


__all__ = ["trace"]
