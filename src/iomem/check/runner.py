"""Running code under the sanitizer: collect the kernels it boots, settle them, gather reports.

:class:`Session` is what ``iomem run`` and the pytest fixture share: inside
``with Session(...)`` every kernel booted gets the memory model and the
sanitizer; :meth:`Session.finish` lets what is in flight land, looks for
leaks and returns the reports.  :func:`run_script` runs a file as
``__main__`` in a session.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from dataclasses import dataclass, field
from types import TracebackType

from ..kernel import kernel as _kernel
from ..kernel.io import KernelBuildError, KernelOops, SparseError
from .report import Report, Site, where_tb
from .report import _is_user as report_is_user

#: what stops a driver the way the kernel would (an oops, a build or sparse error)
KERNEL_STOPS = (SparseError, KernelOops, KernelBuildError)


@dataclass
class Session:
    """Kernels booted inside the block get ``memory_model`` and the sanitizer."""

    memory_model: str = "realistic"
    sanitize: bool = True
    seed: int | None = None
    kernels: list[_kernel.Kernel] = field(default_factory=list)
    #: the exception that stopped the code, if one did
    stopped: BaseException | None = None
    _saved: dict = field(default_factory=dict)

    def __enter__(self) -> Session:
        from ..cpu import MODES

        if self.memory_model not in MODES:
            raise ValueError(f"unknown memory model {self.memory_model!r}; one of "
                             f"{', '.join(MODES)}")
        self._saved = dict(_kernel.BOOT_DEFAULTS)
        _kernel.BOOT_DEFAULTS.update(memory_model=self.memory_model, sanitize=self.sanitize)
        _kernel.BOOT_HOOKS.append(self._collect)
        return self

    def __exit__(self, et: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        _kernel.BOOT_DEFAULTS.update(self._saved)
        if self._collect in _kernel.BOOT_HOOKS:
            _kernel.BOOT_HOOKS.remove(self._collect)

    def _collect(self, k: _kernel.Kernel) -> None:
        if self.seed is not None:
            k.cpu.reseed(self.seed)
        self.kernels.append(k)

    def note_exception(self, exc: BaseException) -> Report | None:
        """The code stopped on ``exc``: let the sanitizer of the latest kernel explain it."""
        self.stopped = exc
        for k in reversed(self.kernels):
            if k.sanitizer is not None:
                return k.sanitizer.report_exception(exc)
        return None

    def finish(self, leaks: bool | None = None) -> list[Report]:
        """Settle every kernel's CPU, look for leaks (not after a stop, unless asked), and
        return every report."""
        if leaks is None:
            leaks = self.stopped is None
        out: list[Report] = []
        for k in self.kernels:
            k.cpu.settle()
            if k.sanitizer is not None:
                out += k.sanitizer.finish(leaks=leaks)
        return out


@dataclass
class RunResult:
    status: int
    reports: list[Report]
    session: Session
    #: False when the script never started (it did not compile)
    ran: bool = True

    @property
    def errors(self) -> list[Report]:
        return [r for r in self.reports if r.is_error]


_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
#: iomem's own drivers are drivers, the user's kind of code (as report.py counts them)
_DRIVERS = os.path.join(_PKG, "drivers") + os.sep
#: what a user's bad argument raises out of iomem's checks: trimmed to the user's frames
_ARGUMENT_ERRORS = (TypeError, ValueError, IndexError)


def _inside_iomem(path: str) -> bool:
    path = os.path.abspath(path)
    return path.startswith(_PKG) and not path.startswith(_DRIVERS)


def _user_stack(exc: BaseException, tb: TracebackType | None) -> traceback.StackSummary:
    """The frames from ``tb`` on, without iomem's own frames below the last frame of the
    user's code when the error is about an argument the user passed (``writel(1.5, base)``):
    the mistake is on the user's line, not in iomem's check that caught it."""
    stack = traceback.StackSummary.extract(traceback.walk_tb(tb), capture_locals=False)
    if not isinstance(exc, _ARGUMENT_ERRORS):
        return stack
    last_user = max((i for i, fs in enumerate(stack) if report_is_user(fs.filename)),
                    default=None)
    if last_user is None:
        return stack
    below = stack[last_user + 1:]
    if not any(_inside_iomem(fs.filename) for fs in below):
        return stack  # the user's own call into Python's library: as Python shows it
    return traceback.StackSummary.from_list(stack[:last_user + 1])


def _print_script_traceback(exc: BaseException, path: str) -> None:
    """The traceback Python would print for the script: from the script's first frame
    on (not this runner's or runpy's), a SyntaxError as Python words it, and an argument
    iomem refused ending at the user's line that passed it."""
    if isinstance(exc, SyntaxError):
        print("".join(traceback.format_exception_only(exc)), end="", file=sys.stderr)
        return
    tb = exc.__traceback__
    script = os.path.abspath(path)
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != script:
        tb = tb.tb_next
    te = traceback.TracebackException(type(exc), exc, tb or exc.__traceback__)
    te.stack = _user_stack(exc, tb or exc.__traceback__)
    print("".join(te.format()), end="", file=sys.stderr)


def _reported_at(session: Session, site: Site) -> bool:
    """Whether a sanitizer report already points at ``site`` (the line that stopped)."""
    return any(r.site.file == site.file and r.site.line == site.line
               for k in session.kernels if k.sanitizer is not None
               for r in k.sanitizer.reports)


def run_script(path: str, args: tuple[str, ...] = (), *, board: object = "lab",
               memory_model: str = "realistic", sanitize: bool = True,
               seed: int | None = None) -> RunResult:
    """Run ``path`` as ``__main__`` with ``board`` booted and current; returns the exit
    status the script would have had and the reports."""
    from ..boards import boot
    from . import lab  # noqa: F401 - the pitfall lab board

    status = 0
    ran = True
    with Session(memory_model, sanitize, seed) as session:
        k = boot(board) if board is not None else None
        saved_argv, saved_path = sys.argv, list(sys.path)
        sys.argv = [path, *args]
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        try:
            if k is not None:
                with k:
                    runpy.run_path(path, run_name="__main__")
            else:
                runpy.run_path(path, run_name="__main__")
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if e.code is not None and not isinstance(e.code, int):
                print(e.code, file=sys.stderr)  # sys.exit("message"), as Python shows it
        except KERNEL_STOPS as e:
            status = 1
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            print(f"iomem run: the script stopped: {type(e).__name__}: {first}",
                  file=sys.stderr)
            session.note_exception(e)
            site = where_tb(e.__traceback__)
            if site.file is not None and not _reported_at(session, site):
                func = f" in {site.function}()" if site.function not in (None, "<module>") \
                    else ""
                print(f"    at {site}{func}", file=sys.stderr)  # no report says where
        except Exception as e:  # noqa: BLE001 - the script's own bug: show it as Python would
            status = 1
            _print_script_traceback(e, path)
            session.note_exception(e)
            ran = not isinstance(e, SyntaxError)
        finally:
            sys.argv, sys.path[:] = saved_argv, saved_path
    sys.stdout.flush()
    return RunResult(status, session.finish(), session, ran)
