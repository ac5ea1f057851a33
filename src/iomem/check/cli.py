"""``iomem run``: run a driver script under the sanitizer and the CPU memory model.

    iomem run [--check] [--board B] [--model M] SCRIPT.py [ARGS]...

The board is booted first and made the current kernel, so a script can call
``ioremap``/``readl`` straight away; kernels the script boots itself get the
same memory model and the sanitizer.  When the script ends (or stops on an
oops or a sparse error), what is still in flight lands, leaks are looked
for, and every report is printed: as text on stderr, and as JSON
with ``--json FILE``.  ``--check`` makes the exit status 1 when there are errors
(or warnings, with ``--fail-on warning``).
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback

import click

from ..cpu import MODES
from ..kernel import kernel as _kernel
from ..kernel.io import KernelBuildError, KernelOops, SparseError
from . import defaults
from .report import render_json, render_text
from .rules import table
from .sanitizer import Sanitizer


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
@click.option("--json", "json_out", type=click.File("w"), default=None, metavar="FILE",
              help="also write the reports as JSON to FILE ('-': stdout)")
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
    from ..boards import boot
    from ..cli.common import resolve_board
    from . import lab  # noqa: F401 - the pitfall lab board

    sanitize = not no_sanitize
    status = 0
    stopped = False
    kernels: list[_kernel.Kernel] = []
    with defaults(memory_model=model, sanitize=sanitize):
        _hook_boot(kernels, seed)
        try:
            k = boot(resolve_board(board))
            saved_argv, saved_path = sys.argv, list(sys.path)
            sys.argv = [script, *args]
            sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
            try:
                with k:
                    runpy.run_path(script, run_name="__main__")
            except SystemExit as e:
                status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except (SparseError, KernelOops, KernelBuildError) as e:
                status, stopped = 1, True
                _stopped(e, kernels)
            except Exception as e:  # noqa: BLE001 - the script's own bug: show it as Python would
                status, stopped = 1, True
                traceback.print_exc()
                _stopped(e, kernels, quiet=True)
            finally:
                sys.argv, sys.path[:] = saved_argv, saved_path
        finally:
            _unhook_boot()
    sys.stdout.flush()
    reports = []
    for kk in kernels:
        kk.cpu.settle()
        if events:
            for ev in kk.cpu.events:
                click.echo(ev.mark_line())
        if kk.sanitizer is not None:
            reports += kk.sanitizer.finish(leaks=not stopped)
    if sanitize:
        click.echo(render_text(reports), err=True)
    if json_out is not None:
        json_out.write(render_json(reports) + "\n")
        json_out.flush()
    if check:
        worst = [r for r in reports if r.is_error or fail_on == "warning"]
        if worst:
            status = status or 1
    sys.exit(status)


def _stopped(exc: BaseException, kernels: list[_kernel.Kernel], quiet: bool = False) -> None:
    """The script stopped on an exception: say why, and let the sanitizer explain."""
    if not quiet:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        click.echo(f"iomem run: the script stopped: {type(exc).__name__}: {first}", err=True)
    for k in reversed(kernels):
        san: Sanitizer | None = k.sanitizer
        if san is not None:
            san.report_exception(exc)
            break


def _hook_boot(kernels: list[_kernel.Kernel], seed: int | None) -> None:
    """Collect every kernel booted during the run (the board's and the script's)."""
    def collect(k: _kernel.Kernel) -> None:
        if seed is not None:
            k.cpu.reseed(seed)
        kernels.append(k)
    _HOOK[:] = [collect]
    _kernel.BOOT_HOOKS.append(collect)


def _unhook_boot() -> None:
    for hook in _HOOK:
        if hook in _kernel.BOOT_HOOKS:
            _kernel.BOOT_HOOKS.remove(hook)
    _HOOK.clear()


_HOOK: list = []


__all__ = ["run"]
