"""iomem: Linux memory-mapped I/O in Python.

``iomem.boot("virt")`` gives a simulated kernel on a board; the kernel's
functions (``request_mem_region``, ``ioremap``, ``readl``, ``writel``, ...)
are importable from here with their C names and argument order.

The simulated kernel is imported on first use, not with the package: a
userspace script that only needs ``iomem.user`` (on a real machine, or in a
VM guest where every import is slow) does not pay for the simulator.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

__version__ = "0.1.0"

_FROM_BOARDS = ("boot", "Board", "board_names", "make_board", "register_board")


def __getattr__(name: str) -> Any:
    if name in _FROM_BOARDS:
        return getattr(importlib.import_module(".boards", __name__), name)
    if name == "__all__":
        kernel_all = importlib.import_module(".kernel", __name__).__all__
        return [*_FROM_BOARDS, *kernel_all]
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    if importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f".{name}", __name__)  # a subpackage
    kernel = importlib.import_module(".kernel", __name__)
    try:
        return getattr(kernel, name)
    except AttributeError:
        raise AttributeError(f"module 'iomem' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted({*globals(), *__getattr__("__all__")})
