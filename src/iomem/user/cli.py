"""``iomem read/write/dump/set/clear/poll``: devmem-style register access on this machine.

``iomem read ADDR [WIDTH]`` and ``iomem write ADDR WIDTH VALUE`` take what
busybox devmem takes (WIDTH in bits, 8/16/32/64, or b/h/w/l) and print a read
as ``0x010000ed``: hex, zero-padded to the width. The target is a physical
address through /dev/mem unless ``--pci``, ``--uio`` or ``--vfio`` names a
device, and then ADDR is the offset in its BAR or map. Every access is one
access of the given width; ranges a kernel driver holds are read but not
written unless ``--force``.

With ``--board NAME`` the same options reach a simulated board's userspace
interfaces instead (its PCI sysfs, /dev/mem, UIO and VFIO, :mod:`iomem.user.sim`):
``--cmdline`` is that kernel's command line (``iomem=relaxed``,
``vfio.enable_unsafe_noiommu_mode=1``) and ``--bind DRIVER=DEVICE`` does what
an administrator does before using UIO or VFIO (``new_id``, ``driver_override``).
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable
from typing import Any

import click

from ..cli.common import user_errors
from .mmio import Mmio
from .target import open_target, parse_size

_WIDTH_LETTERS = {"b": 8, "h": 16, "w": 32, "l": 64}
_BYTES = {8: 1, 16: 2, 32: 4, 64: 8}


def parse_width(text: str) -> int:
    """Bits, as devmem takes them: 8/16/32/64 or b/h/w/l (l is a 64-bit long)."""
    t = text.strip().lower()
    bits = _WIDTH_LETTERS.get(t) if len(t) == 1 and not t.isdigit() else None
    if bits is None:
        try:
            bits = int(t, 0)
        except ValueError:
            bits = 0
    if bits not in _BYTES:
        raise click.BadParameter(f"{text!r}: the width is 8, 16, 32 or 64 bits (or b/h/w/l)",
                                 param_hint="WIDTH")
    return bits


_NEGATIVE = re.compile(r"-(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)")


class _NumbersCommand(click.Command):
    """A command whose arguments may be negative numbers: click alone reads ``-1`` as an
    unknown option, so such tokens pass as arguments and any other unknown option is
    still refused as one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", {})["ignore_unknown_options"] = True
        super().__init__(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        opts = [p for p in self.get_params(ctx) if isinstance(p, click.Option)]
        known = {n for p in opts for n in (*p.opts, *p.secondary_opts)}
        valued = {n for p in opts if not p.is_flag and not p.count for n in p.opts}
        skip = False
        for a in args:
            if skip:
                skip = False
            elif a == "--":
                break
            elif a.startswith("-") and len(a) > 1:
                name = a.split("=", 1)[0]
                if name in known:
                    skip = name in valued and "=" not in a
                elif not _NEGATIVE.fullmatch(a):
                    raise click.NoSuchOption(a, ctx=ctx)
        return super().parse_args(ctx, args)


def parse_number(text: str, what: str) -> int:
    try:
        return int(text.strip(), 0)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a number (0x... for hex)",
                                 param_hint=what) from None


def fmt(value: int, bits: int) -> str:
    return f"0x{value:0{bits // 4}x}"


def target_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--pci/--uio/--vfio/--devmem and the mapping flags, shared by every command."""
    opts = [
        click.option("--pci", "pci", metavar="BDF|VENDOR:DEVICE[/BAR]",
                     help="a PCI BAR through sysfs (ADDR is the offset in the BAR)"),
        click.option("--wc", is_flag=True,
                     help="with --pci: map resourceN_wc (write-combining, prefetchable BARs)"),
        click.option("--uio", "uio", metavar="NAME|uioN[/MAP]",
                     help="a UIO map (ADDR is the offset in the map)"),
        click.option("--vfio", "vfio", metavar="BDF[/REGION]",
                     help="a VFIO region of a device bound to vfio-pci (ADDR is the offset)"),
        click.option("--devmem", is_flag=True,
                     help="a physical address through /dev/mem (the default)"),
        click.option("--force", is_flag=True,
                     help="write even where /proc/iomem says a kernel driver holds the range"),
        click.option("--enable", is_flag=True,
                     help="turn on a PCI function whose memory decode is off"),
        click.option("--root", "root", default="/", hidden=True, envvar="IOMEM_HOST_ROOT"),
        click.option("--board", "board", default=None, metavar="NAME|FILE",
                     help="a simulated board instead of this machine (pc, virt, ...)"),
        click.option("--cmdline", "cmdline", default="", metavar="TEXT",
                     help="with --board: the simulated kernel's command line "
                          "(e.g. iomem=relaxed)"),
        click.option("--bind", "binds", multiple=True, metavar="DRIVER=DEVICE",
                     help="with --board: bind a driver first (uio_pci_generic, vfio-pci, edu), "
                          "e.g. uio_pci_generic=1234:11e8"),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _open(kw: dict[str, Any], addr: int, length: int, write: bool) -> tuple[Mmio, int, int]:
    """Map the target; returns (mapping, offset of ADDR in it, address shown for offset 0)."""
    chosen = [k for k in ("pci", "uio", "vfio") if kw.get(k)] + (["devmem"] if kw["devmem"]
                                                                   else [])
    if len(chosen) > 1:
        raise click.UsageError(f"choose one target, not {' and '.join('--' + c for c in chosen)}")
    if kw["wc"] and not kw.get("pci"):
        raise click.UsageError("--wc goes with --pci")
    if kw.get("board"):
        return _open_sim(kw, chosen, addr, length, write)
    if kw.get("cmdline") or kw.get("binds"):
        raise click.UsageError("--cmdline and --bind go with --board")
    common = {"write": write, "force": kw["force"], "enable": kw["enable"], "root": kw["root"]}
    if kw.get("pci"):
        m = open_target(f"{'pci-wc' if kw['wc'] else 'pci'}:{kw['pci']}", **common)
    elif kw.get("uio"):
        m = open_target(f"uio:{kw['uio']}", **common)
    elif kw.get("vfio"):
        m = open_target(f"vfio:{kw['vfio']}", **common)
    else:
        if addr < 0:
            raise click.BadParameter("a physical address is not negative", param_hint="ADDR")
        m = open_target(f"devmem:{addr:#x}+{max(length, 1):#x}", **common)
        return m, 0, addr
    return m, addr, 0


def _open_sim(kw: dict[str, Any], chosen: list[str], addr: int, length: int,
              write: bool) -> tuple[Mmio, int, int]:
    """The same targets on a simulated board: boot it, bind, open through its userspace side."""
    from ..cli.common import resolve_board
    from .sim import boot_sim, open_sim

    binds = []
    for b in kw.get("binds") or ():
        drv, eq, dev = b.partition("=")
        if not eq or not drv or not dev:
            raise click.BadParameter(f"{b!r}: use DRIVER=DEVICE, e.g. uio_pci_generic=1234:11e8",
                                     param_hint="--bind")
        binds.append((drv, dev))
    resolve_board(kw["board"])  # a clear --board error before anything boots
    k = boot_sim(kw["board"], kw.get("cmdline") or "", binds)
    opts = {"write": write, "force": kw["force"], "enable": kw["enable"]}
    kind = chosen[0] if chosen else "devmem"
    if kind == "devmem":
        if addr < 0:
            raise click.BadParameter("a physical address is not negative", param_hint="ADDR")
        return open_sim(k, f"devmem:{addr:#x}+{max(length, 1):#x}", **opts), 0, addr
    if kind == "pci":
        kind = "pci-wc" if kw["wc"] else "pci"
    return open_sim(k, f"{kind}:{kw[chosen[0]]}", **opts), addr, 0


def _session(write: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Open the mapping the options name around a command body ``body(m, off, shown, ...)``."""
    def deco(body: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(body)
        def run(addr: str, length: int, kw: dict[str, Any], *args: Any) -> Any:
            a = parse_number(addr, "ADDR")
            m, off, shown = _open(kw, a, length, write)
            with m:
                return body(m, off, shown, *args)
        return run
    return deco


def _access(m: Mmio, bits: int, off: int) -> int:
    return m.read(off, _BYTES[bits])


@_session(write=False)
def _do_read(m: Mmio, off: int, _shown: int, bits: int) -> None:
    click.echo(fmt(_access(m, bits, off), bits))


@click.command("read")
@target_options
@click.argument("addr")
@click.argument("width", default="32")
@user_errors
def read_cmd(addr: str, width: str, **kw: Any) -> None:
    """Read one WIDTH-bit value (default 32) at ADDR, as devmem does."""
    bits = parse_width(width)
    _do_read(addr, _BYTES[bits], kw, bits)


@_session(write=True)
def _do_write(m: Mmio, off: int, _shown: int, bits: int, value: int) -> None:
    m.write(off, _BYTES[bits], value)


@click.command("write", cls=_NumbersCommand)
@target_options
@click.argument("addr")
@click.argument("width")
@click.argument("value")
@user_errors
def write_cmd(addr: str, width: str, value: str, **kw: Any) -> None:
    """Write VALUE as one WIDTH-bit store at ADDR, as devmem does (a negative VALUE is
    stored as its two's complement, as writel(-1, ...) is)."""
    bits = parse_width(width)
    v = parse_number(value, "VALUE")
    if not -(1 << (bits - 1)) <= v < 1 << bits:
        raise click.BadParameter(f"{value} does not fit in {bits} bits", param_hint="VALUE")
    _do_write(addr, _BYTES[bits], kw, bits, v & ((1 << bits) - 1))


def dump_lines(words: list[int], bits: int, start: int, per_line: int = 16) -> list[str]:
    """hexdump-style lines: address, the words of 16 bytes; a run of lines equal to the
    one before them becomes one ``*``; the address after the last byte ends the dump."""
    n = per_line * 8 // bits
    lines: list[str] = []
    prev: list[int] | None = None
    starred = False
    for i in range(0, len(words), n):
        chunk = words[i:i + n]
        if chunk == prev and len(chunk) == n:
            if not starred:
                lines.append("*")
                starred = True
            continue
        prev, starred = chunk, False
        addr = start + i * bits // 8
        lines.append(f"{addr:08x}  " + " ".join(f"{w:0{bits // 4}x}" for w in chunk))
    lines.append(f"{start + len(words) * bits // 8:08x}")
    return lines


@_session(write=False)
def _do_dump(m: Mmio, off: int, shown: int, bits: int, count: int) -> None:
    size = _BYTES[bits]
    if off < 0 or off + count * size > m.size:
        raise click.ClickException(
            f"dump: {count * size:#x} bytes at {off:#x} run past the {m.size:#x}-byte "
            "mapping; nothing was read")
    words = [m.read(off + i * size, size) for i in range(count)]
    click.echo("\n".join(dump_lines(words, bits, shown + off if shown else off)))


@click.command("dump")
@target_options
@click.argument("addr")
@click.argument("length")
@click.option("--width", "width", default="32", show_default=True,
              help="access width in bits (8/16/32/64)")
@user_errors
def dump_cmd(addr: str, length: str, width: str, **kw: Any) -> None:
    """Dump LENGTH bytes from ADDR with WIDTH-bit reads; repeated lines become '*'."""
    bits = parse_width(width)
    n = parse_size(length)
    size = _BYTES[bits]
    if n <= 0 or n % size:
        raise click.BadParameter(f"{length} is not a positive multiple of {size} bytes",
                                 param_hint="LENGTH")
    _do_dump(addr, n, kw, bits, n // size)


@_session(write=True)
def _do_rmw(m: Mmio, off: int, _shown: int, bits: int, mask: int, setting: bool) -> None:
    size = _BYTES[bits]
    old = m.read(off, size)
    new = (old | mask) if setting else (old & ~mask & ((1 << bits) - 1))
    m.write(off, size, new)
    click.echo(f"{fmt(old, bits)} -> {fmt(new, bits)}")


def _rmw_command(name: str, setting: bool) -> click.Command:
    verb = "Set" if setting else "Clear"

    @click.command(name)
    @target_options
    @click.argument("addr")
    @click.argument("bits_value", metavar="BITS")
    @click.option("--width", "width", default="32", show_default=True,
                  help="access width in bits (8/16/32/64)")
    @user_errors
    def cmd(addr: str, bits_value: str, width: str, **kw: Any) -> None:
        bits = parse_width(width)
        mask = parse_number(bits_value, "BITS")
        if not 0 <= mask < 1 << bits:
            raise click.BadParameter(f"{bits_value} does not fit in {bits} bits",
                                     param_hint="BITS")
        _do_rmw(addr, _BYTES[bits], kw, bits, mask, setting)

    cmd.help = (f"{verb} BITS (a mask) at ADDR: one read, one write of the same width; "
                f"prints old -> new.")
    return cmd


set_cmd = _rmw_command("set", True)
clear_cmd = _rmw_command("clear", False)


@_session(write=False)
def _do_poll(m: Mmio, off: int, _shown: int, bits: int, mask: int, want: int, timeout: float,
             interval: float) -> None:
    size = _BYTES[bits]
    deadline = time.monotonic() + timeout
    while True:
        v = m.read(off, size)
        if v & mask == want:
            click.echo(fmt(v, bits))
            return
        if time.monotonic() >= deadline:
            raise click.ClickException(
                f"timed out after {timeout:g} s: last read {fmt(v, bits)}, "
                f"& {fmt(mask, bits)} = {fmt(v & mask, bits)}, waiting for {fmt(want, bits)}")
        if interval:
            time.sleep(interval)


@click.command("poll")
@target_options
@click.argument("addr")
@click.argument("mask")
@click.argument("value")
@click.option("--width", "width", default="32", show_default=True,
              help="access width in bits (8/16/32/64)")
@click.option("--timeout", type=click.FloatRange(min=0, max=86400), default=1.0,
              show_default=True, help="seconds")
@click.option("--interval", type=click.FloatRange(min=0, max=60), default=0.001,
              show_default=True,
              help="seconds between reads")
@user_errors
def poll_cmd(addr: str, mask: str, value: str, width: str, timeout: float, interval: float,
             **kw: Any) -> None:
    """Read ADDR until (value & MASK) == VALUE; print the last read. Exit 1 on timeout."""
    for opt, secs in (("--timeout", timeout), ("--interval", interval)):
        if not math.isfinite(secs):
            raise click.BadParameter(f"{secs!r} is not a number of seconds", param_hint=opt)
    bits = parse_width(width)
    m_ = parse_number(mask, "MASK")
    want = parse_number(value, "VALUE")
    if want & ~m_:
        raise click.BadParameter(f"{value} has bits outside MASK {mask}; it can never match",
                                 param_hint="VALUE")
    _do_poll(addr, _BYTES[bits], kw, bits, m_, want, timeout, interval)


COMMANDS = (read_cmd, write_cmd, dump_cmd, set_cmd, clear_cmd, poll_cmd)
