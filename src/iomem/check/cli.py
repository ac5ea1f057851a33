"""``iomem run``: run a driver script under the sanitizer and the CPU memory model.

    iomem run [--check] [--board B] [--model M] SCRIPT.py [ARGS]...

The board is booted first and made the current kernel, so a script can call
``ioremap``/``readl`` straight away; kernels the script boots itself get the
same memory model and the sanitizer.  When the script ends (or stops on an
oops or a sparse error), what is still in flight lands, leaks are looked
for, and every report is printed: as text on stderr, and as JSON
with ``--json FILE`` (opened before the script runs: a FILE that cannot be
written is a usage error).  With ``--json -`` stdout is the JSON document
alone: the script's own output goes to stderr while it runs.  ``--check``
makes the exit status 1 when there are errors (or warnings, with
``--fail-on warning``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO

import click

from ..cpu import MODES
from .report import render_json, render_text
from .rules import table
from .runner import run_script


@click.command("run", context_settings={"ignore_unknown_options": True,
                                        "allow_interspersed_args": False})
@click.option("--check", "check", is_flag=True,
              help="exit with status 1 when the sanitizer reports errors")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default="error",
              show_default=True, help="with --check: the least severe report that fails")
@click.option("--board", "board", default="lab", show_default=True, metavar="NAME|FILE",
              help="board to boot before the script runs")
@click.option("--model", "model", type=click.Choice(MODES), default="realistic",
              show_default=True, help="CPU memory model")
@click.option("--seed", type=int, default=None,
              help="adversarial write-combining flush order from this PRNG seed")
@click.option("--no-sanitize", is_flag=True, help="run without the sanitizer")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, allow_dash=True),
              default=None, metavar="FILE",
              help="also write the reports as JSON to FILE; '-': stdout, which then holds "
                   "only the JSON (the script's own output goes to stderr)")
@click.option("--events", is_flag=True,
              help="print the memory model's events as mmiotrace MARK lines")
@click.option("--rules", "list_rules", is_flag=True, help="list the rules and exit")
@click.argument("script", required=False, type=click.Path(dir_okay=False))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(check: bool, fail_on: str, board: str, model: str, seed: int | None,
        no_sanitize: bool, json_out, events: bool, list_rules: bool,
        script: str | None, args: tuple[str, ...]) -> None:
    """Run SCRIPT.py (a driver and the code that drives it) under the MMIO sanitizer."""
    if list_rules:
        click.echo(table())
        return
    if script is None:
        raise click.UsageError("missing SCRIPT.py (or --rules)")
    if not os.path.isfile(script):
        raise click.BadParameter(f"no such file: {script}", param_hint="SCRIPT")
    from ..cli.common import resolve_board
    from . import lab  # noqa: F401 - the pitfall lab board

    the_board = resolve_board(board)
    to_stdout = json_out == "-"
    json_file = _open_json(json_out, script) if json_out and not to_stdout else None
    try:
        _run(script, args, the_board, model, seed, not no_sanitize, check, fail_on, events,
             sys.stdout if to_stdout else json_file, to_stdout)
    finally:
        if json_file is not None:
            json_file.close()


def _open_json(path: str, script: str) -> TextIO:
    """The JSON destination, opened before anything runs: a path that cannot be written
    is a usage error, not a surprise after the script ran."""
    ctx = click.get_current_context()
    param = next(p for p in ctx.command.params if p.name == "json_out")
    if os.path.exists(path) and os.path.samefile(path, script):
        raise click.BadParameter(f"'{click.format_filename(path)}' is SCRIPT itself; "
                                 "writing the reports there would overwrite it",
                                 ctx=ctx, param=param)
    try:
        return open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by run()
    except OSError as e:
        raise click.BadParameter(f"'{click.format_filename(path)}': "
                                 f"{e.strerror or e}", ctx=ctx, param=param) from None


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """While the script runs, what it prints goes to stderr: Python's ``sys.stdout`` and,
    when stdout is a real file descriptor, fd 1 too (a subprocess, a C extension)."""
    sys.stdout.flush()
    saved = None
    try:
        fd = sys.stdout.fileno()
        sys.stderr.flush()
        saved = os.dup(fd)
        os.dup2(sys.stderr.fileno(), fd)
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation: no real fd
        fd = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None and fd is not None:
            os.dup2(saved, fd)
            os.close(saved)


def _run(script: str, args: tuple[str, ...], board: object, model: str, seed: int | None,
         sanitize: bool, check: bool, fail_on: str, events: bool, json_out: TextIO | None,
         json_on_stdout: bool) -> None:
    with _stdout_to_stderr() if json_on_stdout else contextlib.nullcontext():
        result = run_script(script, args, board=board, memory_model=model,
                            sanitize=sanitize, seed=seed)
    if events:
        for k in result.session.kernels:
            for ev in k.cpu.events:
                click.echo(ev.mark_line(), err=json_on_stdout)
    if sanitize and not result.ran:
        click.echo("iomem sanitizer: the script did not compile, so nothing was checked",
                   err=True)
    elif sanitize:
        click.echo(render_text(result.reports), err=True)
    if json_out is not None:
        json_out.write(render_json(result.reports) + "\n")
        json_out.flush()
    status = result.status
    if check and any(r.is_error or fail_on == "warning" for r in result.reports):
        status = status or 1
    sys.exit(status)


__all__ = ["run"]
