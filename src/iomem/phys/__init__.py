"""The physical address space: regions, flat view, bus transactions."""

from .address_space import ABORT, IGNORE, AddressSpace, FlatRange
from .region import (
    BIG,
    LITTLE,
    AccessRules,
    BusError,
    Region,
    RegionOps,
    bswap,
    byte_view,
    mask_for,
)

__all__ = ["ABORT", "IGNORE", "AddressSpace", "FlatRange", "BIG", "LITTLE", "AccessRules",
           "BusError", "Region", "RegionOps", "bswap", "byte_view", "mask_for"]
