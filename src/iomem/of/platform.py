"""From a tree to devices: the names, the populate walk, RAM and reserved memory.

Mirrors drivers/of/platform.c of Linux 6.1 (``of_device_make_bus_id``,
``of_platform_bus_create``, ``of_platform_populate``,
``of_platform_default_populate_init``), drivers/of/fdt.c
(``early_init_dt_scan_memory``, ``fdt_scan_reserved_mem``) and
drivers/of/of_reserved_mem.c.  The walk is the kernel's: only children of the
root and of nodes matching the bus table become devices, a node needs a
``compatible`` and an available status, "arm,primecell" nodes become AMBA
devices and are not descended into, and each node is populated once.

Facts the simulated kernel needs from the same kernel version:

- OF platform devices carry only their MEM resources (IRQs are looked up by
  ``platform_get_irq`` since 5.19) and are added with ``of_device_add``, so
  their resources are *not* inserted into /proc/iomem until a driver requests
  them (that request is named after the device: ``a000000.virtio_mmio``).
- AMBA devices get resource 0 only, and ``amba_device_add`` inserts it into
  iomem_resource under the node's full name (``pl011@9000000``); drivers
  then request a region inside it.
- Interrupt controllers set up by ``IRQCHIP_DECLARE`` and clocks set up by
  ``CLK_OF_DECLARE`` are marked populated before this walk, so they get no
  platform device (:data:`EARLY_OF_DECLARE`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from .address import (
    OF_BAD_ADDR,
    OfResource,
    of_address_to_resource,
    of_read_number,
    of_resources,
    of_translate_address,
)
from .base import DeviceNode, DeviceTree
from .irq import GIC_V2_COMPATIBLES, GIC_V3_COMPATIBLES, OfIrq, of_irqs

#: of_default_bus_match_table (with CONFIG_ARM_AMBA, as on arm64)
OF_DEFAULT_BUS_MATCH_TABLE: tuple[str, ...] = ("simple-bus", "simple-mfd", "isa", "arm,amba-bus")
#: of_skipped_node_table
OF_SKIPPED_NODE_TABLE: tuple[str, ...] = ("operating-points-v2",)
#: reserved_mem_matches: /reserved-memory children that do get a platform device
RESERVED_MEM_MATCHES: tuple[str, ...] = ("qcom,rmtfs-mem", "qcom,cmd-db", "qcom,smem",
                                         "ramoops", "nvmem-rmem", "google,open-dice")
#: nodes initialised before the populate walk, which marks them populated:
#: IRQCHIP_DECLARE (GIC) and CLK_OF_DECLARE (fixed clocks) in Debian's arm64 kernel
EARLY_OF_DECLARE: tuple[str, ...] = tuple(sorted(GIC_V2_COMPATIBLES | GIC_V3_COMPATIBLES)) + (
    "fixed-clock", "fixed-factor-clock")
AMBA_NR_IRQS = 9

PLATFORM = "platform"
AMBA = "amba"


def _ffs(x: int) -> int:
    return (x & -x).bit_length()


def of_device_make_bus_id(node: DeviceNode) -> str:
    """The device name the kernel gives a node (``dev_name``).

    With a translatable ``reg``: the CPU address in hex without 0x, '.', the
    node name without unit address (``9000000.pl011``); with a "mask"
    property the mask's first set bit sits in between.  Otherwise the full
    names (with unit address) of the node and its parents up to the nearest
    ancestor that does translate are joined with ':' (``1000.soc:leds``,
    ``soc:leds`` when no ancestor translates), and a root child is named by its
    full name alone (``gpio-keys``, ``platform-bus@c000000``).
    """
    name: str | None = None
    np = node
    while np.parent is not None:
        addr = OF_BAD_ADDR
        if np.has_property("reg"):
            reg = [int.from_bytes(np.properties["reg"][i:i + 4], "big")
                   for i in range(0, len(np.properties["reg"]) - 3, 4)]
            addr = of_translate_address(np, reg)
        if addr != OF_BAD_ADDR:
            mask = np.read_u32("mask")
            prefix = f"{addr:x}."
            if mask is not None:
                prefix += f"{(_ffs(mask) - 1) & 0xFFFFFFFF:x}."
            base = prefix + np.name
            return f"{base}:{name}" if name is not None else base
        name = f"{np.full_name}:{name}" if name is not None else np.full_name
        np = np.parent
    return name if name is not None else ""


@dataclass(eq=False)
class OfDevice:
    """A device the populate walk creates: a platform device or an AMBA device."""

    node: DeviceNode
    name: str  # dev_name(): the bus id
    bus: str  # PLATFORM or AMBA
    parent: OfDevice | None
    resources: list[OfResource]  # MEM resources (AMBA: resource 0 only)
    irqs: list[OfIrq]

    @property
    def compatible(self) -> list[str]:
        return self.node.compatible

    @property
    def path(self) -> str:
        return self.node.path

    def __repr__(self) -> str:
        return f"<OfDevice {self.bus}:{self.name}>"


@dataclass
class PopulateState:
    """What the kernel keeps in node flags (OF_POPULATED, OF_POPULATED_BUS), kept
    outside the tree so the same tree can be populated again."""

    populated: set[DeviceNode] = field(default_factory=set)
    populated_bus: set[DeviceNode] = field(default_factory=set)
    devices: list[OfDevice] = field(default_factory=list)
    #: why each visited node did or did not become a device
    reasons: dict[DeviceNode, str] = field(default_factory=dict)


def _matches(node: DeviceNode, table: Iterable[str] | None) -> bool:
    return table is not None and any(node.is_compatible(c) for c in table)


def of_platform_device_create(tree: DeviceTree, node: DeviceNode, bus_id: str | None = None,
                              parent: OfDevice | None = None,
                              state: PopulateState | None = None) -> OfDevice | None:
    """A platform device for ``node`` (``of_platform_device_create_pdata``), or None
    when the node is unavailable or already populated."""
    state = state if state is not None else PopulateState()
    if not node.is_available():
        state.reasons.setdefault(node, f"status \"{node.status}\"")
        return None
    if node in state.populated:
        return None
    state.populated.add(node)
    dev = OfDevice(node, bus_id or of_device_make_bus_id(node), PLATFORM, parent,
                   of_resources(node), of_irqs(tree, node))
    state.devices.append(dev)
    state.reasons[node] = f"platform device {dev.name}"
    return dev


def of_amba_device_create(tree: DeviceTree, node: DeviceNode, bus_id: str | None = None,
                          parent: OfDevice | None = None,
                          state: PopulateState | None = None) -> OfDevice | None:
    """An AMBA device for an "arm,primecell" node (``of_amba_device_create``)."""
    state = state if state is not None else PopulateState()
    if not node.is_available():
        state.reasons.setdefault(node, f"status \"{node.status}\"")
        return None
    if node in state.populated:
        return None
    state.populated.add(node)
    res = of_address_to_resource(node, 0)
    if res is None:
        state.reasons[node] = "primecell without a usable reg (amba device not created)"
        return None
    dev = OfDevice(node, bus_id or of_device_make_bus_id(node), AMBA, parent,
                   [res], of_irqs(tree, node)[:AMBA_NR_IRQS])
    state.devices.append(dev)
    state.reasons[node] = f"amba device {dev.name}"
    return dev


def of_platform_bus_create(tree: DeviceTree, bus: DeviceNode, matches: Iterable[str] | None,
                           parent: OfDevice | None, strict: bool,
                           state: PopulateState) -> None:
    """Create a device for ``bus`` and, when it matches the bus table, its children."""
    if strict and not bus.has_property("compatible"):
        state.reasons.setdefault(bus, "no compatible")
        return
    if _matches(bus, OF_SKIPPED_NODE_TABLE):
        state.reasons.setdefault(bus, "skipped (of_skipped_node_table)")
        return
    if bus in state.populated_bus:
        return
    if bus.is_compatible("arm,primecell"):
        of_amba_device_create(tree, bus, None, parent, state)
        return
    if bus in state.populated and bus not in state.reasons:
        state.reasons[bus] = "set up early by its irqchip/clock driver"
    dev = of_platform_device_create(tree, bus, None, parent, state)
    matches = tuple(matches) if matches is not None else None
    if dev is None or not _matches(bus, matches):
        return
    for child in bus.children:
        of_platform_bus_create(tree, child, matches, dev, strict, state)
    state.populated_bus.add(bus)


def of_platform_populate(tree: DeviceTree, root: DeviceNode | None = None,
                         matches: Iterable[str] | None = OF_DEFAULT_BUS_MATCH_TABLE,
                         parent: OfDevice | None = None,
                         state: PopulateState | None = None) -> list[OfDevice]:
    """Devices for the children of ``root`` (default: the tree's root) and, through
    buses in ``matches``, their descendants; returned in creation order."""
    state = state if state is not None else PopulateState()
    start = len(state.devices)
    root = root if root is not None else tree.root
    matches = tuple(matches) if matches is not None else None
    for child in root.children:
        of_platform_bus_create(tree, child, matches, parent, True, state)
    state.populated_bus.add(root)
    return state.devices[start:]


def of_early_populated(tree: DeviceTree) -> set[DeviceNode]:
    """Nodes the irqchip and clock init code claims before the populate walk."""
    out = set()
    for node in tree.nodes():
        if not node.is_available() or not _matches(node, EARLY_OF_DECLARE):
            continue
        if _matches(node, GIC_V2_COMPATIBLES | GIC_V3_COMPATIBLES) and \
                not node.has_property("interrupt-controller"):
            continue
        out.add(node)
    return out


def of_platform_default_populate_init(tree: DeviceTree, early: bool = True,
                                      state: PopulateState | None = None) -> list[OfDevice]:
    """The boot-time populate (arch_initcall_sync): the reserved-memory devices,
    /firmware, a simple-framebuffer in /chosen, then the whole tree.

    ``early`` marks the irqchip/clock nodes populated first, as the kernel has by then.
    """
    state = state if state is not None else PopulateState()
    if early:
        state.populated |= of_early_populated(tree)
    for node in tree.nodes():
        if _matches(node, RESERVED_MEM_MATCHES):
            of_platform_device_create(tree, node, None, None, state)
    firmware = tree.find_node_by_path("/firmware")
    if firmware is not None:
        of_platform_populate(tree, firmware, None, None, state)
    chosen = tree.chosen
    if chosen is not None:
        fb = next((c for c in chosen.children
                   if c.is_available() and c.is_compatible("simple-framebuffer")), None)
        if fb is not None:
            of_platform_device_create(tree, fb, None, None, state)
    of_platform_populate(tree, None, OF_DEFAULT_BUS_MATCH_TABLE, None, state)
    return list(state.devices)


# -- memory ----------------------------------------------------------------------

class MemoryRange(NamedTuple):
    """A bank of RAM from a /memory node (System RAM)."""

    base: int
    size: int
    node: DeviceNode
    hotpluggable: bool = False

    @property
    def end(self) -> int:
        return self.base + self.size - 1


class ReservedMemory(NamedTuple):
    """A /reserved-memory region (``struct reserved_mem``) or a /memreserve/ entry."""

    name: str  # the node's full name, "" for /memreserve/
    base: int | None  # None: dynamically placed (size/alignment/alloc-ranges)
    size: int
    no_map: bool  # "no-map": removed from the linear map; /proc/iomem says "reserved"
    reusable: bool
    compatible: tuple[str, ...]
    node: DeviceNode | None  # None for /memreserve/ entries

    @property
    def end(self) -> int | None:
        return None if self.base is None else self.base + self.size - 1


def _root_cells(tree: DeviceTree) -> tuple[int, int]:
    na = tree.root.read_u32("#address-cells")
    ns = tree.root.read_u32("#size-cells")
    return (1 if na is None else na), (1 if ns is None else ns)


def _pairs(node: DeviceNode, prop: str, na: int, ns: int) -> list[tuple[int, int]]:
    raw = node.get_property(prop) or b""
    cells = [int.from_bytes(raw[i:i + 4], "big") for i in range(0, len(raw) - 3, 4)]
    one = na + ns
    if one == 0:
        return []
    return [(of_read_number(cells[i:i + na]), of_read_number(cells[i + na:i + one]))
            for i in range(0, len(cells) - one + 1, one)]


def of_memory_ranges(tree: DeviceTree) -> list[MemoryRange]:
    """RAM banks as ``early_init_dt_scan_memory`` finds them: available root
    children with device_type "memory", ``linux,usable-memory`` over ``reg``,
    root cell counts, empty banks dropped."""
    na, ns = _root_cells(tree)
    out = []
    for node in tree.root.children:
        if node.device_type != "memory" or not node.is_available():
            continue
        prop = "linux,usable-memory" if node.has_property("linux,usable-memory") else "reg"
        hot = node.has_property("hotpluggable")
        out += [MemoryRange(b, s, node, hot) for b, s in _pairs(node, prop, na, ns) if s]
    return out


def of_reserved_memory(tree: DeviceTree) -> list[ReservedMemory]:
    """/memreserve/ entries, then /reserved-memory children (``fdt_scan_reserved_mem``).

    The container must use the root's cell counts and have ``ranges``, or the
    kernel ignores it ("Reserved memory: unsupported node format").
    """
    out = [ReservedMemory("", base, size, False, False, (), None)
           for base, size in tree.mem_rsvmap if size]
    container = tree.find_node_by_path("/reserved-memory")
    if container is None:
        return out
    na, ns = _root_cells(tree)
    if (container.read_u32("#address-cells") != na or container.read_u32("#size-cells") != ns
            or not container.has_property("ranges")):
        return out
    for child in container.children:
        if not child.is_available():
            continue
        no_map = child.has_property("no-map")
        reusable = child.has_property("reusable")
        compat = tuple(child.compatible)
        regs = [(b, s) for b, s in _pairs(child, "reg", na, ns) if s]
        if regs:
            out += [ReservedMemory(child.full_name, b, s, no_map, reusable, compat, child)
                    for b, s in regs]
        elif not child.has_property("reg") and child.has_property("size"):
            size = of_read_number(child.read_u32_array("size") or [])
            out.append(ReservedMemory(child.full_name, None, size, no_map, reusable, compat,
                                      child))
    return out


# -- accounting --------------------------------------------------------------------

def of_account_nodes(tree: DeviceTree, state: PopulateState | None = None
                     ) -> dict[DeviceNode, str]:
    """Why every node of the tree is what it is after boot: a device, RAM, reserved
    memory, or the reason it got no device.  Every node gets an entry."""
    if state is None:
        state = PopulateState()
        of_platform_default_populate_init(tree, state=state)
    out: dict[DeviceNode, str] = {tree.root: "root"}
    created = {d.node for d in state.devices}
    memory = {r.node for r in of_memory_ranges(tree)}
    reserved = tree.find_node_by_path("/reserved-memory")
    for node in tree.nodes():
        if node is tree.root:
            continue
        reason = state.reasons.get(node)
        if node in memory:
            out[node] = "memory (System RAM)"
        elif reserved is not None and (node is reserved or node.parent is reserved):
            if reason and "device" in reason:
                out[node] = reason
            elif node.is_available():
                out[node] = "reserved-memory"
            else:
                out[node] = f"reserved-memory, status \"{node.status}\" (ignored)"
        elif node.device_type == "memory" and node.parent is tree.root:
            out[node] = "memory node without usable ranges" if node.is_available() \
                else f"memory, status \"{node.status}\""
        elif reason is not None:
            out[node] = reason
        elif node in state.populated:
            out[node] = "set up early by its irqchip/clock driver"
        else:
            parent = node.parent if node.parent is not None else tree.root
            if parent in created:
                out[node] = f"below {parent.path}, which is not a bus: left to its driver"
            else:
                out[node] = f"below {parent.path}, which got no device: not populated"
    return out
