"""Errors of the VM lab, each one saying what went wrong and what to do about it.

The lab drives outside programs (apt, QEMU, a guest kernel); when one of them
fails the caller should get one sentence they can act on, not a traceback
from the middle of a subprocess call. The command line turns these into
plain error messages.
"""

from __future__ import annotations


class VMError(Exception):
    """Base class: anything the VM lab cannot do."""


class VMSetupError(VMError):
    """A host tool, kernel package or cache entry is missing and could not be provided."""


class VMBootError(VMError):
    """QEMU failed, or the guest stopped before it finished its job."""

    def __init__(self, message: str, console: str = "") -> None:
        super().__init__(message)
        self.console = console


class VMTimeout(VMBootError):
    """The guest did not power off in time; QEMU was killed."""

    def __init__(self, message: str, console: str = "", pid: int | None = None) -> None:
        super().__init__(message, console)
        self.pid = pid


class GuestSetupError(VMBootError):
    """The guest booted but could not prepare the job (a module, a mount)."""


class GuestCommandError(VMError):
    """A guest command exited with a non-zero status (raised by ``RunResult.check``)."""

    def __init__(self, message: str, status: int, output: str) -> None:
        super().__init__(message)
        self.status = status
        self.output = output


def tail(text: str, lines: int = 25) -> str:
    """The last ``lines`` lines of ``text``, for error messages."""
    kept = text.rstrip("\n").splitlines()[-lines:]
    return "\n".join(kept)
