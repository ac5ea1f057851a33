"""Simulated boards for the userspace-side tests: the pc board (edu at 00:04.0, BAR0
0xfea00000) booted with the command line a test asks for, made the current kernel."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from iomem.kernel import Kernel
from iomem.user.sim import boot_sim

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

@pytest.fixture
def boot() -> Iterator[Callable[..., Kernel]]:
    """``boot(cmdline="", binds=[(driver, device)])``: a fresh pc kernel, current."""
    entered: list[Kernel] = []

    def make(cmdline: str = "", binds: list[tuple[str, str]] | None = None) -> Kernel:
        k = boot_sim("pc", cmdline, binds)
        k.__enter__()
        entered.append(k)
        return k
    yield make
    for k in reversed(entered):
        k.__exit__(None, None, None)


@pytest.fixture
def k(boot: Callable[..., Kernel]) -> Kernel:
    """The pc board as booted by default (strict devmem, no driver on edu)."""
    return boot()

