"""Device trees, as the kernel's drivers/of reads them.

- :mod:`.fdt`: load a DTB (libfdt) or a DTS (dtc) into a :class:`DeviceTree`;
- :mod:`.base`: nodes and properties (``of_device_is_available``, ...);
- :mod:`.address`: ``reg`` through ``ranges`` to CPU addresses and resources;
- :mod:`.irq`: interrupt specifiers to controller + hwirq + trigger type;
- :mod:`.platform`: device names, the populate walk, RAM and reserved memory.
"""

from .address import (
    IORESOURCE_IO,
    IORESOURCE_MEM,
    IORESOURCE_MEM_64,
    IORESOURCE_PREFETCH,
    OF_BAD_ADDR,
    OfPciRange,
    OfResource,
    of_address_to_resource,
    of_get_address,
    of_n_addr_cells,
    of_n_size_cells,
    of_pci_ranges,
    of_resource_by_name,
    of_resources,
    of_translate_address,
)
from .base import DeviceNode, DeviceTree, DtError
from .fdt import (
    BUILTIN_BOARDS,
    builtin_dtb,
    load,
    load_builtin,
    load_dtb,
    load_dtb_file,
    load_dts,
    load_dts_string,
)
from .irq import (
    OfIrq,
    irq_type_name,
    of_irq_count,
    of_irq_find_parent,
    of_irq_get,
    of_irq_get_byname,
    of_irq_parse_one,
    of_irqs,
)
from .platform import (
    AMBA,
    OF_DEFAULT_BUS_MATCH_TABLE,
    PLATFORM,
    MemoryRange,
    OfDevice,
    PopulateState,
    ReservedMemory,
    of_account_nodes,
    of_device_make_bus_id,
    of_memory_ranges,
    of_platform_default_populate_init,
    of_platform_populate,
    of_reserved_memory,
)

__all__ = [
    "AMBA", "BUILTIN_BOARDS", "DeviceNode", "DeviceTree", "DtError", "IORESOURCE_IO",
    "IORESOURCE_MEM", "IORESOURCE_MEM_64", "IORESOURCE_PREFETCH", "MemoryRange",
    "OF_BAD_ADDR", "OF_DEFAULT_BUS_MATCH_TABLE", "OfDevice", "OfIrq", "OfPciRange",
    "OfResource", "PLATFORM", "PopulateState", "ReservedMemory", "builtin_dtb",
    "irq_type_name", "load", "load_builtin", "load_dtb", "load_dtb_file", "load_dts",
    "load_dts_string", "of_account_nodes", "of_address_to_resource", "of_device_make_bus_id",
    "of_get_address", "of_irq_count", "of_irq_find_parent", "of_irq_get", "of_irq_get_byname",
    "of_irq_parse_one", "of_irqs", "of_memory_ranges", "of_n_addr_cells", "of_n_size_cells",
    "of_pci_ranges", "of_platform_default_populate_init", "of_platform_populate",
    "of_reserved_memory", "of_resource_by_name", "of_resources", "of_translate_address",
]
