"""Register maps: declare registers and fields once, use them everywhere.

* :class:`RegisterMap`, :class:`Register`, :class:`Field`, :class:`Access`:
  the description (offsets, widths, reset values, access modes).
* :class:`RegisterFile`: the description with values, answering bus
  accesses; what device models are built on.
* :func:`bind`: field read-modify-write, decode and polling for drivers and
  scripts over any ``read(offset, nbytes)`` / ``write(offset, nbytes, value)``.
* :func:`poll_until`: readx_poll_timeout on a virtual or wall clock.
* :func:`from_svd`, :func:`from_systemrdl`: importers (``iomem[regs]``);
  :meth:`RegisterMap.to_svd`, :meth:`RegisterMap.to_json`: exporters.
"""

from .binding import (
    BoundRegister,
    RegisterAccessError,
    RegisterBinding,
    RegisterValue,
    bind,
    bind_bus,
)
from .model import Access, Field, Register, RegisterMap
from .poll import PollTimeout, WallClock, poll_until
from .regfile import RegisterFile
from .svd import from_svd, to_svd
from .systemrdl import SystemRDLError, from_systemrdl

__all__ = ["Access", "Field", "Register", "RegisterMap", "RegisterFile", "RegisterBinding",
           "BoundRegister", "RegisterValue", "RegisterAccessError", "bind", "bind_bus",
           "poll_until", "PollTimeout", "WallClock", "from_svd", "to_svd", "from_systemrdl",
           "SystemRDLError"]
