"""iomem: Linux memory-mapped I/O in Python.

``iomem.boot("virt")`` gives a simulated kernel on a board; the kernel's
functions (``request_mem_region``, ``ioremap``, ``readl``, ``writel``, ...)
are importable from here with their C names and argument order.
"""

from .boards import Board, board_names, boot, make_board, register_board
from .kernel import *  # noqa: F403 - the kernel's API by its C names
from .kernel import Kernel, current_kernel
from .kernel import __all__ as _kernel_all

__version__ = "0.1.0"

__all__ = ["boot", "Board", "board_names", "make_board", "register_board", *_kernel_all]
