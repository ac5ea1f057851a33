"""Drop-in ``MMIO`` classes for scripts written for other libraries.

``from iomem.user.compat.periphery import MMIO`` (python-periphery) and
``from iomem.user.compat.pynq import MMIO`` (PYNQ) keep those classes'
constructors, methods, attributes and exception types, and run every
register access through :class:`iomem.user.Mmio`: exact widths, alignment
and bounds checks, and the /proc/iomem ownership check before mapping.
"""
