"""The MMIO sanitizer: the pitfalls of the kernel's I/O documentation, caught with the
driver's file and line, a rule and a fix.

Off by default in library use; on under ``iomem run`` and in the pytest
fixtures (:mod:`iomem.check.pytest_plugin`).  Turn it on for one kernel
with ``k.sanitize = True``, for every kernel booted from now on with
:func:`configure`, or boot with both knobs at once::

    k = iomem.check.boot("lab", memory_model="adversarial", sanitize=True)
    ...                      # the driver and its test
    k.sanitizer.finish()     # leaks, then every report
    print(iomem.check.render_text(k.sanitizer.reports))

One mapping can be left alone with :func:`sanitize_mapping`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..kernel import kernel as _kernel
from ..kernel.io import IoMem
from .report import Report, Site, render_json, render_text, where
from .rules import ERROR, RULES, WARNING, Rule, rule, table
from .sanitizer import Sanitizer


def configure(*, memory_model: str | None = None, sanitize: bool | None = None) -> None:
    """Set what kernels booted from now on start with (see ``BOOT_DEFAULTS``)."""
    if memory_model is not None:
        from ..cpu import MODES

        if memory_model not in MODES:
            raise ValueError(f"unknown memory model {memory_model!r}; one of "
                             f"{', '.join(MODES)}")
        _kernel.BOOT_DEFAULTS["memory_model"] = memory_model
    if sanitize is not None:
        _kernel.BOOT_DEFAULTS["sanitize"] = bool(sanitize)


@contextmanager
def defaults(*, memory_model: str | None = None, sanitize: bool | None = None
             ) -> Iterator[None]:
    """:func:`configure` for the kernels booted inside the block."""
    saved = dict(_kernel.BOOT_DEFAULTS)
    configure(memory_model=memory_model, sanitize=sanitize)
    try:
        yield
    finally:
        _kernel.BOOT_DEFAULTS.update(saved)


def boot(board: Any = "virt", cmdline: str = "", *, memory_model: str | None = None,
         sanitize: bool | None = None, **options: object) -> _kernel.Kernel:
    """``iomem.boot`` with the memory model and the sanitizer chosen before the board
    populates, so every mapping (the board's too) takes its paths from the start."""
    from ..boards import boot as _boot
    from . import lab  # noqa: F401 - registers the pitfall lab board

    with defaults(memory_model=memory_model, sanitize=sanitize):
        return _boot(board, cmdline, **options)


def sanitize_mapping(cookie: IoMem, enabled: bool = True) -> None:
    """Check accesses through the mapping of ``cookie`` or not (its kernel must have
    the sanitizer on)."""
    area = cookie.area
    san = area.kernel.sanitizer
    if san is None:
        raise RuntimeError("the sanitizer is off for this kernel: set k.sanitize = True")
    san.set_mapping(area, enabled)


__all__ = ["Sanitizer", "Report", "Site", "Rule", "RULES", "ERROR", "WARNING", "rule", "table",
           "render_text", "render_json", "where", "configure", "defaults", "boot",
           "sanitize_mapping"]
