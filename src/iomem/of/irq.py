"""Interrupt specifiers: which controller an interrupt goes to and what it means there.

Mirrors drivers/of/irq.c of Linux 6.1 (``of_irq_find_parent``,
``of_irq_parse_one``, ``of_irq_parse_raw`` with ``interrupt-map``,
``of_irq_count``) and the controllers' ``irq_domain_ops.translate``: the GIC
binding's three cells (type, number, flags; SPI n is hwirq 32+n, PPI n is
16+n) and the generic one/two-cell form (number, flags) most other
controllers use.  Linux's virq numbers are handed out at run time by the irq
core, so what this returns is the controller node, its hwirq and the trigger
type; the simulated irq core maps them.  No library decodes these bindings,
hence the hand-written walk.
"""

from __future__ import annotations

from typing import NamedTuple

from .base import DeviceNode, DeviceTree, DtError

# include/dt-bindings/interrupt-controller/irq.h
IRQ_TYPE_NONE = 0
IRQ_TYPE_EDGE_RISING = 1
IRQ_TYPE_EDGE_FALLING = 2
IRQ_TYPE_EDGE_BOTH = 3
IRQ_TYPE_LEVEL_HIGH = 4
IRQ_TYPE_LEVEL_LOW = 8
IRQ_TYPE_SENSE_MASK = 0xF

_TYPE_NAMES = {
    IRQ_TYPE_NONE: "none",
    IRQ_TYPE_EDGE_RISING: "edge-rising",
    IRQ_TYPE_EDGE_FALLING: "edge-falling",
    IRQ_TYPE_EDGE_BOTH: "edge-both",
    IRQ_TYPE_LEVEL_HIGH: "level-high",
    IRQ_TYPE_LEVEL_LOW: "level-low",
}

# include/dt-bindings/interrupt-controller/arm-gic.h
GIC_SPI = 0
GIC_PPI = 1
GIC_ESPI = 2  # GICv3.1 extended ranges
GIC_EPPI = 3
_GIC_BASE = {GIC_SPI: 32, GIC_PPI: 16, GIC_ESPI: 4096, GIC_EPPI: 1056}

#: compatibles of the GICv1/v2 driver (drivers/irqchip/irq-gic.c)
GIC_V2_COMPATIBLES = frozenset({
    "arm,gic-400", "arm,arm11mp-gic", "arm,arm1176jzf-devchip-gic", "arm,cortex-a15-gic",
    "arm,cortex-a9-gic", "arm,cortex-a7-gic", "qcom,msm-8660-qgic", "qcom,msm-qgic2",
    "arm,pl390",
})
#: compatibles of the GICv3/v4 driver (drivers/irqchip/irq-gic-v3.c)
GIC_V3_COMPATIBLES = frozenset({"arm,gic-v3"})

MAX_PHANDLE_ARGS = 16
#: how many controller/nexus levels a walk may cross before it counts as a loop
MAX_IRQ_NESTING = 64


class OfPhandleArgs(NamedTuple):
    """``struct of_phandle_args``: the controller node and the specifier cells."""

    np: DeviceNode
    args: tuple[int, ...]


class OfIrq(NamedTuple):
    """One decoded interrupt of a device."""

    controller: DeviceNode
    args: tuple[int, ...]  # the specifier as the controller sees it
    hwirq: int  # the controller's interrupt number (GIC INTID)
    type: int  # IRQ_TYPE_*

    @property
    def type_name(self) -> str:
        return irq_type_name(self.type)

    def __str__(self) -> str:
        return f"{self.hwirq} {self.type_name}"


def irq_type_name(t: int) -> str:
    return _TYPE_NAMES.get(t, f"0x{t:x}")


def of_irq_find_parent(tree: DeviceTree, node: DeviceNode) -> DeviceNode | None:
    """The interrupt parent: follow ``interrupt-parent`` (or the tree parent) until
    a node with ``#interrupt-cells``.  A cycle of ``interrupt-parent`` links (which
    would hang the kernel) ends the search with None."""
    child: DeviceNode | None = node
    seen: set[DeviceNode] = set()
    while child is not None and child not in seen:
        seen.add(child)
        ph = child.read_u32("interrupt-parent")
        p = child.parent if ph is None else tree.find_node_by_phandle(ph)
        if p is None or p.has_property("#interrupt-cells"):
            return p
        child = p
    return None


def of_irq_parse_raw(tree: DeviceTree, addr: list[int] | None,
                     out: OfPhandleArgs) -> OfPhandleArgs | None:
    """Walk ``interrupt-map`` nexus nodes up to an interrupt controller.

    ``addr`` is the device's ``reg`` cells (the unit address the maps match on).
    Returns the controller and its specifier, or None when the walk fails.
    """
    ipar: DeviceNode | None = out.np
    intsize = None
    hops = 0
    while ipar is not None and hops < MAX_IRQ_NESTING:
        intsize = ipar.read_u32("#interrupt-cells")
        if intsize is not None:
            break
        ipar = of_irq_find_parent(tree, ipar)
        hops += 1
    if ipar is None or intsize is None or len(out.args) != intsize:
        return None
    # #address-cells of the first nexus, looked up the tree (the "old linux trick")
    old: DeviceNode | None = ipar
    addrsize = None
    while old is not None and addrsize is None:
        addrsize = old.read_u32("#address-cells")
        old = old.parent
    addrsize = 2 if addrsize is None else addrsize
    if addrsize + intsize > MAX_PHANDLE_ARGS:
        return None
    match_array = [(addr[i] if addr and i < len(addr) else 0) for i in range(addrsize)]
    match_array += list(out.args)
    args = list(out.args)

    while ipar is not None:
        hops += 1
        if hops > MAX_IRQ_NESTING:  # a loop of maps or parents: not a usable tree
            return None
        intc = ipar.has_property("interrupt-controller")
        imap = ipar.read_u32_array("interrupt-map") if ipar.has_property(
            "interrupt-map") else None
        if imap is None and intc:
            return OfPhandleArgs(ipar, tuple(args))
        if addrsize and not addr:
            return None
        if imap is None:
            ipar = of_irq_find_parent(tree, ipar)
            continue
        imask = ipar.read_u32_array("interrupt-map-mask") or []
        imask = imask + [0xFFFFFFFF] * (addrsize + intsize - len(imask))
        pos = 0
        matched = False
        newpar: DeviceNode | None = None
        newaddrsize = newintsize = 0
        while len(imap) - pos > addrsize + intsize + 1 and not matched:
            matched = all(not ((match_array[i] ^ imap[pos + i]) & imask[i])
                          for i in range(addrsize + intsize))
            pos += addrsize + intsize
            newpar = tree.find_node_by_phandle(imap[pos])
            pos += 1
            if newpar is None:
                return None
            if not newpar.is_available():
                matched = False
            nic = newpar.read_u32("#interrupt-cells")
            if nic is None:
                return None
            newintsize = nic
            newaddrsize = newpar.read_u32("#address-cells") or 0
            if (newaddrsize + newintsize > MAX_PHANDLE_ARGS
                    or len(imap) - pos < newaddrsize + newintsize):
                return None
            pos += newaddrsize + newintsize
        if not matched or newpar is None:
            return OfPhandleArgs(ipar, tuple(args)) if intc else None
        match_array = imap[pos - newaddrsize - newintsize:pos]
        args = imap[pos - newintsize:pos]
        intsize, addrsize = newintsize, newaddrsize
        if newpar is ipar:  # a map entry pointing at itself
            return OfPhandleArgs(ipar, tuple(args))
        ipar = newpar
        # the parent unit address from the map is what the next level matches on
        addr = match_array[:addrsize]
    return None


def of_irq_parse_one(tree: DeviceTree, node: DeviceNode, index: int) -> OfPhandleArgs | None:
    """Interrupt ``index`` of ``node`` resolved to its controller, or None.

    ``interrupts-extended`` wins over ``interrupts`` + ``interrupt-parent``.
    A malformed property reads as "no such interrupt", as the kernel's -EINVAL.
    """
    try:
        return _parse_one(tree, node, index)
    except DtError:
        return None


def _parse_one(tree: DeviceTree, node: DeviceNode, index: int) -> OfPhandleArgs | None:
    addr = node.read_u32_array("reg") if node.has_property("reg") else None
    ext = tree.parse_phandle_with_args(node, "interrupts-extended", "#interrupt-cells", index)
    if ext is not None:
        return of_irq_parse_raw(tree, addr, OfPhandleArgs(ext[0], tuple(ext[1])))
    if node.has_property("interrupts-extended"):
        return None
    parent = of_irq_find_parent(tree, node)
    if parent is None:
        return None
    intsize = parent.read_u32("#interrupt-cells")
    if intsize is None:
        return None
    spec = []
    for i in range(intsize):
        cell = node.read_u32("interrupts", index * intsize + i)
        if cell is None:
            return None
        spec.append(cell)
    return of_irq_parse_raw(tree, addr, OfPhandleArgs(parent, tuple(spec)))


def of_irq_count(tree: DeviceTree, node: DeviceNode) -> int:
    n = 0
    while of_irq_parse_one(tree, node, n) is not None:
        n += 1
    return n


def irq_domain_translate(spec: OfPhandleArgs) -> tuple[int, int] | None:
    """(hwirq, type) the controller's irq domain makes of a specifier, or None
    when the controller rejects it."""
    ctrl, args = spec
    compat = set(ctrl.compatible)
    if compat & (GIC_V2_COMPATIBLES | GIC_V3_COMPATIBLES):
        if len(args) < 3:
            return None
        kinds = (GIC_SPI, GIC_PPI) if not compat & GIC_V3_COMPATIBLES else tuple(_GIC_BASE)
        if args[0] not in kinds:
            return None
        return args[1] + _GIC_BASE[args[0]], args[2] & IRQ_TYPE_SENSE_MASK
    # irq_domain_xlate_onetwocell: <hwirq [flags]>
    if not args:
        return None
    return args[0], (args[1] & IRQ_TYPE_SENSE_MASK) if len(args) > 1 else IRQ_TYPE_NONE


def of_irq_get(tree: DeviceTree, node: DeviceNode, index: int) -> OfIrq | None:
    """Interrupt ``index`` of ``node`` decoded (what ``platform_get_irq`` maps)."""
    spec = of_irq_parse_one(tree, node, index)
    if spec is None:
        return None
    got = irq_domain_translate(spec)
    if got is None:
        return None
    return OfIrq(spec.np, spec.args, got[0], got[1])


def of_irqs(tree: DeviceTree, node: DeviceNode) -> list[OfIrq]:
    """Every interrupt of ``node``, stopping at the first that does not resolve."""
    out: list[OfIrq] = []
    while (irq := of_irq_get(tree, node, len(out))) is not None:
        out.append(irq)
    return out


def of_irq_get_byname(tree: DeviceTree, node: DeviceNode, name: str) -> OfIrq | None:
    index = node.match_string("interrupt-names", name)
    return None if index < 0 else of_irq_get(tree, node, index)
