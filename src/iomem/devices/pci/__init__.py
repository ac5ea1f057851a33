"""PCI hardware: configuration space, functions, bridges and host bridges.

The simulated kernel's PCI core enumerates what is built here through a
host's config mechanisms (CF8/CFC, ECAM) or its Python API
(:meth:`PciHost.config_read` / :meth:`PciHost.config_write`).
"""

from .bridge import PciBridge
from .bus import PciBus, swizzle
from .config import BarKind, Capability, ConfigError, PciConfigSpace
from .function import Bar, BarOps, PciFunction
from .host import PciHost, parse_bdf
from .msi import MsiCapability, MsiDoorbell, MsixCapability

__all__ = ["Bar", "BarKind", "BarOps", "Capability", "ConfigError", "MsiCapability",
           "MsiDoorbell", "MsixCapability", "PciBridge", "PciBus", "PciConfigSpace",
           "PciFunction", "PciHost", "parse_bdf", "swizzle"]
