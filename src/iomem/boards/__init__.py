"""Built-in boards and the board registry.

A board builds a :class:`~iomem.machine.Machine` (the hardware) and then
populates a freshly made kernel (System RAM, devices on their buses), the
way firmware and the kernel's early boot do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..kernel.kernel import KERNEL_RELEASE, Kernel
from ..machine import Machine


@dataclass
class Board:
    """A machine and what the kernel learns about it at boot."""

    name: str
    machine: Machine
    arch: str
    populate: Callable[[Kernel], None]
    model: str = ""
    cmdline: str = ""


_BOARDS: dict[str, Callable[..., Board]] = {}


def register_board(name: str) -> Callable[[Callable[..., Board]], Callable[..., Board]]:
    """Decorator: make a board builder available to ``iomem.boot(name)`` and ``--board``."""
    def deco(fn: Callable[..., Board]) -> Callable[..., Board]:
        _BOARDS[name] = fn
        return fn
    return deco


def board_names() -> list[str]:
    _load_builtin()
    return sorted(_BOARDS)


def make_board(name: str, **options: object) -> Board:
    _load_builtin()
    try:
        builder = _BOARDS[name]
    except KeyError:
        raise ValueError(f"unknown board {name!r}; known boards: "
                         f"{', '.join(sorted(_BOARDS))}") from None
    return builder(**options)


def _load_builtin() -> None:
    from . import pc, virt  # noqa: F401 - register themselves


def boot(board: str | Board = "virt", cmdline: str = "", **options: object) -> Kernel:
    """Build a board and boot the simulated kernel on it; returns the :class:`Kernel`."""
    b = board if isinstance(board, Board) else make_board(board, **options)
    k = Kernel(b.machine, b.arch, cmdline=cmdline or b.cmdline, board_name=b.name)
    with k.active():
        k.printk_info(f"Linux version {KERNEL_RELEASE} (iomem@simulated) ({b.arch}) #1 SMP")
        if b.model:
            k.printk_info(f"Machine model: {b.model}")
        if k.cmdline:
            k.printk_info(f"Kernel command line: {k.cmdline}")
        b.populate(k)
    return k
